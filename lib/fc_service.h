/*  fc_service: the shape every service main follows —
    flags -> config -> security -> start -> wait for a signal -> clean shutdown. */
#ifndef FC_SERVICE_H
#define FC_SERVICE_H

#include "fc_config.h"
#include "fc_curve.h"

//  Runs a service: parses the common options, the CurveZMQ options (cert-dir,
//  insecure) and `options`, logs the effective configuration, installs the signal
//  handlers, starts CurveZMQ (zauth) before the service creates any socket — refusing
//  to start in secure mode without certificates — and calls run(config), which returns
//  the process exit status once fc_signal_stopping() is true or it fails.
int fc_service_main(const char *module, const char *summary, const fc_option_t *options,
                    int (*run)(fc_config_t *config), int argc, char **argv);

//  The service's CurveZMQ context (valid while run() runs).
fc_curve_t *fc_service_curve(void);

#endif
