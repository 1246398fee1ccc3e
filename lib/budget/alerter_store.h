/*  alerter_store: the alerter's Postgres statements. cost_alerts is the state of
    record: its unique key (tenant, kind, scope, period, subject, threshold) makes
    firing idempotent across restarts and replicas, and it is the delivery queue
    (alerter_deliver). Spend comes from fc_tenant_spend (migration 0017), which
    `fleetcost budget check` uses as well and which reads the one definition of a
    period's spend the reporter reads (fc_period_spend: closed days from rollups, open
    days from events, in the tenant's zone), list and billed (0016). Every function logs
    its own errors. */
#ifndef ALERTER_STORE_H
#define ALERTER_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "alerter_rules.h"

//  A tenant's current local day and month as of some instant, with their UTC bounds
//  and (from alerter_store_spend only) the spend in them.
typedef struct {
    char tz[64];
    char day[11];  //  "YYYY-MM-DD"
    char month[8]; //  "YYYY-MM"
    int64_t day_start_us, day_end_us, month_start_us, month_end_us;
    int64_t day_nusd, month_nusd;               //  list cost
    int64_t day_billed_nusd, month_billed_nusd; //  under the tenant's rate card
} alerter_period_t;

//  Local day and month of now_us for the tenant (UTC without a tenants row). 0 or -1.
int alerter_store_period(PGconn *pg, const char *tenant, int64_t now_us, alerter_period_t *out);

//  The same plus today's and this month's spend (fc_tenant_spend). 0 or -1.
int alerter_store_spend(PGconn *pg, const char *tenant, int64_t now_us, alerter_period_t *out);

//  The budgets in effect for a tenant: its own rows, and the '*' defaults for every
//  (scope, subject) it has no row for. Returns the count (<= max), or -1.
int alerter_store_budgets(PGconn *pg, const char *tenant, alerter_budget_t *out, int max);

//  An alert condition as stored in cost_alerts.
typedef struct {
    const char *kind;    //  threshold forecast runaway no_data unpriced
    const char *scope;   //  day month agent agent_type tenant
    const char *period;  //  "YYYY-MM-DD", "YYYY-MM", or the silence's start for no_data
    const char *subject; //  agent, agent type or ""
    int threshold;       //  percent, 0 when not a threshold
    bool has_value, has_budget;
    int64_t value_nusd, budget_nusd;
    const char *text;
} alerter_alert_t;

//  Fires: inserts the row, or turns a resolved row of the same key back to fired (a
//  new crossing after a raised budget). Returns 1 when this call fired it (and sets
//  *id, *ts_us), 0 when it was already firing, -1 on error. The caller that gets 1
//  notifies; nobody else does.
int alerter_store_fire(PGconn *pg, const char *tenant, const alerter_alert_t *a, int64_t *id,
                       int64_t *ts_us);

//  An alert in state 'fired'.
typedef struct {
    int64_t id;
    char kind[16], scope[16], period[32], subject[ALERTER_SUBJECT_MAX + 1];
    int threshold;
    int64_t value_nusd, budget_nusd;
} alerter_open_t;

//  A tenant's fired alerts (kind NULL: all kinds), at most max. Count, or -1.
int alerter_store_open(PGconn *pg, const char *tenant, const char *kind, alerter_open_t *out,
                       int max);

//  Resolves a fired alert with the given text and queues the resolved notice. Returns 1
//  (and *ts_us) when this call resolved it, 0 when it was not firing, -1 on error.
int alerter_store_resolve(PGconn *pg, const char *tenant, int64_t id, const char *text,
                          int64_t *ts_us);

#endif
