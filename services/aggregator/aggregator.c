/*  aggregator: the loop and the life cycle (see aggregator.h); tenants and their
    day sets, which every other part uses.

    Why the loop is thin: each turn grants subscriptions, drains the stream
    (aggregator_stream.c, which applies through aggregator_apply.c) and runs a tick;
    the tick does the once-a-second work (the sentinel, rebuilds, suspect ingests),
    the tenants' summaries (aggregator_publish.c) and rollups (aggregator_rollup.c).
    The files share aggregator_int.h. */
#include "aggregator_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_curve.h"
#include "fc_hash.h"
#include "fc_log.h"
#include "fc_pg.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fc_time.h"

int aggregator_shard_of(const char *tenant, int shards)
{
    uint32_t h = fc_fnv1a32_str(tenant);
    return shards > 1 ? (int)(h % (uint32_t)shards) : 0;
}

int aggregator_parse_shard(const char *text, int *shard, int *shards)
{
    char *end;
    long i = strtol(text, &end, 10);
    if (end == text || *end != '/')
        return -1;
    const char *p = end + 1;
    long n = strtol(p, &end, 10);
    if (end == p || *end || n < 1 || n > 1024 || i < 0 || i >= n)
        return -1;
    *shard = (int)i;
    *shards = (int)n;
    return 0;
}

//  --- Postgres and tenants ---------------------------------------------------------

PGconn *aggregator_pg(aggregator_t *self)
{
    if (self->pg && PQstatus(self->pg) == CONNECTION_OK)
        return self->pg;
    if (self->pg)
        PQfinish(self->pg);
    self->pg = fc_pg_connect(self->pg_url, MODULE);
    if (!self->pg)
        fc_metric_add(self->m_pg_errors, 1);
    return self->pg;
}

void aggregator_pg_failed(aggregator_t *self)
{
    fc_metric_add(self->m_pg_errors, 1);
    if (self->pg && PQstatus(self->pg) != CONNECTION_OK) {
        PQfinish(self->pg);
        self->pg = NULL;
    }
}

static tenant_t *s_tenant_add(aggregator_t *self, const char *name, const char *tz)
{
    tenant_t *t = zhash_lookup(self->tenants, name);
    if (t) {
        if (strcmp(t->tz.tz, tz) != 0) {
            fc_info(MODULE, "tenant '%s' time zone now %s", name, tz);
            aggregator_tz_init(&t->tz, tz);
        }
        return t;
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    snprintf(t->name, sizeof t->name, "%s", name);
    aggregator_tz_init(&t->tz, tz);
    t->mine = aggregator_shard_of(name, self->config.shards) == self->config.shard;
    t->today = -1;
    t->final_day = -1;
    zhash_insert(self->tenants, name, t);
    zhash_freefn(self->tenants, name, free);
    fc_metric_set(self->m_tenants, (int64_t)zhash_size(self->tenants));
    return t;
}

static void s_tenant_cb(void *arg, const char *name, const char *tz)
{
    s_tenant_add(arg, name, tz);
}

int aggregator_load_tenants(aggregator_t *self)
{
    PGconn *pg = aggregator_pg(self);
    if (!pg || aggregator_pg_tenants(pg, s_tenant_cb, self) != 0) {
        aggregator_pg_failed(self);
        return -1;
    }
    return 0;
}

tenant_t *aggregator_tenant(aggregator_t *self, const char *name)
{
    tenant_t *t = zhash_lookup(self->tenants, name);
    if (t)
        return t;
    PGconn *pg = aggregator_pg(self);
    char tz[AGGREGATOR_TZ_MAX];
    int found = pg ? aggregator_pg_tenant_tz(pg, name, tz, sizeof tz) : -1;
    if (found < 0) {
        aggregator_pg_failed(self);
        return NULL;
    }
    if (!found) {
        fc_warn(MODULE, "tenant '%s' has events but no tenants row: using UTC", name);
        snprintf(tz, sizeof tz, "UTC");
    }
    return s_tenant_add(self, name, tz);
}

void aggregator_mark(int32_t *set, int *n, int32_t day)
{
    for (int i = 0; i < *n; i++)
        if (set[i] == day)
            return;
    if (*n < MAX_DIRTY)
        set[(*n)++] = day;
    else
        fc_warn(MODULE, "more than %d dirty days for one tenant: day %d not re-published",
                MAX_DIRTY, (int)day);
}

void aggregator_unmark(int32_t *set, int *n, int32_t day)
{
    for (int i = 0; i < *n; i++)
        if (set[i] == day) {
            set[i] = set[--*n];
            return;
        }
}

void aggregator_mark_dirty(tenant_t *t, int32_t day)
{
    aggregator_mark(t->dirty, &t->ndirty, day);
    aggregator_mark(t->roll, &t->nroll, day);
}

static void s_every_second(aggregator_t *self, int64_t now_mono)
{
    //  The sentinel: absent means Redis is new, flushed or lost this shard's keys.
    //  (A shard rebuild under way has no sentinel yet: it checks its own marker.)
    if (!self->rebuild_needed && !(self->job.active && self->job.full) &&
        aggregator_redis(self) == 0) {
        redisReply *r = aggregator_redis_command(self->redis, "EXISTS %s", self->key_ready);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            fc_warn(MODULE,
                    "shard %s sentinel missing (redis empty or flushed): rebuilding "
                    "from postgres before publishing",
                    self->shard_tag);
            self->rebuild_needed = true;
        } else if (r && r->type == REDIS_REPLY_INTEGER && !self->progress_loaded)
            aggregator_load_progress(self);
        if (r)
            freeReplyObject(r);
    }
    if (self->rebuild_needed) {
        aggregator_rebuild_begin(self, true);
        return;
    }
    if (!self->progress_loaded)
        return;
    aggregator_check_ingests(self, now_mono);
}

