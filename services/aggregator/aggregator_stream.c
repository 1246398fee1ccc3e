/*  aggregator_stream: the ingest event streams and what the aggregator knows of each
    ingest — the highest seq handled (progress) and the run it belongs to.

    Why a file of its own: this is where every message gets its order. Per ingest_id
    messages are applied in seq order, because the apply script's markers skip a seq at
    or below the last one applied. A seq jump, a heartbeat ahead of progress or a silent
    ingest is repaired from Postgres by (ingest_id, seq) before newer messages apply; a
    seq that went back (a new run below progress, or Postgres behind it) re-synchronises
    the tenants concerned (PROTOCOL.md §11); a new Redis connection takes progress back
    to what that server holds (a failover lost a suffix of the applies). */
#include "aggregator_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_time.h"

ingest_t *aggregator_ingest(aggregator_t *self, const char *id)
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

//  Reads the shard's progress hash into the ingests: fields <ingest_id> (progress) and
//  epoch:<ingest_id> (its run). rewind: every ingest's progress becomes what the hash
//  says (absent: 0); else progress only grows. -1 if the reply is not a hash.
static int s_read_progress(aggregator_t *self, const redisReply *r, bool rewind)
{
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return -1;
    if (rewind)
        for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests))
            in->progress = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const char *field = r->element[i]->str;
        bool is_epoch = strncmp(field, "epoch:", 6) == 0;
        ingest_t *in = aggregator_ingest(self, is_epoch ? field + 6 : field);
        uint64_t v = strtoull(r->element[i + 1]->str, NULL, 10);
        if (!in)
            continue;
        if (is_epoch)
            in->epoch = in->persisted_epoch = v;
        else if (rewind || v > in->progress)
            in->progress = in->persisted = v;
    }
    return 0;
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
    aggregator_drop_pending(self);
    //  Not abandoned here: this may run inside a rebuild's slice (through a flush).
    if (self->job.active)
        self->job.abandon = true;
    redisReply *ready = aggregator_redis_command(self->redis, "EXISTS %s", self->key_ready);
    redisReply *r = ready && ready->type == REDIS_REPLY_INTEGER && ready->integer == 1
                        ? aggregator_redis_command(self->redis, "HGETALL %s", self->key_progress)
                        : NULL;
    int rc = -1;
    if (ready && ready->type == REDIS_REPLY_INTEGER && ready->integer == 0) {
        fc_warn(MODULE, "redis reconnected to a server without shard %s: rebuilding",
                self->shard_tag);
        self->rebuild_needed = true;
        rc = 0;
    } else if (s_read_progress(self, r, true) == 0) {
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
int aggregator_redis(aggregator_t *self)
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
    if (aggregator_apply(c->self, seq, c->ingest->id, tenant, events, n) != 0)
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
    if (fc_time_mono_us() < in->retry_us || aggregator_flush(self) != 0)
        return -1;
    PGconn *pg = aggregator_pg(self);
    uint64_t from = in->progress;
    catchup_ctx_t ctx = {self, in};
    if (!pg ||
        aggregator_pg_catchup(pg, in->id, from, to, self->catchup, s_catchup_message, &ctx) != 0) {
        aggregator_pg_failed(self);
        in->retry_us = fc_time_mono_us() + SECOND_US;
        fc_warn(MODULE, "catch-up of '%s' after seq %" PRIu64 " failed: will retry", in->id,
                in->progress);
        return -1;
    }
    in->progress = to;
    fc_info(MODULE, "ingest '%s': caught up seqs %" PRIu64 "..%" PRIu64 " from postgres", in->id,
            from + 1, to);
    aggregator_flush(self);
    return 0;
}

