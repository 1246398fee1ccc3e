/*  alerter_store: Postgres statements of the alerter (see alerter_store.h). */
#include "alerter_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"

#define MODULE "alerter"

//  A µs-since-epoch parameter as a timestamptz, and a timestamptz as µs.
#define TS(p) "(timestamptz 'epoch' + " p "::bigint * interval '1 microsecond')"
#define US(x) "(extract(epoch FROM " x ") * 1000000)::bigint"

static void s_copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

//  Bounds of the local day and month containing the local date `day` in zone tz
//  (fc_local_start, migration 0017).
#define BOUNDS(day, tz)                                                                            \
    US("fc_local_start(" day ", " tz ")")                                                          \
    ", " US("fc_local_start(" day " + 1, " tz                                                      \
            ")") ", " US("fc_local_start(date_trunc('month', " day "::timestamp)::date, " tz       \
                         ")") ", " US("fc_local_start((date_trunc('month', " day                   \
                                      "::timestamp) + interval '1 month')::date, " tz ")")

static void s_period_row(PGresult *r, int c, alerter_period_t *out)
{
    s_copy(out->tz, sizeof out->tz, PQgetvalue(r, 0, c));
    s_copy(out->day, sizeof out->day, PQgetvalue(r, 0, c + 1));
    s_copy(out->month, sizeof out->month, PQgetvalue(r, 0, c + 2));
    out->day_start_us = fc_pg_int(r, 0, c + 3);
    out->day_end_us = fc_pg_int(r, 0, c + 4);
    out->month_start_us = fc_pg_int(r, 0, c + 5);
    out->month_end_us = fc_pg_int(r, 0, c + 6);
}

int alerter_store_period(PGconn *pg, const char *tenant, int64_t now_us, alerter_period_t *out)
{
    char now[32];
    snprintf(now, sizeof now, "%" PRId64, now_us);
    const char *p[] = {tenant, now};
    PGresult *r =
        fc_pg_query(pg, MODULE, "tenant period",
                    "SELECT tz, d, to_char(d, 'YYYY-MM'), " BOUNDS(
                        "d", "tz") " FROM ("
                                   " SELECT tz, fc_local_day(" TS(
                                       "$2") ", tz) AS d FROM ("
                                             "  SELECT coalesce((SELECT tz FROM tenants WHERE "
                                             "tenant_id = $1), 'UTC') AS tz) z) x",
                    2, p);
    if (!r)
        return -1;
    memset(out, 0, sizeof *out);
    s_period_row(r, 0, out);
    PQclear(r);
    return 0;
}

int alerter_store_spend(PGconn *pg, const char *tenant, int64_t now_us, alerter_period_t *out)
{
    char now[32];
    snprintf(now, sizeof now, "%" PRId64, now_us);
    const char *p[] = {tenant, now};
    PGresult *r = fc_pg_query(
        pg, MODULE, "tenant spend",
        "SELECT tz, day, month, " BOUNDS("day", "tz") ", day_nusd, month_nusd,"
                                                      " day_billed_nusd, month_billed_nusd"
                                                      " FROM fc_tenant_spend($1, " TS("$2") ")",
        2, p);
    if (!r)
        return -1;
    if (PQntuples(r) != 1) {
        PQclear(r);
        fc_error(MODULE, "tenant spend: no row for %s", tenant);
        return -1;
    }
    memset(out, 0, sizeof *out);
    s_period_row(r, 0, out);
    out->day_nusd = fc_pg_int(r, 0, 7);
    out->month_nusd = fc_pg_int(r, 0, 8);
    out->day_billed_nusd = fc_pg_int(r, 0, 9);
    out->month_billed_nusd = fc_pg_int(r, 0, 10);
    PQclear(r);
    return 0;
}

int alerter_store_budgets(PGconn *pg, const char *tenant, alerter_budget_t *out, int max)
{
    const char *p[] = {tenant};
    PGresult *r = fc_pg_query(
        pg, MODULE, "budgets",
        "SELECT DISTINCT ON (scope, subject) scope, subject, amount_nusd,"
        " coalesce(window_seconds, 0), array_to_string(thresholds, ','), tenant_id = '*',"
        " basis = 'list' FROM budgets WHERE tenant_id IN ($1, '*')"
        " ORDER BY scope, subject, tenant_id = '*'",
        1, p);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        alerter_budget_t *b = &out[n];
        memset(b, 0, sizeof *b);
        int scope = alerter_scope_parse(PQgetvalue(r, i, 0));
        if (scope < 0)
            continue;
        b->scope = (alerter_scope_t)scope;
        s_copy(b->subject, sizeof b->subject, PQgetvalue(r, i, 1));
        b->amount_nusd = fc_pg_int(r, i, 2);
        b->window_s = (int)fc_pg_int(r, i, 3);
        b->nthresholds = alerter_thresholds_parse(PQgetvalue(r, i, 4), b->thresholds);
        if (b->nthresholds < 0) {
            //  The table allows any positive values; keep the first in increasing order.
            fc_warn(MODULE, "budget %s/%s of %s: unusual thresholds {%s}, using 100",
                    PQgetvalue(r, i, 0), b->subject, tenant, PQgetvalue(r, i, 4));
            b->thresholds[0] = 100;
            b->nthresholds = 1;
        }
        b->is_default = PQgetvalue(r, i, 5)[0] == 't';
        b->list_basis = PQgetvalue(r, i, 6)[0] == 't';
        n++;
    }
    if (PQntuples(r) > max)
        fc_warn(MODULE, "tenant %s has over %d budgets: the rest are ignored", tenant, max);
    PQclear(r);
    return n;
}

