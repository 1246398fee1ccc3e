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
        if (r->dim == AGGREGATOR_DIM_TOTAL) {
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

//  Marks every day a tenant's snapshot holds for a summary, today included: events
//  stored while Redis was empty reached it through the snapshot, not the stream, and a
//  consumer would otherwise never see a closed day's corrected total.
static void s_mark_rebuilt(tenant_t *t, int64_t now, const aggregator_row_t *rows, size_t n)
{
    aggregator_mark_dirty(t, aggregator_tz_day(&t->tz, now)->days);
    for (size_t k = 0; k < n; k++) {
        int64_t dn;
        if ((k == 0 || strcmp(rows[k - 1].day, rows[k].day) != 0) &&
            fc_date_parse(rows[k].day, &dn) == 0)
            aggregator_mark(t->dirty, &t->ndirty, (int32_t)dn);
    }
}

//  After a full rebuild: the shard's progress becomes the snapshot's seqs, then the
//  sentinel says the shard is built. 0, or -1.
static int s_finish_shard(aggregator_t *self, int64_t now, const aggregator_seq_t *seqs,
                          size_t nseqs)
{
    int count = 0;
    int rc = aggregator_append(self, &count, "DEL %s", self->key_progress);
    for (size_t i = 0; i < nseqs; i++) {
        ingest_t *in = aggregator_ingest(self, seqs[i].id);
        if (!in)
            return -1;
        in->progress = seqs[i].seq;
        in->persisted = seqs[i].seq;
        //  The run that committed the snapshot's seq; an unknown one (committed
        //  before runs) leaves what the stream told us.
        if (seqs[i].epoch)
            in->epoch = seqs[i].epoch;
        in->persisted_epoch = in->epoch;
        rc |= aggregator_append_progress(self, &count, seqs[i].id, seqs[i].seq, in->epoch);
    }
    rc |= aggregator_append(self, &count, "SET %s %lld", self->key_ready, (long long)now);
    if (rc != 0 || aggregator_replies(self, count) != 0)
        return -1;
    self->rebuild_needed = false;
    self->tenant_rebuild_pending = false;
    self->progress_loaded = true;
    fc_metric_add(self->m_rebuilds, 1);
    return 0;
}

//  The tenants a rebuild covers, with their zones and first local dates.
typedef struct {
    size_t n;
    tenant_t **list;
    const char **names, **tzs, **since, **until;
    char (*since_text)[11];
    int32_t *since_days;
} s_rebuild_set_t;

static void s_set_free(s_rebuild_set_t *s)
{
    free(s->list);
    free(s->names);
    free(s->tzs);
    free(s->since);
    free(s->until);
    free(s->since_text);
    free(s->since_days);
}

//  Collects the shard's tenants (full) or those marked needs_rebuild. 0, or -1 (OOM).
static int s_set_collect(aggregator_t *self, bool full, int64_t now, s_rebuild_set_t *s)
{
    size_t cap = zhash_size(self->tenants) + 1;
    *s = (s_rebuild_set_t){0};
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

/*  Rebuilds tenants from Postgres. full: every tenant of the shard, then the shard's
    progress becomes the snapshot's seqs and the sentinel is set. Runs between pipeline
    flushes, so nothing else is in flight; stream messages wait in the SUB queue (or are
    lost and caught up later). Returns 0 or -1 (retried on the next tick). */
int aggregator_rebuild(aggregator_t *self, bool full)
{
    if (aggregator_flush(self) != 0)
        return -1;
    if (full && aggregator_load_tenants(self) != 0)
        return -1;
    int64_t started = fc_time_mono_us(), now = fc_time_now_us();
    s_rebuild_set_t set;
    int rc = -1;
    aggregator_row_t *rows = NULL;
    aggregator_seq_t *seqs = NULL;
    size_t nrows = 0, nseqs = 0;
    if (s_set_collect(self, full, now, &set) != 0)
        goto done;
    if (!set.n && !full) {
        rc = 0;
        goto done;
    }
    aggregator_span_t span = {set.names, set.tzs, set.since, set.until, (int)set.n};
    PGconn *pg = aggregator_pg(self);
    if (!pg || aggregator_pg_snapshot(pg, &span, true, &rows, &nrows, &seqs, &nseqs) != 0) {
        aggregator_pg_failed(self);
        goto done;
    }
    if (aggregator_redis(self) != 0)
        goto done;
    size_t r = 0;
    for (size_t i = 0; i < set.n; i++) {
        size_t first = r;
        while (r < nrows && rows[r].tenant == (int)i)
            r++;
        if (s_rows_overflow(rows + first, r - first)) {
            aggregator_poison(self, set.list[i], "its sums in postgres");
            set.list[i]->needs_rebuild = false;
            continue;
        }
        int count = 0;
        if (s_write_tenant(self, set.list[i], set.since_days[i], rows + first, r - first, seqs,
                           nseqs, &count) != 0 ||
            aggregator_replies(self, count) != 0) {
            set.list[i]->needs_rebuild = true;
            goto done;
        }
        s_mark_rebuilt(set.list[i], now, rows + first, r - first);
    }
    if (full && s_finish_shard(self, now, seqs, nseqs) != 0)
        goto done;
    if (!full)
        fc_metric_add(self->m_tenant_rebuilds, (int64_t)set.n);
    fc_info(MODULE, "%s rebuilt from postgres: %zu tenants, %zu rows, %zu ingest seqs, %.0f ms",
            full ? "shard" : "tenants", set.n, nrows, nseqs,
            (double)(fc_time_mono_us() - started) / 1000);
    rc = 0;
done:
    if (rc != 0)
        fc_warn(MODULE, "rebuild failed: will retry");
    s_set_free(&set);
    free(rows);
    free(seqs);
    return rc;
}
