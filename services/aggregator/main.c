/*  fleetcost-aggregator: running totals in Redis and sum.<tenant> summaries. */
#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"

#include <poll.h>

static const fc_option_t s_options[] = {
    {"ingest-pub", FC_OPT_STR, "tcp://127.0.0.1:7602", 0, 0, false,
     "ingest event streams to subscribe to, comma-separated"},
    {"bind", FC_OPT_STR, "tcp://*:7603", 0, 0, false, "summary PUB endpoint"},
    {"shard", FC_OPT_STR, "0/1", 0, 0, false, "this instance's shard i/N of tenants"},
    {"interval-ms", FC_OPT_INT, "1000", 50, 60000, false, "summary coalescing interval"},
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    fc_warn("aggregator", "not implemented yet: waiting for a stop signal");
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    while (!fc_signal_stopping())
        poll(&p, 1, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    return fc_service_main("aggregator", "running totals in Redis and sum.<tenant> summaries",
                           s_options, s_run, argc, argv);
}
