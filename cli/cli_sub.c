/*  cli_sub: the dispatch of subcommands (cli_sub.h). */
#include "cli_sub.h"

#include <stdio.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"

static const cli_sub_t *s_find(const cli_cmd_t *cmd, fc_config_t *cfg)
{
    int argc = fc_config_argc(cfg);
    const char *word = argc > 0 ? fc_config_argv(cfg)[0] : "";
    if (cmd->word_alone && argc != 1)
        word = "";
    for (size_t i = 0; i < cmd->nsubs; i++) {
        const cli_sub_t *s = &cmd->subs[i];
        if (!s->word)
            return s;
        if (strcmp(s->word, word) == 0 && argc >= 1 + s->args)
            return s;
    }
    return NULL;
}

int cli_sub_main(const cli_cmd_t *cmd, int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, cmd->options, NULL};
    int rc;
    fc_config_t *cfg = fc_config_load(cmd->program, cmd->summary, tables, argc, argv,
                                      cmd->one_positional, cmd->one_positional ? 1 : -1, &rc);
    if (!cfg)
        return rc;
    const cli_sub_t *sub = s_find(cmd, cfg);
    PGconn *pg = NULL;
    if (!sub) {
        if (cmd->usage_logged)
            fc_error(cmd->module, "%s", cmd->usage);
        else
            fputs(cmd->usage, stderr);
        rc = 2;
    } else if (sub->check && (rc = sub->check(cfg)) != 0)
        ;
    else if (!(pg = fc_pg_connect(fc_config_str(cfg, "pg-url"), cmd->module)))
        rc = cmd->connect_failed ? cmd->connect_failed : 1;
    else
        rc = sub->run(cfg, pg);
    if (pg)
        PQfinish(pg);
    fc_config_destroy(&cfg);
    return rc;
}
