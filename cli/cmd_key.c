/*  fleetcost key: API keys for fleetcost-reporter and ingest tokens for fleetcost-otlp.
        fleetcost key create --tenant T | --admin [--name N] [--scope api|otlp]
        fleetcost key list
        fleetcost key revoke --id KEY_ID
    create prints the key once, on stdout; only the SHA-256 of its secret is stored.
    --scope otlp makes an OTLP ingest token (sent as "Authorization: Bearer <token>");
    with --admin it is an operator token that may name any tenant. Every change is
    recorded in audit_log in the same transaction. Runs as the owner. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_sub.h"
#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_proto.h"
#include "reporter_key.h"
#include "reporter_report.h"

#define MODULE "key"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "create: the tenant the key may read"},
    {"admin", FC_OPT_BOOL, "false", 0, 0, false, "create: a key that reads every tenant"},
    {"name", FC_OPT_STR, "", 0, 0, false, "create: a label for the key"},
    {"id", FC_OPT_STR, "", 0, 0, false, "revoke: the key id (the part after fck_)"},
    {"scope", FC_OPT_STR, "api", 0, 0, false,
     "create: api (reporter API key) or otlp (fleetcost-otlp ingest token)"},
    FC_OPT_END};

static int s_create(PGconn *conn, const char *tenant, bool admin, const char *name,
                    const char *scope)
{
    char key[REPORTER_KEY_TEXT + 1], id[REPORTER_KEY_ID_HEX + 1], hash[REPORTER_HASH_HEX + 1];
    if (reporter_key_generate(key, id, hash) != 0) {
        fprintf(stderr, "key: the random generator failed\n");
        return 1;
    }
    if (fc_pg_exec(conn, MODULE, "begin", "BEGIN") != 0)
        return 1;
    const char *params[] = {id, admin ? NULL : tenant, hash, *name ? name : NULL, scope};
    PGresult *res;
    if (!admin) {
        const char *t[] = {tenant};
        res =
            fc_pg_query(conn, MODULE, "tenant", "SELECT 1 FROM tenants WHERE tenant_id = $1", 1, t);
        if (!res || PQntuples(res) == 0) {
            if (res)
                fprintf(stderr, "key: no tenant %s\n", tenant);
            PQclear(res);
            fc_pg_rollback(conn);
            return 1;
        }
        PQclear(res);
    }
    res = fc_pg_query(conn, MODULE, "insert",
                      "INSERT INTO api_keys (key_id, tenant_id, key_hash, name, scope)"
                      " VALUES ($1, $2, $3, $4, $5)",
                      5, params);
    if (!res) {
        fc_pg_rollback(conn);
        return 1;
    }
    PQclear(res);
    res = fc_pg_query(conn, MODULE, "audit",
                      "INSERT INTO audit_log (actor, action, object, after)"
                      " VALUES ('fleetcost key as ' || current_user, 'key.create', $1,"
                      "         jsonb_build_object('tenant', $2::text, 'name', $4::text,"
                      "                            'admin', $2::text IS NULL, 'scope', $5::text))"
                      " RETURNING $3::text IS NOT NULL",
                      5, params);
    if (!res || fc_pg_exec(conn, MODULE, "commit", "COMMIT") != 0) {
        PQclear(res);
        fc_pg_rollback(conn);
        return 1;
    }
    PQclear(res);
    printf("%s\n", key);
    fflush(stdout);
    fprintf(stderr, "key: created %s %s for %s%s; it is shown only this once\n",
            strcmp(scope, "otlp") == 0 ? "OTLP ingest token" : "API key", id,
            admin ? "every tenant (admin)" : "tenant ", admin ? "" : tenant);
    return 0;
}

static int s_list(PGconn *conn)
{
    PGresult *res = fc_pg_query(
        conn, MODULE, "list",
        "SELECT key_id, scope, coalesce(tenant_id, '(admin)'), coalesce(name, ''),"
        "       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "       coalesce(to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "                '')"
        "  FROM api_keys ORDER BY created_at, key_id",
        0, NULL);
    if (!res)
        return 1;
    printf("%-14s %-5s %-24s %-20s %-21s %s\n", "key_id", "scope", "tenant", "name", "created",
           "revoked");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-14s %-5s %-24s %-20s %-21s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4),
               PQgetvalue(res, i, 5));
    PQclear(res);
    return 0;
}

static int s_revoke(PGconn *conn, const char *id)
{
    const char *params[] = {id};
    if (fc_pg_exec(conn, MODULE, "begin", "BEGIN") != 0)
        return 1;
    PGresult *res = fc_pg_query(conn, MODULE, "revoke",
                                "UPDATE api_keys SET revoked_at = now()"
                                " WHERE key_id = $1 AND revoked_at IS NULL RETURNING tenant_id",
                                1, params);
    if (!res) {
        fc_pg_rollback(conn);
        return 1;
    }
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0) {
        fprintf(stderr, "key: no active key %s\n", id);
        fc_pg_rollback(conn);
        return 1;
    }
    res = fc_pg_query(conn, MODULE, "audit",
                      "INSERT INTO audit_log (actor, action, object)"
                      " VALUES ('fleetcost key as ' || current_user, 'key.revoke', $1)",
                      1, params);
    if (!res || fc_pg_exec(conn, MODULE, "commit", "COMMIT") != 0) {
        PQclear(res);
        fc_pg_rollback(conn);
        return 1;
    }
    PQclear(res);
    printf("key: revoked %s\n", id);
    return 0;
}

static int s_create_check(fc_config_t *config)
{
    const char *tenant = fc_config_str(config, "tenant"), *scope = fc_config_str(config, "scope");
    bool admin = fc_config_bool(config, "admin");
    if (admin == (*tenant != 0))
        fprintf(stderr, "key create: give exactly one of --tenant T or --admin\n");
    else if (!admin && !fc_tenant_valid(tenant))
        fprintf(stderr, "key create: --tenant: not a tenant id\n");
    else if (strcmp(scope, "api") != 0 && strcmp(scope, "otlp") != 0)
        fprintf(stderr, "key create: --scope: api or otlp\n");
    else
        return 0;
    return 2;
}

static int s_revoke_check(fc_config_t *config)
{
    const char *id = fc_config_str(config, "id");
    if (strlen(id) != REPORTER_KEY_ID_HEX || strspn(id, "0123456789abcdef") != strlen(id)) {
        fprintf(stderr, "key revoke: --id: expected the %d hex digits after fck_\n",
                REPORTER_KEY_ID_HEX);
        return 2;
    }
    return 0;
}

static int s_create_run(fc_config_t *config, PGconn *conn)
{
    return s_create(conn, fc_config_str(config, "tenant"), fc_config_bool(config, "admin"),
                    fc_config_str(config, "name"), fc_config_str(config, "scope"));
}

static int s_list_run(fc_config_t *config, PGconn *conn)
{
    (void)config;
    return s_list(conn);
}

static int s_revoke_run(fc_config_t *config, PGconn *conn)
{
    return s_revoke(conn, fc_config_str(config, "id"));
}

int cmd_key(int argc, char **argv)
{
    static const cli_sub_t subs[] = {{"create", 0, s_create_check, s_create_run},
                                     {"revoke", 0, s_revoke_check, s_revoke_run},
                                     {"list", 0, NULL, s_list_run}};
    static const cli_cmd_t cmd = {.program = "fleetcost key",
                                  .summary = "create, list, revoke API keys",
                                  .module = MODULE,
                                  .options = s_options,
                                  .word_alone = true,
                                  CLI_SUBS(subs),
                                  .usage = "usage: fleetcost key create --tenant T | --admin "
                                           "[--name N] [--scope api|otlp]\n"
                                           "       fleetcost key list\n"
                                           "       fleetcost key revoke --id KEY_ID\n"};
    return cli_sub_main(&cmd, argc, argv);
}
