/*  fleetcost-otlp: receives Claude Code's OpenTelemetry logs (OTLP/HTTP JSON) and sends
    one usage event per API request to ingest through libfleetcost. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>

#include "fc_log.h"
#include "fc_metrics.h"
#include "fc_mp.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fleetcost.h"
#include "otlp_auth.h"
#include "otlp_http.h"

#define MODULE "otlp"

static const fc_option_t s_options[] = {
    {"http-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "OTLP/HTTP listen address (IPv4)"},
    {"http-port", FC_OPT_INT, "4318", 0, 65535, false, "OTLP/HTTP port (0: any free port)"},
    {"max-body", FC_OPT_INT, "4194304", 1024, 16777216, false,
     "largest request body in bytes (413 beyond)"},
    {"default-tenant", FC_OPT_STR, "", 0, 0, false,
     "operator tokens only: tenant of records without a tenant.id attribute (empty: reject "
     "them). A tenant's token always sends for its own tenant"},
    {"token-refresh-ms", FC_OPT_INT, "5000", 100, 600000, false,
     "reload the OTLP ingest tokens from Postgres this often (a revoked token keeps working "
     "at most this long)"},
    {"ingest-endpoints", FC_OPT_STR, "tcp://127.0.0.1:7601", 0, 0, false,
     "ingest ROUTER endpoints, comma-separated (failover across them)"},
    {"spool-dir", FC_OPT_STR, "/var/lib/fleetcost/otlp-spool", 0, 0, false,
     "libfleetcost spool: events wait here until ingest acknowledges them"},
    {"cert", FC_OPT_STR, "", 0, 0, false,
     "CurveZMQ client certificate (<name>.cert; an operator certificate sends for every "
     "tenant). Default: <cert-dir>/operator.cert unless --insecure"},
    {"server-cert", FC_OPT_STR, "", 0, 0, false,
     "ingest's public certificate. Default: <cert-dir>/server.cert unless --insecure"},
    {"metrics-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "address of the /metrics endpoint"},
    {"metrics-port", FC_OPT_INT, "7615", 0, 65535, false, "port of /metrics (0: off)"},
    {"shutdown-timeout-ms", FC_OPT_INT, "5000", 0, 600000, false,
     "on SIGTERM, how long to wait for ingest's acks (the rest stays in the spool)"},
    FC_OPT_END};

//  Client certificates: the flags, else (secure mode) the service's operator identity
//  from the certificate directory, which fc_service_main has already checked.
static void s_cert(fc_config_t *config, const char *name, const char *file, char *out, size_t size)
{
    const char *given = fc_config_str(config, name);
    if (*given || fc_config_bool(config, "insecure"))
        snprintf(out, size, "%s", given);
    else
        snprintf(out, size, "%s/%s", fc_config_str(config, "cert-dir"), file);
}

static int s_run(fc_config_t *config)
{
    const char *tenant = fc_config_str(config, "default-tenant");
    if (*tenant && !fc_tenant_valid(tenant)) {
        fc_error(MODULE, "--default-tenant %s: expected [a-z0-9][a-z0-9_-]{0,%d}", tenant,
                 FC_MAX_TENANT - 1);
        return 2;
    }
    char cert[4096], server_cert[4096];
    s_cert(config, "cert", "operator.cert", cert, sizeof cert);
    s_cert(config, "server-cert", "server.cert", server_cert, sizeof server_cert);
    fc_client_options_t o = {.endpoints = fc_config_str(config, "ingest-endpoints"),
                             .spool_dir = fc_config_str(config, "spool-dir"),
                             .client_cert = cert,
                             .server_cert = server_cert};
    int refresh_ms = (int)fc_config_int(config, "token-refresh-ms");
    fc_client_t *client = fc_client_new(&o);
    fc_metrics_t *metrics = fc_metrics_new("fleetcost_otlp");
    otlp_auth_t *auth = otlp_auth_new(fc_config_str(config, "pg-url"), refresh_ms);
    if (!client || !metrics || !auth) {
        fc_client_destroy(&client);
        fc_metrics_destroy(&metrics);
        otlp_auth_destroy(&auth);
        return 1;
    }
    //  Before listening, so the first requests find the tokens (if Postgres is up; if
    //  not, they are answered 503 until it is).
    otlp_auth_refresh(auth);
    fc_metric_t *m_unacked = fc_metrics_add(metrics, "unacked_events", FC_METRIC_GAUGE,
                                            "Events not yet acknowledged by ingest.");
    fc_metric_t *m_spool = fc_metrics_add(metrics, "spool_files", FC_METRIC_GAUGE,
                                          "Batches in the spool awaiting an ack.");
    fc_metric_t *m_tokens = fc_metrics_add(metrics, "ingest_tokens", FC_METRIC_GAUGE,
                                           "Live OTLP ingest tokens loaded from Postgres.");
    fc_metric_t *m_ingest_rejected =
        fc_metrics_add(metrics, "ingest_rejected_events", FC_METRIC_GAUGE,
                       "Events ingest refused since start (not retried).");
    otlp_http_config_t h = {.bind = fc_config_str(config, "http-bind"),
                            .port = (int)fc_config_int(config, "http-port"),
                            .max_body = (size_t)fc_config_int(config, "max-body"),
                            .default_tenant = tenant,
                            .client = client,
                            .auth = auth,
                            .metrics = metrics};
    otlp_http_t *http = otlp_http_start(&h);
    int rc = http ? 0 : 1;
    if (http && fc_metrics_serve(metrics, fc_config_str(config, "metrics-bind"),
                                 (int)fc_config_int(config, "metrics-port")) != 0) {
        fc_error(MODULE, "cannot serve /metrics on port %d",
                 (int)fc_config_int(config, "metrics-port"));
        rc = 1;
    }
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    fc_client_stats_t st;
    while (rc == 0 && !fc_signal_stopping()) {
        poll(&p, 1, refresh_ms < 1000 ? refresh_ms : 1000);
        if (fc_signal_stopping())
            break;
        otlp_auth_refresh(auth);
        fc_metric_set(m_tokens, otlp_auth_count(auth));
        fc_client_stats(client, &st);
        fc_metric_set(m_unacked, (int64_t)st.unacked);
        fc_metric_set(m_spool, (int64_t)st.spool_files);
        fc_metric_set(m_ingest_rejected, (int64_t)st.rejected);
    }
    //  Stop taking requests first, so every 200 already sent is for events the client
    //  holds; then wait a bounded time for their acks; what is left stays in the spool.
    fc_signal_stage("stopping OTLP/HTTP (requests in flight)");
    otlp_http_stop(&http);
    fc_signal_stage("waiting for ingest's acks");
    uint64_t left = fc_client_flush(client, (int)fc_config_int(config, "shutdown-timeout-ms"));
    fc_client_stats(client, &st);
    fc_info(MODULE,
            "stopping: %" PRIu64 " events queued, %" PRIu64 " acked, %" PRIu64
            " duplicate, %" PRIu64 " rejected by ingest, %" PRIu64 " left in the spool",
            st.queued, st.acked, st.duplicate, st.rejected, left);
    fc_signal_stage("closing the ingest client (spool, ZeroMQ context)");
    fc_client_destroy(&client);
    fc_signal_stage("stopping /metrics");
    fc_metrics_destroy(&metrics);
    otlp_auth_destroy(&auth);
    return rc;
}

int main(int argc, char **argv)
{
    return fc_service_main(MODULE, "OTLP/HTTP JSON logs receiver for Claude Code", s_options, s_run,
                           argc, argv);
}
