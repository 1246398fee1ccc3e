/*  fc_rate_pg: loads every tenant's rate cards (rate_cards, rate_card_overrides) into an
    fc_rates_t, the way fc_price_pg loads the price catalog. */
#ifndef FC_RATE_PG_H
#define FC_RATE_PG_H

#include <libpq-fe.h>

#include "fc_rate.h"

//  Builds a new set from the tables. Returns NULL (and logs why under module) on a
//  query error or a card fc_rates_add refuses.
fc_rates_t *fc_rates_load_pg(PGconn *pg, const char *module);

#endif
