/*  fleetcost-ingest: validates, prices, stores and acknowledges agent events. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "ingest_server.h"

static const fc_option_t s_options[] = {
    {"bind", FC_OPT_STR, "tcp://*:7601", 0, 0, false, "agent ROUTER endpoint(s), comma-separated"},
    {"pub-bind", FC_OPT_STR, "tcp://*:7602", 0, 0, false, "event stream PUB endpoint(s)"},
    {"ingest-id", FC_OPT_STR, "", 0, 0, false,
     "this instance's id, unique per instance (default: host name)"},
    {"group-events", FC_OPT_INT, "2000", 1, 5000, false, "commit a group at this many events"},
    {"group-ms", FC_OPT_INT, "5", 0, 1000, false, "... or when its first batch waited this long"},
    //  Memory: every group (one filling, one per writer) holds at most this many events
    //  plus one batch, about 1 KB each beside the frames they came in.
    {"max-pending", FC_OPT_INT, "4000", 100, 100000, false,
     "stop reading agents while this many events wait in the group being filled"},
    {"writers", FC_OPT_INT, "2", 1, 8, false,
     "group commits in flight at once, each on its own Postgres connection (committed and "
     "published in seq order)"},
    {"register-tenants", FC_OPT_STR, "auto", 0, 0, false,
     "unknown tenants: auto (secure mode rejects their events with code 17, plaintext "
     "mode registers them with defaults), false (reject), true (register; plaintext only)"},
    {"metrics-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "address of the /metrics endpoint"},
    {"metrics-port", FC_OPT_INT, "7611", 0, 65535, false, "port of /metrics (0: off)"},
    {"shutdown-timeout-ms", FC_OPT_INT, "10000", 0, 600000, false,
     "on SIGTERM, how long to keep trying to commit what is in flight"},
    FC_OPT_END};

//  Default ingest id: the host name, lower-cased, other characters as '-'.
static void s_default_id(char *id, size_t size)
{
    char host[256] = "ingest";
    gethostname(host, sizeof host - 1);
    size_t n = 0;
    for (const char *c = host; *c && n < size - 1; c++)
        id[n++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '-';
    id[n] = 0;
}

//  Whether an event may create its tenant. In secure mode never: a tenant exists only
//  once an operator registered it (fleetcost tenant set, cert create --tenant), else
//  any sender on an operator path (fleetcost-otlp, a simulator) could mint tenants,
//  and the alerter would evaluate every one. Returns 0, or 2 for a bad value.
static int s_register_tenants(fc_config_t *config, bool *out)
{
    const char *v = fc_config_str(config, "register-tenants");
    bool insecure = fc_config_bool(config, "insecure");
    if (strcmp(v, "auto") == 0)
        *out = insecure;
    else if (strcmp(v, "false") == 0)
        *out = false;
    else if (strcmp(v, "true") == 0 && insecure)
        *out = true;
    else {
        fc_error("ingest",
                 strcmp(v, "true") == 0
                     ? "--register-tenants true is for plaintext mode only: in secure mode "
                       "register tenants with fleetcost tenant set (or cert create --tenant)"
                     : "--register-tenants %s: expected auto, true or false",
                 v);
        return 2;
    }
    return 0;
}

static int s_run(fc_config_t *config)
{
    bool register_tenants;
    if (s_register_tenants(config, &register_tenants) != 0)
        return 2;
    char id[64];
    if (*fc_config_str(config, "ingest-id"))
        snprintf(id, sizeof id, "%s", fc_config_str(config, "ingest-id"));
    else
        s_default_id(id, sizeof id);
    ingest_config_t c = {
        .pg_url = fc_config_str(config, "pg-url"),
        .bind = fc_config_str(config, "bind"),
        .pub_bind = fc_config_str(config, "pub-bind"),
        .ingest_id = id,
        .group_events = (int)fc_config_int(config, "group-events"),
        .group_ms = (int)fc_config_int(config, "group-ms"),
        .max_pending = (int)fc_config_int(config, "max-pending"),
        .writers = (int)fc_config_int(config, "writers"),
        .register_tenants = register_tenants,
        .metrics_bind = fc_config_str(config, "metrics-bind"),
        .metrics_port = (int)fc_config_int(config, "metrics-port"),
        .shutdown_timeout_ms = (int)fc_config_int(config, "shutdown-timeout-ms"),
    };
    ingest_server_t *server = ingest_server_new(&c);
    if (!server)
        return 1;
    int rc = ingest_server_run(server);
    fc_signal_stage("closing writers, sockets and /metrics");
    ingest_server_destroy(&server);
    return rc;
}

int main(int argc, char **argv)
{
    return fc_service_main("ingest", "validates, prices, stores and acknowledges agent events",
                           s_options, s_run, argc, argv);
}
