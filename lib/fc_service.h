/*  fc_service: the shape every service main follows —
    flags -> config -> start -> wait for a signal -> clean shutdown. */
#ifndef FC_SERVICE_H
#define FC_SERVICE_H

#include "fc_config.h"

//  Runs a service: parses the common options plus `options`, logs the effective
//  configuration, installs the signal handlers and calls run(config), which returns
//  the process exit status once fc_signal_stopping() is true or it fails.
int fc_service_main(const char *module, const char *summary, const fc_option_t *options,
                    int (*run)(fc_config_t *config), int argc, char **argv);

#endif
