/*  alerter: the evaluation loop (see alerter.h). */
#include "alerter.h"

#include <czmq.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alerter_rules.h"
#include "alerter_store.h"
#include "fc_summary.h"
#include "fc_curve.h"
#include "fc_log.h"
#include "fc_metrics.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fc_time.h"

#define MODULE "alerter"

//  Bounds on per-tenant work in one evaluation.
#define S_MAX_OPEN   256
#define S_MAX_AGENTS 1000
//  Time a loop turn may spend on the Postgres re-evaluation before it reads summaries.
#define S_SLICE_US 20000

typedef struct {
    char name[FC_MAX_TENANT + 1];
    int64_t last_event_us; //  newest event seen (summaries' as_of, Postgres)
    int64_t month_events;  //  from the last summary, to notice activity without as_of
    int64_t next_slow_us;  //  monotonic: next runaway / agent-type / unpriced check
    int64_t next_nodata_check_us;
    bool nodata_fired;
} s_tenant_t;

struct _alerter_t {
    alerter_config_t c;
    zsock_t *sub, *pub;
    PGconn *pg;
    int64_t pg_retry_us;
    alerter_deliver_t *deliver;
    zhashx_t *tenants; //  name -> s_tenant_t
    char (*round)[FC_MAX_TENANT + 1];
    int round_n, round_i; //  the Postgres re-evaluation in progress
    int64_t next_round_us, next_tick_us;
    int64_t clock_offset_us;
    fc_metrics_t *metrics;
    fc_metric_t *m_evaluations, *m_fired, *m_resolved, *m_pg_errors;
};

//  Figures an evaluation works from.
typedef struct {
    const char *tenant;
    const alerter_period_t *period;
    int64_t day_nusd, month_nusd;               //  list cost; s_evaluate: as the budget watches
    int64_t day_billed_nusd, month_billed_nusd; //  under the tenant's rate card
    bool has_day, has_month;                    //  the figures are for the current day / month
    int64_t unpriced_hint; //  unpriced events reported today (-1: unknown, ask)
    bool authoritative;    //  Postgres figures: may resolve
    bool slow;             //  run the raw-event checks
} s_eval_t;

static int64_t s_now_us(alerter_t *self)
{
    return fc_time_now_us() + self->clock_offset_us;
}

static void s_usd(int64_t nusd, char *buf, size_t size)
{
    buf[0] = '$';
    fc_money_format(nusd, buf + 1, size - 1, 2);
}

//  fc_pg_query on the evaluation connection, counting failures.
static PGresult *s_query(alerter_t *self, const char *what, const char *sql, int n,
                         const char *const *params)
{
    PGresult *r = fc_pg_query(self->pg, MODULE, what, sql, n, params);
    if (!r)
        fc_metric_add(self->m_pg_errors, 1);
    return r;
}

//  Passes an alerter_store result through, counting failures (-1).
static int s_stored(alerter_t *self, int rc)
{
    if (rc < 0)
        fc_metric_add(self->m_pg_errors, 1);
    return rc;
}

static s_tenant_t *s_tenant(alerter_t *self, const char *name)
{
    s_tenant_t *t = zhashx_lookup(self->tenants, name);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t)
            return NULL;
        snprintf(t->name, sizeof t->name, "%s", name);
        zhashx_insert(self->tenants, name, t);
    }
    return t;
}

static bool s_pg_ready(alerter_t *self)
{
    if (self->pg && PQstatus(self->pg) == CONNECTION_OK)
        return true;
    if (fc_time_mono_us() < self->pg_retry_us)
        return false;
    if (self->pg)
        PQfinish(self->pg);
    self->pg = fc_pg_connect(self->c.pg_url, MODULE);
    self->pg_retry_us = fc_time_mono_us() + 1000000;
    if (!self->pg)
        fc_metric_add(self->m_pg_errors, 1);
    return self->pg != NULL;
}

//  Publishes the alert on alert.<tenant> (PROTOCOL §12) and wakes delivery.
static void s_announce(alerter_t *self, const char *tenant, const alerter_alert_t *a, int64_t id,
                       const char *state, int64_t ts_us)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 13);
#define KEY(s) msgpack_pack_str_with_body(&pk, s, strlen(s))
    KEY("v");
    msgpack_pack_uint32(&pk, 1);
    KEY("id");
    msgpack_pack_int64(&pk, id);
    KEY("tenant");
    KEY(tenant);
    KEY("kind");
    KEY(a->kind);
    KEY("scope");
    KEY(a->scope);
    KEY("period");
    KEY(a->period);
    KEY("subject");
    KEY(a->subject);
    KEY("threshold");
    msgpack_pack_int32(&pk, a->threshold);
    KEY("value");
    if (a->has_value)
        msgpack_pack_int64(&pk, a->value_nusd);
    else
        msgpack_pack_nil(&pk);
    KEY("budget");
    if (a->has_budget)
        msgpack_pack_int64(&pk, a->budget_nusd);
    else
        msgpack_pack_nil(&pk);
    KEY("state");
    KEY(state);
    KEY("ts");
    msgpack_pack_int64(&pk, ts_us);
    KEY("text");
    msgpack_pack_str_with_body(&pk, a->text, strnlen(a->text, FC_MAX_TEXT));
