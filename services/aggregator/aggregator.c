/*  aggregator: the loop, per-ingest progress, gap repair, rebuilds, summaries and
    rollups (see aggregator.h). */
#include "aggregator.h"

#include <czmq.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aggregator_map.h"
#include "aggregator_pg.h"
#include "aggregator_redis.h"
#include "aggregator_summary.h"
#include "aggregator_tz.h"
#include "fc_buf.h"
#include "fc_curve.h"
#include "fc_hash.h"
#include "fc_log.h"
#include "fc_metrics.h"
#include "fc_pg.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fc_stream.h"
#include "fc_time.h"

#define MODULE "aggregator"

#define MAX_DIRTY        128  //  dirty days remembered per tenant (a rebuild window fits)
#define MAX_MSG_DAYS     64   //  local days one stream message may touch
#define PIPELINE_MAX     256  //  script calls in flight before replies are read
#define DRAIN_MAX        1024 //  stream messages read before the pipeline is flushed
#define TICK_US          100000
#define ROLLUPS_PER_TICK 2
#define MAX_FINAL_JOBS   4096 //  final rollups waiting for the worker

typedef struct {
    char tenant[FC_MAX_TENANT + 1];
    char tz[64];
    char day[11];
} s_final_job_t; //  tenant-day rollups per tick during a round
#define SECOND_US      1000000
#define TENANTS_RELOAD (30 * SECOND_US)
#define APPLIED_KEEP_S (400 * 86400)
#define SENT_KEEP_DAYS 70 //  closed days re-sent to a new subscriber (the day keys' life)

typedef struct {
    char name[FC_MAX_TENANT + 1];
    aggregator_tz_t tz;
    bool mine;                //  in this shard
    bool needs_rebuild;       //  the apply script found it uninitialised (or failed)
    bool poisoned;            //  a total would pass int64: not applied to Redis any more
    int32_t today;            //  local day at the last tick (-1: not yet)
    int64_t last_pub_us;      //  last interval summary
    int64_t republish_us;     //  next unconditional summary of today
    int32_t dirty[MAX_DIRTY]; //  days changed since their last summary
    int ndirty;
    int32_t roll[MAX_DIRTY]; //  days changed since their last rollup
    int nroll;
    int32_t sent[MAX_DIRTY]; //  closed days summarised since start (of the last DAY_KEEP)
    int nsent;
    int32_t final_day; //  a closed day whose final rollup is due at final_due_us
    int64_t final_due_us;
} tenant_t;

typedef struct {
    char id[FC_MAX_INGEST_ID + 1];
    uint64_t progress;  //  every seq <= progress is handled
    uint64_t persisted; //  progress last written to Redis
    uint64_t epoch;     //  the run progress belongs to (0: not known); PROTOCOL.md §11
    uint64_t persisted_epoch;
    int64_t last_hb_us; //  monotonic time of the last heartbeat or message
    bool suspect;       //  silent, or just started: poll Postgres for its seq
    int64_t retry_us;   //  no catch-up attempt before this (after a failure)
} ingest_t;

//  One script call waiting for its reply.
typedef struct {
    char *cmd; //  formatted (redisFormatCommandArgv)
    int len;
    tenant_t *tenant;
    int32_t days[MAX_MSG_DAYS];
    int ndays;
} pending_t;

//  The increments of one message for one local day.
typedef struct {
    const aggregator_day_t *info;
    aggregator_day_t copy;
    aggregator_map_t *fields, *agents, *tasks;
} msg_day_t;

struct _aggregator_t {
    aggregator_config_t config;
    char shard_tag[32]; //  "<i>-<N>"
    zsock_t *sub, *pub;
    zpoller_t *poller;
    aggregator_redis_t *redis;
    PGconn *pg;
    //  In-day rollups run on their own connection without waiting (one in flight), so
    //  a slow upsert under load never holds up the stream.
    PGconn *rollup_pg;
    bool rollup_inflight;
    //  Final rollups of closed days are computed from Postgres' own sums, a query over
    //  the day's events that can take hundreds of milliseconds: a worker thread with its
    //  own connection runs them, so the stream never waits for one.
    pthread_t final_thread;
    bool final_running, final_stop;
    pthread_mutex_t final_mutex;
    pthread_cond_t final_cond;
    s_final_job_t final_jobs[MAX_FINAL_JOBS];
    int final_count;
    char inflight_tenant[FC_MAX_TENANT + 1];
    int32_t inflight_day;
    char *pg_url;
    zhash_t *tenants; //  name -> tenant_t
    zhash_t *ingests; //  id -> ingest_t
    bool rebuild_needed;
    bool tenant_rebuild_pending;
    bool progress_loaded;
    uint64_t redis_connects; //  aggregator_redis_connects when last looked at
    uint64_t rewinds;        //  s_redis_rewind calls that took progress back
    pending_t pending[PIPELINE_MAX];
    int npending;
    msg_day_t days[MAX_MSG_DAYS];
    fc_stored_event_t *events;  //  FC_MAX_BATCH: a live message being applied
    fc_stored_event_t *catchup; //  FC_MAX_BATCH: a message read from Postgres
    fc_buf_t arena;
    uint64_t drop_count;
    int64_t next_tick_us, next_second_us, next_rollup_us, next_tenants_us;
    bool rolling; //  a round of rollups is under way
    fc_metrics_t *metrics;
    fc_metric_t *m_messages, *m_events, *m_skipped, *m_gaps, *m_caught_up, *m_rebuilds,
        *m_tenant_rebuilds, *m_summaries, *m_rollups, *m_redis_errors, *m_pg_errors, *m_dropped,
        *m_suspect, *m_tenants, *m_regressions, *m_resync_tenants, *m_overflows, *m_poisoned,
        *m_rewinds;
    int npoisoned;
};

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

static PGconn *s_pg(aggregator_t *self)
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

static void s_pg_failed(aggregator_t *self)
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

static int s_load_tenants(aggregator_t *self)
{
    PGconn *pg = s_pg(self);
    if (!pg || aggregator_pg_tenants(pg, s_tenant_cb, self) != 0) {
        s_pg_failed(self);
        return -1;
    }
    return 0;
}

//  The tenant, loaded from Postgres if new. NULL if Postgres cannot say.
static tenant_t *s_tenant(aggregator_t *self, const char *name)
{
    tenant_t *t = zhash_lookup(self->tenants, name);
    if (t)
        return t;
    PGconn *pg = s_pg(self);
    char tz[AGGREGATOR_TZ_MAX];
    int found = pg ? aggregator_pg_tenant_tz(pg, name, tz, sizeof tz) : -1;
    if (found < 0) {
        s_pg_failed(self);
        return NULL;
    }
    if (!found) {
        fc_warn(MODULE, "tenant '%s' has events but no tenants row: using UTC", name);
        snprintf(tz, sizeof tz, "UTC");
    }
    return s_tenant_add(self, name, tz);
}

static void s_mark(int32_t *set, int *n, int32_t day)
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

static void s_unmark(int32_t *set, int *n, int32_t day)
{
    for (int i = 0; i < *n; i++)
        if (set[i] == day) {
            set[i] = set[--*n];
            return;
        }
}

static void s_mark_dirty(tenant_t *t, int32_t day)
{
    s_mark(t->dirty, &t->ndirty, day);
    s_mark(t->roll, &t->nroll, day);
}

static ingest_t *s_ingest(aggregator_t *self, const char *id)
{
    ingest_t *in = zhash_lookup(self->ingests, id);
    if (in)
        return in;
    in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    snprintf(in->id, sizeof in->id, "%s", id);
    in->suspect = true;
    in->last_hb_us = fc_time_mono_us();
    zhash_insert(self->ingests, id, in);
    zhash_freefn(self->ingests, id, free);
    fc_info(MODULE, "ingest '%s' seen: handled up to seq %" PRIu64, id, in->progress);
    return in;
}

//  --- applying messages ----------------------------------------------------------------

static void s_pending_free(pending_t *p)
{
    redisFreeCommand(p->cmd);
    p->cmd = NULL;
}

/*  Marks a tenant whose totals would pass the int64 limit in Redis (see
    AGGREGATOR_TOTAL_LIMIT). Its messages are no longer applied to Redis, it is no longer
    rebuilt, summarised or rolled up, and everything else goes on: one tenant's data
    never stops the others, and the aggregator never loops rebuilding it. Its events stay
    in Postgres; once an operator has corrected them (the alert on poisoned_tenants),
    restarting the aggregator rebuilds the tenant. */
static void s_poison(aggregator_t *self, tenant_t *t, const char *why)
{
    fc_metric_add(self->m_overflows, 1);
    if (t->poisoned)
        return;
    t->poisoned = true;
    fc_metric_set(self->m_poisoned, ++self->npoisoned);
    fc_error(MODULE,
             "tenant '%s': %s would pass the int64 limit of Redis totals; its totals are "
             "frozen (not applied, summarised or rebuilt) until the data is corrected and "
             "the aggregator restarted; other tenants carry on",
             t->name, why);
}

