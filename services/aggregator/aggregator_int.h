/*  aggregator_int: the state the aggregator's files share, private to them.

    aggregator.c holds the loop and life cycle; the other files each own one
    responsibility and reach the shared state through aggregator_t:
        aggregator_stream.c   stream messages, per-ingest progress, runs and
                              regressions, gap repair from Postgres, Redis rewinds
        aggregator_apply.c    one message -> one apply-script call, the pipeline
        aggregator_rebuild.c  tenants (or the shard) rewritten from a Postgres snapshot
        aggregator_publish.c  sum.<tenant> summaries
        aggregator_rollup.c   cost_summaries upserts and the final-rollup worker thread
    Everything here runs on the loop thread, except what aggregator_rollup.c marks as
    the worker's (the job queue under final_mutex). */
#ifndef AGGREGATOR_INT_H
#define AGGREGATOR_INT_H

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "aggregator.h"
#include "aggregator_keys.h"
#include "aggregator_map.h"
#include "aggregator_pg.h"
#include "aggregator_redis.h"
#include "aggregator_tz.h"
#include "fc_buf.h"
#include "fc_metrics.h"
#include "fc_stream.h"

#define MODULE "aggregator"

#define MAX_DIRTY        128  //  dirty days remembered per tenant (a rebuild window fits)
#define MAX_MSG_DAYS     64   //  local days one stream message may touch
#define PIPELINE_MAX     256  //  script calls in flight before replies are read
#define DRAIN_MAX        1024 //  stream messages read before the pipeline is flushed
#define TICK_US          100000
#define ROLLUPS_PER_TICK 2
#define MAX_FINAL_JOBS   4096 //  final rollups waiting for the worker
#define SECOND_US        1000000
#define TENANTS_RELOAD   (30 * SECOND_US)
#define APPLIED_KEEP_S   (400 * 86400)
#define SENT_KEEP_DAYS   70 //  closed days re-sent to a new subscriber (the day keys' life)

//  A closed tenant-day whose final rollup the worker thread computes.
typedef struct {
    char tenant[FC_MAX_TENANT + 1];
    char tz[AGGREGATOR_TZ_MAX];
    char day[11];
} final_job_t;

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
    //  In a rebuild under way: its messages are not applied meanwhile (they are caught
    //  up from Postgres once its snapshot is written), it is not summarised.
    bool held;
    bool catching; //  written, its messages since the snapshot being caught up
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
    //  A run other than epoch that a poll caught up from Postgres before any of its
    //  messages came (0: none), and progress before that catch-up: its first message
    //  is a restart when its base is at or above pg_base (s_run_ok).
    uint64_t pg_epoch, pg_base;
} ingest_t;

//  One script call waiting for its reply.
typedef struct {
    char *cmd; //  formatted (redisFormatCommandArgv)
    int len;
    tenant_t *tenant;
    int32_t days[MAX_MSG_DAYS];
    int ndays;
} pending_t;

//  The tenants a rebuild covers, with their zones and first local dates.
typedef struct {
    size_t n;
    tenant_t **list;
    const char **names, **tzs, **since, **until;
    char (*since_text)[11];
    int32_t *since_days;
} rebuild_set_t;

//  A stream message of a held tenant, kept to be applied once the tenant is written.
typedef struct {
    tenant_t *tenant;
    uint64_t seq;
    char ingest_id[FC_MAX_INGEST_ID + 1];
    fc_stored_event_t *events; //  its cost entries (malloc'd)
    size_t n;
} held_msg_t;

//  A rebuild that does not stop the stream (aggregator_rebuild.c): the snapshot's sums
//  run on a connection of their own while the loop goes on, then the tenants are
//  written a slice at a time between stream messages.
typedef struct {
    PGconn *pg;
    bool active, querying;
    bool abandon; //  progress went back under it (a Redis rewind): abandoned at the next step
    bool full;    //  the whole shard: the sentinel is set when it is done
    rebuild_set_t set;
    //  The snapshot's rows are read as they arrive and written a tenant at a time: rows
    //  holds those of tenants `next` up to (not including) `complete`, whose rows have
    //  all arrived; pending is the first row of tenant `complete`, not yet taken in.
    aggregator_rows_t rows;
    size_t row;      //  the first row of tenant `next` in rows
    size_t complete; //  tenants below it have all their rows (set.n once the query is done)
    size_t nrows;    //  rows read so far
    size_t rolls;    //  days marked for a rollup (missing or different in cost_summaries)
    PGresult *pending;
    aggregator_seq_t *seqs;
    size_t nseqs;
    size_t next; //  the next tenant of the set to write
    int64_t started_us;
    int64_t retry_us;      //  Redis was down: no slice before this
    int64_t redis_lost_us; //  when Redis went down under this rebuild (0: up)
    //  The held tenants' messages, in the order they were to be applied, up to
    //  HELD_MAX_BYTES; past it (overflow) they are caught up from Postgres instead.
    held_msg_t *held;
    size_t nheld, held_cap, held_bytes;
    bool held_overflow;
} rebuild_job_t;

//  The increments of one message for one local day.
typedef struct {
    aggregator_day_t copy;
    aggregator_map_t *fields, *agents, *tasks;
} msg_day_t;

