/*  reporter_report: the report engine shared by fleetcost-reporter and `fleetcost report`.

    A report covers whole tenant-local days [from, to] of one tenant, or of every tenant
    ("*", each in its own time zone). reporter_report_gather reads it with parameterised
    SQL, inside the caller's transaction, into a small in-memory model whose size does not
    depend on the range (top-N lists, one row per day, per agent type and per model);
    reporter_render (reporter_render.c) writes the model as text, CSV, JSON or HTML. The
    report's sums are grouped here, not in SQL (issue #19): Postgres streams the open days'
    rows, the closed days' rollup rows and the closed days' totals, and the reporter adds
    them into one group per (dimension, key) of the window, about 300 bytes each for the
    time of the request. Agents and tasks of the closed days are held so up to 20,000
    groups; a window with more (a year of a busy fleet) reads them again sorted by key
    and keeps only the top N, so memory stays bounded (110,000 tasks and as many agents:
    29 MB at peak, against 111 MB when every group was held).

    Where the figures come from, per tenant and day: a day with a final 'total' row in
    cost_summaries is read from cost_summaries (all its dimensions); every other day is
    read from events. Rollups make long ranges cheap and survive retention; events make
    today and not-yet-rolled-up days exact. Figures that only events carry (agent-reported
    cost, request sizes) cover the event-backed days only.

    Money is int64 nano-USD throughout; text is made only by the renderers. */
#ifndef REPORTER_REPORT_H
#define REPORTER_REPORT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_buf.h"
#include "fc_escape.h"
#include "fc_json_write.h"
#include "reporter_reconcile.h"
#include "reporter_pool.h"

#define REPORTER_KEY_MAX  160 //  longest key kept (tenant, agent, task, model ...), with NUL
#define REPORTER_TEXT_MAX 256 //  longest free text kept (titles, alert texts), with NUL
#define REPORTER_TOP_MAX  100 //  bound on --top

//  Sums over a set of events (or rollup rows). cost_nusd is list cost (the price
//  catalog's); billed_nusd is billed cost, under each tenant's rate card (0016: an event's
//  billed_nusd, NULL read as its list cost; the rollups' billed_nusd), so it equals
//  cost_nusd wherever no rate card was in force. The other money figures are list.
typedef struct {
    int64_t cost_nusd;                                                 //  list
    int64_t billed_nusd;                                               //  billed
    int64_t input, output, cache_read, cache_write_5m, cache_write_1h; //  tokens
    int64_t events, unpriced_events;
    int64_t reported_nusd;          //  agent-reported cost, where reported
    int64_t reported_computed_nusd; //  our cost of those same events
    int64_t reported_events;
    int64_t small_requests, small_cost_nusd; //  usage requests under the "small" size
} reporter_sums_t;

//  One grouped row: k1 is the key (day, agent type, model, kind, tenant); for agents,
//  tasks and tenant+kind rows k1 is the tenant and k2 the agent, task or kind.
typedef struct {
    char k1[REPORTER_KEY_MAX], k2[REPORTER_KEY_MAX];
    reporter_sums_t s;
} reporter_row_t;

typedef struct {
    reporter_row_t *v;
    size_t n, cap;
    int64_t total_rows; //  rows before the top-N cut (agents, tasks)
} reporter_rows_t;

//  A top task with what the dimension tables know about it.
typedef struct {
    char tenant[REPORTER_KEY_MAX], task[REPORTER_KEY_MAX];
    char title[REPORTER_TEXT_MAX], type[REPORTER_KEY_MAX], status[64];
    char agents[REPORTER_TEXT_MAX]; //  up to five agent ids, space separated
    int64_t agents_n;
    int64_t seconds_to_complete; //  -1 when not completed / unknown
    int64_t median_type_nusd;    //  outliers: median cost of the task's type, else 0
    reporter_sums_t s;
} reporter_task_t;