/*  Redis after a reconnection, possibly to another server (docs/SCALING.md, "Redis
    Sentinel").

    Redis replicates asynchronously: when Sentinel promotes a replica, the increments
    the old master acknowledged but had not sent on are lost with it. Their per-message
    markers (fc:{t}:applied) are lost with them, because each apply script's writes
    replicate as one unit, in order, on the aggregator's one connection: the new master
    holds exactly a prefix of what was applied. So does its fc:agg:<shard>:progress,
    written after the applies it counts. But this process's in-memory progress still
    says those messages were handled: nothing would ever apply them again, and the
    totals would stay short for good (seen before this: no gap is detected, since the
    stream goes on from where memory says it is).

    So after every new connection the in-memory progress goes back to what the server
    holds (from a restarted or merely reconnected server the same: at most the last
    second is redone), every ingest becomes suspect, and the usual catch-up from
    Postgres re-applies what is missing through the markers, which skip what the server
    already counted. The script calls still pending are dropped rather than resent: a
    resent later message would move a tenant's marker past the lost ones, and the
    markers only skip correctly when each tenant's messages arrive in seq order. They
    are in Postgres, so the catch-up sends them again, in order. A server without this
    shard's ready marker gets the full rebuild instead. Returns 0, or -1 (connection
    dropped again: the next connection rewinds). */
static int s_redis_rewind(aggregator_t *self)
{
    for (int i = 0; i < self->npending; i++)
        s_pending_free(&self->pending[i]);
    self->npending = 0;
    redisReply *ready =
        aggregator_redis_command(self->redis, "EXISTS fc:agg:%s:ready", self->shard_tag);
    redisReply *r =
        ready && ready->type == REDIS_REPLY_INTEGER && ready->integer == 1
            ? aggregator_redis_command(self->redis, "HGETALL fc:agg:%s:progress", self->shard_tag)
            : NULL;
    int rc = -1;
    if (ready && ready->type == REDIS_REPLY_INTEGER && ready->integer == 0) {
        fc_warn(MODULE, "redis reconnected to a server without shard %s: rebuilding",
                self->shard_tag);
        self->rebuild_needed = true;
        rc = 0;
    } else if (r && r->type == REDIS_REPLY_ARRAY) {
        for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests))
            in->progress = 0;
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *field = r->element[i]->str;
            bool is_epoch = strncmp(field, "epoch:", 6) == 0;
            ingest_t *in = s_ingest(self, is_epoch ? field + 6 : field);
            uint64_t v = strtoull(r->element[i + 1]->str, NULL, 10);
            if (in && is_epoch)
                in->epoch = v;
            else if (in)
                in->progress = v;
        }
        for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests)) {
            in->persisted = in->progress;
            in->persisted_epoch = in->epoch;
            in->suspect = true;
            in->retry_us = 0;
            fc_info(MODULE, "ingest '%s': redis holds progress %" PRIu64 ": catching up from there",
                    in->id, in->progress);
        }
        fc_metric_add(self->m_rewinds, 1);
        self->rewinds++;
        rc = 0;
    }
    if (ready)
        freeReplyObject(ready);
    if (r)
        freeReplyObject(r);
    if (rc != 0)
        aggregator_redis_reset(self->redis);
    return rc;
}

//  The Redis connection, made if needed; a new one is rewound to first (above).
static int s_redis(aggregator_t *self)
{
    if (aggregator_redis_ensure(self->redis) != 0)
        return -1;
    uint64_t n = aggregator_redis_connects(self->redis);
    if (n == self->redis_connects)
        return 0;
    bool again = self->redis_connects != 0;
    self->redis_connects = n;
    if (again && self->progress_loaded && !self->rebuild_needed && s_redis_rewind(self) != 0) {
        fc_metric_add(self->m_redis_errors, 1);
        return -1;
    }
    return 0;
}

/*  Reads the replies of every pending script call, in order. A connection error keeps
    them all for a resend (the markers make a resend harmless). NOSCRIPT (Redis
    restarted or SCRIPT FLUSH) hits a suffix of the pipeline: the scripts are loaded
    again and that suffix is sent again. A tenant whose call returned -1 (not
    initialised) or failed is rebuilt from Postgres before anything else of it is
    applied. Returns 0 when nothing is pending any more, -1 when Redis is unavailable. */
static int s_flush(aggregator_t *self)
{
    while (self->npending) {
        if (s_redis(self) != 0)
            return -1;
        if (!self->npending) //  rewound to a new connection: the catch-up resends them
            break;
        for (int i = 0; i < self->npending; i++)
            if (aggregator_redis_append_formatted(self->redis, self->pending[i].cmd,
                                                  (size_t)self->pending[i].len) != 0) {
                aggregator_redis_reset(self->redis);
                return -1;
            }
        int noscript = -1;
        for (int i = 0; i < self->npending; i++) {
            redisReply *r = aggregator_redis_get_reply(self->redis);
            if (!r) {
                fc_metric_add(self->m_redis_errors, 1);
                return -1;
            }
            pending_t *p = &self->pending[i];
            if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_DONE) {
                for (int d = 0; d < p->ndays; d++)
                    s_mark_dirty(p->tenant, p->days[d]);
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_SKIPPED) {
                fc_metric_add(self->m_skipped, 1);
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_UNINIT) {
                p->tenant->needs_rebuild = true;
                self->tenant_rebuild_pending = true;
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_OVERFLOW) {
                s_poison(self, p->tenant, "a message");
            } else if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
                if (noscript < 0)
                    noscript = i;
            } else {
                fc_error(MODULE, "apply script failed for tenant '%s': %s; rebuilding it",
                         p->tenant->name, r->type == REDIS_REPLY_ERROR ? r->str : "bad reply");
                fc_metric_add(self->m_redis_errors, 1);
                p->tenant->needs_rebuild = true;
                self->tenant_rebuild_pending = true;
            }
            freeReplyObject(r);
        }
        int done = noscript < 0 ? self->npending : noscript;
        for (int i = 0; i < done; i++)
            s_pending_free(&self->pending[i]);
        memmove(self->pending, self->pending + done,
                (size_t)(self->npending - done) * sizeof *self->pending);
        self->npending -= done;
        if (self->npending) {
            fc_warn(MODULE, "redis lost the scripts (NOSCRIPT): loading them again");
            if (aggregator_redis_load_scripts(self->redis) != 0)
                return -1;
        }
    }
    return 0;
}

//  The day slot of this message for a local day (cleared on first use).
static msg_day_t *s_msg_day(aggregator_t *self, int *ndays, const aggregator_day_t *info)
{
    for (int i = 0; i < *ndays; i++)
        if (self->days[i].copy.days == info->days)
            return &self->days[i];
    if (*ndays == MAX_MSG_DAYS)
        return NULL;
    msg_day_t *d = &self->days[(*ndays)++];
    d->copy = *info;
    aggregator_map_clear(d->fields);
    aggregator_map_clear(d->agents);
    aggregator_map_clear(d->tasks);
    return d;
}

static int s_add_field(aggregator_map_t *m, const char *dim, const char *key, int64_t v)
{
    char field[FC_MAX_NAME + 32];
    snprintf(field, sizeof field, "%s:%s", dim, key);
    return aggregator_map_add(m, field, v);
}

//  The most one event may add to a total here: a stream message of FC_MAX_BATCH such
//  events stays under AGGREGATOR_TOTAL_LIMIT, so its own sums cannot overflow. Far above
//  ingest's per-event caps (PROTOCOL.md §5) and the older ones (1e15), which events
//  stored before the caps still carry.
#define S_EVENT_MAX (AGGREGATOR_TOTAL_LIMIT / FC_MAX_BATCH)

//  True when every figure of the event is within 0..S_EVENT_MAX.
static bool s_event_summable(const fc_stored_event_t *ev)
{
    int64_t v[] = {ev->cost_nusd,         ev->input_tokens,          ev->output_tokens,
                   ev->cache_read_tokens, ev->cache_write_5m_tokens, ev->cache_write_1h_tokens};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i] < 0 || v[i] > S_EVENT_MAX)
            return false;
    return true;
}

