/*  fc_price_pg: price_versions -> fc_catalog_t. */
#include "fc_price_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"

fc_catalog_t *fc_catalog_load_pg(PGconn *pg, const char *module)
{
    PGresult *r = PQexec(pg, "SELECT version_id, model,"
                             " (extract(epoch FROM effective_from) * 1000000)::bigint,"
                             " input, output, cache_read, cache_write_5m, cache_write_1h,"
                             " tier_threshold, coalesce(tier_input, 0), coalesce(tier_output, 0),"
                             " coalesce(tier_cache_read, 0), coalesce(tier_cache_write_5m, 0),"
                             " coalesce(tier_cache_write_1h, 0), coalesce(provider, ''),"
                             " fast_permille, geo_us_permille, batch_permille, web_search_nusd,"
                             " code_exec_hour_nusd, coalesce(source, '')"
                             " FROM price_versions ORDER BY model, effective_from");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fc_error(module, "cannot load prices: %s", PQresultErrorMessage(r));
        PQclear(r);
        return NULL;
    }
    fc_catalog_t *cat = fc_catalog_new();
    for (int i = 0; cat && i < PQntuples(r); i++) {
        fc_price_t p;
        memset(&p, 0, sizeof p);
        p.version = (int32_t)fc_pg_int(r, i, 0);
        snprintf(p.family, sizeof p.family, "%s", PQgetvalue(r, i, 1));
        p.effective_from_us = fc_pg_int(r, i, 2);
        for (int k = 0; k < FC_TOK_COUNT; k++) {
            p.rate[k] = fc_pg_int(r, i, 3 + k);
            p.tier_rate[k] = fc_pg_int(r, i, 9 + k);
        }
        p.tier_threshold = fc_pg_int(r, i, 8);
        snprintf(p.provider, sizeof p.provider, "%s", PQgetvalue(r, i, 14));
        //  A rule is in force for the version when its column is not NULL.
        int64_t *value[] = {&p.fast_permille, &p.geo_us_permille, &p.batch_permille,
                            &p.web_search_nusd, &p.code_exec_hour_nusd};
        for (int k = 0; k < 5; k++)
            if (!PQgetisnull(r, i, 15 + k)) {
                *value[k] = fc_pg_int(r, i, 15 + k);
                p.rules |= 1u << k;
            }
        snprintf(p.source, sizeof p.source, "%s", PQgetvalue(r, i, 20));
        if (fc_catalog_add(cat, &p) != 0) {
            fc_error(module, "price version %d (%s) is invalid: catalog not loaded", p.version,
                     p.family);
            fc_catalog_destroy(&cat);
        }
    }
    PQclear(r);
    return cat;
}