static void s_tick(aggregator_t *self)
{
    int64_t mono = fc_time_mono_us(), now = fc_time_now_us();
    if (mono < self->next_tick_us)
        return;
    self->next_tick_us = mono + TICK_US;
    if (mono >= self->next_tenants_us) {
        self->next_tenants_us = mono + TENANTS_RELOAD;
        aggregator_load_tenants(self);
    }
    if (mono >= self->next_second_us) {
        self->next_second_us = mono + SECOND_US;
        s_every_second(self, mono);
    }
    if (self->rebuild_needed || !self->progress_loaded)
        return;
    aggregator_rollup_begin(self, mono);
    int rollup_budget = ROLLUPS_PER_TICK;
    bool rolled_all = true;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants)) {
        if (!t->mine || t->needs_rebuild || t->poisoned || t->held)
            continue;
        int32_t today = aggregator_tz_day(&t->tz, now)->days;
        if (t->today < 0) {
            //  Started: yesterday's final rollup is (re)done once its grace has passed.
            t->final_day = today - 1;
            t->final_due_us = now;
        } else if (today > t->today) {
            //  The day closed: one summary now, the final rollup after the grace.
            fc_debug(MODULE, "tenant '%s': day %d closed", t->name, (int)t->today);
            aggregator_publish(self, t, t->today, true);
            aggregator_mark(t->roll, &t->nroll, t->today);
            t->final_day = t->today;
            t->final_due_us = now + (int64_t)self->config.final_grace_s * 1000000;
        }
        if (today != t->today)
            for (int i = t->nsent - 1; i >= 0; i--)
                if (t->sent[i] < today - SENT_KEEP_DAYS)
                    t->sent[i] = t->sent[--t->nsent];
        t->today = today;
        if (self->config.republish_s && mono >= t->republish_us) {
            //  Late joiners and consumers that lost messages get today again.
            t->republish_us = mono + (int64_t)self->config.republish_s * 1000000;
            aggregator_mark(t->dirty, &t->ndirty, today);
        }
        aggregator_publish_due(self, t, today, mono);
        if (!aggregator_rollup_tenant(self, t, now, &rollup_budget))
            rolled_all = false;
    }
    if (rolled_all)
        self->rolling = false;
}

//  --- life cycle ---------------------------------------------------------------------

