#include "fc_proto.h"
