/*  aggregator_redis: connection and scripts (see aggregator_redis.h). */
#include "aggregator_redis.h"

#include "fc_redis.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"

#define MODULE "aggregator"

/*  The apply script: one call per stream message (ingest_id, seq) of one tenant.

    At most once: fc:{t}:applied holds, per ingest_id, the last seq applied to this
    tenant. seqs grow per ingest_id and the aggregator applies each ingest's messages in
    seq order (live, catch-up and rebuild alike), so "seq <= last" means "applied
    before" and the check and the increments happen in one atomic script. A tenant
    without the hash was never built here or Redis lost it: the script returns -1 and
    changes nothing, and the aggregator rebuilds the tenant from Postgres.

    KEYS[1] fc:{t}:applied; then 8 keys per local day touched: day hash, agents, tasks,
    taskcost, month hash, agents, tasks, taskcost (aggregator_keys_period_set for the
    day, then for its month; built in aggregator_apply.c, s_script_args).
    ARGV: ingest_id, seq, number of days, applied EXPIREAT, newest event time (µs, kept
    as "_ts" in the applied hash for the summaries' as_of); per day: nfields, nagents,
    ntasks, day EXPIREAT, month EXPIREAT, then nfields (field, increment) pairs, nagents
    agent ids, ntasks (task, increment) pairs. Increments are integers (HINCRBY): exact.
    The tasks zset mirrors taskcost for ranking only (a double, exact below 2^53).
    Before writing anything the script checks that no total would reach
    AGGREGATOR_TOTAL_LIMIT (9e18): a Redis script is not rolled back when a command in
    it fails, so an HINCRBY failing on overflow half-way would leave the marker and part
    of the message applied. Checking the month's totals (the fields without ':') is
    enough: costs, tokens and counts are never negative, so every breakdown field of a
    hash is at most its cost_nusd total, and a month holds all of its days.
    Returns 1 applied, 0 already applied, -1 tenant not initialised, -2 a total would
    reach the limit (nothing written). */
static const char *s_apply_lua =
    "local applied = KEYS[1]\n"
    "if redis.call('EXISTS', applied) == 0 then return -1 end\n"
    "local last = redis.call('HGET', applied, ARGV[1])\n"
    "if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end\n"
    "local a, k = 6, 2\n"
    "for d = 1, tonumber(ARGV[3]) do\n"
    "  local nf, na, nt = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])\n"
    "  local i = a + 5\n"
    "  for _ = 1, nf do\n"
    "    if not string.find(ARGV[i], ':', 1, true) then\n"
    "      local cur = tonumber(redis.call('HGET', KEYS[k + 4], ARGV[i]) or '0')\n"
    "      if cur + tonumber(ARGV[i + 1]) >= 9e18 then return -2 end\n"
    "    end\n"
    "    i = i + 2\n"
    "  end\n"
    "  a = a + 5 + 2 * nf + na + 2 * nt\n"
    "  k = k + 8\n"
    "end\n"
    "redis.call('HSET', applied, ARGV[1], ARGV[2])\n"
    "redis.call('EXPIREAT', applied, ARGV[4])\n"
    "if tonumber(ARGV[5]) > tonumber(redis.call('HGET', applied, '_ts') or '0') then\n"
    "  redis.call('HSET', applied, '_ts', ARGV[5])\n"
    "end\n"
    "local a, k = 6, 2\n"
    "for d = 1, tonumber(ARGV[3]) do\n"
    "  local nf, na, nt = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])\n"
    "  local exp = {ARGV[a + 3], ARGV[a + 4]}\n"
    "  a = a + 5\n"
    "  for p = 0, 1 do\n"
    "    local h, s = KEYS[k + 4 * p], KEYS[k + 4 * p + 1]\n"
    "    local z, c = KEYS[k + 4 * p + 2], KEYS[k + 4 * p + 3]\n"
    "    local i = a\n"
    "    for _ = 1, nf do redis.call('HINCRBY', h, ARGV[i], ARGV[i + 1]); i = i + 2 end\n"
    "    redis.call('EXPIREAT', h, exp[p + 1])\n"
    "    if na > 0 then\n"
    "      for _ = 1, na do redis.call('SADD', s, ARGV[i]); i = i + 1 end\n"
    "      redis.call('EXPIREAT', s, exp[p + 1])\n"
    "    end\n"
    "    if nt > 0 then\n"
    "      for _ = 1, nt do\n"
    "        local v = redis.call('HINCRBY', c, ARGV[i], ARGV[i + 1])\n"
    "        redis.call('ZADD', z, string.format('%.17g', v), ARGV[i]); i = i + 2\n"
    "      end\n"
    "      redis.call('EXPIREAT', c, exp[p + 1]); redis.call('EXPIREAT', z, exp[p + 1])\n"
    "    end\n"
    "  end\n"
    "  a = a + 2 * nf + na + 2 * nt\n"
    "  k = k + 8\n"
    "end\n"
    "return 1\n";

