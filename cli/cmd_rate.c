/*  fleetcost rate: contract rate cards per tenant (docs/RECONCILE.md §4).

    rate set --tenant T --from WHEN [--bp N] [--override FAMILY=N[,FAMILY=N...]]
             [--monthly-fee USD] [--note TEXT] [--no-restate]
    rate list [--tenant T]          the versions in force now (or open in the future)
    rate history --tenant T         every version of the tenant, superseded ones too
    rate end --tenant T --at WHEN [--no-restate]

    bp is the signed adjustment of list cost in basis points: -1500 = 15 % off, +1000 =
    10 % markup. An override replaces it for the model families it matches (fc_rate.h).
    WHEN is a date (midnight UTC) or an RFC 3339 instant.

    Versions are never edited: set adds a version from WHEN and closes every earlier one
    still in force at WHEN (its effective_to becomes WHEN); end closes the version in
    force at WHEN. A new version may not start before the latest one starts. Each change
    is an audit_log row in the same transaction. When WHEN is in the past, the events
    from WHEN's UTC day to today are restated (cmd_price_restate, as `reprice` does):
    billed costs recomputed, a restatement row, rollups and Redis brought back in line.
    ingest picks a change up within 10 s (its reload interval); a card that starts
    sooner than that leaves events of those seconds at the old card until restated:
    `rate set` restates up to today whenever WHEN is in the past, and `reprice --tenant T`
    restates again later. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_sub.h"
#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_rate.h"
#include "fc_time.h"

#define MODULE "rate"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "the tenant"},
    {"from", FC_OPT_STR, "", 0, 0, false, "set: start (YYYY-MM-DD = midnight UTC, or RFC 3339)"},
    {"at", FC_OPT_STR, "", 0, 0, false, "end: the instant the version in force stops"},
    {"bp", FC_OPT_INT, "0", FC_RATE_BP_MIN, FC_RATE_BP_MAX, false,
     "signed basis points of list: -1500 = 15% off, 1000 = 10% markup"},
    {"override", FC_OPT_STR, "", 0, 0, false,
     "per model family, replacing --bp: FAMILY=BP[,FAMILY=BP...] (e.g. opus=-2000)"},
    {"monthly-fee", FC_OPT_STR, "0", 0, 0, false, "flat fee per tenant-local month, USD"},
    {"note", FC_OPT_STR, "", 0, 0, false, "why (kept with the version)"},
    {"no-restate", FC_OPT_BOOL, "false", 0, 0, false,
     "do not restate events already stored (they keep the old billed cost)"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

//  Parses WHEN into a timestamptz literal (RFC 3339, µs) and its UTC date.
static int s_when(const char *text, const char *what, char lit[FC_TIME_SIZE],
                  char date[FC_DATE_SIZE], int64_t *us)
{
    if (!*text || fc_time_parse(text, us) != 0) {
        fprintf(stderr, "rate: --%s: a date (YYYY-MM-DD) or an RFC 3339 instant is required\n",
                what);
        return -1;
    }
    fc_time_format(*us, 6, lit, FC_TIME_SIZE);
    int64_t days = *us >= 0 ? *us / 86400000000 : -((-*us + 86399999999) / 86400000000);
    fc_date_format(days, date);
    return 0;
}

//  Restates the tenant's events from date to today (UTC) when that window has begun.
static int s_restate(fc_config_t *cfg, PGconn *pg, const char *tenant, const char *date,
                     int64_t from_us, const char *reason)
{
    int64_t now = fc_time_now_us();
    if (fc_config_bool(cfg, "no-restate") || from_us > now)
        return 0;
    char today[FC_DATE_SIZE];
    fc_date_format(now / 86400000000, today);
    return cmd_price_restate(cfg, pg, date, today, tenant, reason);
}

static int s_set(fc_config_t *cfg, PGconn *pg)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    char from[FC_TIME_SIZE], date[FC_DATE_SIZE];
    int64_t from_us;
    if (!fc_tenant_valid(tenant)) {
        fprintf(stderr, "rate set: --tenant is required (a registered tenant id)\n");
        return 2;
    }
    if (s_when(fc_config_str(cfg, "from"), "from", from, date, &from_us) != 0)
        return 2;
    //  The card as it will be, checked by the same rules ingest loads it with.
    fc_rate_card_t card;
    memset(&card, 0, sizeof card);
    snprintf(card.tenant, sizeof card.tenant, "%s", tenant);
    card.version = 1;
    card.from_us = from_us;
    card.to_us = FC_RATE_OPEN;
    card.bp = (int32_t)fc_config_int(cfg, "bp");
    if (fc_money_parse(fc_config_str(cfg, "monthly-fee"), &card.monthly_fee_nusd) != 0) {
        fprintf(stderr, "rate set: --monthly-fee: USD, e.g. 250 or 99.50\n");
        return 2;
    }
    char list[FC_RATE_MAX_OVERRIDE * (FC_RATE_FAMILY_MAX + 12)];
    snprintf(list, sizeof list, "%s", fc_config_str(cfg, "override"));
    char *save = NULL;
    for (char *o = strtok_r(list, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
        if (card.noverrides == FC_RATE_MAX_OVERRIDE ||
            fc_rate_override_parse(o, &card.overrides[card.noverrides++]) != 0) {
            fprintf(stderr,
                    "rate set: --override %s: FAMILY=BP, family [a-z0-9.-], bp %d..%d,"
                    " at most %d\n",
                    o, FC_RATE_BP_MIN, FC_RATE_BP_MAX, FC_RATE_MAX_OVERRIDE);
            return 2;
        }
    }
    const char *why = fc_rate_card_invalid(&card);
    if (why) {
        fprintf(stderr, "rate set: %s\n", why);
        return 2;
    }
    char bp[16], fee[24];
    snprintf(bp, sizeof bp, "%d", card.bp);
    snprintf(fee, sizeof fee, "%" PRId64, card.monthly_fee_nusd);
    const char *note = fc_config_str(cfg, "note");
    const char *p[6] = {tenant, from, bp, fee, *note ? note : NULL, cmd_actor(cfg)};
    if (fc_pg_exec(pg, MODULE, "begin", "BEGIN") != 0)
        return 1;
    //  The tenant's row serialises two changes of its cards.
    PGresult *r = fc_pg_query(pg, MODULE, "lock tenant",
                              "SELECT coalesce((SELECT max(version) FROM rate_cards"
                              "  WHERE tenant_id = $1), 0) + 1,"
                              " coalesce((SELECT max(effective_from) <= $2::timestamptz"
                              "  FROM rate_cards WHERE tenant_id = $1), true)"
                              " FROM tenants WHERE tenant_id = $1 FOR UPDATE",
                              2, p);
    if (!r)
        goto fail;
    if (PQntuples(r) == 0 || PQgetvalue(r, 0, 1)[0] != 't') {
        fprintf(stderr, "rate set: %s\n",
                PQntuples(r) == 0 ? "unknown tenant (register it with `fleetcost tenant set`)"
                                  : "a new version may not start before the latest one starts");
        PQclear(r);
        fc_pg_rollback(pg);
        return 2;
    }
    char version[16];
    snprintf(version, sizeof version, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    const char *pc[2] = {tenant, from};
    r = fc_pg_query(pg, MODULE, "close previous",
                    "UPDATE rate_cards SET effective_to = $2::timestamptz WHERE tenant_id = $1"
                    " AND coalesce(effective_to, 'infinity') > $2::timestamptz",
                    2, pc);
    if (!r)
        goto fail;
    PQclear(r);
    const char *pi[7] = {tenant, version, from, bp, fee, p[4], p[5]};
    r = fc_pg_query(pg, MODULE, "insert",
                    "INSERT INTO rate_cards (tenant_id, version, effective_from, bp,"
                    " monthly_fee_nusd, note, created_by)"
                    " VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7)",
                    7, pi);
    if (!r)
        goto fail;
    PQclear(r);
    for (int i = 0; i < card.noverrides; i++) {
        char obp[16];
        snprintf(obp, sizeof obp, "%d", card.overrides[i].bp);
        const char *po[4] = {tenant, version, card.overrides[i].family, obp};
        r = fc_pg_query(pg, MODULE, "override",
                        "INSERT INTO rate_card_overrides (tenant_id, version, family, bp)"
                        " VALUES ($1, $2, $3, $4)",
                        4, po);
        if (!r)
            goto fail;
        PQclear(r);
    }
    const char *pa[3] = {tenant, version, cmd_actor(cfg)};
    r = fc_pg_query(pg, MODULE, "audit",
                    "INSERT INTO audit_log (actor, action, object, after)"
                    " SELECT $3, 'rate.set', c.tenant_id || '@' || c.version,"
                    " to_jsonb(c) || jsonb_build_object('overrides', coalesce((SELECT"
                    "  jsonb_object_agg(o.family, o.bp) FROM rate_card_overrides o"
                    "  WHERE o.tenant_id = c.tenant_id AND o.version = c.version), '{}'))"
                    " FROM rate_cards c WHERE c.tenant_id = $1 AND c.version = $2::int",
                    3, pa);
    if (!r)
        goto fail;
    PQclear(r);
    if (fc_pg_exec(pg, MODULE, "commit", "COMMIT") != 0)
        return 1;
    printf("rate: %s version %s from %s: %+d bp, %d override(s), monthly fee %" PRId64
           " nano-USD\n",
           tenant, version, from, card.bp, card.noverrides, card.monthly_fee_nusd);
    return s_restate(cfg, pg, tenant, date, from_us, "rate.set");
fail:
    fc_pg_rollback(pg);
    return 1;
}

static int s_end(fc_config_t *cfg, PGconn *pg)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    char at[FC_TIME_SIZE], date[FC_DATE_SIZE];
    int64_t at_us;
    if (!fc_tenant_valid(tenant)) {
        fprintf(stderr, "rate end: --tenant is required\n");
        return 2;
    }
    if (s_when(fc_config_str(cfg, "at"), "at", at, date, &at_us) != 0)
        return 2;
    const char *p[3] = {tenant, at, cmd_actor(cfg)};
    PGresult *r = fc_pg_query(
        pg, MODULE, "end",
        "WITH b AS (SELECT * FROM rate_cards WHERE tenant_id = $1"
        "  AND effective_from <= $2::timestamptz"
        "  AND coalesce(effective_to, 'infinity') > $2::timestamptz FOR UPDATE),"
        " e AS (UPDATE rate_cards c SET effective_to = $2::timestamptz FROM b"
        "  WHERE c.tenant_id = b.tenant_id AND c.version = b.version RETURNING c.*)"
        " INSERT INTO audit_log (actor, action, object, before, after)"
        " SELECT $3, 'rate.end', e.tenant_id || '@' || e.version, to_jsonb(b), to_jsonb(e)"
        " FROM e JOIN b USING (tenant_id, version) RETURNING object",
        3, p);
    if (!r)
        return 1;
    int n = PQntuples(r);
    if (n)
        printf("rate: %s ends at %s\n", PQgetvalue(r, 0, 0), at);
    PQclear(r);
    if (!n) {
        fprintf(stderr, "rate end: %s has no rate card in force at %s\n", tenant, at);
        return 1;
    }
    return s_restate(cfg, pg, tenant, date, at_us, "rate.end");
}

//  list (in force now or later) and history (every version), as a table.
static int s_list(fc_config_t *cfg, PGconn *pg, bool history)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    if (history && !fc_tenant_valid(tenant)) {
        fprintf(stderr, "rate history: --tenant is required\n");
        return 2;
    }
    const char *p[2] = {*tenant ? tenant : NULL, history ? "t" : "f"};
    PGresult *r = fc_pg_query(
        pg, MODULE, "list",
        "SELECT c.tenant_id, c.version, to_char(c.effective_from AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(c.effective_to AT TIME ZONE 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'), c.bp, c.monthly_fee_nusd,"
        " coalesce(string_agg(o.family || '=' || o.bp, ',' ORDER BY o.family), ''),"
        " coalesce(c.note, ''), coalesce(c.created_by, '')"
        " FROM rate_cards c LEFT JOIN rate_card_overrides o USING (tenant_id, version)"
        " WHERE ($1::text IS NULL OR c.tenant_id = $1)"
        " AND ($2::boolean OR coalesce(c.effective_to, 'infinity') > now()"
        "  AND c.effective_to IS DISTINCT FROM c.effective_from)"
        " GROUP BY c.tenant_id, c.version ORDER BY c.tenant_id, c.effective_from, c.version",
        2, p);
    if (!r)
        return 1;
    printf("%-16s %7s %-20s %-20s %7s %16s  %s\n", "tenant", "version", "from", "to", "bp",
           "monthly_fee_usd", "overrides");
    for (int i = 0; i < PQntuples(r); i++) {
        char fee[FC_MONEY_BUFSIZE];
        fc_money_format(fc_pg_int(r, i, 5), fee, sizeof fee, 2);
        printf("%-16s %7s %-20s %-20s %+7d %16s  %s%s%s\n", PQgetvalue(r, i, 0),
               PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
               (int)fc_pg_int(r, i, 4), fee, PQgetvalue(r, i, 6),
               *PQgetvalue(r, i, 7) ? "  # " : "", PQgetvalue(r, i, 7));
    }
    PQclear(r);
    return 0;
}

static int s_list_run(fc_config_t *cfg, PGconn *pg)
{
    return s_list(cfg, pg, false);
}

static int s_history_run(fc_config_t *cfg, PGconn *pg)
{
    return s_list(cfg, pg, true);
}

int cmd_rate(int argc, char **argv)
{
    static const cli_sub_t subs[] = {{"set", 0, NULL, s_set},
                                     {"list", 0, NULL, s_list_run},
                                     {"history", 0, NULL, s_history_run},
                                     {"end", 0, NULL, s_end}};
    static const cli_cmd_t cmd = {.program = "fleetcost rate",
                                  .summary = "set | list | history | end",
                                  .module = MODULE,
                                  .options = s_options,
                                  .one_positional = true,
                                  CLI_SUBS(subs),
                                  .usage =
                                      "fleetcost rate: set | list | history | end (see --help)\n"};
    return cli_sub_main(&cmd, argc, argv);
}
