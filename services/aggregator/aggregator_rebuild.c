/*  aggregator_rebuild: tenants rewritten in Redis from one Postgres snapshot.

    Why a file of its own: a rebuild is the one writer of Redis besides the apply
    script, and the two must agree on every key and field (aggregator_keys names the
    keys for both). A tenant is rebuilt when the apply script finds it uninitialised or
    fails on it, when an ingest's seq went back (aggregator_stream.c), and the whole
    shard when its sentinel is gone (Redis empty or flushed). The snapshot's sums and
    per-ingest seqs are read in one REPEATABLE READ transaction, so the markers written
    with the sums say exactly which messages they include: later messages apply on top,
    earlier ones are skipped. */
#include "aggregator_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_pg.h"
#include "fc_time.h"

//  Appends the DEL of the four keys of a period.
static int s_del_period(aggregator_t *self, int *count, const char *tenant, bool month,
                        const char *period)
{
    char keys[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX];
    aggregator_keys_period_set(keys, tenant, month, period);
    int rc = 0;
    for (int p = 0; p < AGGREGATOR_PARTS; p++)
        rc |= aggregator_append(self, count, "DEL %s", keys[p]);
    return rc;
}

//  Appends the writes of one snapshot row to its day and to its month.
static int s_write_row(aggregator_t *self, int *count, const char *tenant,
                       const aggregator_row_t *r, const char *month)
{
    int rc = 0;
    for (int p = 0; p < 2; p++) {
        char keys[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX];
        aggregator_keys_period_set(keys, tenant, p == 1, p ? month : r->day);
        const char *hash = keys[AGGREGATOR_PART_HASH];
        if (r->dim == AGGREGATOR_DIM_PRICE) {
            continue; //  a Postgres-only rollup (aggregator_pg.h)
        } else if (r->dim == AGGREGATOR_DIM_TOTAL) {
            for (int k = 0; k < AGGREGATOR_TOTALS; k++)
                rc |= aggregator_append(self, count, "HINCRBY %s %s %lld", hash,
                                        aggregator_total_fields[k], (long long)r->v[k]);
        } else if (r->dim == AGGREGATOR_DIM_TASK) {
            if (!*r->key)
                continue;
            rc |= aggregator_append(self, count, "HINCRBY %s %s %lld",
                                    keys[AGGREGATOR_PART_TASKCOST], r->key, (long long)r->v[0]);
            rc |= aggregator_append(self, count, "ZINCRBY %s %lld %s", keys[AGGREGATOR_PART_TASKS],
                                    (long long)r->v[0], r->key);
        } else {
            char field[FC_MAX_ID + 32];
            snprintf(field, sizeof field, "%s:%s", aggregator_dim_names[r->dim], r->key);
            rc |= aggregator_append(self, count, "HINCRBY %s %s %lld", hash, field,
                                    (long long)r->v[0]);
            if (r->dim == AGGREGATOR_DIM_AGENT && *r->key)
                rc |= aggregator_append(self, count, "SADD %s %s", keys[AGGREGATOR_PART_AGENTS],
                                        r->key);
        }
    }
    return rc;
}

//  Appends the expiry of a day's and its month's keys (once they exist: EXPIREAT on a
//  missing key does nothing).
static int s_expire_day(aggregator_t *self, int *count, const char *tenant, const char *day,
                        int64_t dn, const char *month)
{
    int64_t day_exp = (dn + 2) * 86400 + AGGREGATOR_DAY_KEEP_S;
    int64_t month_exp = (dn + 33) * 86400 + AGGREGATOR_MONTH_KEEP_S;
    char dk[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX], mk[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX];
    aggregator_keys_period_set(dk, tenant, false, day);
    aggregator_keys_period_set(mk, tenant, true, month);
    int rc = 0;
    for (int p = 0; p < AGGREGATOR_PARTS; p++) {
        rc |= aggregator_append(self, count, "EXPIREAT %s %lld", dk[p], (long long)day_exp);
        rc |= aggregator_append(self, count, "EXPIREAT %s %lld", mk[p], (long long)month_exp);
    }
    return rc;
}

