/*  sec_totals_overflow: a tenant's totals cannot wedge the aggregator (issue #15).

    Redis keeps totals as int64 (HINCRBY). Three tenants, a real ingest, aggregator,
    Postgres and a private redis-server:

      "big"   has events in Postgres whose day total is 36 USD under the int64 limit
              (stored before the per-event caps, or written by hand): the aggregator
              finds it at its rebuild and marks the tenant poisoned instead of writing a
              total that the next event would push past int64;
      "edge"  is 0.000005e18 under the aggregator's guard (9e18) after the rebuild;
              one live cost event at the per-event cap would cross it: the apply script
              refuses the whole message before writing anything, and the tenant is
              poisoned;
      "small" is an ordinary tenant whose live events must keep being applied.

    Then more live messages of big and edge: no rebuild, no Redis error, the
    poisoned-tenant gauge says 2, the overflow counter counts them, and small's Redis
    totals equal SQL. Before this fix the overflowing HINCRBY failed inside the apply
    script (after it had written the applied marker), the aggregator rebuilt the tenant
    from Postgres and did so again for every later message of it.
    The ingest's per-event caps are checked here too: a usage event priced over
    FC_MAX_COST_NUSD is refused with code 15 (range).

    usage: sec_totals_overflow <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> */
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <signal.h>

#include "aggregator_keys.h"
#include "fc_proto.h"
#include "fc_test.h"
#include "it_util.h"
#include "sec_util.h"

static char s_url[512], s_bind[64], s_pub[64], s_sum[64], s_redis_url[64], s_day[11];
static int s_metrics_port;
static redisContext *s_redis;

static int64_t s_metric(const char *name)
{
    char full[128];
    snprintf(full, sizeof full, "fleetcost_aggregator_%s", name);
    return it_metric(s_metrics_port, full);
}

//  A Redis hash field as an integer (-1 when absent).
static int64_t s_hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(s_redis, "HGET %s %s", key, field);
    int64_t v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

static int64_t s_day_cost(const char *tenant)
{
    char key[AGGREGATOR_KEY_MAX];
    aggregator_key_period(key, tenant, false, s_day, AGGREGATOR_PART_HASH);
    return s_hget(key, "cost_nusd");
}

typedef struct {
    const char *what;
    int64_t at_least;
} s_wait_t;

static bool s_metric_reached(void *arg)
{
    s_wait_t *w = arg;
    return s_metric(w->what) >= w->at_least;
}

typedef struct {
    const char *tenant;
    int64_t cost;
} s_cost_wait_t;

static bool s_cost_is(void *arg)
{
    s_cost_wait_t *w = arg;
    return s_day_cost(w->tenant) == w->cost;
}

static void s_cost_event(fc_event_t *ev, const char *tenant, int64_t cost_nusd, int64_t ts_us)
{
    fc_event_init(ev);
    fc_event_id_new(ev->id);
    ev->ts_us = ts_us;
    ev->type = FC_EV_COST;
    snprintf(ev->tenant, sizeof ev->tenant, "%s", tenant);
    snprintf(ev->agent, sizeof ev->agent, "agent-1");
    snprintf(ev->kind, sizeof ev->kind, "other");
    ev->cost_nusd = cost_nusd;
}

//  Stores one cost event of tenant straight into events (as a pre-cap ingest would
//  have): ingest_id "seed", the given seq.
static void s_seed(PGconn *pg, const char *tenant, int64_t cost_nusd, int seq, int64_t ts_us)
{
    char sql[768];
    snprintf(sql, sizeof sql,
             "INSERT INTO events (event_id, event_time, tenant_id, event_type, agent_id,"
             " cost_nusd, cost_kind, ingest_id, seq) VALUES (gen_random_uuid(),"
             " timestamptz 'epoch' + %" PRId64 " * interval '1 microsecond', '%s', 'cost',"
             " 'agent-1', %" PRId64 ", 'other', 'seed', %d)",
             ts_us, tenant, cost_nusd, seq);
    it_sql(pg, sql);
}