//  Adds one cost entry to its day. 0, or -1 (overflow / out of memory).
static int s_add_event(msg_day_t *d, const fc_stored_event_t *ev)
{
    int64_t totals[AGGREGATOR_TOTALS] = {ev->cost_nusd,
                                         ev->input_tokens,
                                         ev->output_tokens,
                                         ev->cache_read_tokens,
                                         ev->cache_write_5m_tokens,
                                         ev->cache_write_1h_tokens,
                                         1,
                                         ev->unpriced ? 1 : 0};
    int rc = 0;
    for (int i = 0; i < AGGREGATOR_TOTALS; i++)
        rc |= aggregator_map_add(d->fields, aggregator_total_fields[i], totals[i]);
    const char *kind = ev->type == FC_EV_USAGE ? "usage" : ev->kind;
    rc |= s_add_field(d->fields, "agent_type", ev->agent_type, ev->cost_nusd);
    rc |= s_add_field(d->fields, "model", ev->model, ev->cost_nusd);
    rc |= s_add_field(d->fields, "agent", ev->agent, ev->cost_nusd);
    rc |= s_add_field(d->fields, "kind", kind, ev->cost_nusd);
    if (*ev->agent)
        rc |= aggregator_map_add(d->agents, ev->agent, 0);
    if (*ev->task)
        rc |= aggregator_map_add(d->tasks, ev->task, ev->cost_nusd);
    return rc ? -1 : 0;
}

//  Appends a string to the arena; its offset goes to offs[*n].
static void s_arg(aggregator_t *self, size_t *offs, size_t *lens, int *n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void s_arg(aggregator_t *self, size_t *offs, size_t *lens, int *n, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof tmp)
        len = sizeof tmp - 1;
    offs[*n] = self->arena.len;
    lens[*n] = (size_t)len;
    (*n)++;
    fc_buf_add(&self->arena, tmp, (size_t)len + 1);
}

/*  Queues the apply script call of one stream message. Returns 0 when the message is
    dealt with (queued, or not this shard's), -1 when it cannot be applied now (its
    tenant is unknown and Postgres is down, or out of memory): the caller leaves the
    ingest's progress before it, so a catch-up fetches it again. */
static int s_apply(aggregator_t *self, uint64_t seq, const char *ingest_id, const char *tenant_name,
                   const fc_stored_event_t *events, size_t n)
{
    tenant_t *t = s_tenant(self, tenant_name);
    if (!t)
        return -1;
    if (!t->mine)
        return 0;
    if (t->poisoned) {
        fc_metric_add(self->m_overflows, 1);
        return 0;
    }
    uint64_t rewinds = self->rewinds;
    if (self->npending == PIPELINE_MAX && s_flush(self) != 0)
        return -1;
    //  Progress went back under the caller (a new Redis server): this message must wait
    //  for the catch-up that re-applies the ones before it.
    if (self->rewinds != rewinds)
        return -1;
    int ndays = 0;
    for (size_t i = 0; i < n; i++) {
        const fc_stored_event_t *ev = &events[i];
        if (ev->type != FC_EV_USAGE && ev->type != FC_EV_COST)
            continue;
        //  An event this large was written by hand (ingest never stored one): summing
        //  its message could overflow before the script's guard sees it.
        if (!s_event_summable(ev)) {
            s_poison(self, t, "an event too large to sum");
            return 0;
        }
        msg_day_t *d = s_msg_day(self, &ndays, aggregator_tz_day(&t->tz, ev->ts_us));
        if (!d || s_add_event(d, ev) != 0) {
            fc_error(MODULE,
                     "message %s/%" PRIu64 " of '%s' cannot be summed (over %d days, "
                     "overflow or out of memory)",
                     ingest_id, seq, tenant_name, MAX_MSG_DAYS);
            return -1;
        }
    }
    //  Arguments: the arena holds the strings, then pointer arrays are built from offsets
    //  (the arena may move while it grows).
    int nargs = 0, nkeys = 1 + 8 * ndays;
    size_t cap = 9 + (size_t)nkeys + 5 * (size_t)ndays;
    for (int i = 0; i < ndays; i++)
        cap += 2 * aggregator_map_size(self->days[i].fields) +
               aggregator_map_size(self->days[i].agents) +
               2 * aggregator_map_size(self->days[i].tasks);
    size_t *offs = malloc(cap * sizeof *offs), *lens = malloc(cap * sizeof *lens);
    const char **argv = malloc(cap * sizeof *argv);
    if (!offs || !lens || !argv) {
        free(offs);
        free(lens);
        free(argv);
        return -1;
    }
    fc_buf_reset(&self->arena);
    const char *T = tenant_name;
    s_arg(self, offs, lens, &nargs, "EVALSHA");
    s_arg(self, offs, lens, &nargs, "%s", aggregator_redis_apply_sha(self->redis));
    s_arg(self, offs, lens, &nargs, "%d", nkeys);
    s_arg(self, offs, lens, &nargs, "fc:{%s}:applied", T);
    for (int i = 0; i < ndays; i++) {
        const char *D = self->days[i].copy.day, *M = self->days[i].copy.month;
        s_arg(self, offs, lens, &nargs, "fc:{%s}:day:%s", T, D);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:day:%s:agents", T, D);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:day:%s:tasks", T, D);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:day:%s:taskcost", T, D);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:month:%s", T, M);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:month:%s:agents", T, M);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:month:%s:tasks", T, M);
        s_arg(self, offs, lens, &nargs, "fc:{%s}:month:%s:taskcost", T, M);
    }
    int64_t now_s = fc_time_now_us() / 1000000;
    s_arg(self, offs, lens, &nargs, "%s", ingest_id);
    s_arg(self, offs, lens, &nargs, "%" PRIu64, seq);
    s_arg(self, offs, lens, &nargs, "%d", ndays);
    s_arg(self, offs, lens, &nargs, "%" PRId64, now_s + APPLIED_KEEP_S);
    int64_t newest = 0;
    for (size_t i = 0; i < n; i++)
        if ((events[i].type == FC_EV_USAGE || events[i].type == FC_EV_COST) &&
            events[i].ts_us > newest)
            newest = events[i].ts_us;
    s_arg(self, offs, lens, &nargs, "%" PRId64, newest);
    for (int i = 0; i < ndays; i++) {
        msg_day_t *d = &self->days[i];
        //  A day's keys live until DAY_KEEP after it ends (its UTC end is at most a day
        //  after the UTC midnight that follows the date).
        int64_t day_exp = ((int64_t)d->copy.days + 2) * 86400 + AGGREGATOR_DAY_KEEP_S;
        int64_t month_exp = d->copy.month_end_us / 1000000 + AGGREGATOR_MONTH_KEEP_S;
        s_arg(self, offs, lens, &nargs, "%zu", aggregator_map_size(d->fields));
        s_arg(self, offs, lens, &nargs, "%zu", aggregator_map_size(d->agents));
        s_arg(self, offs, lens, &nargs, "%zu", aggregator_map_size(d->tasks));
        s_arg(self, offs, lens, &nargs, "%" PRId64, day_exp);
        s_arg(self, offs, lens, &nargs, "%" PRId64, month_exp);
        for (size_t k = 0; k < aggregator_map_size(d->fields); k++) {
            const aggregator_entry_t *e = aggregator_map_at(d->fields, k);
            s_arg(self, offs, lens, &nargs, "%s", e->key);
            s_arg(self, offs, lens, &nargs, "%" PRId64, e->value);
        }
        for (size_t k = 0; k < aggregator_map_size(d->agents); k++)
            s_arg(self, offs, lens, &nargs, "%s", aggregator_map_at(d->agents, k)->key);
        for (size_t k = 0; k < aggregator_map_size(d->tasks); k++) {
            const aggregator_entry_t *e = aggregator_map_at(d->tasks, k);
            s_arg(self, offs, lens, &nargs, "%s", e->key);
            s_arg(self, offs, lens, &nargs, "%" PRId64, e->value);
        }
    }
    int rc = -1;
    if (!self->arena.failed) {
        for (int i = 0; i < nargs; i++)
            argv[i] = (const char *)self->arena.data + offs[i];
        pending_t *p = &self->pending[self->npending];
        p->len = redisFormatCommandArgv(&p->cmd, nargs, argv, lens);
        if (p->len > 0) {
            p->tenant = t;
            p->ndays = ndays;
            for (int i = 0; i < ndays; i++)
                p->days[i] = self->days[i].copy.days;
            self->npending++;
            fc_metric_add(self->m_events, (int64_t)n);
            rc = 0;
        }
    }
    free(offs);
    free(lens);
    free(argv);
    return rc;
}

typedef struct {
    aggregator_t *self;
    ingest_t *ingest;
} catchup_ctx_t;

static int s_catchup_message(void *arg, uint64_t seq, const char *tenant,
                             const fc_stored_event_t *events, size_t n)
{
    catchup_ctx_t *c = arg;
    if (seq <= c->ingest->progress)
        return 0;
    if (s_apply(c->self, seq, c->ingest->id, tenant, events, n) != 0)
        return -1;
    fc_metric_add(c->self->m_caught_up, 1);
    c->ingest->progress = seq;
    return 0;
}

/*  Applies the messages of an ingest after its progress up to `to` from Postgres, in
    seq order, through the same script as the live stream. Whatever is pending goes to
    Redis first, so the order per tenant holds. Returns 0 with progress = to, or -1
    with progress at the last message applied (retried later). */
