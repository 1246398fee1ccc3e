/*  reporter_cli: what the report and billing commands of the fleetcost CLI share. */
#ifndef REPORTER_CLI_H
#define REPORTER_CLI_H

#include "fc_buf.h"

//  Copies argv into out (argc + 1 slots, NULL-terminated) with the short flag "-o"
//  spelled "--output", for fc_config.
void reporter_cli_args(int argc, char **argv, char **out);

//  Writes out to path atomically (a temporary file, fsync'd, then renamed over path), or
//  to stdout when path is empty or "-". Returns 0, or -1 after printing why.
int reporter_cli_write(const char *path, const fc_buf_t *out);

#endif
