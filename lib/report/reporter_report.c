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

//  The report's facts in one scan of each source: the events of the open days summed
//  per (tenant, day, agent type, model, agent, task, kind, speed, provider, price version
//  and tier, unpriced) once (ev0), then GROUPING SETS over those groups (far fewer rows
//  than events); the rollups of closed days (rs, fin); merged per (dim, k1, k2). The
//  split by speed and provider ('speed', 'provider' rows) and the cache tokens per price
//  version and tier ('cache' rows: k1 the version, k2 't' for the long-context tier) come
//  from the same ev0, so a report reads the open days' events once.
//  Agents and tasks are cut to the top $7 by cost (dim_rows keeps their full count);
//  'outlier' rows are tasks costing over 3x the median of their type (types with at
//  least 3 tasks). Task rows carry what tasks/task_agents/agents know about them.
//
//  GROUPING(tenant_id, day, agent_type, model_family, agent_id, task_id, cost_kind) is a
//  bit mask with 1 for each column not grouped on (tenant_id is 64, cost_kind 1).
//  'tenant_day' rows are kept for each tenant's own today only (the "today" figures).
static const char *s_facts_sql =
    "WITH " S_SOURCE_CTES ","
    " ev0 AS MATERIALIZED ("
    "        SELECT tenant_id, day, agent_type, model_family, agent_id, task_id, cost_kind,"
    "               speed, provider, price_version, coalesce(price_tiered, false) AS tiered,"
    "               unpriced, " S_EVENT_SUMS ","
    "               coalesce(sum(reported_cost_nusd), 0) AS rep,"
    "               coalesce(sum(cost_nusd) FILTER (WHERE reported), 0) AS repc,"
    "               coalesce(sum(events) FILTER (WHERE reported), 0) AS repn,"
    "               coalesce(sum(events) FILTER (WHERE small), 0) AS sn,"
    "               coalesce(sum(cost_nusd) FILTER (WHERE small), 0) AS sc"
    "          FROM evd GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),"
    " ev1 AS (SELECT tenant_id, day, agent_type, model_family, agent_id, task_id, cost_kind,"
    "                sum(cost) AS cost, sum(i) AS i, sum(o) AS o, sum(cr) AS cr, sum(w5) AS w5,"
    "                sum(w1) AS w1, sum(n) AS n, sum(un) AS un, sum(billed) AS billed,"
    "                sum(rep) AS rep, sum(repc) AS repc, sum(repn) AS repn, sum(sn) AS sn,"
    "                sum(sc) AS sc"
    "           FROM ev0 GROUP BY 1, 2, 3, 4, 5, 6, 7),"
    //  The cost by speed and by provider, and the cache tokens per (price version, tier)
    //  that s_price_cache prices: events of the open days, rollups of the closed ones.
    " spl AS (SELECT dim, k, sum(cost) AS cost, sum(i) AS i, sum(o) AS o, sum(cr) AS cr,"
    "                sum(w5) AS w5, sum(w1) AS w1, sum(n) AS n, sum(un) AS un,"
    "                sum(billed) AS billed"
    "           FROM (SELECT 'speed' AS dim, speed AS k, cost, i, o, cr, w5, w1, n, un, billed"
    "                   FROM ev0"
    "                 UNION ALL"
    "                 SELECT 'provider', provider, cost, i, o, cr, w5, w1, n, un, billed"
    "                   FROM ev0"
    "                 UNION ALL"
    "                 SELECT s.dimension, s.key, s.cost_nusd, s.input_tokens, s.output_tokens,"
    "                        s.cache_read_tokens, s.cache_write_5m_tokens,"
    "                        s.cache_write_1h_tokens, s.events, s.unpriced_events, s.billed_nusd"
    "                   FROM rs s WHERE s.dimension IN ('speed', 'provider')) u"
    "          GROUP BY 1, 2 HAVING sum(n) > 0 OR sum(cost) <> 0),"
    " cch AS (SELECT v, t, sum(cr) AS cr, sum(w5) AS w5, sum(w1) AS w1"
    "           FROM (SELECT price_version AS v, tiered AS t, cr, w5, w1 FROM ev0"
    "                  WHERE price_version IS NOT NULL AND NOT unpriced"
    "                 UNION ALL"
    "                 SELECT split_part(s.key, ':', 1)::int, split_part(s.key, ':', 2) = 't',"
    "                        s.cache_read_tokens, s.cache_write_5m_tokens,"
    "                        s.cache_write_1h_tokens"
    "                   FROM rs s WHERE s.dimension = 'price' AND s.key <> '') u"
    "          GROUP BY 1, 2 HAVING sum(cr) + sum(w5) + sum(w1) > 0),"
    " eg AS (SELECT CASE GROUPING(tenant_id, day, agent_type, model_family, agent_id, task_id,"
    "                             cost_kind)"
    "                 WHEN 127 THEN 'total' WHEN 95 THEN 'day' WHEN 111 THEN 'agent_type'"
    "                 WHEN 119 THEN 'model' WHEN 59 THEN 'agent' WHEN 61 THEN 'task'"
    "                 WHEN 126 THEN 'kind' WHEN 63 THEN 'tenant' WHEN 62 THEN 'tenant_kind'"
    "                 WHEN 31 THEN 'tenant_day' END"
    "                 AS dim,"
    "               CASE WHEN GROUPING(tenant_id) = 0 AND GROUPING(day) = 0 THEN tenant_id"
    "                    WHEN GROUPING(day) = 0 THEN day::text"
    "                    WHEN GROUPING(agent_type) = 0 THEN coalesce(agent_type, '')"
    "                    WHEN GROUPING(model_family) = 0 THEN coalesce(model_family, '')"
    "                    WHEN GROUPING(tenant_id) = 0 THEN tenant_id"
    "                    WHEN GROUPING(cost_kind) = 0 THEN cost_kind ELSE '' END AS k1,"
    "               CASE WHEN GROUPING(tenant_id) = 0 AND GROUPING(day) = 0 THEN day::text"
    "                    WHEN GROUPING(tenant_id) = 0 AND GROUPING(agent_id) = 0"
    "                      THEN coalesce(agent_id, '')"
    "                    WHEN GROUPING(tenant_id) = 0 AND GROUPING(task_id) = 0"
    "                      THEN coalesce(task_id, '')"
    "                    WHEN GROUPING(tenant_id) = 0 AND GROUPING(cost_kind) = 0"
    "                      THEN cost_kind ELSE '' END AS k2,"
    "               sum(cost) AS cost, sum(i) AS i, sum(o) AS o, sum(cr) AS cr, sum(w5) AS w5,"
    "               sum(w1) AS w1, sum(n) AS n, sum(un) AS un, sum(billed) AS billed,"
    "               sum(rep) AS rep, sum(repc) AS repc, sum(repn) AS repn, sum(sn) AS sn,"
    "               sum(sc) AS sc"
    "          FROM ev1"
    "         GROUP BY GROUPING SETS ((), (day), (agent_type), (model_family),"
    "                                 (tenant_id, agent_id), (tenant_id, task_id), (cost_kind),"
    "                                 (tenant_id), (tenant_id, cost_kind), (tenant_id, day))),"
    " sg AS (SELECT m.dim,"
    "               CASE m.dim WHEN 'total' THEN '' WHEN 'tenant' THEN s.tenant_id"
    "                          WHEN 'agent' THEN s.tenant_id WHEN 'task' THEN s.tenant_id"
    "                          WHEN 'tenant_kind' THEN s.tenant_id ELSE s.key END AS k1,"
    "               CASE WHEN m.dim IN ('agent', 'task', 'tenant_kind') THEN s.key ELSE '' END"
    "                 AS k2,"
    "               " S_SUMMARY_SUMS ", 0 AS rep, 0 AS repc, 0 AS repn, 0 AS sn, 0 AS sc"
    "          FROM rs s"
    "          JOIN (VALUES ('total', 'total'), ('total', 'tenant'), ('agent_type', 'agent_type'),"
    "                       ('model', 'model'), ('agent', 'agent'), ('task', 'task'),"
    "                       ('kind', 'kind'), ('kind', 'tenant_kind'))"
    "               AS m(src, dim) ON m.src = s.dimension"
    "         GROUP BY 1, 2, 3"
    "         UNION ALL"
    "         SELECT 'day', s.day::text, '', " S_SUMMARY_SUMS ", 0, 0, 0, 0, 0"
    "           FROM fin s GROUP BY s.day"
    "         UNION ALL"
    "         SELECT 'tenant_day', s.tenant_id, s.day::text, " S_SUMMARY_SUMS ", 0, 0, 0, 0, 0"
    "           FROM fin s GROUP BY s.tenant_id, s.day),"
    " allg AS (SELECT dim, k1, k2, coalesce(sum(cost), 0) AS cost, coalesce(sum(i), 0) AS i,"
    "                 coalesce(sum(o), 0) AS o, coalesce(sum(cr), 0) AS cr,"
    "                 coalesce(sum(w5), 0) AS w5, coalesce(sum(w1), 0) AS w1,"
    "                 coalesce(sum(n), 0) AS n, coalesce(sum(un), 0) AS un,"
    "                 coalesce(sum(billed), 0) AS billed, coalesce(sum(rep), 0) AS rep, "
    "coalesce(sum(repc), 0) AS repc,"
    "                 coalesce(sum(repn), 0) AS repn, coalesce(sum(sn), 0) AS sn,"
    "                 coalesce(sum(sc), 0) AS sc"
    "            FROM (SELECT * FROM eg UNION ALL SELECT * FROM sg) u"
    "           WHERE dim IS NOT NULL AND (dim = 'total' OR n > 0 OR cost <> 0)"
    "             AND NOT (dim = 'task' AND k2 = '')" //  spending outside any task
    //  of the tenant-days, only each tenant's today
    "             AND (dim <> 'tenant_day' OR (k1, k2) IN (SELECT tenant_id, today::text FROM win))"
    "           GROUP BY dim, k1, k2),"
    " ranked AS (SELECT a.*, count(*) OVER (PARTITION BY dim) AS dim_rows,"
    "                   row_number() OVER (PARTITION BY dim ORDER BY cost DESC, k1, k2) AS rn"
    "              FROM allg a),"
    " tt AS (SELECT a.k1, a.k2, a.cost, t.task_type FROM allg a"
    "          JOIN tasks t ON t.tenant_id = a.k1 AND t.task_id = a.k2"
    "         WHERE a.dim = 'task' AND t.task_type IS NOT NULL),"
    " med AS (SELECT task_type, percentile_disc(0.5) WITHIN GROUP (ORDER BY cost) AS median"
    "           FROM tt GROUP BY task_type HAVING count(*) >= 3),"
    " outl AS (SELECT tt.k1, tt.k2, med.median FROM tt JOIN med USING (task_type)"
    "           WHERE med.median > 0 AND tt.cost > 3 * med.median"
    "           ORDER BY tt.cost DESC, tt.k1, tt.k2 LIMIT 10),"
    " sel AS (SELECT r.dim, r.k1, r.k2, r.cost, r.i, r.o, r.cr, r.w5, r.w1, r.n, r.un, r.rep,"
    "                r.repc, r.repn, r.sn, r.sc, r.dim_rows, 0::numeric AS median, r.billed"
    "           FROM ranked r WHERE r.dim NOT IN ('agent', 'task') OR r.rn <= $7::int"
    "         UNION ALL"
    "         SELECT 'outlier', a.k1, a.k2, a.cost, a.i, a.o, a.cr, a.w5, a.w1, a.n, a.un,"
    "                a.rep, a.repc, a.repn, a.sn, a.sc, 0, o.median, a.billed"
    "           FROM outl o JOIN allg a ON a.dim = 'task' AND a.k1 = o.k1 AND a.k2 = o.k2"
    "         UNION ALL"
    "         SELECT dim, k, '', cost, i, o, cr, w5, w1, n, un, 0, 0, 0, 0, 0,"
    "                count(*) OVER (PARTITION BY dim), 0, billed FROM spl"
    "         UNION ALL"
    "         SELECT 'cache', v::text, CASE WHEN t THEN 't' ELSE 'f' END, 0, 0, 0, cr, w5, w1, 0,"
    "                0, 0, 0, 0, 0, 0, 0, 0, 0 FROM cch)"
    " SELECT s.dim, s.k1, s.k2, s.cost, s.i, s.o, s.cr, s.w5, s.w1, s.n, s.un, s.rep, s.repc,"
    "        s.repn, s.sn, s.sc, s.dim_rows, s.median,"
    "        coalesce(t.title, ''), coalesce(t.task_type, ''), coalesce(t.status, ''),"
    "        CASE WHEN t.completed_at IS NOT NULL AND t.created_at IS NOT NULL"
    "             THEN extract(epoch FROM t.completed_at - t.created_at)::bigint ELSE -1 END,"
    "        coalesce(ag.n, 0), coalesce(ag.list, ''), s.billed AS billed"
    "   FROM sel s"
    "   LEFT JOIN tasks t ON s.dim IN ('task', 'outlier') AND t.tenant_id = s.k1"
    "                    AND t.task_id = s.k2"
    "   LEFT JOIN LATERAL ("
    "        SELECT count(*) AS n,"
    "               string_agg(agent_id, ' ' ORDER BY agent_id) FILTER (WHERE rk <= 5) AS list"
    "          FROM (SELECT agent_id, row_number() OVER (ORDER BY agent_id) AS rk"
    "                  FROM (SELECT ta.agent_id FROM task_agents ta"
    "                         WHERE ta.tenant_id = s.k1 AND ta.task_id = s.k2"
    "                        UNION"
    "                        SELECT a.agent_id FROM agents a"
    "                         WHERE a.tenant_id = s.k1 AND a.task_id = s.k2) u) v"
    "         WHERE s.dim IN ('task', 'outlier')) ag ON true"
    "  ORDER BY s.dim, CASE WHEN s.dim = 'day' THEN s.k1 END, s.cost DESC, s.k1, s.k2";

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

