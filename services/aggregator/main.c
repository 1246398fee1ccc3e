/*  fleetcost-aggregator: running totals in Redis and sum.<tenant> summaries. */
#include "aggregator.h"
#include "fc_log.h"
#include "fc_service.h"

static const fc_option_t s_options[] = {
    {"ingest-pub", FC_OPT_STR, "tcp://127.0.0.1:7602", 0, 0, false,
     "ingest event streams to subscribe to, comma-separated"},
    {"bind", FC_OPT_STR, "tcp://*:7603", 0, 0, false, "summary PUB endpoint(s), comma-separated"},
    {"shard", FC_OPT_STR, "0/1", 0, 0, false, "this instance's shard i/N of tenants"},
    {"interval-ms", FC_OPT_INT, "1000", 50, 60000, false,
     "summary coalescing: at most one sum.<tenant> per tenant per interval"},
    {"heartbeat-timeout-ms", FC_OPT_INT, "3000", 500, 600000, false,
     "an ingest silent this long is suspect (polled in postgres)"},
    {"rollup-ms", FC_OPT_INT, "5000", 100, 3600000, false, "cost_summaries upsert period"},
    {"final-grace-s", FC_OPT_INT, "600", 0, 86400, false,
     "a day's cost_summaries rows become final this long after the day closed"},
    {"rebuild-months", FC_OPT_INT, "2", 1, 12, false,
     "tenant-local months rebuilt from postgres when redis is empty (current included)"},
    {"republish-s", FC_OPT_INT, "30", 0, 86400, false,
     "publish every tenant's summary of today at least this often, changed or not (0: off)"},
    {"top", FC_OPT_INT, "10", 1, 1000, false, "entries per breakdown in summaries"},
    {"metrics-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "address of the /metrics endpoint"},
    {"metrics-port", FC_OPT_INT, "7613", 0, 65535, false, "port of /metrics (0: off)"},
#ifdef FC_TESTING //  test-only switches exist only in a testing build (README "Testing builds")
    {"debug-drop", FC_OPT_INT, "0", 0, 1000000, false,
     "testing only: drop one live stream message in this many (exercises gap repair)"},
#endif
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    aggregator_config_t c = {
        .pg_url = fc_config_str(config, "pg-url"),
        .redis_url = fc_config_str(config, "redis-url"),
        .redis_sentinels = fc_config_str(config, "redis-sentinels"),
        .redis_master_name = fc_config_str(config, "redis-master-name"),
        .ingest_pub = fc_config_str(config, "ingest-pub"),
        .bind = fc_config_str(config, "bind"),
        .interval_ms = (int)fc_config_int(config, "interval-ms"),
        .heartbeat_timeout_ms = (int)fc_config_int(config, "heartbeat-timeout-ms"),
        .rollup_ms = (int)fc_config_int(config, "rollup-ms"),
        .final_grace_s = (int)fc_config_int(config, "final-grace-s"),
        .rebuild_months = (int)fc_config_int(config, "rebuild-months"),
        .top = (int)fc_config_int(config, "top"),
        .republish_s = (int)fc_config_int(config, "republish-s"),
#ifdef FC_TESTING
        .debug_drop = (int)fc_config_int(config, "debug-drop"),
#endif
        .metrics_bind = fc_config_str(config, "metrics-bind"),
        .metrics_port = (int)fc_config_int(config, "metrics-port"),
    };
    if (aggregator_parse_shard(fc_config_str(config, "shard"), &c.shard, &c.shards) != 0) {
        fc_error("aggregator", "--shard must be i/N with 0 <= i < N <= 1024");
        return 2;
    }
    aggregator_t *aggregator = aggregator_new(&c);
    if (!aggregator)
        return 1;
    int rc = aggregator_run(aggregator);
    aggregator_destroy(&aggregator);
    return rc;
}

int main(int argc, char **argv)
{
    return fc_service_main("aggregator", "running totals in Redis and sum.<tenant> summaries",
                           s_options, s_run, argc, argv);
}