typedef struct {
    char tenant[REPORTER_KEY_MAX], fired_at[40], kind[24], scope[24], period_key[32];
    char subject[REPORTER_KEY_MAX], state[16], text[REPORTER_TEXT_MAX];
    int64_t threshold_pct, value_nusd, budget_nusd;
} reporter_alert_t;

//  A recommendation and the figure it rests on.
typedef struct {
    char code[32];
    char text[512];
} reporter_reco_t;

#define REPORTER_ALERTS_MAX 50
#define REPORTER_RECOS_MAX  8

//  One tenant's part of a window: an inclusive range of its local days, and its today.
typedef struct {
    char tenant[64];
    char tz[64];
    char from[11], to[11], today[11];
} reporter_span_t;

//  The days a view covers, tenant by tenant. A named tenant's window is one span. An
//  all-tenant view ("*") is the union of every tenant's span in its own zone: dates that
//  were given (date, from/to) are the same local dates for every tenant; a default or
//  relative period (the last complete day/week/month, the last N days, the month to
//  date) is resolved from each tenant's own today, so tenants east and west of UTC keep
//  their own "today" and their own "last 30 days". Every all-tenant figure is then the
//  sum of the tenants' figures over their own spans.
typedef struct {
    char tenant[64];    //  tenant id or "*"
    reporter_span_t *v; //  one span per tenant, by tenant id
    size_t n;
    bool per_tenant;       //  the spans differ between tenants
    char from[11], to[11]; //  the union: earliest from, latest to
    //  The spans as Postgres array literals (tenant ids, froms, tos): parameters $1..$3
    //  of every query over the window.
    char *arr_tenants, *arr_from, *arr_to;
} reporter_window_t;

typedef struct {
    //  what was asked
    char tenant[REPORTER_KEY_MAX]; //  tenant id or "*"
    char tenant_name[REPORTER_TEXT_MAX];
    char tz[64];
    char period[16]; //  daily | weekly | monthly | range
    char from[11], to[11];
    int top_n;
    char generated_at[40];
    int64_t days_final, days_events; //  tenant-days read from rollups / from events
    //  Set before gathering: also read non-final days from the aggregator's in-day
    //  rollups (cost only below the total row, as of their last write) instead of raw
    //  events. The dashboard does; reports do not. Their breakdown rows carry list cost
    //  only (billed_nusd 0, RECONCILE.md §4.4), so with in-day rollups billed is whole only
    //  in total, today, days, tenants and tenants_today (reporter_billed_whole).
    bool inday_rollups;
    reporter_span_t *spans; //  each tenant's window (a copy of the gathered window's)
    size_t spans_n;
    bool per_tenant;           //  the spans differ between tenants
    reporter_lag_t reader_lag; //  the dashboard's server, when it is a standby

    reporter_sums_t total;
    //  Each tenant's spending on its own local today (within its span): k1 tenant, k2 the
    //  day; today is their sum. Both empty/zero when no span reaches its tenant's today.
    reporter_sums_t today;
    reporter_rows_t tenants_today;
    reporter_rows_t days, agent_types, models, agents, kinds, tenants, tenant_kinds;
    //  Cost by speed (standard / fast) and by provider (PROTOCOL.md §12 keys).
    reporter_rows_t speeds, providers;
    reporter_task_t *tasks; //  top tasks by cost
    size_t tasks_n;
    int64_t tasks_total; //  distinct tasks with cost
    reporter_task_t *outliers;
    size_t outliers_n;
    reporter_alert_t alerts[REPORTER_ALERTS_MAX];
    size_t alerts_n;
    int64_t alerts_total;
    int64_t agents_active, agents_spawned, agents_idle, runtime_seconds;
    int64_t tasks_completed;
    //  What caching saved, each event at the price version in force at its time and its
    //  own tier (fc_price_cache_effect): cache reads billed at the read rate instead of
    //  the input rate; and the premium paid for cache writes above the input rate.
    int64_t cache_read_saved_nusd, cache_write_premium_nusd;
    reporter_reco_t recos[REPORTER_RECOS_MAX];
    size_t recos_n;
    reporter_recon_t recon; //  the provider's bill against fleetcost (fleetcost reconcile)
} reporter_report_t;

