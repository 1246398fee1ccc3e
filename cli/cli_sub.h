/*  cli_sub: the one dispatch of a fleetcost command that has subcommands working on
    PostgreSQL (tenant, rate, price/reprice, budget, key): load the options (the common
    ones and the command's own), pick the subcommand by its word, check its options,
    connect, run it, clean up. Each command keeps its own words, checks and messages. */
#ifndef CLI_SUB_H
#define CLI_SUB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "fc_config.h"

//  One subcommand.
typedef struct {
    const char *word; //  the first positional argument; NULL matches any (or none)
    int args;         //  positional arguments it needs after the word
    //  Checks the options before connecting: 0, or the exit status (having said why).
    //  NULL: nothing to check.
    int (*check)(fc_config_t *cfg);
    //  Runs with the connection; returns the exit status. The positional arguments are
    //  fc_config_argv(cfg) (the word first).
    int (*run)(fc_config_t *cfg, PGconn *pg);
} cli_sub_t;

//  A command of subcommands.
typedef struct {
    const char *program, *summary, *module; //  "fleetcost rate", its --help line, log module
    const fc_option_t *options;             //  its own options (after fc_config_common)
    bool one_positional; //  exactly one positional argument (fc_config_load says so); else any
    bool word_alone;     //  the word counts only as the one positional argument
    const cli_sub_t *subs;
    size_t nsubs;
    const char *usage;  //  what an unknown word prints to stderr (with its newline)
    bool usage_logged;  //  ... logged as an error under module instead (no newline)
    int connect_failed; //  the exit status when PostgreSQL cannot be reached (0: 1)
} cli_cmd_t;

//  The subs and nsubs of a cli_cmd_t from an array.
#define CLI_SUBS(a) .subs = (a), .nsubs = sizeof(a) / sizeof((a)[0])

//  Runs the command: the exit status (2 for an unknown word, connect_failed without a
//  connection, else the subcommand's check or run).
int cli_sub_main(const cli_cmd_t *cmd, int argc, char **argv);

#endif