static int s_catch_up(aggregator_t *self, ingest_t *in, uint64_t to)
{
    if (to <= in->progress)
        return 0;
    if (fc_time_mono_us() < in->retry_us || s_flush(self) != 0)
        return -1;
    PGconn *pg = s_pg(self);
    uint64_t from = in->progress;
    catchup_ctx_t ctx = {self, in};
    if (!pg ||
        aggregator_pg_catchup(pg, in->id, from, to, self->catchup, s_catchup_message, &ctx) != 0) {
        s_pg_failed(self);
        in->retry_us = fc_time_mono_us() + SECOND_US;
        fc_warn(MODULE, "catch-up of '%s' after seq %" PRIu64 " failed: will retry", in->id,
                in->progress);
        return -1;
    }
    in->progress = to;
    fc_info(MODULE, "ingest '%s': caught up seqs %" PRIu64 "..%" PRIu64 " from postgres", in->id,
            from + 1, to);
    s_flush(self);
    return 0;
}

//  --- runs and regressions ------------------------------------------------------------

static int s_append(aggregator_t *self, int *count, const char *fmt, ...);
static int s_replies(aggregator_t *self, int count);
static int s_rebuild(aggregator_t *self, bool full);

//  Writes an ingest's progress and run to Redis in one HSET, so a restart never finds
//  the new run recorded beside the old run's progress. 0, or -1 (retried each second).
static int s_persist_progress(aggregator_t *self, ingest_t *in)
{
    int count = 0;
    if (s_redis(self) != 0 ||
        s_append(self, &count, "HSET fc:agg:%s:progress %s %llu epoch:%s %llu", self->shard_tag,
                 in->id, (unsigned long long)in->progress, in->id,
                 (unsigned long long)in->epoch) != 0 ||
        s_replies(self, count) != 0)
        return -1;
    in->persisted = in->progress;
    in->persisted_epoch = in->epoch;
    return 0;
}

/*  Re-synchronises the shard after a run of an ingest began below what the shard had
    handled from it (PROTOCOL.md §11, "Runs and regressions"): ingest_state restored
    from a backup or reset by hand, or an instance from before runs that took its seq
    from what retention left of its events. Its new messages reuse seqs the apply
    script's markers call applied, so without this they would be dropped as replays.

    What is exact afterwards, and why:
    - A tenant whose applied marker for the ingest is above `base` counted messages of
      the old history above base, which Postgres may not hold any more (a restore), and
      would skip the new run's messages up to its marker. It is rebuilt from one
      Postgres snapshot (the per-tenant rebuild): its window of days and months is
      rewritten from the snapshot's sums, and its markers become the snapshot's seqs of
      every ingest. The snapshot is taken now, after the message that revealed the new
      run was committed, so it holds everything of the new run seen so far; later
      messages apply on top, earlier ones are skipped by the markers. Nothing counts
      twice, nothing is lost, whatever was applied to the tenant before.
    - Every other tenant applied nothing of this ingest above base: the new run's
      messages apply to it as they are.
    - Progress goes back to base under the new epoch, so messages of the new run that
      were not seen (base+1 up to the first one received) are caught up from Postgres
      as usual, for the tenants that need them.
    Progress and epoch are written to Redis only after the rebuild: an aggregator killed
    in between still finds the old run recorded and detects the regression again.
    Returns 0, or -1 when Redis or Postgres failed (nothing recorded: the next message
    or heartbeat of the run tries again, and what is dropped meanwhile is caught up). */
static int s_resync(aggregator_t *self, ingest_t *in, uint64_t epoch, uint64_t base)
{
    if (s_flush(self) != 0 || s_redis(self) != 0)
        return -1;
    size_t cap = zhash_size(self->tenants), n = 0;
    tenant_t **list = calloc(cap + 1, sizeof *list);
    if (!list)
        return -1;
    int count = 0, rc = 0;
    for (tenant_t *t = zhash_first(self->tenants); t && n < cap; t = zhash_next(self->tenants))
        if (t->mine) {
            list[n++] = t;
            rc |= s_append(self, &count, "HGET fc:{%s}:applied %s", t->name, in->id);
        }
    int affected = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        redisReply *r = aggregator_redis_get_reply(self->redis);
        if (!r) {
            rc = -1;
            break;
        }
        if (r->type == REDIS_REPLY_STRING && strtoull(r->str, NULL, 10) > base) {
            list[i]->needs_rebuild = true;
            affected++;
        }
        freeReplyObject(r);
    }
    free(list);
    if (rc != 0) {
        aggregator_redis_reset(self->redis);
        fc_metric_add(self->m_redis_errors, 1);
        return -1;
    }
    if (affected && s_rebuild(self, false) != 0)
        return -1;
    fc_metric_add(self->m_resync_tenants, affected);
    in->progress = base;
    in->epoch = epoch;
    in->retry_us = 0;
    s_persist_progress(self, in);
    return 0;
}

/*  Checks the run a message or heartbeat names against the one progress belongs to.
    A new run that begins at or after progress is a restart (or a gap the catch-up
    fills); one that begins below it is a regression, re-synchronised here. An unknown
    recorded run (an aggregator or Redis state from before runs) cannot tell whether
    progress was made in this run, so a base below it is re-synchronised too: a rebuild
    is exact in either case. Returns false when the message must be left (the
    re-synchronisation failed and is retried). */
static bool s_run_ok(aggregator_t *self, ingest_t *in, uint64_t epoch, uint64_t base)
{
    if (!epoch || epoch == in->epoch)
        return true;
    if (base >= in->progress) {
        fc_info(MODULE,
                "ingest '%s': run %" PRIu64 " begins after seq %" PRIu64 " (handled up to %" PRIu64
                ")",
                in->id, epoch, base, in->progress);
        in->epoch = epoch;
        return true;
    }
    fc_metric_add(self->m_regressions, 1);
    fc_warn(MODULE,
            "ingest '%s': seq went back: run %" PRIu64 " begins after seq %" PRIu64 " but %" PRIu64
            " were handled (run %" PRIu64 "); re-synchronising its tenants from postgres",
            in->id, epoch, base, in->progress, in->epoch);
    if (s_resync(self, in, epoch, base) != 0) {
        fc_warn(MODULE, "ingest '%s': re-synchronisation failed: will retry", in->id);
        return false;
    }
    fc_info(MODULE, "ingest '%s': re-synchronised; continuing from seq %" PRIu64, in->id, base);
    return true;
}

//  --- the stream ---------------------------------------------------------------------

static void s_on_event(aggregator_t *self, zframe_t *body)
{
    fc_stream_header_t h;
    size_t n = 0;
    fc_proto_error_t err;
    if (fc_stream_decode(zframe_data(body), zframe_size(body), &h, self->events, FC_MAX_BATCH, &n,
                         &err) != FC_OK) {
        fc_warn(MODULE, "undecodable stream message dropped: %s %s", err.field, err.reason);
        return;
    }
    fc_metric_add(self->m_messages, 1);
    ingest_t *in = s_ingest(self, h.ingest_id);
    if (!in)
        return;
    in->last_hb_us = fc_time_mono_us();
    bool ready = !self->rebuild_needed && self->progress_loaded;
    if (ready && !s_run_ok(self, in, h.epoch, h.base))
        return;
    if (h.seq <= in->progress) {
        fc_metric_add(self->m_skipped, 1);
        return;
    }
#ifdef FC_TESTING
    if (self->config.debug_drop && ++self->drop_count % (uint64_t)self->config.debug_drop == 0) {
        fc_metric_add(self->m_dropped, 1);
        return;
    }
#endif
    //  Until the shard is rebuilt nothing is applied: the rebuild's snapshot holds
    //  every message committed before it, and its seqs become the progress.
    if (!ready)
        return;
    if (h.seq > in->progress + 1) {
        fc_metric_add(self->m_gaps, 1);
        fc_info(MODULE, "ingest '%s': gap, seq %" PRIu64 " after %" PRIu64 ": catching up", in->id,
                h.seq, in->progress);
        if (s_catch_up(self, in, h.seq - 1) != 0)
            return;
    }
    if (s_apply(self, h.seq, h.ingest_id, h.tenant, self->events, n) == 0)
        in->progress = h.seq;
}

