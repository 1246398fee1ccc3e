/*  aggregator_apply: one stream message becomes one call of the apply script
    (aggregator_redis.c), queued in a pipeline of up to PIPELINE_MAX calls whose replies
    are read in order.

    Why a file of its own: this is the hot path. Per message the events are added up by
    tenant-local day in memory (a handful of days, a few dozen fields), so the script
    does one HINCRBY per field and day instead of one per event; the replies decide what
    happens next (dirty days, replays skipped, a tenant to rebuild, a tenant frozen on
    int64 overflow). The plain-command pipeline helpers the rebuild and the progress
    writes use live here too, beside the script pipeline they must not interleave with. */
#include "aggregator_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_time.h"

static void s_pending_free(pending_t *p)
{
    redisFreeCommand(p->cmd);
    p->cmd = NULL;
}

void aggregator_drop_pending(aggregator_t *self)
{
    for (int i = 0; i < self->npending; i++)
        s_pending_free(&self->pending[i]);
    self->npending = 0;
}

/*  Marks a tenant whose totals would pass the int64 limit in Redis (see
    AGGREGATOR_TOTAL_LIMIT). Its messages are no longer applied to Redis, it is no longer
    rebuilt, summarised or rolled up, and everything else goes on: one tenant's data
    never stops the others, and the aggregator never loops rebuilding it. Its events stay
    in Postgres; once an operator has corrected them (the alert on poisoned_tenants),
    restarting the aggregator rebuilds the tenant. */
void aggregator_poison(aggregator_t *self, tenant_t *t, const char *why)
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

/*  Reads the replies of every pending script call, in order. A connection error keeps
    them all for a resend (the markers make a resend harmless). NOSCRIPT (Redis
    restarted or SCRIPT FLUSH) hits a suffix of the pipeline: the scripts are loaded
    again and that suffix is sent again. A tenant whose call returned -1 (not
    initialised) or failed is rebuilt from Postgres before anything else of it is
    applied. Returns 0 when nothing is pending any more, -1 when Redis is unavailable. */
int aggregator_flush(aggregator_t *self)
{
    while (self->npending) {
        if (aggregator_redis(self) != 0)
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
                    aggregator_mark_dirty(p->tenant, p->days[d]);
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_SKIPPED) {
                fc_metric_add(self->m_skipped, 1);
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_UNINIT) {
                p->tenant->needs_rebuild = true;
                self->tenant_rebuild_pending = true;
            } else if (r->type == REDIS_REPLY_INTEGER && r->integer == AGGREGATOR_APPLY_OVERFLOW) {
                aggregator_poison(self, p->tenant, "a message");
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
                   ev->cache_read_tokens, ev->cache_write_5m_tokens, ev->cache_write_1h_tokens,
                   fc_stored_billed(ev)};
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
                                         ev->unpriced ? 1 : 0,
                                         fc_stored_billed(ev)};
    int rc = 0;
    for (int i = 0; i < AGGREGATOR_TOTALS; i++)
        rc |= aggregator_map_add(d->fields, aggregator_total_fields[i], totals[i]);
    const char *kind = ev->type == FC_EV_USAGE ? "usage" : ev->kind;
    rc |= s_add_field(d->fields, "agent_type", ev->agent_type, ev->cost_nusd);
    rc |= s_add_field(d->fields, "model", ev->model, ev->cost_nusd);
    rc |= s_add_field(d->fields, "agent", ev->agent, ev->cost_nusd);
    rc |= s_add_field(d->fields, "kind", kind, ev->cost_nusd);
    //  The same keys as aggregator_pg's grouped sums: usage without a speed is standard.
    const char *speed = ev->type != FC_EV_USAGE ? "" : *ev->speed ? ev->speed : "standard";
    rc |= s_add_field(d->fields, "speed", speed, ev->cost_nusd);
    rc |= s_add_field(d->fields, "provider", ev->provider, ev->cost_nusd);
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

/*  Adds up the cost entries of one message by tenant-local day into self->days.
    Returns the number of days (0: none), -2 when the tenant was frozen (an event too
    large to sum), -1 when it cannot be summed. */
static int s_sum_message(aggregator_t *self, tenant_t *t, uint64_t seq, const char *ingest_id,
                         const fc_stored_event_t *events, size_t n)
{
    int ndays = 0;
    for (size_t i = 0; i < n; i++) {
        const fc_stored_event_t *ev = &events[i];
        if (ev->type != FC_EV_USAGE && ev->type != FC_EV_COST)
            continue;
        //  An event this large was written by hand (ingest never stored one): summing
        //  its message could overflow before the script's guard sees it.
        if (!s_event_summable(ev)) {
            aggregator_poison(self, t, "an event too large to sum");
            return -2;
        }
        msg_day_t *d = s_msg_day(self, &ndays, aggregator_tz_day(&t->tz, ev->ts_us));
        if (!d || s_add_event(d, ev) != 0) {
            fc_error(MODULE,
                     "message %s/%" PRIu64 " of '%s' cannot be summed (over %d days, "
                     "overflow or out of memory)",
                     ingest_id, seq, t->name, MAX_MSG_DAYS);
            return -1;
        }
    }
    return ndays;
}