//  Appends the applied markers (the snapshot's seqs, "_init", "_ts") and the revision
//  floor of a rebuilt tenant.
static int s_write_markers(aggregator_t *self, int *count, const char *tenant,
                           const aggregator_row_t *rows, size_t nrows, const aggregator_seq_t *seqs,
                           size_t nseqs)
{
    char applied[AGGREGATOR_KEY_MAX], rev[AGGREGATOR_KEY_MAX];
    aggregator_key_applied(applied, tenant);
    aggregator_key_rev(rev, tenant);
    int64_t now_us = fc_time_now_us();
    int rc = aggregator_append(self, count, "DEL %s", applied);
    rc |= aggregator_append(self, count, "HSET %s _init %lld", applied, (long long)now_us);
    int64_t newest = 0;
    for (size_t i = 0; i < nrows; i++)
        newest = rows[i].newest_us > newest ? rows[i].newest_us : newest;
    rc |= aggregator_append(self, count, "HSET %s _ts %lld", applied, (long long)newest);
    for (size_t i = 0; i < nseqs && rc == 0; i++)
        rc |= aggregator_append(self, count, "HSET %s %s %llu", applied, seqs[i].id,
                                (unsigned long long)seqs[i].seq);
    rc |= aggregator_append(self, count, "EXPIREAT %s %lld", applied,
                            (long long)(now_us / 1000000 + APPLIED_KEEP_S));
    //  Revisions stay increasing across a flush: a lost counter restarts at the time in
    //  microseconds, above any count of summaries since the previous floor.
    rc |= aggregator_append(self, count, "SET %s %lld NX", rev, (long long)now_us);
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
    const char *T = t->name;
    int32_t today = aggregator_tz_day(&t->tz, fc_time_now_us())->days;
    int rc = aggregator_append(self, count, "MULTI");
    char day[11], month[8] = "";
    for (int32_t d = since; d <= today + 1 && rc == 0; d++) {
        fc_date_format(d, day);
        rc |= s_del_period(self, count, T, false, day);
        if (strncmp(day, month, 7) != 0) {
            snprintf(month, sizeof month, "%.7s", day);
            rc |= s_del_period(self, count, T, true, month);
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
            rc |= s_del_period(self, count, T, false, r->day);
            if (strcmp(m, month) > 0) {
                snprintf(month, sizeof month, "%s", m);
                rc |= s_del_period(self, count, T, true, m);
            }
        }
        rc |= s_write_row(self, count, T, r, m);
        bool last = i + 1 == nrows || strcmp(rows[i + 1].day, r->day) != 0;
        if (last)
            rc |= s_expire_day(self, count, T, r->day, dn, m);
    }
    rc |= s_write_markers(self, count, T, rows, nrows, seqs, nseqs);
    rc |= aggregator_append(self, count, "EXEC");
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

//  Marks every day a tenant's snapshot holds for a summary, today included, and for a
//  rollup each day whose final rollup is missing or differs from the snapshot: events
//  stored while Redis was empty reached it through the snapshot, not the stream, so
//  neither a consumer nor cost_summaries would otherwise see a closed day's corrected
//  total (it_rebuild_rollup). A closed day's rollup is a final job for the worker,
//  which reads that tenant-day's events again (a scan of the day: events have no index
//  by tenant), so the days already rolled up right are left alone. Returns how many
//  days were marked for a rollup.
static size_t s_mark_rebuilt(tenant_t *t, int64_t now, const aggregator_row_t *rows, size_t n)
{
    size_t rolls = 0;
    aggregator_mark_dirty(t, aggregator_tz_day(&t->tz, now)->days);
    for (size_t k = 0; k < n; k++) {
        int64_t dn;
        if (rows[k].dim != AGGREGATOR_DIM_TOTAL || fc_date_parse(rows[k].day, &dn) != 0)
            continue;
        if (rows[k].rolled)
            aggregator_mark(t->dirty, &t->ndirty, (int32_t)dn);
        else {
            aggregator_mark_dirty(t, (int32_t)dn);
            rolls++;
        }
    }
    return rolls;
}

//  Sets the shard's progress to a snapshot's seqs, in memory and in Redis, in the
//  transaction the caller opened. The run that committed a seq is kept; an unknown one
//  (committed before runs) leaves what the stream told us.
static int s_progress_from(aggregator_t *self, int *count, const aggregator_seq_t *seqs,
                           size_t nseqs)
{
    int rc = aggregator_append(self, count, "DEL %s", self->key_progress);
    for (size_t i = 0; i < nseqs; i++) {
        ingest_t *in = aggregator_ingest(self, seqs[i].id);
        if (!in)
            return -1;
        in->progress = seqs[i].seq;
        in->persisted = seqs[i].seq;
        if (seqs[i].epoch)
            in->epoch = seqs[i].epoch;
        in->persisted_epoch = in->epoch;
        rc |= aggregator_append_progress(self, count, seqs[i].id, seqs[i].seq, in->epoch);
    }
    return rc;
}

static void s_set_free(rebuild_set_t *s)
{
    free(s->list);
    free(s->names);
    free(s->tzs);
    free(s->since);
    free(s->until);
    free(s->since_text);
    free(s->since_days);
    *s = (rebuild_set_t){0};
}

//  Collects the shard's tenants (full) or those marked needs_rebuild. 0, or -1 (OOM).
static int s_set_collect(aggregator_t *self, bool full, int64_t now, rebuild_set_t *s)
{
    size_t cap = zhash_size(self->tenants) + 1;
    *s = (rebuild_set_t){0};
    s->list = calloc(cap, sizeof *s->list);
    s->names = calloc(cap, sizeof *s->names);
    s->tzs = calloc(cap, sizeof *s->tzs);
    s->since = calloc(cap, sizeof *s->since);
    s->until = calloc(cap, sizeof *s->until);
    s->since_text = calloc(cap, sizeof *s->since_text);
    s->since_days = calloc(cap, sizeof *s->since_days);
    if (!s->list || !s->names || !s->tzs || !s->since || !s->until || !s->since_text ||
        !s->since_days)
        return -1;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants))
        if (t->mine && !t->poisoned && (full || t->needs_rebuild)) {
            if (s->n == cap)
                break;
            size_t n = s->n++;
            s->list[n] = t;
            s->names[n] = t->name;
            s->tzs[n] = t->tz.tz;
            s->since_days[n] =
                aggregator_tz_month_start(&t->tz, now, self->config.rebuild_months - 1);
            fc_date_format(s->since_days[n], s->since_text[n]);
            s->since[n] = s->since_text[n];
        }
    return 0;
}

