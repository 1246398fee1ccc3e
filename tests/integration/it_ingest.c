/*  it_ingest: the real fleetcost-ingest against a real Postgres, driven by raw
    DEALER sockets so every frame is under the test's control.

    usage: it_ingest <fleetcost binary> <fleetcost-ingest binary> */
#include <czmq.h>
#include <inttypes.h>

#include "fc_proto.h"
#include "fc_stream.h"
#include "fc_test.h"
#include "it_util.h"

static char s_url[512];
static char *s_ingest_bin;
static char s_bind[64], s_pub[64];
static pid_t s_pid;

static void s_start_ingest(void)
{
    char *argv[] = {s_ingest_bin,     "--insecure", "--pg-url",   s_url,         "--bind",
                    s_bind,           "--pub-bind", s_pub,        "--ingest-id", "it-ingest",
                    "--metrics-port", "0",          "--group-ms", "2",           NULL};
    s_pid = it_spawn(argv, "it_ingest.log");
}

static zsock_t *s_dealer(void)
{
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_set_linger(d, 0);
    zsock_set_rcvtimeo(d, 15000);
    zsock_connect(d, "%s", s_bind);
    return d;
}

static void s_usage(fc_event_t *ev, const char *tenant, const char *agent, const char *model,
                    int64_t in, int64_t out, int64_t cr, int64_t cw5, int64_t cw1)
{
    fc_event_init(ev);
    fc_event_id_new(ev->id);
    ev->ts_us = (int64_t)time(NULL) * 1000000;
    ev->type = FC_EV_USAGE;
    snprintf(ev->tenant, sizeof ev->tenant, "%s", tenant);
    snprintf(ev->agent, sizeof ev->agent, "%s", agent);
    snprintf(ev->agent_type, sizeof ev->agent_type, "coder");
    snprintf(ev->model, sizeof ev->model, "%s", model);
    ev->input_tokens = in;
    ev->output_tokens = out;
    ev->cache_read_tokens = cr;
    ev->cache_write_5m_tokens = cw5;
    ev->cache_write_1h_tokens = cw1;
}

//  Encodes events (and raw extra event payloads) into one batch frame.
static zframe_t *s_batch(uint64_t id, fc_event_t *evs, int n, const uint8_t **raw,
                         const size_t *raw_size, int nraw)
{
    fc_batch_writer_t *w = fc_batch_writer_new(id);
    uint8_t buf[FC_MAX_EVENT_BYTES];
    fc_proto_error_t err;
    for (int i = 0; i < n; i++) {
        int len = fc_event_encode(&evs[i], buf, sizeof buf, &err);
        if (len < 0) {
            fprintf(stderr, "encode: %s %s\n", err.field, err.reason);
            exit(2);
        }
        FC_CHECK_INT(fc_batch_writer_add(w, buf, (size_t)len), 0);
    }
    for (int i = 0; i < nraw; i++)
        FC_CHECK_INT(fc_batch_writer_add(w, raw[i], raw_size[i]), 0);
    size_t size;
    uint8_t *data = fc_batch_writer_finish(w, &size);
    fc_batch_writer_destroy(&w);
    zframe_t *f = zframe_new(data, size);
    free(data);
    return f;
}

//  Sends a frame and waits for the ack (fails the test on timeout).
static bool s_roundtrip(zsock_t *d, zframe_t **frame, fc_ack_t *ack)
{
    zframe_send(frame, d, 0);
    zframe_t *reply = zframe_recv(d);
    if (!reply) {
        FC_CHECK(!"no ack within the timeout");
        return false;
    }
    fc_proto_error_t err;
    fc_code_t rc = fc_ack_decode(zframe_data(reply), zframe_size(reply), ack, &err);
    zframe_destroy(&reply);
    FC_CHECK_INT(rc, FC_OK);
    return rc == FC_OK;
}

static int s_count(fc_ack_t *ack, fc_code_t code)
{
    int n = 0;
    for (uint32_t i = 0; i < ack->count; i++)
        n += ack->results[i].code == code;
    return n;
}

//  The cost of every stored usage event recomputed in SQL from price_versions, the
//  long-context rule included, independently of the C pricing code.
//  A condition for it_wait: the query's integer answer is positive.
typedef struct {
    PGconn *pg;
    const char *sql;
} s_query_t;