int alerter_store_fire(PGconn *pg, const char *tenant, const alerter_alert_t *a, int64_t *id,
                       int64_t *ts_us)
{
    char thr[16], val[32], bud[32];
    snprintf(thr, sizeof thr, "%d", a->threshold);
    snprintf(val, sizeof val, "%" PRId64, a->value_nusd);
    snprintf(bud, sizeof bud, "%" PRId64, a->budget_nusd);
    const char *p[] = {tenant,
                       a->kind,
                       a->scope,
                       a->period,
                       a->subject,
                       thr,
                       a->has_value ? val : NULL,
                       a->has_budget ? bud : NULL,
                       a->text};
    //  DO UPDATE ... WHERE state = 'resolved' returns a row only for a new crossing; a
    //  condition that is still firing returns nothing, so exactly one caller notifies.
    PGresult *r = fc_pg_query(
        pg, MODULE, "fire alert",
        "INSERT INTO cost_alerts AS c (tenant_id, kind, scope, period_key, subject,"
        " threshold_pct, value_nusd, budget_nusd, text)"
        " VALUES ($1, $2, $3, $4, $5, $6::int, $7::bigint, $8::bigint, $9)"
        " ON CONFLICT (tenant_id, kind, scope, period_key, subject, threshold_pct) DO UPDATE SET"
        " state = 'fired', fired_at = now(), resolved_at = NULL,"
        " value_nusd = EXCLUDED.value_nusd, budget_nusd = EXCLUDED.budget_nusd,"
        " text = EXCLUDED.text, delivery_status = 'pending', delivery_attempts = 0,"
        " delivery_error = NULL, delivery_next_at = now(), delivery_done = '{}',"
        " delivered_at = NULL"
        " WHERE c.state = 'resolved'"
        " RETURNING alert_id, " US("fired_at"),
        9, p);
    if (!r)
        return -1;
    int fired = PQntuples(r) == 1;
    if (fired) {
        *id = fc_pg_int(r, 0, 0);
        *ts_us = fc_pg_int(r, 0, 1);
    }
    PQclear(r);
    return fired;
}

int alerter_store_open(PGconn *pg, const char *tenant, const char *kind, alerter_open_t *out,
                       int max)
{
    const char *p[] = {tenant, kind};
    PGresult *r = fc_pg_query(pg, MODULE, "open alerts",
                              "SELECT alert_id, kind, scope, period_key, subject, threshold_pct,"
                              " coalesce(value_nusd, 0), coalesce(budget_nusd, 0)"
                              " FROM cost_alerts WHERE tenant_id = $1 AND state = 'fired'"
                              " AND ($2::text IS NULL OR kind = $2) ORDER BY alert_id",
                              2, p);
    if (!r)
        return -1;
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++, n++) {
        alerter_open_t *o = &out[n];
        o->id = fc_pg_int(r, i, 0);
        s_copy(o->kind, sizeof o->kind, PQgetvalue(r, i, 1));
        s_copy(o->scope, sizeof o->scope, PQgetvalue(r, i, 2));
        s_copy(o->period, sizeof o->period, PQgetvalue(r, i, 3));
        s_copy(o->subject, sizeof o->subject, PQgetvalue(r, i, 4));
        o->threshold = (int)fc_pg_int(r, i, 5);
        o->value_nusd = fc_pg_int(r, i, 6);
        o->budget_nusd = fc_pg_int(r, i, 7);
    }
    PQclear(r);
    return n;
}

int alerter_store_resolve(PGconn *pg, const char *tenant, int64_t id, const char *text,
                          int64_t *ts_us)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%" PRId64, id);
    const char *p[] = {tenant, ids, text};
    PGresult *r =
        fc_pg_query(pg, MODULE, "resolve alert",
                    "UPDATE cost_alerts SET state = 'resolved', resolved_at = now(), text = $3,"
                    " delivery_status = 'pending', delivery_attempts = 0, delivery_error = NULL,"
                    " delivery_next_at = now(), delivery_done = '{}', delivered_at = NULL"
                    " WHERE tenant_id = $1 AND alert_id = $2::bigint AND state = 'fired'"
                    " RETURNING " US("resolved_at"),
                    3, p);
    if (!r)
        return -1;
    int done = PQntuples(r) == 1;
    if (done)
        *ts_us = fc_pg_int(r, 0, 0);
    PQclear(r);
    return done;
}