/*  The summary script: reads a tenant's day and month atomically with the seqs they
    include and takes the next revision. KEYS: day hash, agents, tasks, taskcost, month
    hash, agents, tasks, taskcost, applied, rev (aggregator_keys; built in
    aggregator_publish.c, s_summary_call). ARGV[1]: how many top tasks.
    Returns nil if the tenant is not initialised, else {rev, applied (HGETALL),
    day part, month part}, a part being {HGETALL hash, SCARD agents, top task ids,
    their exact costs}. */
static const char *s_summary_lua =
    "if redis.call('EXISTS', KEYS[9]) == 0 then return false end\n"
    "local function part(h, s, z, c)\n"
    "  local top = redis.call('ZREVRANGE', z, 0, tonumber(ARGV[1]) - 1)\n"
    "  local costs = {}\n"
    "  if #top > 0 then costs = redis.call('HMGET', c, unpack(top)) end\n"
    "  return {redis.call('HGETALL', h), redis.call('SCARD', s), top, costs}\n"
    "end\n"
    "local rev = redis.call('INCR', KEYS[10])\n"
    "return {rev, redis.call('HGETALL', KEYS[9]), part(KEYS[1], KEYS[2], KEYS[3], KEYS[4]),\n"
    "        part(KEYS[5], KEYS[6], KEYS[7], KEYS[8])}\n";

struct _aggregator_redis_t {
    fc_redis_target_t target;
    char where[300]; //  host:port of the current (or last tried) server
    redisContext *ctx;
    bool down_logged;
    uint64_t connects; //  connections made, for aggregator_redis_connects
    char apply_sha[41], summary_sha[41];
};

aggregator_redis_t *aggregator_redis_new(const char *url, const char *sentinels,
                                         const char *master_name)
{
    aggregator_redis_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    const char *why;
    if (fc_redis_target_init(&self->target, url, sentinels, master_name, &why) != 0) {
        fc_error(MODULE, "%s", why);
        free(self);
        return NULL;
    }
    return self;
}

uint64_t aggregator_redis_connects(aggregator_redis_t *self)
{
    return self->connects;
}

void aggregator_redis_reset(aggregator_redis_t *self)
{
    if (self->ctx)
        redisFree(self->ctx);
    self->ctx = NULL;
}

void aggregator_redis_destroy(aggregator_redis_t **self_p)
{
    assert(self_p);
    aggregator_redis_t *self = *self_p;
    if (!self)
        return;
    aggregator_redis_reset(self);
    free(self);
    *self_p = NULL;
}

redisReply *aggregator_redis_command(aggregator_redis_t *self, const char *fmt, ...)
{
    if (!self->ctx)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(self->ctx, fmt, ap);
    va_end(ap);
    if (!r)
        aggregator_redis_reset(self);
    else if (fc_redis_not_master(r)) {
        fc_warn(MODULE, "redis %s is not the master any more (READONLY): will reconnect",
                self->where);
        freeReplyObject(r);
        aggregator_redis_reset(self);
        r = NULL;
    }
    return r;
}