/*  Writes one tenant of a snapshot (its rows from rows[*row] on, the set's index i)
    and marks its days for summaries; a tenant whose sums would overflow is frozen
    instead. 0, or -1 (Redis failed: the tenant is marked needs_rebuild). */
static int s_write_one(aggregator_t *self, const rebuild_set_t *set, size_t i,
                       const aggregator_row_t *rows, size_t nrows, size_t *row,
                       const aggregator_seq_t *seqs, size_t nseqs, int64_t now, size_t *rolls)
{
    size_t first = *row, r = *row;
    while (r < nrows && rows[r].tenant == (int)i)
        r++;
    *row = r;
    tenant_t *t = set->list[i];
    if (s_rows_overflow(rows + first, r - first)) {
        aggregator_poison(self, t, "its sums in postgres");
        t->needs_rebuild = false;
        return 0;
    }
    int count = 0;
    if (s_write_tenant(self, t, set->since_days[i], rows + first, r - first, seqs, nseqs, &count) !=
            0 ||
        aggregator_replies(self, count) != 0) {
        t->needs_rebuild = true;
        return -1;
    }
    *rolls += s_mark_rebuilt(t, now, rows + first, r - first);
    return 0;
}

/*  Rebuilds the marked tenants from one snapshot, synchronously: nothing else is in
    flight, stream messages wait in the SUB queue (or are lost and caught up later).
    A re-synchronisation uses it: it must be done before progress moves. */
