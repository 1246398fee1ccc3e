/*  fleetcost-reporter: reports, dashboard and HTTP API. */
#include "fc_log.h"
#include "fc_service.h"
#include "fc_signal.h"

#include <poll.h>

static const fc_option_t s_options[] = {
    {"http-port", FC_OPT_INT, "8080", 1, 65535, false, "HTTP port"},
    {"http-bind", FC_OPT_STR, "127.0.0.1", 0, 0, false, "HTTP listen address"},
    {"pg-reader-url", FC_OPT_STR, "postgresql://fleetcost_reporter@127.0.0.1:5432/fleetcost", 0, 0,
     true, "PostgreSQL conninfo of the reader role (owns no tables)"},
    FC_OPT_END};

static int s_run(fc_config_t *config)
{
    fc_warn("reporter", "not implemented yet: waiting for a stop signal");
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    while (!fc_signal_stopping())
        poll(&p, 1, 1000);
    return 0;
}

int main(int argc, char **argv)
{
    return fc_service_main("reporter", "reports, dashboard and HTTP API", s_options, s_run, argc,
                           argv);
}
