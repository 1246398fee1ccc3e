/*  Unit tests of libfleetcost without a real ingest: the spool across clients, and
    a fake ingest (a ROUTER this test drives) that acks, ignores, delays or rejects.
    Every wait is bounded by a deadline and ends as soon as its condition holds. */
#include <czmq.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fc_test.h"
#include "fleetcost.h"

#define NOBODY "tcp://127.0.0.1:1" //  nothing listens there: ingest unreachable

//  --- helpers --------------------------------------------------------------------

static char s_dir[64];

static void s_fresh_spool(void)
{
    if (s_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
        FC_CHECK_INT(system(cmd), 0);
    }
    snprintf(s_dir, sizeof s_dir, "/tmp/fc-client-test-XXXXXX");
    FC_CHECK(mkdtemp(s_dir) != NULL);
}

static void s_event(fc_event_t *ev, int i)
{
    fc_event_init(ev);
    ev->type = FC_EV_USAGE;
    snprintf(ev->tenant, sizeof ev->tenant, "acme");
    snprintf(ev->agent, sizeof ev->agent, "agent-%d", i % 7);
    snprintf(ev->model, sizeof ev->model, "claude-sonnet-4-5");
    ev->input_tokens = i;
}

static uint64_t s_spool_events(uint64_t *files)
{
    uint64_t f, e;
    FC_CHECK_INT(fc_client_spool_count(s_dir, &f, &e), 0);
    if (files)
        *files = f;
    return e;
}

//  Results reported by the client, by event id.
typedef struct {
    int count, ok, dup, rejected;
    uint8_t rejected_id[16];
    char rejected_field[48];
} s_results_t;

static void s_on_result(void *arg, const uint8_t id[16], fc_code_t code, const char *field,
                        const char *reason)
{
    s_results_t *r = arg;
    r->count++;
    r->ok += code == FC_OK;
    r->dup += code == FC_DUPLICATE;
    if (code >= FC_E_MALFORMED) {
        r->rejected++;
        memcpy(r->rejected_id, id, 16);
        snprintf(r->rejected_field, sizeof r->rejected_field, "%s", field);
    }
}

static fc_client_t *s_client(const char *endpoints, int batch, int ack_timeout_ms,
                             s_results_t *results)
{
    //  Batches are sealed by count (or by flush and sync) only: the counts of batches,
    //  files and frames asserted below must not depend on the machine's speed, and
    //  the default age limit (5 ms) seals early on a loaded machine (docs/TESTING.md).
    fc_client_options_t o = {.endpoints = endpoints,
                             .spool_dir = s_dir,
                             .batch_max_events = batch,
                             .batch_max_ms = 600000,
                             .ack_timeout_ms = ack_timeout_ms,
                             .on_result = results ? s_on_result : NULL,
                             .result_arg = results};
    fc_client_t *c = fc_client_new(&o);
    FC_CHECK(c != NULL);
    return c;
}

static int s_send(fc_client_t *c, int from, int n)
{
    int failed = 0;
    for (int i = from; i < from + n; i++) {
        fc_event_t ev;
        s_event(&ev, i);
        fc_proto_error_t err;
        failed += fc_client_send(c, &ev, &err) != 0;
    }
    return failed;
}

//  --- a fake ingest ----------------------------------------------------------------

typedef enum {
    ACK_ALL,              //  ack every batch, every event stored
    ACK_SECOND_COPY,      //  ignore the first copy of each batch
    ACK_NEVER,            //  a black hole that is connected
    ACK_REJECT_ONE,       //  reject event 1 of each batch
    ACK_UNAVAILABLE_FIRST //  answer FC_E_UNAVAILABLE to the first copy
} s_policy_t;

typedef struct {
    zsock_t *sock;
    char endpoint[64];
    s_policy_t policy;
    int frames, events;
    uint64_t seen[256]; //  batch ids seen once
    int nseen;
} s_ingest_t;

static void s_ingest_start(s_ingest_t *in, s_policy_t policy)
{
    memset(in, 0, sizeof *in);
    in->policy = policy;
    in->sock = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(in->sock, "tcp://127.0.0.1:*");
    FC_CHECK(port > 0);
    snprintf(in->endpoint, sizeof in->endpoint, "tcp://127.0.0.1:%d", port);
}

static bool s_seen_before(s_ingest_t *in, uint64_t id)
{
    for (int i = 0; i < in->nseen; i++)
        if (in->seen[i] == id)
            return true;
    if (in->nseen < 256)
        in->seen[in->nseen++] = id;
    return false;
}