static int s_load(aggregator_redis_t *self, const char *lua, char sha[41])
{
    redisReply *r = aggregator_redis_command(self, "SCRIPT LOAD %s", lua);
    int rc = r && r->type == REDIS_REPLY_STRING && r->len == 40 ? 0 : -1;
    if (rc == 0)
        memcpy(sha, r->str, 41);
    else
        fc_error(MODULE, "redis SCRIPT LOAD failed: %s", r && r->str ? r->str : "connection lost");
    if (r)
        freeReplyObject(r);
    return rc;
}

int aggregator_redis_load_scripts(aggregator_redis_t *self)
{
    return s_load(self, s_apply_lua, self->apply_sha) == 0 &&
                   s_load(self, s_summary_lua, self->summary_sha) == 0
               ? 0
               : -1;
}

int aggregator_redis_ensure(aggregator_redis_t *self)
{
    if (self->ctx && !self->ctx->err)
        return 0;
    aggregator_redis_reset(self);
    //  Directly, or the master the sentinels name (checked with ROLE): lib/fc_redis.
    char err[600];
    self->ctx =
        fc_redis_connect(&self->target, 2000, self->where, sizeof self->where, err, sizeof err);
    if (!self->ctx) {
        if (!self->down_logged)
            fc_warn(MODULE, "redis %s unavailable (%s): holding the stream, will retry",
                    self->where, err);
        self->down_logged = true;
        return -1;
    }
    redisSetTimeout(self->ctx, (struct timeval){10, 0});
    if (aggregator_redis_load_scripts(self) != 0) {
        aggregator_redis_reset(self);
        return -1;
    }
    self->connects++;
    fc_info(MODULE, "redis %s/%d connected, scripts loaded", self->where, self->target.addr.db);
    self->down_logged = false;
    return 0;
}

const char *aggregator_redis_apply_sha(aggregator_redis_t *self)
{
    return self->apply_sha;
}

const char *aggregator_redis_summary_sha(aggregator_redis_t *self)
{
    return self->summary_sha;
}

int aggregator_redis_append(aggregator_redis_t *self, int argc, const char **argv,
                            const size_t *argvlen)
{
    if (!self->ctx || redisAppendCommandArgv(self->ctx, argc, argv, argvlen) != REDIS_OK)
        return -1;
    return 0;
}

int aggregator_redis_append_formatted(aggregator_redis_t *self, const char *cmd, size_t len)
{
    if (!self->ctx || redisAppendFormattedCommand(self->ctx, cmd, len) != REDIS_OK)
        return -1;
    return 0;
}

redisReply *aggregator_redis_get_reply(aggregator_redis_t *self)
{
    if (!self->ctx)
        return NULL;
    void *reply = NULL;
    if (redisGetReply(self->ctx, &reply) != REDIS_OK || !reply) {
        fc_warn(MODULE, "redis connection lost (%s): will reconnect", self->ctx->errstr);
        aggregator_redis_reset(self);
        return NULL;
    }
    //  A demoted master (Sentinel made another one) refuses writes: the replies still
    //  pending on this connection are dropped with it, like after a lost connection.
    if (fc_redis_not_master(reply)) {
        fc_warn(MODULE, "redis %s is not the master any more (READONLY): will reconnect",
                self->where);
        freeReplyObject(reply);
        aggregator_redis_reset(self);
        return NULL;
    }
    return reply;
}

int64_t aggregator_hash_int(const redisReply *h, const char *field)
{
    if (!h || h->type != REDIS_REPLY_ARRAY)
        return 0;
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && strcmp(h->element[i]->str, field) == 0)
            return h->element[i + 1]->str ? strtoll(h->element[i + 1]->str, NULL, 10) : 0;
    return 0;
}
