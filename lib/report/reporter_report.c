/*  reporter_report: gathers a report into its model (see reporter_report.h). */
#include "reporter_report.h"

#include "fc_time.h"

#include "alerter_rules.h"

#include <assert.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_price_pg.h"
#include "fc_strmap.h"

// ---------------------------------------------------------------------------------------
// Parameters: formats, tenants, dates, periods

int reporter_fmt_parse(const char *s, reporter_fmt_t *fmt)
{
    static const char *names[] = {"text", "csv", "json", "html"};
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, names[i]) == 0) {
            *fmt = (reporter_fmt_t)i;
            return 0;
        }
    return -1;
}

const char *reporter_fmt_mime(reporter_fmt_t fmt)
{
    switch (fmt) {
    case REPORTER_FMT_CSV:
        return "text/csv; charset=utf-8";
    case REPORTER_FMT_JSON:
        return "application/json";
    case REPORTER_FMT_HTML:
        return "text/html; charset=utf-8";
    default:
        return "text/plain; charset=utf-8";
    }
}

//  Dates as day numbers (lib/fc_time), with int64 parts as this file uses them.
static int64_t s_days_from_civil(int64_t y, int64_t m, int64_t d)
{
    return fc_days_from_civil(y, (int)m, (int)d);
}

static void s_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
    int mm, dd;
    fc_civil_from_days(z, y, &mm, &dd);
    *m = mm;
    *d = dd;
}

bool reporter_day_in_range(int64_t day)
{
    return day >= 0 && day <= REPORTER_DAY_LAST;
}

#define S_PERIOD_EXPECTED "period: expected daily, weekly, monthly, range, mtd or <N>d (N days)"

//  "<N>d" with N in 1..REPORTER_MAX_DAYS: 0 and *n set, else -1.
static int s_ndays(const char *period, int64_t *n)
{
    size_t len = strlen(period);
    if (len < 2 || len > 5 || period[len - 1] != 'd' || period[0] == '0')
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (period[i] < '0' || period[i] > '9')
            return -1;
        v = v * 10 + (period[i] - '0');
    }
    if (v < 1 || v > REPORTER_MAX_DAYS)
        return -1;
    *n = v;
    return 0;
}

bool reporter_period_valid(const char *period)
{
    static const char *const named[] = {"daily", "weekly", "monthly", "range", "mtd"};
    int64_t n;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(period, named[i]) == 0)
            return true;
    return s_ndays(period, &n) == 0;
}

int reporter_period_resolve(const char *period, const char *date, const char *from, const char *to,
                            int64_t today, char *from_out, char *to_out, char *err, size_t errsize)
{
    bool has_date = date && *date, has_from = from && *from, has_to = to && *to;
    int64_t lo, hi, d = today - 1, ndays = 0;
    if (!period || !*period)
        period = has_from || has_to ? "range" : "daily";
    bool relative = strcmp(period, "mtd") == 0 || s_ndays(period, &ndays) == 0;
    if (relative && (has_date || has_from || has_to)) {
        snprintf(err, errsize, "period: %s counts back from today and takes no date, from or to",
                 period);
        return -1;
    }
    if (has_date && (fc_date_parse(date, &d) != 0 || !reporter_day_in_range(d))) {
        snprintf(err, errsize, "date: expected a calendar date YYYY-MM-DD");
        return -1;
    }
    if (ndays > 0) {
        lo = today - ndays + 1;
        hi = today;
    } else if (strcmp(period, "mtd") == 0) {
        int64_t y, m, dd;
        s_civil_from_days(today, &y, &m, &dd);
        lo = s_days_from_civil(y, m, 1);
        hi = today;
    } else if (strcmp(period, "range") == 0 || (has_from || has_to)) {
        if (has_date) {
            snprintf(err, errsize, "date: give either date or from/to, not both");
            return -1;
        }
        if (!has_from || !has_to) {
            snprintf(err, errsize, "%s: a range needs both from and to", has_from ? "to" : "from");
            return -1;
        }
        if (fc_date_parse(from, &lo) != 0 || !reporter_day_in_range(lo)) {
            snprintf(err, errsize, "from: expected a calendar date YYYY-MM-DD");
            return -1;
        }
        if (fc_date_parse(to, &hi) != 0 || !reporter_day_in_range(hi)) {
            snprintf(err, errsize, "to: expected a calendar date YYYY-MM-DD");
            return -1;
        }
        if (hi < lo) {
            snprintf(err, errsize, "to: is before from");
            return -1;
        }
        if (strcmp(period, "range") != 0 && strcmp(period, "daily") != 0 &&
            strcmp(period, "weekly") != 0 && strcmp(period, "monthly") != 0) {
            snprintf(err, errsize, S_PERIOD_EXPECTED);
            return -1;
        }
    } else if (strcmp(period, "daily") == 0) {
        lo = hi = d;
    } else if (strcmp(period, "weekly") == 0) {
        //  1970-01-01 was a Thursday: (days + 3) mod 7 is 0 on Mondays. Without a date,
        //  the last complete week is the one ending on the Sunday before today.
        if (!has_date)
            d = today - ((today + 3) % 7 + 7) % 7 - 1;
        lo = d - ((d + 3) % 7 + 7) % 7;
        hi = lo + 6;
    } else if (strcmp(period, "monthly") == 0) {
        int64_t y, m, dd;
        s_civil_from_days(d, &y, &m, &dd);
        if (!has_date) { //  the month before today's
            s_civil_from_days(today, &y, &m, &dd);
            if (--m == 0) {
                m = 12;
                y--;
            }
        }
        lo = s_days_from_civil(y, m, 1);
        hi = s_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    } else {
        snprintf(err, errsize, S_PERIOD_EXPECTED);
        return -1;
    }
    if (hi - lo + 1 > REPORTER_MAX_DAYS) {
        snprintf(err, errsize, "to: the range is longer than %d days", REPORTER_MAX_DAYS);
        return -1;
    }
    fc_date_format(lo, from_out);
    fc_date_format(hi, to_out);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Clock and transactions

//  The testing clock: an offset from the real clock, set once at start-up.
static _Atomic int64_t s_clock_offset_us;

void reporter_clock_set(int64_t clock_us)
{
    atomic_store(&s_clock_offset_us, clock_us ? clock_us - fc_time_now_us() : 0);
}

int64_t reporter_clock_now(void)
{
    return fc_time_now_us() + atomic_load(&s_clock_offset_us);
}

//  The most agent and task groups of the closed days a report sums as the rows come
//  (about 300 bytes each, some 6 MB); a window with more reads them sorted instead.
#define S_PEOPLE_HELD 20000
static _Atomic size_t s_people_held = S_PEOPLE_HELD;

void reporter_report_held_set(size_t groups)
{
    atomic_store(&s_people_held, groups ? groups : S_PEOPLE_HELD);
}

int reporter_tx_begin(PGconn *conn, const char *scope)
{
    PGresult *res = PQexec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok) {
        fc_error("reporter", "begin: %s", fc_pg_error(conn));
        return -1;
    }
    //  The switched clock travels with the transaction, so that every statement of it
    //  (S_NOW) sees the same "now", as it sees the same now() without a switch.
    char now[FC_TIME_SIZE] = "";
    if (atomic_load(&s_clock_offset_us) != 0)
        fc_time_format(reporter_clock_now(), 6, now, sizeof now);
    //  No JIT: the per-tenant windows (unnest, generate_series) make the planner's cost
    //  estimates of a 50 ms query large enough to compile it, which alone takes 300-500
    //  ms (measured on the 100-tenant set of it_reporter_perf).
    const char *params[] = {scope, now};
    res =
        fc_pg_query(conn, "reporter", "scope",
                    "SELECT set_config('fleetcost.tenant', $1, true),"
                    "       set_config('fleetcost.now', $2, true), set_config('jit', 'off', true)",
                    2, params);
    if (!res) {
        fc_pg_rollback(conn);
        return -1;
    }
    PQclear(res);
    return 0;
}

void reporter_tx_end(PGconn *conn, bool ok)
{
    if (PQtransactionStatus(conn) == PQTRANS_IDLE)
        return;
    if (!ok || PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        fc_pg_rollback(conn);
        return;
    }
    PGresult *res = PQexec(conn, "COMMIT");
    PQclear(res);
}

// ---------------------------------------------------------------------------------------
// The hybrid source

//  Which days come from events, as fc_spend_event_bounds (migration 0017) finds them: a
//  tenant-day with a final 'total' rollup is closed and read from the rollups, every other
//  day of the window is open and read from events. The bounds [t0, t1) of the open days go
//  to the queries as constants so that Postgres prunes the daily event partitions at plan
//  time; a window without open days gets an empty range (t0 = t1), which prunes all of
//  them (a constant false in the WHERE instead makes the planner, under a LEFT JOIN,
//  expand every partition: 100 ms with a year of them).
typedef struct {
    char t0[40], t1[40];
    bool inday;          //  in-day rollups count as covering their day
    int64_t final_days;  //  tenant-days read from rollups
    int64_t events_days; //  calendar days read (at least partly) from events
} s_bounds_t;

static int s_event_bounds(PGconn *conn, const char *module, const reporter_window_t *w, bool inday,
                          s_bounds_t *b)
{
    static const char *sql = "SELECT closed_days, coalesce(t0, 'epoch'), coalesce(t1, 'epoch'),"
                             "       open_days"
                             "  FROM fc_spend_event_bounds($1::text[], $2::date[], $3::date[],"
                             "                             $4::boolean)";
    const char *params[] = {w->arr_tenants, w->arr_from, w->arr_to, inday ? "true" : "false"};
    PGresult *res = fc_pg_query(conn, module, "event bounds", sql, 4, params);
    if (!res)
        return -1;
    b->inday = inday;
    b->final_days = fc_pg_int(res, 0, 0);
    snprintf(b->t0, sizeof b->t0, "%s", PQgetvalue(res, 0, 1));
    snprintf(b->t1, sizeof b->t1, "%s", PQgetvalue(res, 0, 2));
    b->events_days = fc_pg_int(res, 0, 3);
    PQclear(res);
    return 0;
}

//  The parameters of every query over the hybrid source, in this order: $1..$3 the
//  window's spans (tenant ids, first and last tenant-local days), $4 whether in-day
//  rollups stand for their day (reporter_report_t.inday_rollups), $5 / $6 the events'
//  bounds (s_event_bounds). A query's own parameters follow from $7.
#define S_SOURCE_NPARAMS 6
static void s_source_params(const reporter_window_t *w, const s_bounds_t *b,
                            const char *params[S_SOURCE_NPARAMS])
{
    params[0] = w->arr_tenants;
    params[1] = w->arr_from;
    params[2] = w->arr_to;
    params[3] = b->inday ? "true" : "false";
    params[4] = b->t0;
    params[5] = b->t1;
}

//  The CTEs every cost query starts with, over the one definition of spend (0017):
//    win  each tenant of the view with its zone, its days lo..hi and its today
//    fin  the closed tenant-days with their 'total' rollup row (the daily trend)
//    rs   the closed days' rollups summed per (tenant, dimension, key)
//    evd  the open days (fc_spend_open, 0019, 0021): rows that each stand for `events` events
//         (the aggregator's exact in-day groups, and one row per event that arrived
//         since), so sums count sum(events), never count(*); with their tenant-local
//         day, and the cost split keys: speed and provider keyed as the aggregator keys
//         its rollups (PROTOCOL.md §12; a query that reads neither loses the
//         price_versions join, which the planner removes), and whether the request was
//         small.
#define S_SOURCE_ARGS "$1::text[], $2::date[], $3::date[], $4::boolean"
// clang-format off
#define S_SOURCE_CTES                                                                              \
    REPORTER_SQL_WINDOW ","                                                                        \
    " fin AS (SELECT c.*, 'total' AS dimension FROM fc_spend_closed(" S_SOURCE_ARGS ") c),"                                  \
    " rs AS (SELECT * FROM fc_spend_rollups(" S_SOURCE_ARGS ")),"                                  \
    " evd AS (SELECT e.tenant_id, e.day, e.agent_type, e.model_family, e.agent_id, e.task_id,"     \
    "                e.cost_kind, e.cost_nusd, e.billed_nusd, e.input_tokens, e.output_tokens,"    \
    "                e.cache_read_tokens, e.cache_write_5m_tokens, e.cache_write_1h_tokens,"       \
    "                e.unpriced, e.reported, e.reported_cost_nusd, e.price_version,"               \
    "                e.price_tiered, e.speed, coalesce(pv.provider, '') AS provider, e.small,"     \
    "                e.events"                                                                     \
    "           FROM fc_spend_open(" S_SOURCE_ARGS ", $5::timestamptz, $6::timestamptz) e"         \
    "                LEFT JOIN price_versions pv ON pv.version_id = e.price_version)"
