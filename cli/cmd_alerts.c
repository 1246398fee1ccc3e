/*  fleetcost alerts: lists alerts (cost_alerts) with their delivery status, newest
    first: fleetcost alerts [--tenant T] [--since 2026-11-01|1d] [--limit N]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerter_rules.h"
#include "commands.h"
#include "fc_config.h"
#include "fc_escape.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"

#define MODULE "alerts"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "only this tenant's alerts"},
    {"since", FC_OPT_STR, "", 0, 0, false,
     "only alerts fired or resolved since a time (2026-11-01, 2026-11-28T10:00Z) or for a "
     "duration (1d, 6h)"},
    {"limit", FC_OPT_INT, "100", 1, 100000, false, "at most this many"},
    FC_OPT_END};

static void s_usd_cell(PGresult *r, int row, int col, char *buf, size_t size)
{
    if (PQgetisnull(r, row, col)) {
        snprintf(buf, size, "-");
        return;
    }
    buf[0] = '$';
    fc_money_format(fc_pg_int(r, row, col), buf + 1, size - 1, 2);
}

int cmd_alerts(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config = fc_config_load("fleetcost alerts", "list alerts and their delivery",
                                         tables, argc, argv, 0, 0, &rc);
    if (!config)
        return rc;
    const char *tenant = fc_config_str(config, "tenant");
    const char *since = fc_config_str(config, "since");
    char secs[32] = "", limit[16];
    int64_t d = *since ? alerter_duration_parse(since) : -1;
    if (d > 0)
        snprintf(secs, sizeof secs, "%lld", (long long)d);
    snprintf(limit, sizeof limit, "%lld", (long long)fc_config_int(config, "limit"));
    PGconn *pg = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    if (!pg) {
        fc_config_destroy(&config);
        return 2;
    }
    const char *p[] = {*tenant ? tenant : NULL, *since && d < 0 ? since : NULL, *secs ? secs : NULL,
                       limit};
    PGresult *r = fc_pg_query(
        pg, MODULE, "list alerts",
        "SELECT to_char(fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), tenant_id,"
        " alert_id, kind, scope, period_key, subject, threshold_pct, value_nusd, budget_nusd,"
        " state, delivery_status, delivery_attempts, coalesce(delivery_error, ''),"
        " coalesce(array_to_string(delivery_done, ','), '')"
        " FROM cost_alerts"
        " WHERE ($1::text IS NULL OR tenant_id = $1)"
        " AND ($2::timestamptz IS NULL OR greatest(fired_at, resolved_at) >= $2::timestamptz)"
        " AND ($3::int IS NULL OR greatest(fired_at, resolved_at) >= now() - $3::int * interval"
        " '1 second')"
        " ORDER BY fired_at DESC, alert_id DESC LIMIT $4::int",
        4, p);
    if (!r) {
        PQfinish(pg);
        fc_config_destroy(&config);
        return 2;
    }
    printf("%-20s %-12s %6s %-9s %-10s %-20s %-12s %4s %12s %12s %-8s %s\n", "FIRED", "TENANT",
           "ID", "KIND", "SCOPE", "PERIOD", "SUBJECT", "PCT", "VALUE", "BUDGET", "STATE",
           "DELIVERY");
    for (int i = 0; i < PQntuples(r); i++) {
        //  Subjects (agent ids, agent types), periods and delivery errors carry tenant
        //  and remote text: shown with their control characters escaped.
        char c[15][4 * 512 + 1], v[32], b[32];
        for (int k = 0; k < 15; k++)
            fc_esc_text(PQgetvalue(r, i, k), c[k], sizeof c[k]);
        s_usd_cell(r, i, 8, v, sizeof v);
        s_usd_cell(r, i, 9, b, sizeof b);
        printf(
            "%-20s %-12s %6s %-9s %-10s %-20s %-12s %4s %12s %12s %-8s %s (%s attempt%s%s%s%s%s)\n",
            c[0], c[1], c[2], c[3], c[4], c[5], *c[6] ? c[6] : "-", c[7], v, b, c[10], c[11], c[12],
            strcmp(c[12], "1") == 0 ? "" : "s", *c[14] ? "; to " : "", c[14], *c[13] ? "; " : "",
            c[13]);
    }
    printf("%d alert%s\n", PQntuples(r), PQntuples(r) == 1 ? "" : "s");
    PQclear(r);
    PQfinish(pg);
    fc_config_destroy(&config);
    return 0;
}
