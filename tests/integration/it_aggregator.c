/*  it_aggregator: the real fleetcost-aggregator between two real fleetcost-ingest
    instances, a real Postgres and a private redis-server. 50,000 events over four
    tenants in four time zones (one with a half-hour offset) and several days, late
    events included, sent in phases that each break something:

      0. events stored before the aggregator exists (it starts on an empty Redis and
         rebuilds from Postgres);
      1. live traffic;
      2. kill -9 of the aggregator mid-stream, traffic while it is down, restart;
      3. FLUSHALL of Redis mid-stream;
      4. an aggregator that loses one live message in seven (--debug-drop 7);
      5. a replay: the aggregator's progress is deleted and it restarts, so every stored
         message goes through the apply script a second time.

    After each phase every Redis figure (per tenant and tenant-local day and month:
    totals, token kinds, counts, each breakdown field, active agents, task costs) must
    equal the same sum computed in SQL from events, as integers, with no extra fields.
    A billing consumer subscribed to sum.<tenant> throughout must end with the final
    figures, with revisions that only ever increase. cost_summaries must match too.

    usage: it_aggregator <fleetcost> <fleetcost-ingest> <fleetcost-aggregator> */
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>

#include "aggregator.h"
#include "aggregator_keys.h"
#include "aggregator_pg.h"
#include "aggregator_tz.h"
#include "fc_pg.h"
#include "fc_proto.h"
#include "fc_test.h"
#include "it_util.h"

#define NTENANTS 4
static const char *s_tenant[NTENANTS] = {"t-utc", "t-la", "t-kol", "t-akl"};
static const char *s_tz[NTENANTS] = {"UTC", "America/Los_Angeles", "Asia/Kolkata",
                                     "Pacific/Auckland"};

static char s_url[512];
static char *s_ingest_bin, *s_agg_bin;
static char s_bind[2][64], s_pub[2][64], s_sum[64], s_redis_url[64], s_ingest_pubs[160];
static pid_t s_ingest_pid[2], s_agg_pid;
static int s_redis_port, s_metrics_port;
static PGconn *s_pg;
static redisContext *s_redis;

static void s_start_ingest(int i)
{
    char id[32];
    snprintf(id, sizeof id, "it-agg-%c", 'a' + i);
    char *argv[] = {s_ingest_bin,     "--insecure", "--pg-url",   s_url,         "--bind",
                    s_bind[i],        "--pub-bind", s_pub[i],     "--ingest-id", id,
                    "--metrics-port", "0",          "--group-ms", "2",           NULL};
    s_ingest_pid[i] = it_spawn(argv, "it_aggregator.ingest.log");
}

static void s_start_aggregator(const char *debug_drop)
{
    char port[16];
    snprintf(port, sizeof port, "%d", s_metrics_port);
    char *argv[] = {s_agg_bin,
                    "--insecure",
                    "--pg-url",
                    s_url,
                    "--redis-url",
                    s_redis_url,
                    "--ingest-pub",
                    s_ingest_pubs,
                    "--bind",
                    s_sum,
                    "--interval-ms",
                    "200",
                    "--rollup-ms",
                    "300",
                    "--heartbeat-timeout-ms",
                    "1500",
                    "--metrics-port",
                    port,
                    "--debug-drop",
                    (char *)debug_drop,
                    NULL};
    s_agg_pid = it_spawn(argv, "it_aggregator.log");
}

//  --- events -------------------------------------------------------------------------

static uint64_t s_rng = 88172645463325252ULL;
static uint64_t s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static int64_t s_wall_us(void)
{
    return zclock_time() * 1000;
}

