/*  fuzz_query: libFuzzer target for the reporter's query-parameter rules
    (reporter_query_parse) and the period and date parsing behind them.

    The input is a query string as libmicrohttpd hands it over once decoded: pairs
    split at '&', key and value at the first '=' (a pair without '=' has no value). It
    is parsed for every endpoint. What parses must hold its promises, or the target
    aborts: a tenant is a valid tenant id, every value is within REPORTER_PARAM_MAX,
    group, state, limit, top, range and dim are within their sets, a stream day formats
    back to what was given, and a report period (with <N>d and mtd) resolves to two
    dates in order. */
#include "reporter_query.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fc_proto.h"
#include "fc_time.h"

#define S_TODAY 20454 //  2026-01-01: a fixed "today" for relative periods

static void s_check(bool ok)
{
    if (!ok)
        abort();
}

static void s_valid(reporter_endpoint_t ep, const reporter_query_t *q,
                    const reporter_param_t *params, size_t n)
{
    const char *strs[] = {q->tenant, q->from,  q->to,  q->date, q->period,
                          q->group,  q->state, q->dim, q->id,   q->range};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        s_check(!strs[i] ||
                ((*strs[i] || strs[i] == q->id) && strlen(strs[i]) <= REPORTER_PARAM_MAX));
    s_check(!q->tenant || fc_tenant_valid(q->tenant));
    s_check(n <= REPORTER_PARAMS_MAX);
    if (ep == REPORTER_Q_COSTS)
        s_check(q->group != NULL);
    if (ep == REPORTER_Q_ALERTS) {
        s_check(q->limit >= 1 && q->limit <= REPORTER_LIMIT_MAX);
        s_check(!q->state || !strcmp(q->state, "fired") || !strcmp(q->state, "resolved"));
    }
    if (ep == REPORTER_Q_REPORT) {
        s_check(q->top >= 0 && q->top <= REPORTER_TOP_MAX);
        char from[11], to[11], err[160];
        if (reporter_period_resolve(q->period, q->date, q->from, q->to, S_TODAY, from, to, err,
                                    sizeof err) == 0)
            s_check(strlen(from) == 10 && strlen(to) == 10 && strcmp(from, to) <= 0);
        else
            s_check(err[0] != 0);
    }
    if (ep == REPORTER_Q_RECONCILE) {
        int64_t d0, d1;
        s_check(!q->from == !q->to);
        s_check(!q->from || (fc_date_parse(q->from, &d0) == 0 && reporter_day_in_range(d0) &&
                             fc_date_parse(q->to, &d1) == 0 && reporter_day_in_range(d1) &&
                             d0 <= d1 && d1 - d0 <= 366));
    }
    if (ep == REPORTER_Q_DASHBOARD || ep == REPORTER_Q_DRILL)
        s_check(q->range && reporter_dashboard_range_valid(q->range));
    if (ep == REPORTER_Q_DRILL) {
        s_check(q->id != NULL && q->dim != NULL);
        s_check(!strcmp(q->dim, "agent") || !strcmp(q->dim, "task") ||
                !strcmp(q->dim, "agent_type") || !strcmp(q->dim, "model") ||
                !strcmp(q->dim, "kind"));
    }
    if (ep == REPORTER_Q_STREAM && q->has_day) {
        const char *day = NULL;
        for (size_t i = 0; i < n && !day; i++)
            if (!strcmp(params[i].key, "day") && params[i].value && *params[i].value)
                day = params[i].value;
        char back[FC_DATE_SIZE];
        fc_date_format(q->day, back);
        s_check(day && strcmp(day, back) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0; //  an embedded NUL ends the query early, as it would a C string
    reporter_param_t params[REPORTER_PARAMS_MAX + 8];
    size_t n = 0;
    for (char *pair = text; pair && n < sizeof params / sizeof *params;) {
        char *next = strchr(pair, '&');
        if (next)
            *next++ = 0;
        char *eq = strchr(pair, '=');
        if (eq)
            *eq++ = 0;
        params[n++] = (reporter_param_t){pair, eq};
        pair = next;
    }
    for (int ep = 0; ep < REPORTER_Q_COUNT_; ep++) {
        reporter_query_t q;
        char err[160];
        if (reporter_query_parse((reporter_endpoint_t)ep, params, n, &q, err, sizeof err) == 0)
            s_valid((reporter_endpoint_t)ep, &q, params, n);
        else
            s_check(err[0] != 0 && strlen(err) < sizeof err);
    }
    free(text);
    return 0;
}
