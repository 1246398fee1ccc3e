/*  fc_price_pg: loads the price catalog from the price_versions table. */
#ifndef FC_PRICE_PG_H
#define FC_PRICE_PG_H

#include <libpq-fe.h>

#include "fc_price.h"

//  Builds a new catalog from price_versions. Returns NULL (and logs why under
//  module) on a query error or an invalid row.
fc_catalog_t *fc_catalog_load_pg(PGconn *pg, const char *module);

#endif
