/*  fc_service: the shape every service main follows —
    flags -> config -> security -> start -> wait for a signal -> clean shutdown — and
    what every service does with its sockets' endpoint lists (fc_service_attach). */
#ifndef FC_SERVICE_H
#define FC_SERVICE_H

#include <czmq.h>
#include <stdbool.h>

#include "fc_config.h"
#include "fc_curve.h"

//  Runs a service: parses the common options, the CurveZMQ options (cert-dir,
//  insecure) and `options`, logs the effective configuration, installs the signal
//  handlers, starts CurveZMQ (zauth) before the service creates any socket — refusing
//  to start in secure mode without certificates — and calls run(config), which returns
//  the process exit status once fc_signal_stopping() is true or it fails.
int fc_service_main(const char *module, const char *summary, const fc_option_t *options,
                    int (*run)(fc_config_t *config), int argc, char **argv);

//  Binds (bind) or connects sock to every endpoint of a comma-separated list
//  ("tcp://*:7602,ipc:///run/fc.sock"); empty items are skipped. Every endpoint that
//  fails is logged by name under module; returns 0, or -1 if any failed.
//  Not czmq's zsock_attach, which does the same split: it stops at the first failure
//  without saying which endpoint it was, and refuses an empty item ("a,,b").
int fc_service_attach(zsock_t *sock, const char *endpoints, bool bind, const char *module);

//  The service's CurveZMQ context (valid while run() runs).
fc_curve_t *fc_service_curve(void);

#endif