//  Handles one batch frame according to the policy.
static void s_ingest_handle(s_ingest_t *in, zmsg_t *msg)
{
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    FC_CHECK(identity && payload && zmsg_size(msg) == 0);
    static fc_batch_t batch;
    fc_proto_error_t err;
    FC_CHECK_INT(fc_batch_decode(zframe_data(payload), zframe_size(payload), &batch, &err), FC_OK);
    in->frames++;
    in->events += (int)batch.count;
    bool again = s_seen_before(in, batch.batch_id);
    fc_ack_t ack = {.version = FC_PROTO_VERSION, .batch_id = batch.batch_id, .status = FC_OK};
    if (in->policy == ACK_NEVER || (in->policy == ACK_SECOND_COPY && !again)) {
        zframe_destroy(&identity);
        zframe_destroy(&payload);
        return;
    }
    if (in->policy == ACK_UNAVAILABLE_FIRST && !again) {
        ack.status = FC_E_UNAVAILABLE;
        snprintf(ack.reason, sizeof ack.reason, "postgres down");
    } else {
        ack.count = batch.count;
        ack.results = calloc(batch.count, sizeof *ack.results);
        if (in->policy == ACK_REJECT_ONE && batch.count > 1) {
            ack.results[1].code = FC_E_RANGE;
            snprintf(ack.results[1].field, sizeof ack.results[1].field, "input_tokens");
            snprintf(ack.results[1].reason, sizeof ack.results[1].reason, "too many");
        }
    }
    size_t size;
    uint8_t *frame = fc_ack_encode(&ack, &size);
    free(ack.results);
    zmsg_t *reply = zmsg_new();
    zmsg_append(reply, &identity);
    zmsg_addmem(reply, frame, size);
    free(frame);
    zmsg_send(&reply, in->sock);
    zframe_destroy(&payload);
}

//  Serves the fake ingests until the client has nothing unacked (returns true) or
//  timeout_ms passes (returns false).
static bool s_serve_until_delivered(fc_client_t *c, s_ingest_t **ins, int nins, int timeout_ms)
{
    int64_t deadline = zclock_mono() + timeout_ms;
    zpoller_t *poller = zpoller_new(NULL);
    for (int i = 0; i < nins; i++)
        zpoller_add(poller, ins[i]->sock);
    bool done = false;
    while (!done && zclock_mono() < deadline) {
        zsock_t *which = zpoller_wait(poller, 10);
        for (int i = 0; which && i < nins; i++)
            if (which == ins[i]->sock) {
                zmsg_t *msg = zmsg_recv(which);
                if (msg)
                    s_ingest_handle(ins[i], msg);
                zmsg_destroy(&msg);
            }
        fc_client_stats_t st;
        fc_client_stats(c, &st);
        done = st.unacked == 0;
    }
    zpoller_destroy(&poller);
    return done;
}

//  Serves for ms milliseconds whatever arrives (to see that nothing does).
static void s_serve_for(s_ingest_t *in, int ms)
{
    int64_t deadline = zclock_mono() + ms;
    zpoller_t *poller = zpoller_new(in->sock, NULL);
    while (zclock_mono() < deadline) {
        if (zpoller_wait(poller, 10)) {
            zmsg_t *msg = zmsg_recv(in->sock);
            if (msg)
                s_ingest_handle(in, msg);
            zmsg_destroy(&msg);
        }
    }
    zpoller_destroy(&poller);
}

//  --- tests ------------------------------------------------------------------------

//  Ingest unreachable: everything ends up in the spool, and the next client (after a
//  process restart, say) loads it and delivers it.
static void test_spool_and_reload(void)
{
    s_fresh_spool();
    fc_client_t *c = s_client(NOBODY, 500, 0, NULL);
    FC_CHECK_INT(s_send(c, 0, 1200), 0);
    FC_CHECK_INT(fc_client_flush(c, 300), 1200);
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.queued, 1200);
    FC_CHECK_INT(st.acked, 0);
    FC_CHECK_INT(st.spool_files, 3); //  500 + 500 + 200
    fc_client_destroy(&c);
    FC_CHECK(c == NULL);
    uint64_t files;
    FC_CHECK_INT(s_spool_events(&files), 1200);
    FC_CHECK_INT(files, 3);

    s_ingest_t in;
    s_ingest_start(&in, ACK_ALL);
    s_results_t results = {0};
    s_ingest_t *ins[] = {&in};
    c = s_client(in.endpoint, 500, 0, &results);
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.adopted, 1200);
    FC_CHECK_INT(st.unacked, 1200);
    FC_CHECK(s_serve_until_delivered(c, ins, 1, 10000));
    FC_CHECK_INT(fc_client_flush(c, 0), 0);
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.acked, 1200);
    FC_CHECK_INT(st.spool_files, 0);
    FC_CHECK_INT(results.ok, 1200);
    FC_CHECK_INT(in.events, 1200);
    FC_CHECK_INT(in.frames, 3);
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(&files), 0);
    FC_CHECK_INT(files, 0);
    zsock_destroy(&in.sock);
}

