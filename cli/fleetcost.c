/*  fleetcost: the agent-side and admin command. Dispatches to a subcommand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "fc_signal.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} s_command_t;

static const s_command_t s_commands[] = {
    {"emit", cmd_emit, "send an event (or NDJSON on stdin) to ingest, spooling if unreachable"},
    {"watch", cmd_watch, "follow Claude Code transcripts and send their usage (sidecar)"},
    {"flush", cmd_flush, "deliver the events waiting in the local spool"},
    {"migrate", cmd_migrate, "apply database migrations (idempotent)"},
    {"retention", cmd_retention, "drop (and archive) raw events older than --keep-days"},
    {"report", cmd_report, "cost report of a tenant or all tenants (text, csv, json, html)"},
    {"billing", cmd_billing, "a month's bill per tenant and cost kind (csv, json)"},
    {"key", cmd_key, "create, list or revoke reporter API keys"},
    {"tenant", cmd_tenant, "register or change tenants (time zone, contacts), list them"},
    {"price", cmd_price, "the price catalog: list, set a new version, import a CSV"},
    {"reprice", cmd_reprice, "recompute stored costs in a window with the prices in force"},
    {"rate", cmd_rate, "contract rate cards per tenant: set, list, history, end (billed cost)"},
    {"github", cmd_github, "task titles, labels, type and priority from GitHub issues"},
    {"reconcile", cmd_reconcile,
     "compare Anthropic's bill (Admin API cost report) with fleetcost per tenant-day"},
    {"simulate", cmd_simulate, "a simulated fleet of agents sending events to ingest"},
    {"budget", cmd_budget, "set, list or check budgets (check: exit 1 once over budget)"},
    {"alerts", cmd_alerts, "list alerts and their delivery status"},
    {"cert", cmd_cert, "CurveZMQ certificates: init, server, create, list, revoke"},
};

static void s_usage(void)
{
    printf("usage: fleetcost <command> [options]   (fleetcost <command> --help for its options)\n\n"
           "commands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        printf("  %-12s %s\n", s_commands[i].name, s_commands[i].help);
}

const char *cmd_actor(fc_config_t *config)
{
    const char *a = fc_config_str(config, "actor");
    if (a && *a)
        return a;
    a = getenv("USER");
    return a && *a ? a : "unknown";
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
