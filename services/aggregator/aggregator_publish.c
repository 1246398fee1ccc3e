/*  aggregator_publish: sum.<tenant> summaries (PROTOCOL.md §12).

    Why a file of its own: a summary is read from Redis by one script call (the day,
    the month and the seqs they include, atomically, with the next revision), turned
    into the plain fc_summary_msg_t here, and encoded by proto/fc_summary, which knows
    nothing of Redis. Publishing is paced per tenant (interval_ms) and re-sends closed
    days to subscribers that join late. */
#include "aggregator_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_curve.h"
#include "fc_log.h"
#include "fc_service.h"
#include "fc_summary.h"
#include "fc_time.h"

/*  Grants the subscriptions waiting on the PUB socket. A subscriber that has just
    (re)connected, to an aggregator that has just restarted say, missed the summaries
    published before its subscription arrived; for today the periodic republish catches
    it up, for a closed day nothing would. So every closed day summarised since start
    is published again (paced like any dirty day). */
void aggregator_grant(aggregator_t *self)
{
    if (fc_curve_pub_process(fc_service_curve(), self->pub) == 0)
        return;
    for (tenant_t *t = zhash_first(self->tenants); t; t = zhash_next(self->tenants))
        for (int i = 0; i < t->nsent; i++)
            aggregator_mark(t->dirty, &t->ndirty, t->sent[i]);
}

//  One part of the summary script's reply: {HGETALL hash, SCARD agents, top task ids,
//  their exact costs}.
static bool s_part_ok(const redisReply *p)
{
    return p->type == REDIS_REPLY_ARRAY && p->elements == 4 &&
           p->element[0]->type == REDIS_REPLY_ARRAY && p->element[1]->type == REDIS_REPLY_INTEGER &&
           p->element[2]->type == REDIS_REPLY_ARRAY && p->element[3]->type == REDIS_REPLY_ARRAY &&
           p->element[2]->elements == p->element[3]->elements;
}

//  Room for the values of one part; pointers into the reply (kept alive meanwhile).
typedef struct {
    fc_summary_pair_t totals[AGGREGATOR_TOTALS];
    fc_summary_pair_t *entries; //  breakdown entries of every dimension
    fc_summary_pair_t *tasks;
} s_part_buf_t;

static void s_part_free(s_part_buf_t *b)
{
    free(b->entries);
    free(b->tasks);
}

//  Fills a part from the reply: totals, agents, breakdowns (hash fields
//  "<dim>:<key>", ranked by the encoder), top tasks. 0, or -1 (OOM).
static int s_fill_part(fc_summary_part_t *part, s_part_buf_t *b, const redisReply *reply)
{
    const redisReply *h = reply->element[0], *ids = reply->element[2], *costs = reply->element[3];
    memset(part, 0, sizeof *part);
    b->entries = calloc(h->elements / 2 + 1, sizeof *b->entries);
    b->tasks = calloc(ids->elements + 1, sizeof *b->tasks);
    if (!b->entries || !b->tasks)
        return -1;
    for (int i = 0; i < AGGREGATOR_TOTALS; i++)
        b->totals[i] = (fc_summary_pair_t){aggregator_total_fields[i],
                                           aggregator_hash_int(h, aggregator_total_fields[i])};
    part->totals = b->totals;
    part->ntotals = AGGREGATOR_TOTALS;
    part->agents = reply->element[1]->integer;
    size_t n = 0;
    for (int d = 0; d < AGGREGATOR_DIMS; d++) {
        const char *dim = aggregator_dims[d];
        size_t plen = strlen(dim), first = n;
        for (size_t i = 0; i + 1 < h->elements; i += 2) {
            const char *f = h->element[i]->str;
            if (f && strncmp(f, dim, plen) == 0 && f[plen] == ':')
                b->entries[n++] =
                    (fc_summary_pair_t){f + plen + 1, strtoll(h->element[i + 1]->str, NULL, 10)};
        }
        part->heads[d] = (fc_summary_head_t){dim, b->entries + first, n - first};
    }
    part->nheads = AGGREGATOR_DIMS;
    for (size_t i = 0; i < ids->elements; i++)
        b->tasks[i] = (fc_summary_pair_t){
            ids->element[i]->str ? ids->element[i]->str : "",
            costs->element[i]->str ? strtoll(costs->element[i]->str, NULL, 10) : 0};
    part->tasks = b->tasks;
    part->ntasks = ids->elements;
    return 0;
}