struct _aggregator_t {
    aggregator_config_t config;
    char shard_tag[32]; //  "<i>-<N>"
    char key_ready[AGGREGATOR_KEY_MAX], key_progress[AGGREGATOR_KEY_MAX];
    char key_rebuilding[AGGREGATOR_KEY_MAX];
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
    final_job_t final_jobs[MAX_FINAL_JOBS];
    int final_count;
    //  Set every rollup round: the worker then brings the open days' exact groups up to
    //  date (aggregator_pg_open_refresh), after the final jobs queued before it.
    bool open_due;
    char inflight_tenant[FC_MAX_TENANT + 1];
    int32_t inflight_day;
    char *pg_url;
    zhash_t *tenants; //  name -> tenant_t
    zhash_t *ingests; //  id -> ingest_t
    bool rebuild_needed;
    bool tenant_rebuild_pending;
    rebuild_job_t job;
    int64_t stall_max_us; //  the longest loop iteration so far
    bool progress_loaded;
    uint64_t redis_connects; //  aggregator_redis_connects when last looked at
    uint64_t rewinds;        //  aggregator_redis_rewind calls that took progress back
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
        *m_rewinds, *m_stall, *m_rebuild_ms;
    int npoisoned;
};

//  --- aggregator.c: Postgres, tenants, day sets ---
//  The loop's Postgres connection (made if needed), and what to do when it failed.
PGconn *aggregator_pg(aggregator_t *self);
void aggregator_pg_failed(aggregator_t *self);
//  Every tenant from Postgres. 0, or -1.
int aggregator_load_tenants(aggregator_t *self);
//  The tenant, loaded from Postgres if new. NULL if Postgres cannot say.
tenant_t *aggregator_tenant(aggregator_t *self, const char *name);
//  Day sets of a tenant (dirty, roll, sent): add once / remove.
void aggregator_mark(int32_t *set, int *n, int32_t day);
void aggregator_unmark(int32_t *set, int *n, int32_t day);
//  A day changed: to be summarised and rolled up.
void aggregator_mark_dirty(tenant_t *t, int32_t day);

//  --- aggregator_stream.c ---
ingest_t *aggregator_ingest(aggregator_t *self, const char *id);
//  The Redis connection, made if needed; a new one rewinds progress to what it holds.
int aggregator_redis(aggregator_t *self);
//  Drains the SUB socket (DRAIN_MAX messages at most), then flushes the pipeline.
void aggregator_read_stream(aggregator_t *self);
//  Progress from Redis at start.
void aggregator_load_progress(aggregator_t *self);
//  Polls suspect ingests in Postgres and persists progress (once a second).
void aggregator_check_ingests(aggregator_t *self, int64_t now_mono);

//  --- aggregator_apply.c ---
//  Queues the apply-script call of one stream message. 0 dealt with, -1 retry later.
int aggregator_apply(aggregator_t *self, uint64_t seq, const char *ingest_id,
                     const char *tenant_name, const fc_stored_event_t *events, size_t n);
//  Sends the pending script calls and reads their replies. 0, or -1 (Redis down).
int aggregator_flush(aggregator_t *self);
//  Drops the pending calls unsent (a rewind: the catch-up sends them again).
void aggregator_drop_pending(aggregator_t *self);
//  Freezes a tenant whose totals would pass the int64 limit.
void aggregator_poison(aggregator_t *self, tenant_t *t, const char *why);
//  Pipelining of plain commands: append one (printf-style, counted), read count replies.
int aggregator_append(aggregator_t *self, int *count, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int aggregator_replies(aggregator_t *self, int count);
//  Appends the HSET of an ingest's progress and run to the shard's progress hash.
int aggregator_append_progress(aggregator_t *self, int *count, const char *id, uint64_t progress,
                               uint64_t epoch);

//  --- aggregator_rebuild.c ---
//  Rebuilds the tenants marked needs_rebuild now, from one snapshot, before anything
//  else (a re-synchronisation needs it done before it moves progress). 0, or -1.
int aggregator_rebuild(aggregator_t *self);
//  Begins a rebuild that does not stop the stream: the whole shard (full), or the
//  tenants marked needs_rebuild. 0, or -1 (retried).
int aggregator_rebuild_begin(aggregator_t *self, bool full);
//  Advances the rebuild under way (polls its query, writes a slice of tenants), or
//  begins one for tenants marked needs_rebuild. Called every loop iteration.
void aggregator_rebuild_step(aggregator_t *self);
//  Keeps a stream message of a held tenant for when it is written. 0 (always: a
//  message not kept is caught up from Postgres instead).
int aggregator_rebuild_hold(aggregator_t *self, tenant_t *t, uint64_t seq, const char *ingest_id,
                            const fc_stored_event_t *events, size_t n);
//  Abandons the rebuild under way: its tenants are marked needs_rebuild again (a full
//  one: the shard is rebuilt again). Before anything that moves progress back.
void aggregator_rebuild_abort(aggregator_t *self);

//  --- aggregator_publish.c ---
//  Grants waiting subscriptions (and re-sends closed days to them).
void aggregator_grant(aggregator_t *self);
//  Publishes the summary of one tenant-day. 0, or -1.
int aggregator_publish(aggregator_t *self, tenant_t *t, int32_t day, bool closed);
//  Publishes the due summaries of one tenant (today and one other changed day).
void aggregator_publish_due(aggregator_t *self, tenant_t *t, int32_t today, int64_t mono);

//  --- aggregator_rollup.c ---
int aggregator_rollup_start(aggregator_t *self);
void aggregator_rollup_stop(aggregator_t *self);
//  0 open, 1 closed within the grace period, 2 final.
int aggregator_day_state(aggregator_t *self, tenant_t *t, int32_t day, int64_t now);
//  Per tick: starts a round of rollups when due (every rollup_ms), collects the
//  in-day upsert in flight; then per tenant the rollups due, within a budget of
//  ROLLUPS_PER_TICK; true when the tenant has none left in this round.
void aggregator_rollup_begin(aggregator_t *self, int64_t mono);
bool aggregator_rollup_tenant(aggregator_t *self, tenant_t *t, int64_t now, int *budget);

#endif