static void s_on_heartbeat(aggregator_t *self, zframe_t *body)
{
    fc_heartbeat_t hb;
    fc_proto_error_t err;
    if (fc_heartbeat_decode(zframe_data(body), zframe_size(body), &hb, &err) != FC_OK)
        return;
    ingest_t *in = s_ingest(self, hb.ingest_id);
    if (!in)
        return;
    in->last_hb_us = fc_time_mono_us();
    if (self->rebuild_needed || !self->progress_loaded || !s_run_ok(self, in, hb.epoch, hb.base))
        return;
    if (in->suspect) {
        fc_info(MODULE, "ingest '%s' heartbeat (seq %" PRIu64 ")", in->id, hb.seq);
        in->suspect = false;
    }
    //  A sender without runs says nothing when its seq goes back, but its heartbeat then
    //  falls behind progress. So does a heartbeat overtaken by a catch-up, harmlessly:
    //  the suspect poll asks Postgres which one it is.
    if (!hb.epoch && hb.seq < in->progress)
        in->suspect = true;
    //  Messages go out before the heartbeat that counts them, on the same socket: a
    //  heartbeat ahead of our progress means messages were lost.
    if (hb.seq > in->progress) {
        fc_metric_add(self->m_gaps, 1);
        s_catch_up(self, in, hb.seq);
    }
}

static void s_read_stream(aggregator_t *self)
{
    for (int i = 0; i < DRAIN_MAX && (zsock_events(self->sub) & ZMQ_POLLIN); i++) {
        zmsg_t *msg = zmsg_recv(self->sub);
        if (!msg)
            break;
        zframe_t *topic = zmsg_first(msg), *body = zmsg_next(msg);
        if (topic && body && zframe_size(topic) > 3) {
            if (memcmp(zframe_data(topic), "ev.", 3) == 0)
                s_on_event(self, body);
            else if (memcmp(zframe_data(topic), "hb.", 3) == 0)
                s_on_heartbeat(self, body);
        }
        zmsg_destroy(&msg);
    }
    s_flush(self);
}

//  --- rebuild from Postgres ----------------------------------------------------------

//  Formats a command into the pipeline and counts it. 0, or -1.
static int s_append(aggregator_t *self, int *count, const char *fmt, ...)
{
    char *cmd = NULL;
    va_list ap;
    va_start(ap, fmt);
    int len = redisvFormatCommand(&cmd, fmt, ap);
    va_end(ap);
    if (len < 0)
        return -1;
    int rc = aggregator_redis_append_formatted(self->redis, cmd, (size_t)len);
    redisFreeCommand(cmd);
    if (rc == 0)
        (*count)++;
    return rc;
}

//  Reads count replies; -1 if the connection failed or any reply is an error.
static int s_replies(aggregator_t *self, int count)
{
    int rc = 0;
    for (int i = 0; i < count; i++) {
        redisReply *r = aggregator_redis_get_reply(self->redis);
        if (!r)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            fc_error(MODULE, "redis: %s", r->str);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

/*  Writes one tenant's snapshot rows in one MULTI/EXEC: deletes every key of the
    window (dates since..today+1 with their months, and any later date the rows name),
    writes the days and adds them up into the months, sets their expiry, then sets the
    applied markers to the snapshot's seqs and the revision floor. */
static int s_write_tenant(aggregator_t *self, tenant_t *t, int32_t since,
                          const aggregator_row_t *rows, size_t nrows, const aggregator_seq_t *seqs,
                          size_t nseqs, int *count)
{
    static const char *suffix[4] = {"", ":agents", ":tasks", ":taskcost"};
    const char *T = t->name;
    int32_t today = aggregator_tz_day(&t->tz, fc_time_now_us())->days;
    int rc = s_append(self, count, "MULTI");
    char day[11], month[8] = "";
    for (int32_t d = since; d <= today + 1 && rc == 0; d++) {
        fc_date_format(d, day);
        for (int k = 0; k < 4; k++)
            rc |= s_append(self, count, "DEL fc:{%s}:day:%s%s", T, day, suffix[k]);
        if (strncmp(day, month, 7) != 0) {
            snprintf(month, sizeof month, "%.7s", day);
            for (int k = 0; k < 4; k++)
                rc |= s_append(self, count, "DEL fc:{%s}:month:%s%s", T, month, suffix[k]);
        }
    }
    //  month is now the last month deleted; rows come sorted by day.
    for (size_t i = 0; i < nrows && rc == 0; i++) {
        const aggregator_row_t *r = &rows[i];
        int64_t dn;
        if (fc_date_parse(r->day, &dn) != 0)
            continue;
        char m[8];
        snprintf(m, sizeof m, "%.7s", r->day);
        bool first = i == 0 || strcmp(rows[i - 1].day, r->day) != 0;
        if (first && dn > today + 1) {
            for (int k = 0; k < 4; k++)
                rc |= s_append(self, count, "DEL fc:{%s}:day:%s%s", T, r->day, suffix[k]);
            if (strcmp(m, month) > 0) {
                snprintf(month, sizeof month, "%s", m);
                for (int k = 0; k < 4; k++)
                    rc |= s_append(self, count, "DEL fc:{%s}:month:%s%s", T, m, suffix[k]);
            }
        }
        char field[FC_MAX_ID + 32];
        const char *where[2] = {"day", "month"};
        const char *period[2] = {r->day, m};
        for (int p = 0; p < 2; p++) {
            if (r->dim == AGGREGATOR_DIM_TOTAL) {
                for (int k = 0; k < AGGREGATOR_TOTALS; k++)
                    rc |= s_append(self, count, "HINCRBY fc:{%s}:%s:%s %s %lld", T, where[p],
                                   period[p], aggregator_total_fields[k], (long long)r->v[k]);
            } else if (r->dim == AGGREGATOR_DIM_TASK) {
                if (!*r->key)
                    continue;
                rc |= s_append(self, count, "HINCRBY fc:{%s}:%s:%s:taskcost %s %lld", T, where[p],
                               period[p], r->key, (long long)r->v[0]);
                rc |= s_append(self, count, "ZINCRBY fc:{%s}:%s:%s:tasks %lld %s", T, where[p],
                               period[p], (long long)r->v[0], r->key);
            } else {
                snprintf(field, sizeof field, "%s:%s", aggregator_dim_names[r->dim], r->key);
                rc |= s_append(self, count, "HINCRBY fc:{%s}:%s:%s %s %lld", T, where[p], period[p],
                               field, (long long)r->v[0]);
                if (r->dim == AGGREGATOR_DIM_AGENT && *r->key)
                    rc |= s_append(self, count, "SADD fc:{%s}:%s:%s:agents %s", T, where[p],
                                   period[p], r->key);
            }
        }
        bool last = i + 1 == nrows || strcmp(rows[i + 1].day, r->day) != 0;
        if (last) {
            //  Expiry once the day's keys exist (EXPIREAT on a missing key does nothing).
            int64_t day_exp = ((int64_t)dn + 2) * 86400 + AGGREGATOR_DAY_KEEP_S;
            int64_t month_exp = ((int64_t)dn + 33) * 86400 + AGGREGATOR_MONTH_KEEP_S;
            for (int k = 0; k < 4; k++) {
                rc |= s_append(self, count, "EXPIREAT fc:{%s}:day:%s%s %lld", T, r->day, suffix[k],
                               (long long)day_exp);
                rc |= s_append(self, count, "EXPIREAT fc:{%s}:month:%s%s %lld", T, m, suffix[k],
                               (long long)month_exp);
            }
        }
    }
    int64_t now_us = fc_time_now_us();
    rc |= s_append(self, count, "DEL fc:{%s}:applied", T);
    rc |= s_append(self, count, "HSET fc:{%s}:applied _init %lld", T, (long long)now_us);
    int64_t newest = 0;
    for (size_t i = 0; i < nrows; i++)
        newest = rows[i].newest_us > newest ? rows[i].newest_us : newest;
    rc |= s_append(self, count, "HSET fc:{%s}:applied _ts %lld", T, (long long)newest);
    for (size_t i = 0; i < nseqs && rc == 0; i++)
        rc |= s_append(self, count, "HSET fc:{%s}:applied %s %llu", T, seqs[i].id,
                       (unsigned long long)seqs[i].seq);
    rc |= s_append(self, count, "EXPIREAT fc:{%s}:applied %lld", T,
                   (long long)(now_us / 1000000 + APPLIED_KEEP_S));
    //  Revisions stay increasing across a flush: a lost counter restarts at the time in
    //  microseconds, above any count of summaries since the previous floor.
    rc |= s_append(self, count, "SET fc:{%s}:rev %lld NX", T, (long long)now_us);
    rc |= s_append(self, count, "EXEC");
    t->needs_rebuild = false;
    return rc;
}

/*  True when a tenant's snapshot rows (sorted by day) would take a day or month total
    to AGGREGATOR_TOTAL_LIMIT: any total of a day, or their sum over a month. Postgres
    sums bigints as numeric, and a sum past int64 reads as INT64_MAX (strtoll), which
    is caught here too. Breakdown rows are at most their day's totals. */
static bool s_rows_overflow(const aggregator_row_t *rows, size_t n)
{
    int64_t month[AGGREGATOR_TOTALS] = {0};
    char current[8] = "";
    for (size_t i = 0; i < n; i++) {
        if (rows[i].dim != AGGREGATOR_DIM_TOTAL)
            continue;
        if (strncmp(rows[i].day, current, 7) != 0) {
            snprintf(current, sizeof current, "%.7s", rows[i].day);
            memset(month, 0, sizeof month);
        }
        for (int k = 0; k < AGGREGATOR_TOTALS; k++) {
            int64_t v = rows[i].v[k];
            if (v < 0 || v >= AGGREGATOR_TOTAL_LIMIT || month[k] >= AGGREGATOR_TOTAL_LIMIT - v)
                return true;
            month[k] += v;
        }
    }
    return false;
}

/*  Rebuilds tenants from Postgres. full: every tenant of the shard, then the shard's
    progress becomes the snapshot's seqs and the sentinel is set. Runs between pipeline
    flushes, so nothing else is in flight; stream messages wait in the SUB queue (or are
    lost and caught up later). Returns 0 or -1 (retried on the next tick). */
static int s_rebuild(aggregator_t *self, bool full)
{
    if (s_flush(self) != 0)
        return -1;
    if (full && s_load_tenants(self) != 0)
        return -1;
    int64_t started = fc_time_mono_us(), now = fc_time_now_us();
    size_t cap = zhash_size(self->tenants) + 1, n = 0;
    tenant_t **list = calloc(cap, sizeof *list);
    const char **names = calloc(cap, sizeof *names), **tzs = calloc(cap, sizeof *tzs);
    const char **since = calloc(cap, sizeof *since), **until = calloc(cap, sizeof *until);
    char(*since_text)[11] = calloc(cap, sizeof *since_text);
    int32_t *since_days = calloc(cap, sizeof *since_days);
    int rc = -1;
    aggregator_row_t *rows = NULL;
    aggregator_seq_t *seqs = NULL;
    size_t nrows = 0, nseqs = 0;
    if (!list || !names || !tzs || !since || !until || !since_text || !since_days)
        goto done;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants))
        if (t->mine && !t->poisoned && (full || t->needs_rebuild)) {
            if (n == cap)
                break;
            list[n] = t;
            names[n] = t->name;
            tzs[n] = t->tz.tz;
            since_days[n] = aggregator_tz_month_start(&t->tz, now, self->config.rebuild_months - 1);
            fc_date_format(since_days[n], since_text[n]);
            since[n] = since_text[n];
            n++;
        }
    if (!n && !full) {
        rc = 0;
        goto done;
    }
    aggregator_span_t span = {names, tzs, since, until, (int)n};
    PGconn *pg = s_pg(self);
    if (!pg || aggregator_pg_snapshot(pg, &span, true, &rows, &nrows, &seqs, &nseqs) != 0) {
        s_pg_failed(self);
        goto done;
    }
    if (s_redis(self) != 0)
        goto done;
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        size_t first = r;
        while (r < nrows && rows[r].tenant == (int)i)
            r++;
        if (s_rows_overflow(rows + first, r - first)) {
            s_poison(self, list[i], "its sums in postgres");
            list[i]->needs_rebuild = false;
            continue;
        }
        int count = 0;
        if (s_write_tenant(self, list[i], since_days[i], rows + first, r - first, seqs, nseqs,
                           &count) != 0 ||
            s_replies(self, count) != 0) {
            list[i]->needs_rebuild = true;
            goto done;
        }
        //  Every day the snapshot holds is published again, not only today: events
        //  stored while Redis was empty reached it through the snapshot, not the stream,
        //  and a consumer would otherwise never see a closed day's corrected total.
        int32_t today = aggregator_tz_day(&list[i]->tz, now)->days;
        s_mark_dirty(list[i], today);
        for (size_t k = first; k < r; k++) {
            int64_t dn;
            if ((k == first || strcmp(rows[k - 1].day, rows[k].day) != 0) &&
                fc_date_parse(rows[k].day, &dn) == 0)
                s_mark(list[i]->dirty, &list[i]->ndirty, (int32_t)dn);
        }
    }
    if (full) {
        int count = 0;
        int wrc = s_append(self, &count, "DEL fc:agg:%s:progress", self->shard_tag);
        for (size_t i = 0; i < nseqs; i++) {
            ingest_t *in = s_ingest(self, seqs[i].id);
            if (!in)
                goto done;
            in->progress = seqs[i].seq;
            in->persisted = seqs[i].seq;
            //  The run that committed the snapshot's seq; an unknown one (committed
            //  before runs) leaves what the stream told us.
            if (seqs[i].epoch)
                in->epoch = seqs[i].epoch;
            in->persisted_epoch = in->epoch;
            wrc |= s_append(self, &count, "HSET fc:agg:%s:progress %s %llu epoch:%s %llu",
                            self->shard_tag, seqs[i].id, (unsigned long long)seqs[i].seq,
                            seqs[i].id, (unsigned long long)in->epoch);
        }
        wrc |= s_append(self, &count, "SET fc:agg:%s:ready %lld", self->shard_tag, (long long)now);
        if (wrc != 0 || s_replies(self, count) != 0)
            goto done;
        self->rebuild_needed = false;
        self->tenant_rebuild_pending = false;
        self->progress_loaded = true;
        fc_metric_add(self->m_rebuilds, 1);
    } else
        fc_metric_add(self->m_tenant_rebuilds, (int64_t)n);
    fc_info(MODULE, "%s rebuilt from postgres: %zu tenants, %zu rows, %zu ingest seqs, %.0f ms",
            full ? "shard" : "tenants", n, nrows, nseqs,
            (double)(fc_time_mono_us() - started) / 1000);
    rc = 0;
