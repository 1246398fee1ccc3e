/*  alerter: compares running totals with budgets, forecasts month-end spend, watches
    for silent tenants, unpriced usage and provider bills that disagree (fleetcost
    reconcile), and notifies (DESIGN §1, PROTOCOL §12).

    One evaluation thread owns the SUB socket (the aggregators' sum.<tenant> streams),
    the alert PUB socket and a Postgres connection; alerter_deliver runs the webhook and
    e-mail deliveries in a thread of its own, so a slow endpoint never holds up an
    evaluation.

    - A summary is checked at once against the tenant's daily and monthly budgets and
      the forecast: an alert fires within a second of the event that crossed the line.
    - Because PUB/SUB may drop messages, every tenant is also re-evaluated from Postgres
      every eval_interval_ms (spread over the interval, a few tenants per loop turn).
      Only these Postgres figures resolve alerts: a late or lost summary can fire an
      alert a little late, never resolve one that is still true.
    - Runaway agents, per-agent-type budgets and unpriced usage need queries over raw
      events; they run with the Postgres evaluation and, rate-limited to one per
      slow_interval_ms per tenant, when a summary arrives.
    - The reconciliation with the provider's bill (reconcile_latest, written by fleetcost
      reconcile) is read in the Postgres evaluation only: it changes a few times a day.
    - cost_alerts holds the state (alerter_store): a restart re-sends nothing.
    - /metrics (fc_metrics) counts evaluations, alerts and deliveries of this process. */
#ifndef ALERTER_H
#define ALERTER_H

#include <stdint.h>

#include "alerter_deliver.h"

typedef struct {
    const char *pg_url;
    const char *aggregator_pub; //  comma-separated endpoints to SUB to
    const char *bind;           //  alert PUB endpoint(s), comma-separated
    alerter_deliver_config_t deliver;
    int eval_interval_ms;  //  full Postgres re-evaluation period
    int slow_interval_ms;  //  runaway / agent-type / unpriced queries per tenant
    int silence_s;         //  no events for this long raises no_data ...
    int activity_window_s; //  ... for tenants with events in this window
    int64_t forecast_min_elapsed_us;
    int64_t forecast_min_nusd;
    int64_t reconcile_tolerance_nusd; //  a reconciled tenant-day differing by more than
    int reconcile_tolerance_pct;      //  both of these raises 'reconcile'
    int64_t clock_us;                 //  testing: the time at start (0: the system clock)
    const char *metrics_bind;
    int metrics_port; //  0: no /metrics
} alerter_config_t;

typedef struct _alerter_t alerter_t;

//  Binds, connects and starts delivery; NULL on failure (logged).
alerter_t *alerter_new(const alerter_config_t *config);

//  Runs until fc_signal_stopping(); returns 0.
int alerter_run(alerter_t *self);

void alerter_destroy(alerter_t **self_p);

#endif