//  Columns 3..15 of the facts query into sums, and billed from column cb (named
//  "billed", looked up once per result: s_facts_cols).
static void s_read_sums(reporter_sums_t *s, const PGresult *res, int row, int cb)
{
    s->cost_nusd = fc_pg_int(res, row, 3);
    s->billed_nusd = fc_pg_int(res, row, cb);
    s->input = fc_pg_int(res, row, 4);
    s->output = fc_pg_int(res, row, 5);
    s->cache_read = fc_pg_int(res, row, 6);
    s->cache_write_5m = fc_pg_int(res, row, 7);
    s->cache_write_1h = fc_pg_int(res, row, 8);
    s->events = fc_pg_int(res, row, 9);
    s->unpriced_events = fc_pg_int(res, row, 10);
    s->reported_nusd = fc_pg_int(res, row, 11);
    s->reported_computed_nusd = fc_pg_int(res, row, 12);
    s->reported_events = fc_pg_int(res, row, 13);
    s->small_requests = fc_pg_int(res, row, 14);
    s->small_cost_nusd = fc_pg_int(res, row, 15);
}

//  Sums do not fit int64 only for absurd data; Postgres returns numeric, and a value
//  out of range would come back from strtoll as INT64_MIN/MAX with ERANGE. Checked once
//  over the whole result rather than per field.
static bool s_result_in_range(const PGresult *res, int cb)
{
    for (int r = 0; r < PQntuples(res); r++)
        for (int c = 3; c <= 18; c++) {
            errno = 0;
            (void)strtoll(PQgetvalue(res, r, c == 18 ? cb : c), NULL, 10);
            if (errno == ERANGE)
                return false;
        }
    return true;
}