typedef enum {
    REPORTER_FMT_TEXT,
    REPORTER_FMT_CSV,
    REPORTER_FMT_JSON,
    REPORTER_FMT_HTML
} reporter_fmt_t;

//  The longest range a report or cost query may cover, in days.
#define REPORTER_MAX_DAYS 3660

//  Parses "text" | "csv" | "json" | "html". Returns 0 or -1.
int reporter_fmt_parse(const char *s, reporter_fmt_t *fmt);
//  MIME type of a format.
const char *reporter_fmt_mime(reporter_fmt_t fmt);

//  The days a report may be asked for, 1970-01-01 through 9998-12-31 (so that the week
//  or month around one still prints as YYYY-MM-DD). Dates are read with fc_date_parse,
//  which checks the calendar (2026-02-31 is refused); this is the reporter's range.
#define REPORTER_DAY_LAST 2932531 //  9998-12-31
bool reporter_day_in_range(int64_t day);

//  Resolves a period to an inclusive day range. period is daily | weekly | monthly |
//  range | <N>d | mtd. With date (may be NULL/empty): the day, the ISO week
//  (Monday..Sunday) or the month containing it; without: the last complete one before
//  today (today given as days since epoch). <N>d (1..REPORTER_MAX_DAYS) is the N days
//  ending today, mtd the month to date. range needs from and to (and no date). On error
//  returns -1 and writes why (suitable for a 400 response) into err.
int reporter_period_resolve(const char *period, const char *date, const char *from, const char *to,
                            int64_t today, char *from_out, char *to_out, char *err, size_t errsize);
//  True if period is one reporter_period_resolve knows (the syntax only).
bool reporter_period_valid(const char *period);

//  TESTING: runs the report engine as if the UTC time now were clock_us (microseconds
//  since the epoch; time goes on from there); 0 restores the real clock. Call before
//  any transaction begins (start-up). Each transaction then reads "now" from the
//  setting fleetcost.now, so every day and window follows the switched clock.
void reporter_clock_set(int64_t clock_us);
//  The report engine's time now, microseconds since the epoch (UTC).
int64_t reporter_clock_now(void);
//  TESTING: the most agent and task groups of the closed days a report sums as their rows
//  come before it reads them sorted instead (0: the default, 20,000). Call at start-up.
void reporter_report_held_set(size_t groups);

//  SQL: the report engine's "now" (the testing clock's when set, else now()).
#define REPORTER_SQL_NOW                                                                           \
    "coalesce(nullif(current_setting('fleetcost.now', true), '')::timestamptz, now())"
//  SQL: the CTE win(tenant_id, tz, lo, hi, today) of a window's spans, from parameters
//  $1..$3 (arr_tenants, arr_from, arr_to); today is the tenant's local today as of the
//  report engine's clock (fc_spend_windows, migration 0017).
#define REPORTER_SQL_WINDOW                                                                        \
    "win AS (SELECT * FROM fc_spend_windows($1::text[], $2::date[], $3::date[], " REPORTER_SQL_NOW \
    "))"

//  Resolves the window of tenant (or "*") for a period as reporter_period_resolve takes
//  it, with each tenant's today read in its zone (inside the caller's transaction).
//  Returns 0; -1 for a bad parameter (why in err); -2 on a database error (logged).
int reporter_window_resolve(reporter_window_t *w, PGconn *conn, const char *module,
                            const char *tenant, const char *period, const char *date,
                            const char *from, const char *to, char *err, size_t errsize);