#undef KEY
    if (sb.data) {
        //  Grant waiting subscriptions first, so a subscriber that connected a moment
        //  ago is not missed for want of a poll turn.
        fc_curve_pub_process(fc_service_curve(), self->pub);
        fc_curve_publish(self->pub, "alert", tenant, sb.data, sb.size);
    }
    msgpack_sbuffer_destroy(&sb);
    alerter_deliver_wake(self->deliver);
    fc_info(MODULE, "alert %s/%" PRId64 " %s: %s", tenant, id, state, a->text);
}

static void s_fire(alerter_t *self, const char *tenant, const alerter_alert_t *a)
{
    int64_t id, ts;
    if (s_stored(self, alerter_store_fire(self->pg, tenant, a, &id, &ts)) == 1) {
        fc_metric_add(self->m_fired, 1);
        s_announce(self, tenant, a, id, "fired", ts);
    }
}

static void s_resolve(alerter_t *self, const char *tenant, const alerter_open_t *o, const char *why)
{
    char text[FC_MAX_TEXT + 1];
    if (strcmp(o->kind, "threshold") == 0)
        snprintf(text, sizeof text, "fleetcost: resolved: %s %s%s%s budget %d%% for %s: %s", tenant,
                 o->scope, o->subject[0] ? " " : "", o->subject, o->threshold, o->period, why);
    else
        snprintf(text, sizeof text, "fleetcost: resolved: %s %s alert (%s %s%s%s): %s", tenant,
                 o->kind, o->scope, o->period, o->subject[0] ? " " : "", o->subject, why);
    alerter_alert_t a = {.kind = o->kind,
                         .scope = o->scope,
                         .period = o->period,
                         .subject = o->subject,
                         .threshold = o->threshold,
                         .has_value = true,
                         .value_nusd = o->value_nusd,
                         .has_budget = true,
                         .budget_nusd = o->budget_nusd,
                         .text = text};
    int64_t ts;
    if (s_stored(self, alerter_store_resolve(self->pg, tenant, o->id, text, &ts)) == 1) {
        fc_metric_add(self->m_resolved, 1);
        s_announce(self, tenant, &a, o->id, "resolved", ts);
    }
}

//  Fires every threshold of budget b that value has reached.
static void s_thresholds(alerter_t *self, const char *tenant, const char *scope, const char *label,
                         const char *period, const alerter_budget_t *b, int64_t value)
{
    for (int i = 0; i < b->nthresholds; i++) {
        if (!alerter_reached(value, b->amount_nusd, b->thresholds[i]))
            continue;
        char text[FC_MAX_TEXT + 1], v[32], bud[32], pct[16];
        s_usd(value, v, sizeof v);
        s_usd(b->amount_nusd, bud, sizeof bud);
        alerter_percent_format(alerter_permille(value, b->amount_nusd), pct, sizeof pct);
        snprintf(text, sizeof text,
                 "fleetcost: %s reached %d%% of its %s%s%s budget for %s: %s of %s (%s, %s cost)",
                 tenant, b->thresholds[i], label, b->subject[0] ? " " : "", b->subject, period, v,
                 bud, pct, alerter_basis_name(b));
        alerter_alert_t a = {.kind = "threshold",
                             .scope = scope,
                             .period = period,
                             .subject = b->subject,
                             .threshold = b->thresholds[i],
                             .has_value = true,
                             .value_nusd = value,
                             .has_budget = true,
                             .budget_nusd = b->amount_nusd,
                             .text = text};
        s_fire(self, tenant, &a);
    }
}

//  Projection of the month, or -1 when there is not enough data yet.
static int64_t s_projection(alerter_t *self, const s_eval_t *e)
{
    int64_t p;
    if (alerter_forecast(e->month_nusd, e->period->month_start_us, e->period->month_end_us,
                         s_now_us(self), self->c.forecast_min_elapsed_us, self->c.forecast_min_nusd,
                         &p) != 0)
        return -1;
    return p;
}

static void s_forecast(alerter_t *self, const s_eval_t *e, const alerter_budget_t *b)
{
    int64_t p = s_projection(self, e);
    if (p < 0 || p <= b->amount_nusd || b->amount_nusd <= 0)
        return;
    char text[FC_MAX_TEXT + 1], proj[32], bud[32], mtd[32];
    s_usd(p, proj, sizeof proj);
    s_usd(b->amount_nusd, bud, sizeof bud);
    s_usd(e->month_nusd, mtd, sizeof mtd);
    const alerter_period_t *per = e->period;
    int64_t elapsed = s_now_us(self) - per->month_start_us;
    int64_t len = per->month_end_us - per->month_start_us;
    snprintf(text, sizeof text,
             "fleetcost: %s is on course to spend %s in %s, over its monthly budget of %s "
             "(%s cost; %s so far, %" PRId64 ".%" PRId64 " of %" PRId64
             " days elapsed, straight-line)",
             e->tenant, proj, per->month, bud, alerter_basis_name(b), mtd, elapsed / 86400000000,
             elapsed % 86400000000 / 8640000000, len / 86400000000);
    alerter_alert_t a = {.kind = "forecast",
                         .scope = "month",
                         .period = per->month,
                         .subject = "",
                         .threshold = 100,
                         .has_value = true,
                         .value_nusd = p,
                         .has_budget = true,
                         .budget_nusd = b->amount_nusd,
                         .text = text};
    s_fire(self, e->tenant, &a);
}

