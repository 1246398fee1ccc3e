/*  The fleetcost command's subcommands. Each takes argv with argv[0] = its name and
    returns the process exit status. */
#ifndef FC_COMMANDS_H
#define FC_COMMANDS_H

int cmd_migrate(int argc, char **argv);
int cmd_retention(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