// clang-format on

#define S_EVENT_SUMS                                                                               \
    "sum(cost_nusd) AS cost, sum(input_tokens) AS i, sum(output_tokens) AS o,"                     \
    " sum(cache_read_tokens) AS cr, sum(cache_write_5m_tokens) AS w5,"                             \
    " sum(cache_write_1h_tokens) AS w1, sum(events) AS n,"                                         \
    " coalesce(sum(events) FILTER (WHERE unpriced), 0) AS un, sum(billed_nusd) AS billed"

#define S_SUMMARY_SUMS                                                                             \
    "sum(s.cost_nusd) AS cost, sum(s.input_tokens) AS i, sum(s.output_tokens) AS o,"               \
    " sum(s.cache_read_tokens) AS cr, sum(s.cache_write_5m_tokens) AS w5,"                         \
    " sum(s.cache_write_1h_tokens) AS w1, sum(s.events) AS n, sum(s.unpriced_events) AS un,"       \
    " sum(s.billed_nusd) AS billed"

// ---------------------------------------------------------------------------------------
// The model

reporter_report_t *reporter_report_new(void)
{
    return calloc(1, sizeof(reporter_report_t));
}

static void s_rows_free(reporter_rows_t *rows)
{
    free(rows->v);
    memset(rows, 0, sizeof *rows);
}

void reporter_report_destroy(reporter_report_t **self_p)
{
    assert(self_p);
    reporter_report_t *self = *self_p;
    if (!self)
        return;
    s_rows_free(&self->days);
    s_rows_free(&self->agent_types);
    s_rows_free(&self->models);
    s_rows_free(&self->agents);
    s_rows_free(&self->kinds);
    s_rows_free(&self->tenants);
    s_rows_free(&self->tenant_kinds);
    s_rows_free(&self->speeds);
    s_rows_free(&self->providers);
    s_rows_free(&self->tenants_today);
    free(self->spans);
    free(self->tasks);
    free(self->outliers);
    free(self);
    *self_p = NULL;
}

static reporter_row_t *s_rows_push(reporter_rows_t *rows)
{
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 16;
        reporter_row_t *v = realloc(rows->v, cap * sizeof *v);
        if (!v)
            return NULL;
        rows->v = v;
        rows->cap = cap;
    }
    reporter_row_t *r = &rows->v[rows->n++];
    memset(r, 0, sizeof *r);
    return r;
}

//  Adds sums b into a (token and event counts cannot overflow before money does).
static int s_sums_add(reporter_sums_t *a, const reporter_sums_t *b)
{
    a->input += b->input;
    a->output += b->output;
    a->cache_read += b->cache_read;
    a->cache_write_5m += b->cache_write_5m;
    a->cache_write_1h += b->cache_write_1h;
    a->events += b->events;
    a->unpriced_events += b->unpriced_events;
    return fc_money_add(a->cost_nusd, b->cost_nusd, &a->cost_nusd) != 0 ||
                   fc_money_add(a->billed_nusd, b->billed_nusd, &a->billed_nusd) != 0
               ? -1
               : 0;
}

static void s_str(char *dst, size_t size, const PGresult *res, int row, int col)
{
    snprintf(dst, size, "%s", PQgetisnull(res, row, col) ? "" : PQgetvalue(res, row, col));
}

static void s_arr_add(fc_buf_t *b, const char *s);
static char *s_arr_take(fc_buf_t *b);

//  The report's facts. Postgres returns the hybrid source at its finest grains, and the
//  reporter groups them here (issue #19: the same grouping as one SQL statement of
//  GROUPING SETS over numeric sums cost 270-400 ms for 30 days of 100 tenants, most of
//  it in aggregation; the three reads below take about a third of that):
//    open    the open days (fc_spend_open, 0019/0021/0022) at the grain of the
//            aggregator's groups: a few thousand rows however many events arrived;
//    rollups the closed days' rollup rows (fc_spend_rollup_rows, 0017/0022), signed:
//            daily rows, and month rows less the days outside the window;
//    closed  the closed tenant-days' 'total' rows (fc_spend_closed): the daily trend.
//  Each (dimension, k1, k2) group keeps its events part and its rollups part apart, as
//  the SQL did: a rollups part counts only when it has events or cost (month-minus-days
//  arithmetic can net to nothing), and tasks outside any task (k2 '') are left out.
//  Speed, provider and cache rows count when their merged sums do. Ties in cost are
//  broken by k1, k2 in byte order whatever the database's collation: the order of the
//  C.UTF-8 cluster scripts/stack.sh makes; the postgres image of docker-compose.yml
//  (en_US.utf8) ordered such ties by its locale while SQL sorted them.
enum {
    S_D_TOTAL,
    S_D_DAY,
    S_D_AGENT_TYPE,
    S_D_MODEL,
    S_D_AGENT,
    S_D_TASK,
    S_D_KIND,
    S_D_TENANT,
    S_D_TENANT_KIND,
    S_D_TENANT_DAY,
    S_D_SPEED,
    S_D_PROVIDER,
    S_D_CACHE, //  k1 price version, k2 "t" for the long-context tier, else "f"
    S_D_N
};

//  The sums of a group: the order of reporter_sums_t's fields.
enum {
    S_COST,
    S_BILLED,
    S_IN,
    S_OUT,
    S_CR,
    S_W5,
    S_W1,
    S_N,
    S_UN,
    S_REP,
    S_REPC,
    S_REPN,
    S_SN,
    S_SC,
    S_NSUMS
};

//  About 300 bytes per group with its key: a report holds one per distinct (dimension,
//  key) of its window for the time of the request, agents and tasks of the closed days
//  only up to s_people_held (beyond, it keeps the top N of those: s_people_keep).
typedef struct {
    int64_t ev[S_NSUMS], ro[S_NSUMS]; //  events part, rollups part; s_facts_settle leaves
                                      //  the sums a report shows in ev
    bool has_ev, has_ro;
    bool keep;           //  set by s_facts_settle
    bool merged;         //  an agent or task the sorted read (s_people_flush) has taken in
    const char *k1, *k2; //  into the key
    int dim;
} s_fact_t;

//  The costliest groups of a dimension with many keys (agents, tasks), in report order,
//  their keys owned; count: every group kept.
typedef struct {
    s_fact_t *v; //  top_n + 1 entries
    size_t n;
    int64_t count;
} s_top_t;

typedef struct {
    fc_strmap_t *keys; //  dim byte, k1, NUL, k2
    s_fact_t *v;
    size_t cap;
    fc_buf_t key, key2;
    fc_strmap_t *todays; //  each tenant's today (s_todays)
    bool failed;         //  out of memory or a sum out of the int64 range
    //  Agents and tasks: their rollup rows arrive sorted, a group at a time (s_people_row)
    size_t top_n;
    s_top_t top[2]; //  agents, tasks
    int cur_dim;    //  the group being summed, -1 none
    fc_buf_t cur_k1, cur_k2;
    int64_t cur_ro[S_NSUMS];
    fc_buf_t task_k1, task_k2, task_cost; //  every task kept, as array literals
    size_t tasks;
    bool collecting; //  s_outliers_rest: keep what comes, add nothing to the arrays
    size_t people;   //  agent and task groups made since counting began
    size_t held;     //  s_rollup_row stops past this many (s_people_held)
    bool overflow;   //  it did
} s_facts_t;

static void s_top_free(s_top_t *t)
{
    for (size_t i = 0; t->v && i < t->n; i++) {
        free((char *)t->v[i].k1);
        free((char *)t->v[i].k2);
    }
    free(t->v);
}

static void s_facts_free(s_facts_t *f)
{
    fc_strmap_destroy(&f->keys);
    fc_strmap_destroy(&f->todays);
    free(f->v);
    fc_buf_free(&f->key);
    fc_buf_free(&f->key2);
    fc_buf_free(&f->cur_k1);
    fc_buf_free(&f->cur_k2);
    fc_buf_free(&f->task_k1);
    fc_buf_free(&f->task_k2);
    fc_buf_free(&f->task_cost);
    s_top_free(&f->top[0]);
    s_top_free(&f->top[1]);
}

//  Whether day is tenant's today: a 'tenant_day' group is made for it only.
static bool s_is_today(s_facts_t *f, const char *tenant, const char *day)
{
    fc_buf_reset(&f->key2);
    fc_buf_add(&f->key2, tenant, strlen(tenant) + 1);
    fc_buf_add(&f->key2, day, strlen(day));
    return !f->key2.failed && fc_strmap_find(f->todays, f->key2.data, f->key2.len) >= 0;
}

//  The group (dim, k1, k2), made when new; NULL when out of memory.
//  The key of group (dim, k1, k2) into f->key; false when out of memory.
static bool s_key(s_facts_t *f, int dim, const char *k1, const char *k2)
{
    fc_buf_reset(&f->key);
    uint8_t d = (uint8_t)('a' + dim);
    fc_buf_add(&f->key, &d, 1);
    fc_buf_add(&f->key, k1, strlen(k1) + 1);
    fc_buf_add(&f->key, k2, strlen(k2));
    return !f->key.failed;
}

static s_fact_t *s_fact(s_facts_t *f, int dim, const char *k1, const char *k2)
{
    if (!s_key(f, dim, k1, k2))
        return NULL;
    size_t n = fc_strmap_size(f->keys), at;
    if (n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        s_fact_t *v = realloc(f->v, cap * sizeof *v);
        if (!v)
            return NULL;
        f->v = v;
        f->cap = cap;
    }
    int rc = fc_strmap_intern(f->keys, f->key.data, f->key.len, &at);
    if (rc < 0)
        return NULL;
    s_fact_t *g = &f->v[at];
    if (rc == 1) {
        memset(g, 0, sizeof *g);
        g->dim = dim;
        f->people += dim == S_D_AGENT || dim == S_D_TASK;
        g->k1 = fc_strmap_key(f->keys, at, NULL) + 1;
        g->k2 = g->k1 + strlen(g->k1) + 1;
    }
    return g;
}

//  Gives agent or task g (read apart, s_people_row) the open days' part of its group
//  among the groups, if it has one; that group, or NULL (f->failed when out of memory).
static s_fact_t *s_open_part(s_facts_t *f, s_fact_t *g)
{
    if (!s_key(f, g->dim, g->k1, g->k2)) {
        f->failed = true;
        return NULL;
    }
    long at = fc_strmap_find(f->keys, f->key.data, f->key.len);
    if (at < 0)
        return NULL;
    memcpy(g->ev, f->v[at].ev, sizeof g->ev);
    g->has_ev = f->v[at].has_ev;
    return &f->v[at];
}

//  Adds sums x (S_NSUMS values, each times sign) to part acc of group (dim, k1, k2).
static void s_fact_add(s_facts_t *f, int dim, const char *k1, const char *k2, bool rollup,
                       const int64_t *x, int sign)
{
    s_fact_t *g = f->failed ? NULL : s_fact(f, dim, k1, k2);
    if (!g) {
        f->failed = true;
        return;
    }
    int64_t *acc = rollup ? g->ro : g->ev;
    *(rollup ? &g->has_ro : &g->has_ev) = true;
    for (int i = 0; i < S_NSUMS; i++)
        if (sign > 0 ? __builtin_add_overflow(acc[i], x[i], &acc[i])
                     : __builtin_sub_overflow(acc[i], x[i], &acc[i]))
            f->failed = true;
}