typedef struct {
    char name[ALERTER_SUBJECT_MAX + 1];
    int64_t list, billed; //  list cost and cost under the tenant's rate card
} s_spend_t;

//  name/list/billed rows of a query into out (at most max). Count, or -1.
static int s_spends(alerter_t *self, const char *what, const char *sql, int n,
                    const char *const *params, s_spend_t *out, int max)
{
    PGresult *r = s_query(self, what, sql, n, params);
    if (!r)
        return -1;
    int rows = PQntuples(r) < max ? PQntuples(r) : max;
    for (int i = 0; i < rows; i++) {
        snprintf(out[i].name, sizeof out[i].name, "%s", PQgetvalue(r, i, 0));
        out[i].list = fc_pg_int(r, i, 1);
        out[i].billed = fc_pg_int(r, i, 2);
    }
    PQclear(r);
    return rows;
}

static const s_spend_t *s_spend_find(const s_spend_t *list, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return &list[i];
    return NULL;
}

//  The spend of s that budget b watches (its basis): 0 when s is NULL.
static int64_t s_spend_of(const s_spend_t *s, const alerter_budget_t *b)
{
    return s ? alerter_budget_spend(b, s->list, s->billed) : 0;
}

//  Unpriced usage today: an operator alert naming the models.
static void s_unpriced(alerter_t *self, const s_eval_t *e)
{
    char t0[32], t1[32];
    snprintf(t0, sizeof t0, "%" PRId64, e->period->day_start_us);
    snprintf(t1, sizeof t1, "%" PRId64, e->period->day_end_us);
    const char *p[] = {e->tenant, t0, t1};
    PGresult *r =
        s_query(self, "unpriced usage",
                "SELECT count(*), coalesce(string_agg(DISTINCT coalesce(model, '?'), ', '), '')"
                " FROM events WHERE tenant_id = $1 AND unpriced"
                " AND event_time >= (timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
                " AND event_time < (timestamptz 'epoch' + $3::bigint * interval '1 microsecond')",
                3, p);
    if (!r)
        return;
    int64_t count = fc_pg_int(r, 0, 0);
    if (count > 0) {
        char text[FC_MAX_TEXT + 1];
        snprintf(text, sizeof text,
                 "fleetcost: operator: %s has %" PRId64 " unpriced event%s on %s (models: %.200s);"
                 " their cost counts as $0 until the price catalog knows them and they are "
                 "repriced",
                 e->tenant, count, count == 1 ? "" : "s", e->period->day, PQgetvalue(r, 0, 1));
        alerter_alert_t a = {.kind = "unpriced",
                             .scope = "day",
                             .period = e->period->day,
                             .subject = "",
                             .text = text};
        s_fire(self, e->tenant, &a);
    }
    PQclear(r);
}

static void s_fmt_window(int window_s, char *buf, size_t size)
{
    alerter_duration_format(window_s, buf, size);
}