//  A live client keeps its files locked: a second client on the same spool leaves
//  them alone, and takes them over once the first is gone.
static void test_locking(void)
{
    s_fresh_spool();
    fc_client_t *a = s_client(NOBODY, 100, 0, NULL);
    FC_CHECK_INT(s_send(a, 0, 250), 0);
    FC_CHECK_INT(fc_client_flush(a, 200), 250);
    FC_CHECK_INT(s_spool_events(NULL), 250);

    fc_client_t *b = s_client(NOBODY, 100, 0, NULL);
    fc_client_stats_t st;
    fc_client_stats(b, &st);
    FC_CHECK_INT(st.adopted, 0);
    FC_CHECK_INT(st.unacked, 0);
    FC_CHECK_INT(st.spool_files, 3);
    //  b's own event goes into its own file, beside a's.
    FC_CHECK_INT(s_send(b, 1000, 1), 0);
    FC_CHECK_INT(fc_client_flush(b, 100), 1);
    FC_CHECK_INT(s_spool_events(NULL), 251);
    fc_client_destroy(&b);

    fc_client_destroy(&a);
    fc_client_t *c = s_client(NOBODY, 100, 0, NULL);
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.adopted, 251);
    fc_client_destroy(&c);
}

//  A batch whose ack does not come is sent again after the ack timeout.
static void test_resend_on_timeout(void)
{
    s_fresh_spool();
    s_ingest_t in;
    s_ingest_start(&in, ACK_SECOND_COPY);
    s_ingest_t *ins[] = {&in};
    fc_client_t *c = s_client(in.endpoint, 500, 200, NULL);
    FC_CHECK_INT(s_send(c, 0, 10), 0);
    fc_client_flush(c, 0); //  close the batch now
    FC_CHECK(s_serve_until_delivered(c, ins, 1, 5000));
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.acked, 10);
    FC_CHECK_INT(st.sent, 1);
    FC_CHECK(st.resent >= 1);
    FC_CHECK_INT(in.frames, 2);
    FC_CHECK_INT(st.spool_files, 0);
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(NULL), 0);
    zsock_destroy(&in.sock);
}

//  A batch-level retryable status (store unavailable) is resent, not dropped.
static void test_retryable_status(void)
{
    s_fresh_spool();
    s_ingest_t in;
    s_ingest_start(&in, ACK_UNAVAILABLE_FIRST);
    s_ingest_t *ins[] = {&in};
    fc_client_t *c = s_client(in.endpoint, 500, 200, NULL);
    FC_CHECK_INT(s_send(c, 0, 5), 0);
    fc_client_flush(c, 0); //  close the batch now
    FC_CHECK(s_serve_until_delivered(c, ins, 1, 5000));
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.acked, 5);
    FC_CHECK_INT(st.rejected, 0);
    FC_CHECK(st.resent >= 1);
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(NULL), 0);
    zsock_destroy(&in.sock);
}

//  Two endpoints, the first connected but never acking: everything is still
//  delivered, through the second.
static void test_failover(void)
{
    s_fresh_spool();
    s_ingest_t dead, live;
    s_ingest_start(&dead, ACK_NEVER);
    s_ingest_start(&live, ACK_ALL);
    s_ingest_t *ins[] = {&dead, &live};
    char endpoints[160];
    snprintf(endpoints, sizeof endpoints, "%s,%s", dead.endpoint, live.endpoint);
    //  Batches are sealed by count alone here: with the default 5 ms age limit a busy
    //  machine seals one early, and the count of batches sent would be 21, not 20.
    fc_client_options_t o = {.endpoints = endpoints,
                             .spool_dir = s_dir,
                             .batch_max_events = 100,
                             .batch_max_ms = 600000,
                             .ack_timeout_ms = 100};
    fc_client_t *c = fc_client_new(&o);
    FC_CHECK(c != NULL);
    FC_CHECK_INT(s_send(c, 0, 2000), 0);
    fc_client_flush(c, 0);
    FC_CHECK(s_serve_until_delivered(c, ins, 2, 20000));
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.acked, 2000);
    FC_CHECK_INT(st.sent, 20);
    FC_CHECK(dead.frames > 0); //  the black hole did get some, and they were resent
    FC_CHECK(st.resent >= (uint64_t)dead.frames);
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(NULL), 0);
    zsock_destroy(&dead.sock);
    zsock_destroy(&live.sock);
}

