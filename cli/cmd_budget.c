/*  fleetcost budget: set, list and check budgets (the budgets table, DESIGN §4).

      budget set (--tenant T | --default) [--daily USD] [--monthly USD] [--basis billed|list]
                 [--thresholds 50,80,100] [--agent-runaway USD --window 10m]
                 [--agent-type X --daily USD] [--actor NAME]
      budget list [--tenant T]
      budget check --tenant T

    Every change is one transaction with its audit_log row (actor from --actor or
    $USER, the row before and after). The alerter reads budgets on every evaluation, so
    a change applies without a restart.

    `check` is the gate an agent lifecycle manager calls before it spawns another agent:
    it prints today's and this month's spend in the tenant's zone against the daily and
    monthly budgets (the tenant's own or the defaults) and exits 0 while both are within
    budget (spend < budget), 1 once either is reached, 2 on an error. The spend comes
    from fc_tenant_spend, the same function the alerter uses, built on the one
    definition of a period's spend that the reporter and the live stream read as well
    (fc_period_spend, migrations 0017, 0019 and 0021): closed days from rollups, open days from
    the exact open-day groups plus the events they do not cover.

    Every budget (daily, monthly, agent-type, runaway) watches billed cost (under the
    tenant's rate card, docs/RECONCILE.md §4) unless set with --basis list; `check`,
    `list` and the alerts say which. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "alerter_rules.h"
#include "cli_sub.h"
#include "alerter_store.h"
#include "commands.h"
#include "fc_config.h"
#include "fc_escape.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_time.h"

#define MODULE "budget"

static const fc_option_t s_options[] = {
    {"tenant", FC_OPT_STR, "", 0, 0, false, "tenant id"},
    {"default", FC_OPT_BOOL, "false", 0, 0, false,
     "set: the defaults for tenants without their own budget"},
    {"daily", FC_OPT_STR, "", 0, 0, false,
     "daily budget in USD (of the agent type with --agent-type)"},
    {"monthly", FC_OPT_STR, "", 0, 0, false, "monthly budget in USD"},
    {"thresholds", FC_OPT_STR, "", 0, 0, false,
     "alert levels in percent, increasing (new budgets: 50,80,100)"},
    {"agent-runaway", FC_OPT_STR, "", 0, 0, false,
     "alert when one agent spends more than this (USD) within --window"},
    {"window", FC_OPT_STR, "10m", 0, 0, false, "runaway look-back (90s, 10m, 1h)"},
    {"agent-type", FC_OPT_STR, "", 0, 0, false, "with --daily: a per-agent-type daily budget"},
    {"basis", FC_OPT_STR, "", 0, 0, false,
     "billed (the rate card's cost; new budgets) or list cost, for the budgets this sets"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who is making the change (default: $USER)"},
    FC_OPT_END};

static void s_usd(int64_t nusd, char *buf, size_t size)
{
    buf[0] = '$';
    fc_money_format(nusd, buf + 1, size - 1, 2);
}

//  Upserts one budgets row and its audit_log entry (one statement, so both or neither).
static int s_set_row(PGconn *pg, const char *tenant, const char *scope, const char *subject,
                     int64_t amount, int64_t window_s, const char *thresholds, const char *actor,
                     const char *basis)
{
    char amt[32], win[32];
    snprintf(amt, sizeof amt, "%" PRId64, amount);
    snprintf(win, sizeof win, "%" PRId64, window_s);
    const char *p[] = {tenant,     scope, subject, amt, window_s ? win : NULL,
                       thresholds, actor, basis};
    PGresult *r =
        fc_pg_query(pg, MODULE, "set budget",
                    "WITH old AS (SELECT to_jsonb(b) AS j FROM budgets b"
                    "  WHERE tenant_id = $1 AND scope = $2 AND subject = $3),"
                    " new AS (INSERT INTO budgets AS b (tenant_id, scope, subject, amount_nusd,"
                    "  window_seconds, thresholds, basis)"
                    "  VALUES ($1, $2, $3, $4::bigint, $5::int, coalesce($6::int[], '{50,80,100}'),"
                    "  coalesce($8, 'billed'))"
                    "  ON CONFLICT (tenant_id, scope, subject) DO UPDATE SET"
                    "  amount_nusd = EXCLUDED.amount_nusd, basis = coalesce($8, b.basis),"
                    "  window_seconds = coalesce($5::int, b.window_seconds),"
                    "  thresholds = coalesce($6::int[], b.thresholds), updated_at = now()"
                    "  RETURNING to_jsonb(b) AS j)"
                    " INSERT INTO audit_log (actor, action, object, before, after)"
                    " SELECT $7, 'budget.set', 'budget:' || $1 || '/' || $2 || coalesce('/' || "
                    "nullif($3, ''), ''),"
                    " (SELECT j FROM old), j FROM new",
                    8, p);
    if (!r)
        return -1;
    PQclear(r);
    char usd[32];
    s_usd(amount, usd, sizeof usd);
    char shown[4 * 256 + 1];
    printf("budget: %s %s%s%s = %s\n", strcmp(tenant, "*") == 0 ? "(default)" : tenant, scope,
           *subject ? " " : "", fc_esc_text(subject, shown, sizeof shown), usd);
    return 0;
}

static int s_amount(fc_config_t *config, const char *name, int64_t *out)
{
    const char *v = fc_config_str(config, name);
    if (!*v)
        return 0;
    if (fc_money_parse(v, out) != 0 || *out < 0) {
        fc_error(MODULE, "--%s: '%s' is not an amount of USD", name, v);
        return -1;
    }
    return 1;
}

static int s_set(PGconn *pg, fc_config_t *config, const char *tenant)
{
    int64_t daily = 0, monthly = 0, runaway = 0;
    int hd = s_amount(config, "daily", &daily), hm = s_amount(config, "monthly", &monthly);
    int hr = s_amount(config, "agent-runaway", &runaway);
    if (hd < 0 || hm < 0 || hr < 0)
        return 2;
    const char *type = fc_config_str(config, "agent-type");
    if (!hd && !hm && !hr) {
        fc_error(MODULE, "set: give --daily, --monthly and/or --agent-runaway");
        return 2;
    }
    if (*type && (hm || hr || !hd)) {
        fc_error(MODULE, "set: --agent-type takes --daily only");
        return 2;
    }
    char thr_arr[128] = "";
    const char *thr = fc_config_str(config, "thresholds");
    if (*thr) {
        int t[ALERTER_MAX_THRESHOLDS];
        if (alerter_thresholds_parse(thr, t) < 0) {
            fc_error(MODULE, "--thresholds: expected increasing percentages like 50,80,100");
            return 2;
        }
        snprintf(thr_arr, sizeof thr_arr, "{%s}", thr);
    }
    int64_t window = alerter_duration_parse(fc_config_str(config, "window"));
    if (hr && window < 0) {
        fc_error(MODULE, "--window: expected a duration like 90s, 10m, 1h");
        return 2;
    }
    const char *basis = fc_config_str(config, "basis");
    if (*basis && strcmp(basis, "billed") && strcmp(basis, "list")) {
        fc_error(MODULE, "--basis: billed or list");
        return 2;
    }
    const char *actor = cmd_actor(config);
    const char *thr_p = *thr_arr ? thr_arr : NULL;
    if (fc_pg_exec(pg, MODULE, "begin", "BEGIN") != 0)
        return 2;
    int rc = 0;
    if (hd)
        rc |= s_set_row(pg, tenant, *type ? "agent_type_daily" : "daily", type, daily, 0, thr_p,
                        actor, *basis ? basis : NULL);
    if (hm && rc == 0)
        rc |= s_set_row(pg, tenant, "monthly", "", monthly, 0, thr_p, actor, *basis ? basis : NULL);
    if (hr && rc == 0)
        rc |= s_set_row(pg, tenant, "agent_runaway", "", runaway, window, thr_p, actor,
                        *basis ? basis : NULL);
    if (rc != 0 || fc_pg_exec(pg, MODULE, "commit", "COMMIT") != 0) {
        fc_pg_rollback(pg);
        return 2;
    }
    return 0;
}

static void s_print_budget(const char *tenant, const alerter_budget_t *b)
{
    char usd[32], win[16] = "", thr[64] = "", subject[4 * sizeof b->subject];
    s_usd(b->amount_nusd, usd, sizeof usd);
    if (b->scope == ALERTER_AGENT_RUNAWAY)
        alerter_duration_format(b->window_s, win, sizeof win);
    for (int i = 0; i < b->nthresholds; i++)
        snprintf(thr + strlen(thr), sizeof thr - strlen(thr), "%s%d", i ? "," : "",
                 b->thresholds[i]);
    printf("%-20s %-17s %-20s %14s %-6s %s  %s%s\n", tenant, alerter_scope_name(b->scope),
           b->subject[0] ? fc_esc_text(b->subject, subject, sizeof subject) : "-", usd,
           *win ? win : "-", thr, alerter_basis_name(b), b->is_default ? "  (default)" : "");
}

static int s_list(PGconn *pg, const char *tenant)
{
    printf("%-20s %-17s %-20s %14s %-6s %s\n", "TENANT", "SCOPE", "SUBJECT", "AMOUNT", "WINDOW",
           "THRESHOLDS");
    if (*tenant) {
        alerter_budget_t b[ALERTER_MAX_BUDGETS];
        int n = alerter_store_budgets(pg, tenant, b, ALERTER_MAX_BUDGETS);
        if (n < 0)
            return 2;
        for (int i = 0; i < n; i++)
            s_print_budget(tenant, &b[i]);
        return 0;
    }
    PGresult *r = fc_pg_query(pg, MODULE, "list budgets",
                              "SELECT DISTINCT tenant_id FROM budgets ORDER BY 1", 0, NULL);
    if (!r)
        return 2;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *t = PQgetvalue(r, i, 0);
        alerter_budget_t b[ALERTER_MAX_BUDGETS];
        int n = alerter_store_budgets(pg, t, b, ALERTER_MAX_BUDGETS);
        for (int k = 0; k < n; k++)
            if (!b[k].is_default || strcmp(t, "*") == 0)
                s_print_budget(strcmp(t, "*") == 0 ? "(default)" : t, &b[k]);
    }
    PQclear(r);
    return 0;
}

//  One line of `check`; returns 1 when the budget is reached.
static int s_check_line(const char *what, const char *period, int64_t spend,
                        const alerter_budget_t *b)
{
    char s[32], a[32], pct[16];
    s_usd(spend, s, sizeof s);
    if (!b || b->amount_nusd <= 0) {
        printf("  %-5s %-10s %14s  (no budget)\n", what, period, s);
        return 0;
    }
    s_usd(b->amount_nusd, a, sizeof a);
    alerter_percent_format(alerter_permille(spend, b->amount_nusd), pct, sizeof pct);
    int over = alerter_reached(spend, b->amount_nusd, 100);
    printf("  %-5s %-10s %14s of %14s  %7s  %s (%s cost)%s\n", what, period, s, a, pct,
           over ? "OVER BUDGET" : "ok", alerter_basis_name(b),
           b->is_default ? " (default budget)" : "");
    return over;
}

static int s_check(PGconn *pg, const char *tenant)
{
    int64_t now_us = fc_time_now_us();
    alerter_period_t per;
    alerter_budget_t b[ALERTER_MAX_BUDGETS];
    int n = alerter_store_budgets(pg, tenant, b, ALERTER_MAX_BUDGETS);
    if (n < 0 || alerter_store_spend(pg, tenant, now_us, &per) != 0)
        return 2;
    char tz[4 * sizeof per.tz];
    printf("tenant %s (%s)\n", tenant, fc_esc_text(per.tz, tz, sizeof tz));
    const alerter_budget_t *daily = alerter_budget_find(b, n, ALERTER_DAILY, "");
    const alerter_budget_t *monthly = alerter_budget_find(b, n, ALERTER_MONTHLY, "");
    int over = s_check_line("day", per.day,
                            alerter_budget_spend(daily, per.day_nusd, per.day_billed_nusd), daily);
    over |=
        s_check_line("month", per.month,
                     alerter_budget_spend(monthly, per.month_nusd, per.month_billed_nusd), monthly);
    printf("%s\n", over ? "over budget" : "within budget");
    return over ? 1 : 0;
}

static int s_set_check(fc_config_t *config)
{
    if ((*fc_config_str(config, "tenant") != 0) == fc_config_bool(config, "default")) {
        fc_error(MODULE, "set: give exactly one of --tenant T and --default");
        return 2;
    }
    return 0;
}

static int s_check_check(fc_config_t *config)
{
    if (!*fc_config_str(config, "tenant")) {
        fc_error(MODULE, "check: --tenant is required");
        return 2;
    }
    return 0;
}

static int s_set_run(fc_config_t *config, PGconn *pg)
{
    return s_set(pg, config,
                 fc_config_bool(config, "default") ? "*" : fc_config_str(config, "tenant"));
}

static int s_list_run(fc_config_t *config, PGconn *pg)
{
    return s_list(pg, fc_config_str(config, "tenant"));
}

static int s_check_run(fc_config_t *config, PGconn *pg)
{
    return s_check(pg, fc_config_str(config, "tenant"));
}

int cmd_budget(int argc, char **argv)
{
    static const cli_sub_t subs[] = {{"set", 0, s_set_check, s_set_run},
                                     {"list", 0, NULL, s_list_run},
                                     {"check", 0, s_check_check, s_check_run}};
    //  An unreachable database is exit status 2 as well: 1 means over budget (the gate).
    static const cli_cmd_t cmd = {
        .program = "fleetcost budget",
        .summary = "budget set|list|check",
        .module = MODULE,
        .options = s_options,
        .word_alone = true,
        CLI_SUBS(subs),
        .usage = "usage: fleetcost budget set|list|check [options] (see --help)",
        .usage_logged = true,
        .connect_failed = 2};
    return cli_sub_main(&cmd, argc, argv);
}
