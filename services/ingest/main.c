/*  fleetcost-ingest: validates, prices, stores and acknowledges agent events. */
#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"

#include <poll.h>

static const fc_option_t s_options[] = {
    {"bind", FC_OPT_STR, "tcp://*:7601", 0, 0, false, "agent ROUTER endpoint"},
    {"pub-bind", FC_OPT_STR, "tcp://*:7602", 0, 0, false, "event stream PUB endpoint"},
    {"ingest-id", FC_OPT_STR, "", 0, 0, false, "this instance's id (default: host name)"},
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    fc_warn("ingest", "not implemented yet: waiting for a stop signal");
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    while (!fc_signal_stopping())
        poll(&p, 1, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    return fc_service_main("ingest", "validates, prices, stores and acknowledges agent events",
                           s_options, s_run, argc, argv);
}