//  Writes an ingest's progress and run to Redis in one HSET, so a restart never finds
//  the new run recorded beside the old run's progress. 0, or -1 (retried each second).
static int s_persist_progress(aggregator_t *self, ingest_t *in)
{
    int count = 0;
    if (aggregator_redis(self) != 0 ||
        aggregator_append_progress(self, &count, in->id, in->progress, in->epoch) != 0 ||
        aggregator_replies(self, count) != 0)
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
    //  A rebuild under way catches its tenants up to progress, which is about to go
    //  back: its tenants are rebuilt again instead.
    aggregator_rebuild_abort(self);
    if (aggregator_flush(self) != 0 || aggregator_redis(self) != 0)
        return -1;
    size_t cap = zhash_size(self->tenants), n = 0;
    tenant_t **list = calloc(cap + 1, sizeof *list);
    if (!list)
        return -1;
    int count = 0, rc = 0;
    for (tenant_t *t = zhash_first(self->tenants); t && n < cap; t = zhash_next(self->tenants))
        if (t->mine) {
            list[n++] = t;
            {
                char key[AGGREGATOR_KEY_MAX];
                aggregator_key_applied(key, t->name);
                rc |= aggregator_append(self, &count, "HGET %s %s", key, in->id);
            }
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
    if (affected && aggregator_rebuild(self) != 0)
        return -1;
    fc_metric_add(self->m_resync_tenants, affected);
    in->progress = base;
    in->epoch = epoch;
    in->pg_epoch = 0;
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
    //  A poll may have caught up this run's first commits before its first message came
    //  (a restart while the ingest was suspect): then progress is above base, and what
    //  counts is progress before that catch-up.
    uint64_t floor = epoch == in->pg_epoch ? in->pg_base : in->progress;
    if (base >= floor) {
        fc_info(MODULE,
                "ingest '%s': run %" PRIu64 " begins after seq %" PRIu64 " (handled up to %" PRIu64
                "%s)",
                in->id, epoch, base, floor,
                floor < in->progress ? "; its seqs since caught up from postgres" : "");
        in->epoch = epoch;
        in->pg_epoch = 0;
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
    ingest_t *in = aggregator_ingest(self, h.ingest_id);
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
    if (aggregator_apply(self, h.seq, h.ingest_id, h.tenant, self->events, n) == 0)
        in->progress = h.seq;
}

static void s_on_heartbeat(aggregator_t *self, zframe_t *body)
{
    fc_heartbeat_t hb;
    fc_proto_error_t err;
    if (fc_heartbeat_decode(zframe_data(body), zframe_size(body), &hb, &err) != FC_OK)
        return;
    ingest_t *in = aggregator_ingest(self, hb.ingest_id);
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

void aggregator_read_stream(aggregator_t *self)
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
    aggregator_flush(self);
}

void aggregator_load_progress(aggregator_t *self)
{
    if (aggregator_redis(self) != 0)
        return;
    redisReply *r = aggregator_redis_command(self->redis, "HGETALL %s", self->key_progress);
    if (!r)
        return;
    if (s_read_progress(self, r, false) == 0) {
        self->progress_loaded = true;
        fc_info(MODULE, "shard %s: progress of %zu ingests loaded from redis", self->shard_tag,
                zhash_size(self->ingests));
    }
    freeReplyObject(r);
}

/*  Once a second: silent ingests become suspect; suspect ones are polled in Postgres
    (the stream may be cut while the ingest still commits) and caught up, or
    re-synchronised if Postgres is behind progress; then changed progress is written to
    Redis, after the applies it counts. */
void aggregator_check_ingests(aggregator_t *self, int64_t now_mono)
{
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
            uint64_t max = 0, epoch = 0, before = in->progress;
            PGconn *pg = aggregator_pg(self);
            if (!pg || aggregator_pg_max_seq(pg, in->id, &max, &epoch) != 0)
                aggregator_pg_failed(self);
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
            } else if (s_catch_up(self, in, max) == 0 && max > before && epoch &&
                       epoch != in->epoch && epoch != in->pg_epoch) {
                //  another run committed these: s_run_ok checks it when it speaks
                in->pg_epoch = epoch;
                in->pg_base = before;
            }
        }
    }
    fc_metric_set(self->m_suspect, nsuspect);
    if (aggregator_flush(self) != 0)
        return;
    int count = 0;
    for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests))
        if ((in->progress != in->persisted || in->epoch != in->persisted_epoch) &&
            aggregator_append_progress(self, &count, in->id, in->progress, in->epoch) == 0) {
            in->persisted = in->progress;
            in->persisted_epoch = in->epoch;
        }
    if (count)
        aggregator_replies(self, count);
}