//  Reads columns col.. of row as int64 into x (n values); false if one is out of range.
static bool s_read_ints(const PGresult *res, int row, int col, int64_t *x, int n)
{
    for (int i = 0; i < n; i++) {
        if (PQgetisnull(res, row, col + i)) {
            x[i] = 0;
            continue;
        }
        errno = 0;
        x[i] = strtoll(PQgetvalue(res, row, col + i), NULL, 10);
        if (errno == ERANGE)
            return false;
    }
    return true;
}

//  The open days as fc_spend_open gives them (0022: rows at the grain of
//  cost_open_groups, each standing for `events` events), with each price version's
//  provider.
// clang-format off
static const char *s_open_sql =
    "SELECT e.tenant_id, e.day::text, coalesce(e.agent_type, ''), coalesce(e.model_family, ''),"
    "       coalesce(e.agent_id, ''), coalesce(e.task_id, ''), e.cost_kind, e.speed,"
    "       coalesce(pv.provider, ''), e.price_version, coalesce(e.price_tiered, false),"
    "       e.unpriced, e.small, e.reported, e.cost_nusd, e.billed_nusd, e.input_tokens,"
    "       e.output_tokens, e.cache_read_tokens, e.cache_write_5m_tokens,"
    "       e.cache_write_1h_tokens, e.events, e.reported_cost_nusd"
    "  FROM fc_spend_open(" S_SOURCE_ARGS ", $5::timestamptz, $6::timestamptz) e"
    "  LEFT JOIN price_versions pv ON pv.version_id = e.price_version";

//  The closed days' rollup rows of the dimensions a report shows, with their sign, as
//  they come (s_rollup_sql). Agents and tasks have a key each: a window with more than
//  s_people_held of them (a busy fleet's year has hundreds of thousands; 110,000 tasks
//  and as many agents took a report to 111 MB when every group was held) reads them
//  again sorted by key (s_people_sql), so that the reporter sums one group at a time
//  and keeps only the top N. Sorting cost the common window (a month of 100 tenants)
//  about a third more time, so it is the fallback, not the rule.
#define S_ROLLUP_SQL(dims, order)                                                                  \
    "SELECT r.sg, r.tenant_id, r.dimension, r.key, r.cost_nusd, r.billed_nusd,"                    \
    "       r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_5m_tokens,"        \
    "       r.cache_write_1h_tokens, r.events, r.unpriced_events"                                  \
    "  FROM fc_spend_rollup_rows(" S_SOURCE_ARGS ", '" dims "') r" order
static const char *s_rollup_sql =
    S_ROLLUP_SQL("{total,agent_type,model,agent,task,kind,speed,provider,price}", "");
static const char *s_people_sql = S_ROLLUP_SQL(
    "{agent,task}",
    " ORDER BY r.dimension COLLATE \"C\", r.tenant_id COLLATE \"C\", r.key COLLATE \"C\"");

static const char *s_closed_sql =
    "SELECT c.tenant_id, c.day::text, c.cost_nusd, c.billed_nusd, c.input_tokens,"
    "       c.output_tokens, c.cache_read_tokens, c.cache_write_5m_tokens,"
    "       c.cache_write_1h_tokens, c.events, c.unpriced_events"
    "  FROM fc_spend_closed(" S_SOURCE_ARGS ") c";
// clang-format on

//  One row of s_open_sql into every group it counts in. Rows arrive one at a time
//  (fc_pg_query_each): only the groups are held, however many rows the window has.
static int s_open_row(const PGresult *res, void *arg)
{
    s_facts_t *f = arg;
    const char *tenant = PQgetvalue(res, 0, 0), *day = PQgetvalue(res, 0, 1);
    bool unpriced = PQgetvalue(res, 0, 11)[0] == 't', small = PQgetvalue(res, 0, 12)[0] == 't',
         reported = PQgetvalue(res, 0, 13)[0] == 't';
    int64_t x[S_NSUMS] = {0};
    if (!s_read_ints(res, 0, 14, x, S_UN) || !s_read_ints(res, 0, 22, &x[S_REP], 1))
        f->failed = true;
    x[S_UN] = unpriced ? x[S_N] : 0;
    x[S_REPC] = reported ? x[S_COST] : 0;
    x[S_REPN] = reported ? x[S_N] : 0;
    x[S_SN] = small ? x[S_N] : 0;
    x[S_SC] = small ? x[S_COST] : 0;
    s_fact_add(f, S_D_TOTAL, "", "", false, x, 1);
    s_fact_add(f, S_D_DAY, day, "", false, x, 1);
    s_fact_add(f, S_D_AGENT_TYPE, PQgetvalue(res, 0, 2), "", false, x, 1);
    s_fact_add(f, S_D_MODEL, PQgetvalue(res, 0, 3), "", false, x, 1);
    s_fact_add(f, S_D_AGENT, tenant, PQgetvalue(res, 0, 4), false, x, 1);
    s_fact_add(f, S_D_TASK, tenant, PQgetvalue(res, 0, 5), false, x, 1);
    s_fact_add(f, S_D_KIND, PQgetvalue(res, 0, 6), "", false, x, 1);
    s_fact_add(f, S_D_TENANT, tenant, "", false, x, 1);
    s_fact_add(f, S_D_TENANT_KIND, tenant, PQgetvalue(res, 0, 6), false, x, 1);
    if (s_is_today(f, tenant, day))
        s_fact_add(f, S_D_TENANT_DAY, tenant, day, false, x, 1);
    s_fact_add(f, S_D_SPEED, PQgetvalue(res, 0, 7), "", false, x, 1);
    s_fact_add(f, S_D_PROVIDER, PQgetvalue(res, 0, 8), "", false, x, 1);
    if (!PQgetisnull(res, 0, 9) && !unpriced)
        s_fact_add(f, S_D_CACHE, PQgetvalue(res, 0, 9), PQgetvalue(res, 0, 10), false, x, 1);
    return f->failed ? -1 : 0;
}

//  An agent's or a task's rollup row summed into its group, while the stream has made no
//  more than f->held of them. Past that, the stream's other agent and task rows are
//  skipped and s_gather_facts reads them all sorted: s_people_flush takes a group's
//  rollups part from that read only, so what was summed here does not count twice.
static void s_people_add(s_facts_t *f, int dim, const char *tenant, const char *key,
                         const int64_t *x, int sign)
{
    s_fact_add(f, dim, tenant, key, true, x, sign);
    if (f->people > f->held)
        f->overflow = true;
}

//  One rollup row, with its sign, into the groups of its dimension.
static int s_rollup_row(const PGresult *res, void *arg)
{
    s_facts_t *f = arg;
    int sign = fc_pg_int(res, 0, 0) < 0 ? -1 : 1;
    const char *tenant = PQgetvalue(res, 0, 1), *dim = PQgetvalue(res, 0, 2);
    const char *key = PQgetvalue(res, 0, 3);
    int64_t x[S_NSUMS] = {0};
    if (!s_read_ints(res, 0, 4, x, S_REP))
        f->failed = true;
    if (strcmp(dim, "total") == 0) {
        s_fact_add(f, S_D_TOTAL, "", "", true, x, sign);
        s_fact_add(f, S_D_TENANT, tenant, "", true, x, sign);
    } else if (strcmp(dim, "agent_type") == 0)
        s_fact_add(f, S_D_AGENT_TYPE, key, "", true, x, sign);
    else if (strcmp(dim, "model") == 0)
        s_fact_add(f, S_D_MODEL, key, "", true, x, sign);
    else if (strcmp(dim, "agent") == 0 || strcmp(dim, "task") == 0) {
        if (!f->overflow)
            s_people_add(f, dim[0] == 't' ? S_D_TASK : S_D_AGENT, tenant, key, x, sign);
    } else if (strcmp(dim, "kind") == 0) {
        s_fact_add(f, S_D_KIND, key, "", true, x, sign);
        s_fact_add(f, S_D_TENANT_KIND, tenant, key, true, x, sign);
    } else if (strcmp(dim, "speed") == 0)
        s_fact_add(f, S_D_SPEED, key, "", true, x, sign);
    else if (strcmp(dim, "provider") == 0)
        s_fact_add(f, S_D_PROVIDER, key, "", true, x, sign);
    else if (strcmp(dim, "price") == 0 && *key) {
        //  "version:t" or "version:f" (aggregator_pg.h); another key is not a price row
        //  this reporter knows how to read, and counts for nothing
        char *end, k1[16];
        errno = 0;
        long v = strtol(key, &end, 10);
        if (end != key && *end == ':' && errno != ERANGE && v >= INT32_MIN && v <= INT32_MAX) {
            snprintf(k1, sizeof k1, "%ld", v);
            s_fact_add(f, S_D_CACHE, k1, end[1] == 't' ? "t" : "f", true, x, sign);
        }
    }
    return f->failed ? -1 : 0;
}

//  One closed tenant-day's 'total' row: the daily trend and the tenants' todays.
static int s_closed_row(const PGresult *res, void *arg)
{
    s_facts_t *f = arg;
    const char *tenant = PQgetvalue(res, 0, 0), *day = PQgetvalue(res, 0, 1);
    int64_t x[S_NSUMS] = {0};
    if (!s_read_ints(res, 0, 2, x, S_REP))
        f->failed = true;
    s_fact_add(f, S_D_DAY, day, "", true, x, 1);
    if (s_is_today(f, tenant, day))
        s_fact_add(f, S_D_TENANT_DAY, tenant, day, true, x, 1);
    return f->failed ? -1 : 0;
}

//  Each tenant's today as "tenant NUL day" keys: a 'tenant_day' group is kept for it only.
static fc_strmap_t *s_todays(const reporter_window_t *w)
{
    fc_strmap_t *m = fc_strmap_new();
    char key[sizeof w->v->tenant + sizeof w->v->today];
    for (size_t i = 0; m && i < w->n; i++) {
        size_t at, n = strlen(w->v[i].tenant) + 1;
        memcpy(key, w->v[i].tenant, n);
        memcpy(key + n, w->v[i].today, strlen(w->v[i].today));
        if (fc_strmap_intern(m, key, n + strlen(w->v[i].today), &at) < 0)
            fc_strmap_destroy(&m);
    }
    return m;
}

static void s_sums_from(reporter_sums_t *s, const int64_t *x)
{
    *s = (reporter_sums_t){.cost_nusd = x[S_COST],
                           .billed_nusd = x[S_BILLED],
                           .input = x[S_IN],
                           .output = x[S_OUT],
                           .cache_read = x[S_CR],
                           .cache_write_5m = x[S_W5],
                           .cache_write_1h = x[S_W1],
                           .events = x[S_N],
                           .unpriced_events = x[S_UN],
                           .reported_nusd = x[S_REP],
                           .reported_computed_nusd = x[S_REPC],
                           .reported_events = x[S_REPN],
                           .small_requests = x[S_SN],
                           .small_cost_nusd = x[S_SC]};
}

//  Whether group g counts, with the sums it shows left in g->ev: its events part, and its
//  rollups part when that has events or cost; a task without id never. false: a sum out
//  of range.
static bool s_settle_one(s_fact_t *g)
{
    int64_t x[S_NSUMS] = {0};
    bool ev = g->has_ev, ro = g->has_ro, ok = true;
    ro = ro && (g->dim == S_D_TOTAL || g->ro[S_N] > 0 || g->ro[S_COST] != 0);
    if (g->dim == S_D_TASK && !*g->k2)
        ev = ro = false; //  spending outside any task
    for (int k = 0; k < S_NSUMS; k++)
        if (__builtin_add_overflow(ev ? g->ev[k] : 0, ro ? g->ro[k] : 0, &x[k]))
            ok = false;
    g->keep = ev || ro || g->dim == S_D_TOTAL;
    memcpy(g->ev, x, sizeof x);
    return ok;
}

