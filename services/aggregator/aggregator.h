/*  aggregator: turns the ingest event streams into exact running totals in Redis,
    publishes sum.<tenant> summaries and writes daily rollups (DESIGN §2, §5).

    One loop thread runs the stream: a SUB socket on every ingest's PUB, a PUB for
    summaries, one Redis and one Postgres connection; a worker thread computes the
    final rollups of closed days on a connection of its own. Per stream message it adds the
    events up by tenant-local day and applies them with one Lua script call that is
    atomic and at most once (aggregator_redis.c). Per ingest_id it keeps the highest
    seq handled; a seq jump, a heartbeat ahead of it, a silent heartbeat or a restart
    is repaired from Postgres by (ingest_id, seq) before newer messages are applied, so
    every tenant sees its messages in seq order. A seq that went back (a new run of the
    ingest beginning below that seq, or Postgres' last seq below it) re-synchronises
    the tenants concerned from one Postgres snapshot (PROTOCOL.md §11). Finding this
    shard's sentinel key gone (Redis empty or flushed), it rebuilds the current and
    previous tenant-local months of its tenants from Postgres before it applies or
    publishes anything else. The files behind this interface: aggregator_int.h. */
#ifndef AGGREGATOR_H
#define AGGREGATOR_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *pg_url;
    const char *redis_url;
    //  "" or host:port,... of Redis Sentinels, which name the master (redis_url then
    //  gives only the password and db), and the master's name in them.
    const char *redis_sentinels, *redis_master_name;
    const char *ingest_pub; //  ingest PUB endpoints, comma-separated
    const char *bind;       //  summary PUB endpoint(s), comma-separated
    int shard, shards;      //  this instance handles tenants with hash % shards == shard
    int interval_ms;        //  at most one summary per tenant per interval
    int heartbeat_timeout_ms;
    int rollup_ms;      //  cost_summaries upsert period
    int final_grace_s;  //  a day's rollup is final this long after the day closed
    int rebuild_months; //  months rebuilt from Postgres (current included)
    int top;            //  entries per breakdown head in summaries
    int republish_s;    //  every tenant's today is published at least this often (0: off)
    int debug_drop;     //  testing: drop one live stream message in this many (0: none)
    const char *metrics_bind;
    int metrics_port; //  0: no /metrics
} aggregator_config_t;

typedef struct _aggregator_t aggregator_t;

//  Binds and connects the sockets; NULL on failure (logged). Redis and Postgres are
//  connected lazily and retried.
aggregator_t *aggregator_new(const aggregator_config_t *config);

//  Runs until fc_signal_stopping(); returns 0.
int aggregator_run(aggregator_t *self);

void aggregator_destroy(aggregator_t **self_p);

//  The shard of a tenant: FNV-1a (32-bit) of its id, modulo shards.
int aggregator_shard_of(const char *tenant, int shards);

//  Parses "i/N" (0 <= i < N <= 1024). 0, or -1.
int aggregator_parse_shard(const char *text, int *shard, int *shards);

#endif