//  A usage (9 in 10) or cost event of a random tenant, mostly within the last 30 hours
//  (today and yesterday in every zone), one in 20 a late event 2..6 days old.
static void s_event(fc_event_t *ev)
{
    static const char *types[] = {"coder", "reviewer", "planner", ""};
    static const char *models[] = {"claude-sonnet-4-5-20250929", "claude-opus-4-1",
                                   "claude-haiku-4-5", "mystery-model-7"};
    static const char *kinds[] = {"runtime", "storage", "mcp", "other"};
    fc_event_init(ev);
    fc_event_id_new(ev->id);
    uint64_t r = s_rand();
    int64_t back = r % 20 == 0 ? (int64_t)(2 * 86400 + s_rand() % (4 * 86400)) * 1000000
                               : (int64_t)(s_rand() % (30 * 3600)) * 1000000;
    ev->ts_us = s_wall_us() - back - (int64_t)(s_rand() % 1000000);
    snprintf(ev->tenant, sizeof ev->tenant, "%s", s_tenant[s_rand() % NTENANTS]);
    snprintf(ev->agent, sizeof ev->agent, "agent-%d", (int)(s_rand() % 20));
    snprintf(ev->agent_type, sizeof ev->agent_type, "%s", types[s_rand() % 4]);
    if (s_rand() % 5)
        snprintf(ev->task, sizeof ev->task, "task-%d", (int)(s_rand() % 50));
    if (s_rand() % 10 == 0) {
        ev->type = FC_EV_COST;
        snprintf(ev->kind, sizeof ev->kind, "%s", kinds[s_rand() % 4]);
        ev->cost_nusd = (int64_t)(s_rand() % 2000000000);
        return;
    }
    ev->type = FC_EV_USAGE;
    snprintf(ev->model, sizeof ev->model, "%s", models[s_rand() % 4]);
    //  One in eight in fast mode: on Opus 4.6 (priced 6x), or on a model without a fast
    //  price (unpriced); the cost splits by speed and by provider.
    if (s_rand() % 8 == 0) {
        snprintf(ev->speed, sizeof ev->speed, "fast");
        if (s_rand() % 2)
            snprintf(ev->model, sizeof ev->model, "claude-opus-4-6");
    }
    ev->input_tokens = (int64_t)(s_rand() % 50000);
    ev->output_tokens = (int64_t)(s_rand() % 8000);
    ev->cache_read_tokens = (int64_t)(s_rand() % 200000);
    ev->cache_write_5m_tokens = (int64_t)(s_rand() % 3000);
    ev->cache_write_1h_tokens = (int64_t)(s_rand() % 1000);
}

//  The billing consumer reads as it goes, like a real one (a SUB socket only attaches
//  its connection, and so subscribes, when its owner calls into it).
static zsock_t *s_billing;
static void s_billing_drain(zsock_t *sub);

static zsock_t *s_dealer[2];
static uint64_t s_batch_id;
static int64_t s_sent;

//  Sends n events in batches of 500, alternating between the two ingests; every batch
//  must be acked with every event stored.
static void s_send(int n)
{
    static fc_event_t ev;
    uint8_t buf[FC_MAX_EVENT_BYTES];
    fc_proto_error_t err;
    while (n > 0) {
        int k = n < 500 ? n : 500;
        fc_batch_writer_t *w = fc_batch_writer_new(++s_batch_id);
        for (int i = 0; i < k; i++) {
            s_event(&ev);
            int len = fc_event_encode(&ev, buf, sizeof buf, &err);
            if (len < 0 || fc_batch_writer_add(w, buf, (size_t)len) != 0) {
                fprintf(stderr, "encode: %s %s\n", err.field, err.reason);
                exit(2);
            }
        }
        size_t size;
        uint8_t *data = fc_batch_writer_finish(w, &size);
        fc_batch_writer_destroy(&w);
        zsock_t *d = s_dealer[s_batch_id % 2];
        zframe_t *f = zframe_new(data, size);
        free(data);
        zframe_send(&f, d, 0);
        zframe_t *reply = zframe_recv(d);
        FC_CHECK(reply != NULL);
        if (reply) {
            fc_ack_t ack = {0};
            FC_CHECK_INT(fc_ack_decode(zframe_data(reply), zframe_size(reply), &ack, &err), FC_OK);
            int ok = 0;
            for (uint32_t i = 0; i < ack.count; i++)
                ok += ack.results[i].code == FC_OK;
            FC_CHECK_INT(ok, k);
            fc_ack_clear(&ack);
            zframe_destroy(&reply);
        }
        s_sent += k;
        n -= k;
        s_billing_drain(s_billing);
    }
}

//  --- Redis versus SQL -----------------------------------------------------------------

static redisReply *s_cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(s_redis, fmt, ap);
    va_end(ap);
    if (!r) {
        fprintf(stderr, "it: redis: %s\n", s_redis->errstr);
        exit(2);
    }
    return r;
}

static int64_t s_hget(const char *key, const char *field)
{
    redisReply *r = s_cmd("HGET %s %s", key, field);
    int64_t v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : INT64_MIN;
    freeReplyObject(r);
    return v;
}

static int64_t s_int_cmd(const char *fmt, const char *key)
{
    redisReply *r = s_cmd(fmt, key);
    int64_t v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return v;
}