//  Decides which groups a report shows and their sums (the parts that count, merged).
//  Agents and tasks are not kept here: s_people_keep has them.
static void s_facts_settle(s_facts_t *f)
{
    for (size_t i = 0, n = fc_strmap_size(f->keys); i < n && !f->failed; i++) {
        s_fact_t *g = &f->v[i];
        int64_t x[S_NSUMS] = {0};
        if (g->dim == S_D_SPEED || g->dim == S_D_PROVIDER || g->dim == S_D_CACHE) {
            //  one set of sums, kept when the merged sums show something
            for (int k = 0; k < S_NSUMS; k++)
                if (__builtin_add_overflow(g->ev[k], g->ro[k], &x[k]))
                    f->failed = true;
            if (g->dim == S_D_CACHE)
                g->keep = x[S_CR] + x[S_W5] + x[S_W1] > 0; //  token counts: no overflow
            else {
                memset(&x[S_REP], 0, (S_NSUMS - S_REP) * sizeof *x); //  not split so
                g->keep = x[S_N] > 0 || x[S_COST] != 0;
            }
            memcpy(g->ev, x, sizeof x);
            continue;
        }
        if (g->dim == S_D_AGENT || g->dim == S_D_TASK) {
            g->keep = false;
            continue;
        }
        if (!s_settle_one(g))
            f->failed = true;
    }
}

//  Report order: cost, largest first, then k1, k2; days by date.
static int s_fact_order(const s_fact_t *x, const s_fact_t *y)
{
    if (x->dim == S_D_DAY)
        return strcmp(x->k1, y->k1);
    if (x->ev[S_COST] != y->ev[S_COST])
        return x->ev[S_COST] > y->ev[S_COST] ? -1 : 1;
    int c = strcmp(x->k1, y->k1);
    return c ? c : strcmp(x->k2, y->k2);
}

static int s_fact_cmp(const void *a, const void *b)
{
    return s_fact_order(*(s_fact_t *const *)a, *(s_fact_t *const *)b);
}

//  Offers kept group g to its dimension's top N (a copy, keys copied) and counts it.
static void s_people_keep(s_facts_t *f, const s_fact_t *g)
{
    s_top_t *t = &f->top[g->dim == S_D_TASK];
    t->count++;
    if (g->dim == S_D_TASK && !f->collecting) {
        s_arr_add(&f->task_k1, g->k1);
        s_arr_add(&f->task_k2, g->k2);
        fc_buf_addf(&f->task_cost, "%s%lld", f->tasks++ ? "," : "{", (long long)g->ev[S_COST]);
    }
    if (t->n == f->top_n && s_fact_order(g, &t->v[t->n - 1]) >= 0)
        return; //  not among the costliest
    size_t at = t->n;
    while (at > 0 && s_fact_order(g, &t->v[at - 1]) < 0)
        at--;
    s_fact_t copy = *g;
    copy.k1 = strdup(g->k1);
    copy.k2 = strdup(g->k2);
    if (!copy.k1 || !copy.k2) {
        free((char *)copy.k1);
        free((char *)copy.k2);
        f->failed = true;
        return;
    }
    if (t->n == f->top_n) { //  the last one drops out
        free((char *)t->v[t->n - 1].k1);
        free((char *)t->v[t->n - 1].k2);
        t->n--;
    }
    memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof *t->v);
    t->v[at] = copy;
    t->n++;
}

//  The agent or task summed so far from the sorted rollup rows, with its open days' part
//  (from the groups of s_open_row, marked merged), settled and offered to the top N.
static void s_people_flush(s_facts_t *f)
{
    if (f->cur_dim < 0)
        return;
    s_fact_t g = {.dim = f->cur_dim, .has_ro = true};
    g.k1 = (const char *)f->cur_k1.data;
    g.k2 = (const char *)f->cur_k2.data;
    memcpy(g.ro, f->cur_ro, sizeof g.ro);
    s_fact_t *open = s_open_part(f, &g);
    if (open)
        open->merged = true;
    if (f->failed || !s_settle_one(&g))
        f->failed = true;
    else if (g.keep)
        s_people_keep(f, &g);
    f->cur_dim = -1;
}

//  One rollup row of an agent or a task, in (dimension, tenant, key) order.
static int s_people_row(const PGresult *res, void *arg)
{
    s_facts_t *f = arg;
    int sign = fc_pg_int(res, 0, 0) < 0 ? -1 : 1;
    const char *tenant = PQgetvalue(res, 0, 1), *key = PQgetvalue(res, 0, 3);
    int dim = strcmp(PQgetvalue(res, 0, 2), "task") == 0 ? S_D_TASK : S_D_AGENT;
    if (f->cur_dim != dim || strcmp((const char *)f->cur_k1.data, tenant) != 0 ||
        strcmp((const char *)f->cur_k2.data, key) != 0) {
        s_people_flush(f);
        f->cur_dim = dim;
        fc_buf_reset(&f->cur_k1);
        fc_buf_reset(&f->cur_k2);
        fc_buf_add(&f->cur_k1, tenant, strlen(tenant) + 1); //  NUL-terminated, both
        fc_buf_add(&f->cur_k2, key, strlen(key) + 1);
        memset(f->cur_ro, 0, sizeof f->cur_ro);
        if (f->cur_k1.failed || f->cur_k2.failed) {
            f->failed = true;
            return -1;
        }
    }
    int64_t x[S_NSUMS] = {0};
    if (!s_read_ints(res, 0, 4, x, S_REP))
        f->failed = true;
    for (int i = 0; i < S_REP; i++)
        if (sign > 0 ? __builtin_add_overflow(f->cur_ro[i], x[i], &f->cur_ro[i])
                     : __builtin_sub_overflow(f->cur_ro[i], x[i], &f->cur_ro[i]))
            f->failed = true;
    return f->failed ? -1 : 0;
}

static reporter_rows_t *s_dim_rows(reporter_report_t *self, int dim)
{
    switch (dim) {
    case S_D_DAY:
        return &self->days;
    case S_D_AGENT_TYPE:
        return &self->agent_types;
    case S_D_MODEL:
        return &self->models;
    case S_D_AGENT:
        return &self->agents;
    case S_D_KIND:
        return &self->kinds;
    case S_D_TENANT:
        return &self->tenants;
    case S_D_TENANT_KIND:
        return &self->tenant_kinds;
    case S_D_TENANT_DAY:
        return &self->tenants_today;
    case S_D_SPEED:
        return &self->speeds;
    case S_D_PROVIDER:
        return &self->providers;
    default:
        return NULL;
    }
}

//  What the dimension tables know of the top tasks, and the outliers: tasks costing over
//  3x the median of their type (types with at least 3 tasks with cost), the 10 costliest.
//  $1..$3: every task group kept (tenant, task, cost); $4, $5: the top N's keys.
// clang-format off
static const char *s_tasks_sql =
    "WITH a AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) AS a (k1, k2, cost)),"
    " tp AS (SELECT * FROM unnest($4::text[], $5::text[]) AS t (k1, k2)),"
    " tt AS (SELECT a.k1, a.k2, a.cost, t.task_type FROM a"
    "          JOIN tasks t ON t.tenant_id = a.k1 AND t.task_id = a.k2"
    "         WHERE t.task_type IS NOT NULL),"
    " med AS (SELECT task_type, percentile_disc(0.5) WITHIN GROUP (ORDER BY cost) AS median"
    "           FROM tt GROUP BY task_type HAVING count(*) >= 3),"
    " outl AS (SELECT tt.k1, tt.k2, med.median FROM tt JOIN med USING (task_type)"
    "           WHERE med.median > 0 AND tt.cost > 3 * med.median"
    "           ORDER BY tt.cost DESC, tt.k1, tt.k2 LIMIT 10),"
    " s AS (SELECT coalesce(tp.k1, o.k1) AS k1, coalesce(tp.k2, o.k2) AS k2,"
    "              tp.k1 IS NOT NULL AS top, o.median"
    "         FROM tp FULL JOIN outl o ON o.k1 = tp.k1 AND o.k2 = tp.k2 OFFSET 0)"
    " SELECT s.k1, s.k2, s.top, s.median IS NOT NULL, coalesce(s.median, 0),"
    "        coalesce(t.title, ''), coalesce(t.task_type, ''), coalesce(t.status, ''),"
    "        CASE WHEN t.completed_at IS NOT NULL AND t.created_at IS NOT NULL"
    "             THEN extract(epoch FROM t.completed_at - t.created_at)::bigint ELSE -1 END,"
    "        coalesce(ag.n, 0), coalesce(ag.list, '')"
    "   FROM s"
    "   LEFT JOIN tasks t ON t.tenant_id = s.k1 AND t.task_id = s.k2"
    "   LEFT JOIN LATERAL ("
    "        SELECT count(*) AS n,"
    "               string_agg(agent_id, ' ' ORDER BY agent_id) FILTER (WHERE rk <= 5) AS list"
    "          FROM (SELECT agent_id, row_number() OVER (ORDER BY agent_id) AS rk"
    "                  FROM (SELECT ta.agent_id FROM task_agents ta"
    "                         WHERE ta.tenant_id = s.k1 AND ta.task_id = s.k2"
    "                        UNION"
    "                        SELECT ag.agent_id FROM agents ag"
    "                         WHERE ag.tenant_id = s.k1 AND ag.task_id = s.k2) u) v) ag"
    "     ON true";
// clang-format on

static void s_task_from(reporter_task_t *t, const s_fact_t *g, const PGresult *res, int row)
{
    memset(t, 0, sizeof *t);
    snprintf(t->tenant, sizeof t->tenant, "%s", g->k1);
    snprintf(t->task, sizeof t->task, "%s", g->k2);
    s_sums_from(&t->s, g->ev);
    s_str(t->title, sizeof t->title, res, row, 5);
    s_str(t->type, sizeof t->type, res, row, 6);
    s_str(t->status, sizeof t->status, res, row, 7);
    t->seconds_to_complete = fc_pg_int(res, row, 8);
    t->agents_n = fc_pg_int(res, row, 9);
    s_str(t->agents, sizeof t->agents, res, row, 10);
}

static int s_outlier_cmp(const void *a, const void *b)
{
    const reporter_task_t *x = a, *y = b;
    if (x->s.cost_nusd != y->s.cost_nusd)
        return x->s.cost_nusd > y->s.cost_nusd ? -1 : 1;
    int c = strcmp(x->tenant, y->tenant);
    return c ? c : strcmp(x->task, y->task);
}

//  The rollup rows of a few tasks (the outliers outside the top N), in s_people_sql's order.
static const char *s_some_tasks_sql = S_ROLLUP_SQL(
    "{task}", " WHERE (r.tenant_id, r.key) IN (SELECT * FROM unnest($5::text[], $6::text[]))"
              " ORDER BY r.tenant_id COLLATE \"C\", r.key COLLATE \"C\"");

static int s_top_find(const s_top_t *t, const char *k1, const char *k2)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].k1, k1) == 0 && strcmp(t->v[i].k2, k2) == 0)
            return (int)i;
    return -1;
}

