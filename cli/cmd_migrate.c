/*  fleetcost migrate: placeholder until the migration runner lands. */
#include "commands.h"
#include "fc_log.h"

int cmd_migrate(int argc, char **argv)
{
    fc_error("migrate", "not implemented yet");
    return 1;
}
