/*  reporter_cli: what the report and billing commands of the fleetcost CLI share. */
#ifndef REPORTER_CLI_H
#define REPORTER_CLI_H

#include "fc_buf.h"
#include "fc_config.h"

//  fc_config_load with no positional arguments and the short flag "-o" read as
//  "--output". NULL with *exit_code set when the command should exit.
fc_config_t *reporter_cli_load(const char *program, const char *summary,
                               const fc_option_t *const *tables, int argc, char **argv,
                               int *exit_code);

//  Writes out to path atomically (a temporary file, fsync'd, then renamed over path), or
//  to stdout when path is empty or "-". Returns 0, or -1 after printing why.
int reporter_cli_write(const char *path, const fc_buf_t *out);

#endif