//  The service's metrics (served on /metrics when a port is set). 0, or -1 (OOM).
static int s_metrics_new(aggregator_t *self)
{
    self->metrics = fc_metrics_new("fleetcost_aggregator");
    if (!self->metrics)
        return -1;
    fc_metrics_t *m = self->metrics;
    self->m_messages =
        fc_metrics_add(m, "messages_total", FC_METRIC_COUNTER, "stream messages received");
    self->m_events = fc_metrics_add(m, "events_total", FC_METRIC_COUNTER,
                                    "events sent to redis (live and catch-up)");
    self->m_skipped = fc_metrics_add(m, "messages_skipped_total", FC_METRIC_COUNTER,
                                     "messages already applied (replays)");
    self->m_gaps = fc_metrics_add(m, "gaps_total", FC_METRIC_COUNTER,
                                  "seq gaps detected (message or heartbeat ahead)");
    self->m_caught_up = fc_metrics_add(m, "caught_up_messages_total", FC_METRIC_COUNTER,
                                       "messages applied from postgres");
    self->m_rebuilds =
        fc_metrics_add(m, "rebuilds_total", FC_METRIC_COUNTER, "shard rebuilds from postgres");
    self->m_tenant_rebuilds = fc_metrics_add(m, "tenant_rebuilds_total", FC_METRIC_COUNTER,
                                             "single-tenant rebuilds from postgres");
    self->m_summaries =
        fc_metrics_add(m, "summaries_total", FC_METRIC_COUNTER, "sum.<tenant> messages published");
    self->m_rollups =
        fc_metrics_add(m, "rollups_total", FC_METRIC_COUNTER, "cost_summaries tenant-day upserts");
    self->m_redis_errors =
        fc_metrics_add(m, "redis_errors_total", FC_METRIC_COUNTER, "redis failures");
    self->m_pg_errors =
        fc_metrics_add(m, "pg_errors_total", FC_METRIC_COUNTER, "postgres failures");
#ifdef FC_TESTING
    self->m_dropped = fc_metrics_add(m, "debug_dropped_total", FC_METRIC_COUNTER,
                                     "messages dropped on purpose (--debug-drop)");
#endif
    self->m_suspect = fc_metrics_add(m, "suspect_ingests", FC_METRIC_GAUGE,
                                     "ingests silent or not yet heard from");
    self->m_tenants = fc_metrics_add(m, "tenants", FC_METRIC_GAUGE, "tenants known");
    self->m_regressions = fc_metrics_add(
        m, "seq_regressions_total", FC_METRIC_COUNTER,
        "ingest seqs that went back (a run beginning below progress, or postgres behind it)");
    self->m_resync_tenants =
        fc_metrics_add(m, "resync_tenants_total", FC_METRIC_COUNTER,
                       "tenants rebuilt from postgres because an ingest's seq went back");
    self->m_overflows =
        fc_metrics_add(m, "overflow_messages_total", FC_METRIC_COUNTER,
                       "messages not applied to redis: a total would pass the int64 limit");
    self->m_poisoned = fc_metrics_add(m, "poisoned_tenants", FC_METRIC_GAUGE,
                                      "tenants whose totals are frozen (alert when > 0)");
    self->m_rewinds = fc_metrics_add(m, "redis_rewinds_total", FC_METRIC_COUNTER,
                                     "reconnections to redis after which progress was taken "
                                     "back to what that server holds (a failover)");
    self->m_stall = fc_metrics_add(m, "loop_stall_max_ms", FC_METRIC_GAUGE,
                                   "longest turn of the loop so far: how long stream messages "
                                   "and summaries waited at worst");
    self->m_rebuild_ms = fc_metrics_add(m, "last_rebuild_ms", FC_METRIC_GAUGE,
                                        "length of the last rebuild from postgres that let "
                                        "the stream go on (query and writes)");
    return 0;
}