done:
    if (rc != 0)
        fc_warn(MODULE, "rebuild failed: will retry");
    free(list);
    free(names);
    free(tzs);
    free(since);
    free(until);
    free(since_text);
    free(since_days);
    free(rows);
    free(seqs);
    return rc;
}

//  --- summaries and rollups ------------------------------------------------------------

//  Publishes the summary of one tenant-day on sum.<tenant>. 0, or -1.
/*  Grants the subscriptions waiting on the PUB socket. A subscriber that has just
    (re)connected, to an aggregator that has just restarted say, missed the summaries
    published before its subscription arrived; for today the periodic republish catches
    it up, for a closed day nothing would. So every closed day summarised since start
    is published again (paced like any dirty day). */
static void s_grant(aggregator_t *self)
{
    if (fc_curve_pub_process(fc_service_curve(), self->pub) == 0)
        return;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants))
        for (int i = 0; i < t->nsent; i++)
            s_mark(t->dirty, &t->ndirty, t->sent[i]);
}

static int s_publish(aggregator_t *self, tenant_t *t, int32_t day, bool closed)
{
    if (s_redis(self) != 0)
        return -1;
    char D[11], M[8];
    fc_date_format(day, D);
    snprintf(M, sizeof M, "%.7s", D);
    const char *T = t->name;
    char k[10][256];
    static const char *suffix[4] = {"", ":agents", ":tasks", ":taskcost"};
    for (int i = 0; i < 4; i++) {
        snprintf(k[i], sizeof k[i], "fc:{%s}:day:%s%s", T, D, suffix[i]);
        snprintf(k[4 + i], sizeof k[4 + i], "fc:{%s}:month:%s%s", T, M, suffix[i]);
    }
    snprintf(k[8], sizeof k[8], "fc:{%s}:applied", T);
    snprintf(k[9], sizeof k[9], "fc:{%s}:rev", T);
    redisReply *r = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        r = aggregator_redis_command(self->redis, "EVALSHA %s 10 %s %s %s %s %s %s %s %s %s %s %d",
                                     aggregator_redis_summary_sha(self->redis), k[0], k[1], k[2],
                                     k[3], k[4], k[5], k[6], k[7], k[8], k[9], self->config.top);
        if (!r || r->type != REDIS_REPLY_ERROR || strncmp(r->str, "NOSCRIPT", 8) != 0)
            break;
        freeReplyObject(r);
        r = NULL;
        aggregator_redis_load_scripts(self->redis);
    }
    if (!r) {
        fc_metric_add(self->m_redis_errors, 1);
        return -1;
    }
    int rc = -1;
    if (r->type == REDIS_REPLY_NIL) {
        //  Not initialised: Redis lost it; the sentinel check will notice and rebuild.
        rc = 0;
    } else {
        aggregator_summary_t s = {T, t->tz.tz, D, M, closed, fc_time_now_us(), self->config.top};
        size_t size;
        int64_t rev;
        uint8_t *body = aggregator_summary_encode(&s, r, &size, &rev);
        if (body) {
            s_grant(self);
            fc_curve_publish(self->pub, "sum", T, body, size);
            if (closed)
                s_mark(t->sent, &t->nsent, day);
            free(body);
            fc_metric_add(self->m_summaries, 1);
            rc = 0;
        } else
            fc_error(MODULE, "summary of '%s' %s: unexpected script reply", T, D);
    }
    freeReplyObject(r);
    return rc;
}

