/*  fleetcost: the agent-side and admin command. Dispatches to a subcommand. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "fc_signal.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} s_command_t;

static const s_command_t s_commands[] = {
    {"migrate", cmd_migrate, "apply database migrations (idempotent)"},
    {"retention", cmd_retention, "drop (and archive) raw events older than --keep-days"},
    {"bench", cmd_bench, "load generators for scripts/bench.sh (ingest, insert)"},
};

static void s_usage(void)
{
    printf("usage: fleetcost <command> [options]   (fleetcost <command> --help for its options)\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        printf("  %-12s %s\n", s_commands[i].name, s_commands[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        s_usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("fleetcost %s (protocol v1)\n", FC_VERSION);
        return 0;
    }
    fc_signal_install();
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp(argv[1], s_commands[i].name) == 0)
            return s_commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "fleetcost: unknown command '%s'\n", argv[1]);
    s_usage();
    return 2;
}