//  The full sums of outliers that are not among the top tasks (pend: their rows of the
//  tasks query): their rollup rows read again, their open days' part from the groups.
static int s_outliers_rest(reporter_report_t *self, s_facts_t *f, PGconn *conn, const char *module,
                           const char *const *source, const PGresult *res, const int *pend,
                           size_t npend)
{
    fc_buf_t k1, k2;
    fc_buf_init(&k1);
    fc_buf_init(&k2);
    for (size_t i = 0; i < npend; i++) {
        s_arr_add(&k1, PQgetvalue(res, pend[i], 0));
        s_arr_add(&k2, PQgetvalue(res, pend[i], 1));
    }
    char *a1 = s_arr_take(&k1), *a2 = s_arr_take(&k2);
    s_top_t tasks = f->top[1];
    size_t top_n = f->top_n;
    int rc = -1;
    f->top[1] = (s_top_t){calloc(npend + 1, sizeof(s_fact_t)), 0, 0};
    f->top_n = npend;
    f->collecting = true;
    if (a1 && a2 && f->top[1].v) {
        const char *params[] = {source[0], source[1], source[2], source[3], a1, a2};
        rc = fc_pg_query_each(conn, module, "report outliers", s_some_tasks_sql, 6, params,
                              s_people_row, f);
        s_people_flush(f);
    }
    for (size_t i = 0; rc == 0 && !f->failed && i < npend; i++) {
        const char *t1 = PQgetvalue(res, pend[i], 0), *t2 = PQgetvalue(res, pend[i], 1);
        int at = s_top_find(&f->top[1], t1, t2);
        s_fact_t g = {.dim = S_D_TASK, .k1 = t1, .k2 = t2};
        if (at >= 0)
            g = f->top[1].v[at];
        else {
            //  no closed day: its open days alone
            s_open_part(f, &g);
            if (!s_settle_one(&g))
                f->failed = true;
        }
        reporter_task_t *t = &self->outliers[self->outliers_n++];
        s_task_from(t, &g, res, pend[i]);
        t->median_type_nusd = fc_pg_int(res, pend[i], 4);
    }
    s_top_free(&f->top[1]);
    f->top[1] = tasks;
    f->top_n = top_n;
    f->collecting = false;
    free(a1);
    free(a2);
    return rc == 0 && !f->failed ? 0 : -1;
}

//  The top tasks with what the dimension tables know of them, and the outliers among
//  every task kept (the arrays s_people_keep wrote).
static int s_facts_tasks(reporter_report_t *self, s_facts_t *f, PGconn *conn, const char *module,
                         const char *const *source)
{
    const s_top_t *top = &f->top[1];
    self->tasks_total = top->count;
    self->tasks = top->n ? calloc(top->n, sizeof *self->tasks) : NULL;
    self->outliers = calloc(10, sizeof *self->outliers);
    if ((top->n && !self->tasks) || !self->outliers)
        return -1;
    if (top->count == 0)
        return 0;
    fc_buf_t t1, t2;
    fc_buf_init(&t1);
    fc_buf_init(&t2);
    for (size_t i = 0; i < top->n; i++) {
        s_arr_add(&t1, top->v[i].k1);
        s_arr_add(&t2, top->v[i].k2);
    }
    fc_buf_add(&f->task_cost, "}", 2);
    char *a1 = s_arr_take(&f->task_k1), *a2 = s_arr_take(&f->task_k2);
    char *a4 = s_arr_take(&t1), *a5 = s_arr_take(&t2);
    memset(&f->task_k1, 0, sizeof f->task_k1); //  taken: freed below
    memset(&f->task_k2, 0, sizeof f->task_k2);
    int rc = -1, pend[10];
    size_t npend = 0;
    PGresult *res = NULL;
    if (a1 && a2 && a4 && a5 && !f->task_cost.failed) {
        const char *params[] = {a1, a2, (const char *)f->task_cost.data, a4, a5};
        res = fc_pg_query(conn, module, "report tasks", s_tasks_sql, 5, params);
    }
    for (int r = 0; res && r < PQntuples(res); r++) {
        int at = s_top_find(top, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1));
        if (PQgetvalue(res, r, 2)[0] == 't' && at >= 0)
            s_task_from(&self->tasks[at], &top->v[at], res, r);
        if (PQgetvalue(res, r, 3)[0] != 't' || self->outliers_n + npend >= 10)
            continue;
        if (at >= 0) {
            reporter_task_t *t = &self->outliers[self->outliers_n++];
            s_task_from(t, &top->v[at], res, r);
            t->median_type_nusd = fc_pg_int(res, r, 4);
        } else
            pend[npend++] = r;
    }
    if (res &&
        (npend == 0 || s_outliers_rest(self, f, conn, module, source, res, pend, npend) == 0)) {
        self->tasks_n = top->n;
        qsort(self->outliers, self->outliers_n, sizeof *self->outliers, s_outlier_cmp);
        rc = 0;
    }
    PQclear(res);
    free(a1);
    free(a2);
    free(a4);
    free(a5);
    return rc;
}

static int s_price_cache(reporter_report_t *self, PGconn *conn, const char *module,
                         s_fact_t *const *cache, size_t n);

static int s_gather_facts(reporter_report_t *self, PGconn *conn, const char *module,
                          const reporter_window_t *w, const s_bounds_t *b)
{
    const char *params[S_SOURCE_NPARAMS];
    s_source_params(w, b, params);
    s_facts_t f = {.top_n = (size_t)self->top_n, .cur_dim = -1};
    fc_buf_init(&f.key);
    fc_buf_init(&f.key2);
    fc_buf_init(&f.cur_k1);
    fc_buf_init(&f.cur_k2);
    fc_buf_init(&f.task_k1);
    fc_buf_init(&f.task_k2);
    fc_buf_init(&f.task_cost);
    int rc = -1;
    s_fact_t **order = NULL;
    f.top[0].v = calloc(f.top_n + 1, sizeof(s_fact_t));
    f.top[1].v = calloc(f.top_n + 1, sizeof(s_fact_t));
    if (!f.top[0].v || !f.top[1].v || !(f.todays = s_todays(w)) || !(f.keys = fc_strmap_new()) ||
        !s_fact(&f, S_D_TOTAL, "", ""))
        goto done;
    int ro = -1;
    if (fc_pg_query_each(conn, module, "report open days", s_open_sql, 6, params, s_open_row, &f) ==
        0) {
        f.people = 0; //  those of the rollups, from here
        f.held = atomic_load(&s_people_held);
        ro = fc_pg_query_each(conn, module, "report rollups", s_rollup_sql, 4, params, s_rollup_row,
                              &f);
    }
    if (ro == 0 && f.overflow) {
        //  more agents and tasks than a report holds: read sorted, a group at a time
        fc_debug(module, "report: more than %zu agents and tasks in the closed days: read sorted",
                 f.held);
        ro = fc_pg_query_each(conn, module, "report agents and tasks", s_people_sql, 4, params,
                              s_people_row, &f);
        s_people_flush(&f);
    }
    if (ro == 0 && fc_pg_query_each(conn, module, "report closed days", s_closed_sql, 4, params,
                                    s_closed_row, &f) == 0) {
        //  agents and tasks summed in the groups: all of them, or those of the open days
        //  the sorted read did not meet
        for (size_t i = 0, n = fc_strmap_size(f.keys); i < n && !f.failed; i++) {
            s_fact_t g = f.v[i];
            if ((g.dim != S_D_AGENT && g.dim != S_D_TASK) || g.merged)
                continue;
            if (!s_settle_one(&g))
                f.failed = true;
            else if (g.keep)
                s_people_keep(&f, &g);
        }
        s_facts_settle(&f);
    } else if (!f.failed)
        goto done; //  a query failed (logged)
    size_t n = fc_strmap_size(f.keys);
    if (f.failed || !(order = malloc(n * sizeof *order))) {
        fc_error(module, "report facts: a sum is out of the int64 range (or out of memory)");
        goto done;
    }
    //  The kept groups, by dimension, each dimension in report order.
    size_t start[S_D_N + 1] = {0}, kept = 0;
    for (int d = 0; d < S_D_N; d++) {
        start[d] = kept;
        for (size_t i = 0; i < n; i++)
            if (f.v[i].keep && f.v[i].dim == d)
                order[kept++] = &f.v[i];
        qsort(order + start[d], kept - start[d], sizeof *order, s_fact_cmp);
    }
    start[S_D_N] = kept;
    s_sums_from(&self->total, order[start[S_D_TOTAL]]->ev);
    for (int d = 0; d < S_D_N; d++) {
        reporter_rows_t *rows = s_dim_rows(self, d);
        const s_top_t *top = d == S_D_AGENT ? &f.top[0] : NULL;
        size_t m = top ? top->n : start[d + 1] - start[d];
        for (size_t i = 0; rows && i < m; i++) {
            const s_fact_t *g = top ? &top->v[i] : order[start[d] + i];
            reporter_row_t *r = s_rows_push(rows);
            if (!r)
                goto done;
            snprintf(r->k1, sizeof r->k1, "%s", g->k1);
            snprintf(r->k2, sizeof r->k2, "%s", g->k2);
            s_sums_from(&r->s, g->ev);
        }
        if (rows)
            rows->total_rows = top ? top->count : (int64_t)(start[d + 1] - start[d]);
    }
    if (s_facts_tasks(self, &f, conn, module, params) != 0)
        goto done;
    rc = self->models.n > 0 ? s_price_cache(self, conn, module, order + start[S_D_CACHE],
                                            start[S_D_CACHE + 1] - start[S_D_CACHE])
                            : 0;
done:
    free(order);
    s_facts_free(&f);
    return rc;
}

//  Agents and tasks from the dimension tables, over each tenant's local days.
static int s_gather_fleet(reporter_report_t *self, PGconn *conn, const char *module,
                          const reporter_window_t *w)
{
    static const char *sql =
        "WITH " REPORTER_SQL_WINDOW ","
        " tw AS (SELECT tenant_id, lo::timestamp AT TIME ZONE tz AS t0,"
        "               (hi + 1)::timestamp AT TIME ZONE tz AS t1 FROM win)"
        " SELECT count(*) FILTER (WHERE a.spawned_at < w.t1"
        "                           AND (a.terminated_at IS NULL OR a.terminated_at >= w.t0)),"
        "        count(*) FILTER (WHERE a.spawned_at >= w.t0 AND a.spawned_at < w.t1),"
        "        count(*) FILTER (WHERE a.terminated_at IS NULL AND a.spawned_at IS NOT NULL"
        "                           AND coalesce(a.last_seen_at, a.spawned_at)"
        "                               < " REPORTER_SQL_NOW " - interval '1 hour'),"
        "        coalesce(sum(greatest(0, extract(epoch FROM"
        "                 least(coalesce(a.terminated_at, " REPORTER_SQL_NOW "), w.t1)"
        "                 - greatest(a.spawned_at, w.t0)))), 0)::bigint,"
        "        (SELECT count(*) FROM tasks k JOIN tw kw ON kw.tenant_id = k.tenant_id"
        "          WHERE k.completed_at >= kw.t0 AND k.completed_at < kw.t1)"
        "   FROM agents a JOIN tw w ON w.tenant_id = a.tenant_id";
    const char *params[] = {w->arr_tenants, w->arr_from, w->arr_to};
    PGresult *res = fc_pg_query(conn, module, "report fleet", sql, 3, params);
    if (!res)
        return -1;
    self->agents_active = fc_pg_int(res, 0, 0);
    self->agents_spawned = fc_pg_int(res, 0, 1);
    self->agents_idle = fc_pg_int(res, 0, 2);
    self->runtime_seconds = fc_pg_int(res, 0, 3);
    self->tasks_completed = fc_pg_int(res, 0, 4);
    PQclear(res);
    return 0;
}

