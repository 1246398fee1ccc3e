/*  fleetcost migrate: applies the migrations embedded in this binary, then makes sure
    the daily event partitions exist from a week back to two weeks ahead. Idempotent and
    safe to run from a daily cron (that is what keeps partitions ahead of time). */
#include <stdio.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_migrate.h"
#include "fc_pg.h"

#define MODULE "migrate"

//  Days of event partitions kept in place behind and ahead of today (UTC).
#define S_PARTITIONS_BACK  7
#define S_PARTITIONS_AHEAD 14

static const fc_option_t s_options[] = {
    {"dry-run", FC_OPT_BOOL, "false", 0, 0, false, "list pending migrations, change nothing"},
    FC_OPT_END};

static void s_print(const fc_migration_t *m, bool dry_run, void *arg)
{
    printf("migrate: %s %s\n", dry_run ? "pending" : "applied", m->name);
    fflush(stdout);
}

int cmd_migrate(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *config =
        fc_config_load("fleetcost migrate", "apply database migrations (idempotent)", tables, argc,
                       argv, 0, 0, &rc);
    if (!config)
        return rc;
    bool dry_run = fc_config_bool(config, "dry-run");
    PGconn *conn = fc_pg_connect(fc_config_str(config, "pg-url"), MODULE);
    fc_config_destroy(&config);
    if (!conn)
        return 1;

    fc_migrate_result_t result;
    rc = fc_migrate_run(conn, fc_migrations, fc_migrations_count, dry_run, s_print, NULL, &result);
    if (rc == 0 && !dry_run) {
        int created = fc_migrate_partitions(conn, S_PARTITIONS_BACK, S_PARTITIONS_AHEAD);
        if (created < 0)
            rc = -1;
        else if (created > 0)
            printf("migrate: created %d event partition%s\n", created, created == 1 ? "" : "s");
    }
    PQfinish(conn);
    if (rc == FC_MIGRATE_CHANGED) {
        fprintf(stderr, "migrate: refused: an applied migration was changed (see above)\n");
        return 3;
    }
    if (rc != 0) {
        printf("migrate: failed: %d applied, %d pending\n", result.applied, result.pending);
        return 1;
    }
    if (result.applied == 0 && result.pending == 0)
        printf("migrate: up to date\n");
    else
        printf("migrate: %d applied, %d pending\n", result.applied, result.pending);
    return 0;
}