//  The closed-day state of a local day: 0 open, 1 closed within the grace period,
//  2 closed and past it (final).
static int s_day_state(aggregator_t *self, tenant_t *t, int32_t day, int64_t now)
{
    const aggregator_day_t *today = aggregator_tz_day(&t->tz, now);
    if (day >= today->days)
        return 0;
    if (day < today->days - 1)
        return 2;
    int64_t closed_at = today->start_us ? today->start_us : now;
    return now - closed_at >= (int64_t)self->config.final_grace_s * 1000000 ? 2 : 1;
}

/*  Upserts a tenant-day into cost_summaries. While the day is open (or within its
    grace period) the rows come from the Redis day hash: the total row complete,
    breakdown rows with cost_nusd only. Once final they come from Postgres' own sums
    (every column of every row), computed once per closed day and again only if a late
    event changes it. */
//  The final-rollup worker: takes jobs in order, computes the day's sums from events
//  and upserts them as final on its own connection; a failed job is retried after a
//  pause (Postgres down), the rest wait behind it.
static void *s_final_worker(void *arg)
{
    aggregator_t *self = arg;
    PGconn *pg = NULL;
    pthread_mutex_lock(&self->final_mutex);
    while (!self->final_stop) {
        if (!self->final_count) {
            pthread_cond_wait(&self->final_cond, &self->final_mutex);
            continue;
        }
        s_final_job_t job = self->final_jobs[0];
        pthread_mutex_unlock(&self->final_mutex);
        if (!pg || PQstatus(pg) != CONNECTION_OK) {
            if (pg)
                PQfinish(pg);
            pg = fc_pg_connect(self->pg_url, MODULE);
        }
        const char *names[1] = {job.tenant}, *tzs[1] = {job.tz}, *d[1] = {job.day};
        aggregator_span_t span = {names, tzs, d, d, 1};
        aggregator_row_t *rows = NULL;
        aggregator_seq_t *seqs = NULL;
        size_t nrows = 0, nseqs = 0;
        bool ok = pg &&
                  aggregator_pg_snapshot(pg, &span, false, &rows, &nrows, &seqs, &nseqs) == 0 &&
                  aggregator_pg_rollup(pg, job.tenant, job.day, true, rows, nrows) == 0;
        free(rows);
        free(seqs);
        fc_metric_add(ok ? self->m_rollups : self->m_pg_errors, 1);
        pthread_mutex_lock(&self->final_mutex);
        if (ok) {
            memmove(&self->final_jobs[0], &self->final_jobs[1],
                    (size_t)(self->final_count - 1) * sizeof self->final_jobs[0]);
            self->final_count--;
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 2;
            pthread_cond_timedwait(&self->final_cond, &self->final_mutex, &until);
        }
    }
    pthread_mutex_unlock(&self->final_mutex);
    if (pg)
        PQfinish(pg);
    return NULL;
}

static int s_rollup(aggregator_t *self, tenant_t *t, int32_t day)
{
    int64_t now = fc_time_now_us();
    bool final = s_day_state(self, t, day, now) == 2;
    if (!final && self->rollup_inflight)
        return 2; //  the previous in-day upsert is still running: next tick
    char D[11];
    fc_date_format(day, D);
    aggregator_row_t *rows = NULL;
    size_t nrows = 0;
    if (final) {
        //  Handed to the final-rollup worker (a full queue retries next round).
        pthread_mutex_lock(&self->final_mutex);
        bool queued = self->final_count < MAX_FINAL_JOBS;
        if (queued) {
            s_final_job_t *j = &self->final_jobs[self->final_count++];
            snprintf(j->tenant, sizeof j->tenant, "%s", t->name);
            snprintf(j->tz, sizeof j->tz, "%s", t->tz.tz);
            memcpy(j->day, D, sizeof j->day);
            pthread_cond_signal(&self->final_cond);
        }
        pthread_mutex_unlock(&self->final_mutex);
        return queued ? 0 : -1;
    } else {
        if (s_redis(self) != 0)
            return -1;
        redisReply *h = aggregator_redis_command(self->redis, "HGETALL fc:{%s}:day:%s", t->name, D);
        redisReply *tc =
            h ? aggregator_redis_command(self->redis, "HGETALL fc:{%s}:day:%s:taskcost", t->name, D)
              : NULL;
        if (!h || !tc || h->type != REDIS_REPLY_ARRAY || tc->type != REDIS_REPLY_ARRAY) {
            if (h)
                freeReplyObject(h);
            if (tc)
                freeReplyObject(tc);
            return -1;
        }
        rows = calloc(h->elements / 2 + tc->elements / 2 + 1, sizeof *rows);
        if (rows && h->elements) {
            aggregator_row_t *total = &rows[nrows++];
            for (int k = 0; k < AGGREGATOR_TOTALS; k++)
                total->v[k] = aggregator_hash_int(h, aggregator_total_fields[k]);
            for (size_t i = 0; i + 1 < h->elements; i += 2) {
                const char *f = h->element[i]->str;
                const char *colon = strchr(f, ':');
                for (int d = 0; colon && d < AGGREGATOR_DIMS; d++)
                    if (strlen(aggregator_dims[d]) == (size_t)(colon - f) &&
                        strncmp(f, aggregator_dims[d], (size_t)(colon - f)) == 0) {
                        aggregator_row_t *row = &rows[nrows++];
                        row->dim = (aggregator_dim_t)(AGGREGATOR_DIM_AGENT_TYPE + d);
                        snprintf(row->key, sizeof row->key, "%s", colon + 1);
                        row->v[0] = strtoll(h->element[i + 1]->str, NULL, 10);
                    }
            }
            for (size_t i = 0; i + 1 < tc->elements; i += 2) {
                aggregator_row_t *row = &rows[nrows++];
                row->dim = AGGREGATOR_DIM_TASK;
                snprintf(row->key, sizeof row->key, "%s", tc->element[i]->str);
                row->v[0] = strtoll(tc->element[i + 1]->str, NULL, 10);
            }
        }
        freeReplyObject(h);
        freeReplyObject(tc);
        if (!rows)
            return -1;
    }
    int rc;
    {
        if (!self->rollup_pg || PQstatus(self->rollup_pg) != CONNECTION_OK) {
            if (self->rollup_pg)
                PQfinish(self->rollup_pg);
            self->rollup_pg = fc_pg_connect(self->pg_url, MODULE);
        }
        rc = self->rollup_pg
                 ? aggregator_pg_rollup_send(self->rollup_pg, t->name, D, false, rows, nrows)
                 : -1;
        if (rc == 0) {
            self->rollup_inflight = true;
            snprintf(self->inflight_tenant, sizeof self->inflight_tenant, "%s", t->name);
            self->inflight_day = day;
        } else if (rc == 1)
            rc = 0; //  nothing to write
        else
            fc_metric_add(self->m_pg_errors, 1);
    }
    free(rows);
    return rc;
}

//  Collects the result of the in-day rollup in flight, if it has finished; a failed one
//  is marked for the next round.
static void s_rollup_poll(aggregator_t *self)
{
    if (!self->rollup_inflight)
        return;
    int rc = aggregator_pg_rollup_poll(self->rollup_pg);
    if (rc == 1)
        return;
    self->rollup_inflight = false;
    if (rc == 0) {
        fc_metric_add(self->m_rollups, 1);
        return;
    }
    fc_metric_add(self->m_pg_errors, 1);
    tenant_t *t = zhash_lookup(self->tenants, self->inflight_tenant);
    if (t)
        s_mark(t->roll, &t->nroll, self->inflight_day);
    if (PQstatus(self->rollup_pg) != CONNECTION_OK) {
        PQfinish(self->rollup_pg);
        self->rollup_pg = NULL;
    }
}

//  --- housekeeping -----------------------------------------------------------------

static void s_load_progress(aggregator_t *self)
{
    if (s_redis(self) != 0)
        return;
    redisReply *r =
        aggregator_redis_command(self->redis, "HGETALL fc:agg:%s:progress", self->shard_tag);
    if (!r)
        return;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            const char *field = r->element[i]->str;
            bool is_epoch = strncmp(field, "epoch:", 6) == 0;
            ingest_t *in = s_ingest(self, is_epoch ? field + 6 : field);
            uint64_t v = strtoull(r->element[i + 1]->str, NULL, 10);
            if (in && is_epoch)
                in->epoch = in->persisted_epoch = v;
            else if (in && v > in->progress)
                in->progress = in->persisted = v;
        }
        self->progress_loaded = true;
        fc_info(MODULE, "shard %s: progress of %zu ingests loaded from redis", self->shard_tag,
                zhash_size(self->ingests));
    }
    freeReplyObject(r);
}

