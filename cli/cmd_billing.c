/*  fleetcost billing: a month's bill, one line per tenant and cost kind, in nano-USD and
    USD, from the same source as the reports (final daily rollups where they exist, events
    otherwise), over each tenant's local month. The lines add up, to the nano-dollar, to
    the rollups and events they come from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_json_write.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "reporter_cli.h"
#include "reporter_report.h"

#define MODULE "billing"

static const fc_option_t s_options[] = {
    {"month", FC_OPT_STR, "", 0, 0, false, "the month to bill, YYYY-MM (required)"},
    {"format", FC_OPT_STR, "csv", 0, 0, false, "csv | json"},
    {"output", FC_OPT_STR, "", 0, 0, false, "write to this file (-o FILE); default stdout"},
    FC_OPT_END};

//  Closes one tenant's "kinds" array and object with the tenant's total.
static void s_tenant_end(fc_jw_t *w, int64_t total)
{
    char usd[32];
    fc_jw_end(w);
    fc_jw_int(w, "cost_nusd", total);
    fc_jw_str(w, "cost_usd", reporter_usd(total, 9, usd));
    fc_jw_end(w);
}

//  Reads the tenant x kind rows and renders them. Returns 0 or -1.
static int s_render(PGconn *conn, const char *month, bool json, fc_buf_t *out)
{
    PGresult *res = PQgetResult(conn);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fc_error(MODULE, "billing: %s", fc_pg_error(conn));
        PQclear(res);
        while ((res = PQgetResult(conn)))
            PQclear(res);
        return -1;
    }
    char usd[32];
    int64_t total = 0, tenant_total = 0;
    const char *prev = NULL;
    fc_jw_t w;
    fc_jw_init(&w, out);
    if (json) {
        fc_jw_object(&w, NULL);
        fc_jw_str(&w, "month", month);
        fc_jw_str(&w, "currency", "USD");
        fc_jw_array(&w, "tenants");
    } else
        fc_buf_add_str(out, "month,tenant_id,cost_kind,cost_nusd,cost_usd,events,unpriced_events,"
                            "input_tokens,output_tokens,cache_read_tokens,cache_write_5m_tokens,"
                            "cache_write_1h_tokens\r\n");
    int n = PQntuples(res), rc = 0;
    for (int i = 0; i < n; i++) {
        const char *tenant = PQgetvalue(res, i, 0), *kind = PQgetvalue(res, i, 1);
        int64_t cost = fc_pg_int(res, i, 2);
        if (fc_money_add(total, cost, &total) != 0) {
            fc_error(MODULE, "billing: total overflows int64");
            rc = -1;
            break;
        }
        if (!json) {
            fc_buf_addf(out, "%s,", month);
            fc_esc_csv(out, tenant);
            fc_buf_add(out, ",", 1);
            fc_esc_csv(out, kind);
            fc_buf_addf(out, ",%lld,%s,%s,%s,%s,%s,%s,%s,%s\r\n", (long long)cost,
                        reporter_usd(cost, 9, usd), PQgetvalue(res, i, 8), PQgetvalue(res, i, 9),
                        PQgetvalue(res, i, 3), PQgetvalue(res, i, 4), PQgetvalue(res, i, 5),
                        PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
            continue;
        }
        if (!prev || strcmp(prev, tenant) != 0) {
            if (prev)
                s_tenant_end(&w, tenant_total);
            fc_jw_object(&w, NULL);
            fc_jw_str(&w, "tenant", tenant);
            fc_jw_array(&w, "kinds");
            tenant_total = 0;
        }
        tenant_total += cost; //  cannot overflow: total did not
        fc_jw_object(&w, NULL);
        fc_jw_str(&w, "kind", kind);
        fc_jw_int(&w, "cost_nusd", cost);
        fc_jw_str(&w, "cost_usd", reporter_usd(cost, 9, usd));
        //  bigint counts as Postgres printed them: JSON numbers already.
        fc_jw_raw(&w, "events", PQgetvalue(res, i, 8));
        fc_jw_raw(&w, "unpriced_events", PQgetvalue(res, i, 9));
        fc_jw_end(&w);
        prev = tenant;
    }
    if (json && rc == 0) {
        if (prev)
            s_tenant_end(&w, tenant_total);
        fc_jw_end(&w); //  tenants
        fc_jw_int(&w, "total_nusd", total);
        fc_jw_str(&w, "total_usd", reporter_usd(total, 9, usd));
        fc_jw_end(&w);
        fc_buf_add_str(out, "\n");
    }
    PQclear(res);
    while ((res = PQgetResult(conn)))
        PQclear(res);
    return rc;
}

int cmd_billing(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args)
        return 1;
    reporter_cli_args(argc, argv, args);
    int rc;
    fc_config_t *config = fc_config_load("fleetcost billing", "monthly bill per tenant", tables,
                                         argc, args, 0, 0, &rc);
    free(args);
    if (!config)
        return rc;
    const char *month = fc_config_str(config, "month"), *format = fc_config_str(config, "format");
    char first[16], err[160];
    reporter_window_t w = {0};
    int64_t day;
    fc_buf_t out;
    fc_buf_init(&out);
    PGconn *conn = NULL;
    rc = 2;
    snprintf(first, sizeof first, "%.7s-01", month);
    if (strlen(month) != 7 || reporter_date_parse(first, &day) != 0) {
        fprintf(stderr, "billing: --month: expected YYYY-MM\n");
        goto done;
    }
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0) {
        fprintf(stderr, "billing: --format: expected csv or json\n");
        goto done;
    }
    rc = 1;
    //  The month is given, so it is the same local month for every tenant, each in its
    //  own zone.
    conn = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    if (!conn || reporter_tx_begin(conn, "*") != 0)
        goto done;
    int wrc = reporter_window_resolve(&w, conn, MODULE, "*", "monthly", first, NULL, NULL, err,
                                      sizeof err);
    if (wrc == -1) {
        fprintf(stderr, "billing: %s\n", err);
        rc = 2;
        goto done;
    }
    if (wrc != 0 || reporter_costs_send(conn, MODULE, &w, "tenant_kind") != 0 ||
        s_render(conn, month, strcmp(format, "json") == 0, &out) != 0)
        goto done;
    reporter_tx_end(conn, true);
    rc = reporter_cli_write(fc_config_str(config, "output"), &out) == 0 ? 0 : 1;
done:
    if (conn) {
        reporter_tx_end(conn, false);
        PQfinish(conn);
    }
    reporter_window_free(&w);
    fc_buf_free(&out);
    fc_config_destroy(&config);
    return rc;
}