//  The expected figures. period: 'YYYY-MM-DD' (day) or 'YYYY-MM' (month).
static const char *s_sql_totals =
    "SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, %s), sum(cost_nusd),"
    " sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),"
    " sum(cache_write_5m_tokens), sum(cache_write_1h_tokens), count(*),"
    " count(*) FILTER (WHERE unpriced), sum(coalesce(billed_nusd, cost_nusd)),"
    " count(DISTINCT agent_id)"
    " FROM events e JOIN tenants t USING (tenant_id) WHERE cost_kind IS NOT NULL"
    " GROUP BY 1, 2 ORDER BY 1, 2";
static const char *s_sql_fields =
    "SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, %s), f, sum(e.cost_nusd)"
    " FROM events e JOIN tenants t USING (tenant_id)"
    " LEFT JOIN price_versions p ON p.version_id = e.price_version,"
    " LATERAL (VALUES ('agent_type:' || coalesce(e.agent_type, '')),"
    "  ('model:' || coalesce(e.model_family, '')), ('agent:' || coalesce(e.agent_id, '')),"
    "  ('kind:' || e.cost_kind),"
    //  Usage without a speed is standard; cost events have none (PROTOCOL.md §12).
    "  ('speed:' || CASE WHEN e.event_type = 'usage' THEN coalesce(e.speed, 'standard')"
    "              ELSE '' END),"
    "  ('provider:' || coalesce(p.provider, ''))) AS x(f)"
    " WHERE e.cost_kind IS NOT NULL GROUP BY 1, 2, 3";
static const char *s_sql_tasks =
    "SELECT e.tenant_id, to_char(e.event_time AT TIME ZONE t.tz, %s), task_id, sum(cost_nusd)"
    " FROM events e JOIN tenants t USING (tenant_id)"
    " WHERE cost_kind IS NOT NULL AND task_id IS NOT NULL GROUP BY 1, 2, 3";

static const char *s_totals_names[AGGREGATOR_TOTALS] = {"cost_nusd",
                                                        "input_tokens",
                                                        "output_tokens",
                                                        "cache_read_tokens",
                                                        "cache_write_5m_tokens",
                                                        "cache_write_1h_tokens",
                                                        "events",
                                                        "unpriced_events",
                                                        "billed_nusd"};

//  Counts mismatches between Redis and SQL for days (month false) or months; prints
//  them when verbose.
static int s_mismatches(bool month, bool verbose)
{
    const char *fmt = month ? "'YYYY-MM'" : "'YYYY-MM-DD'";
    const char *what = month ? "month" : "day";
    char sql[2048];
    int bad = 0;
    snprintf(sql, sizeof sql, s_sql_totals, fmt);
    PGresult *r = PQexec(s_pg, sql);
    int64_t fields_expected = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        char key[AGGREGATOR_KEY_MAX];
        aggregator_key_period(key, PQgetvalue(r, i, 0), month, PQgetvalue(r, i, 1),
                              AGGREGATOR_PART_HASH);
        for (int k = 0; k < AGGREGATOR_TOTALS; k++) {
            int64_t want = fc_pg_int(r, i, 2 + k), got = s_hget(key, s_totals_names[k]);
            if (want != got) {
                bad++;
                if (verbose)
                    fprintf(stderr, "%s %s: redis %" PRId64 ", sql %" PRId64 "\n", key,
                            s_totals_names[k], got, want);
            }
        }
        char agents[AGGREGATOR_KEY_MAX];
        aggregator_key_period(agents, PQgetvalue(r, i, 0), month, PQgetvalue(r, i, 1),
                              AGGREGATOR_PART_AGENTS);
        int64_t want = fc_pg_int(r, i, 2 + AGGREGATOR_TOTALS);
        int64_t got = s_int_cmd("SCARD %s", agents);
        if (want != got) {
            bad++;
            if (verbose)
                fprintf(stderr, "%s active agents: redis %" PRId64 ", sql %" PRId64 "\n", key, got,
                        want);
        }
        fields_expected -= s_int_cmd("HLEN %s", key) - AGGREGATOR_TOTALS;
    }
    PQclear(r);
    snprintf(sql, sizeof sql, s_sql_fields, fmt);
    r = PQexec(s_pg, sql);
    fields_expected += PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++) {
        char key[AGGREGATOR_KEY_MAX];
        aggregator_key_period(key, PQgetvalue(r, i, 0), month, PQgetvalue(r, i, 1),
                              AGGREGATOR_PART_HASH);
        int64_t want = fc_pg_int(r, i, 3), got = s_hget(key, PQgetvalue(r, i, 2));
        if (want != got) {
            bad++;
            if (verbose)
                fprintf(stderr, "%s %s: redis %" PRId64 ", sql %" PRId64 "\n", key,
                        PQgetvalue(r, i, 2), got, want);
        }
    }
    PQclear(r);
    //  No field in Redis that SQL does not have: HLEN - AGGREGATOR_TOTALS summed equals the SQL
    //  rows.
    if (fields_expected != 0) {
        bad++;
        if (verbose)
            fprintf(stderr, "%s hashes: %" PRId64 " breakdown fields too few\n", what,
                    fields_expected);
    }
    snprintf(sql, sizeof sql, s_sql_tasks, fmt);
    r = PQexec(s_pg, sql);
    for (int i = 0; i < PQntuples(r); i++) {
        char key[AGGREGATOR_KEY_MAX];
        aggregator_key_period(key, PQgetvalue(r, i, 0), month, PQgetvalue(r, i, 1),
                              AGGREGATOR_PART_TASKCOST);
        int64_t want = fc_pg_int(r, i, 3), got = s_hget(key, PQgetvalue(r, i, 2));
        if (want != got) {
            bad++;
            if (verbose)
                fprintf(stderr, "%s %s: redis %" PRId64 ", sql %" PRId64 "\n", key,
                        PQgetvalue(r, i, 2), got, want);
        }
    }
    PQclear(r);
    return bad;
}

