/*  fc_service: common service start-up. */
#include "fc_service.h"

#include "fc_log.h"
#include "fc_signal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static fc_curve_t *s_curve;

//  Every service has it: how long a stop may take before the process ends itself.
static const fc_option_t s_service_options[] = {
    {"stop-deadline-ms", FC_OPT_INT, "20000", 1000, 3600000, false,
     "after SIGTERM, exit with status 3 (the stuck step logged) if the shutdown has not "
     "finished this long after the signal; keep it above shutdown-timeout-ms"},
    FC_OPT_END};

fc_curve_t *fc_service_curve(void)
{
    return s_curve;
}

int fc_service_main(const char *module, const char *summary, const fc_option_t *options,
                    int (*run)(fc_config_t *config), int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_service_options, fc_curve_options, options,
                                   NULL};
    int rc;
    fc_config_t *config = fc_config_load(module, summary, tables, argc, argv, 0, 0, &rc);
    if (!config)
        return rc;
    fc_config_log(config, module);
    fc_signal_install();
    fc_signal_deadline((int)fc_config_int(config, "stop-deadline-ms"));
    s_curve =
        fc_curve_new(fc_config_str(config, "cert-dir"), fc_config_bool(config, "insecure"), module);
    if (!s_curve) {
        fc_config_destroy(&config);
        return 2;
    }
    fc_signal_stage("running");
    rc = run(config);
    fc_signal_stage("closing CurveZMQ (zauth)");
    fc_curve_destroy(&s_curve);
    fc_info(module, "stopped (exit %d)", rc);
    fc_config_destroy(&config);
    //  What is left runs at exit: czmq's zsys_shutdown terminates its ZeroMQ context.
    fc_signal_stage("exit handlers (ZeroMQ context termination)");
    return rc;
}

int fc_service_attach(zsock_t *sock, const char *endpoints, bool bind, const char *module)
{
    int rc = 0;
    const char *p = endpoints ? endpoints : "";
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0) {
            char *ep = strndup(p, n);
            if (!ep)
                return -1;
            if ((bind ? zsock_bind(sock, "%s", ep) : zsock_connect(sock, "%s", ep)) < 0) {
                fc_error(module, "cannot %s %s: %s", bind ? "bind" : "connect to", ep,
                         zmq_strerror(zmq_errno()));
                rc = -1;
            }
            free(ep);
        }
        p += n + (p[n] == ',');
    }
    return rc;
}