int aggregator_rebuild(aggregator_t *self)
{
    if (aggregator_flush(self) != 0)
        return -1;
    int64_t started = fc_time_mono_us(), now = fc_time_now_us();
    rebuild_set_t set;
    int rc = -1;
    aggregator_rows_t rows = {0};
    aggregator_seq_t *seqs = NULL;
    size_t nseqs = 0;
    if (s_set_collect(self, false, now, &set) != 0)
        goto done;
    if (!set.n) {
        rc = 0;
        goto done;
    }
    aggregator_span_t span = {set.names, set.tzs, set.since, set.until, (int)set.n};
    PGconn *pg = aggregator_pg(self);
    if (!pg || aggregator_pg_snapshot(pg, &span, true, &rows, &seqs, &nseqs) != 0) {
        aggregator_pg_failed(self);
        goto done;
    }
    if (aggregator_redis(self) != 0)
        goto done;
    size_t r = 0, rolls = 0;
    for (size_t i = 0; i < set.n; i++)
        if (s_write_one(self, &set, i, rows.rows, rows.n, &r, seqs, nseqs, now, &rolls) != 0)
            goto done;
    fc_metric_add(self->m_tenant_rebuilds, (int64_t)set.n);
    fc_info(MODULE,
            "tenants rebuilt from postgres: %zu tenants, %zu rows, %zu ingest seqs, %.0f ms, "
            "days to roll up: %zu",
            set.n, rows.n, nseqs, (double)(fc_time_mono_us() - started) / 1000, rolls);
    rc = 0;
done:
    if (rc != 0)
        fc_warn(MODULE, "rebuild failed: will retry");
    s_set_free(&set);
    aggregator_rows_free(&rows);
    free(seqs);
    return rc;
}

/*  --- rebuilds that do not stop the stream ------------------------------------------

    A rebuild used to stop everything for its whole length: one snapshot of the
    shard's window (a scan of every tenant's events of two months: events have no
    index by tenant), then every tenant written, before the loop read the stream
    again. With a year of 100 tenants that is seconds during which no tenant's
    totals moved, and a single tenant's rebuild costs the same scan.

    Now the snapshot's sums run on a connection of their own while the loop goes on,
    and the tenants are written as their rows arrive (read a row at a time, in tenant
    order: only the rows of a tenant or so are in memory, not the shard's, 106 MB of
    peak for a year of 100 tenants before), REBUILD_SLICE_US at a time between stream
    messages. What keeps it exact:
    - The tenants of the snapshot are held: their stream messages are kept in memory,
      in the order they were to be applied, instead of being applied (they count as
      handled, so progress moves on). Every other tenant applies and is summarised as
      usual.
    - The snapshot's seqs S are read in its REPEATABLE READ transaction: the sums hold
      exactly the messages up to S, and a tenant is written with S as its markers.
    - Right after a slice of tenants is written, the messages kept for them are
      applied through the apply script, in order (the markers skip what the snapshot
      holds); then they are released. Stream messages after progress apply on top, in
      seq order. Past HELD_MAX_BYTES of kept messages, they are caught up from Postgres
      instead, (S, progress] of every ingest for those tenants only: exact too, but a
      range read by seq (measured on a year of events: tens of seconds, JIT included),
      which is why memory comes first.
    - A full rebuild sets progress to S when it begins (progress only moves forward
      from a snapshot: every message handled before was committed before it) and
      the sentinel once every tenant is written; fc:agg:<shard>:rebuilding marks the
      run, so a Redis flushed again meanwhile is noticed and the shard starts over,
      and an aggregator killed meanwhile finds no sentinel and starts over too.
    - Anything that moves progress back (a Redis rewind, a re-synchronisation)
      abandons the rebuild first: its tenants are marked needs_rebuild again.
    - Redis down for REBUILD_REDIS_WAIT_US while the snapshot is still being read
      abandons it too: its transaction would otherwise stay open in Postgres (holding
      back vacuum of every table) for as long as Redis is away. It starts again, from a
      new snapshot, once Redis answers. */