static void s_read_task(reporter_task_t *t, const PGresult *res, int row, int cb)
{
    memset(t, 0, sizeof *t);
    s_str(t->tenant, sizeof t->tenant, res, row, 1);
    s_str(t->task, sizeof t->task, res, row, 2);
    s_read_sums(&t->s, res, row, cb);
    t->median_type_nusd = fc_pg_int(res, row, 17);
    s_str(t->title, sizeof t->title, res, row, 18);
    s_str(t->type, sizeof t->type, res, row, 19);
    s_str(t->status, sizeof t->status, res, row, 20);
    t->seconds_to_complete = fc_pg_int(res, row, 21);
    t->agents_n = fc_pg_int(res, row, 22);
    s_str(t->agents, sizeof t->agents, res, row, 23);
}

static int s_price_cache(reporter_report_t *self, PGconn *conn, const char *module,
                         const PGresult *res);

static int s_gather_facts(reporter_report_t *self, PGconn *conn, const char *module,
                          const reporter_window_t *w, const s_bounds_t *b)
{
    char top[16];
    snprintf(top, sizeof top, "%d", self->top_n);
    const char *params[S_SOURCE_NPARAMS + 1];
    s_source_params(w, b, params);
    params[S_SOURCE_NPARAMS] = top;
    PGresult *res =
        fc_pg_query(conn, module, "report facts", s_facts_sql, S_SOURCE_NPARAMS + 1, params);
    if (!res)
        return -1;
    int cb = PQfnumber(res, "billed");
    if (cb < 0 || !s_result_in_range(res, cb)) {
        fc_error(module, "report facts: a sum is out of the int64 range");
        PQclear(res);
        return -1;
    }
    int n = PQntuples(res);
    size_t ntasks = 0, nout = 0;
    for (int i = 0; i < n; i++) {
        const char *dim = PQgetvalue(res, i, 0);
        ntasks += strcmp(dim, "task") == 0;
        nout += strcmp(dim, "outlier") == 0;
    }
    self->tasks = ntasks ? calloc(ntasks, sizeof *self->tasks) : NULL;
    self->outliers = nout ? calloc(nout, sizeof *self->outliers) : NULL;
    if ((ntasks && !self->tasks) || (nout && !self->outliers)) {
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *dim = PQgetvalue(res, i, 0);
        reporter_rows_t *rows = NULL;
        if (strcmp(dim, "total") == 0) {
            s_read_sums(&self->total, res, i, cb);
            continue;
        }
        if (strcmp(dim, "task") == 0) {
            s_read_task(&self->tasks[self->tasks_n++], res, i, cb);
            self->tasks_total = fc_pg_int(res, i, 16);
            continue;
        }
        if (strcmp(dim, "outlier") == 0) {
            s_read_task(&self->outliers[self->outliers_n++], res, i, cb);
            continue;
        }
        if (strcmp(dim, "day") == 0)
            rows = &self->days;
        else if (strcmp(dim, "agent_type") == 0)
            rows = &self->agent_types;
        else if (strcmp(dim, "model") == 0)
            rows = &self->models;
        else if (strcmp(dim, "agent") == 0)
            rows = &self->agents;
        else if (strcmp(dim, "kind") == 0)
            rows = &self->kinds;
        else if (strcmp(dim, "tenant") == 0)
            rows = &self->tenants;
        else if (strcmp(dim, "tenant_kind") == 0)
            rows = &self->tenant_kinds;
        else if (strcmp(dim, "tenant_day") == 0)
            rows = &self->tenants_today;
        else if (strcmp(dim, "speed") == 0)
            rows = &self->speeds;
        else if (strcmp(dim, "provider") == 0)
            rows = &self->providers;
        else
            continue;
        reporter_row_t *r = s_rows_push(rows);
        if (!r) {
            PQclear(res);
            return -1;
        }
        s_str(r->k1, sizeof r->k1, res, i, 1);
        s_str(r->k2, sizeof r->k2, res, i, 2);
        s_read_sums(&r->s, res, i, cb);
        rows->total_rows = fc_pg_int(res, i, 16);
    }
    int rc = self->models.n > 0 ? s_price_cache(self, conn, module, res) : 0;
    PQclear(res);
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
//  one set of rates, and fc_price_cache_effect prices each sum. The sums are the 'cache'
//  rows of the facts query (res): events of the open days, the final rollups' 'price'
//  rows (aggregator_pg.h) of the closed ones, so closed days cost no event scan.
//  Unpriced usage counts for nothing; usage stored before price_tiered existed counts at
//  base rates until a reprice records its tier.
static int s_price_cache(reporter_report_t *self, PGconn *conn, const char *module,
                         const PGresult *res)
{
    fc_catalog_t *cat = NULL;
    int ncache = 0;
    for (int i = 0; i < PQntuples(res); i++)
        ncache += strcmp(PQgetvalue(res, i, 0), "cache") == 0;
    if (ncache > 0 && !(cat = fc_catalog_load_pg(conn, module)))
        return -1;
    int64_t saved = 0, premium = 0;
    bool overflow = false;
    for (int i = 0; i < PQntuples(res) && ncache > 0 && !overflow; i++) {
        if (strcmp(PQgetvalue(res, i, 0), "cache") != 0)
            continue;
        const fc_price_t *p = fc_catalog_version(cat, (int32_t)fc_pg_int(res, i, 1));
        if (!p)
            continue; //  a version deleted by hand: nothing to price it with
        fc_tokens_t tok = {{0}};
        errno = 0;
        tok.t[FC_TOK_CACHE_READ] = fc_pg_int(res, i, 6);
        tok.t[FC_TOK_CACHE_WRITE_5M] = fc_pg_int(res, i, 7);
        tok.t[FC_TOK_CACHE_WRITE_1H] = fc_pg_int(res, i, 8);
        int64_t one_saved, one_premium;
        overflow = errno == ERANGE ||
                   fc_price_cache_effect(p, PQgetvalue(res, i, 2)[0] == 't', &tok, &one_saved,
                                         &one_premium) != 0 ||
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