/*  Encodes the summary script's non-nil reply {rev, applied (HGETALL), day part,
    month part} with the tenant-day's names. Returns the body (the caller frees it) or
    NULL if the reply has an unexpected shape or on OOM. */
static uint8_t *s_encode(fc_summary_msg_t *m, const redisReply *reply, size_t *size)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
        reply->element[0]->type != REDIS_REPLY_INTEGER ||
        reply->element[1]->type != REDIS_REPLY_ARRAY || !s_part_ok(reply->element[2]) ||
        !s_part_ok(reply->element[3]))
        return NULL;
    const redisReply *applied = reply->element[1];
    m->revision = reply->element[0]->integer;
    m->as_of_us = aggregator_hash_int(applied, "_ts");
    //  The applied hash holds per ingest its last seq, and "_init" / "_ts" beside them.
    fc_summary_seq_t *seqs = calloc(applied->elements / 2 + 1, sizeof *seqs);
    s_part_buf_t day = {0}, month = {0};
    uint8_t *body = NULL;
    if (seqs && s_fill_part(&m->day_part, &day, reply->element[2]) == 0 &&
        s_fill_part(&m->month_part, &month, reply->element[3]) == 0) {
        m->nseqs = 0;
        for (size_t i = 0; i + 1 < applied->elements; i += 2)
            if (applied->element[i]->str && applied->element[i]->str[0] != '_')
                seqs[m->nseqs++] = (fc_summary_seq_t){
                    applied->element[i]->str, strtoull(applied->element[i + 1]->str, NULL, 10)};
        m->seqs = seqs;
        body = fc_summary_encode(m, size);
    }
    s_part_free(&day);
    s_part_free(&month);
    free(seqs);
    return body;
}

//  The summary script call of a tenant-day: KEYS are the day's four keys, the month's
//  four, applied and rev (aggregator_keys), in the script's order.
static redisReply *s_summary_call(aggregator_t *self, const char *tenant, const char *day,
                                  const char *month)
{
    char k[2 * AGGREGATOR_PARTS + 2][AGGREGATOR_KEY_MAX];
    aggregator_keys_period_set(k, tenant, false, day);
    aggregator_keys_period_set(k + AGGREGATOR_PARTS, tenant, true, month);
    aggregator_key_applied(k[8], tenant);
    aggregator_key_rev(k[9], tenant);
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
    return r;
}

int aggregator_publish(aggregator_t *self, tenant_t *t, int32_t day, bool closed)
{
    if (aggregator_redis(self) != 0)
        return -1;
    char D[11], M[8];
    fc_date_format(day, D);
    snprintf(M, sizeof M, "%.7s", D);
    redisReply *r = s_summary_call(self, t->name, D, M);
    if (!r) {
        fc_metric_add(self->m_redis_errors, 1);
        return -1;
    }
    int rc = -1;
    if (r->type == REDIS_REPLY_NIL) {
        //  Not initialised: Redis lost it; the sentinel check will notice and rebuild.
        rc = 0;
    } else {
        fc_summary_msg_t m = {.tenant = t->name,
                              .tz = t->tz.tz,
                              .day = D,
                              .month = M,
                              .closed = closed,
                              .ts_us = fc_time_now_us(),
                              .top = self->config.top};
        size_t size;
        uint8_t *body = s_encode(&m, r, &size);
        if (body) {
            aggregator_grant(self);
            fc_curve_publish(self->pub, "sum", t->name, body, size);
            if (closed)
                aggregator_mark(t->sent, &t->nsent, day);
            free(body);
            fc_metric_add(self->m_summaries, 1);
            rc = 0;
        } else
            fc_error(MODULE, "summary of '%s' %s: unexpected script reply", t->name, D);
    }
    freeReplyObject(r);
    return rc;
}

void aggregator_publish_due(aggregator_t *self, tenant_t *t, int32_t today, int64_t mono)
{
    if (!t->ndirty || mono - t->last_pub_us < (int64_t)self->config.interval_ms * 1000)
        return;
    //  Per tenant per interval: today if it changed (live totals), and the oldest other
    //  changed day (late events, billing corrections), so that neither waits behind the
    //  other after a rebuild marks a window of days.
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
        if (aggregator_publish(self, t, pick[i], pick[i] < today) == 0) {
            aggregator_unmark(t->dirty, &t->ndirty, pick[i]);
            t->last_pub_us = mono;
        }
}
