/*  fc_rate_pg: rate_cards -> fc_rates_t. */
#include "fc_rate_pg.h"

#include <stdio.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"

fc_rates_t *fc_rates_load_pg(PGconn *pg, const char *module)
{
    //  One row per card, its overrides as two parallel arrays (family names are
    //  [a-z0-9.-], so the array text needs no unquoting).
    PGresult *r =
        PQexec(pg, "SELECT c.tenant_id, c.version,"
                   " (extract(epoch FROM c.effective_from) * 1000000)::bigint,"
                   " coalesce((extract(epoch FROM c.effective_to) * 1000000)::bigint, -1),"
                   " c.bp, c.monthly_fee_nusd,"
                   " coalesce(array_to_string(array_agg(o.family ORDER BY o.family)"
                   "   FILTER (WHERE o.family IS NOT NULL), ','), ''),"
                   " coalesce(array_to_string(array_agg(o.bp ORDER BY o.family)"
                   "   FILTER (WHERE o.family IS NOT NULL), ','), '')"
                   " FROM rate_cards c LEFT JOIN rate_card_overrides o"
                   "  ON o.tenant_id = c.tenant_id AND o.version = c.version"
                   " GROUP BY c.tenant_id, c.version ORDER BY c.tenant_id, c.effective_from");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fc_error(module, "cannot load rate cards: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    fc_rates_t *set = fc_rates_new();
    for (int i = 0; set && i < PQntuples(r); i++) {
        fc_rate_card_t c;
        memset(&c, 0, sizeof c);
        snprintf(c.tenant, sizeof c.tenant, "%s", PQgetvalue(r, i, 0));
        c.version = (int32_t)fc_pg_int(r, i, 1);
        c.from_us = fc_pg_int(r, i, 2);
        c.to_us = fc_pg_int(r, i, 3) == -1 ? FC_RATE_OPEN : fc_pg_int(r, i, 3);
        c.bp = (int32_t)fc_pg_int(r, i, 4);
        c.monthly_fee_nusd = fc_pg_int(r, i, 5);
        char fams[FC_RATE_MAX_OVERRIDE * FC_RATE_FAMILY_MAX], bps[FC_RATE_MAX_OVERRIDE * 12];
        snprintf(fams, sizeof fams, "%s", PQgetvalue(r, i, 6));
        snprintf(bps, sizeof bps, "%s", PQgetvalue(r, i, 7));
        bool ok = true;
        char *fs = NULL, *bs = NULL;
        for (char *f = strtok_r(fams, ",", &fs), *b = strtok_r(bps, ",", &bs); f && ok;
             f = strtok_r(NULL, ",", &fs), b = strtok_r(NULL, ",", &bs)) {
            char pair[FC_RATE_FAMILY_MAX + 16];
            snprintf(pair, sizeof pair, "%s=%s", f, b ? b : "");
            ok = c.noverrides < FC_RATE_MAX_OVERRIDE &&
                 fc_rate_override_parse(pair, &c.overrides[c.noverrides++]) == 0;
        }
        if (!ok || fc_rates_add(set, &c) != 0) {
            const char *why = fc_rate_card_invalid(&c);
            fc_error(module, "rate card %d of %s is invalid (%s): rate cards not loaded", c.version,
                     c.tenant,
                     why  ? why
                     : ok ? "overlaps another"
                          : "overrides");
            fc_rates_destroy(&set);
        }
    }
    PQclear(r);
    return set;
}
