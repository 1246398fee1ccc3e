/*  aggregator_rollup: tenant-days upserted into cost_summaries, the table reports read
    past the live window.

    Why a file of its own, and a thread: while a day is open (or within its grace
    period) its rows come from the Redis day hash (the total row complete, breakdown
    rows with cost_nusd only), sent without waiting on a connection of their own, one
    in flight. Once final they come from Postgres' own sums over the day's events, a
    query that can take hundreds of milliseconds: a worker thread with its own
    connection runs those, so the stream never waits for one. The worker shares nothing
    with the loop but the job queue under final_mutex; a job carries copies of the
    tenant, zone and day, and the day's local bounds are computed by Postgres, so the
    worker never touches the time-zone code or any tenant_t.

    The same worker, once a rollup round, brings the open days' exact groups up to date
    (cost_open_groups, migrations 0019 and 0021: every figure of every event that arrived
    before the refresh's mark, added incrementally), which is what reports read for open
    days; the
    in-day cost_summaries rows above are the live approximation the dashboard's
    in-day mode lets stand for its day. */
#include "aggregator_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_log.h"
#include "fc_pg.h"
#include "fc_time.h"

int aggregator_day_state(aggregator_t *self, tenant_t *t, int32_t day, int64_t now)
{
    const aggregator_day_t *today = aggregator_tz_day(&t->tz, now);
    if (day >= today->days)
        return 0;
    if (day < today->days - 1)
        return 2;
    int64_t closed_at = today->start_us ? today->start_us : now;
    return now - closed_at >= (int64_t)self->config.final_grace_s * 1000000 ? 2 : 1;
}

