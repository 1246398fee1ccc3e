/*  reporter_query: the query parameters of each reporter endpoint, parsed and checked
    without a database or a connection, so the rules are one function (and a fuzz
    target, services/reporter/fuzz/fuzz_query.c) rather than spread over the handlers.

    The HTTP layer hands over the (key, value) pairs libmicrohttpd decoded, in request
    order. A parameter the endpoint does not take, a value over REPORTER_PARAM_MAX bytes,
    more than REPORTER_PARAMS_MAX parameters, and any value that breaks its syntax are
    refused with a message meant for a 400 answer. An empty value counts as absent; of a
    repeated parameter the first counts. Checks that need the database (does the tenant
    exist, what is "today" in its zone) stay with the handlers. */
#ifndef REPORTER_QUERY_H
#define REPORTER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reporter_report.h"

#define REPORTER_PARAM_MAX  256 //  longest value accepted, in bytes
#define REPORTER_PARAMS_MAX 32  //  parameters in one request
#define REPORTER_LIMIT_MAX  1000

typedef enum {
    REPORTER_Q_TENANTS,   //  /api/v1/tenants[/<id>]: none
    REPORTER_Q_COSTS,     //  tenant from to group format(json|csv)
    REPORTER_Q_ALERTS,    //  tenant from to state limit
    REPORTER_Q_BUDGETS,   //  tenant
    REPORTER_Q_REPORT,    //  tenant period date from to format top key
    REPORTER_Q_STREAM,    //  tenant day key
    REPORTER_Q_DASHBOARD, //  key range
    REPORTER_Q_DRILL,     //  key range dim id tenant
    REPORTER_Q_RECONCILE, //  tenant from to (UTC days, both or neither) format(json|csv)
    REPORTER_Q_RATES,     //  tenant
    REPORTER_Q_COUNT_
} reporter_endpoint_t;

typedef struct {
    const char *key;
    const char *value; //  may be NULL ("?a" without "=")
} reporter_param_t;

//  The parsed parameters. Strings point into the pairs given (NULL when absent).
typedef struct {
    const char *tenant; //  syntax checked (fc_tenant_valid)
    const char *from, *to, *date;
    const char *period; //  daily | weekly | monthly | range | mtd | <N>d
    const char *group;  //  costs: day agent_type model agent task kind tenant
    bool csv;           //  costs, reconcile: format=csv
    reporter_fmt_t fmt; //  report: format (JSON when absent)
    int top;            //  report: 1..REPORTER_TOP_MAX (0 when absent)
    int limit;          //  alerts: 1..REPORTER_LIMIT_MAX (100 when absent)
    const char *state;  //  alerts: fired | resolved
    bool has_day;       //  stream: day given
    int64_t day;        //  stream: days since 1970-01-01
    const char *range;  //  dashboard, drill: 7d | 30d | 90d | mtd ("30d" when absent)
    const char *dim;    //  drill: agent | task | agent_type | model | kind (required)
    const char *id;     //  drill: the id shown ("" when absent: the "(none)" row)
} reporter_query_t;

//  Parses the parameters of endpoint ep into q. Returns 0, or -1 with why (suitable for
//  a 400 answer, never longer than errsize) in err.
int reporter_query_parse(reporter_endpoint_t ep, const reporter_param_t *params, size_t n,
                         reporter_query_t *q, char *err, size_t errsize);

#endif