#define REBUILD_SLICE_US      20000              //  tenants written per loop iteration: this long
#define HELD_MAX_BYTES        (64 * 1024 * 1024) //  held tenants' messages kept in memory
#define REBUILD_REDIS_WAIT_US 10000000           //  Redis down this long: the snapshot is let go

//  Drops the kept messages of tenants no longer held (from first on).
static void s_held_prune(rebuild_job_t *j)
{
    size_t k = 0;
    for (size_t i = 0; i < j->nheld; i++) {
        if (j->held[i].tenant->held) {
            j->held[k++] = j->held[i];
            continue;
        }
        j->held_bytes -= j->held[i].n * sizeof *j->held[i].events;
        free(j->held[i].events);
    }
    j->nheld = k;
}

int aggregator_rebuild_hold(aggregator_t *self, tenant_t *t, uint64_t seq, const char *ingest_id,
                            const fc_stored_event_t *events, size_t n)
{
    rebuild_job_t *j = &self->job;
    size_t cost = 0;
    for (size_t i = 0; i < n; i++)
        cost += events[i].type == FC_EV_USAGE || events[i].type == FC_EV_COST;
    if (j->held_overflow)
        return 0;
    if (j->held_bytes + cost * sizeof *events > HELD_MAX_BYTES) {
        fc_warn(MODULE,
                "rebuild: over %d MiB of held messages: they will be caught up from "
                "postgres instead",
                HELD_MAX_BYTES >> 20);
        j->held_overflow = true;
        return 0;
    }
    if (j->nheld == j->held_cap) {
        size_t cap = j->held_cap ? 2 * j->held_cap : 256;
        held_msg_t *grown = realloc(j->held, cap * sizeof *grown);
        if (!grown) {
            j->held_overflow = true;
            return 0;
        }
        j->held = grown;
        j->held_cap = cap;
    }
    held_msg_t *m = &j->held[j->nheld];
    *m = (held_msg_t){.tenant = t, .seq = seq};
    snprintf(m->ingest_id, sizeof m->ingest_id, "%s", ingest_id);
    m->events = malloc((cost ? cost : 1) * sizeof *events);
    if (!m->events) {
        j->held_overflow = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (events[i].type == FC_EV_USAGE || events[i].type == FC_EV_COST)
            m->events[m->n++] = events[i];
    j->held_bytes += cost * sizeof *events;
    j->nheld++;
    return 0;
}

static void s_job_free(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    for (size_t i = 0; i < j->nheld; i++)
        free(j->held[i].events);
    free(j->held);
    j->held = NULL;
    j->nheld = j->held_cap = j->held_bytes = 0;
    j->held_overflow = false;
    s_set_free(&j->set);
    aggregator_rows_free(&j->rows);
    if (j->pending)
        PQclear(j->pending);
    j->pending = NULL;
    free(j->seqs);
    j->seqs = NULL;
    j->nrows = j->nseqs = j->row = j->next = j->complete = j->rolls = 0;
    j->retry_us = j->redis_lost_us = 0;
    j->active = j->querying = j->full = j->abandon = false;
}

void aggregator_rebuild_abort(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    if (!j->active)
        return;
    if (j->querying && j->pg) {
        //  The query may run for seconds: cancel it rather than wait for it.
        PGcancel *cancel = PQgetCancel(j->pg);
        char err[256];
        if (cancel) {
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
        }
        PQfinish(j->pg);
        j->pg = NULL;
    }
    for (size_t i = j->next; i < j->set.n; i++) {
        tenant_t *t = j->set.list[i];
        t->held = t->catching = false;
        if (!t->poisoned)
            t->needs_rebuild = true;
    }
    self->tenant_rebuild_pending = true;
    if (j->full)
        self->rebuild_needed = true;
    fc_warn(MODULE, "rebuild under way abandoned (%zu of %zu tenants written): will start again",
            j->next, j->set.n);
    s_job_free(self);
}

int aggregator_rebuild_begin(aggregator_t *self, bool full)
{
    rebuild_job_t *j = &self->job;
    if (j->active && !full)
        return 0;
    aggregator_rebuild_abort(self);
    //  Redis first: a snapshot begun with Redis down would only be cancelled again.
    if (aggregator_flush(self) != 0 || aggregator_redis(self) != 0 ||
        (full && aggregator_load_tenants(self) != 0))
        return -1;
    int64_t now = fc_time_now_us();
    int collected = s_set_collect(self, full, now, &j->set);
    if (collected != 0 || (!j->set.n && !full)) {
        s_set_free(&j->set);
        return collected;
    }
    if (!j->pg || PQstatus(j->pg) != CONNECTION_OK) {
        if (j->pg)
            PQfinish(j->pg);
        j->pg = fc_pg_connect(self->pg_url, MODULE);
    }
    aggregator_span_t span = {j->set.names, j->set.tzs, j->set.since, j->set.until, (int)j->set.n};
    if (!j->pg || aggregator_pg_snapshot_send(j->pg, &span, &j->seqs, &j->nseqs) != 0) {
        fc_metric_add(self->m_pg_errors, 1);
        s_job_free(self);
        return -1;
    }
    j->active = j->querying = true;
    j->full = full;
    j->started_us = fc_time_mono_us();
    for (size_t i = 0; i < j->set.n; i++) {
        j->set.list[i]->held = true;
        j->set.list[i]->needs_rebuild = false;
    }
    if (full) {
        int count = 0;
        int rc = aggregator_redis(self) != 0 ? -1 : aggregator_append(self, &count, "MULTI");
        rc |= s_progress_from(self, &count, j->seqs, j->nseqs);
        rc |= aggregator_append(self, &count, "SET %s %lld", self->key_rebuilding, (long long)now);
        rc |= aggregator_append(self, &count, "EXEC");
        if (rc != 0 || aggregator_replies(self, count) != 0) {
            aggregator_redis_reset(self->redis); //  nothing half-sent stays on it
            aggregator_rebuild_abort(self);
            return -1;
        }
        self->rebuild_needed = false;
        self->progress_loaded = true;
    }
    fc_info(MODULE, "%s rebuild from postgres begun: %zu tenants, the stream goes on",
            full ? "shard" : "tenant", j->set.n);
    return 0;
}

typedef struct {
    aggregator_t *self;
    const char *ingest_id;
} s_held_ctx_t;

//  Catch-up of the tenants just written: their messages only.
static int s_held_message(void *arg, uint64_t seq, const char *tenant,
                          const fc_stored_event_t *events, size_t n)
{
    s_held_ctx_t *c = arg;
    tenant_t *t = zhash_lookup(c->self->tenants, tenant);
    if (!t || !t->catching)
        return 0;
    return aggregator_apply(c->self, seq, c->ingest_id, tenant, events, n);
}

//  The snapshot's seq of an ingest (0: it had committed nothing then).
static uint64_t s_snapshot_seq(const rebuild_job_t *j, const char *ingest_id)
{
    for (size_t i = 0; i < j->nseqs; i++)
        if (strcmp(j->seqs[i].id, ingest_id) == 0)
            return j->seqs[i].seq;
    return 0;
}

/*  Applies to the tenants marked catching what they were held for: every ingest's
    messages after the snapshot up to progress, from Postgres. 0, or -1 (Postgres or
    Redis failed: the caller marks them for another rebuild). */
static int s_catch_up_held(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    for (ingest_t *in = zhash_first(self->ingests); in; in = zhash_next(self->ingests)) {
        uint64_t from = s_snapshot_seq(j, in->id);
        if (in->progress <= from)
            continue;
        s_held_ctx_t ctx = {self, in->id};
        PGconn *pg = aggregator_pg(self);
        if (!pg || aggregator_pg_catchup(pg, in->id, from, in->progress, self->catchup,
                                         s_held_message, &ctx) != 0) {
            aggregator_pg_failed(self);
            return -1;
        }
    }
    return aggregator_flush(self);
}

//  Applies the kept messages of the tenants marked catching, in the order they came.
static int s_replay_held(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    for (size_t i = 0; i < j->nheld; i++) {
        held_msg_t *m = &j->held[i];
        if (m->tenant->catching &&
            aggregator_apply(self, m->seq, m->ingest_id, m->tenant->name, m->events, m->n) != 0)
            return -1;
    }
    return aggregator_flush(self);
}

//  Every tenant written: a full rebuild sets the sentinel, unless Redis lost the run's
//  marker meanwhile (flushed again: the shard starts over).
static void s_job_done(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    double ms = (double)(fc_time_mono_us() - j->started_us) / 1000;
    fc_metric_set(self->m_rebuild_ms, (int64_t)ms);
    if (j->full) {
        redisReply *r = aggregator_redis_command(self->redis, "EXISTS %s", self->key_rebuilding);
        bool kept = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        if (r)
            freeReplyObject(r);
        int count = 0;
        int rc = kept ? aggregator_append(self, &count, "MULTI") : -1;
        rc |= aggregator_append(self, &count, "SET %s %lld", self->key_ready,
                                (long long)fc_time_now_us());
        rc |= aggregator_append(self, &count, "DEL %s", self->key_rebuilding);
        rc |= aggregator_append(self, &count, "EXEC");
        if (rc != 0 || aggregator_replies(self, count) != 0) {
            fc_warn(MODULE, "shard %s: redis lost the rebuild under way: rebuilding again",
                    self->shard_tag);
            self->rebuild_needed = true;
            s_job_free(self);
            return;
        }
        fc_metric_add(self->m_rebuilds, 1);
    } else
        fc_metric_add(self->m_tenant_rebuilds, (int64_t)j->set.n);
    fc_info(MODULE,
            "%s rebuilt from postgres: %zu tenants, %zu rows, %zu ingest seqs, %.0f ms (the "
            "stream went on meanwhile), days to roll up: %zu",
            j->full ? "shard" : "tenants", j->set.n, j->nrows, j->nseqs, ms, j->rolls);
    s_job_free(self);
}

/*  Takes in the snapshot's rows as they arrive, until tenant `next` has all of its
    rows (complete > next), no more rows have arrived, or the query is done. Rows are
    taken only once those taken before are written: meanwhile Postgres waits on the
    socket, so at most the rows of a tenant or so are in memory, never the shard's.
    Returns at `until` (monotonic µs) too. 0, or -1 (the query failed, logged). */
static int s_read_rows(aggregator_t *self, int64_t until)
{
    rebuild_job_t *j = &self->job;
    while (j->querying && j->complete <= j->next && fc_time_mono_us() < until) {
        if (j->pending) {
            //  Every tenant before the pending row's is written: the rows start again.
            aggregator_rows_reset(&j->rows);
            j->row = 0;
            int taken = aggregator_pg_snapshot_take(j->pending, &j->rows);
            PQclear(j->pending);
            j->pending = NULL;
            if (taken != 0) {
                fc_error(MODULE, "rebuild snapshot: out of memory");
                return -1; //  still querying: the abort cancels the query
            }
        }
        PGresult *r;
        int got = aggregator_pg_snapshot_row(j->pg, &r);
        if (got == 0)
            return 0;
        if (got < 0) {
            j->querying = false;
            return -1;
        }
        if (got == 2) {
            j->querying = false;
            j->complete = j->set.n;
            fc_info(MODULE, "rebuild snapshot read: %zu rows in %.0f ms", j->nrows,
                    (double)(fc_time_mono_us() - j->started_us) / 1000);
            return 0;
        }
        j->nrows++;
        int tenant = aggregator_pg_snapshot_tenant(r);
        if (tenant < (int)j->complete || tenant >= (int)j->set.n) {
            fc_error(MODULE, "rebuild snapshot: a row of tenant %d out of order", tenant);
            PQclear(r);
            return -1;
        }
        if (tenant > (int)j->complete) {
            j->complete = (size_t)tenant; //  the tenants before it have all their rows
            j->pending = r;
            continue;
        }
        int taken = aggregator_pg_snapshot_take(r, &j->rows);
        PQclear(r);
        if (taken != 0) {
            fc_error(MODULE, "rebuild snapshot: out of memory");
            return -1;
        }
    }
    return 0;
}

//  Writes the tenants of the snapshot whose rows have arrived, for REBUILD_SLICE_US at
//  most, catches them up and releases them.
static void s_write_slice(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    int64_t until = fc_time_mono_us() + REBUILD_SLICE_US, now = fc_time_now_us();
    bool pg_failed = s_read_rows(self, until) != 0;
    //  (once the query is done, complete is set.n: a set of no tenants is done at once)
    bool waiting = j->querying && j->next >= j->complete;
    if (!pg_failed && (waiting || fc_time_mono_us() < j->retry_us))
        return; //  waiting for Postgres' rows, or for Redis
    if (!pg_failed && (aggregator_flush(self) != 0 || aggregator_redis(self) != 0)) {
        int64_t mono = fc_time_mono_us();
        if (!j->redis_lost_us)
            j->redis_lost_us = mono;
        if (j->querying && mono - j->redis_lost_us >= REBUILD_REDIS_WAIT_US) {
            fc_warn(MODULE, "redis down for %d s during a rebuild: its postgres snapshot let go",
                    REBUILD_REDIS_WAIT_US / 1000000);
            aggregator_rebuild_abort(self);
            return;
        }
        j->retry_us = mono + 200000; //  Redis down: not in a busy loop
        return;
    }
    j->redis_lost_us = 0;
    size_t first = j->next;
    int rc = 0;
    while (!pg_failed && rc == 0 && j->next < j->complete &&
           (j->next == first || fc_time_mono_us() < until)) {
        tenant_t *t = j->set.list[j->next];
        rc = s_write_one(self, &j->set, j->next, j->rows.rows, j->rows.n, &j->row, j->seqs,
                         j->nseqs, now, &j->rolls);
        t->held = false;
        t->catching = rc == 0 && !t->poisoned;
        j->next++;
        if (rc == 0 && j->next == j->complete)
            pg_failed = s_read_rows(self, until) != 0; //  more of them within the slice
    }
    if (rc == 0 && j->next > first)
        rc = j->held_overflow ? s_catch_up_held(self) : s_replay_held(self);
    s_held_prune(j); //  the messages of the tenants just released
    for (size_t i = first; i < j->next; i++) {
        tenant_t *t = j->set.list[i];
        if (rc != 0 && !t->poisoned) {
            t->needs_rebuild = true;
            self->tenant_rebuild_pending = true;
        }
        t->catching = false;
    }
    if (pg_failed)
        fc_metric_add(self->m_pg_errors, 1);
    if (rc != 0 || pg_failed) {
        aggregator_rebuild_abort(self);
        return;
    }
    if (j->next == j->set.n)
        s_job_done(self);
}

void aggregator_rebuild_step(aggregator_t *self)
{
    rebuild_job_t *j = &self->job;
    if (j->active && (j->abandon || self->rebuild_needed)) {
        aggregator_rebuild_abort(self);
        return;
    }
    if (!j->active) {
        if (!self->tenant_rebuild_pending || self->rebuild_needed || !self->progress_loaded)
            return;
        self->tenant_rebuild_pending = false;
        redisReply *r = aggregator_redis_command(self->redis, "EXISTS %s", self->key_ready);
        if (r && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
            self->rebuild_needed = true;
        else if (aggregator_rebuild_begin(self, false) != 0)
            self->tenant_rebuild_pending = true;
        if (r)
            freeReplyObject(r);
        return;
    }
    s_write_slice(self);
}