static bool s_exact(void *arg)
{
    s_billing_drain(s_billing);
    return s_mismatches(false, false) == 0 && s_mismatches(true, false) == 0;
}

//  Waits until Redis equals SQL (the aggregator catches up asynchronously), then checks
//  once more, reporting any difference.
static void s_check_exact(const char *phase)
{
    int64_t t0 = it_now_us();
    bool ok = it_wait(s_exact, NULL, 60000);
    printf("%s: %s after %.1f s (%" PRId64 " events sent)\n", phase, ok ? "exact" : "NOT exact",
           (double)(it_now_us() - t0) / 1e6, s_sent);
    FC_CHECK_INT(s_mismatches(false, true), 0);
    FC_CHECK_INT(s_mismatches(true, true), 0);
}

//  --- the billing consumer ------------------------------------------------------------

typedef struct {
    char tenant[64], day[11], month[8];
    int64_t rev;
    bool closed;
    int64_t day_v[AGGREGATOR_TOTALS + 1], month_v[AGGREGATOR_TOTALS + 1]; //  totals + agents
} summary_t;

#define MAX_SUMMARIES 512
static summary_t s_last[MAX_SUMMARIES]; //  latest per (tenant, day)
static int s_nlast;
static int64_t s_last_rev[NTENANTS];
static int s_rev_regressions, s_summaries, s_closed_late, s_bad_fields;

static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, kv->key.via.str.size) == 0)
            return &kv->val;
    }
    return NULL;
}

static int64_t s_get_int(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = map ? s_get(map, key) : NULL;
    if (!o)
        return INT64_MIN;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return (int64_t)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return o->via.i64;
    return INT64_MIN;
}