static bool s_acked(bool ok)
{
    FC_CHECK(ok);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: sec_totals_overflow <fleetcost> <fleetcost-ingest> <aggregator>\n");
        return 2;
    }
    it_db_create("sec_overflow", argv[1], s_url, sizeof s_url);
    PGconn *pg = it_pg(s_url);
    it_sql(pg, "INSERT INTO tenants (tenant_id) VALUES ('big'), ('edge'), ('small')");
    int64_t now = (int64_t)time(NULL) * 1000000;
    time_t secs = (time_t)(now / 1000000);
    strftime(s_day, sizeof s_day, "%Y-%m-%d", gmtime(&secs));

    //  big: 9,223,372,000,000,000,000 nano-USD today, in two rows (each well inside
    //  bigint); int64 ends at 9,223,372,036,854,775,807.
    s_seed(pg, "big", INT64_C(4611686000000000000), 1, now - 1000000);
    s_seed(pg, "big", INT64_C(4611686000000000000), 2, now - 1000000);
    //  edge: 8,999,995,000,000,000,000: under the guard, and one capped event over it.
    s_seed(pg, "edge", INT64_C(8999995000000000000), 3, now - 1000000);
    s_seed(pg, "small", 1000, 4, now - 1000000);

    char dir[] = "/tmp/sec_overflow_redis.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    int redis_port = it_free_port();
    pid_t redis_pid = it_redis_start(redis_port, dir);
    snprintf(s_redis_url, sizeof s_redis_url, "redis://127.0.0.1:%d/0", redis_port);
    s_redis = redisConnect("127.0.0.1", redis_port);
    snprintf(s_bind, sizeof s_bind, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(s_pub, sizeof s_pub, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(s_sum, sizeof s_sum, "tcp://127.0.0.1:%d", it_free_port());
    s_metrics_port = it_free_port();
    char port[16];
    snprintf(port, sizeof port, "%d", s_metrics_port);
    char *ingest_argv[] = {
        argv[2],          "--insecure", "--pg-url",   s_url,         "--bind",
        s_bind,           "--pub-bind", s_pub,        "--ingest-id", "sec-overflow",
        "--metrics-port", "0",          "--group-ms", "2",           NULL};
    pid_t ingest = it_spawn(ingest_argv, "sec_totals_overflow.ingest.log");
    char *agg_argv[] = {argv[3],       "--insecure", "--pg-url",       s_url,
                        "--redis-url", s_redis_url,  "--ingest-pub",   s_pub,
                        "--bind",      s_sum,        "--interval-ms",  "200",
                        "--rollup-ms", "300",        "--metrics-port", port,
                        NULL};
    pid_t agg = it_spawn(agg_argv, "sec_totals_overflow.log");

    //  1. The rebuild: small and edge are written, big is poisoned (not written).
    s_wait_t rebuilt = {"rebuilds_total", 1};
    FC_CHECK(it_wait(s_metric_reached, &rebuilt, 20000));
    s_cost_wait_t edge0 = {"edge", INT64_C(8999995000000000000)};
    FC_CHECK(it_wait(s_cost_is, &edge0, 10000));
    FC_CHECK_INT(s_day_cost("small"), 1000);
    FC_CHECK_INT(s_day_cost("big"), -1);
    FC_CHECK_INT(s_metric("poisoned_tenants"), 1);

    //  2. Live: small's events are applied; edge's capped event would cross the guard.
    zsock_t *d = sec_dealer(s_bind);
    fc_event_t ev[3];
    int codes[3];
    s_cost_event(&ev[0], "small", 500, now);
    s_cost_event(&ev[1], "edge", FC_MAX_COST_NUSD, now);
    if (s_acked(sec_send(d, 1, ev, 2, codes))) {
        FC_CHECK_INT(codes[0], FC_OK);
        FC_CHECK_INT(codes[1], FC_OK);
    }
    s_wait_t poisoned = {"poisoned_tenants", 2};
    FC_CHECK(it_wait(s_metric_reached, &poisoned, 10000));
    s_cost_wait_t small1 = {"small", 1500};
    FC_CHECK(it_wait(s_cost_is, &small1, 10000));
    //  Nothing of edge's message was written: total and applied marker as rebuilt.
    FC_CHECK_INT(s_day_cost("edge"), INT64_C(8999995000000000000));

    //  3. More messages of the poisoned tenants, then small's: small is applied, and
    //  the poisoned ones cost neither a rebuild nor a Redis error.
    for (int i = 0; i < 5; i++) {
        s_cost_event(&ev[0], "big", INT64_C(100000000000), now);
        s_cost_event(&ev[1], "edge", 1, now);
        if (s_acked(sec_send(d, (uint64_t)(10 + i), ev, 2, codes)))
            FC_CHECK_INT(codes[0] + codes[1], 0);
    }
    s_cost_event(&ev[0], "small", 25, now);
    if (s_acked(sec_send(d, 20, ev, 1, codes)))
        FC_CHECK_INT(codes[0], FC_OK);
    s_cost_wait_t small2 = {"small", 1525};
    FC_CHECK(it_wait(s_cost_is, &small2, 10000));
    //  A rebuild would follow a failed script within a tick or two: give it a second.
    s_wait_t any_rebuild = {"tenant_rebuilds_total", 1};
    FC_CHECK(!it_wait(s_metric_reached, &any_rebuild, 1500));
    FC_CHECK_INT(s_metric("tenant_rebuilds_total"), 0);
    FC_CHECK_INT(s_metric("rebuilds_total"), 1);
    FC_CHECK_INT(s_metric("redis_errors_total"), 0);
    FC_CHECK_INT(s_metric("poisoned_tenants"), 2);
    FC_CHECK(s_metric("overflow_messages_total") >= 11);
    FC_CHECK_INT(s_day_cost("big"), -1);
    FC_CHECK_INT(s_day_cost("edge"), INT64_C(8999995000000000000));
    FC_CHECK_INT(s_day_cost("small"),
                 it_sql_int(pg, "SELECT sum(cost_nusd) FROM events WHERE tenant_id = 'small'"));

    //  4. Ingest's per-event cap on priced usage: a billion output tokens of an
    //  expensive model cost more than FC_MAX_COST_NUSD: refused (range), not stored.
    fc_event_init(&ev[0]);
    fc_event_id_new(ev[0].id);
    ev[0].ts_us = now;
    ev[0].type = FC_EV_USAGE;
    snprintf(ev[0].tenant, sizeof ev[0].tenant, "small");
    snprintf(ev[0].agent, sizeof ev[0].agent, "agent-1");
    snprintf(ev[0].model, sizeof ev[0].model, "claude-opus-4-1");
    ev[0].output_tokens = FC_MAX_TOKENS;
    if (s_acked(sec_send(d, 30, ev, 1, codes)))
        FC_CHECK_INT(codes[0], FC_E_RANGE);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE event_type = 'usage'"), 0);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM dead_letters WHERE code = 'range'"), 1);

    zsock_destroy(&d);
    FC_CHECK_INT(it_stop(agg, SIGTERM, 10000), 0);
    FC_CHECK_INT(it_stop(ingest, SIGTERM, 10000), 0);
    redisFree(s_redis);
    it_stop(redis_pid, SIGTERM, 5000);
    PQfinish(pg);
    it_db_drop("sec_overflow");
    return fc_test_done("sec_totals_overflow");
}
