/*  reporter_live: the aggregator's sum.<tenant> summaries, kept for the live totals.

    A thread subscribes to the aggregator's PUB(s) (as the service's operator identity)
    and keeps the newest day total of every tenant. Live streams read it and wake when
    it changes, so a dashboard moves within milliseconds of the aggregator, without a
    query per open page. When no fresh summary covers what a stream shows (no
    aggregator, a late start, another day), the stream reads Postgres instead. */
#ifndef REPORTER_LIVE_H
#define REPORTER_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "fc_metrics.h"

typedef struct _reporter_live_t reporter_live_t;

//  Subscribes to endpoints (comma-separated; empty: disabled, every lookup misses) and
//  counts the summaries it takes in `received` (may be NULL). NULL if the thread or
//  the socket cannot be started (logged).
reporter_live_t *reporter_live_new(const char *endpoints, fc_metric_t *received);
void reporter_live_destroy(reporter_live_t **self_p);

//  The tenant's cost for tenant-local day from a summary received in the last
//  max_age_s seconds: true and *nusd set, or false.
bool reporter_live_get(reporter_live_t *self, const char *tenant, const char *day, int64_t *nusd,
                       int max_age_s);

//  Waits until a new summary arrives after generation *seen or ms pass; updates *seen.
void reporter_live_wait(reporter_live_t *self, uint64_t *seen, int ms);

#endif