static void s_get_str(const msgpack_object *map, const char *key, char *out, size_t size)
{
    const msgpack_object *o = s_get(map, key);
    if (o && o->type == MSGPACK_OBJECT_STR)
        snprintf(out, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    else
        snprintf(out, size, "?");
}

//  Reads every summary waiting on the socket.
static void s_billing_drain(zsock_t *sub)
{
    while (zsock_events(sub) & ZMQ_POLLIN) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            break;
        zframe_t *topic = zmsg_first(m), *body = zmsg_next(m);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (body && msgpack_unpack_next(&u, (const char *)zframe_data(body), zframe_size(body),
                                        NULL) == MSGPACK_UNPACK_SUCCESS) {
            const msgpack_object *o = &u.data;
            summary_t s = {0};
            s_get_str(o, "tenant", s.tenant, sizeof s.tenant);
            s_get_str(o, "day", s.day, sizeof s.day);
            s_get_str(o, "month", s.month, sizeof s.month);
            s.rev = s_get_int(o, "revision");
            //  Every tenant has events, so as_of (newest applied event) is set, and the
            //  seqs name both ingest instances.
            if (s_get_int(o, "as_of") <= 0)
                s_bad_fields++;
            const msgpack_object *seqs = s_get(o, "seqs");
            if (!seqs || seqs->type != MSGPACK_OBJECT_MAP || seqs->via.map.size != 2)
                s_bad_fields++;
            const msgpack_object *closed = s_get(o, "closed");
            s.closed = closed && closed->type == MSGPACK_OBJECT_BOOLEAN && closed->via.boolean;
            const msgpack_object *dt = s_get(o, "day_totals"), *mt = s_get(o, "month_totals");
            for (int k = 0; k < AGGREGATOR_TOTALS; k++) {
                s.day_v[k] = s_get_int(dt, s_totals_names[k]);
                s.month_v[k] = s_get_int(mt, s_totals_names[k]);
            }
            s.day_v[AGGREGATOR_TOTALS] = s_get_int(dt, "agents");
            s.month_v[AGGREGATOR_TOTALS] = s_get_int(mt, "agents");
            char expect[80];
            snprintf(expect, sizeof expect, "sum.%s.", s.tenant);
            FC_CHECK(zframe_streq(topic, expect));
            FC_CHECK_INT(s_get_int(o, "v"), 1);
            s_summaries++;
            for (int t = 0; t < NTENANTS; t++)
                if (strcmp(s.tenant, s_tenant[t]) == 0) {
                    if (s.rev <= s_last_rev[t])
                        s_rev_regressions++;
                    s_last_rev[t] = s.rev;
                }
            char today[11];
            for (int t = 0; t < NTENANTS; t++)
                if (strcmp(s.tenant, s_tenant[t]) == 0) {
                    aggregator_tz_t tz;
                    aggregator_tz_init(&tz, s_tz[t]);
                    snprintf(today, sizeof today, "%s", aggregator_tz_day(&tz, s_wall_us())->day);
                    if (strcmp(s.day, today) < 0 && s.closed)
                        s_closed_late++;
                }
            int slot = -1;
            for (int i = 0; i < s_nlast && slot < 0; i++)
                if (strcmp(s_last[i].tenant, s.tenant) == 0 && strcmp(s_last[i].day, s.day) == 0)
                    slot = i;
            if (slot < 0 && s_nlast < MAX_SUMMARIES)
                slot = s_nlast++;
            if (slot >= 0 && s.rev > s_last[slot].rev)
                s_last[slot] = s;
        }
        msgpack_unpacked_destroy(&u);
        zmsg_destroy(&m);
    }
}

//  Mismatches between the consumer's latest figures and SQL (per day, and per month
//  from the latest summary naming that month).
static int s_billing_mismatches(bool verbose)
{
    int bad = 0;
    for (int pass = 0; pass < 2; pass++) {
        char sql[1024];
        snprintf(sql, sizeof sql, s_sql_totals, pass ? "'YYYY-MM'" : "'YYYY-MM-DD'");
        PGresult *r = PQexec(s_pg, sql);
        for (int i = 0; i < PQntuples(r); i++) {
            const char *tenant = PQgetvalue(r, i, 0), *period = PQgetvalue(r, i, 1);
            const summary_t *best = NULL;
            for (int k = 0; k < s_nlast; k++)
                if (strcmp(s_last[k].tenant, tenant) == 0 &&
                    strcmp(pass ? s_last[k].month : s_last[k].day, period) == 0 &&
                    (!best || s_last[k].rev > best->rev))
                    best = &s_last[k];
            for (int k = 0; k <= AGGREGATOR_TOTALS; k++) {
                int64_t want = fc_pg_int(r, i, 2 + k);
                int64_t got = best ? (pass ? best->month_v[k] : best->day_v[k]) : -1;
                if (want != got) {
                    bad++;
                    if (verbose)
                        fprintf(stderr,
                                "billing %s %s field %d: summary %" PRId64 ", sql %" PRId64 "\n",
                                tenant, period, k, got, want);
                }
            }
        }
        PQclear(r);
    }
    return bad;
}

static bool s_billing_exact(void *arg)
{
    s_billing_drain(s_billing);
    return s_billing_mismatches(false) == 0;
}

//  --- cost_summaries -------------------------------------------------------------------

static const char *s_sql_rollup_bad =
    "SELECT count(*) FROM (SELECT e.tenant_id, (e.event_time AT TIME ZONE t.tz)::date AS day,"
    " sum(cost_nusd) AS cost, count(*) AS n, sum(input_tokens) AS i"
    " FROM events e JOIN tenants t USING (tenant_id) WHERE cost_kind IS NOT NULL"
    " GROUP BY 1, 2) s FULL JOIN (SELECT * FROM cost_summaries WHERE dimension = 'total') c"
    " ON c.tenant_id = s.tenant_id AND c.day = s.day"
    " WHERE c.cost_nusd IS DISTINCT FROM s.cost OR c.events IS DISTINCT FROM s.n"
    " OR c.input_tokens IS DISTINCT FROM s.i";

