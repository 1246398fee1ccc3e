/*  aggregator_keys: every Redis key the aggregator reads or writes, built here and
    nowhere else (DESIGN §5). The apply path, the rebuild, the summaries, the rollups
    and the tests that look into Redis all name keys through these functions, so a key
    cannot be spelt two ways. Every key of a tenant carries the tenant as a hash tag,
    so one script call touches one Redis Cluster slot:

        fc:{t}:day:<YYYY-MM-DD>            hash: totals and breakdown fields (integers)
        fc:{t}:day:<D>:agents              set: active agents (SCARD)
        fc:{t}:day:<D>:tasks               sorted set: task -> cost, for ranking only
        fc:{t}:day:<D>:taskcost            hash: task -> exact cost_nusd
        fc:{t}:month:<YYYY-MM>[...]        the same four for the tenant-local month
        fc:{t}:applied                     hash: ingest_id -> last applied seq; "_init"
        fc:{t}:rev                         summary revision counter
        fc:agg:<i>-<N>:ready               this shard's "rebuilt" sentinel
        fc:agg:<i>-<N>:progress            hash: ingest_id -> seq handled by the shard
        fc:agg:<i>-<N>:rebuilding          a shard rebuild under way (gone: Redis lost)

    The Lua scripts (aggregator_redis.c) never build a key: they take them as KEYS, in
    the order aggregator_keys_period_set() gives (see the scripts' comments). */
#ifndef AGGREGATOR_KEYS_H
#define AGGREGATOR_KEYS_H

#include <stdbool.h>
#include <stddef.h>

//  Room for any key: a tenant id (64), a date and the longest suffix fit many times.
#define AGGREGATOR_KEY_MAX 256

//  The four keys of one period (a day or a month), in the scripts' KEYS order.
typedef enum {
    AGGREGATOR_PART_HASH,     //  totals and breakdown fields
    AGGREGATOR_PART_AGENTS,   //  set of active agents
    AGGREGATOR_PART_TASKS,    //  task ranking (sorted set)
    AGGREGATOR_PART_TASKCOST, //  exact task costs (hash)
    AGGREGATOR_PARTS
} aggregator_part_t;

//  fc:{tenant}:day:<day><part> (month false) or fc:{tenant}:month:<period><part>.
void aggregator_key_period(char key[AGGREGATOR_KEY_MAX], const char *tenant, bool month,
                           const char *period, aggregator_part_t part);

//  The four keys of one period, part by part.
void aggregator_keys_period_set(char keys[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX], const char *tenant,
                                bool month, const char *period);

//  fc:{tenant}:applied and fc:{tenant}:rev.
void aggregator_key_applied(char key[AGGREGATOR_KEY_MAX], const char *tenant);
void aggregator_key_rev(char key[AGGREGATOR_KEY_MAX], const char *tenant);

//  fc:agg:<shard_tag>:ready and fc:agg:<shard_tag>:progress (shard_tag "<i>-<N>").
void aggregator_key_ready(char key[AGGREGATOR_KEY_MAX], const char *shard_tag);
void aggregator_key_progress(char key[AGGREGATOR_KEY_MAX], const char *shard_tag);
//  fc:agg:<shard_tag>:rebuilding.
void aggregator_key_rebuilding(char key[AGGREGATOR_KEY_MAX], const char *shard_tag);

#endif