static void s_every_second(aggregator_t *self, int64_t now_mono)
{
    //  The sentinel: absent means Redis is new, flushed or lost this shard's keys.
    if (!self->rebuild_needed && s_redis(self) == 0) {
        redisReply *r =
            aggregator_redis_command(self->redis, "EXISTS fc:agg:%s:ready", self->shard_tag);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
            fc_warn(MODULE,
                    "shard %s sentinel missing (redis empty or flushed): rebuilding "
                    "from postgres before publishing",
                    self->shard_tag);
            self->rebuild_needed = true;
        } else if (r && r->type == REDIS_REPLY_INTEGER && !self->progress_loaded)
            s_load_progress(self);
        if (r)
            freeReplyObject(r);
    }
    if (self->rebuild_needed) {
        s_rebuild(self, true);
        return;
    }
    if (!self->progress_loaded)
        return;
    //  Silent ingests are suspect; suspect ones are polled in Postgres (the stream may be
    //  cut while the ingest still commits).
    int nsuspect = 0;
    for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests)) {
        if (!in->suspect &&
            now_mono - in->last_hb_us > (int64_t)self->config.heartbeat_timeout_ms * 1000) {
            fc_warn(MODULE, "ingest '%s' silent for %d ms: polling postgres for its seqs", in->id,
                    self->config.heartbeat_timeout_ms);
            in->suspect = true;
        }
        if (in->suspect) {
            nsuspect++;
            uint64_t max = 0;
            PGconn *pg = s_pg(self);
            if (!pg || aggregator_pg_max_seq(pg, in->id, &max) != 0)
                s_pg_failed(self);
            else if (max < in->progress) {
                //  Postgres committed less than we handled: the seq went back while the
                //  ingest was silent (a restore), or a sender without runs restarted
                //  below progress. Postgres' last seq is where its history continues:
                //  the same re-synchronisation as for a run beginning there.
                fc_metric_add(self->m_regressions, 1);
                fc_warn(MODULE,
                        "ingest '%s': postgres has seqs up to %" PRIu64 " but %" PRIu64
                        " were handled: seq went back; re-synchronising its tenants",
                        in->id, max, in->progress);
                if (s_resync(self, in, in->epoch, max) != 0)
                    fc_warn(MODULE, "ingest '%s': re-synchronisation failed: will retry", in->id);
            } else
                s_catch_up(self, in, max);
        }
    }
    fc_metric_set(self->m_suspect, nsuspect);
    if (s_flush(self) != 0)
        return;
    int count = 0;
    for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests))
        if ((in->progress != in->persisted || in->epoch != in->persisted_epoch) &&
            s_append(self, &count, "HSET fc:agg:%s:progress %s %llu epoch:%s %llu", self->shard_tag,
                     in->id, (unsigned long long)in->progress, in->id,
                     (unsigned long long)in->epoch) == 0) {
            in->persisted = in->progress;
            in->persisted_epoch = in->epoch;
        }
    if (count)
        s_replies(self, count);
}

static void s_tick(aggregator_t *self)
{
    int64_t mono = fc_time_mono_us(), now = fc_time_now_us();
    if (mono < self->next_tick_us)
        return;
    self->next_tick_us = mono + TICK_US;
    if (mono >= self->next_tenants_us) {
        self->next_tenants_us = mono + TENANTS_RELOAD;
        s_load_tenants(self);
    }
    if (mono >= self->next_second_us) {
        self->next_second_us = mono + SECOND_US;
        s_every_second(self, mono);
    }
    if (self->tenant_rebuild_pending && !self->rebuild_needed) {
        self->tenant_rebuild_pending = false;
        redisReply *r =
            aggregator_redis_command(self->redis, "EXISTS fc:agg:%s:ready", self->shard_tag);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
            self->rebuild_needed = true;
        else if (s_rebuild(self, false) != 0)
            self->tenant_rebuild_pending = true;
        if (r)
            freeReplyObject(r);
    }
    if (self->rebuild_needed || !self->progress_loaded)
        return;
    //  Rollups are Postgres round trips: a round of them (every rollup_ms) is spread
    //  over ticks, ROLLUPS_PER_TICK at a time, so the stream is never held up for long.
    if (!self->rolling && mono >= self->next_rollup_us) {
        self->rolling = true;
        self->next_rollup_us = mono + (int64_t)self->config.rollup_ms * 1000;
    }
    s_rollup_poll(self);
    int rollup_budget = ROLLUPS_PER_TICK;
    bool rolled_all = true;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants)) {
        if (!t->mine || t->needs_rebuild || t->poisoned)
            continue;
        int32_t today = aggregator_tz_day(&t->tz, now)->days;
        if (t->today < 0) {
            //  Started: yesterday's final rollup is (re)done once its grace has passed.
            t->final_day = today - 1;
            t->final_due_us = now;
        } else if (today > t->today) {
            //  The day closed: one summary now, the final rollup after the grace.
            fc_debug(MODULE, "tenant '%s': day %d closed", t->name, (int)t->today);
            s_publish(self, t, t->today, true);
            s_mark(t->roll, &t->nroll, t->today);
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
            s_mark(t->dirty, &t->ndirty, today);
        }
        if (t->ndirty && mono - t->last_pub_us >= (int64_t)self->config.interval_ms * 1000) {
            //  Per tenant per interval: today if it changed (live totals), and the oldest
            //  other changed day (late events, billing corrections), so that neither
            //  waits behind the other after a rebuild marks a window of days.
            int32_t pick[2];
            int npick = 0;
            bool today_dirty = false;
            for (int i = 0; i < t->ndirty; i++) {
                if (t->dirty[i] == today)
                    today_dirty = true;
                else if (npick == 0 || t->dirty[i] < pick[0])
                    pick[0] = t->dirty[i], npick = 1;
            }
            if (today_dirty)
                pick[npick++] = today;
            for (int i = 0; i < npick; i++)
                if (s_publish(self, t, pick[i], pick[i] < today) == 0) {
                    s_unmark(t->dirty, &t->ndirty, pick[i]);
                    t->last_pub_us = mono;
                }
        }
        if (t->final_day >= 0 && now >= t->final_due_us &&
            s_day_state(self, t, t->final_day, now) == 2) {
            s_mark(t->roll, &t->nroll, t->final_day);
            t->final_day = -1;
        }
        while (self->rolling && t->nroll && rollup_budget > 0) {
            int rc = s_rollup(self, t, t->roll[t->nroll - 1]);
            if (rc == 2) {
                rollup_budget = 0; //  one in-day upsert at a time
                break;
            }
            if (rc != 0) {
                self->rolling = false; //  Postgres trouble: the next round retries
                break;
            }
            t->nroll--;
            rollup_budget--;
        }
        if (t->nroll)
            rolled_all = false;
    }
    if (rolled_all)
        self->rolling = false;
}

//  --- life cycle ---------------------------------------------------------------------

aggregator_t *aggregator_new(const aggregator_config_t *config)
{
    aggregator_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    snprintf(self->shard_tag, sizeof self->shard_tag, "%d-%d", config->shard, config->shards);
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
    self->metrics = fc_metrics_new("fleetcost_aggregator");
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
    if (config->metrics_port && fc_metrics_serve(m, config->metrics_bind, config->metrics_port)) {
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
    self->final_running = pthread_create(&self->final_thread, NULL, s_final_worker, self) == 0;
    if (!self->final_running) {
        aggregator_destroy(&self);
        return NULL;
    }
    fc_info(MODULE, "shard %d/%d subscribed to %s, publishing on %s, metrics on :%d", config->shard,
            config->shards, config->ingest_pub, config->bind, config->metrics_port);
    return self;
}

int aggregator_run(aggregator_t *self)
{
    s_load_tenants(self);
    self->next_tenants_us = fc_time_mono_us() + TENANTS_RELOAD;
    while (!fc_signal_stopping()) {
        zpoller_wait(self->poller, TICK_US / 1000);
        if (zpoller_terminated(self->poller) && fc_signal_stopping())
            break;
        //  While Redis is down the stream is left in the socket (up to its high-water
        //  mark; what overflows is caught up from Postgres later).
        if (self->npending && s_flush(self) != 0) {
            zclock_sleep(200);
            continue;
        }
        s_grant(self);
        s_read_stream(self);
        s_tick(self);
    }
    s_flush(self);
    return 0;
}

void aggregator_destroy(aggregator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregator_t *self = *self_p;
    if (self->final_running) {
        pthread_mutex_lock(&self->final_mutex);
        self->final_stop = true;
        pthread_cond_broadcast(&self->final_cond);
        pthread_mutex_unlock(&self->final_mutex);
        pthread_join(self->final_thread, NULL);
    }
    pthread_mutex_destroy(&self->final_mutex);
    pthread_cond_destroy(&self->final_cond);
    zpoller_destroy(&self->poller);
    zsock_destroy(&self->sub);
    zsock_destroy(&self->pub);
    fc_metrics_destroy(&self->metrics);
    for (int i = 0; i < self->npending; i++)
        s_pending_free(&self->pending[i]);
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