//  The alerts fired in each tenant's own days.
static int s_gather_alerts(reporter_report_t *self, PGconn *conn, const char *module,
                           const reporter_window_t *w)
{
    static const char *sql =
        "WITH " REPORTER_SQL_WINDOW " SELECT a.tenant_id,"
        "       to_char(a.fired_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
        "       a.kind, a.scope, a.period_key, a.subject, a.state, coalesce(a.text, ''),"
        "       a.threshold_pct, coalesce(a.value_nusd, 0), coalesce(a.budget_nusd, 0),"
        "       count(*) OVER ()"
        "  FROM cost_alerts a JOIN win w ON w.tenant_id = a.tenant_id"
        " WHERE a.fired_at >= w.lo::timestamp AT TIME ZONE w.tz"
        "   AND a.fired_at < (w.hi + 1)::timestamp AT TIME ZONE w.tz"
        " ORDER BY a.fired_at DESC, a.alert_id DESC LIMIT 50";
    const char *params[] = {w->arr_tenants, w->arr_from, w->arr_to};
    PGresult *res = fc_pg_query(conn, module, "report alerts", sql, 3, params);
    if (!res)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n && i < REPORTER_ALERTS_MAX; i++) {
        reporter_alert_t *a = &self->alerts[self->alerts_n++];
        s_str(a->tenant, sizeof a->tenant, res, i, 0);
        s_str(a->fired_at, sizeof a->fired_at, res, i, 1);
        s_str(a->kind, sizeof a->kind, res, i, 2);
        s_str(a->scope, sizeof a->scope, res, i, 3);
        s_str(a->period_key, sizeof a->period_key, res, i, 4);
        s_str(a->subject, sizeof a->subject, res, i, 5);
        s_str(a->state, sizeof a->state, res, i, 6);
        s_str(a->text, sizeof a->text, res, i, 7);
        a->threshold_pct = fc_pg_int(res, i, 8);
        a->value_nusd = fc_pg_int(res, i, 9);
        a->budget_nusd = fc_pg_int(res, i, 10);
        self->alerts_total = fc_pg_int(res, i, 11);
    }
    PQclear(res);
    return 0;
}