/*  The apply script's arguments for ndays summed days into the arena, as offsets and
    lengths (the arena may move while it grows; pointers are taken once it is done).
    KEYS are named by aggregator_keys: applied, then per day the day's and the month's
    four keys, the order the script reads them in (aggregator_redis.c). Returns nargs. */
static int s_script_args(aggregator_t *self, const tenant_t *t, uint64_t seq, const char *ingest_id,
                         const fc_stored_event_t *events, size_t n, int ndays, size_t *offs,
                         size_t *lens)
{
    int nargs = 0, nkeys = 1 + 2 * AGGREGATOR_PARTS * ndays;
    char key[AGGREGATOR_KEY_MAX], set[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX];
    fc_buf_reset(&self->arena);
    s_arg(self, offs, lens, &nargs, "EVALSHA");
    s_arg(self, offs, lens, &nargs, "%s", aggregator_redis_apply_sha(self->redis));
    s_arg(self, offs, lens, &nargs, "%d", nkeys);
    aggregator_key_applied(key, t->name);
    s_arg(self, offs, lens, &nargs, "%s", key);
    for (int i = 0; i < ndays; i++)
        for (int month = 0; month < 2; month++) {
            aggregator_keys_period_set(set, t->name, month,
                                       month ? self->days[i].copy.month : self->days[i].copy.day);
            for (int p = 0; p < AGGREGATOR_PARTS; p++)
                s_arg(self, offs, lens, &nargs, "%s", set[p]);
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
    return nargs;
}

/*  Queues the apply script call of one stream message. Returns 0 when the message is
    dealt with (queued, or not this shard's), -1 when it cannot be applied now (its
    tenant is unknown and Postgres is down, or out of memory): the caller leaves the
    ingest's progress before it, so a catch-up fetches it again. */
int aggregator_apply(aggregator_t *self, uint64_t seq, const char *ingest_id,
                     const char *tenant_name, const fc_stored_event_t *events, size_t n)
{
    tenant_t *t = aggregator_tenant(self, tenant_name);
    if (!t)
        return -1;
    if (!t->mine)
        return 0;
    if (t->poisoned) {
        fc_metric_add(self->m_overflows, 1);
        return 0;
    }
    //  In a rebuild under way: kept, and applied once its snapshot is written.
    if (t->held)
        return aggregator_rebuild_hold(self, t, seq, ingest_id, events, n);
    uint64_t rewinds = self->rewinds;
    if (self->npending == PIPELINE_MAX && aggregator_flush(self) != 0)
        return -1;
    //  Progress went back under the caller (a new Redis server): this message must wait
    //  for the catch-up that re-applies the ones before it.
    if (self->rewinds != rewinds)
        return -1;
    int ndays = s_sum_message(self, t, seq, ingest_id, events, n);
    if (ndays == -2)
        return 0;
    if (ndays < 0)
        return -1;
    size_t cap = 9 + 1 + (size_t)(2 * AGGREGATOR_PARTS + 5) * (size_t)ndays;
    for (int i = 0; i < ndays; i++)
        cap += 2 * aggregator_map_size(self->days[i].fields) +
               aggregator_map_size(self->days[i].agents) +
               2 * aggregator_map_size(self->days[i].tasks);
    size_t *offs = malloc(cap * sizeof *offs), *lens = malloc(cap * sizeof *lens);
    const char **argv = malloc(cap * sizeof *argv);
    int rc = -1;
    int nargs = offs && lens && argv
                    ? s_script_args(self, t, seq, ingest_id, events, n, ndays, offs, lens)
                    : 0;
    if (nargs && !self->arena.failed) {
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

//  Formats a command into the pipeline and counts it. 0, or -1.
int aggregator_append(aggregator_t *self, int *count, const char *fmt, ...)
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
int aggregator_replies(aggregator_t *self, int count)
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

int aggregator_append_progress(aggregator_t *self, int *count, const char *id, uint64_t progress,
                               uint64_t epoch)
{
    char field[FC_MAX_INGEST_ID + 8];
    snprintf(field, sizeof field, "epoch:%s", id);
    return aggregator_append(self, count, "HSET %s %s %llu %s %llu", self->key_progress, id,
                             (unsigned long long)progress, field, (unsigned long long)epoch);
}
