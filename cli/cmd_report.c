/*  fleetcost report: a tenant's (or every tenant's) cost report for a day, an ISO week,
    a month or any range of tenant-local days, as text, CSV, JSON or HTML, to stdout or
    a file written atomically (fit for cron). Reads as the owner (pg-url) through the
    same report engine as fleetcost-reporter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_proto.h"
#include "fc_time.h"
#include "reporter_cli.h"
#include "reporter_report.h"

#define MODULE "report"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "tenant id; '*' (or --all) for every tenant"},
    {"all", FC_OPT_BOOL, "false", 0, 0, false, "report every tenant (each in its time zone)"},
    {"period", FC_OPT_STR, "daily", 0, 0, false, "daily | weekly | monthly | range"},
    {"date", FC_OPT_STR, "", 0, 0, false,
     "a day in the period (YYYY-MM-DD); default: the last complete period"},
    {"from", FC_OPT_STR, "", 0, 0, false, "first day of a range (YYYY-MM-DD)"},
    {"to", FC_OPT_STR, "", 0, 0, false, "last day of a range, inclusive (YYYY-MM-DD)"},
    {"format", FC_OPT_STR, "text", 0, 0, false, "text | csv | json | html"},
    {"output", FC_OPT_STR, "", 0, 0, false, "write to this file (-o FILE); default stdout"},
    {"top", FC_OPT_INT, "10", 1, REPORTER_TOP_MAX, false, "length of the top task/agent lists"},
#ifdef FC_TESTING //  test-only switches exist only in a testing build (README "Testing builds")
    {"clock", FC_OPT_STR, "", 0, 0, false,
     "TESTING: run as if the UTC time now were this (RFC 3339, e.g. 2026-12-06T20:08:00Z)"},
    {"held-groups", FC_OPT_INT, "0", 0, 1000000, false,
     "TESTING: agent and task groups summed as they come before reading them sorted (0: 20000)"},
#endif
    FC_OPT_END};

int cmd_report(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config =
        reporter_cli_load("fleetcost report", "tenant cost report", tables, argc, argv, &rc);
    if (!config)
        return rc;
    char tenant[64], err[160], output[4096];
    reporter_window_t w = {0};
    snprintf(tenant, sizeof tenant, "%s",
             fc_config_bool(config, "all") ? "*" : fc_config_str(config, "tenant"));
    snprintf(output, sizeof output, "%s", fc_config_str(config, "output"));
    const char *period = fc_config_str(config, "period");
    reporter_fmt_t fmt;
    rc = 2;
    PGconn *conn = NULL;
    reporter_report_t *r = NULL;
    fc_buf_t out;
    fc_buf_init(&out);
    if (strcmp(tenant, "*") != 0 && !fc_tenant_valid(tenant)) {
        fprintf(stderr, "report: --tenant: give a tenant id, or --all\n");
        goto done;
    }
    if (reporter_fmt_parse(fc_config_str(config, "format"), &fmt) != 0) {
        fprintf(stderr, "report: --format: expected text, csv, json or html\n");
        goto done;
    }
#ifdef FC_TESTING
    const char *clock = fc_config_str(config, "clock");
    int64_t clock_us = 0;
    if (*clock && fc_time_parse(clock, &clock_us) != 0) {
        fprintf(stderr, "report: --clock: expected an RFC 3339 time\n");
        goto done;
    }
    reporter_clock_set(clock_us);
    reporter_report_held_set((size_t)fc_config_int(config, "held-groups"));
#endif
    rc = 1;
    conn = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    if (!conn || reporter_tx_begin(conn, tenant) != 0)
        goto done;
    //  A default period is each tenant's own (yesterday, last week, last month in its zone).
    int wrc = reporter_window_resolve(&w, conn, MODULE, tenant, period,
                                      fc_config_str(config, "date"), fc_config_str(config, "from"),
                                      fc_config_str(config, "to"), err, sizeof err);
    if (wrc == -1) {
        fprintf(stderr, "report: --%s\n", err);
        rc = 2;
        goto done;
    }
    if (wrc != 0)
        goto done;
    r = reporter_report_new();
    if (!r)
        goto done;
    reporter_rc_t grc = reporter_report_gather(r, conn, MODULE, &w,
                                               *fc_config_str(config, "from") ? "range" : period,
                                               (int)fc_config_int(config, "top"));
    if (grc == REPORTER_NOT_FOUND) {
        fprintf(stderr, "report: no tenant %s\n", tenant);
        goto done;
    }
    if (grc != REPORTER_OK)
        goto done;
    reporter_tx_end(conn, true);
    reporter_render(r, fmt, &out);
    rc = reporter_cli_write(output, &out) == 0 ? 0 : 1;
done:
    if (conn) {
        reporter_tx_end(conn, false);
        PQfinish(conn);
    }
    reporter_report_destroy(&r);
    reporter_window_free(&w);
    fc_buf_free(&out);
    fc_config_destroy(&config);
    return rc;
}