//  Frees what the window holds (the struct itself is the caller's).
void reporter_window_free(reporter_window_t *w);
//  Writes the members "per_tenant_windows":..,"windows":[{"tenant","tz","from","to",
//  "today"},..] (the spans) into the JSON object open in w.
void reporter_window_json(fc_jw_t *w, const reporter_span_t *v, size_t n, bool per_tenant);

//  Begins a read-only, repeatable-read transaction scoped to tenant (or "*") through
//  set_config('fleetcost.tenant', ..., true): under the reader role, row-level security
//  then shows only that tenant's rows. Returns 0 or -1 (logged).
int reporter_tx_begin(PGconn *conn, const char *scope);
//  Commits (or, after an error, rolls back) the transaction.
void reporter_tx_end(PGconn *conn, bool ok);

//  Result of a gather.
typedef enum { REPORTER_OK = 0, REPORTER_ERROR = -1, REPORTER_NOT_FOUND = -2 } reporter_rc_t;

//  Allocates an empty report; NULL on OOM.
reporter_report_t *reporter_report_new(void);
//  Destroys and NULLs the pointer.
void reporter_report_destroy(reporter_report_t **self_p);

//  Reads the report over window w (of one tenant or "*"), inside the caller's
//  transaction. top_n bounds the task and agent lists. REPORTER_NOT_FOUND when the
//  tenant does not exist (or is not visible), REPORTER_ERROR on an SQL error (logged
//  under module).
reporter_rc_t reporter_report_gather(reporter_report_t *self, PGconn *conn, const char *module,
                                     const reporter_window_t *w, const char *period, int top_n);

//  True when rows (a list of r) carries billed cost for every day it covers: always in a
//  report; on the dashboard (inday_rollups) only the lists read from 'total' rollup rows.
bool reporter_billed_whole(const reporter_report_t *r, const reporter_rows_t *rows);

//  Renders the report into out (appends).
void reporter_render(const reporter_report_t *r, reporter_fmt_t fmt, fc_buf_t *out);

//  The cost query behind /api/v1/costs and billing: one row per group over the hybrid
//  source (rollups for final days, events otherwise). group is one of day, agent_type,
//  model, agent, task, kind, tenant, tenant_kind. Sends the statement (PQsendQueryParams,
//  caller reads the rows, e.g. in single-row mode). Columns: k1, k2, cost_nusd (list),
//  input, output, cache_read, cache_write_5m, cache_write_1h, events, unpriced_events,
//  billed_nusd (10). Rows by key, or by list cost, largest first. Returns 0, or -1
//  (logged) if group is unknown or the send failed.
int reporter_costs_send(PGconn *conn, const char *module, const reporter_window_t *w,
                        const char *group);

//  Today's date (tenant-local, UTC for "*") as days since the epoch, read from the
//  report engine's clock. Returns 0 or -1.
int reporter_today(PGconn *conn, const char *module, const char *tenant, int64_t *days);

//  The live figure of a dashboard: the billed cost of tenant (or "*") on local day `day`, or,
//  with day NULL, on each tenant's own local today. today_key changes whenever any
//  tenant's today changes (the sum of the tenants' today day numbers), latest is the
//  latest local today. Returns 0 or -1 (logged).
int reporter_live_total(PGconn *conn, const char *module, const char *tenant, const char *day,
                        int64_t *nusd, int64_t *today_key, char latest[11]);

// ---------------------------------------------------------------------------------------
// Dashboard extras: budget burn and drill-down pages

#define REPORTER_THRESHOLDS_MAX 8