static bool s_rollups_exact(void *arg)
{
    return it_sql_int(s_pg, s_sql_rollup_bad) == 0;
}

//  --- the test --------------------------------------------------------------------------

//  Children left behind when the test exits early (an it_* helper failing) are killed.
static pid_t s_redis_pid;
static void s_cleanup(void)
{
    pid_t pids[4] = {s_agg_pid, s_ingest_pid[0], s_ingest_pid[1], s_redis_pid};
    for (int i = 0; i < 4; i++)
        if (pids[i] > 0 && kill(pids[i], 0) == 0)
            it_stop(pids[i], SIGKILL, 5000);
}

static void s_stop_aggregator(void)
{
    FC_CHECK_INT(it_stop(s_agg_pid, SIGTERM, 15000), 0);
    s_agg_pid = 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: it_aggregator <fleetcost> <fleetcost-ingest> <aggregator>\n");
        return 2;
    }
    int64_t started = it_now_us();
    s_ingest_bin = argv[2];
    s_agg_bin = argv[3];

    //  Units first: shard hashing is stable and spreads; tenant-local days match what
    //  Postgres computes (checked below against SQL as a whole).
    FC_CHECK_INT(aggregator_shard_of("acme", 1), 0);
    int per[4] = {0};
    char name[32];
    for (int i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "tenant-%d", i);
        per[aggregator_shard_of(name, 4)]++;
    }
    for (int i = 0; i < 4; i++)
        FC_CHECK(per[i] > 60);
    int shard, shards;
    FC_CHECK(aggregator_parse_shard("1/4", &shard, &shards) == 0 && shard == 1 && shards == 4);
    FC_CHECK_INT(aggregator_parse_shard("4/4", &shard, &shards), -1);
    aggregator_tz_t kol;
    aggregator_tz_init(&kol, "Asia/Kolkata");
    //  2026-03-01T18:29:59Z is 23:59:59 in Kolkata; one second later the next day.
    FC_CHECK_STR(aggregator_tz_day(&kol, INT64_C(1772389799) * 1000000)->day, "2026-03-01");
    FC_CHECK_STR(aggregator_tz_day(&kol, INT64_C(1772389800) * 1000000)->day, "2026-03-02");

    //  IT_AGGREGATOR_DB lets a second copy of this test run beside a suite run.
    const char *db = getenv("IT_AGGREGATOR_DB") ? getenv("IT_AGGREGATOR_DB") : "aggregator";
    it_db_create(db, argv[1], s_url, sizeof s_url);
    atexit(s_cleanup);
    s_pg = it_pg(s_url);
    for (int i = 0; i < NTENANTS; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "INSERT INTO tenants (tenant_id, tz) VALUES ('%s', '%s')",
                 s_tenant[i], s_tz[i]);
        it_sql(s_pg, sql);
    }
    char dir[] = "/tmp/it_aggregator_redis.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    s_redis_port = it_free_port();
    s_redis_pid = it_redis_start(s_redis_port, dir);
    snprintf(s_redis_url, sizeof s_redis_url, "redis://127.0.0.1:%d/0", s_redis_port);
    s_redis = redisConnect("127.0.0.1", s_redis_port);
    for (int i = 0; i < 2; i++) {
        snprintf(s_bind[i], sizeof s_bind[i], "tcp://127.0.0.1:%d", it_free_port());
        snprintf(s_pub[i], sizeof s_pub[i], "tcp://127.0.0.1:%d", it_free_port());
        s_start_ingest(i);
        s_dealer[i] = zsock_new(ZMQ_DEALER);
        zsock_set_linger(s_dealer[i], 0);
        zsock_set_rcvtimeo(s_dealer[i], 20000);
        zsock_connect(s_dealer[i], "%s", s_bind[i]);
    }
    snprintf(s_ingest_pubs, sizeof s_ingest_pubs, "%s,%s", s_pub[0], s_pub[1]);
    snprintf(s_sum, sizeof s_sum, "tcp://127.0.0.1:%d", it_free_port());
    s_metrics_port = it_free_port();
    //  No high-water mark: the consumer reads only at the end and must see the last ones.
    s_billing = zsock_new(ZMQ_SUB);
    zsock_set_rcvhwm(s_billing, 0);
    zsock_set_subscribe(s_billing, "sum.");
    zsock_connect(s_billing, "%s", s_sum);

    //  0. Stored before any aggregator runs.
    s_send(4000);
    s_start_aggregator("0");
    s_check_exact("0 (started late on an empty redis)");
    //  1. Live.
    s_send(10000);
    s_check_exact("1 (live)");
    //  2. kill -9 mid-stream; traffic while it is down; restart.
    s_send(3000);
    FC_CHECK_INT(it_stop(s_agg_pid, SIGKILL, 5000), 128 + SIGKILL);
    s_agg_pid = 0;
    s_send(5000);
    s_start_aggregator("0");
    s_send(2000);
    s_check_exact("2 (kill -9 and restart)");
    //  3. FLUSHALL mid-stream.
    s_send(4000);
    freeReplyObject(s_cmd("FLUSHALL"));
    s_send(6000);
    s_check_exact("3 (FLUSHALL mid-stream)");
    FC_CHECK(it_metric(s_metrics_port, "fleetcost_aggregator_rebuilds_total") >= 1);
    //  4. A subscriber that loses messages.
    s_stop_aggregator();
    s_start_aggregator("7");
    s_send(10000);
    s_check_exact("4 (one live message in seven lost)");
    FC_CHECK(it_metric(s_metrics_port, "fleetcost_aggregator_debug_dropped_total") > 0);
    FC_CHECK(it_metric(s_metrics_port, "fleetcost_aggregator_gaps_total") > 0);
    s_stop_aggregator();

    //  5. Replay: the shard forgets its progress, so on restart every stored message of
    //  both ingests is applied again from Postgres. The markers must make that a no-op:
    //  the totals before and after are the same figures, and every message is skipped.
    s_start_aggregator("0");
    s_send(6000);
    s_check_exact("5a (before replay)");
    s_stop_aggregator();
    char kol_month[AGGREGATOR_KEY_MAX], progress[AGGREGATOR_KEY_MAX];
    aggregator_key_period(kol_month, "t-kol", true, aggregator_tz_day(&kol, s_wall_us())->month,
                          AGGREGATOR_PART_HASH);
    aggregator_key_progress(progress, "0-1");
    redisReply *before = s_cmd("HGETALL %s", kol_month);
    freeReplyObject(s_cmd("DEL %s", progress));
    s_start_aggregator("0");
    int64_t messages = it_sql_int(s_pg, "SELECT count(*) FROM (SELECT DISTINCT ingest_id, seq"
                                        " FROM events WHERE cost_kind IS NOT NULL) m");
    bool replayed = false;
    int64_t deadline = it_now_us() + 60000000;
    while (!replayed && it_now_us() < deadline) {
        int64_t skipped = it_metric(s_metrics_port, "fleetcost_aggregator_messages_skipped_total");
        replayed = skipped >= messages;
        if (!replayed)
            usleep(50000);
    }
    int64_t caught = it_metric(s_metrics_port, "fleetcost_aggregator_caught_up_messages_total");
    printf("5b: replay: %" PRId64 " messages re-applied from postgres, %" PRId64 " skipped\n",
           caught, it_metric(s_metrics_port, "fleetcost_aggregator_messages_skipped_total"));
    FC_CHECK(replayed);
    FC_CHECK(caught >= messages);
    redisReply *after = s_cmd("HGETALL %s", kol_month);
    FC_CHECK(before->type == REDIS_REPLY_ARRAY && before->elements > 16);
    FC_CHECK_INT(after->elements, before->elements);
    int differ = 0;
    for (size_t i = 0; i + 1 < before->elements; i += 2) {
        if (s_hget(kol_month, before->element[i]->str) !=
            strtoll(before->element[i + 1]->str, NULL, 10))
            differ++;
    }
    FC_CHECK_INT(differ, 0);
    freeReplyObject(before);
    freeReplyObject(after);
    s_check_exact("5b (after replaying every message)");

    //  The billing consumer ends with the final figures of every tenant-day and month,
    //  revisions only increase, and late events produced corrected summaries of closed
    //  days.
    bool billing = it_wait(s_billing_exact, NULL, 20000);
    FC_CHECK(billing);
    FC_CHECK_INT(s_billing_mismatches(true), 0);
    FC_CHECK_INT(s_rev_regressions, 0);
    FC_CHECK_INT(s_bad_fields, 0);
    FC_CHECK(s_closed_late > 0);
    printf("billing: %d summaries, %d of closed days\n", s_summaries, s_closed_late);

    //  cost_summaries: a total row per tenant-day equal to SQL; days before yesterday
    //  are final.
    bool rolled = it_wait(s_rollups_exact, NULL, 20000);
    FC_CHECK(rolled);
    FC_CHECK_INT(it_sql_int(s_pg, s_sql_rollup_bad), 0);
    FC_CHECK(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries WHERE final"
                              " AND dimension = 'total'") > 0);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries c JOIN tenants t"
                                  " USING (tenant_id) WHERE NOT final"
                                  " AND day < (now() AT TIME ZONE t.tz)::date - 1"),
                 0);
    FC_CHECK_INT(s_sent, 50000);
    //  The split by speed and by provider: each adds up to the day's total, and holds
    //  what was sent (fast Opus 4.6 priced; unpriced usage and cost events under '').
    FC_CHECK_INT(it_sql_int(s_pg,
                            "SELECT count(*) FROM (SELECT tenant_id, day, dimension,"
                            " sum(cost_nusd) AS c FROM cost_summaries GROUP BY 1, 2, 3) s"
                            " JOIN (SELECT tenant_id, day, cost_nusd FROM cost_summaries"
                            " WHERE dimension = 'total') t USING (tenant_id, day)"
                            " WHERE s.dimension IN ('speed', 'provider') AND s.c <> t.cost_nusd"),
                 0);
    FC_CHECK(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries WHERE dimension = 'speed'"
                              " AND key = 'fast' AND cost_nusd > 0") > 0);
    FC_CHECK(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries WHERE dimension = 'speed'"
                              " AND key = 'standard' AND cost_nusd > 0") > 0);
    FC_CHECK(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries WHERE dimension = 'provider'"
                              " AND key = 'anthropic' AND cost_nusd > 0") > 0);
    //  Final rollups hold the tokens by price version and tier (the reports' cache
    //  savings over closed days): every final tenant-day's 'price' rows equal SQL.
    FC_CHECK_INT(
        it_sql_int(
            s_pg, "SELECT count(*) FROM (SELECT e.tenant_id, (e.event_time AT TIME ZONE t.tz)::date"
                  "  AS day, e.price_version || CASE WHEN e.price_tiered THEN ':t' ELSE ':f' END"
                  "  AS key, sum(e.cache_read_tokens) AS cr, sum(e.cache_write_5m_tokens) AS w5"
                  "  FROM events e JOIN tenants t USING (tenant_id)"
                  "  WHERE e.price_version IS NOT NULL GROUP BY 1, 2, 3) x"
                  " JOIN cost_summaries f ON f.tenant_id = x.tenant_id AND f.day = x.day"
                  "  AND f.dimension = 'total' AND f.final"
                  " LEFT JOIN cost_summaries s ON s.tenant_id = x.tenant_id AND s.day = x.day"
                  "  AND s.dimension = 'price' AND s.key = x.key"
                  " WHERE s.cache_read_tokens IS DISTINCT FROM x.cr"
                  "  OR s.cache_write_5m_tokens IS DISTINCT FROM x.w5"),
        0);
    FC_CHECK(it_sql_int(s_pg, "SELECT count(*) FROM cost_summaries WHERE dimension = 'price'"
                              " AND key LIKE '%:f' AND final") > 0);
    FC_CHECK_INT(it_sql_int(s_pg, "SELECT count(*) FROM events WHERE speed = 'fast'"
                                  " AND model_family = 'claude-opus-4-6' AND unpriced"),
                 0);

    s_stop_aggregator();
    for (int i = 0; i < 2; i++) {
        FC_CHECK_INT(it_stop(s_ingest_pid[i], SIGTERM, 15000), 0);
        s_ingest_pid[i] = 0;
        zsock_destroy(&s_dealer[i]);
    }
    zsock_destroy(&s_billing);
    redisFree(s_redis);
    it_stop(s_redis_pid, SIGTERM, 5000);
    s_redis_pid = 0;
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm) != 0)
        fprintf(stderr, "it: could not remove %s\n", dir);
    PQfinish(s_pg);
    printf("it_aggregator: %.1f s\n", (double)(it_now_us() - started) / 1e6);
    int rc = fc_test_done("it_aggregator");
    if (rc == 0)
        it_db_drop(db);
    return rc;
}
