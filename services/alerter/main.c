/*  fleetcost-alerter: budgets, thresholds, forecasts and notifications. */
#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"

#include <poll.h>

static const fc_option_t s_options[] = {
    {"aggregator-pub", FC_OPT_STR, "tcp://127.0.0.1:7603", 0, 0, false,
     "aggregator summary streams, comma-separated"},
    {"bind", FC_OPT_STR, "tcp://*:7604", 0, 0, false, "alert PUB endpoint"},
    {"smtp-url", FC_OPT_STR, "", 0, 0, true, "SMTP server URL for e-mail (empty: no e-mail)"},
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    fc_warn("alerter", "not implemented yet: waiting for a stop signal");
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    while (!fc_signal_stopping())
        poll(&p, 1, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    return fc_service_main("alerter", "budgets, thresholds, forecasts and notifications", s_options,
                           s_run, argc, argv);
}