//  One evaluation of a tenant from e's figures.
static void s_evaluate(alerter_t *self, const s_eval_t *in)
{
    alerter_budget_t budgets[ALERTER_MAX_BUDGETS];
    fc_metric_add(self->m_evaluations, 1);
    int nb =
        s_stored(self, alerter_store_budgets(self->pg, in->tenant, budgets, ALERTER_MAX_BUDGETS));
    if (nb < 0)
        return;
    const alerter_period_t *per = in->period;
    const alerter_budget_t *daily = alerter_budget_find(budgets, nb, ALERTER_DAILY, "");
    const alerter_budget_t *monthly = alerter_budget_find(budgets, nb, ALERTER_MONTHLY, "");
    //  From here on the day's and month's spend are the cost each budget watches: billed
    //  by default, list for a budget with basis 'list' (thresholds, forecast, resolution).
    s_eval_t basis = *in;
    basis.day_nusd = alerter_budget_spend(daily, in->day_nusd, in->day_billed_nusd);
    basis.month_nusd = alerter_budget_spend(monthly, in->month_nusd, in->month_billed_nusd);
    const s_eval_t *e = &basis;
    const alerter_budget_t *runaway = alerter_budget_find(budgets, nb, ALERTER_AGENT_RUNAWAY, "");
    if (daily && e->has_day)
        s_thresholds(self, e->tenant, "day", "daily", per->day, daily, e->day_nusd);
    if (monthly && e->has_month) {
        s_thresholds(self, e->tenant, "month", "monthly", per->month, monthly, e->month_nusd);
        s_forecast(self, e, monthly);
    }

    static s_spend_t agents[S_MAX_AGENTS], types[ALERTER_MAX_BUDGETS];
    int nagents = -1, ntypes = -1;
    if (e->slow) {
        char now[32], t0[32], t1[32], win[16];
        snprintf(now, sizeof now, "%" PRId64, s_now_us(self));
        snprintf(t0, sizeof t0, "%" PRId64, per->day_start_us);
        snprintf(t1, sizeof t1, "%" PRId64, per->day_end_us);
        if (runaway && runaway->amount_nusd > 0 && runaway->window_s > 0) {
            snprintf(win, sizeof win, "%d", runaway->window_s);
            const char *p[] = {e->tenant, now, win, runaway->list_basis ? "t" : "f"};
            //  Every event after now - window (later ones too, as always: a clock behind
            //  the events), from the one home of spend (fc_window_events, 0018) over all
            //  local days; ordered by the cost the budget watches.
            nagents = s_spends(
                self, "agent spend",
                "WITH t AS (SELECT (timestamptz 'epoch' + $2::bigint * interval '1 microsecond')"
                "                  - $3::int * interval '1 second' AS t0)"
                " SELECT e.agent_id, sum(e.cost_nusd), sum(e.billed_nusd)"
                "   FROM t CROSS JOIN LATERAL fc_window_events(ARRAY[$1], '{-infinity}',"
                "        '{infinity}', t.t0, 'infinity') e"
                "  WHERE e.agent_id IS NOT NULL AND e.event_time > t.t0"
                "  GROUP BY e.agent_id"
                "  ORDER BY CASE WHEN $4::boolean THEN sum(e.cost_nusd) ELSE sum(e.billed_nusd)"
                "           END DESC LIMIT 1000",
                4, p, agents, S_MAX_AGENTS);
            for (int i = 0; i < nagents && s_spend_of(&agents[i], runaway) > runaway->amount_nusd;
                 i++) {
                char text[FC_MAX_TEXT + 1], v[32], lim[32], w[16];
                s_usd(s_spend_of(&agents[i], runaway), v, sizeof v);
                s_usd(runaway->amount_nusd, lim, sizeof lim);
                s_fmt_window(runaway->window_s, w, sizeof w);
                snprintf(
                    text, sizeof text,
                    "fleetcost: %.63s agent %.127s spent %s in the last %s, over its runaway limit "
                    "of %s (%s cost)",
                    e->tenant, agents[i].name, v, w, lim, alerter_basis_name(runaway));
                alerter_alert_t a = {.kind = "runaway",
                                     .scope = "agent",
                                     .period = per->day,
                                     .subject = agents[i].name,
                                     .threshold = 100,
                                     .has_value = true,
                                     .value_nusd = s_spend_of(&agents[i], runaway),
                                     .has_budget = true,
                                     .budget_nusd = runaway->amount_nusd,
                                     .text = text};
                s_fire(self, e->tenant, &a);
            }
        }
        bool any_type = false;
        for (int i = 0; i < nb; i++)
            any_type |= budgets[i].scope == ALERTER_AGENT_TYPE_DAILY;
        if (any_type) {
            //  Today's events (the local day [t0, t1)) per agent type, list and billed,
            //  from the one home of spend (fc_window_events, 0018).
            const char *p[] = {e->tenant, t0, t1, per->day};
            ntypes =
                s_spends(self, "agent type spend",
                         "SELECT coalesce(e.agent_type, ''), sum(e.cost_nusd), sum(e.billed_nusd)"
                         "  FROM fc_window_events(ARRAY[$1], ARRAY[$4::date], ARRAY[$4::date],"
                         "       timestamptz 'epoch' + $2::bigint * interval '1 microsecond',"
                         "       timestamptz 'epoch' + $3::bigint * interval '1 microsecond') e"
                         " GROUP BY 1 ORDER BY 2 DESC LIMIT 64",
                         4, p, types, ALERTER_MAX_BUDGETS);
            for (int i = 0; i < nb; i++) {
                const s_spend_t *s = budgets[i].scope == ALERTER_AGENT_TYPE_DAILY && ntypes > 0
                                         ? s_spend_find(types, ntypes, budgets[i].subject)
                                         : NULL;
                if (s)
                    s_thresholds(self, e->tenant, "agent_type", "daily agent type", per->day,
                                 &budgets[i], s_spend_of(s, &budgets[i]));
            }
        }
        if (e->unpriced_hint != 0)
            s_unpriced(self, e);
    }
    if (!e->authoritative)
        return;

    //  Resolution, from Postgres figures only.
    static alerter_open_t open[S_MAX_OPEN];
    int nopen = s_stored(self, alerter_store_open(self->pg, e->tenant, NULL, open, S_MAX_OPEN));
    for (int i = 0; i < nopen; i++) {
        const alerter_open_t *o = &open[i];
        bool day_scope = strcmp(o->scope, "month") != 0 && strcmp(o->kind, "no_data") != 0;
        const char *current = day_scope ? per->day : per->month;
        char why[256], v[32], b[32];
        if (strcmp(o->kind, "no_data") == 0 || strcmp(o->kind, "reconcile") == 0)
            continue; //  resolved when data returns (s_nodata); by s_reconcile
        if (strcmp(o->period, current) != 0) {
            snprintf(why, sizeof why, "the %s is over", day_scope ? "day" : "month");
            s_resolve(self, e->tenant, o, why);
            continue;
        }
        const alerter_budget_t *bud = NULL;
        int64_t value = -1;
        if (strcmp(o->kind, "threshold") == 0 && strcmp(o->scope, "day") == 0)
            bud = daily, value = e->day_nusd;
        else if (strcmp(o->kind, "threshold") == 0 && strcmp(o->scope, "month") == 0)
            bud = monthly, value = e->month_nusd;
        else if (strcmp(o->kind, "threshold") == 0 && strcmp(o->scope, "agent_type") == 0) {
            bud = alerter_budget_find(budgets, nb, ALERTER_AGENT_TYPE_DAILY, o->subject);
            const s_spend_t *s = ntypes >= 0 ? s_spend_find(types, ntypes, o->subject) : NULL;
            value = ntypes < 0 ? -1 : s_spend_of(s, bud);
        } else if (strcmp(o->kind, "forecast") == 0) {
            bud = monthly;
            value = s_projection(self, e);
        } else if (strcmp(o->kind, "runaway") == 0) {
            bud = runaway;
            const s_spend_t *s = nagents >= 0 ? s_spend_find(agents, nagents, o->subject) : NULL;
            value = nagents < 0 ? -1 : s_spend_of(s, bud);
        } else
            continue; //  unpriced: resolved by the day ending
        if (bud && value < 0)
            continue; //  figure not known in this evaluation
        int pct = strcmp(o->kind, "threshold") == 0 ? o->threshold : 100;
        bool still = bud && (strcmp(o->kind, "threshold") == 0
                                 ? alerter_reached(value, bud->amount_nusd, pct)
                                 : value > bud->amount_nusd && bud->amount_nusd > 0);
        if (still)
            continue;
        s_usd(value < 0 ? 0 : value, v, sizeof v);
        if (bud)
            s_usd(bud->amount_nusd, b, sizeof b);
        snprintf(why, sizeof why, "%s %s is under the %s of %s",
                 strcmp(o->kind, "forecast") == 0 ? "projection" : "spend", v,
                 strcmp(o->kind, "threshold") == 0 ? "threshold" : "limit",
                 bud ? b : "(budget removed)");
        s_resolve(self, e->tenant, o, bud ? why : "the budget was removed");
    }
}