aggregator_t *aggregator_new(const aggregator_config_t *config)
{
    aggregator_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    snprintf(self->shard_tag, sizeof self->shard_tag, "%d-%d", config->shard, config->shards);
    aggregator_key_ready(self->key_ready, self->shard_tag);
    aggregator_key_progress(self->key_progress, self->shard_tag);
    aggregator_key_rebuilding(self->key_rebuilding, self->shard_tag);
    pthread_mutex_init(&self->final_mutex, NULL);
    pthread_cond_init(&self->final_cond, NULL);
    self->pg_url = strdup(config->pg_url);
    self->tenants = zhash_new();
    self->ingests = zhash_new();
    self->events = calloc(FC_MAX_BATCH, sizeof *self->events);
    self->catchup = calloc(FC_MAX_BATCH, sizeof *self->catchup);
    fc_buf_init(&self->arena);
    self->rebuild_needed = false;
    bool ok = self->pg_url && self->tenants && self->ingests && self->events && self->catchup;
    for (int i = 0; ok && i < MAX_MSG_DAYS; i++) {
        self->days[i].fields = aggregator_map_new();
        self->days[i].agents = aggregator_map_new();
        self->days[i].tasks = aggregator_map_new();
        ok = self->days[i].fields && self->days[i].agents && self->days[i].tasks;
    }
    self->redis = ok ? aggregator_redis_new(config->redis_url, config->redis_sentinels,
                                            config->redis_master_name)
                     : NULL;
    if (!self->redis) {
        aggregator_destroy(&self);
        return NULL;
    }
    if (s_metrics_new(self) != 0 ||
        (config->metrics_port &&
         fc_metrics_serve(self->metrics, config->metrics_bind, config->metrics_port))) {
        fc_error(MODULE, "cannot serve /metrics on port %d", config->metrics_port);
        aggregator_destroy(&self);
        return NULL;
    }
    //  CurveZMQ: the SUB authenticates to ingest with the service's operator identity;
    //  the summaries go out on an XPUB that grants each subscription per certificate.
    fc_curve_t *curve = fc_service_curve();
    self->sub = zsock_new(ZMQ_SUB);
    self->pub = zsock_new(ZMQ_XPUB);
    if (!self->sub || !self->pub || !curve || fc_curve_client(curve, self->sub) != 0 ||
        fc_curve_pub_setup(curve, self->pub) != 0) {
        aggregator_destroy(&self);
        return NULL;
    }
    zsock_set_rcvhwm(self->sub, 200000);
    zsock_set_sndhwm(self->pub, 100000);
    zsock_set_maxmsgsize(self->sub, FC_MAX_FRAME);
    zsock_set_subscribe(self->sub, "ev.");
    zsock_set_subscribe(self->sub, "hb.");
    ok = fc_service_attach(self->sub, config->ingest_pub, false, MODULE) == 0 &&
         fc_service_attach(self->pub, config->bind, true, MODULE) == 0;
    self->poller = ok ? zpoller_new(self->sub, self->pub, NULL) : NULL;
    if (!self->poller) {
        aggregator_destroy(&self);
        return NULL;
    }
    if (aggregator_rollup_start(self) != 0) {
        aggregator_destroy(&self);
        return NULL;
    }
    fc_info(MODULE, "shard %d/%d subscribed to %s, publishing on %s, metrics on :%d", config->shard,
            config->shards, config->ingest_pub, config->bind, config->metrics_port);
    return self;
}

int aggregator_run(aggregator_t *self)
{
    aggregator_load_tenants(self);
    self->next_tenants_us = fc_time_mono_us() + TENANTS_RELOAD;
    while (!fc_signal_stopping()) {
        //  A rebuild under way is advanced every iteration: the loop turns at once while
        //  it writes tenants, every 5 ms while it waits for its query's rows.
        int wait_ms = !self->job.active                                            ? TICK_US / 1000
                      : self->job.querying && self->job.next >= self->job.complete ? 5
                                                                                   : 0;
        zpoller_wait(self->poller, wait_ms);
        if (zpoller_terminated(self->poller) && fc_signal_stopping())
            break;
        int64_t started = fc_time_mono_us();
        //  While Redis is down the stream is left in the socket (up to its high-water
        //  mark; what overflows is caught up from Postgres later).
        if (self->npending && aggregator_flush(self) != 0) {
            zclock_sleep(200);
            continue;
        }
        aggregator_grant(self);
        aggregator_read_stream(self);
        s_tick(self);
        aggregator_rebuild_step(self);
        //  How long the stream and the summaries can wait on the loop.
        int64_t took = fc_time_mono_us() - started;
        if (took > self->stall_max_us) {
            self->stall_max_us = took;
            fc_metric_set(self->m_stall, took / 1000);
        }
    }
    aggregator_flush(self);
    return 0;
}

void aggregator_destroy(aggregator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregator_t *self = *self_p;
    aggregator_rollup_stop(self);
    aggregator_rebuild_abort(self);
    if (self->job.pg)
        PQfinish(self->job.pg);
    pthread_mutex_destroy(&self->final_mutex);
    pthread_cond_destroy(&self->final_cond);
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->sub);
    zsock_destroy(&self->pub);
    fc_metrics_destroy(&self->metrics);
    aggregator_drop_pending(self);
    for (int i = 0; i < MAX_MSG_DAYS; i++) {
        aggregator_map_destroy(&self->days[i].fields);
        aggregator_map_destroy(&self->days[i].agents);
        aggregator_map_destroy(&self->days[i].tasks);
    }
    zhash_destroy(&self->tenants);
    zhash_destroy(&self->ingests);
    aggregator_redis_destroy(&self->redis);
    if (self->pg)
        PQfinish(self->pg);
    if (self->rollup_pg)
        PQfinish(self->rollup_pg);
    fc_buf_free(&self->arena);
    free(self->events);
    free(self->catchup);
    free(self->pg_url);
    free(self);
    *self_p = NULL;
}