//  Per-event rejections are reported (stats and callback), and not resent.
static void test_rejects_not_resent(void)
{
    s_fresh_spool();
    s_ingest_t in;
    s_ingest_start(&in, ACK_REJECT_ONE);
    s_ingest_t *ins[] = {&in};
    s_results_t results = {0};
    fc_client_t *c = s_client(in.endpoint, 500, 200, &results);
    fc_event_t ev[3];
    for (int i = 0; i < 3; i++) {
        s_event(&ev[i], i);
        FC_CHECK_INT(fc_client_send(c, &ev[i], NULL), 0);
    }
    fc_client_flush(c, 0);
    FC_CHECK(s_serve_until_delivered(c, ins, 1, 5000));
    s_serve_for(&in, 600); //  three ack timeouts: a resend would show up
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.acked, 2);
    FC_CHECK_INT(st.rejected, 1);
    FC_CHECK_INT(st.resent, 0);
    FC_CHECK_INT(in.frames, 1);
    FC_CHECK_INT(st.last_reject_code, FC_E_RANGE);
    FC_CHECK_STR(st.last_reject_field, "input_tokens");
    FC_CHECK_STR(st.last_reject_reason, "too many");
    FC_CHECK_INT(results.count, 3);
    FC_CHECK_INT(results.rejected, 1);
    FC_CHECK(memcmp(results.rejected_id, ev[1].id, 16) == 0);
    FC_CHECK_STR(results.rejected_field, "input_tokens");
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(NULL), 0);
    zsock_destroy(&in.sock);
}

//  send() fills id and time, refuses invalid events, and refuses beyond the spool bound.
static void test_send_checks(void)
{
    s_fresh_spool();
    fc_client_options_t o = {.endpoints = NOBODY, .spool_dir = s_dir, .spool_max_bytes = 2000};
    fc_client_t *c = fc_client_new(&o);
    FC_CHECK(c != NULL);
    fc_event_t ev;
    s_event(&ev, 1);
    fc_proto_error_t err;
    FC_CHECK_INT(fc_client_send(c, &ev, &err), 0);
    static const uint8_t nil[16];
    FC_CHECK(memcmp(ev.id, nil, 16) != 0);
    FC_CHECK(ev.ts_us > FC_TS_MIN_US);
    FC_CHECK_INT(ev.id[6] >> 4, 7); //  UUIDv7: time-ordered

    s_event(&ev, 2);
    ev.model[0] = 0;
    FC_CHECK_INT(fc_client_send(c, &ev, &err), -1);
    FC_CHECK_INT(err.code, FC_E_MISSING);
    FC_CHECK_STR(err.field, "model");

    int sent = 1, refused = 0;
    for (int i = 0; i < 100 && !refused; i++) {
        s_event(&ev, i);
        if (fc_client_send(c, &ev, &err) == 0)
            sent++;
        else
            refused++;
    }
    FC_CHECK_INT(refused, 1);
    FC_CHECK_INT(err.code, FC_E_UNAVAILABLE);
    FC_CHECK(strstr(err.reason, "spool full") != NULL);
    FC_CHECK(sent > 2);
    fc_client_destroy(&c);
    FC_CHECK_INT(s_spool_events(NULL), (uint64_t)sent); //  destroy spools what was queued
}

static void test_bad_options(void)
{
    fc_client_options_t o = {.endpoints = "not-an-endpoint", .spool_dir = s_dir};
    FC_CHECK(fc_client_new(&o) == NULL);
    o.endpoints = NOBODY;
    o.spool_dir = "/proc/no-such-place/spool";
    FC_CHECK(fc_client_new(&o) == NULL);
    o.spool_dir = NULL;
    FC_CHECK(fc_client_new(&o) == NULL);
}

//  fc_client_sync: with no ingest, every event sent is on disk when it returns 0 (the
//  client still holds the batches: they are counted in the spool, not acked).
static void test_sync(void)
{
    s_fresh_spool();
    fc_client_t *c = s_client(NOBODY, 100, 0, NULL);
    FC_CHECK_INT(s_send(c, 0, 250), 0);
    FC_CHECK_INT(fc_client_sync(c, 10000), 0);
    uint64_t files = 0;
    FC_CHECK_INT(s_spool_events(&files), 250);
    FC_CHECK_INT(files, 3); //  100 + 100 + 50, the last sealed by the sync
    fc_client_stats_t st;
    fc_client_stats(c, &st);
    FC_CHECK_INT(st.unacked, 250);
    fc_client_destroy(&c);
}

int main(void)
{
    test_sync();
    test_spool_and_reload();
    test_locking();
    test_resend_on_timeout();
    test_retryable_status();
    test_failover();
    test_rejects_not_resent();
    test_send_checks();
    test_bad_options();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    FC_CHECK_INT(system(cmd), 0);
    return fc_test_done("test_client_spool");
}
