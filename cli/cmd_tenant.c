/*  fleetcost tenant: register and change tenants (audited), list them.

    tenant set --tenant T [--name N] [--tz ZONE] [--billing-tier X] [--cost-centre C]
               [--webhook-url URL] [--email ADDR]
    tenant list

    Fields not given keep their value (or the default for a new tenant). The time zone
    is checked by the schema (an IANA name Postgres knows). Each change writes an
    audit_log row with the row before and after, in the same transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_sub.h"
#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_proto.h"

#define MODULE "tenant"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "tenant id ([a-z0-9][a-z0-9_-]*)"},
    {"name", FC_OPT_STR, "", 0, 0, false, "display name"},
    {"tz", FC_OPT_STR, "", 0, 0, false, "IANA time zone of the tenant's days (e.g. Europe/Berlin)"},
    {"billing-tier", FC_OPT_STR, "", 0, 0, false, "billing tier"},
    {"cost-centre", FC_OPT_STR, "", 0, 0, false, "cost centre"},
    {"webhook-url", FC_OPT_STR, "", 0, 0, FC_SECRET_WEBHOOK, "alert webhook URL"},
    {"email", FC_OPT_STR, "", 0, 0, false, "alert e-mail address"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

static const char *s_opt(fc_config_t *cfg, const char *name)
{
    const char *v = fc_config_str(cfg, name);
    return *v ? v : NULL;
}

static int s_set(fc_config_t *cfg, PGconn *pg)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    if (!*tenant) {
        fprintf(stderr, "tenant set: --tenant is required\n");
        return 2;
    }
    if (!fc_tenant_valid(tenant)) {
        fprintf(stderr, "tenant set: --tenant: expected [a-z0-9][a-z0-9_-]{0,62}\n");
        return 2;
    }
    const char *p[9] = {tenant,
                        s_opt(cfg, "name"),
                        s_opt(cfg, "tz"),
                        s_opt(cfg, "billing-tier"),
                        s_opt(cfg, "cost-centre"),
                        s_opt(cfg, "webhook-url"),
                        s_opt(cfg, "email"),
                        cmd_actor(cfg)};
    //  One statement: the old row, the upsert, and the audit row, atomically.
    PGresult *r = fc_pg_query(
        pg, MODULE, "tenant set",
        "WITH before AS (SELECT to_jsonb(t) AS row FROM tenants t WHERE tenant_id = $1),"
        " after AS (INSERT INTO tenants AS t (tenant_id, name, tz, billing_tier, cost_centre,"
        "  webhook_url, email)"
        "  VALUES ($1, coalesce($2, $1), coalesce($3, 'UTC'), coalesce($4, 'standard'), $5, $6,"
        "  $7)"
        "  ON CONFLICT (tenant_id) DO UPDATE SET name = coalesce($2, t.name),"
        "  tz = coalesce($3, t.tz), billing_tier = coalesce($4, t.billing_tier),"
        "  cost_centre = coalesce($5, t.cost_centre), webhook_url = coalesce($6, t.webhook_url),"
        "  email = coalesce($7, t.email), auto_created = false"
        "  RETURNING to_jsonb(t) AS row)"
        " INSERT INTO audit_log (actor, action, object, before, after)"
        " SELECT $8, 'tenant.set', $1, (SELECT row FROM before), row FROM after"
        " RETURNING (after)::text",
        8, p);
    if (!r)
        return 1;
    printf("tenant %s: %s\n", tenant, PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int s_list(fc_config_t *cfg, PGconn *pg)
{
    (void)cfg;
    PGresult *r = fc_pg_query(pg, MODULE, "tenant list",
                              "SELECT tenant_id, name, tz, billing_tier, coalesce(cost_centre, ''),"
                              " CASE WHEN auto_created THEN 'auto' ELSE '' END"
                              " FROM tenants ORDER BY tenant_id",
                              0, NULL);
    if (!r)
        return 1;
    printf("%-24s %-24s %-24s %-10s %-12s %s\n", "TENANT", "NAME", "TZ", "TIER", "COST CENTRE", "");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-24s %-24s %-24s %-10s %-12s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
    PQclear(r);
    return 0;
}

int cmd_tenant(int argc, char **argv)
{
    static const cli_sub_t subs[] = {{"set", 0, NULL, s_set}, {"list", 0, NULL, s_list}};
    static const cli_cmd_t cmd = {.program = "fleetcost tenant",
                                  .summary = "tenant set | tenant list",
                                  .module = MODULE,
                                  .options = s_options,
                                  CLI_SUBS(subs),
                                  .usage = "fleetcost tenant: say set or list (see --help)\n"};
    return cli_sub_main(&cmd, argc, argv);
}
