/*  reporter_render: writes a report model as text, CSV, JSON or HTML, and the dashboard.

    Every amount is printed from its int64 nano-USD value: exactly (nano-USD integer and
    9-decimal USD) in CSV and JSON, rounded to cents in the text and HTML tables, exactly
    again in the summary and in each chart bar's tooltip.

    List and billed cost (reporter_sums_t): CSV and JSON always carry both. Text and HTML
    show billed cost as the headline, with list cost beside it, when the two differ
    anywhere in the report (a rate card was in force: s_billed_shown); otherwise one "cost"
    figure, which is then both. Shares, charts, the dashboard's cards and its live figure
    are billed either way (billed = list without a rate card). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_time.h"
#include "reporter_reconcile.h"
#include "reporter_report.h"
#include "reporter_svg.h"

#define S_ITEMS_MAX 12 //  bars per category chart

static bool s_rows_differ(const reporter_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        if (rows->v[i].s.billed_nusd != rows->v[i].s.cost_nusd)
            return true;
    return false;
}

static bool s_tasks_differ(const reporter_task_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].s.billed_nusd != v[i].s.cost_nusd)
            return true;
    return false;
}

bool reporter_billed_whole(const reporter_report_t *r, const reporter_rows_t *rows)
{
    return !r->inday_rollups || rows == &r->days || rows == &r->tenants ||
           rows == &r->tenants_today;
}

//  True when billed cost differs from list cost anywhere in the report (where it is
//  whole): then text and HTML name billed cost as the headline, list cost beside it.
static bool s_billed_shown(const reporter_report_t *r)
{
    const reporter_rows_t *lists[] = {&r->days,      &r->agent_types,  &r->models,       &r->agents,
                                      &r->kinds,     &r->tenants,      &r->tenant_kinds, &r->speeds,
                                      &r->providers, &r->tenants_today};
    if (r->total.billed_nusd != r->total.cost_nusd || r->today.billed_nusd != r->today.cost_nusd)
        return true;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
        if (reporter_billed_whole(r, lists[i]) && s_rows_differ(lists[i]))
            return true;
    return !r->inday_rollups &&
           (s_tasks_differ(r->tasks, r->tasks_n) || s_tasks_differ(r->outliers, r->outliers_n));
}

//  The figure a chart bar or an HTML row of rows shows: billed where it is whole, else
//  list (the dashboard's breakdowns: reporter_billed_whole).
static int64_t s_shown_nusd(const reporter_report_t *r, const reporter_rows_t *rows,
                            const reporter_sums_t *s)
{
    return reporter_billed_whole(r, rows) ? s->billed_nusd : s->cost_nusd;
}

static int64_t s_prompt(const reporter_sums_t *s)
{
    return s->input + s->cache_read + s->cache_write_5m + s->cache_write_1h;
}

static void s_duration(int64_t seconds, char *buf, size_t size)
{
    if (seconds < 0) {
        snprintf(buf, size, "-");
        return;
    }
    snprintf(buf, size, "%lldh %02lldm %02llds", (long long)(seconds / 3600),
             (long long)(seconds / 60 % 60), (long long)(seconds % 60));
}

//  "tenant/agent" for all-tenant reports, "agent" for one tenant.
static void s_label(const reporter_report_t *r, const char *tenant, const char *key, char *buf,
                    size_t size)
{
    if (strcmp(r->tenant, "*") == 0)
        snprintf(buf, size, "%s/%s", tenant, key);
    else
        snprintf(buf, size, "%s", key);
}

// ---------------------------------------------------------------------------------------
// Text: read on a terminal, so every string that came from a tenant goes through
// fc_esc_text (no escape sequences, no forged lines).

//  Room for a string of n bytes escaped: at most 4 bytes of escape per byte.
#define S_ESC(n) (4 * (n) + 1)

static void s_text_rows(fc_buf_t *o, const reporter_report_t *r, const char *title, const char *col,
                        const reporter_rows_t *rows, bool two_keys)
{
    char usd[32], usd2[32], pct[48], label[2 * REPORTER_KEY_MAX];
    char shown[S_ESC(2 * REPORTER_KEY_MAX)];
    bool billed = s_billed_shown(r);
    if (billed)
        fc_buf_addf(o, "\n%s\n  %-40s %16s %16s %7s %10s\n", title, col, "billed USD", "list USD",
                    "share", "events");
    else
        fc_buf_addf(o, "\n%s\n  %-40s %16s %7s %10s\n", title, col, "cost USD", "share", "events");
    if (rows->n == 0)
        fc_buf_add_str(o, "  (none)\n");
    for (size_t i = 0; i < rows->n; i++) {
        const reporter_row_t *x = &rows->v[i];
        if (two_keys)
            s_label(r, x->k1, x->k2, label, sizeof label);
        else
            snprintf(label, sizeof label, "%s", x->k1[0] ? x->k1 : "(none)");
        fc_buf_addf(o, "  %-40s %16s", fc_esc_text(label, shown, sizeof shown),
                    reporter_usd(x->s.billed_nusd, 2, usd));
        if (billed)
            fc_buf_addf(o, " %16s", reporter_usd(x->s.cost_nusd, 2, usd2));
        fc_buf_addf(o, " %6s%% %10lld\n", reporter_pct(x->s.billed_nusd, r->total.billed_nusd, pct),
                    (long long)x->s.events);
    }
    if (rows->total_rows > (int64_t)rows->n)
        fc_buf_addf(o, "  ... %lld more\n", (long long)(rows->total_rows - (int64_t)rows->n));
}

static void s_render_text(const reporter_report_t *r, fc_buf_t *o)
{
    char usd[32], usd2[32], pct[48], dur[48], label[2 * REPORTER_KEY_MAX];
    char e1[S_ESC(REPORTER_TEXT_MAX)], e2[S_ESC(REPORTER_TEXT_MAX)], e3[S_ESC(REPORTER_TEXT_MAX)];
    const reporter_sums_t *t = &r->total;
    bool billed = s_billed_shown(r);
    fc_buf_addf(o, "fleetcost %s report: %s (%s, %s)\n", r->period,
                strcmp(r->tenant, "*") == 0 ? "all tenants" : r->tenant,
                fc_esc_text(r->tenant_name, e1, sizeof e1), fc_esc_text(r->tz, e2, sizeof e2));
    fc_buf_addf(o, "period:    %s .. %s (tenant-local days%s)\n", r->from, r->to,
                r->per_tenant ? "; each tenant's own, below" : "");
    for (size_t i = 0; r->per_tenant && i < r->spans_n; i++)
        fc_buf_addf(o, "           %-24s %s .. %s (%s)\n",
                    fc_esc_text(r->spans[i].tenant, e1, sizeof e1), r->spans[i].from,
                    r->spans[i].to, fc_esc_text(r->spans[i].tz, e2, sizeof e2));
    fc_buf_addf(o, "generated: %s; %lld tenant-days from rollups, %lld days from events\n",
                r->generated_at, (long long)r->days_final, (long long)r->days_events);

    s_duration(r->runtime_seconds, dur, sizeof dur);
    if (billed) {
        fc_buf_addf(o,
                    "\nSUMMARY (billed cost under the tenant's rate card; list cost at catalog "
                    "prices)\n  billed cost      $%s (%lld nano-USD)\n",
                    reporter_usd(t->billed_nusd, 9, usd), (long long)t->billed_nusd);
        fc_buf_addf(o, "  list cost        $%s (%lld nano-USD)\n",
                    reporter_usd(t->cost_nusd, 9, usd), (long long)t->cost_nusd);
    } else {
        fc_buf_addf(o, "\nSUMMARY\n  cost             $%s (%lld nano-USD)\n",
                    reporter_usd(t->cost_nusd, 9, usd), (long long)t->cost_nusd);
    }
    fc_buf_addf(o, "  events           %lld (%lld unpriced)\n", (long long)t->events,
                (long long)t->unpriced_events);
    fc_buf_addf(o, "  agents           %lld active, %lld spawned, %lld idle now\n",
                (long long)r->agents_active, (long long)r->agents_spawned,
                (long long)r->agents_idle);
    fc_buf_addf(o, "  agent runtime    %s\n", dur);
    fc_buf_addf(o, "  tasks            %lld with cost, %lld completed\n", (long long)r->tasks_total,
                (long long)r->tasks_completed);
    fc_buf_addf(o,
                "  tokens           input %lld, output %lld, cache read %lld, cache write 5m "
                "%lld, cache write 1h %lld\n",
                (long long)t->input, (long long)t->output, (long long)t->cache_read,
                (long long)t->cache_write_5m, (long long)t->cache_write_1h);

    if (strcmp(r->tenant, "*") == 0)
        s_text_rows(o, r, "COST BY TENANT", "tenant", &r->tenants, false);
    s_text_rows(o, r, "COST BY KIND", "kind", &r->kinds, false);
    s_text_rows(o, r, "COST BY AGENT TYPE", "agent type", &r->agent_types, false);
    s_text_rows(o, r, "COST BY MODEL", "model", &r->models, false);
    s_text_rows(o, r, "COST BY SPEED", "speed", &r->speeds, false);
    s_text_rows(o, r, "COST BY PROVIDER", "provider", &r->providers, false);
    s_text_rows(o, r, "COST BY AGENT", "agent", &r->agents, true);

    fc_buf_addf(o, "\nTOP TASKS\n  %-30s %14s", "task", billed ? "billed USD" : "cost USD");
    if (billed)
        fc_buf_addf(o, " %14s", "list USD");
    fc_buf_addf(o, " %6s %-14s %s\n", "agents", "to complete", "title");
    if (r->tasks_n == 0)
        fc_buf_add_str(o, "  (none)\n");
    for (size_t i = 0; i < r->tasks_n; i++) {
        const reporter_task_t *k = &r->tasks[i];
        s_label(r, k->tenant, k->task, label, sizeof label);
        s_duration(k->seconds_to_complete, dur, sizeof dur);
        fc_buf_addf(o, "  %-30s %14s", fc_esc_text(label, e1, sizeof e1),
                    reporter_usd(k->s.billed_nusd, 2, usd));
        if (billed)
            fc_buf_addf(o, " %14s", reporter_usd(k->s.cost_nusd, 2, usd2));
        fc_buf_addf(o, " %6lld %-14s %s\n", (long long)k->agents_n, dur,
                    fc_esc_text(k->title, e2, sizeof e2));
    }

    fc_buf_addf(o, "\nDAILY TREND\n");
    for (size_t i = 0; i < r->days.n; i++) {
        const reporter_sums_t *x = &r->days.v[i].s;
        fc_buf_addf(o, "  %s %16s %10lld events", r->days.v[i].k1,
                    reporter_usd(x->billed_nusd, 2, usd), (long long)x->events);
        if (billed)
            fc_buf_addf(o, " (list %s)", reporter_usd(x->cost_nusd, 2, usd2));
        fc_buf_add_str(o, "\n");
    }
    if (r->days.n == 0)
        fc_buf_add_str(o, "  (no spending)\n");

    fc_buf_addf(o, "\nALERTS (%lld)\n", (long long)r->alerts_total);
    for (size_t i = 0; i < r->alerts_n; i++) {
        const reporter_alert_t *a = &r->alerts[i];
        fc_buf_addf(o, "  %s %-8s %s %s/%s %s%s%s %lld%% %s\n", a->fired_at, a->tenant, a->kind,
                    a->scope, fc_esc_text(a->period_key, e1, sizeof e1),
                    fc_esc_text(a->subject, e2, sizeof e2), *a->subject ? " " : "", a->state,
                    (long long)a->threshold_pct, fc_esc_text(a->text, e3, sizeof e3));
    }

    fc_buf_addf(o, "\nUNPRICED USAGE\n  %lld event(s) without a price\n",
                (long long)t->unpriced_events);
    for (size_t i = 0; i < r->models.n; i++)
        if (r->models.v[i].s.unpriced_events > 0)
            fc_buf_addf(o, "  %-40s %lld events, %lld input + %lld output tokens\n",
                        fc_esc_text(r->models.v[i].k1, e1, sizeof e1),
                        (long long)r->models.v[i].s.unpriced_events,
                        (long long)r->models.v[i].s.input, (long long)r->models.v[i].s.output);

    fc_buf_addf(
        o,
        "\nCACHE EFFICIENCY\n  %s%% of input tokens read from cache (%lld of %lld)\n"
        "  saved by cache reads $%s; paid for cache writes $%s (prices in force at each event)\n",
        reporter_pct(t->cache_read, s_prompt(t), pct), (long long)t->cache_read,
        (long long)s_prompt(t), reporter_usd(r->cache_read_saved_nusd, 2, usd),
        reporter_usd(r->cache_write_premium_nusd, 2, usd2));

    fc_buf_addf(o, "\nAGENT-REPORTED VS COMPUTED COST\n");
    if (t->reported_events == 0)
        fc_buf_add_str(o, "  no agent reported its cost\n");
    else
        fc_buf_addf(o, "  %lld events: reported $%s, computed $%s\n", (long long)t->reported_events,
                    reporter_usd(t->reported_nusd, 6, usd),
                    reporter_usd(t->reported_computed_nusd, 6, usd2));

    reporter_reconcile_section_text(o, &r->recon);

    fc_buf_addf(o, "\nRECOMMENDATIONS\n");
    if (r->recos_n == 0)
        fc_buf_add_str(o, "  none\n");
    for (size_t i = 0; i < r->recos_n; i++)
        fc_buf_addf(o, "  [%s] %s\n", r->recos[i].code,
                    fc_esc_text(r->recos[i].text, e1, sizeof e1));
}

// ---------------------------------------------------------------------------------------
// CSV: one table, one header; `section` says what a row is.

//  billed: s is a sum of costs, whose billed cost fills the last two columns (empty on
//  the other rows: period, alert, cache, reported, reconcile, recommendation, window).
static void s_csv_row(fc_buf_t *o, const char *section, const char *k1, const char *k2,
                      const reporter_sums_t *s, const char *detail, bool billed)
{
    static const reporter_sums_t zero;
    char usd[32];
    if (!s)
        s = &zero;
    fc_esc_csv(o, section);
    fc_buf_add(o, ",", 1);
    fc_esc_csv(o, k1);
    fc_buf_add(o, ",", 1);
    fc_esc_csv(o, k2);
    fc_buf_addf(o, ",%lld,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,", (long long)s->cost_nusd,
                reporter_usd(s->cost_nusd, 9, usd), (long long)s->input, (long long)s->output,
                (long long)s->cache_read, (long long)s->cache_write_5m,
                (long long)s->cache_write_1h, (long long)s->events, (long long)s->unpriced_events);
    fc_esc_csv(o, detail);
    if (billed)
        fc_buf_addf(o, ",%lld,%s\r\n", (long long)s->billed_nusd,
                    reporter_usd(s->billed_nusd, 9, usd));
    else
        fc_buf_add_str(o, ",,\r\n");
}

static void s_csv_rows(fc_buf_t *o, const char *section, const reporter_rows_t *rows)
{
    for (size_t i = 0; i < rows->n; i++)
        s_csv_row(o, section, rows->v[i].k1, rows->v[i].k2, &rows->v[i].s, "", true);
}

static void s_render_csv(const reporter_report_t *r, fc_buf_t *o)
{
    char detail[1024], a[48], b[32];
    fc_buf_add_str(o, "section,key,key2,cost_nusd,cost_usd,input_tokens,output_tokens,"
                      "cache_read_tokens,cache_write_5m_tokens,cache_write_1h_tokens,events,"
                      "unpriced_events,detail,billed_nusd,billed_usd\r\n");
    snprintf(detail, sizeof detail, "%s..%s", r->from, r->to);
    s_csv_row(o, "period", r->tenant, r->period, NULL, detail, false);
    snprintf(detail, sizeof detail,
             "agents_active=%lld agents_spawned=%lld agents_idle=%lld runtime_seconds=%lld "
             "tasks_with_cost=%lld tasks_completed=%lld",
             (long long)r->agents_active, (long long)r->agents_spawned, (long long)r->agents_idle,
             (long long)r->runtime_seconds, (long long)r->tasks_total,
             (long long)r->tasks_completed);
    s_csv_row(o, "summary", r->tenant, "", &r->total, detail, true);
    s_csv_rows(o, "day", &r->days);
    s_csv_rows(o, "tenant", &r->tenants);
    s_csv_rows(o, "kind", &r->kinds);
    s_csv_rows(o, "agent_type", &r->agent_types);
    s_csv_rows(o, "model", &r->models);
    s_csv_rows(o, "speed", &r->speeds);
    s_csv_rows(o, "provider", &r->providers);
    s_csv_rows(o, "agent", &r->agents);
    for (size_t i = 0; i < r->tasks_n; i++) {
        const reporter_task_t *k = &r->tasks[i];
        snprintf(detail, sizeof detail, "agents=%lld seconds_to_complete=%lld title=%s",
                 (long long)k->agents_n, (long long)k->seconds_to_complete, k->title);
        s_csv_row(o, "task", k->tenant, k->task, &k->s, detail, true);
    }
    for (size_t i = 0; i < r->alerts_n; i++) {
        const reporter_alert_t *al = &r->alerts[i];
        reporter_sums_t s = {.cost_nusd = al->value_nusd};
        snprintf(detail, sizeof detail, "%s %s/%s %s %lld%% %s: %s", al->fired_at, al->kind,
                 al->scope, al->period_key, (long long)al->threshold_pct, al->state, al->text);
        s_csv_row(o, "alert", al->tenant, al->subject, &s, detail, false);
    }
    for (size_t i = 0; i < r->models.n; i++)
        if (r->models.v[i].s.unpriced_events > 0)
            s_csv_row(o, "unpriced", r->models.v[i].k1, "", &r->models.v[i].s, "", true);
    snprintf(detail, sizeof detail,
             "cache_read_share_pct=%s saved_by_reads_nusd=%lld cache_write_premium_nusd=%lld",
             reporter_pct(r->total.cache_read, s_prompt(&r->total), a),
             (long long)r->cache_read_saved_nusd, (long long)r->cache_write_premium_nusd);
    s_csv_row(o, "cache", r->tenant, "", NULL, detail, false);
    if (r->total.reported_events > 0) {
        reporter_sums_t s = {.cost_nusd = r->total.reported_nusd,
                             .events = r->total.reported_events};
        snprintf(detail, sizeof detail, "computed_nusd=%lld computed_usd=%s",
                 (long long)r->total.reported_computed_nusd,
                 reporter_usd(r->total.reported_computed_nusd, 9, b));
        s_csv_row(o, "reported", r->tenant, "", &s, detail, false);
    }
    for (size_t i = 0; i < r->recon.n; i++) { //  the provider's bill: days that differ
        const reporter_recon_day_t *v = &r->recon.v[i];
        reporter_sums_t s = {.cost_nusd = v->diff_nusd};
        snprintf(detail, sizeof detail, "%s bill_nusd=%lld fleetcost_nusd=%lld%s%s", v->status,
                 (long long)v->bill_nusd, (long long)v->fleetcost_nusd,
                 *v->token_diffs ? " tokens: " : "", v->token_diffs);
        s_csv_row(o, "reconcile", v->tenant, v->day, &s, detail, false);
    }
    for (size_t i = 0; i < r->recos_n; i++)
        s_csv_row(o, "recommendation", r->recos[i].code, "", NULL, r->recos[i].text, false);
    //  Each tenant's own days, when they differ (the period row holds their union).
    for (size_t i = 0; r->per_tenant && i < r->spans_n; i++) {
        snprintf(detail, sizeof detail, "%s..%s", r->spans[i].from, r->spans[i].to);
        s_csv_row(o, "window", r->spans[i].tenant, r->spans[i].tz, NULL, detail, false);
    }
}

// ---------------------------------------------------------------------------------------
// JSON

//  The sums' members, into the object open in w.
static void s_json_sums(fc_jw_t *w, const reporter_sums_t *s)
{
    char usd[32];
    fc_jw_int(w, "cost_nusd", s->cost_nusd);
    fc_jw_str(w, "cost_usd", reporter_usd(s->cost_nusd, 9, usd));
    fc_jw_int(w, "billed_nusd", s->billed_nusd);
    fc_jw_str(w, "billed_usd", reporter_usd(s->billed_nusd, 9, usd));
    fc_jw_int(w, "events", s->events);
    fc_jw_int(w, "unpriced_events", s->unpriced_events);
    fc_jw_object(w, "tokens");
    fc_jw_int(w, "input", s->input);
    fc_jw_int(w, "output", s->output);
    fc_jw_int(w, "cache_read", s->cache_read);
    fc_jw_int(w, "cache_write_5m", s->cache_write_5m);
    fc_jw_int(w, "cache_write_1h", s->cache_write_1h);
    fc_jw_end(w);
}

static void s_json_rows(fc_jw_t *w, const char *name, const char *k1, const char *k2,
                        const reporter_rows_t *rows)
{
    fc_jw_array(w, name);
    for (size_t i = 0; i < rows->n; i++) {
        fc_jw_object(w, NULL);
        fc_jw_str(w, k1, rows->v[i].k1);
        if (k2)
            fc_jw_str(w, k2, rows->v[i].k2);
        s_json_sums(w, &rows->v[i].s);
        fc_jw_end(w);
    }
    fc_jw_end(w);
}

static void s_json_task(fc_jw_t *w, const reporter_task_t *k)
{
    fc_jw_object(w, NULL);
    fc_jw_str(w, "tenant", k->tenant);
    fc_jw_str(w, "task", k->task);
    fc_jw_str(w, "title", k->title);
    fc_jw_str(w, "type", k->type);
    fc_jw_str(w, "status", k->status);
    fc_jw_str(w, "agents", k->agents);
    fc_jw_int(w, "agents_n", k->agents_n);
    fc_jw_int(w, "seconds_to_complete", k->seconds_to_complete);
    if (k->median_type_nusd)
        fc_jw_int(w, "type_median_nusd", k->median_type_nusd);
    s_json_sums(w, &k->s);
    fc_jw_end(w);
}

static void s_render_json(const reporter_report_t *r, fc_buf_t *o)
{
    char pct[48];
    const reporter_sums_t *t = &r->total;
    fc_jw_t jw, *w = &jw;
    fc_jw_init(w, o);
    fc_jw_object(w, NULL);
    fc_jw_str(w, "tenant", r->tenant);
    fc_jw_str(w, "tenant_name", r->tenant_name);
    fc_jw_str(w, "tz", r->tz);
    fc_jw_str(w, "period", r->period);
    fc_jw_str(w, "from", r->from);
    fc_jw_str(w, "to", r->to);
    fc_jw_str(w, "generated_at", r->generated_at);
    fc_jw_bool(w, "billed_differs", s_billed_shown(r));
    fc_jw_object(w, "source");
    fc_jw_int(w, "rollup_tenant_days", r->days_final);
    fc_jw_int(w, "event_days", r->days_events);
    fc_jw_end(w);
    fc_jw_object(w, "summary");
    s_json_sums(w, t);
    fc_jw_int(w, "agents_active", r->agents_active);
    fc_jw_int(w, "agents_spawned", r->agents_spawned);
    fc_jw_int(w, "agents_idle", r->agents_idle);
    fc_jw_int(w, "runtime_seconds", r->runtime_seconds);
    fc_jw_int(w, "tasks_with_cost", r->tasks_total);
    fc_jw_int(w, "tasks_completed", r->tasks_completed);
    fc_jw_end(w);
    reporter_window_json(w, r->spans, r->spans_n, r->per_tenant);
    fc_jw_object(w, "today");
    s_json_sums(w, &r->today);
    fc_jw_end(w);
    s_json_rows(w, "today_by_tenant", "tenant", "day", &r->tenants_today);
    s_json_rows(w, "by_day", "day", NULL, &r->days);
    s_json_rows(w, "by_tenant", "tenant", NULL, &r->tenants);
    s_json_rows(w, "by_kind", "kind", NULL, &r->kinds);
    s_json_rows(w, "by_agent_type", "agent_type", NULL, &r->agent_types);
    s_json_rows(w, "by_model", "model", NULL, &r->models);
    s_json_rows(w, "by_speed", "speed", NULL, &r->speeds);
    s_json_rows(w, "by_provider", "provider", NULL, &r->providers);
    s_json_rows(w, "by_agent", "tenant", "agent", &r->agents);
    fc_jw_int(w, "agents_with_cost", r->agents.total_rows);
    fc_jw_array(w, "top_tasks");
    for (size_t i = 0; i < r->tasks_n; i++)
        s_json_task(w, &r->tasks[i]);
    fc_jw_end(w);
    fc_jw_array(w, "task_outliers");
    for (size_t i = 0; i < r->outliers_n; i++)
        s_json_task(w, &r->outliers[i]);
    fc_jw_end(w);
    fc_jw_object(w, "alerts");
    fc_jw_int(w, "total", r->alerts_total);
    fc_jw_array(w, "items");
    for (size_t i = 0; i < r->alerts_n; i++) {
        const reporter_alert_t *a = &r->alerts[i];
        fc_jw_object(w, NULL);
        fc_jw_str(w, "tenant", a->tenant);
        fc_jw_str(w, "fired_at", a->fired_at);
        fc_jw_str(w, "kind", a->kind);
        fc_jw_str(w, "scope", a->scope);
        fc_jw_str(w, "period_key", a->period_key);
        fc_jw_str(w, "subject", a->subject);
        fc_jw_str(w, "state", a->state);
        fc_jw_str(w, "text", a->text);
        fc_jw_int(w, "threshold_pct", a->threshold_pct);
        fc_jw_int(w, "value_nusd", a->value_nusd);
        fc_jw_int(w, "budget_nusd", a->budget_nusd);
        fc_jw_end(w);
    }
    fc_jw_end(w);
    fc_jw_end(w);
    fc_jw_object(w, "unpriced");
    fc_jw_int(w, "events", t->unpriced_events);
    fc_jw_array(w, "by_model");
    for (size_t i = 0; i < r->models.n; i++) {
        const reporter_row_t *m = &r->models.v[i];
        if (m->s.unpriced_events == 0)
            continue;
        fc_jw_object(w, NULL);
        fc_jw_str(w, "model", m->k1);
        fc_jw_int(w, "unpriced_events", m->s.unpriced_events);
        fc_jw_int(w, "input_tokens", m->s.input);
        fc_jw_int(w, "output_tokens", m->s.output);
        fc_jw_end(w);
    }
    fc_jw_end(w);
    fc_jw_end(w);
    fc_jw_object(w, "cache");
    fc_jw_int(w, "prompt_tokens", s_prompt(t));
    fc_jw_int(w, "cache_read_tokens", t->cache_read);
    fc_jw_str(w, "cache_read_share_pct", reporter_pct(t->cache_read, s_prompt(t), pct));
    fc_jw_int(w, "saved_by_reads_nusd", r->cache_read_saved_nusd);
    fc_jw_int(w, "cache_write_premium_nusd", r->cache_write_premium_nusd);
    fc_jw_end(w);
    fc_jw_object(w, "reported_vs_computed");
    fc_jw_int(w, "events", t->reported_events);
    fc_jw_int(w, "reported_nusd", t->reported_nusd);
    fc_jw_int(w, "computed_nusd", t->reported_computed_nusd);
    fc_jw_int(w, "difference_nusd", t->reported_nusd - t->reported_computed_nusd);
    fc_jw_end(w);
    fc_jw_array(w, "recommendations");
    for (size_t i = 0; i < r->recos_n; i++) {
        fc_jw_object(w, NULL);
        fc_jw_str(w, "code", r->recos[i].code);
        fc_jw_str(w, "text", r->recos[i].text);
        fc_jw_end(w);
    }
    fc_jw_end(w);
    reporter_reconcile_section_json(w, &r->recon);
    fc_jw_end(w);
    fc_buf_add_str(o, "\n");
}

// ---------------------------------------------------------------------------------------
// HTML (well-formed: every element closed, every text escaped)

static const char *s_css =
    "body{font-family:sans-serif;margin:24px;color:#222}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:left}"
    "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px}"
    ".card{border:1px solid #ccc;border-radius:6px;padding:10px 16px;min-width:150px}"
    ".card .v{font-size:1.6em;font-weight:bold}"
    ".charts{display:flex;flex-wrap:wrap;gap:16px}"
    "svg.chart{border:1px solid #eee;background:#fff}"
    "svg .bar{fill:#3b6fb6}svg .grid{stroke:#eee}svg .axis{stroke:#444}"
    "svg text{font-size:11px;fill:#333}svg .ctitle{font-size:13px;font-weight:bold}"
    "svg .unit{font-size:11px;fill:#666}"
    ".card .note{font-size:.85em;color:#666}nav.ranges{margin:8px 0}nav.ranges a{margin:0 4px}"
    "svg a:hover .bar{fill:#6a96d6}"
    "svg .forecast{stroke:#d08a00;stroke-width:2;stroke-dasharray:6 4}"
    "svg .threshold{stroke:#c33;stroke-dasharray:3 3}svg .budget{stroke:#c33;stroke-width:2}";

static void s_html_head(fc_buf_t *o, const char *title)
{
    fc_buf_add_str(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
                      "<meta name=\"viewport\" content=\"width=device-width\"/><title>");
    fc_esc_html(o, title);
    fc_buf_addf(o, "</title><style>%s</style></head><body>", s_css);
}

//  Where the dashboard's bars and rows lead; reports (which are also files) pass NULL
//  and link nowhere.
typedef struct {
    const char *tenant; //  the view's tenant or "*"
    const char *range;  //  the dashboard's range (7d, 30d, 90d, mtd)
} s_link_t;

//  s percent-encoded for a URL query (unreserved characters kept).
static void s_enc(fc_buf_t *o, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            fc_buf_add(o, p, 1);
        else
            fc_buf_addf(o, "%%%02X", *p);
    }
}

//  The link of a dashboard bar or row, attribute-ready (& as &amp;), into o:
//    day      the daily report of that local date
//    tenant   that tenant's dashboard, same range
//    report   the report of the dashboard's own window
//    agent, task (k1 tenant, k2 id), agent_type, model, kind (k1)   the drill-down page
static void s_href(fc_buf_t *o, const s_link_t *l, const char *dim, const char *k1, const char *k2)
{
    bool all = strcmp(l->tenant, "*") == 0;
    if (strcmp(dim, "day") == 0) {
        fc_buf_add_str(o, "/dashboard/-/report?period=daily&amp;format=html&amp;date=");
        s_enc(o, k1);
    } else if (strcmp(dim, "tenant") == 0) {
        fc_buf_add_str(o, "/dashboard/");
        s_enc(o, k1);
        fc_buf_addf(o, "?range=%s", l->range);
        return;
    } else if (strcmp(dim, "report") == 0) {
        fc_buf_addf(o, "/dashboard/-/report?format=html&amp;period=%s", l->range);
    } else {
        bool pair = strcmp(dim, "agent") == 0 || strcmp(dim, "task") == 0;
        fc_buf_addf(o, "/dashboard/-/drill?range=%s&amp;dim=%s&amp;id=", l->range, dim);
        s_enc(o, pair ? k2 : k1);
        if (pair) {
            fc_buf_add_str(o, "&amp;tenant=");
            s_enc(o, k1);
            return;
        }
    }
    if (!all) {
        fc_buf_add_str(o, "&amp;tenant=");
        s_enc(o, l->tenant);
    }
}

//  A table cell holding text, linked when l is given.
static void s_html_td_link(fc_buf_t *o, const char *text, const s_link_t *l, const char *dim,
                           const char *k1, const char *k2)
{
    if (!l) {
        fc_buf_add_str(o, "<td>");
        fc_esc_html(o, text);
        fc_buf_add_str(o, "</td>");
        return;
    }
    fc_buf_add_str(o, "<td><a href=\"");
    s_href(o, l, dim, k1, k2);
    fc_buf_add_str(o, "\">");
    fc_esc_html(o, text);
    fc_buf_add_str(o, "</a></td>");
}

static void s_html_td(fc_buf_t *o, const char *s)
{
    fc_buf_add_str(o, "<td>");
    fc_esc_html(o, s);
    fc_buf_add_str(o, "</td>");
}

static void s_html_rows(fc_buf_t *o, const reporter_report_t *r, const char *title, const char *col,
                        const reporter_rows_t *rows, bool two_keys, const s_link_t *l,
                        const char *dim)
{
    char usd[32], usd2[32], pct[48], label[2 * REPORTER_KEY_MAX];
    bool shown = s_billed_shown(r), whole = reporter_billed_whole(r, rows);
    bool billed = shown && whole; //  billed and list columns
    const reporter_sums_t *t = &r->total;
    fc_buf_addf(o,
                "<h2>%s</h2><table><tr><th>%s</th><th class=\"n\">%s (USD)</th>%s"
                "<th class=\"n\">share</th><th class=\"n\">events</th>"
                "<th class=\"n\">input tokens</th><th class=\"n\">output tokens</th></tr>",
                title, col,
                billed  ? "billed"
                : shown ? "list"
                        : "cost",
                billed ? "<th class=\"n\">list (USD)</th>" : "");
    for (size_t i = 0; i < rows->n; i++) {
        const reporter_row_t *x = &rows->v[i];
        if (two_keys)
            s_label(r, x->k1, x->k2, label, sizeof label);
        else
            snprintf(label, sizeof label, "%s", x->k1[0] ? x->k1 : "(none)");
        fc_buf_add_str(o, "<tr>");
        s_html_td_link(o, label, l, dim, x->k1, x->k2);
        fc_buf_addf(o, "<td class=\"n\">%s</td>",
                    reporter_usd(s_shown_nusd(r, rows, &x->s), 2, usd));
        if (billed)
            fc_buf_addf(o, "<td class=\"n\">%s</td>", reporter_usd(x->s.cost_nusd, 2, usd2));
        fc_buf_addf(o,
                    "<td class=\"n\">%s%%</td><td class=\"n\">%lld</td>"
                    "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr>",
                    reporter_pct(s_shown_nusd(r, rows, &x->s), s_shown_nusd(r, rows, t), pct),
                    (long long)x->s.events, (long long)x->s.input, (long long)x->s.output);
    }
    if (rows->n == 0)
        fc_buf_addf(o, "<tr><td colspan=\"%d\">none</td></tr>", billed ? 7 : 6);
    fc_buf_add_str(o, "</table>");
}

//  Bars of a category chart: the first S_ITEMS_MAX rows (already sorted by cost).
//  Links of a chart's bars, each NUL-terminated in one buffer (offsets into it).
typedef struct {
    fc_buf_t buf;
    size_t at[S_ITEMS_MAX];
} s_hrefs_t;

static size_t s_items(const reporter_report_t *r, const reporter_rows_t *rows, bool two_keys,
                      reporter_svg_item_t *items, char (*labels)[2 * REPORTER_KEY_MAX],
                      const s_link_t *l, const char *dim, s_hrefs_t *h)
{
    size_t n = rows->n < S_ITEMS_MAX ? rows->n : S_ITEMS_MAX;
    memset(items, 0, n * sizeof *items);
    for (size_t i = 0; i < n; i++) {
        if (two_keys)
            s_label(r, rows->v[i].k1, rows->v[i].k2, labels[i], sizeof labels[i]);
        else
            snprintf(labels[i], sizeof labels[i], "%s", rows->v[i].k1);
        items[i].label = labels[i];
        items[i].value = s_shown_nusd(r, rows, &rows->v[i].s);
        if (l) {
            h->at[i] = h->buf.len;
            s_href(&h->buf, l, dim, rows->v[i].k1, rows->v[i].k2);
            fc_buf_add(&h->buf, "", 1);
        }
    }
    //  Pointers only once the buffer no longer moves.
    for (size_t i = 0; l && !h->buf.failed && i < n; i++)
        items[i].href = (const char *)h->buf.data + h->at[i];
    return n;
}

static void s_html_bars(fc_buf_t *o, const reporter_report_t *r, const char *id, const char *title,
                        const reporter_rows_t *rows, const s_link_t *l, const char *dim)
{
    reporter_svg_item_t items[S_ITEMS_MAX];
    char labels[S_ITEMS_MAX][2 * REPORTER_KEY_MAX];
    s_hrefs_t h;
    fc_buf_init(&h.buf);
    size_t n = s_items(r, rows, false, items, labels, l, dim, &h);
    char t[160];
    snprintf(t, sizeof t, "%s%s", title,
             !reporter_billed_whole(r, rows) && s_billed_shown(r) ? " (list)" : "");
    reporter_svg_bars(o, id, t, REPORTER_SVG_USD, items, n, 560);
    o->failed |= h.buf.failed;
    fc_buf_free(&h.buf);
}

//  The daily trend: one column per day of the range, days without spending at $0.
static void s_html_trend(fc_buf_t *o, const reporter_report_t *r, const char *id, int width,
                         const s_link_t *l)
{
    int64_t lo, hi;
    if (fc_date_parse(r->from, &lo) != 0 || fc_date_parse(r->to, &hi) != 0)
        return;
    size_t n = (size_t)(hi - lo + 1);
    reporter_svg_item_t *items = calloc(n, sizeof *items);
    char(*labels)[11] = calloc(n, sizeof *labels);
    if (!items || !labels) {
        free(items);
        free(labels);
        o->failed = 1;
        return;
    }
    size_t j = 0;
    fc_buf_t hb;
    fc_buf_init(&hb);
    size_t *at = l ? calloc(n, sizeof *at) : NULL;
    for (size_t i = 0; i < n; i++) {
        fc_date_format(lo + (int64_t)i, labels[i]);
        items[i].label = labels[i];
        while (j < r->days.n && strcmp(r->days.v[j].k1, labels[i]) < 0)
            j++;
        if (j < r->days.n && strcmp(r->days.v[j].k1, labels[i]) == 0)
            items[i].value = r->days.v[j].s.billed_nusd;
        if (at) {
            at[i] = hb.len;
            s_href(&hb, l, "day", labels[i], "");
            fc_buf_add(&hb, "", 1);
        }
    }
    for (size_t i = 0; at && !hb.failed && i < n; i++)
        items[i].href = (const char *)hb.data + at[i];
    reporter_svg_columns(o, id, "Daily cost",
                         strcmp(r->tenant, "*") == 0
                             ? "tenant-local date (each tenant's own days, added up by date)"
                             : "day (tenant-local)",
                         REPORTER_SVG_USD, items, n, width, 260);
    o->failed |= hb.failed || (l && !at);
    fc_buf_free(&hb);
    free(at);
    free(items);
    free(labels);
}

static void s_html_tasks(fc_buf_t *o, const reporter_report_t *r, const reporter_task_t *tasks,
                         size_t n, bool median, const s_link_t *l)
{
    char usd[32], dur[48], label[2 * REPORTER_KEY_MAX];
    //  Tasks are breakdown rows: on the dashboard their billed cost is not whole.
    bool shown = s_billed_shown(r), billed = shown && !r->inday_rollups;
    fc_buf_addf(o,
                "<table><tr><th>task</th><th>title</th><th>type</th><th class=\"n\">%s "
                "(USD)</th>%s%s<th class=\"n\">agents</th><th>agent ids</th><th>time to "
                "complete</th></tr>",
                billed  ? "billed"
                : shown ? "list"
                        : "cost",
                billed ? "<th class=\"n\">list (USD)</th>" : "",
                median ? "<th class=\"n\">type median (USD, list)</th>" : "");
    for (size_t i = 0; i < n; i++) {
        const reporter_task_t *k = &tasks[i];
        s_label(r, k->tenant, k->task, label, sizeof label);
        s_duration(k->seconds_to_complete, dur, sizeof dur);
        fc_buf_add_str(o, "<tr>");
        s_html_td_link(o, label, l, "task", k->tenant, k->task);
        s_html_td(o, k->title);
        s_html_td(o, k->type);
        fc_buf_addf(o, "<td class=\"n\">%s</td>",
                    reporter_usd(r->inday_rollups ? k->s.cost_nusd : k->s.billed_nusd, 2, usd));
        if (billed)
            fc_buf_addf(o, "<td class=\"n\">%s</td>", reporter_usd(k->s.cost_nusd, 2, usd));
        if (median)
            fc_buf_addf(o, "<td class=\"n\">%s</td>", reporter_usd(k->median_type_nusd, 2, usd));
        fc_buf_addf(o, "<td class=\"n\">%lld</td>", (long long)k->agents_n);
        s_html_td(o, k->agents);
        s_html_td(o, dur);
        fc_buf_add_str(o, "</tr>");
    }
    if (n == 0)
        fc_buf_addf(o, "<tr><td colspan=\"%d\">none</td></tr>", 7 + billed);
    fc_buf_add_str(o, "</table>");
}

static void s_html_alerts(fc_buf_t *o, const reporter_report_t *r)
{
    char usd[32], usd2[32], pct[24];
    fc_buf_add_str(o, "<table><tr><th>fired (UTC)</th><th>tenant</th><th>kind</th><th>scope</th>"
                      "<th>period</th><th>subject</th><th class=\"n\">threshold</th>"
                      "<th class=\"n\">value (USD)</th><th class=\"n\">budget (USD)</th>"
                      "<th>state</th><th>text</th></tr>");
    for (size_t i = 0; i < r->alerts_n; i++) {
        const reporter_alert_t *a = &r->alerts[i];
        fc_buf_add_str(o, "<tr>");
        s_html_td(o, a->fired_at);
        s_html_td(o, a->tenant);
        s_html_td(o, a->kind);
        s_html_td(o, a->scope);
        s_html_td(o, a->period_key);
        s_html_td(o, a->subject);
        snprintf(pct, sizeof pct, "%lld%%", (long long)a->threshold_pct);
        fc_buf_addf(o, "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>", pct,
                    reporter_usd(a->value_nusd, 2, usd), reporter_usd(a->budget_nusd, 2, usd2));
        s_html_td(o, a->state);
        s_html_td(o, a->text);
        fc_buf_add_str(o, "</tr>");
    }
    if (r->alerts_n == 0)
        fc_buf_add_str(o, "<tr><td colspan=\"11\">no alerts</td></tr>");
    fc_buf_add_str(o, "</table>");
}

//  Each tenant's own days, when they differ between tenants: the all-tenant figures are
//  the sums over these, and the day axis holds the union of their local dates. Tenants
//  with the same span are listed together (a fleet has a few distinct spans at most).
static void s_html_windows(fc_buf_t *o, const reporter_report_t *r)
{
    if (!r->per_tenant)
        return;
    fc_buf_add_str(o, "<p class=\"windows\">Each tenant counts its own days in its own time zone "
                      "(a date's column adds every tenant's spending on that local date):");
    bool first = true;
    for (size_t i = 0; i < r->spans_n; i++) {
        const reporter_span_t *sp = &r->spans[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(r->spans[j].from, sp->from) == 0 && strcmp(r->spans[j].to, sp->to) == 0;
        if (seen)
            continue;
        fc_buf_addf(o, "%s %s to %s: ", first ? "" : ";", sp->from, sp->to);
        first = false;
        size_t n = 0;
        for (size_t j = i; j < r->spans_n; j++) {
            const reporter_span_t *x = &r->spans[j];
            if (strcmp(x->from, sp->from) != 0 || strcmp(x->to, sp->to) != 0)
                continue;
            if (n++ == 20) {
                size_t more = 1;
                for (size_t k = j + 1; k < r->spans_n; k++)
                    more += strcmp(r->spans[k].from, sp->from) == 0 &&
                            strcmp(r->spans[k].to, sp->to) == 0;
                fc_buf_addf(o, " and %zu more", more);
                break;
            }
            fc_buf_add_str(o, n > 1 ? ", " : "");
            fc_esc_html(o, x->tenant);
            fc_buf_add_str(o, " (");
            fc_esc_html(o, x->tz);
            fc_buf_add_str(o, ")");
        }
    }
    fc_buf_add_str(o, ".</p>");
}

static void s_render_html(const reporter_report_t *r, fc_buf_t *o)
{
    char usd[32], usd2[32], pct[48], dur[48], title[512];
    const reporter_sums_t *t = &r->total;
    snprintf(title, sizeof title, "fleetcost %s report: %s, %s to %s", r->period,
             strcmp(r->tenant, "*") == 0 ? "all tenants" : r->tenant, r->from, r->to);
    s_html_head(o, title);
    fc_buf_add_str(o, "<h1>");
    fc_esc_html(o, title);
    fc_buf_add_str(o, "</h1><p>");
    fc_esc_html(o, r->tenant_name);
    fc_buf_add_str(o, ", time zone ");
    fc_esc_html(o, r->tz);
    fc_buf_addf(o, "; generated %s; %lld tenant-days from rollups, %lld days from events.</p>",
                r->generated_at, (long long)r->days_final, (long long)r->days_events);
    s_html_windows(o, r);

    s_duration(r->runtime_seconds, dur, sizeof dur);
    bool billed = s_billed_shown(r);
    fc_buf_add_str(o, "<h2>Summary</h2>");
    if (billed)
        fc_buf_add_str(o, "<p id=\"basis\">Cost figures are billed cost, under the tenant's "
                          "rate card; list cost (catalog prices) is shown beside them. Charts "
                          "and shares are billed.</p>");
    fc_buf_addf(o,
                "<div class=\"cards\">"
                "<div class=\"card\"><div>%s</div><div class=\"v\" id=\"total-cost\">$%s</div>"
                "<div>%lld nano-USD</div></div>",
                billed ? "billed cost" : "cost", reporter_usd(t->billed_nusd, 9, usd),
                (long long)t->billed_nusd);
    if (billed)
        fc_buf_addf(o,
                    "<div class=\"card\"><div>list cost</div>"
                    "<div class=\"v\" id=\"total-list-cost\">$%s</div>"
                    "<div>%lld nano-USD</div></div>",
                    reporter_usd(t->cost_nusd, 9, usd), (long long)t->cost_nusd);
    fc_buf_addf(o,
                "<div class=\"card\"><div>agents</div><div class=\"v\">%lld</div>"
                "<div>%lld spawned, %lld idle now</div></div>"
                "<div class=\"card\"><div>tasks</div><div class=\"v\">%lld</div>"
                "<div>%lld completed</div></div>"
                "<div class=\"card\"><div>agent runtime</div><div class=\"v\">%s</div></div>"
                "<div class=\"card\"><div>events</div><div class=\"v\">%lld</div>"
                "<div>%lld unpriced</div></div></div>",
                (long long)r->agents_active, (long long)r->agents_spawned,
                (long long)r->agents_idle, (long long)r->tasks_total, (long long)r->tasks_completed,
                dur, (long long)t->events, (long long)t->unpriced_events);
    fc_buf_addf(o,
                "<table><tr><th>tokens</th><th class=\"n\">input</th><th class=\"n\">output</th>"
                "<th class=\"n\">cache read</th><th class=\"n\">cache write 5m</th>"
                "<th class=\"n\">cache write 1h</th></tr><tr><td>count</td>"
                "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                "<td class=\"n\">%lld</td><td class=\"n\">%lld</td></tr></table>",
                (long long)t->input, (long long)t->output, (long long)t->cache_read,
                (long long)t->cache_write_5m, (long long)t->cache_write_1h);

    fc_buf_add_str(o, "<h2>Daily trend</h2>");
    s_html_trend(o, r, "chart-trend", 900, NULL);
    fc_buf_add_str(o, "<div class=\"charts\">");
    if (strcmp(r->tenant, "*") == 0)
        s_html_bars(o, r, "chart-tenant", "Cost by tenant", &r->tenants, NULL, NULL);
    s_html_bars(o, r, "chart-agent-type", "Cost by agent type", &r->agent_types, NULL, NULL);
    s_html_bars(o, r, "chart-model", "Cost by model", &r->models, NULL, NULL);
    fc_buf_add_str(o, "</div>");
    if (strcmp(r->tenant, "*") == 0)
        s_html_rows(o, r, "Cost by tenant", "tenant", &r->tenants, false, NULL, NULL);
    s_html_rows(o, r, "Cost by kind", "kind", &r->kinds, false, NULL, NULL);
    s_html_rows(o, r, "Cost by agent type", "agent type", &r->agent_types, false, NULL, NULL);
    s_html_rows(o, r, "Cost by model", "model", &r->models, false, NULL, NULL);
    s_html_rows(o, r, "Cost by speed", "speed", &r->speeds, false, NULL, NULL);
    s_html_rows(o, r, "Cost by provider", "provider", &r->providers, false, NULL, NULL);
    s_html_rows(o, r, "Cost by agent (top)", "agent", &r->agents, true, NULL, NULL);
    fc_buf_addf(o, "<h2>Top %d tasks (of %lld)</h2>", r->top_n, (long long)r->tasks_total);
    s_html_tasks(o, r, r->tasks, r->tasks_n, false, NULL);
    fc_buf_addf(o, "<h2>Alerts (%lld)</h2>", (long long)r->alerts_total);
    s_html_alerts(o, r);

    fc_buf_addf(o, "<h2>Unpriced usage</h2><p>%lld event(s) without a price.</p>",
                (long long)t->unpriced_events);
    fc_buf_addf(o,
                "<h2>Cache efficiency</h2><p>%s%% of input tokens were read from cache (%lld of "
                "%lld). Cache reads saved $%s; cache writes cost $%s extra (prices in "
                "force at each event).</p>",
                reporter_pct(t->cache_read, s_prompt(t), pct), (long long)t->cache_read,
                (long long)s_prompt(t), reporter_usd(r->cache_read_saved_nusd, 2, usd),
                reporter_usd(r->cache_write_premium_nusd, 2, usd2));
    fc_buf_add_str(o, "<h2>Agent-reported vs computed cost</h2><p>");
    if (t->reported_events == 0)
        fc_buf_add_str(o, "No agent reported its cost.");
    else
        fc_buf_addf(o, "%lld events: agents reported $%s, prices give $%s.",
                    (long long)t->reported_events, reporter_usd(t->reported_nusd, 6, usd),
                    reporter_usd(t->reported_computed_nusd, 6, usd2));
    fc_buf_add_str(o, "</p><h2>Tasks far above their type's median</h2>");
    s_html_tasks(o, r, r->outliers, r->outliers_n, true, NULL);
    reporter_reconcile_section_html(o, &r->recon);
    fc_buf_add_str(o, "<h2>Recommendations</h2><ul>");
    for (size_t i = 0; i < r->recos_n; i++) {
        fc_buf_addf(o, "<li><b>%s</b>: ", r->recos[i].code);
        fc_esc_html(o, r->recos[i].text);
        fc_buf_add_str(o, "</li>");
    }
    if (r->recos_n == 0)
        fc_buf_add_str(o, "<li>none</li>");
    fc_buf_add_str(o, "</ul></body></html>\n");
}

void reporter_render(const reporter_report_t *r, reporter_fmt_t fmt, fc_buf_t *out)
{
    switch (fmt) {
    case REPORTER_FMT_CSV:
        s_render_csv(r, out);
        break;
    case REPORTER_FMT_JSON:
        s_render_json(r, out);
        break;
    case REPORTER_FMT_HTML:
        s_render_html(r, out);
        break;
    default:
        s_render_text(r, out);
    }
}

// ---------------------------------------------------------------------------------------
// Dashboard

static const char *const s_ranges[][2] = {{"7d", "Last 7 days"},
                                          {"30d", "Last 30 days"},
                                          {"90d", "Last 90 days"},
                                          {"mtd", "Month to date"}};

bool reporter_dashboard_range_valid(const char *range)
{
    for (size_t i = 0; i < sizeof s_ranges / sizeof s_ranges[0]; i++)
        if (strcmp(s_ranges[i][0], range) == 0)
            return true;
    return false;
}

static const char *s_range_label(const char *range)
{
    for (size_t i = 0; i < sizeof s_ranges / sizeof s_ranges[0]; i++)
        if (strcmp(s_ranges[i][0], range) == 0)
            return s_ranges[i][1];
    return range;
}

//  The range picker: plain links (no script needed), the current range in bold.
static void s_html_ranges(fc_buf_t *o, const char *path_tenant, const char *range,
                          const char *extra)
{
    fc_buf_add_str(o, "<nav class=\"ranges\">Range:");
    for (size_t i = 0; i < sizeof s_ranges / sizeof s_ranges[0]; i++) {
        if (strcmp(s_ranges[i][0], range) == 0) {
            fc_buf_addf(o, " <b>%s</b>", s_ranges[i][1]);
            continue;
        }
        fc_buf_add_str(o, " <a href=\"/dashboard");
        if (path_tenant) {
            fc_buf_add_str(o, "/");
            s_enc(o, path_tenant);
        }
        fc_buf_addf(o, "?range=%s%s\">%s</a>", s_ranges[i][0], extra ? extra : "", s_ranges[i][1]);
    }
    fc_buf_add_str(o, "</nav>");
}

static void s_card(fc_buf_t *o, const char *label, const char *id, const char *value,
                   const char *note)
{
    fc_buf_addf(o, "<div class=\"card\"><div>%s</div><div class=\"v\"%s%s%s>", label,
                id ? " id=\"" : "", id ? id : "", id ? "\"" : "");
    fc_esc_html(o, value);
    fc_buf_add_str(o, "</div>");
    if (note) {
        fc_buf_add_str(o, "<div class=\"note\">");
        fc_esc_html(o, note);
        fc_buf_add_str(o, "</div>");
    }
    fc_buf_add_str(o, "</div>");
}

//  Tokens by kind as a chart (bars link to the window's report) and a table with the
//  cache hit rate (share of prompt tokens read from cache) and what caching saved.
static void s_html_tokens(fc_buf_t *o, const reporter_report_t *r, const s_link_t *l)
{
    const reporter_sums_t *t = &r->total;
    const char *names[] = {"input", "output", "cache read", "cache write 5m", "cache write 1h"};
    int64_t v[] = {t->input, t->output, t->cache_read, t->cache_write_5m, t->cache_write_1h};
    reporter_svg_item_t items[5];
    fc_buf_t h;
    fc_buf_init(&h);
    s_href(&h, l, "report", "", "");
    fc_buf_add(&h, "", 1);
    for (int i = 0; i < 5; i++)
        items[i] =
            (reporter_svg_item_t){names[i], v[i], h.failed ? NULL : (const char *)h.data, NULL};
    reporter_svg_bars(o, "chart-tokens", "Tokens by kind", REPORTER_SVG_TOKENS, items, 5, 560);
    o->failed |= h.failed;
    fc_buf_free(&h);
}

//  The month's budget burn.
static void s_html_burn(fc_buf_t *o, const reporter_burn_t *b)
{
    char usd[32], usd2[32], pct[48];
    fc_buf_add_str(o, "<h2>Budget burn, month to date</h2><p>");
    if (b->tenants_budgeted == 0)
        fc_buf_add_str(o, "No monthly budget is set (fleetcost budget set --scope monthly). ");
    else
        fc_buf_addf(o, "$%s of $%s (%s%%)%s. ", reporter_usd(b->mtd_nusd, 2, usd),
                    reporter_usd(b->budget_nusd, 2, usd2),
                    reporter_pct(b->mtd_nusd, b->budget_nusd, pct),
                    b->tenants_budgeted < b->tenants ? " (tenants with a budget; the others' "
                                                       "spending is counted too)"
                                                     : "");
    fc_buf_addf(o,
                "Forecast for the month: $%s%s. Each tenant counts its own local month; "
                "day n is the n-th day of each tenant's month; its cost is on the basis its "
                "budget watches (billed unless the budget says list).</p>",
                reporter_usd(b->forecast_nusd, 2, usd),
                b->forecast ? ""
                            : " (some tenants have less than a day of data: their spending "
                              "so far, not projected)");
    reporter_svg_burn(o, "chart-burn", "Budget burn (cumulative)", b->cum, b->days_elapsed,
                      b->days_in_month, b->budget_nusd, b->forecast_nusd, b->thresholds,
                      b->n_thresholds, 900, 280);
}

void reporter_render_dashboard(const reporter_report_t *r, const reporter_burn_t *burn,
                               const char *range, fc_buf_t *o)
{
    bool all = strcmp(r->tenant, "*") == 0;
    char usd[32], usd2[32], pct[48], title[256], note[160];
    s_link_t link = {r->tenant, range}, *l = &link;
    //  Today is each tenant's own local today; the live stream reports the same sum and
    //  the same key (the sum of the tenants' today day numbers), and the page reloads
    //  when any tenant's today moves on.
    int64_t today = r->today.billed_nusd, today_key = 0, d;
    bool billed = s_billed_shown(r);
    for (size_t i = 0; i < r->spans_n; i++)
        if (fc_date_parse(r->spans[i].today, &d) == 0)
            today_key += d;
    snprintf(title, sizeof title, "fleetcost dashboard: %s", all ? "all tenants" : r->tenant);
    s_html_head(o, title);
    fc_buf_add_str(o, "<h1>");
    fc_esc_html(o, title);
    fc_buf_add_str(o, "</h1>");
    s_html_ranges(o, all ? NULL : r->tenant, range, NULL);
    //  data-* carry the exact baseline the live updates add to (nano-USD integers, so
    //  the page can add with BigInt and never round).
    fc_buf_add_str(o, "<div id=\"live\" data-tenant=\"");
    fc_esc_html(o, all ? "" : r->tenant);
    fc_buf_addf(o,
                "\" data-day=\"%s\" data-today-key=\"%lld\" data-today-nusd=\"%lld\" "
                "data-total-nusd=\"%lld\" data-mtd-nusd=\"%lld\"><p>%s, %s to %s (%s). Live: "
                "<span id=\"live-state\">connecting</span>.</p>",
                all || r->spans_n == 0 ? "" : r->spans[0].today, (long long)today_key,
                (long long)today, (long long)r->total.billed_nusd, (long long)burn->mtd_nusd,
                s_range_label(range), r->from, r->to,
                all ? "each tenant's own days and today, in its time zone" : r->tz);
    s_html_windows(o, r);
    fc_buf_add_str(o, "<div class=\"cards\">");
    if (billed)
        snprintf(note, sizeof note, "%s; list $%s", s_range_label(range),
                 reporter_usd(r->total.cost_nusd, 2, usd));
    else
        snprintf(note, sizeof note, "%s", s_range_label(range));
    snprintf(usd2, sizeof usd2, "$%s", reporter_usd(r->total.billed_nusd, 2, usd));
    s_card(o, billed ? "billed cost" : "cost", "total-range", usd2, note);
    snprintf(usd2, sizeof usd2, "$%s", reporter_usd(today, 2, usd));
    s_card(o, billed ? "billed today" : "cost today", "total-today", usd2,
           all ? "each tenant's own today" : NULL);
    snprintf(usd2, sizeof usd2, "$%s", reporter_usd(burn->mtd_nusd, 2, usd));
    if (burn->tenants_budgeted)
        snprintf(note, sizeof note, "%s%% of $%s",
                 reporter_pct(burn->mtd_nusd, burn->budget_nusd, pct),
                 reporter_usd(burn->budget_nusd, 2, usd));
    s_card(o, "month to date", "total-mtd", usd2, burn->tenants_budgeted ? note : "no budget");
    snprintf(note, sizeof note, "%lld", (long long)r->agents_active);
    s_card(o, "active agents", "agents-active", note, NULL);
    snprintf(note, sizeof note, "%lld", (long long)r->tasks_completed);
    s_card(o, "tasks completed", "tasks-completed", note, NULL);
    snprintf(note, sizeof note, "%s%%",
             reporter_pct(r->total.cache_read, s_prompt(&r->total), pct));
    s_card(o, "cache hit rate", "cache-hit", note, "of prompt tokens read from cache");
    snprintf(usd2, sizeof usd2, "$%s", reporter_usd(r->cache_read_saved_nusd, 2, usd));
    snprintf(note, sizeof note, "writes cost $%s extra",
             reporter_usd(r->cache_write_premium_nusd, 2, usd));
    s_card(o, "caching saved", "cache-saved", usd2, note);
    fc_buf_add_str(o, "</div></div><div id=\"figures\"><h2>Cost trend</h2>");
    s_html_trend(o, r, "chart-trend", 1100, l);
    fc_buf_add_str(o, "<div class=\"charts\">");
    if (all)
        s_html_bars(o, r, "chart-tenant", "Cost by tenant", &r->tenants, l, "tenant");
    s_html_bars(o, r, "chart-agent-type", "Cost by agent type", &r->agent_types, l, "agent_type");
    s_html_bars(o, r, "chart-model", "Cost by model", &r->models, l, "model");
    s_html_tokens(o, r, l);
    fc_buf_add_str(o, "</div>");
    s_html_burn(o, burn);
    const reporter_sums_t *t = &r->total;
    fc_buf_addf(o,
                "<h2>Tokens and caching</h2><table><tr><th>tokens</th><th class=\"n\">input</th>"
                "<th class=\"n\">output</th><th class=\"n\">cache read</th>"
                "<th class=\"n\">cache write 5m</th><th class=\"n\">cache write 1h</th>"
                "<th class=\"n\">cache hit rate</th><th class=\"n\">reads saved (USD)</th>"
                "<th class=\"n\">writes cost extra (USD)</th></tr><tr><td>%s</td>"
                "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>"
                "<td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%s%%</td>"
                "<td class=\"n\">%s</td><td class=\"n\">%s</td></tr></table>",
                s_range_label(range), (long long)t->input, (long long)t->output,
                (long long)t->cache_read, (long long)t->cache_write_5m,
                (long long)t->cache_write_1h, reporter_pct(t->cache_read, s_prompt(t), pct),
                reporter_usd(r->cache_read_saved_nusd, 2, usd),
                reporter_usd(r->cache_write_premium_nusd, 2, usd2));
    if (all)
        s_html_rows(o, r, "Cost by tenant", "tenant", &r->tenants, false, l, "tenant");
    s_html_rows(o, r, "Cost by model", "model", &r->models, false, l, "model");
    s_html_rows(o, r, "Cost by agent type", "agent type", &r->agent_types, false, l, "agent_type");
    s_html_rows(o, r, "Cost by kind", "kind", &r->kinds, false, l, "kind");
    s_html_rows(o, r, "Cost by agent (top)", "agent", &r->agents, true, l, "agent");
    fc_buf_add_str(o, "<h2>Recent alerts</h2>");
    s_html_alerts(o, r);
    fc_buf_add_str(o, "<h2>Most expensive tasks</h2>");
    s_html_tasks(o, r, r->tasks, r->tasks_n, false, l);
    fc_buf_add_str(o, "<h2>Reports</h2><ul>");
    const char *periods[] = {"daily", "weekly", "monthly", range};
    static const char *formats[] = {"html", "text", "csv", "json"};
    for (int p = 0; p < 4; p++) {
        fc_buf_addf(o, "<li>%s:", p == 3 ? s_range_label(range) : periods[p]);
        for (int f = 0; f < 4; f++) {
            fc_buf_addf(o, " <a href=\"/dashboard/-/report?period=%s&amp;format=%s", periods[p],
                        formats[f]);
            if (!all) {
                fc_buf_add_str(o, "&amp;tenant=");
                s_enc(o, r->tenant);
            }
            fc_buf_addf(o, "\">%s</a>", formats[f]);
        }
        fc_buf_add_str(o, "</li>");
    }
    //  Read from a standby: say how far behind (SCALING.md). Inside #figures, so that a
    //  live redraw brings the lag up to date too.
    if (r->reader_lag.standby)
        fc_buf_addf(o,
                    "</ul><footer id=\"replica\" data-replay-lag-ms=\"%lld\">Read from a standby, "
                    "%lld ms behind the primary.</footer>",
                    (long long)r->reader_lag.lag_ms, (long long)r->reader_lag.lag_ms);
    else
        fc_buf_add_str(o, "</ul>");
    fc_buf_add_str(o, "</div><script src=\"/dashboard/-/app.js\"></script></body></html>\n");
}

// ---------------------------------------------------------------------------------------
// Drill-down pages

void reporter_render_drill(const reporter_drill_t *d, const char *range, fc_buf_t *o)
{
    bool all = strcmp(d->tenant, "*") == 0;
    char title[512], usd[32], pct[48];
    s_link_t link = {d->tenant, range};
    static const char *names[][2] = {{"agent", "agent"},
                                     {"task", "task"},
                                     {"agent_type", "agent type"},
                                     {"model", "model"},
                                     {"kind", "cost kind"}};
    const char *dname = d->dim;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(names[i][0], d->dim) == 0)
            dname = names[i][1];
    snprintf(title, sizeof title, "fleetcost %s %s, %s", dname, d->key[0] ? d->key : "(none)",
             all ? "all tenants" : d->tenant);
    s_html_head(o, title);
    fc_buf_add_str(o, "<h1>");
    fc_esc_html(o, title);
    fc_buf_add_str(o, "</h1><p><a href=\"/dashboard");
    if (!all) {
        fc_buf_add_str(o, "/");
        s_enc(o, d->tenant);
    }
    fc_buf_addf(o, "?range=%s\">back to the dashboard</a></p>", range);
    fc_buf_t extra;
    fc_buf_init(&extra);
    fc_buf_addf(&extra, "&amp;dim=%s&amp;id=", d->dim);
    s_enc(&extra, d->key);
    if (!all) {
        fc_buf_add_str(&extra, "&amp;tenant=");
        s_enc(&extra, d->tenant);
    }
    fc_buf_add(&extra, "", 1);
    //  The picker of a drill-down page stays on it.
    fc_buf_add_str(o, "<nav class=\"ranges\">Range:");
    for (size_t i = 0; i < sizeof s_ranges / sizeof s_ranges[0]; i++) {
        if (strcmp(s_ranges[i][0], range) == 0)
            fc_buf_addf(o, " <b>%s</b>", s_ranges[i][1]);
        else if (!extra.failed)
            fc_buf_addf(o, " <a href=\"/dashboard/-/drill?range=%s%s\">%s</a>", s_ranges[i][0],
                        (const char *)extra.data, s_ranges[i][1]);
    }
    fc_buf_add_str(o, "</nav>");
    o->failed |= extra.failed;
    fc_buf_free(&extra);
    fc_buf_addf(o, "<p>%s, %s to %s (%s).</p>", s_range_label(range), d->from, d->to,
                all ? "each tenant's own days, in its time zone" : "tenant-local");
    const reporter_sums_t *t = &d->total;
    bool billed = false;
    for (size_t i = 0; i < d->days.n && !billed; i++)
        billed = d->days.v[i].s.billed_nusd != d->days.v[i].s.cost_nusd;
    fc_buf_addf(o,
                "<div class=\"cards\" id=\"drill\" data-cost-nusd=\"%lld\" "
                "data-billed-nusd=\"%lld\">",
                (long long)t->cost_nusd, (long long)t->billed_nusd);
    snprintf(title, sizeof title, "$%s", reporter_usd(t->billed_nusd, 2, usd));
    char lnote[64];
    snprintf(lnote, sizeof lnote, "list $%s", reporter_usd(t->cost_nusd, 2, usd));
    s_card(o, billed ? "billed cost" : "cost", "drill-cost", title, billed ? lnote : NULL);
    snprintf(title, sizeof title, "%lld", (long long)t->events);
    s_card(o, "events", NULL, title, NULL);
    snprintf(title, sizeof title, "%s%%", reporter_pct(t->cache_read, s_prompt(t), pct));
    s_card(o, "cache hit rate", NULL, title, NULL);
    fc_buf_add_str(o, "</div>");
    if (d->facts_n) {
        fc_buf_add_str(o, "<h2>About it</h2><ul>");
        for (size_t i = 0; i < d->facts_n; i++) {
            fc_buf_add_str(o, "<li>");
            fc_esc_html(o, d->facts[i]);
            fc_buf_add_str(o, "</li>");
        }
        fc_buf_add_str(o, "</ul>");
    }
    //  The trend over the window, each date linked to its daily report.
    reporter_report_t r = {0};
    snprintf(r.tenant, sizeof r.tenant, "%s", d->tenant);
    snprintf(r.from, sizeof r.from, "%s", d->from);
    snprintf(r.to, sizeof r.to, "%s", d->to);
    r.days = d->days;
    r.total = d->total;
    fc_buf_add_str(o, "<h2>Cost trend</h2>");
    s_html_trend(o, &r, "chart-drill-trend", 1100, &link);
    const char *kinds[] = {"input", "output", "cache read", "cache write 5m", "cache write 1h"};
    int64_t v[] = {t->input, t->output, t->cache_read, t->cache_write_5m, t->cache_write_1h};
    reporter_svg_item_t items[5];
    for (int i = 0; i < 5; i++)
        items[i] = (reporter_svg_item_t){kinds[i], v[i], NULL, NULL};
    fc_buf_add_str(o, "<div class=\"charts\">");
    reporter_svg_bars(o, "chart-drill-tokens", "Tokens by kind", REPORTER_SVG_TOKENS, items, 5,
                      560);
    if (all)
        s_html_bars(o, &r, "chart-drill-tenant", "Cost by tenant", &d->tenants, &link, "tenant");
    fc_buf_add_str(o, "</div>");
    if (all)
        s_html_rows(o, &r, "Cost by tenant", "tenant", &d->tenants, false, &link, "tenant");
    s_html_rows(o, &r, "Cost by day", "day", &d->days, false, &link, "day");
    if (d->related_n) {
        bool agent = strcmp(d->dim, "agent") == 0;
        fc_buf_addf(o, "<h2>%s</h2><ul>",
                    agent ? "Tasks it worked on" : "Agents that worked on it");
        for (size_t i = 0; i < d->related_n; i++) {
            fc_buf_add_str(o, "<li><a href=\"");
            s_href(o, &link, agent ? "task" : "agent", d->tenant, d->related[i]);
            fc_buf_add_str(o, "\">");
            fc_esc_html(o, d->related[i]);
            fc_buf_add_str(o, "</a></li>");
        }
        fc_buf_add_str(o, "</ul>");
    }
    fc_buf_add_str(o, "</body></html>\n");
}

// ---------------------------------------------------------------------------------------
// The dashboard's script

//  Cards move with every live total (exact: nano-USD in BigInt). Every other figure
//  that changes today (trend, bars, tables, burn) is drawn by the server: while spending
//  moves, the page re-reads itself at most every 10 s and swaps in its figures. Without
//  the script the page is complete as served.
static const char *s_dashboard_js =
    "(function () {\n"
    "  'use strict';\n"
    "  var live = document.getElementById('live');\n"
    "  if (!live || !window.EventSource || !window.BigInt) return;\n"
    "  var tenant = live.dataset.tenant, day = live.dataset.day, key = live.dataset.todayKey;\n"
    "  var base = {};\n"
    "  function rebase(el) {\n"
    "    base.today = BigInt(el.dataset.todayNusd); base.total = BigInt(el.dataset.totalNusd);\n"
    "    base.mtd = BigInt(el.dataset.mtdNusd);\n"
    "  }\n"
    "  rebase(live);\n"
    "  function usd(n) {\n"
    "    var neg = n < 0n; if (neg) n = -n;\n"
    "    var cents = (n + 5000000n) / 10000000n;\n"
    "    return (neg ? '-$' : '$') + (cents / 100n).toString() + '.' +\n"
    "      (cents % 100n).toString().padStart(2, '0');\n"
    "  }\n"
    "  function set(id, text) { var e = document.getElementById(id); if (e) e.textContent = text; "
    "}\n"
    "  var pending = null, last = 0, shown = base.today;\n"
    "  function show(today) {\n"
    "    shown = today;\n"
    "    set('total-today', usd(today));\n"
    "    set('total-range', usd(base.total - base.today + today));\n"
    "    set('total-mtd', usd(base.mtd - base.today + today));\n"
    "  }\n"
    "  function refresh() {\n"
    "    pending = null; last = Date.now();\n"
    "    fetch(location.pathname + location.search, {credentials: 'same-origin'})\n"
    "      .then(function (r) { return r.ok ? r.text() : null; })\n"
    "      .then(function (text) {\n"
    "        if (!text) return;\n"
    "        var doc = new DOMParser().parseFromString(text, 'text/html');\n"
    "        var fresh = doc.getElementById('figures'), cur = document.getElementById('figures');\n"
    "        var nl = doc.getElementById('live');\n"
    "        if (!fresh || !cur || !nl) return;\n"
    "        cur.replaceWith(document.importNode(fresh, true));\n"
    "        rebase(nl);\n"
    "        ['agents-active', 'tasks-completed', 'cache-hit', 'cache-saved'].forEach(function "
    "(id) {\n"
    "          var e = doc.getElementById(id); if (e) set(id, e.textContent);\n"
    "        });\n"
    "        show(shown > base.today ? shown : base.today);\n"
    "        set('live-state', 'figures redrawn ' + new Date().toLocaleTimeString());\n"
    "      }).catch(function () {});\n"
    "  }\n"
    "  var q = tenant ? '?day=' + encodeURIComponent(day) + '&tenant=' + "
    "encodeURIComponent(tenant) : '';\n"
    "  var es = new EventSource('/dashboard/-/events' + q);\n"
    "  es.addEventListener('totals', function (e) {\n"
    "    var d = JSON.parse(e.data);\n"
    "    if (d.today_key !== key) { location.reload(); return; }\n"
    "    var today = BigInt(d.today_nusd);\n"
    "    show(today);\n"
    "    set('live-state', 'updated ' + new Date().toLocaleTimeString());\n"
    "    if (today !== base.today && !pending)\n"
    "      pending = setTimeout(refresh, Math.max(0, 10000 - (Date.now() - last)));\n"
    "  });\n"
    "  es.onerror = function () { set('live-state', 'reconnecting'); };\n"
    "})();\n";

const char *reporter_dashboard_js(void)
{
    return s_dashboard_js;
}