//  Tenant activity from a summary: as_of, or else a growing month event count.
static void s_activity(alerter_t *self, s_tenant_t *t, const fc_summary_t *s)
{
    int64_t seen = s->as_of_us;
    if (!seen && t->month_events && s->month_events > t->month_events)
        seen = s_now_us(self);
    if (s->month_events)
        t->month_events = s->month_events;
    if (seen > t->last_event_us)
        t->last_event_us = seen;
}

static void s_on_summary(alerter_t *self, zmsg_t *msg)
{
    char *topic = zmsg_popstr(msg);
    zframe_t *body = zmsg_pop(msg);
    fc_summary_t s;
    fc_proto_error_t err;
    if (!topic || !body || strncmp(topic, "sum.", 4) != 0)
        goto done;
    if (fc_summary_decode(zframe_data(body), zframe_size(body), &s, &err) != FC_OK) {
        fc_warn(MODULE, "summary on %.80s dropped: %s: %s", topic, err.field, err.reason);
        goto done;
    }
    //  The topic names the tenant ("sum.<tenant>."): it must agree with the body.
    char kind[FC_CURVE_MAX_TOPIC], tenant[FC_MAX_TENANT + 1];
    if (fc_curve_topic_parse(topic, strlen(topic), kind, tenant) != 0 ||
        strcmp(tenant, s.tenant) != 0)
        goto done;
    s_tenant_t *t = s_tenant(self, s.tenant);
    if (!t || !s_pg_ready(self))
        goto done;
    s_activity(self, t, &s);
    alerter_period_t per;
    if (s_stored(self, alerter_store_period(self->pg, s.tenant, s_now_us(self), &per)) != 0)
        goto done;
    int64_t mono = fc_time_mono_us();
    s_eval_t e = {.tenant = s.tenant,
                  .period = &per,
                  .day_nusd = s.day_cost_nusd,
                  .month_nusd = s.month_cost_nusd,
                  .day_billed_nusd = s.day_billed_nusd,
                  .month_billed_nusd = s.month_billed_nusd,
                  .has_day = strcmp(s.day, per.day) == 0,
                  .has_month = strcmp(s.month, per.month) == 0,
                  .unpriced_hint = strcmp(s.day, per.day) == 0 ? s.day_unpriced : 0,
                  .slow = mono >= t->next_slow_us};
    if (e.slow)
        t->next_slow_us = mono + (int64_t)self->c.slow_interval_ms * 1000;
    s_evaluate(self, &e);
done:
    zstr_free(&topic);
    zframe_destroy(&body);
}