static bool s_positive(void *arg)
{
    s_query_t *q = arg;
    return it_sql_int(q->pg, q->sql) > 0;
}

static pid_t s_start_writers(const char *bind, const char *pub)
{
    char *argv[] = {s_ingest_bin, "--insecure", "--pg-url",   s_url,         "--bind",
                    (char *)bind, "--pub-bind", (char *)pub,  "--ingest-id", "it-writers",
                    "--writers",  "2",          "--group-ms", "1",           "--metrics-port",
                    "0",          NULL};
    return it_spawn(argv, "it_ingest_writers.log");
}

//  One batch: a good usage event (request id req) and, when bad, a malformed one, whose
//  dead letter is what the test can hold back with a lock.
static zframe_t *s_writers_batch(uint64_t id, fc_event_t *ev, const char *req, bool bad)
{
    static const uint8_t junk[1] = {0xc1}; //  a byte msgpack never uses
    const uint8_t *raw[1] = {junk};
    size_t raw_size[1] = {sizeof junk};
    s_usage(ev, "writers", "agent-w", "claude-haiku-4-5", 10, 10, 0, 0, 0);
    snprintf(ev->request, sizeof ev->request, "%s", req);
    return s_batch(id, ev, 1, raw, raw_size, bad ? 1 : 0);
}

//  The stream seq of the next event message (heartbeats skipped); 0 on time-out.
static uint64_t s_next_seq(zsock_t *sub)
{
    static fc_stored_event_t stored[FC_MAX_BATCH];
    while (true) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            return 0;
        zframe_t *topic = zmsg_first(m), *body = zmsg_next(m);
        fc_stream_header_t h;
        size_t n = 0;
        fc_proto_error_t err;
        bool event = topic && body && zframe_size(topic) > 3 &&
                     memcmp(zframe_data(topic), "ev.", 3) == 0 &&
                     fc_stream_decode(zframe_data(body), zframe_size(body), &h, stored,
                                      FC_MAX_BATCH, &n, &err) == FC_OK;
        zmsg_destroy(&m);
        if (event)
            return h.seq;
    }
}

/*  Two writers, the first group held back by a lock on dead_letters (its bad event's
    dead letter waits): the second group's COPY finishes first, yet it commits, and is
    published, only after the first; while it waits it rolls back once (the wait limit)
    and still commits afterwards. Then the same with a kill -9 while both wait: neither
    is stored, ingest_state is unchanged, and after a restart the second batch is stored
    with a seq above it (no seq reused). */
