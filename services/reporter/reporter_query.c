/*  reporter_query: see reporter_query.h. */
#include "reporter_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_proto.h"
#include "fc_time.h"

//  The parameters each endpoint takes, NULL-terminated.
static const char *const s_allowed[REPORTER_Q_COUNT_][9] = {
    [REPORTER_Q_TENANTS] = {NULL},
    [REPORTER_Q_COSTS] = {"tenant", "from", "to", "group", "format", NULL},
    [REPORTER_Q_ALERTS] = {"tenant", "from", "to", "state", "limit", NULL},
    [REPORTER_Q_BUDGETS] = {"tenant", NULL},
    [REPORTER_Q_REPORT] = {"tenant", "period", "date", "from", "to", "format", "top", "key", NULL},
    [REPORTER_Q_STREAM] = {"tenant", "day", "key", NULL},
    [REPORTER_Q_DASHBOARD] = {"key", "range", NULL},
    [REPORTER_Q_DRILL] = {"key", "range", "dim", "id", "tenant", NULL},
    [REPORTER_Q_RECONCILE] = {"tenant", "from", "to", "format", NULL},
    [REPORTER_Q_RATES] = {"tenant", NULL},
};

//  The value of the first non-empty occurrence of name, or NULL.
static const char *s_get(const reporter_param_t *params, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(params[i].key, name) == 0 && params[i].value && *params[i].value)
            return params[i].value;
    return NULL;
}

static bool s_one_of(const char *v, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(v, *set) == 0)
            return true;
    return false;
}

//  A decimal integer lo..hi with no sign, spaces or trailing bytes. 0 or -1.
static int s_int(const char *v, long lo, long hi, int *out)
{
    if (*v < '0' || *v > '9')
        return -1;
    char *end;
    long x = strtol(v, &end, 10);
    if (*end || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

static int s_fail(char *err, size_t errsize, const char *msg, const char *arg)
{
    char name[48];
    snprintf(name, sizeof name, "%s", arg ? arg : "");
    snprintf(err, errsize, msg, name);
    return -1;
}

int reporter_query_parse(reporter_endpoint_t ep, const reporter_param_t *params, size_t n,
                         reporter_query_t *q, char *err, size_t errsize)
{
    memset(q, 0, sizeof *q);
    q->fmt = REPORTER_FMT_JSON;
    q->limit = 100;
    if (ep < 0 || ep >= REPORTER_Q_COUNT_)
        return s_fail(err, errsize, "no such endpoint", NULL);
    if (n > REPORTER_PARAMS_MAX)
        return s_fail(err, errsize, "more than 32 query parameters", NULL);
    for (size_t i = 0; i < n; i++) {
        if (!s_one_of(params[i].key, s_allowed[ep]))
            return s_fail(err, errsize, "unknown parameter '%s'", params[i].key);
        if (params[i].value && strlen(params[i].value) > REPORTER_PARAM_MAX) {
            char msg[64];
            snprintf(msg, sizeof msg, "%%s: longer than %d characters", REPORTER_PARAM_MAX);
            return s_fail(err, errsize, msg, params[i].key);
        }
    }
    q->tenant = s_get(params, n, "tenant");
    q->from = s_get(params, n, "from");
    q->to = s_get(params, n, "to");
    q->date = s_get(params, n, "date");
    q->period = s_get(params, n, "period");
    q->group = s_get(params, n, "group");
    q->state = s_get(params, n, "state");
    const char *format = s_get(params, n, "format"), *top = s_get(params, n, "top");
    const char *limit = s_get(params, n, "limit"), *day = s_get(params, n, "day");
    if (q->tenant && !fc_tenant_valid(q->tenant))
        return s_fail(err, errsize, "tenant: expected [a-z0-9][a-z0-9_-]{0,62}", NULL);
    if (ep == REPORTER_Q_COSTS) {
        static const char *const groups[] = {"day",  "agent_type", "model",    "agent",  "task",
                                             "kind", "speed",      "provider", "tenant", NULL};
        if (!q->group)
            q->group = "day";
        if (!s_one_of(q->group, groups))
            return s_fail(err, errsize,
                          "group: expected day, agent_type, model, agent, task, kind, speed,"
                          " provider or tenant",
                          NULL);
    }
    if (ep == REPORTER_Q_COSTS || ep == REPORTER_Q_RECONCILE) {
        static const char *const formats[] = {"json", "csv", NULL};
        if (format && !s_one_of(format, formats))
            return s_fail(err, errsize, "format: expected json or csv", NULL);
        q->csv = format && strcmp(format, "csv") == 0;
    }
    //  Reconciliation is by UTC day, so its range needs no tenant zone: checked here.
    int64_t d0, d1;
    if (ep == REPORTER_Q_RECONCILE && (q->from || q->to) &&
        (!q->from || !q->to || fc_date_parse(q->from, &d0) != 0 || !reporter_day_in_range(d0) ||
         fc_date_parse(q->to, &d1) != 0 || !reporter_day_in_range(d1) || d1 < d0 || d1 - d0 > 366))
        return s_fail(err, errsize,
                      "from, to: UTC days YYYY-MM-DD, both, from <= to, at most 366 apart", NULL);
    if (ep == REPORTER_Q_ALERTS) {
        static const char *const states[] = {"fired", "resolved", NULL};
        if (q->state && !s_one_of(q->state, states))
            return s_fail(err, errsize, "state: expected fired or resolved", NULL);
        if (limit && s_int(limit, 1, REPORTER_LIMIT_MAX, &q->limit) != 0)
            return s_fail(err, errsize, "limit: expected an integer 1..1000", NULL);
    }
    if (ep == REPORTER_Q_REPORT) {
        if (format && reporter_fmt_parse(format, &q->fmt) != 0)
            return s_fail(err, errsize, "format: expected text, csv, json or html", NULL);
        if (top && s_int(top, 1, REPORTER_TOP_MAX, &q->top) != 0) {
            char msg[64];
            snprintf(msg, sizeof msg, "top: expected an integer 1..%d", REPORTER_TOP_MAX);
            return s_fail(err, errsize, "%s", msg);
        }
        if (q->period && !reporter_period_valid(q->period))
            return s_fail(err, errsize,
                          "period: expected daily, weekly, monthly, range, mtd or <N>d (N days)",
                          NULL);
    }
    if (ep == REPORTER_Q_STREAM && day) {
        if (fc_date_parse(day, &q->day) != 0 || !reporter_day_in_range(q->day))
            return s_fail(err, errsize, "day: expected a calendar date YYYY-MM-DD", NULL);
        q->has_day = true;
    }
    if (ep == REPORTER_Q_DASHBOARD || ep == REPORTER_Q_DRILL) {
        q->range = s_get(params, n, "range");
        if (!q->range)
            q->range = "30d";
        if (!reporter_dashboard_range_valid(q->range))
            return s_fail(err, errsize, "range: expected 7d, 30d, 90d or mtd", NULL);
    }
    if (ep == REPORTER_Q_DRILL) {
        static const char *const dims[] = {"agent", "task", "agent_type", "model", "kind", NULL};
        q->dim = s_get(params, n, "dim");
        q->id = s_get(params, n, "id");
        if (!q->id)
            q->id = "";
        if (!q->dim || !s_one_of(q->dim, dims))
            return s_fail(err, errsize, "dim: expected agent, task, agent_type, model or kind",
                          NULL);
    }
    return 0;
}