//  What caching saved and cost over the report's tenant-local days. Each usage counts at
//  the price version it was priced with (the one in force at its time) and at the tier
//  rates when its own prompt put it in the long-context tier: cache tokens are summed per
//  (version, tier), which is exact because the figure is linear in token counts within
//  one set of rates, and fc_price_cache_effect prices each sum. The sums are the cache
//  groups of the facts (S_D_CACHE): events of the open days, the final rollups' 'price'
//  rows (aggregator_pg.h) of the closed ones, so closed days cost no event scan.
//  Unpriced usage counts for nothing; usage stored before price_tiered existed counts at
//  base rates until a reprice records its tier.
static int s_price_cache(reporter_report_t *self, PGconn *conn, const char *module,
                         s_fact_t *const *cache, size_t n)
{
    fc_catalog_t *cat = NULL;
    if (n > 0 && !(cat = fc_catalog_load_pg(conn, module)))
        return -1;
    int64_t saved = 0, premium = 0;
    bool overflow = false;
    for (size_t i = 0; i < n && !overflow; i++) {
        const fc_price_t *p = fc_catalog_version(cat, (int32_t)strtol(cache[i]->k1, NULL, 10));
        if (!p)
            continue; //  a version deleted by hand: nothing to price it with
        fc_tokens_t tok = {{0}};
        tok.t[FC_TOK_CACHE_READ] = cache[i]->ev[S_CR];
        tok.t[FC_TOK_CACHE_WRITE_5M] = cache[i]->ev[S_W5];
        tok.t[FC_TOK_CACHE_WRITE_1H] = cache[i]->ev[S_W1];
        int64_t one_saved, one_premium;
        overflow =
            fc_price_cache_effect(p, cache[i]->k2[0] == 't', &tok, &one_saved, &one_premium) != 0 ||
            fc_money_add(saved, one_saved, &saved) != 0 ||
            fc_money_add(premium, one_premium, &premium) != 0;
    }
    fc_catalog_destroy(&cat);
    if (overflow) {
        fc_error(module, "report: cache savings overflow int64");
        return -1;
    }
    self->cache_read_saved_nusd = saved;
    self->cache_write_premium_nusd = premium;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Recommendations: each names the figure it rests on.

const char *reporter_pct(int64_t part, int64_t whole, char buf[48])
{
    //  128-bit intermediate: part * 1000 must not overflow for any int64 part.
    __int128 permille = whole > 0 ? ((__int128)part * 1000 + whole / 2) / whole : 0;
    snprintf(buf, 48, "%lld.%lld", (long long)(permille / 10),
             (long long)((permille < 0 ? -permille : permille) % 10));
    return buf;
}

static reporter_reco_t *s_reco(reporter_report_t *self, const char *code)
{
    if (self->recos_n >= REPORTER_RECOS_MAX)
        return NULL;
    reporter_reco_t *r = &self->recos[self->recos_n++];
    snprintf(r->code, sizeof r->code, "%s", code);
    return r;
}

static void s_recommend(reporter_report_t *self)
{
    char a[32], b[32], pct[48];
    reporter_reco_t *r;
    const reporter_sums_t *t = &self->total;
    int64_t prompt = t->input + t->cache_read + t->cache_write_5m + t->cache_write_1h;
    //  Below half of the prompt from cache, caching is leaving money on the table.
    if (prompt >= 100000 && t->cache_read * 2 < prompt && (r = s_reco(self, "low_cache_read"))) {
        reporter_pct(t->cache_read, prompt, pct);
        snprintf(r->text, sizeof r->text,
                 "Only %s%% of input tokens were read from cache (%lld of %lld): keep prompts "
                 "stable at the front and reuse sessions so more of them are cached.",
                 pct, (long long)t->cache_read, (long long)prompt);
    }
    //  Costly model (Opus) used for small requests.
    for (size_t i = 0; i < self->models.n; i++) {
        const reporter_row_t *m = &self->models.v[i];
        if (!strstr(m->k1, "opus") || m->s.small_requests < 10 ||
            m->s.small_requests * 5 < m->s.events)
            continue;
        if (!(r = s_reco(self, "costly_model_small_requests")))
            break;
        reporter_pct(m->s.small_requests, m->s.events, pct);
        snprintf(r->text, sizeof r->text,
                 "%lld of %lld requests (%s%%) on %s were small (at most 4000 prompt and 500 "
                 "output tokens) and cost $%s: route such requests to a smaller model.",
                 (long long)m->s.small_requests, (long long)m->s.events, pct, m->k1,
                 reporter_usd(m->s.small_cost_nusd, 2, a));
    }
    if (self->agents_idle > 0 && (r = s_reco(self, "idle_agents")))
        snprintf(r->text, sizeof r->text,
                 "%lld agent(s) are alive but have not been seen for over an hour: stop them "
                 "or check that they are not stuck.",
                 (long long)self->agents_idle);
    if (self->outliers_n > 0 && (r = s_reco(self, "task_cost_outliers"))) {
        const reporter_task_t *o = &self->outliers[0];
        snprintf(r->text, sizeof r->text,
                 "%zu task(s) cost over 3x the median of their type; the largest, %s (%s), "
                 "cost $%s against a median of $%s: review how it was run.",
                 self->outliers_n, o->task, o->type, reporter_usd(o->s.cost_nusd, 2, a),
                 reporter_usd(o->median_type_nusd, 2, b));
    }
    if (t->unpriced_events > 0 && (r = s_reco(self, "unpriced_usage")))
        snprintf(r->text, sizeof r->text,
                 "%lld event(s) used models without a price and count as $0: add their prices "
                 "and reprice the period.",
                 (long long)t->unpriced_events);
    if (t->reported_events > 0) {
        int64_t diff = t->reported_nusd - t->reported_computed_nusd;
        int64_t mag = diff < 0 ? -diff : diff;
        if (mag * 20 > t->reported_computed_nusd && mag > 0 &&
            (r = s_reco(self, "reported_cost_gap"))) {
            reporter_pct(mag, t->reported_computed_nusd, pct);
            snprintf(r->text, sizeof r->text,
                     "Agents reported $%s where prices give $%s (%s%% apart over %lld events): "
                     "check the price catalog against the provider's bill.",
                     reporter_usd(t->reported_nusd, 4, a),
                     reporter_usd(t->reported_computed_nusd, 4, b), pct,
                     (long long)t->reported_events);
        }
    }
}

// ---------------------------------------------------------------------------------------

//  A copy of the window's spans for a model that outlives the window (replacing any).
static int s_spans_copy(const reporter_window_t *w, reporter_span_t **spans, size_t *n,
                        bool *per_tenant)
{
    free(*spans);
    *n = 0;
    *spans = w->n ? malloc(w->n * sizeof **spans) : NULL;
    if (w->n && !*spans)
        return -1;
    if (w->n)
        memcpy(*spans, w->v, w->n * sizeof **spans);
    *n = w->n;
    *per_tenant = w->per_tenant;
    return 0;
}

reporter_rc_t reporter_report_gather(reporter_report_t *self, PGconn *conn, const char *module,
                                     const reporter_window_t *w, const char *period, int top_n)
{
    const char *tenant = w->tenant;
    snprintf(self->tenant, sizeof self->tenant, "%s", tenant);
    snprintf(self->period, sizeof self->period, "%s", period);
    snprintf(self->from, sizeof self->from, "%s", w->from);
    snprintf(self->to, sizeof self->to, "%s", w->to);
    self->top_n = top_n < 1 ? 1 : top_n > REPORTER_TOP_MAX ? REPORTER_TOP_MAX : top_n;
    fc_time_format(reporter_clock_now(), 0, self->generated_at, sizeof self->generated_at);

    if (strcmp(tenant, "*") == 0) {
        snprintf(self->tenant_name, sizeof self->tenant_name, "all tenants");
        snprintf(self->tz, sizeof self->tz, "tenant-local");
    } else {
        const char *params[] = {tenant};
        PGresult *res = fc_pg_query(
            conn, module, "report tenant",
            "SELECT coalesce(name, ''), tz FROM tenants WHERE tenant_id = $1", 1, params);
        if (!res)
            return REPORTER_ERROR;
        if (PQntuples(res) == 0) {
            PQclear(res);
            return REPORTER_NOT_FOUND;
        }
        s_str(self->tenant_name, sizeof self->tenant_name, res, 0, 0);
        s_str(self->tz, sizeof self->tz, res, 0, 1);
        PQclear(res);
    }
    if (s_spans_copy(w, &self->spans, &self->spans_n, &self->per_tenant) != 0)
        return REPORTER_ERROR;
    s_bounds_t b;
    if (s_event_bounds(conn, module, w, self->inday_rollups, &b) != 0)
        return REPORTER_ERROR;
    self->days_final = b.final_days;
    self->days_events = b.events_days;
    if (s_gather_facts(self, conn, module, w, &b) != 0 ||
        s_gather_fleet(self, conn, module, w) != 0 || s_gather_alerts(self, conn, module, w) != 0 ||
        reporter_reconcile_gather(conn, module, self->from, self->to, self->tenant, &self->recon) !=
            0)
        return REPORTER_ERROR;
    //  "Today" of an all-tenant view is the sum of every tenant's own today.
    memset(&self->today, 0, sizeof self->today);
    for (size_t i = 0; i < self->tenants_today.n; i++)
        if (s_sums_add(&self->today, &self->tenants_today.v[i].s) != 0) {
            fc_error(module, "report: today's cost overflows int64");
            return REPORTER_ERROR;
        }
    s_recommend(self);
    return REPORTER_OK;
}

// ---------------------------------------------------------------------------------------
// Single-group cost queries (API, billing)

typedef struct {
    const char *group;
    const char *ev_k1, *ev_k2; //  expressions over evd
    const char *dimension;     //  the rollup dimension that holds it
    const char *sum_k1, *sum_k2;
    bool by_key; //  ordered by key (else by cost, largest first)
} s_group_t;

static const s_group_t s_groups[] = {
    {"total", "''", "''", "total", "''", "''", false},
    {"day", "day::text", "''", "total", "s.day::text", "''", true},
    {"agent_type", "coalesce(agent_type, '')", "''", "agent_type", "s.key", "''", false},
    {"model", "coalesce(model_family, '')", "''", "model", "s.key", "''", false},
    {"agent", "tenant_id", "coalesce(agent_id, '')", "agent", "s.tenant_id", "s.key", false},
    {"task", "tenant_id", "coalesce(task_id, '')", "task", "s.tenant_id", "s.key", false},
    {"kind", "cost_kind", "''", "kind", "s.key", "''", false},
    {"speed", "speed", "''", "speed", "s.key", "''", false},
    {"provider", "provider", "''", "provider", "s.key", "''", false},
    {"tenant", "tenant_id", "''", "total", "s.tenant_id", "''", false},
    {"tenant_kind", "tenant_id", "cost_kind", "kind", "s.tenant_id", "s.key", true},
};

int reporter_costs_send(PGconn *conn, const char *module, const reporter_window_t *w,
                        const char *group)
{
    const s_group_t *g = NULL;
    for (size_t i = 0; i < sizeof s_groups / sizeof s_groups[0]; i++)
        if (strcmp(s_groups[i].group, group) == 0)
            g = &s_groups[i];
    if (!g)
        return -1;
    s_bounds_t b;
    if (s_event_bounds(conn, module, w, false, &b) != 0)
        return -1;
    //  The SQL text is assembled only from the constant fragments of s_groups; every
    //  value arrives as a parameter.
    char sql[8192];
    int n = snprintf(sql, sizeof sql,
                     "WITH " S_SOURCE_CTES ","
                     " u AS (SELECT %s AS k1, %s AS k2, " S_EVENT_SUMS " FROM evd GROUP BY 1, 2"
                     "       UNION ALL"
                     "       SELECT %s AS k1, %s AS k2, " S_SUMMARY_SUMS
                     "         FROM %s s WHERE s.dimension = '%s' GROUP BY 1, 2)"
                     " SELECT k1, k2, sum(cost), sum(i), sum(o), sum(cr), sum(w5), sum(w1),"
                     "        sum(n), sum(un), sum(billed)"
                     "   FROM u GROUP BY k1, k2 %s"
                     "  ORDER BY %s",
                     g->ev_k1, g->ev_k2, g->sum_k1, g->sum_k2,
                     strcmp(g->group, "day") == 0 ? "fin" : "rs", g->dimension,
                     strcmp(g->group, "total") == 0 ? "" : "HAVING sum(n) > 0 OR sum(cost) <> 0",
                     g->by_key ? "k1, k2" : "sum(cost) DESC, k1, k2");
    assert(n > 0 && (size_t)n < sizeof sql);
    const char *params[S_SOURCE_NPARAMS];
    s_source_params(w, &b, params);
    if (!PQsendQueryParams(conn, sql, S_SOURCE_NPARAMS, NULL, params, NULL, NULL, 0)) {
        fc_error(module, "costs: %s", fc_pg_error(conn));
        return -1;
    }
    return 0;
}

int reporter_today(PGconn *conn, const char *module, const char *tenant, int64_t *days)
{
    const char *params[] = {tenant};
    PGresult *res =
        fc_pg_query(conn, module, "today",
                    "SELECT ((" REPORTER_SQL_NOW " AT TIME ZONE"
                    "         coalesce((SELECT tz FROM tenants WHERE tenant_id = $1), 'UTC'))::date"
                    "        - date '1970-01-01')",
                    1, params);
    if (!res)
        return -1;
    *days = fc_pg_int(res, 0, 0);
    PQclear(res);
    return 0;
}

int reporter_live_total(PGconn *conn, const char *module, const char *tenant, const char *day,
                        int64_t *nusd, int64_t *today_key, char latest[11])
{
    //  The tenants' own today (or the given day), as one window for fc_period_spend: the
    //  same definition of spend as the reports, so the live figure of a day that is
    //  already closed is its rollup, and an open day's is its events'.
    static const char *sql =
        "WITH tt AS (SELECT tenant_id, fc_local_day(" REPORTER_SQL_NOW ", tz) AS today"
        "              FROM tenants WHERE ($1 = '*' OR tenant_id = $1)),"
        " w AS (SELECT array_agg(tenant_id ORDER BY tenant_id) AS t,"
        "              array_agg(coalesce($2::date, today) ORDER BY tenant_id) AS d FROM tt)"
        " SELECT (SELECT coalesce(sum(s.billed_nusd), 0) FROM w, fc_period_spend(w.t, w.d, w.d) s)"
        "          ::text,"
        "        (SELECT coalesce(sum(today - date '1970-01-01'), 0) FROM tt)::text,"
        "        (SELECT coalesce(max(today), $2::date,"
        "                         fc_local_day(" REPORTER_SQL_NOW ", 'UTC'))::text FROM tt)";
    const char *params[] = {tenant, day};
    PGresult *res = fc_pg_query(conn, module, "live totals", sql, 2, params);
    if (!res)
        return -1;
    *nusd = fc_pg_int(res, 0, 0);
    *today_key = fc_pg_int(res, 0, 1);
    snprintf(latest, 11, "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Windows

//  Appends s to a Postgres array literal being built, quoted.
static void s_arr_add(fc_buf_t *b, const char *s)
{
    fc_buf_add_str(b, b->len ? ",\"" : "{\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fc_buf_add(b, "\\", 1);
        fc_buf_add(b, p, 1);
    }
    fc_buf_add(b, "\"", 1);
}

static char *s_arr_take(fc_buf_t *b)
{
    fc_buf_add(b, b->len ? "}" : "{}", b->len ? 2 : 3);
    if (b->failed) {
        fc_buf_free(b);
        return NULL;
    }
    return (char *)b->data; //  NUL-terminated: the last add wrote the terminator
}

int reporter_window_resolve(reporter_window_t *w, PGconn *conn, const char *module,
                            const char *tenant, const char *period, const char *date,
                            const char *from, const char *to, char *err, size_t errsize)
{
    memset(w, 0, sizeof *w);
    snprintf(w->tenant, sizeof w->tenant, "%s", tenant);
    //  The parameters are checked once against the UTC date, so that a view without
    //  tenants still rejects them (and has a window to show).
    int64_t today;
    if (reporter_today(conn, module, "*", &today) != 0)
        return -2;
    if (reporter_period_resolve(period, date, from, to, today, w->from, w->to, err, errsize) != 0)
        return -1;
    const char *params[] = {tenant};
    PGresult *res = fc_pg_query(
        conn, module, "window",
        "SELECT tenant_id, tz, ((" REPORTER_SQL_NOW " AT TIME ZONE tz)::date - date '1970-01-01')"
        "  FROM tenants WHERE ($1 = '*' OR tenant_id = $1) ORDER BY tenant_id",
        1, params);
    if (!res)
        return -2;
    int n = PQntuples(res);
    w->v = n ? calloc((size_t)n, sizeof *w->v) : NULL;
    if (n && !w->v) {
        PQclear(res);
        return -2;
    }
    fc_buf_t bt, bf, bto;
    fc_buf_init(&bt);
    fc_buf_init(&bf);
    fc_buf_init(&bto);
    for (int i = 0; i < n; i++) {
        reporter_span_t *sp = &w->v[w->n++];
        s_str(sp->tenant, sizeof sp->tenant, res, i, 0);
        s_str(sp->tz, sizeof sp->tz, res, i, 1);
        int64_t t = fc_pg_int(res, i, 2);
        fc_date_format(t, sp->today);
        //  The same parameters resolved against the UTC date above: cannot fail here.
        if (reporter_period_resolve(period, date, from, to, t, sp->from, sp->to, err, errsize) !=
            0) {
            PQclear(res);
            fc_buf_free(&bt);
            fc_buf_free(&bf);
            fc_buf_free(&bto);
            reporter_window_free(w);
            return -1;
        }
        w->per_tenant |=
            i > 0 && (strcmp(sp->from, w->v[0].from) != 0 || strcmp(sp->to, w->v[0].to) != 0);
        s_arr_add(&bt, sp->tenant);
        s_arr_add(&bf, sp->from);
        s_arr_add(&bto, sp->to);
    }
    PQclear(res);
    //  The union of the spans (ISO dates compare as text).
    for (size_t i = 0; i < w->n; i++) {
        if (i == 0 || strcmp(w->v[i].from, w->from) < 0)
            snprintf(w->from, sizeof w->from, "%s", w->v[i].from);
        if (i == 0 || strcmp(w->v[i].to, w->to) > 0)
            snprintf(w->to, sizeof w->to, "%s", w->v[i].to);
    }
    w->arr_tenants = s_arr_take(&bt);
    w->arr_from = s_arr_take(&bf);
    w->arr_to = s_arr_take(&bto);
    if (!w->arr_tenants || !w->arr_from || !w->arr_to) {
        reporter_window_free(w);
        return -2;
    }
    return 0;
}

void reporter_window_free(reporter_window_t *w)
{
    free(w->v);
    free(w->arr_tenants);
    free(w->arr_from);
    free(w->arr_to);
    w->v = NULL;
    w->arr_tenants = w->arr_from = w->arr_to = NULL;
    w->n = 0;
}

void reporter_window_json(fc_jw_t *w, const reporter_span_t *v, size_t n, bool per_tenant)
{
    fc_jw_bool(w, "per_tenant_windows", per_tenant);
    fc_jw_array(w, "windows");
    for (size_t i = 0; i < n; i++) {
        fc_jw_object(w, NULL);
        fc_jw_str(w, "tenant", v[i].tenant);
        fc_jw_str(w, "tz", v[i].tz);
        fc_jw_str(w, "from", v[i].from);
        fc_jw_str(w, "to", v[i].to);
        fc_jw_str(w, "today", v[i].today);
        fc_jw_end(w);
    }
    fc_jw_end(w);
}

// ---------------------------------------------------------------------------------------
// Budget burn

//  "{50,80,100}" into thresholds (merged, ascending, distinct, at most the maximum).
static void s_thresholds_merge(reporter_burn_t *b, const char *arr)
{
    for (const char *p = arr; *p;) {
        if (*p < '0' || *p > '9') {
            p++;
            continue;
        }
        char *end;
        long v = strtol(p, &end, 10);
        p = end;
        size_t i = 0;
        while (i < b->n_thresholds && b->thresholds[i] < v)
            i++;
        if ((i < b->n_thresholds && b->thresholds[i] == v) || v <= 0 || v > 100000 ||
            b->n_thresholds == REPORTER_THRESHOLDS_MAX)
            continue;
        memmove(&b->thresholds[i + 1], &b->thresholds[i],
                (b->n_thresholds - i) * sizeof b->thresholds[0]);
        b->thresholds[i] = (int)v;
        b->n_thresholds++;
    }
}

int reporter_burn_gather(reporter_burn_t *b, PGconn *conn, const char *module, const char *tenant,
                         bool inday)
{
    memset(b, 0, sizeof *b);
    reporter_window_t w;
    char err[160];
    if (reporter_window_resolve(&w, conn, module, tenant, "mtd", NULL, NULL, NULL, err,
                                sizeof err) != 0)
        return -1;
    int rc = -1;
    PGresult *res = NULL;
    //  Cost per tenant and day of its own month (0 = the 1st), from the same source as the
    //  dashboard's other figures, on the basis of the budget it is compared with (the
    //  tenant's own monthly budget, else the '*' default, as budget_sql below picks it).
    static const char *days_sql =
        "WITH w AS (SELECT u.tenant_id, u.lo,"
        "                  coalesce((SELECT b.basis FROM budgets b WHERE b.tenant_id = u.tenant_id"
        "                               AND b.scope = 'monthly' AND b.subject = ''),"
        "                           (SELECT b.basis FROM budgets b WHERE b.tenant_id = '*'"
        "                               AND b.scope = 'monthly' AND b.subject = ''),"
        "                           'billed') AS basis"
        "             FROM unnest($1::text[], $2::date[]) AS u (tenant_id, lo))"
        " SELECT s.tenant_id, (s.day - w.lo)::text,"
        "        sum(CASE WHEN w.basis = 'list' THEN s.cost_nusd ELSE s.billed_nusd END)::text"
        "  FROM fc_period_spend($1::text[], $2::date[], $3::date[], $4::boolean) s"
        "  JOIN w ON w.tenant_id = s.tenant_id"
        " GROUP BY 1, 2 ORDER BY 1, 2";
    const char *params[] = {w.arr_tenants, w.arr_from, w.arr_to, inday ? "true" : "false"};
    res = fc_pg_query(conn, module, "burn days", days_sql, 4, params);
    if (!res)
        goto done;
    int64_t daily[31] = {0};
    //  Month-to-date per tenant, in the order of the window (by tenant id, as the rows).
    int64_t *mtd = w.n ? calloc(w.n, sizeof *mtd) : NULL;
    if (w.n && !mtd)
        goto done;
    size_t t = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *tid = PQgetvalue(res, i, 0);
        while (t < w.n && strcmp(w.v[t].tenant, tid) != 0)
            t++;
        int64_t idx = fc_pg_int(res, i, 1), cost = fc_pg_int(res, i, 2);
        if (t == w.n || idx < 0 || idx > 30)
            continue;
        daily[idx] += cost;
        mtd[t] += cost;
    }
    PQclear(res);
    static const char *budget_sql =
        "WITH " REPORTER_SQL_WINDOW
        " SELECT w.tenant_id, coalesce(own.amount_nusd, def.amount_nusd, 0)::text,"
        "        coalesce(own.thresholds, def.thresholds, '{}')::text,"
        "        (own.tenant_id IS NOT NULL OR def.tenant_id IS NOT NULL)::text,"
        "        (extract(epoch FROM w.lo::timestamp AT TIME ZONE w.tz) * 1000000)::bigint,"
        "        (extract(epoch FROM (w.lo + interval '1 month')::timestamp AT TIME ZONE w.tz)"
        "         * 1000000)::bigint,"
        "        (extract(epoch FROM " REPORTER_SQL_NOW ") * 1000000)::bigint,"
        "        ((w.lo + interval '1 month')::date - w.lo), (w.today - w.lo + 1)"
        "   FROM win w"
        "   LEFT JOIN budgets own ON own.tenant_id = w.tenant_id AND own.scope = 'monthly'"
        "                        AND own.subject = ''"
        "   LEFT JOIN budgets def ON def.tenant_id = '*' AND def.scope = 'monthly'"
        "                        AND def.subject = ''"
        "  ORDER BY w.tenant_id";
    res = fc_pg_query(conn, module, "burn budgets", budget_sql, 3, params);
    if (!res) {
        free(mtd);
        goto done;
    }
    b->forecast = true;
    bool overflow = false;
    for (int i = 0; i < PQntuples(res) && (size_t)i < w.n; i++) {
        int64_t budget = fc_pg_int(res, i, 1), start = fc_pg_int(res, i, 4),
                end = fc_pg_int(res, i, 5), now = fc_pg_int(res, i, 6), dim = fc_pg_int(res, i, 7),
                el = fc_pg_int(res, i, 8), f;
        b->tenants++;
        if (strcmp(PQgetvalue(res, i, 3), "true") == 0) {
            b->tenants_budgeted++;
            overflow |= fc_money_add(b->budget_nusd, budget, &b->budget_nusd) != 0;
            s_thresholds_merge(b, PQgetvalue(res, i, 2));
        }
        //  The alerter's forecast, with its default of a day of data before projecting.
        if (alerter_forecast(mtd[i], start, end, now, 24LL * 3600 * 1000000, 0, &f) != 0) {
            f = mtd[i];
            b->forecast &= mtd[i] == 0;
        }
        overflow |= fc_money_add(b->forecast_nusd, f, &b->forecast_nusd) != 0;
        if (dim > 0 && (size_t)dim > b->days_in_month)
            b->days_in_month = (size_t)(dim > 31 ? 31 : dim);
        if (el > 0 && (size_t)el > b->days_elapsed)
            b->days_elapsed = (size_t)(el > 31 ? 31 : el);
    }
    PQclear(res);
    free(mtd);
    for (size_t i = 0; i < 31; i++)
        overflow |= fc_money_add(i ? b->cum[i - 1] : 0, daily[i], &b->cum[i]) != 0;
    b->mtd_nusd = b->days_elapsed ? b->cum[b->days_elapsed - 1] : 0;
    if (overflow) {
        fc_error(module, "burn: a sum overflows int64");
        goto done;
    }
    rc = 0;
done:
    reporter_window_free(&w);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Drill-down pages

typedef struct {
    const char *dim, *ev_col;
} s_drill_dim_t;

static const s_drill_dim_t s_drill_dims[] = {
    {"agent", "agent_id"},
    {"task", "task_id"},
    {"agent_type", "coalesce(agent_type, '')"},
    {"model", "coalesce(model_family, '')"},
    {"kind", "cost_kind"},
};

//  Reads "name: value" facts (every column of row 0 not NULL) into the drill-down.
static void s_drill_facts(reporter_drill_t *d, const PGresult *res)
{
    if (PQntuples(res) == 0)
        return;
    for (int c = 0; c < PQnfields(res) && d->facts_n < 12; c++)
        if (!PQgetisnull(res, 0, c) && *PQgetvalue(res, 0, c))
            snprintf(d->facts[d->facts_n++], REPORTER_TEXT_MAX, "%s: %s", PQfname(res, c),
                     PQgetvalue(res, 0, c));
}

reporter_rc_t reporter_drill_gather(reporter_drill_t *d, PGconn *conn, const char *module,
                                    const reporter_window_t *w, const char *period, const char *dim,
                                    const char *key)
{
    memset(d, 0, sizeof *d);
    const s_drill_dim_t *dd = NULL;
    for (size_t i = 0; i < sizeof s_drill_dims / sizeof s_drill_dims[0]; i++)
        if (strcmp(s_drill_dims[i].dim, dim) == 0)
            dd = &s_drill_dims[i];
    if (!dd)
        return REPORTER_NOT_FOUND;
    snprintf(d->dim, sizeof d->dim, "%s", dim);
    snprintf(d->key, sizeof d->key, "%s", key);
    snprintf(d->tenant, sizeof d->tenant, "%s", w->tenant);
    snprintf(d->period, sizeof d->period, "%s", period);
    snprintf(d->from, sizeof d->from, "%s", w->from);
    snprintf(d->to, sizeof d->to, "%s", w->to);
    if (s_spans_copy(w, &d->spans, &d->spans_n, &d->per_tenant) != 0)
        return REPORTER_ERROR;
    s_bounds_t b;
    if (s_event_bounds(conn, module, w, false, &b) != 0)
        return REPORTER_ERROR;
    //  The SQL text is assembled only from the constants of s_drill_dims; the key is a
    //  parameter. Final days read the dimension's own rollup rows, other days events.
    char sql[8192];
    int n = snprintf(sql, sizeof sql,
                     "WITH " S_SOURCE_CTES ","
                     " u AS (SELECT tenant_id, day, " S_EVENT_SUMS " FROM evd WHERE %s = $7"
                     "        GROUP BY 1, 2"
                     "       UNION ALL"
                     "       SELECT s.tenant_id, s.day, " S_SUMMARY_SUMS
                     "         FROM cost_summaries s JOIN fin f ON f.tenant_id = s.tenant_id"
                     "          AND f.day = s.day AND f.final = s.final"
                     "        WHERE s.dimension = '%s' AND s.key = $7 GROUP BY 1, 2)"
                     " SELECT tenant_id, day::text, sum(cost), sum(i), sum(o), sum(cr), sum(w5),"
                     "        sum(w1), sum(n), sum(un), sum(billed)"
                     "   FROM u GROUP BY 1, 2 ORDER BY 2, 1",
                     dd->ev_col, dd->dim);
    assert(n > 0 && (size_t)n < sizeof sql);
    const char *params[S_SOURCE_NPARAMS + 1];
    s_source_params(w, &b, params);
    params[S_SOURCE_NPARAMS] = key;
    PGresult *res = fc_pg_query(conn, module, "drill", sql, S_SOURCE_NPARAMS + 1, params);
    if (!res)
        return REPORTER_ERROR;
    bool overflow = false;
    for (int i = 0; i < PQntuples(res); i++) {
        reporter_sums_t x = {
            .cost_nusd = fc_pg_int(res, i, 2),
            .input = fc_pg_int(res, i, 3),
            .output = fc_pg_int(res, i, 4),
            .cache_read = fc_pg_int(res, i, 5),
            .cache_write_5m = fc_pg_int(res, i, 6),
            .cache_write_1h = fc_pg_int(res, i, 7),
            .events = fc_pg_int(res, i, 8),
            .unpriced_events = fc_pg_int(res, i, 9),
            .billed_nusd = fc_pg_int(res, i, 10),
        };
        const char *tenant = PQgetvalue(res, i, 0), *day = PQgetvalue(res, i, 1);
        reporter_row_t *r = d->days.n ? &d->days.v[d->days.n - 1] : NULL;
        if (!r || strcmp(r->k1, day) != 0) {
            if (!(r = s_rows_push(&d->days)))
                overflow = true;
            else
                snprintf(r->k1, sizeof r->k1, "%s", day);
        }
        reporter_row_t *tr = NULL;
        for (size_t k = 0; k < d->tenants.n && !tr; k++)
            if (strcmp(d->tenants.v[k].k1, tenant) == 0)
                tr = &d->tenants.v[k];
        if (!tr && (tr = s_rows_push(&d->tenants)))
            snprintf(tr->k1, sizeof tr->k1, "%s", tenant);
        overflow |= !r || !tr || s_sums_add(&r->s, &x) != 0 || s_sums_add(&tr->s, &x) != 0 ||
                    s_sums_add(&d->total, &x) != 0;
    }
    PQclear(res);
    if (overflow) {
        fc_error(module, "drill: out of memory or a sum overflows int64");
        return REPORTER_ERROR;
    }
    //  What the dimension tables know, for one tenant's agent or task.
    if (strcmp(w->tenant, "*") != 0 && (strcmp(dim, "agent") == 0 || strcmp(dim, "task") == 0)) {
        bool agent = strcmp(dim, "agent") == 0;
        const char *kp[] = {w->tenant, key};
        res = fc_pg_query(
            conn, module, "drill facts",
            agent ? "SELECT agent_type AS \"type\", host, parent_agent AS \"parent\","
                    "       task_id AS \"task\", spawned_at::text AS spawned,"
                    "       terminated_at::text AS terminated, terminate_reason AS reason,"
                    "       last_seen_at::text AS \"last seen\""
                    "  FROM agents WHERE tenant_id = $1 AND agent_id = $2"
                  : "SELECT title, task_type AS \"type\", priority, status, repo,"
                    "       issue::text AS issue, created_at::text AS created,"
                    "       completed_at::text AS completed"
                    "  FROM tasks WHERE tenant_id = $1 AND task_id = $2",
            2, kp);
        if (!res)
            return REPORTER_ERROR;
        s_drill_facts(d, res);
        PQclear(res);
        res = fc_pg_query(
            conn, module, "drill related",
            agent ? "SELECT task_id FROM task_agents WHERE tenant_id = $1 AND agent_id = $2"
                    " UNION SELECT task_id FROM agents WHERE tenant_id = $1 AND agent_id = $2"
                    "   AND task_id IS NOT NULL ORDER BY 1 LIMIT 50"
                  : "SELECT agent_id FROM task_agents WHERE tenant_id = $1 AND task_id = $2"
                    " UNION SELECT agent_id FROM agents WHERE tenant_id = $1 AND task_id = $2"
                    " ORDER BY 1 LIMIT 50",
            2, kp);
        if (!res)
            return REPORTER_ERROR;
        for (int i = 0; i < PQntuples(res) && d->related_n < 50; i++)
            s_str(d->related[d->related_n++], REPORTER_KEY_MAX, res, i, 0);
        PQclear(res);
    }
    return REPORTER_OK;
}

void reporter_drill_free(reporter_drill_t *d)
{
    s_rows_free(&d->days);
    s_rows_free(&d->tenants);
    free(d->spans);
    d->spans = NULL;
}

// ---------------------------------------------------------------------------------------
// Money text

const char *reporter_usd(int64_t nusd, int decimals, char buf[32])
{
    if (fc_money_format(nusd, buf, 32, decimals) != 0)
        snprintf(buf, 32, "?");
    return buf;
}