//  The final-rollup worker: takes jobs in order, computes the day's sums from events
//  and upserts them as final on its own connection; a failed job is retried after a
//  pause (Postgres down), the rest wait behind it.
static void *s_final_worker(void *arg)
{
    aggregator_t *self = arg;
    PGconn *pg = NULL;
    pthread_mutex_lock(&self->final_mutex);
    while (!self->final_stop) {
        if (!self->final_count && !self->open_due) {
            pthread_cond_wait(&self->final_cond, &self->final_mutex);
            continue;
        }
        bool open = !self->final_count;
        final_job_t job = self->final_jobs[0];
        self->open_due = self->open_due && !open;
        pthread_mutex_unlock(&self->final_mutex);
        if (!pg || PQstatus(pg) != CONNECTION_OK) {
            if (pg)
                PQfinish(pg);
            pg = fc_pg_connect(self->pg_url, MODULE);
        }
        if (open) {
            //  A failure waits for the next round (the refresh is incremental).
            int64_t added = 0;
            bool done = pg && aggregator_pg_open_refresh(pg, &added) == 0;
            fc_metric_add(done ? self->m_rollups : self->m_pg_errors, 1);
            pthread_mutex_lock(&self->final_mutex);
            continue;
        }
        const char *names[1] = {job.tenant}, *tzs[1] = {job.tz}, *d[1] = {job.day};
        aggregator_span_t span = {names, tzs, d, d, 1};
        aggregator_rows_t rows = {0};
        aggregator_seq_t *seqs = NULL;
        size_t nseqs = 0;
        bool ok = pg && aggregator_pg_snapshot(pg, &span, false, &rows, &seqs, &nseqs) == 0 &&
                  aggregator_pg_rollup(pg, job.tenant, job.day, true, rows.rows, rows.n) == 0;
        aggregator_rows_free(&rows);
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

int aggregator_rollup_start(aggregator_t *self)
{
    self->final_running = pthread_create(&self->final_thread, NULL, s_final_worker, self) == 0;
    return self->final_running ? 0 : -1;
}

void aggregator_rollup_stop(aggregator_t *self)
{
    if (!self->final_running)
        return;
    pthread_mutex_lock(&self->final_mutex);
    self->final_stop = true;
    pthread_cond_broadcast(&self->final_cond);
    pthread_mutex_unlock(&self->final_mutex);
    pthread_join(self->final_thread, NULL);
    self->final_running = false;
}

//  Hands a final tenant-day to the worker. 0, or -1 (queue full: next round).
static int s_queue_final(aggregator_t *self, tenant_t *t, const char *day)
{
    pthread_mutex_lock(&self->final_mutex);
    bool queued = self->final_count < MAX_FINAL_JOBS;
    if (queued) {
        final_job_t *j = &self->final_jobs[self->final_count++];
        snprintf(j->tenant, sizeof j->tenant, "%s", t->name);
        snprintf(j->tz, sizeof j->tz, "%s", t->tz.tz);
        snprintf(j->day, sizeof j->day, "%s", day);
        pthread_cond_signal(&self->final_cond);
    }
    pthread_mutex_unlock(&self->final_mutex);
    return queued ? 0 : -1;
}

//  An open day's rows from its Redis day hash and taskcost hash, into rows: the total
//  row, one row per breakdown field (cost only), one per task. 0, or -1 (Redis failed
//  or OOM).
static int s_rows_from_redis(aggregator_t *self, tenant_t *t, const char *day,
                             aggregator_rows_t *rows)
{
    char hash[AGGREGATOR_KEY_MAX], taskcost[AGGREGATOR_KEY_MAX];
    aggregator_key_period(hash, t->name, false, day, AGGREGATOR_PART_HASH);
    aggregator_key_period(taskcost, t->name, false, day, AGGREGATOR_PART_TASKCOST);
    redisReply *h = aggregator_redis_command(self->redis, "HGETALL %s", hash);
    redisReply *tc = h ? aggregator_redis_command(self->redis, "HGETALL %s", taskcost) : NULL;
    bool ok = h && tc && h->type == REDIS_REPLY_ARRAY && tc->type == REDIS_REPLY_ARRAY;
    if (ok && h->elements) {
        aggregator_row_t *total = aggregator_rows_add(rows, "", 0);
        ok = total != NULL;
        for (int k = 0; ok && k < AGGREGATOR_TOTALS; k++)
            total->v[k] = aggregator_hash_int(h, aggregator_total_fields[k]);
        for (size_t i = 0; ok && i + 1 < h->elements; i += 2) {
            const char *f = h->element[i]->str;
            const char *colon = strchr(f, ':');
            for (int d = 0; ok && colon && d < AGGREGATOR_DIMS; d++)
                if (strlen(aggregator_dims[d]) == (size_t)(colon - f) &&
                    strncmp(f, aggregator_dims[d], (size_t)(colon - f)) == 0) {
                    aggregator_row_t *row = aggregator_rows_add(rows, colon + 1, strlen(colon + 1));
                    ok = row != NULL;
                    if (!ok)
                        break;
                    row->dim = (aggregator_dim_t)(AGGREGATOR_DIM_AGENT_TYPE + d);
                    row->v[0] = strtoll(h->element[i + 1]->str, NULL, 10);
                }
        }
        for (size_t i = 0; ok && i + 1 < tc->elements; i += 2) {
            aggregator_row_t *row =
                aggregator_rows_add(rows, tc->element[i]->str, strlen(tc->element[i]->str));
            ok = row != NULL;
            if (!ok)
                break;
            row->dim = AGGREGATOR_DIM_TASK;
            row->v[0] = strtoll(tc->element[i + 1]->str, NULL, 10);
        }
    }
    if (h)
        freeReplyObject(h);
    if (tc)
        freeReplyObject(tc);
    return ok ? 0 : -1;
}

/*  Upserts a tenant-day into cost_summaries: a final day through the worker, an open
    one from Redis, sent without waiting. 0 done or sent, 2 an in-day upsert is still
    running (next tick), -1 failed (next round). */
static int s_rollup(aggregator_t *self, tenant_t *t, int32_t day)
{
    int64_t now = fc_time_now_us();
    bool final = aggregator_day_state(self, t, day, now) == 2;
    if (!final && self->rollup_inflight)
        return 2;
    char D[11];
    fc_date_format(day, D);
    if (final)
        return s_queue_final(self, t, D);
    if (aggregator_redis(self) != 0)
        return -1;
    aggregator_rows_t rows = {0};
    if (s_rows_from_redis(self, t, D, &rows) != 0) {
        aggregator_rows_free(&rows);
        return -1;
    }
    if (!self->rollup_pg || PQstatus(self->rollup_pg) != CONNECTION_OK) {
        if (self->rollup_pg)
            PQfinish(self->rollup_pg);
        self->rollup_pg = fc_pg_connect(self->pg_url, MODULE);
    }
    int rc = self->rollup_pg
                 ? aggregator_pg_rollup_send(self->rollup_pg, t->name, D, false, rows.rows, rows.n)
                 : -1;
    if (rc == 0) {
        self->rollup_inflight = true;
        snprintf(self->inflight_tenant, sizeof self->inflight_tenant, "%s", t->name);
        self->inflight_day = day;
    } else if (rc == 1)
        rc = 0; //  nothing to write
    else
        fc_metric_add(self->m_pg_errors, 1);
    aggregator_rows_free(&rows);
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
        aggregator_mark(t->roll, &t->nroll, self->inflight_day);
    if (PQstatus(self->rollup_pg) != CONNECTION_OK) {
        PQfinish(self->rollup_pg);
        self->rollup_pg = NULL;
    }
}

void aggregator_rollup_begin(aggregator_t *self, int64_t mono)
{
    //  Rollups are Postgres round trips: a round of them (every rollup_ms) is spread
    //  over ticks, ROLLUPS_PER_TICK at a time, so the stream is never held up for long.
    if (!self->rolling && mono >= self->next_rollup_us) {
        self->rolling = true;
        self->next_rollup_us = mono + (int64_t)self->config.rollup_ms * 1000;
        if (self->final_running) {
            pthread_mutex_lock(&self->final_mutex);
            self->open_due = true;
            pthread_cond_signal(&self->final_cond);
            pthread_mutex_unlock(&self->final_mutex);
        }
    }
    s_rollup_poll(self);
}

bool aggregator_rollup_tenant(aggregator_t *self, tenant_t *t, int64_t now, int *budget)
{
    if (t->final_day >= 0 && now >= t->final_due_us &&
        aggregator_day_state(self, t, t->final_day, now) == 2) {
        aggregator_mark(t->roll, &t->nroll, t->final_day);
        t->final_day = -1;
    }
    while (self->rolling && t->nroll && *budget > 0) {
        int rc = s_rollup(self, t, t->roll[t->nroll - 1]);
        if (rc == 2) {
            *budget = 0; //  one in-day upsert at a time
            break;
        }
        if (rc != 0) {
            self->rolling = false; //  Postgres trouble: the next round retries
            break;
        }
        t->nroll--;
        (*budget)--;
    }
    return t->nroll == 0;
}