//  Month to date against the monthly budget. Each tenant counts its own local month
//  (mtd) and its own budget (its 'monthly' row, else the '*' default); an all-tenant
//  burn adds them up day by day of each tenant's own month ("day n of the month"). Each
//  tenant's cost is on the basis its monthly budget watches (budgets.basis, 0016: billed
//  unless the budget says list; billed for a tenant without a budget), as the alerter
//  compares it (alerter_budget_spend).
typedef struct {
    size_t days_in_month;  //  the longest month among the tenants
    size_t days_elapsed;   //  days begun so far, today included (the most among the tenants)
    int64_t cum[31];       //  cost to the end of day n+1, nano-USD
    int64_t mtd_nusd;      //  cost so far (= cum[days_elapsed - 1])
    int64_t budget_nusd;   //  sum of the tenants' monthly budgets
    int64_t forecast_nusd; //  sum of the tenants' month-end forecasts (alerter_forecast)
    bool forecast;         //  every tenant with spending had a forecast (a day of data)
    int thresholds[REPORTER_THRESHOLDS_MAX]; //  percent of the budget, ascending
    size_t n_thresholds;
    int64_t tenants, tenants_budgeted;
} reporter_burn_t;

//  Reads the month-to-date burn of tenant (or "*") inside the caller's transaction; with
//  inday, in-day rollups stand for their day as on the dashboard. 0 or -1 (logged).
int reporter_burn_gather(reporter_burn_t *b, PGconn *conn, const char *module, const char *tenant,
                         bool inday);

//  Renders the dashboard page from the report of its range (each tenant's own 7, 30, 90
//  days or month to date) and the month's budget burn: a range picker, cards, SVG charts
//  (trend, tenants, agent types, models, tokens by kind, burn) whose bars and rows link
//  to the filtered report or drill-down page, alerts, top tasks, report links, and the
//  script that keeps today's figures live from /dashboard/-/events.
void reporter_render_dashboard(const reporter_report_t *r, const reporter_burn_t *burn,
                               const char *range, fc_buf_t *out);
//  The dashboard's script (/dashboard/-/app.js): live cards, and the page's other
//  figures redrawn by the server while today's spending moves.
const char *reporter_dashboard_js(void);
//  True if range is one the dashboard offers (7d, 30d, 90d, mtd).
bool reporter_dashboard_range_valid(const char *range);

//  What a drill-down page shows: one agent, task, agent type, model or cost kind over a
//  window. Figures are exact (rollup rows of the dimension for final days, events
//  otherwise); by_day is the cost by tenant-local date.
typedef struct {
    char dim[16];                  //  agent | task | agent_type | model | kind
    char key[REPORTER_KEY_MAX];    //  its id
    char tenant[REPORTER_KEY_MAX]; //  the view's tenant or "*"
    char period[16];
    char from[11], to[11];
    reporter_span_t *spans;
    size_t spans_n;
    bool per_tenant;
    reporter_sums_t total;
    reporter_rows_t days;    //  k1 day
    reporter_rows_t tenants; //  k1 tenant (agent types, models and kinds span tenants)
    //  What the dimension tables know (agents, tasks): "name: value" lines.
    char facts[12][REPORTER_TEXT_MAX];
    size_t facts_n;
    //  Related ids: an agent's tasks, a task's agents (up to 50).
    char related[50][REPORTER_KEY_MAX];
    size_t related_n;
} reporter_drill_t;

//  Gathers a drill-down page of (dim, key) over window w. REPORTER_NOT_FOUND for an
//  unknown dim, REPORTER_ERROR on an SQL error (logged).
reporter_rc_t reporter_drill_gather(reporter_drill_t *d, PGconn *conn, const char *module,
                                    const reporter_window_t *w, const char *period, const char *dim,
                                    const char *key);
//  Frees what the drill-down holds.
void reporter_drill_free(reporter_drill_t *d);
//  Renders the drill-down page.
void reporter_render_drill(const reporter_drill_t *d, const char *range, fc_buf_t *out);

//  part/whole in percent with one decimal ("12.5"); "0.0" when whole is 0.
const char *reporter_pct(int64_t part, int64_t whole, char buf[48]);
//  USD text of nusd with the given decimals (0..9), e.g. "12.34" / "-0.000000001".
const char *reporter_usd(int64_t nusd, int decimals, char buf[32]);

#endif
