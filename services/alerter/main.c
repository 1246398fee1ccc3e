/*  fleetcost-alerter: budgets, thresholds, forecasts and notifications. */
#include <stdio.h>
#include <time.h>

#include "alerter.h"
#include "alerter_rules.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_service.h"
#include "fc_time.h"

static const fc_option_t s_options[] = {
    {"aggregator-pub", FC_OPT_STR, "tcp://127.0.0.1:7603", 0, 0, false,
     "aggregator summary streams, comma-separated"},
    {"bind", FC_OPT_STR, "tcp://*:7604", 0, 0, false, "alert PUB endpoint(s), comma-separated"},
    {"smtp-url", FC_OPT_STR, "", 0, 0, FC_SECRET_URL,
     "SMTP server URL for e-mail (empty: no e-mail)"},
    {"smtp-from", FC_OPT_STR, "fleetcost@localhost", 0, 0, false, "sender of alert e-mail"},
    {"operator-webhook", FC_OPT_STR, "", 0, 0, FC_SECRET_WEBHOOK,
     "operator's webhook: every alert, and unpriced-usage alerts (empty: none)"},
    {"operator-email", FC_OPT_STR, "", 0, 0, false, "operator's address, as operator-webhook"},
    {"report-url", FC_OPT_STR, "http://127.0.0.1:8080/report", 0, 0, false,
     "reporter link put in notices (?tenant=..&period=.. is appended)"},
    {"eval-interval-ms", FC_OPT_INT, "15000", 200, 3600000, false,
     "re-evaluate every tenant from Postgres this often (covers lost summaries)"},
    {"slow-interval-ms", FC_OPT_INT, "5000", 100, 3600000, false,
     "at most one runaway / agent-type / unpriced query per tenant this often"},
    {"silence", FC_OPT_STR, "15m", 0, 0, false,
     "no events for this long from an active tenant raises no_data (90s, 15m, 1h)"},
    {"activity-window", FC_OPT_STR, "1d", 0, 0, false,
     "a tenant counts as active when it had events within this window"},
    {"forecast-min-hours", FC_OPT_INT, "24", 0, 744, false,
     "forecast only once this much of the month has elapsed"},
    {"forecast-min-usd", FC_OPT_STR, "1", 0, 0, false,
     "forecast only once month-to-date spend reaches this"},
    {"reconcile-tolerance-nusd", FC_OPT_INT, "0", 0, INT64_C(1000000000000000), false,
     "a reconciled tenant-day whose bill and fleetcost differ by more raises 'reconcile'"},
    {"reconcile-tolerance-pct", FC_OPT_INT, "0", 0, 100, false,
     "... and by more than this percent of the larger of the two"},
    {"attempt-timeout-ms", FC_OPT_INT, "5000", 100, 120000, false,
     "timeout of one webhook request or SMTP session"},
    {"max-attempts", FC_OPT_INT, "6", 1, 100, false, "delivery attempts before failed"},
    {"retry-base-ms", FC_OPT_INT, "1000", 10, 3600000, false,
     "first retry delay; doubles per attempt"},
    {"retry-max-ms", FC_OPT_INT, "300000", 10, 86400000, false, "longest retry delay"},
    {"max-inflight", FC_OPT_INT, "64", 1, 10000, false, "notices being delivered at once"},
    {"metrics-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "address of the /metrics endpoint"},
    {"metrics-port", FC_OPT_INT, "7614", 0, 65535, false, "port of /metrics (0: off)"},
#ifdef FC_TESTING //  test-only switches exist only in a testing build (README "Testing builds")
    {"clock", FC_OPT_STR, "", 0, 0, false,
     "TESTING: run as if the UTC time at start were this (YYYY-MM-DDTHH:MM:SSZ)"},
#endif
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    int64_t silence = alerter_duration_parse(fc_config_str(config, "silence"));
    int64_t window = alerter_duration_parse(fc_config_str(config, "activity-window"));
    int64_t min_nusd = 0, clock_us = 0;
    if (silence < 0 || window < 0) {
        fc_error("alerter", "--silence and --activity-window take a duration like 90s, 15m, 1d");
        return 2;
    }
    if (fc_money_parse(fc_config_str(config, "forecast-min-usd"), &min_nusd) != 0 || min_nusd < 0) {
        fc_error("alerter", "--forecast-min-usd: not an amount of USD");
        return 2;
    }
#ifdef FC_TESTING
    const char *clock = fc_config_str(config, "clock");
    if (*clock && fc_time_parse(clock, &clock_us) != 0) {
        fc_error("alerter", "--clock: expected YYYY-MM-DDTHH:MM:SSZ");
        return 2;
    }
#endif
    alerter_config_t c = {
        .pg_url = fc_config_str(config, "pg-url"),
        .aggregator_pub = fc_config_str(config, "aggregator-pub"),
        .bind = fc_config_str(config, "bind"),
        .deliver =
            {
                .pg_url = fc_config_str(config, "pg-url"),
                .smtp_url = fc_config_str(config, "smtp-url"),
                .smtp_from = fc_config_str(config, "smtp-from"),
                .operator_webhook = fc_config_str(config, "operator-webhook"),
                .operator_email = fc_config_str(config, "operator-email"),
                .report_url = fc_config_str(config, "report-url"),
                .attempt_timeout_ms = (int)fc_config_int(config, "attempt-timeout-ms"),
                .max_attempts = (int)fc_config_int(config, "max-attempts"),
                .retry_base_ms = (int)fc_config_int(config, "retry-base-ms"),
                .retry_max_ms = (int)fc_config_int(config, "retry-max-ms"),
                .max_inflight = (int)fc_config_int(config, "max-inflight"),
            },
        .eval_interval_ms = (int)fc_config_int(config, "eval-interval-ms"),
        .slow_interval_ms = (int)fc_config_int(config, "slow-interval-ms"),
        .silence_s = (int)silence,
        .activity_window_s = (int)window,
        .forecast_min_elapsed_us = fc_config_int(config, "forecast-min-hours") * 3600000000,
        .forecast_min_nusd = min_nusd,
        .reconcile_tolerance_nusd = fc_config_int(config, "reconcile-tolerance-nusd"),
        .reconcile_tolerance_pct = (int)fc_config_int(config, "reconcile-tolerance-pct"),
        .clock_us = clock_us,
        .metrics_bind = fc_config_str(config, "metrics-bind"),
        .metrics_port = (int)fc_config_int(config, "metrics-port"),
    };
    alerter_t *alerter = alerter_new(&c);
    if (!alerter)
        return 1;
    int rc = alerter_run(alerter);
    alerter_destroy(&alerter);
    return rc;
}

int main(int argc, char **argv)
{
    return fc_service_main("alerter", "budgets, thresholds, forecasts and notifications", s_options,
                           s_run, argc, argv);
}
