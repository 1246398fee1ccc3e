/*  alerter_rules: the arithmetic of alerting, free of I/O so it is unit-tested
    directly: threshold crossings, percentages, the month-end forecast, budget
    selection (a tenant's own row over the '*' default). All money is int64 nano-USD;
    products are taken in 128 bits, so no figure can overflow. */
#ifndef ALERTER_RULES_H
#define ALERTER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERTER_MAX_THRESHOLDS 8
#define ALERTER_MAX_BUDGETS    64
#define ALERTER_SUBJECT_MAX    127

typedef enum {
    ALERTER_DAILY,
    ALERTER_MONTHLY,
    ALERTER_AGENT_RUNAWAY,
    ALERTER_AGENT_TYPE_DAILY,
    ALERTER_SCOPE_COUNT
} alerter_scope_t;

//  One budgets row in effect for a tenant.
typedef struct {
    alerter_scope_t scope;
    char subject[ALERTER_SUBJECT_MAX + 1]; //  agent type for agent_type_daily, else ""
    int64_t amount_nusd;                   //  0 disables the budget
    int window_s;                          //  agent_runaway look-back
    int thresholds[ALERTER_MAX_THRESHOLDS];
    int nthresholds;
    bool is_default; //  from the '*' row
    bool list_basis; //  watches list cost (basis 'list'); else billed cost, the default
} alerter_budget_t;

//  The spend budget b watches: billed (the cost under the tenant's rate card) unless its
//  basis is list. b may be NULL (billed).
int64_t alerter_budget_spend(const alerter_budget_t *b, int64_t list_nusd, int64_t billed_nusd);

//  "billed" or "list": the basis of b, as alert text and `budget` name it.
const char *alerter_basis_name(const alerter_budget_t *b);

//  The budgets table's scope name <-> alerter_scope_t; -1 if unknown.
int alerter_scope_parse(const char *name);
const char *alerter_scope_name(alerter_scope_t scope);

//  True when value has reached pct percent of budget (value * 100 >= budget * pct).
//  A budget <= 0 is disabled and never reached.
bool alerter_reached(int64_t value_nusd, int64_t budget_nusd, int pct);

//  value as a percentage of budget in tenths of a percent (rounded down); 0 if the
//  budget is <= 0. 1234 means 123.4%.
int64_t alerter_permille(int64_t value_nusd, int64_t budget_nusd);

//  Writes "123.4%" for a permille value.
void alerter_percent_format(int64_t permille, char *buf, size_t size);

//  Parses "50,80,100" (1..ALERTER_MAX_THRESHOLDS values, each 1..1000, strictly
//  increasing). Returns the count, or -1.
int alerter_thresholds_parse(const char *text, int *out);

//  Parses a duration "90", "90s", "10m", "2h", "1d" into seconds (1 s .. 31 days); -1.
int64_t alerter_duration_parse(const char *text);
//  Writes seconds as the shortest of "2h", "10m", "90s".
void alerter_duration_format(int64_t seconds, char *buf, size_t size);

/*  The month-end forecast.

    projection = month-to-date cost x (length of the month / time elapsed in it), both
    measured in microseconds of the tenant's local month (its UTC bounds, so a month
    with a daylight-saving change has its true length). Using elapsed time rather than
    whole days keeps the method sound on a partial day: at 18:00 on the 10th, 9.75 days
    have elapsed, not 9 or 10. A straight-line run rate over the month so far is simple
    to explain and to check by hand; it does not chase a burst of the last hour, which is
    what the runaway and threshold alerts are for.

    It needs a minimum of data: at least min_elapsed_us of the month gone (default
    24 h, so one busy first morning does not project a month) and at least
    min_spend_nusd spent. Returns 0 and sets *projection, or -1 when there is not enough
    data yet (or the arguments are inconsistent). */
int alerter_forecast(int64_t mtd_nusd, int64_t month_start_us, int64_t month_end_us, int64_t now_us,
                     int64_t min_elapsed_us, int64_t min_spend_nusd, int64_t *projection_nusd);

//  The budget in effect for (scope, subject) in list, or NULL.
const alerter_budget_t *alerter_budget_find(const alerter_budget_t *list, int n,
                                            alerter_scope_t scope, const char *subject);

#endif