static void s_two_writers(PGconn *pg)
{
    char bind[64], pub[64];
    snprintf(bind, sizeof bind, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(pub, sizeof pub, "tcp://127.0.0.1:%d", it_free_port());
    pid_t pid = s_start_writers(bind, pub);
    zsock_t *sub = zsock_new_sub(pub, "ev.writers.");
    zsock_set_rcvtimeo(sub, 10000);
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_set_linger(d, 0);
    zsock_set_rcvtimeo(d, 15000);
    zsock_connect(d, "%s", bind);
    fc_event_t ev;
    fc_ack_t ack = {0};

    //  Warm-up until the subscription is live (a subscriber misses what came before).
    uint64_t warm = 0;
    for (int i = 0; i < 20 && !warm; i++) {
        char req[32];
        snprintf(req, sizeof req, "wr-warm-%d", i);
        zframe_t *f = s_writers_batch(100 + (uint64_t)i, &ev, req, false);
        if (s_roundtrip(d, &f, &ack))
            FC_CHECK_INT(s_count(&ack, FC_OK), 1);
        fc_ack_clear(&ack);
        zsock_set_rcvtimeo(sub, 250);
        warm = s_next_seq(sub);
    }
    FC_CHECK(warm > 0);
    zsock_set_rcvtimeo(sub, 10000);

    PGconn *lock = it_pg(s_url);
    s_query_t blocked = {pg, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                             " current_database() AND wait_event_type = 'Lock'"
                             " AND query LIKE 'INSERT INTO dead_letters%'"};
    s_query_t copied = {pg, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                            " current_database() AND state = 'idle in transaction'"
                            " AND query LIKE 'COPY events%'"};
    s_query_t rolled = {pg, "SELECT count(*) FROM pg_stat_activity WHERE datname ="
                            " current_database() AND state = 'idle' AND query = 'ROLLBACK'"};
    for (int round = 0; round < 2; round++) {
        bool kill9 = round == 1;
        char req_a[32], req_b[32];
        snprintf(req_a, sizeof req_a, "wr-a%d", round);
        snprintf(req_b, sizeof req_b, "wr-b%d", round);
        it_sql(lock, "BEGIN");
        it_sql(lock, "LOCK TABLE dead_letters IN EXCLUSIVE MODE");
        int64_t state_before =
            it_sql_int(pg, "SELECT last_seq FROM ingest_state WHERE ingest_id = 'it-writers'");
        zframe_t *fa = s_writers_batch(10 + (uint64_t)round * 2, &ev, req_a, true);
        zframe_send(&fa, d, 0);
        FC_CHECK(it_wait(s_positive, &blocked, 10000));
        fc_event_t evb;
        zframe_t *fb = s_writers_batch(11 + (uint64_t)round * 2, &evb, req_b, false);
        zframe_t *fb_again = zframe_dup(fb);
        zframe_send(&fb, d, 0);
        //  The second group copied its event and waits for its turn, then gives its
        //  locks back after the wait limit, and still nothing of it is visible or acked.
        FC_CHECK(it_wait(s_positive, &copied, 10000));
        if (!kill9)
            FC_CHECK(it_wait(s_positive, &rolled, 10000));
        char sql[160];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE request_id IN ('%s', '%s')",
                 req_a, req_b);
        FC_CHECK_INT(it_sql_int(pg, sql), 0);
        FC_CHECK(!(zsock_events(d) & ZMQ_POLLIN));
        if (kill9) {
            FC_CHECK_INT(it_stop(pid, SIGKILL, 5000), 128 + SIGKILL);
            it_sql(lock, "COMMIT");
            FC_CHECK_INT(it_sql_int(pg, sql), 0);
            FC_CHECK_INT(it_sql_int(pg, "SELECT last_seq FROM ingest_state"
                                        " WHERE ingest_id = 'it-writers'"),
                         state_before);
            //  Restarted: the second batch again is stored (it never was), above the seq
            //  ingest_state held, so no seq of a committed event is reused.
            pid = s_start_writers(bind, pub);
            if (s_roundtrip(d, &fb_again, &ack))
                FC_CHECK_INT(s_count(&ack, FC_OK), 1);
            fc_ack_clear(&ack);
            snprintf(sql, sizeof sql, "SELECT seq FROM events WHERE request_id = '%s'", req_b);
            FC_CHECK(it_sql_int(pg, sql) > state_before);
            break;
        }
        zframe_destroy(&fb_again);
        it_sql(lock, "COMMIT");
        //  Both acked once the first commits; published in seq order, first before second.
        for (int k = 0; k < 2; k++) {
            zframe_t *reply = zframe_recv(d);
            FC_CHECK(reply != NULL);
            zframe_destroy(&reply);
        }
        uint64_t seq_a = s_next_seq(sub), seq_b = s_next_seq(sub);
        FC_CHECK(seq_a > warm && seq_b > seq_a);
        snprintf(sql, sizeof sql, "SELECT seq FROM events WHERE request_id = '%s'", req_a);
        FC_CHECK_INT(it_sql_int(pg, sql), (int64_t)seq_a);
        snprintf(sql, sizeof sql, "SELECT seq FROM events WHERE request_id = '%s'", req_b);
        FC_CHECK_INT(it_sql_int(pg, sql), (int64_t)seq_b);
        FC_CHECK(
            it_sql_int(pg, "SELECT last_seq FROM ingest_state WHERE ingest_id = 'it-writers'") >=
            (int64_t)seq_b);
    }
    //  Every batch here holds one good event: no two of them share a seq.
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM (SELECT seq FROM events WHERE ingest_id ="
                                " 'it-writers' GROUP BY seq HAVING count(*) > 1) d"),
                 0);
    FC_CHECK_INT(it_stop(pid, SIGTERM, 15000), 0);
    PQfinish(lock);
    zsock_destroy(&d);
    zsock_destroy(&sub);
}