/*  Reconciliation with the provider's bill (fleetcost reconcile, migration 0014). A UTC
    day whose newest reconciliation differs beyond the tolerance fires 'reconcile' once:
    the day is the alert's period, so cost_alerts' key makes it once per (tenant, day)
    however many runs repeat the figure. It resolves when a later run brings the day
    within tolerance, or when the day leaves the 35 days looked at. */
static void s_reconcile(alerter_t *self, const char *tenant)
{
    char tol[24], pct[8];
    snprintf(tol, sizeof tol, "%" PRId64, self->c.reconcile_tolerance_nusd);
    snprintf(pct, sizeof pct, "%d", self->c.reconcile_tolerance_pct);
    const char *p[] = {tenant, tol, pct};
    PGresult *r =
        s_query(self, "reconcile variances",
                "SELECT day::text, bill_nusd, fleetcost_nusd, diff_nusd,"
                " coalesce(token_diffs, '') FROM reconcile_latest WHERE tenant_id = $1"
                " AND day >= (now() AT TIME ZONE 'UTC')::date - 35 AND abs(diff_nusd) > $2::bigint"
                " AND status IN ('bill_higher', 'fleetcost_higher')"
                " AND abs(diff_nusd)::numeric * 100"
                "  > $3::int * greatest(bill_nusd, fleetcost_nusd)"
                " ORDER BY day LIMIT 64",
                3, p);
    if (!r)
        return;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t diff = fc_pg_int(r, i, 3);
        char bill[32], fc[32], d[32], text[FC_MAX_TEXT + 1];
        fc_money_format(fc_pg_int(r, i, 1), bill, sizeof bill, 9);
        fc_money_format(fc_pg_int(r, i, 2), fc, sizeof fc, 9);
        fc_money_format(diff < 0 ? -diff : diff, d, sizeof d, 9);
        snprintf(text, sizeof text,
                 "fleetcost: operator: the provider billed %s $%s on %s (UTC), fleetcost "
                 "computed $%s: ",
                 tenant, bill, PQgetvalue(r, i, 0), fc);
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n,
                 diff > 0 ? "$%s more on the bill; usage is reaching the provider without "
                            "reaching fleetcost (an unwatched host or agent type?)"
                          : "$%s more in fleetcost; double counting, a wrong workspace map or a "
                            "catalog price above the bill?",
                 d);
        n = strlen(text);
        if (*PQgetvalue(r, i, 4)) //  which models' tokens differ, if the usage report says
            snprintf(text + n, sizeof text - n, " Tokens, bill - fleetcost: %.200s.",
                     PQgetvalue(r, i, 4));
        alerter_alert_t a = {.kind = "reconcile",
                             .scope = "day",
                             .period = PQgetvalue(r, i, 0),
                             .subject = "",
                             .has_value = true,
                             .value_nusd = diff,
                             .text = text};
        s_fire(self, tenant, &a);
    }
    alerter_open_t open[64];
    int nopen = s_stored(self, alerter_store_open(self->pg, tenant, "reconcile", open, 64));
    for (int i = 0; i < nopen; i++) {
        bool still = false;
        for (int k = 0; k < PQntuples(r) && !still; k++)
            still = strcmp(open[i].period, PQgetvalue(r, k, 0)) == 0;
        if (!still)
            s_resolve(self, tenant, &open[i],
                      "the newest reconciliation of the day is within tolerance, or the day "
                      "is over 35 days old");
    }
    PQclear(r);
}

//  The Postgres re-evaluation of one tenant.
static void s_eval_pg(alerter_t *self, const char *tenant)
{
    alerter_period_t per;
    if (s_stored(self, alerter_store_spend(self->pg, tenant, s_now_us(self), &per)) != 0)
        return;
    s_eval_t e = {.tenant = tenant,
                  .period = &per,
                  .day_nusd = per.day_nusd,
                  .month_nusd = per.month_nusd,
                  .day_billed_nusd = per.day_billed_nusd,
                  .month_billed_nusd = per.month_billed_nusd,
                  .has_day = true,
                  .has_month = true,
                  .unpriced_hint = -1,
                  .authoritative = true,
                  .slow = true};
    s_tenant_t *t = s_tenant(self, tenant);
    if (t)
        t->next_slow_us = fc_time_mono_us() + (int64_t)self->c.slow_interval_ms * 1000;
    s_evaluate(self, &e);
    s_reconcile(self, tenant);
}

//  Starts a round of the Postgres re-evaluation: every tenant, and any tenant with an
//  open alert even if it has no tenants row.
static void s_round_start(alerter_t *self)
{
    PGresult *r = s_query(self, "tenant list",
                          "SELECT tenant_id FROM tenants UNION"
                          " SELECT DISTINCT tenant_id FROM cost_alerts WHERE state = 'fired'"
                          " ORDER BY 1",
                          0, NULL);
    if (!r)
        return;
    free(self->round);
    self->round_n = PQntuples(r);
    self->round_i = 0;
    self->round = calloc((size_t)self->round_n + 1, sizeof *self->round);
    if (!self->round)
        self->round_n = 0;
    for (int i = 0; i < self->round_n; i++)
        snprintf(self->round[i], sizeof self->round[i], "%s", PQgetvalue(r, i, 0));
    PQclear(r);
}

