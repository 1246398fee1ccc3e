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
    zsock_destroy(&d);
    zsock_destroy(&sub);
    PQfinish(pg);
    int rc = fc_test_done("it_ingest");
    if (rc == 0)
        it_db_drop("ingest");
    return rc;
}