static const char *s_sql_cost_mismatches =
    "SELECT count(*) FROM events e JOIN LATERAL ("
    "  SELECT * FROM price_versions p WHERE p.model = e.model_family"
    "  AND p.effective_from <= e.event_time ORDER BY p.effective_from DESC LIMIT 1) p ON true"
    " WHERE e.event_type = 'usage' AND e.cost_nusd <> CASE"
    "  WHEN p.tier_threshold > 0 AND e.input_tokens + e.cache_read_tokens"
    "   + e.cache_write_5m_tokens + e.cache_write_1h_tokens > p.tier_threshold THEN"
    "   e.input_tokens * p.tier_input + e.output_tokens * p.tier_output"
    "   + e.cache_read_tokens * p.tier_cache_read + e.cache_write_5m_tokens * p.tier_cache_write_5m"
    "   + e.cache_write_1h_tokens * p.tier_cache_write_1h"
    "  ELSE e.input_tokens * p.input + e.output_tokens * p.output"
    "   + e.cache_read_tokens * p.cache_read + e.cache_write_5m_tokens * p.cache_write_5m"
    "   + e.cache_write_1h_tokens * p.cache_write_1h END";

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: it_ingest <fleetcost> <fleetcost-ingest>\n");
        return 2;
    }
    s_ingest_bin = argv[2];
    it_db_create("ingest", argv[1], s_url, sizeof s_url);
    snprintf(s_bind, sizeof s_bind, "tcp://127.0.0.1:%d", it_free_port());
    snprintf(s_pub, sizeof s_pub, "tcp://127.0.0.1:%d", it_free_port());
    s_start_ingest();
    PGconn *pg = it_pg(s_url);

    zsock_t *sub = zsock_new_sub(s_pub, "ev.");
    zsock_set_subscribe(sub, "hb.");
    zsock_set_rcvtimeo(sub, 10000);
    //  A heartbeat arriving proves the subscription is live before anything is stored.
    zmsg_t *beat = zmsg_recv(sub);
    FC_CHECK(beat != NULL);
    zmsg_destroy(&beat);
    zsock_t *d = s_dealer();

    //  1. A batch of 1,000 usage events over two tenants and several models, one of
    //  them unknown and one request over the long-context threshold: all accepted,
    //  each priced as the catalog says.
    static fc_event_t evs[1000];
    const char *models[] = {"claude-sonnet-4-5-20250929", "us.anthropic.claude-opus-4-1-v1:0",
                            "claude-haiku-4-5", "mystery-model-9"};
    for (int i = 0; i < 1000; i++)
        s_usage(&evs[i], i % 2 ? "acme" : "globex", i % 3 ? "agent-1" : "agent-2", models[i % 4],
                1000 + i, 50 + i, i * 10, i % 7, i % 5);
    s_usage(&evs[0], "acme", "agent-1", "claude-sonnet-4-5", 150000, 1000, 40000, 10001, 0);
    fc_ack_t ack = {0};
    zframe_t *f = s_batch(1, evs, 1000, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack)) {
        FC_CHECK_INT(ack.batch_id, 1);
        FC_CHECK_INT(ack.count, 1000);
        FC_CHECK_INT(s_count(&ack, FC_OK), 1000);
    }
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1000);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE unpriced"), 250);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE NOT unpriced AND cost_nusd = 0"),
                 0);
    FC_CHECK_INT(it_sql_int(pg, s_sql_cost_mismatches), 0);
    //  The tiered request by hand: 150000 + 40000 + 10001 = 200001 prompt tokens > 200k,
    //  so every token at sonnet-4-5 tier rates: 150000*6000 + 1000*22500 + 40000*600
    //  + 10001*7500 = 900,000,000 + 22,500,000 + 24,000,000 + 75,007,500.
    char sql[512];
    char uuid[37];
    fc_uuid_format(evs[0].id, uuid);
    snprintf(sql, sizeof sql, "SELECT cost_nusd FROM events WHERE event_id = '%s'", uuid);
    FC_CHECK_INT(it_sql_int(pg, sql), INT64_C(1021507500));
    //  Ingest records the tier it priced with: that request alone is tiered; the unpriced
    //  ones have none.
    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE price_tiered AND event_id = '%s'",
             uuid);
    FC_CHECK_INT(it_sql_int(pg, sql), 1);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE price_tiered"), 1);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events WHERE unpriced"
                                " AND price_tiered IS NOT NULL"),
                 0);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM tenants WHERE tenant_id IN ('acme','globex')"
                                " AND auto_created"),
                 2);
    //  Each new tenant was registered by the transaction that stored its first events
    //  (same xmin): no transaction of its own before the ack, and a crash keeps both or
    //  neither. The connection's warm-up (a rolled-back registration) left no tenant.
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM tenants t WHERE t.tenant_id IN"
                                " ('acme','globex') AND t.xmin IN"
                                " (SELECT e.xmin FROM events e WHERE e.tenant_id = t.tenant_id)"),
                 2);
    FC_CHECK_INT(
        it_sql_int(pg, "SELECT count(*) FROM tenants WHERE tenant_id = 'fleetcost-warm-up'"), 0);

    //  2. The same batch again: every event a duplicate, nothing stored twice.
    f = s_batch(2, evs, 1000, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack))
        FC_CHECK_INT(s_count(&ack, FC_DUPLICATE), 1000);
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1000);

    //  3. Half old, half new in one batch: the new half stored, the rest duplicates.
    for (int i = 500; i < 1000; i++)
        fc_event_id_new(evs[i].id);
    f = s_batch(3, evs, 1000, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack)) {
        FC_CHECK_INT(s_count(&ack, FC_DUPLICATE), 500);
        FC_CHECK_INT(s_count(&ack, FC_OK), 500);
    }
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1500);

    //  3b. A small batch after big ones, half of it resent (regression: the duplicate
    //  lookup once used the previous, larger group's hash table size and spun).
    static fc_event_t small[10];
    for (int i = 0; i < 10; i++) {
        small[i] = evs[i];
        if (i % 2)
            fc_event_id_new(small[i].id);
    }
    f = s_batch(31, small, 10, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack)) {
        FC_CHECK_INT(s_count(&ack, FC_DUPLICATE), 5);
        FC_CHECK_INT(s_count(&ack, FC_OK), 5);
    }
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1505);

    //  4. A batch mixing valid and malformed events: the valid ones stored, the others
    //  in dead_letters with reasons, and the ack says which is which.
    fc_event_t good[3];
    for (int i = 0; i < 3; i++)
        s_usage(&good[i], "acme", "agent-3", "claude-haiku-4-5", 10, 10, 0, 0, 0);
    const uint8_t garbage[] = {0xc1, 0x00, 0xff};
    const uint8_t not_a_map[] = {0x93, 0x01, 0x02, 0x03};
    const uint8_t *raw[] = {garbage, not_a_map};
    const size_t raw_size[] = {sizeof garbage, sizeof not_a_map};
    f = s_batch(4, good, 3, raw, raw_size, 2);
    if (s_roundtrip(d, &f, &ack)) {
        FC_CHECK_INT(ack.count, 5);
        FC_CHECK_INT(s_count(&ack, FC_OK), 3);
        FC_CHECK(ack.count == 5 && ack.results[3].code >= FC_E_MALFORMED);
        FC_CHECK(ack.count == 5 && ack.results[4].code >= FC_E_MALFORMED);
        FC_CHECK(ack.count == 5 && strlen(ack.results[3].reason) > 0);
    }
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1508);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM dead_letters WHERE reason <> ''"
                                " AND length(raw) > 0"),
                 2);

    //  5. Garbage frames: not msgpack, a wrong version, two frames, over the size cap.
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    f = zframe_new(junk, sizeof junk);
    if (s_roundtrip(d, &f, &ack))
        FC_CHECK(ack.status >= FC_E_MALFORMED);
    fc_ack_clear(&ack);
    //  {"v": 99, "batch": 7, "events": []}
    const uint8_t v99[] = {0x83, 0xa1, 'v', 0x63, 0xa5, 'b', 'a', 't', 'c', 'h',
                           0x07, 0xa6, 'e', 'v',  'e',  'n', 't', 's', 0x90};
    f = zframe_new(v99, sizeof v99);
    if (s_roundtrip(d, &f, &ack))
        FC_CHECK_INT(ack.status, FC_E_VERSION);
    fc_ack_clear(&ack);
    zmsg_t *two = zmsg_new();
    zmsg_addmem(two, junk, 8);
    zmsg_addmem(two, junk, 8);
    zmsg_send(&two, d);
    zframe_t *reply = zframe_recv(d);
    FC_CHECK(reply != NULL);
    if (reply) {
        fc_proto_error_t err;
        FC_CHECK_INT(fc_ack_decode(zframe_data(reply), zframe_size(reply), &ack, &err), FC_OK);
        FC_CHECK_INT(ack.status, FC_E_MALFORMED);
        fc_ack_clear(&ack);
        zframe_destroy(&reply);
    }
    size_t big_size = FC_MAX_FRAME + 1024;
    uint8_t *big = calloc(1, big_size);
    zsock_t *hostile = s_dealer();
    zsock_set_rcvtimeo(hostile, 500);
    f = zframe_new(big, big_size);
    zframe_send(&f, hostile, 0);
    free(big);
    reply = zframe_recv(hostile); //  the connection is dropped: no answer
    FC_CHECK(reply == NULL);
    zframe_destroy(&reply);
    zsock_destroy(&hostile);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM dead_letters"), 5);

    //  ... and ingest still serves a well-behaved agent.
    s_usage(&good[0], "acme", "agent-4", "claude-haiku-4-5", 1, 1, 0, 0, 0);
    f = s_batch(6, good, 1, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack))
        FC_CHECK_INT(s_count(&ack, FC_OK), 1);
    fc_ack_clear(&ack);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM events"), 1509);

    //  6. The stream: every newly stored event was published once, in seq order.
    int64_t published = 0;
    uint64_t last_seq = 0;
    bool ordered = true;
    static fc_stored_event_t stored[FC_MAX_BATCH];
    while (published < 1509) {
        zmsg_t *m = zmsg_recv(sub);
        if (!m)
            break;
        zframe_t *topic = zmsg_first(m);
        zframe_t *body = zmsg_next(m);
        if (topic && zframe_size(topic) > 3 && memcmp(zframe_data(topic), "hb.", 3) == 0) {
            zmsg_destroy(&m);
            continue;
        }
        fc_stream_header_t h;
        size_t n = 0;
        fc_proto_error_t err;
        if (topic && body &&
            fc_stream_decode(zframe_data(body), zframe_size(body), &h, stored, FC_MAX_BATCH, &n,
                             &err) == FC_OK) {
            ordered = ordered && h.seq > last_seq;
            last_seq = h.seq;
            published += (int64_t)n;
            char expect[80];
            snprintf(expect, sizeof expect, "ev.%s.", h.tenant);
            FC_CHECK(zframe_streq(topic, expect));
        }
        zmsg_destroy(&m);
    }
    FC_CHECK_INT(published, 1509);
    FC_CHECK(ordered);
    FC_CHECK_INT(it_sql_int(pg, "SELECT max(seq) FROM events"), (int64_t)last_seq);

    //  7. SIGTERM: clean exit 0; after a restart seqs continue above the old maximum.
    FC_CHECK_INT(it_stop(s_pid, SIGTERM, 15000), 0);
    int64_t max_before = it_sql_int(pg, "SELECT max(seq) FROM events");
    s_start_ingest();
    s_usage(&good[0], "acme", "agent-4", "claude-haiku-4-5", 1, 1, 0, 0, 0);
    f = s_batch(7, good, 1, NULL, NULL, 0);
    if (s_roundtrip(d, &f, &ack))
        FC_CHECK_INT(s_count(&ack, FC_OK), 1);
    fc_ack_clear(&ack);
    FC_CHECK(it_sql_int(pg, "SELECT max(seq) FROM events") > max_before);
    FC_CHECK_INT(it_sql_int(pg, "SELECT count(*) FROM (SELECT event_id FROM events"
                                " GROUP BY event_id HAVING count(*) > 1) d"),
                 0);

    FC_CHECK_INT(it_stop(s_pid, SIGTERM, 15000), 0);

    //  8. Two writers: commits and the stream in seq order, whatever finishes first.
    s_two_writers(pg);

    zsock_destroy(&d);
    zsock_destroy(&sub);
    PQfinish(pg);
    int rc = fc_test_done("it_ingest");
    if (rc == 0)
        it_db_drop("ingest");
    return rc;
}