//  Runs the round for at most S_SLICE_US, so summaries wait at most that long.
static void s_round_step(alerter_t *self)
{
    int64_t start = fc_time_mono_us();
    if (self->round_i >= self->round_n) {
        if (start < self->next_round_us)
            return;
        self->next_round_us = start + (int64_t)self->c.eval_interval_ms * 1000;
        s_round_start(self);
    }
    while (self->round_i < self->round_n && fc_time_mono_us() - start < S_SLICE_US)
        s_eval_pg(self, self->round[self->round_i++]);
}

//  Newest event of a tenant after since_us (0 if none), from Postgres.
static int64_t s_pg_last_event(alerter_t *self, const char *tenant, int64_t since_us)
{
    char since[32];
    snprintf(since, sizeof since, "%" PRId64, since_us);
    const char *p[] = {tenant, since};
    PGresult *r = s_query(self, "last event",
                          "SELECT (extract(epoch FROM max(event_time)) * 1000000)::bigint"
                          " FROM events WHERE tenant_id = $1 AND event_time > (timestamptz"
                          " 'epoch' + $2::bigint * interval '1 microsecond')",
                          2, p);
    if (!r)
        return -1;
    int64_t v = fc_pg_int(r, 0, 0);
    PQclear(r);
    return v;
}

static void s_nodata_resolve(alerter_t *self, s_tenant_t *t)
{
    alerter_open_t open[8];
    int n = s_stored(self, alerter_store_open(self->pg, t->name, "no_data", open, 8));
    for (int i = 0; i < n; i++)
        s_resolve(self, t->name, &open[i], "events are arriving again");
    if (n >= 0)
        t->nodata_fired = false;
}

/*  Silence. A tenant whose newest event is older than silence_s, but younger than the
    activity window (it was active and stopped), raises no_data once per silence: the
    period key is the time of the last event, so the next silence is a new alert. Before
    firing, Postgres is asked for anything newer (the summary carrying it may have been
    dropped). Data arriving again resolves it. */
static void s_nodata(alerter_t *self)
{
    int64_t now = s_now_us(self), mono = fc_time_mono_us();
    int64_t silence = (int64_t)self->c.silence_s * 1000000;
    int64_t window = (int64_t)self->c.activity_window_s * 1000000;
    for (s_tenant_t *t = zhashx_first(self->tenants); t; t = zhashx_next(self->tenants)) {
        if (t->nodata_fired && now - t->last_event_us < silence) {
            s_nodata_resolve(self, t);
            continue;
        }
        if (!t->last_event_us || now - t->last_event_us < silence ||
            now - t->last_event_us > window || mono < t->next_nodata_check_us)
            continue;
        t->next_nodata_check_us = mono + (int64_t)self->c.slow_interval_ms * 1000;
        int64_t newer = s_pg_last_event(self, t->name, t->last_event_us);
        if (newer < 0)
            continue;
        if (newer > t->last_event_us) {
            t->last_event_us = newer;
            continue;
        }
        if (t->nodata_fired)
            continue;
        char last[32], period[32], text[FC_MAX_TEXT + 1], dur[16];
        fc_time_format(t->last_event_us, 0, last, sizeof last);
        snprintf(period, sizeof period, "%s", last);
        alerter_duration_format(self->c.silence_s, dur, sizeof dur);
        snprintf(text, sizeof text,
                 "fleetcost: %s: no events for over %s (last at %s) from agents that were "
                 "active; a host or its sidecar may be down, and its cost is not being seen",
                 t->name, dur, last);
        alerter_alert_t a = {
            .kind = "no_data", .scope = "tenant", .period = period, .subject = "", .text = text};
        s_fire(self, t->name, &a);
        t->nodata_fired = true;
    }
}

//  Who was active recently, and who is already silent, from Postgres (at start).
static void s_load_activity(alerter_t *self)
{
    char since[32];
    snprintf(since, sizeof since, "%" PRId64,
             s_now_us(self) - (int64_t)self->c.activity_window_s * 1000000);
    const char *p[] = {since};
    PGresult *r = s_query(self, "recent activity",
                          "SELECT tenant_id, (extract(epoch FROM max(event_time)) * 1000000)"
                          "::bigint FROM events WHERE event_time > (timestamptz 'epoch' +"
                          " $1::bigint * interval '1 microsecond') GROUP BY tenant_id",
                          1, p);
    for (int i = 0; r && i < PQntuples(r); i++) {
        s_tenant_t *t = s_tenant(self, PQgetvalue(r, i, 0));
        if (t)
            t->last_event_us = fc_pg_int(r, i, 1);
    }
    PQclear(r);
    r = s_query(self, "open no_data alerts",
                "SELECT DISTINCT tenant_id FROM cost_alerts"
                " WHERE kind = 'no_data' AND state = 'fired'",
                0, NULL);
    for (int i = 0; r && i < PQntuples(r); i++) {
        s_tenant_t *t = s_tenant(self, PQgetvalue(r, i, 0));
        if (t)
            t->nodata_fired = true;
    }
    PQclear(r);
}

