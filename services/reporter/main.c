/*  fleetcost-reporter: reports, dashboard and HTTP API (reporter_http). */
#include <poll.h>

#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fc_time.h"
#include "reporter_report.h"
#include "reporter_http.h"

static const fc_option_t s_options[] = {
    {"http-port", FC_OPT_INT, "8080", 0, 65535, false, "HTTP port (0: any free port)"},
    {"http-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "HTTP listen address (IPv4)"},
    {"pg-reader-url", FC_OPT_STR, "postgresql://fleetcost_reporter@127.0.0.1:5432/fleetcost", 0, 0,
     FC_SECRET_URL, "PostgreSQL conninfo of the reader role (owns no tables)"},
    {"pg-pool", FC_OPT_INT, "8", 1, 64, false, "database connections"},
    {"max-connections", FC_OPT_INT, "64", 4, 1024, false,
     "concurrent HTTP connections (one thread each; live streams hold one)"},
    {"max-connections-per-address", FC_OPT_INT, "16", 1, 1024, false,
     "open HTTP connections from one client address (more are closed at once)"},
    {"http-timeout", FC_OPT_INT, "10", 1, 3600, false,
     "seconds of inactivity (a half-sent request included) before a connection is closed"},
    {"max-streams", FC_OPT_INT, "0", 0, 1024, false,
     "live-total streams in all (0: three quarters of max-connections, the most allowed)"},
    {"max-streams-per-key", FC_OPT_INT, "4", 1, 1024, false,
     "live-total streams one API key may hold open (more: 429)"},
    {"max-streams-per-address", FC_OPT_INT, "8", 1, 1024, false,
     "live-total streams one client address may hold open (more: 429)"},
    {"tls-cert", FC_OPT_STR, "", 0, 0, false, "PEM certificate file: serve HTTPS with tls-key"},
    {"tls-key", FC_OPT_STR, "", 0, 0, FC_SECRET_NONE, "PEM private key file"},
    {"top", FC_OPT_INT, "10", 1, 100, false, "default length of top lists in reports"},
    {"aggregator-pub", FC_OPT_STR, "tcp://127.0.0.1:7603", 0, 0, false,
     "aggregator summary streams for live totals, comma-separated (empty: poll Postgres)"},
#ifdef FC_TESTING //  test-only switches exist only in a testing build (README "Testing builds")
    {"clock", FC_OPT_STR, "", 0, 0, false,
     "TESTING: run as if the UTC time at start were this (RFC 3339, e.g. 2026-12-06T20:08:00Z)"},
#endif
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
#ifdef FC_TESTING
    const char *clock = fc_config_str(config, "clock");
    int64_t clock_us = 0;
    if (*clock && fc_time_parse(clock, &clock_us) != 0) {
        fc_error("reporter", "--clock: expected an RFC 3339 time (2026-12-06T20:08:00Z)");
        return 2;
    }
    if (clock_us) {
        reporter_clock_set(clock_us);
        fc_warn("reporter", "TESTING: the clock starts at %s", clock);
    }
#endif
    reporter_http_config_t http = {
        .bind = fc_config_str(config, "http-bind"),
        .port = (int)fc_config_int(config, "http-port"),
        .pg_url = fc_config_str(config, "pg-reader-url"),
        .pool_size = (int)fc_config_int(config, "pg-pool"),
        .max_connections = (int)fc_config_int(config, "max-connections"),
        .max_connections_per_address = (int)fc_config_int(config, "max-connections-per-address"),
        .timeout_s = (int)fc_config_int(config, "http-timeout"),
        .max_streams = (int)fc_config_int(config, "max-streams"),
        .max_streams_per_key = (int)fc_config_int(config, "max-streams-per-key"),
        .max_streams_per_address = (int)fc_config_int(config, "max-streams-per-address"),
        .tls_cert = fc_config_str(config, "tls-cert"),
        .tls_key = fc_config_str(config, "tls-key"),
        .top_n = (int)fc_config_int(config, "top"),
        .aggregator_pub = fc_config_str(config, "aggregator-pub"),
    };
    reporter_http_t *server = reporter_http_start(&http);
    if (!server)
        return 1;
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    while (!fc_signal_stopping())
        poll(&p, 1, 1000);
    fc_info("reporter", "stopping: closing connections");
    fc_signal_stage("stopping the reporter");
    reporter_http_stop(&server);
    return 0;
}

int main(int argc, char **argv)
{
    return fc_service_main("reporter", "reports, dashboard and HTTP API", s_options, s_run, argc,
                           argv);
}
