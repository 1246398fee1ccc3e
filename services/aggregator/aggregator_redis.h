/*  aggregator_redis: the aggregator's Redis connection and its two Lua scripts
    (DESIGN §5). The keys they touch are named in aggregator_keys.h. */
#ifndef AGGREGATOR_REDIS_H
#define AGGREGATOR_REDIS_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregator_pg.h"

//  The most any Redis total may reach. HINCRBY fails past int64 (2^63 - 1, about
//  9.22e18) and, inside the apply script, would fail after earlier writes of the same
//  message. The apply script refuses a message that would take a total to this limit
//  or past it (returns AGGREGATOR_APPLY_OVERFLOW, writing nothing); the rebuild refuses
//  a tenant whose sums reach it. 9e18 leaves 2.2e17 of room, far more than the rounding
//  of Lua's doubles near it (2^10) and than one message can add (FC_MAX_BATCH events at
//  FC_MAX_COST_NUSD: 5e16).
#define AGGREGATOR_TOTAL_LIMIT INT64_C(9000000000000000000)
//  Apply script replies.
#define AGGREGATOR_APPLY_DONE     1
#define AGGREGATOR_APPLY_SKIPPED  0
#define AGGREGATOR_APPLY_UNINIT   (-1)
#define AGGREGATOR_APPLY_OVERFLOW (-2)

//  The totals and breakdown fields (AGGREGATOR_TOTALS, aggregator_total_fields,
//  AGGREGATOR_DIMS, aggregator_dims) are the rollup's, in lib/rollup/aggregator_pg.h.

//  Keys kept: days until DAY_KEEP days after they end (covers the rebuild window of the
//  current and previous month), months MONTH_KEEP days after they end.
#define AGGREGATOR_DAY_KEEP_S   (70 * 86400)
#define AGGREGATOR_MONTH_KEEP_S (400 * 86400)

typedef struct _aggregator_redis_t aggregator_redis_t;

//  Parses redis://[:password@]host[:port][/db] and, when sentinels is not empty, the
//  Sentinel list and master name (the URL then gives the password and db only); NULL
//  if malformed. Connects lazily, to the current master.
aggregator_redis_t *aggregator_redis_new(const char *url, const char *sentinels,
                                         const char *master_name);
void aggregator_redis_destroy(aggregator_redis_t **self_p);

//  Connects if needed (AUTH, SELECT, SCRIPT LOAD). 0, or -1 (logged once per outage).
int aggregator_redis_ensure(aggregator_redis_t *self);
//  Drops the connection (after an I/O error or READONLY); the next ensure reconnects,
//  through the sentinels when there are some, so it follows a failover.
void aggregator_redis_reset(aggregator_redis_t *self);
//  How many connections were made so far: a change after an ensure means a new
//  connection, possibly to another server (a failover).
uint64_t aggregator_redis_connects(aggregator_redis_t *self);

//  SHA1 of the apply / summary script (valid after ensure).
const char *aggregator_redis_apply_sha(aggregator_redis_t *self);
const char *aggregator_redis_summary_sha(aggregator_redis_t *self);
//  Loads both scripts again (after NOSCRIPT). 0 or -1.
int aggregator_redis_load_scripts(aggregator_redis_t *self);

//  Pipelining: append a command (argv form), then read its reply in order. The
//  caller frees replies with freeReplyObject. get_reply returns NULL on an I/O error or
//  READONLY (the connection is then reset).
int aggregator_redis_append(aggregator_redis_t *self, int argc, const char **argv,
                            const size_t *argvlen);
int aggregator_redis_append_formatted(aggregator_redis_t *self, const char *cmd, size_t len);
redisReply *aggregator_redis_get_reply(aggregator_redis_t *self);

//  One command, synchronously (printf-style like redisCommand). NULL on I/O error or
//  READONLY.
redisReply *aggregator_redis_command(aggregator_redis_t *self, const char *fmt, ...);

//  Field value of an HGETALL reply as an integer (0 if absent).
int64_t aggregator_hash_int(const redisReply *hgetall, const char *field);

#endif
