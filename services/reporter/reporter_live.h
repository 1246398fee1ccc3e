/*  reporter_live: the aggregator's sum.<tenant> summaries, kept for the live totals.

    A thread subscribes to the aggregator's PUB(s) (as the service's operator identity)
    and keeps the newest day total of every tenant. Live streams read it and wake when
    it changes, so a dashboard moves within milliseconds of the aggregator, without a
    query per open page. An all-tenant stream sums the newest summary of every tenant
    in a list the reporter reads from Postgres every few seconds (the tenants and their
    local todays). When no fresh summary covers what a stream shows (no aggregator, a
    late start, another day), the stream reads Postgres instead.

    Why the summaries and not Redis's day hashes: the reporter already takes them in
    for tenant streams; they carry the day in the tenant's own zone as the aggregator
    (the one owner of the tenant-local day) reckons it, and its closed flag, so no
    time-zone logic is repeated here; they stop while a tenant is being rebuilt, where a
    Redis read would return a half-rebuilt figure; and the reporter needs no Redis
    connection, Sentinel discovery or key names of its own. What a restart loses
    (nothing received yet) the refusal rule in reporter_live_sum covers: Postgres until
    every tenant's republished summary (30 s at most) has arrived. */
#ifndef REPORTER_LIVE_H
#define REPORTER_LIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "fc_metrics.h"
#include "reporter_report.h"

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

//  True when it subscribes to an aggregator (summaries may arrive).
bool reporter_live_enabled(const reporter_live_t *self);

//  Sets the tenants an all-tenant total covers, each with its local today (w's spans:
//  tenant and today), replacing the previous list.
void reporter_live_list(reporter_live_t *self, const reporter_window_t *w);
//  True for one caller once every ms milliseconds (the first call included): the one
//  that should read the list again, so that many open streams read it once.
bool reporter_live_list_due(reporter_live_t *self, int ms);

//  The all-tenant live figure: the sum of every listed tenant's cost on its own local
//  today from summaries received in the last max_age_s seconds. True with *nusd,
//  *today_key (the sum of the tenants' today day numbers, as reporter_live_total) and
//  latest (the latest of their todays) set, or false when any listed tenant has no such
//  summary (see reporter_live.c) or none is listed: then the caller reads Postgres.
bool reporter_live_sum(reporter_live_t *self, int max_age_s, int64_t *nusd, int64_t *today_key,
                       char latest[11]);

//  Waits until a new summary arrives after generation *seen or ms pass; updates *seen.
void reporter_live_wait(reporter_live_t *self, uint64_t *seen, int ms);

#endif