static void s_tenant_free(void **item)
{
    free(*item);
    *item = NULL;
}

alerter_t *alerter_new(const alerter_config_t *config)
{
    alerter_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->c = *config;
#ifdef FC_TESTING
    if (config->clock_us) {
        self->clock_offset_us = config->clock_us - fc_time_now_us();
        fc_warn(MODULE, "TESTING: the clock is set back or ahead by %" PRId64 " s",
                self->clock_offset_us / 1000000);
    }
#endif
    zsys_set_logstream(NULL);
    zsys_handler_set(NULL);
    self->tenants = zhashx_new();
    //  CurveZMQ: the SUB authenticates with the service's operator identity; alerts go
    //  out on an XPUB that grants each subscription per certificate.
    fc_curve_t *curve = fc_service_curve();
    self->sub = zsock_new(ZMQ_SUB);
    self->pub = zsock_new(ZMQ_XPUB);
    if (!self->tenants || !self->sub || !self->pub || !curve ||
        fc_curve_client(curve, self->sub) != 0 || fc_curve_pub_setup(curve, self->pub) != 0)
        goto fail;
    zhashx_set_destructor(self->tenants, s_tenant_free);
    zsock_set_maxmsgsize(self->sub, FC_SUMMARY_MAX);
    zsock_set_rcvhwm(self->sub, 100000);
    zsock_set_subscribe(self->sub, "sum.");
    zsock_set_linger(self->pub, 1000);
    if (fc_service_attach(self->sub, config->aggregator_pub, false, MODULE) != 0 ||
        fc_service_attach(self->pub, config->bind, true, MODULE) != 0)
        goto fail;
    self->metrics = fc_metrics_new("fleetcost_alerter");
    if (!self->metrics)
        goto fail;
    fc_metrics_t *m = self->metrics;
    self->m_evaluations = fc_metrics_add(m, "evaluations_total", FC_METRIC_COUNTER,
                                         "tenant evaluations (a summary or the Postgres round)");
    self->m_fired = fc_metrics_add(m, "alerts_fired_total", FC_METRIC_COUNTER, "alerts fired");
    self->m_resolved =
        fc_metrics_add(m, "alerts_resolved_total", FC_METRIC_COUNTER, "alerts resolved");
    self->m_pg_errors =
        fc_metrics_add(m, "pg_errors_total", FC_METRIC_COUNTER, "postgres failures");
    alerter_deliver_config_t deliver = config->deliver;
    deliver.metrics = m;
    deliver.pg_errors = self->m_pg_errors;
    self->deliver = alerter_deliver_new(&deliver);
    if (!self->deliver)
        goto fail;
    //  After the delivery thread registered its counters: the registry is fixed now.
    if (fc_metrics_serve(m, config->metrics_bind, config->metrics_port) != 0) {
        fc_error(MODULE, "cannot serve /metrics on %s:%d", config->metrics_bind,
                 config->metrics_port);
        goto fail;
    }
    fc_info(MODULE, "subscribed to %s, publishing alerts on %s, metrics on :%d",
            config->aggregator_pub, config->bind, config->metrics_port);
    return self;
fail:
    alerter_destroy(&self);
    return NULL;
}

int alerter_run(alerter_t *self)
{
    zmq_pollitem_t items[] = {{zsock_resolve(self->sub), 0, ZMQ_POLLIN, 0},
                              {NULL, fc_signal_fd(), ZMQ_POLLIN, 0},
                              {zsock_resolve(self->pub), 0, ZMQ_POLLIN, 0}};
    bool loaded = false;
    while (!fc_signal_stopping()) {
        int64_t mono = fc_time_mono_us();
        int64_t wait_ms = 200;
        if (self->round_i < self->round_n)
            wait_ms = 0;
        zmq_poll(items, 3, (long)wait_ms);
        if (items[2].revents & ZMQ_POLLIN)
            fc_curve_pub_process(fc_service_curve(), self->pub);
        //  Summaries first, a bounded number per turn.
        for (int i = 0; i < 1000 && (zsock_events(self->sub) & ZMQ_POLLIN); i++) {
            zmsg_t *m = zmsg_recv(self->sub);
            if (!m)
                break;
            s_on_summary(self, m);
            zmsg_destroy(&m);
        }
        if (!s_pg_ready(self))
            continue;
        if (!loaded) {
            s_load_activity(self);
            loaded = true;
        }
        s_round_step(self);
        if (mono >= self->next_tick_us) {
            self->next_tick_us = mono + 1000000;
            s_nodata(self);
        }
    }
    return 0;
}

void alerter_destroy(alerter_t **self_p)
{
    alerter_t *self = *self_p;
    if (!self)
        return;
    alerter_deliver_destroy(&self->deliver);
    fc_metrics_destroy(&self->metrics); //  after the thread that counts into it
    zsock_destroy(&self->sub);
    zsock_destroy(&self->pub);
    zhashx_destroy(&self->tenants);
    if (self->pg)
        PQfinish(self->pg);
    free(self->round);
    free(self);
    *self_p = NULL;
}
