/*  ingest_server: ROUTER loop, group commit, acks and publishing. */
#include "ingest_server.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdatomic.h>

#include "fc_curve.h"
#include "fc_log.h"
#include "fc_metrics.h"
#include "fc_proto.h"
#include "fc_service.h"
#include "fc_signal.h"
#include "fc_time.h"
#include "ingest_publish.h"
#include "ingest_store.h"

#define MODULE "ingest"
//  A malformed frame is kept (for dead_letters) up to this many bytes.
#define MAX_DEAD_FRAME 65536
//  Writer connections at most (--writers).
#define MAX_WRITERS 8

typedef struct {
    zframe_t *identity; //  the agent's routing id
    zframe_t *payload;  //  keeps the events' raw bytes alive until the ack
    uint64_t batch_id;
    uint32_t first, count; //  items[first .. first+count)
    fc_code_t status;      //  batch-level error (the envelope), FC_OK otherwise
    char reason[160];
} s_batch_t;

typedef struct {
    ingest_rec_t *items;
    uint32_t count, cap;
    s_batch_t *batches;
    uint32_t nbatches, bcap;
    int64_t opened_us;
    ingest_store_rc_t rc;
    int64_t commit_us;
    ingest_turn_t turn; //  its ticket and reserved seqs
    enum { S_FREE, S_FILLING, S_WRITING, S_DONE } state;
} s_group_t;

typedef struct {
    struct _ingest_server_t *server;
    ingest_store_t *store; //  its own connection
    zactor_t *actor;
    zsock_t *pipe; //  main end
    bool busy;
} s_writer_t;

struct _ingest_server_t {
    ingest_config_t config;
    zsock_t *router;
    zsock_t *pub;
    ingest_seqs_t *seqs; //  shared by the writers' stores
    s_writer_t writers[MAX_WRITERS];
    int nwriters;
    ingest_publish_t *publish;
    //  One group filling, the others with a writer or done and waiting for an earlier
    //  ticket to be published: the stream goes out in seq order.
    s_group_t groups[MAX_WRITERS + 1];
    s_group_t *filling;
    uint64_t last_ticket;    //  handed out
    uint64_t publish_ticket; //  the next to publish
    uint64_t published_seq;  //  the end of the last group published (heartbeats)
    atomic_bool give_up;     //  tells the writers to stop retrying (shutdown deadline)
    fc_batch_t batch;        //  envelope scratch (large: lives here, not on the stack)
    fc_event_t event;        //  decoding scratch: what a group keeps of it is an ingest_rec_t
    fc_ack_t ack;
    fc_metrics_t *metrics;
    fc_curve_t *curve; //  borrowed: the service's (fc_service_curve)
    fc_metric_t *m_unauthenticated;
    fc_metric_t *m_received, *m_stored, *m_duplicate, *m_rejected, *m_batches, *m_bad_frames,
        *m_commits, *m_commit_us, *m_commit_retries, *m_pending, *m_seq;
};

//  --- groups ---------------------------------------------------------------------------

static ingest_rec_t *s_group_item(s_group_t *g)
{
    if (g->count == g->cap) {
        uint32_t cap = g->cap ? g->cap * 2 : 1024;
        ingest_rec_t *items = realloc(g->items, cap * sizeof *items);
        if (!items)
            return NULL;
        g->items = items;
        g->cap = cap;
    }
    return &g->items[g->count++];
}

static s_batch_t *s_group_batch(s_group_t *g)
{
    if (g->nbatches == g->bcap) {
        uint32_t cap = g->bcap ? g->bcap * 2 : 64;
        s_batch_t *b = realloc(g->batches, cap * sizeof *b);
        if (!b)
            return NULL;
        g->batches = b;
        g->bcap = cap;
    }
    s_batch_t *b = &g->batches[g->nbatches++];
    memset(b, 0, sizeof *b);
    return b;
}

static void s_group_clear(s_group_t *g)
{
    for (uint32_t i = 0; i < g->nbatches; i++) {
        zframe_destroy(&g->batches[i].identity);
        zframe_destroy(&g->batches[i].payload);
    }
    g->nbatches = 0;
    g->count = 0;
    g->opened_us = 0;
}

static void s_group_free(s_group_t *g)
{
    s_group_clear(g);
    free(g->items);
    free(g->batches);
    memset(g, 0, sizeof *g);
}

//  --- the writer threads --------------------------------------------------------------

//  The writer owns a group between receiving its pointer and sending it back. It
//  retries a failed commit with backoff (Postgres down or restarting) until it
//  succeeds or the server tells it to give up at shutdown.
static void s_writer(zsock_t *pipe, void *arg)
{
    s_writer_t *w = arg;
    ingest_server_t *self = w->server;
    zsock_signal(pipe, 0);
    while (true) {
        char *cmd = NULL;
        s_group_t *g = NULL;
        if (zsock_recv(pipe, "sp", &cmd, &g) != 0)
            break;
        bool term = !cmd || streq(cmd, "$TERM") || !g;
        free(cmd);
        if (term)
            break;
        int backoff_ms = 100;
        int64_t start = fc_time_mono_us();
        while ((g->rc = ingest_store_write(w->store, &g->turn, g->items, g->count)) ==
               INGEST_STORE_RETRY) {
            fc_metric_add(self->m_commit_retries, 1);
            if (atomic_load(&self->give_up))
                break;
            //  Backoff between attempts, in slices so a shutdown is noticed quickly.
            for (int slept = 0; slept < backoff_ms && !atomic_load(&self->give_up); slept += 50)
                zclock_sleep(50);
            backoff_ms = backoff_ms < 3200 ? backoff_ms * 2 : 5000;
        }
        g->commit_us = fc_time_mono_us() - start;
        zsock_send(pipe, "p", g);
    }
}

//  --- receiving ------------------------------------------------------------------------

static void s_reject_item(ingest_rec_t *it, const fc_proto_error_t *err)
{
    it->result = err->code;
    snprintf(it->field, sizeof it->field, "%s", err->field);
    snprintf(it->reason, sizeof it->reason, "%s", err->reason);
}

//  One agent message: [identity][batch frame]. Every event becomes an item; a bad
//  envelope becomes one rejected item carrying the frame, so it reaches dead_letters
//  and the agent gets an ack saying why.
static void s_receive(ingest_server_t *self)
{
    zmsg_t *msg = zmsg_recv(self->router);
    if (!msg)
        return;
    s_group_t *g = self->filling;
    zframe_t *identity = zmsg_pop(msg);
    zframe_t *payload = zmsg_pop(msg);
    bool extra = zmsg_size(msg) > 0;
    zmsg_destroy(&msg);
    if (!identity || !payload) {
        zframe_destroy(&identity);
        zframe_destroy(&payload);
        fc_metric_add(self->m_bad_frames, 1);
        return;
    }
    //  Who sent it: the tenant comes from the authenticated certificate, never from
    //  the payload. A message without an identity is dropped unanswered.
    fc_curve_peer_t peer;
    if (fc_curve_peer(self->curve, payload, &peer) == FC_CURVE_NONE) {
        fc_metric_add(self->m_unauthenticated, 1);
        fc_debug(MODULE, "dropped a message without an authenticated identity");
        zframe_destroy(&identity);
        zframe_destroy(&payload);
        return;
    }
    if (!g->opened_us)
        g->opened_us = fc_time_mono_us();
    s_batch_t *b = s_group_batch(g);
    if (!b) {
        zframe_destroy(&identity);
        zframe_destroy(&payload);
        return;
    }
    b->identity = identity;
    b->payload = payload;
    b->first = g->count;
    fc_metric_add(self->m_batches, 1);

    fc_proto_error_t err;
    memset(&err, 0, sizeof err);
    fc_code_t rc =
        extra ? FC_E_MALFORMED
              : fc_batch_decode(zframe_data(payload), zframe_size(payload), &self->batch, &err);
    if (extra)
        snprintf(err.reason, sizeof err.reason, "a batch is exactly one frame");
    if (rc != FC_OK) {
        b->status = rc;
        b->batch_id = rc == FC_E_VERSION ? self->batch.batch_id : 0;
        snprintf(b->reason, sizeof b->reason, "%.40s%s%.110s", err.field, *err.field ? ": " : "",
                 err.reason);
        ingest_rec_t *it = s_group_item(g);
        if (it) {
            memset(it, 0, sizeof *it);
            s_reject_item(it, &err);
            it->result = rc;
            it->raw = zframe_data(payload);
            it->raw_size = (uint32_t)(zframe_size(payload) < MAX_DEAD_FRAME ? zframe_size(payload)
                                                                            : MAX_DEAD_FRAME);
            b->count = 1;
        }
        fc_metric_add(self->m_bad_frames, 1);
        fc_warn(MODULE, "rejected a batch frame of %zu bytes: %s (%s)", zframe_size(payload),
                b->reason, fc_code_name(rc));
        return;
    }
    b->batch_id = self->batch.batch_id;
    fc_event_t *ev = &self->event;
    for (uint32_t i = 0; i < self->batch.count; i++) {
        ingest_rec_t *it = s_group_item(g);
        if (!it)
            break;
        it->raw = self->batch.event_data[i];
        it->raw_size = self->batch.event_size[i];
        it->result = fc_event_decode_reuse(it->raw, it->raw_size, ev, &err);
        it->field[0] = it->reason[0] = 0;
        if (it->result != FC_OK)
            s_reject_item(it, &err);
        else if (peer.role == FC_CURVE_TENANT && !ev->tenant[0])
            memcpy(ev->tenant, peer.tenant, sizeof ev->tenant);
        else if (peer.role == FC_CURVE_TENANT && strcmp(ev->tenant, peer.tenant) != 0) {
            it->result = FC_E_TENANT_MISMATCH;
            snprintf(it->field, sizeof it->field, "tenant");
            snprintf(it->reason, sizeof it->reason,
                     "event names tenant '%.40s' but the certificate is tenant '%.40s'", ev->tenant,
                     peer.tenant);
            fc_warn(MODULE, "tenant mismatch from certificate '%s': event for '%s' refused",
                    peer.name, ev->tenant);
        }
        if (it->result == FC_OK && !ev->tenant[0]) {
            it->result = FC_E_TENANT;
            snprintf(it->field, sizeof it->field, "tenant");
            snprintf(it->reason, sizeof it->reason,
                     "no tenant in the event and none from an authenticated certificate");
        }
        //  What the store needs before it decodes the event again: its identity.
        memcpy(it->tenant, ev->tenant, sizeof it->tenant);
        memcpy(it->st.id, ev->id, sizeof it->st.id);
        it->st.ts_us = ev->ts_us;
        it->st.type = ev->type;
        b->count++;
    }
    fc_metric_add(self->m_received, b->count);
}

//  --- acks and publishing ------------------------------------------------------------------

static void s_send_ack(ingest_server_t *self, s_group_t *g, s_batch_t *b)
{
    fc_ack_t *ack = &self->ack;
    ack->version = FC_PROTO_VERSION;
    ack->batch_id = b->batch_id;
    ack->status = b->status;
    snprintf(ack->reason, sizeof ack->reason, "%s", b->reason);
    ack->count = 0;
    if (b->status == FC_OK) {
        ack->results = realloc(ack->results, (b->count ? b->count : 1) * sizeof(fc_result_t));
        if (!ack->results)
            return;
        ack->count = b->count;
        for (uint32_t i = 0; i < b->count; i++) {
            ingest_rec_t *it = &g->items[b->first + i];
            fc_result_t *r = &ack->results[i];
            r->code = (uint8_t)it->result;
            //  Most events are stored: no formatting for their empty field and reason.
            r->field[0] = r->reason[0] = 0;
            if (it->result >= FC_E_MALFORMED) {
                snprintf(r->field, sizeof r->field, "%s", it->field);
                snprintf(r->reason, sizeof r->reason, "%s", it->reason);
            }
        }
    }
    size_t size;
    uint8_t *frame = fc_ack_encode(ack, &size);
    if (!frame)
        return;
    zframe_t *id = zframe_dup(b->identity);
    zframe_send(&id, self->router, ZFRAME_MORE);
    zframe_t *f = zframe_new(frame, size);
    free(frame);
    zframe_send(&f, self->router, 0);
}

//  Hands the run to the publisher once a store has read the seq it continues from.
static void s_set_run(ingest_server_t *self)
{
    uint64_t epoch, base;
    if (ingest_seqs_run(self->seqs, &epoch, &base) == 0) {
        ingest_publish_set_run(self->publish, epoch, base);
        if (self->published_seq < base)
            self->published_seq = base;
    }
}

//  Publishes the groups done, in ticket order, and frees them. A group that gave up at
//  shutdown (nothing committed) is passed over: its seqs were never stored.
static void s_publish_done(ingest_server_t *self)
{
    bool progress = true;
    while (progress) {
        progress = false;
        for (int k = 0; k <= self->nwriters; k++) {
            s_group_t *g = &self->groups[k];
            if (g->state != S_DONE || g->turn.ticket != self->publish_ticket)
                continue;
            if (g->rc == INGEST_STORE_OK) {
                fc_curve_pub_process(self->curve, self->pub); //  grant new subscribers first
                s_set_run(self);
                ingest_publish_group(self->publish, g->items, g->count);
                if (g->turn.end > self->published_seq)
                    self->published_seq = g->turn.end;
                fc_metric_set(self->m_seq, (int64_t)self->published_seq);
            }
            s_group_clear(g);
            g->state = S_FREE;
            self->publish_ticket++;
            progress = true;
        }
    }
}

//  A writer gave a group back: ack every batch (its commit is durable), count, and
//  publish what is next in seq order.
static void s_group_done(ingest_server_t *self, s_writer_t *w, s_group_t *g)
{
    w->busy = false;
    g->state = S_DONE;
    if (g->rc != INGEST_STORE_OK) {
        //  Only at shutdown with Postgres still down: no ack, so agents resend later.
        fc_warn(MODULE, "shutting down with %u events not committed: not acked, agents will resend",
                g->count);
        s_publish_done(self);
        return;
    }
    uint64_t stored = 0, dup = 0, rejected = 0;
    for (uint32_t i = 0; i < g->count; i++) {
        fc_code_t rc = g->items[i].result;
        stored += rc == FC_OK;
        dup += rc == FC_DUPLICATE;
        rejected += rc >= FC_E_MALFORMED;
    }
    //  Ack first: the commit is durable, and agents wait on acks more than
    //  subscribers wait on the stream.
    for (uint32_t i = 0; i < g->nbatches; i++)
        s_send_ack(self, g, &g->batches[i]);
    fc_metric_add(self->m_stored, (int64_t)stored);
    fc_metric_add(self->m_duplicate, (int64_t)dup);
    fc_metric_add(self->m_rejected, (int64_t)rejected);
    fc_metric_add(self->m_commits, 1);
    fc_metric_add(self->m_commit_us, g->commit_us);
    fc_debug(MODULE,
             "group %" PRIu64 ": %u batches, %" PRIu64 " stored, %" PRIu64 " duplicate, %" PRIu64
             " rejected, seqs %" PRIu64 "..%" PRIu64 ", commit %.1f ms",
             g->turn.ticket, g->nbatches, stored, dup, rejected, g->turn.base, g->turn.end,
             g->commit_us / 1000.0);
    s_publish_done(self);
}

static s_writer_t *s_idle_writer(ingest_server_t *self)
{
    for (int k = 0; k < self->nwriters; k++)
        if (!self->writers[k].busy)
            return &self->writers[k];
    return NULL;
}

static s_group_t *s_free_group(ingest_server_t *self)
{
    for (int k = 0; k <= self->nwriters; k++)
        if (self->groups[k].state == S_FREE)
            return &self->groups[k];
    return NULL;
}

//  Hands the filling group to an idle writer with the next ticket. False when no
//  writer (or no group to fill next) is free.
static bool s_flush(ingest_server_t *self)
{
    s_writer_t *w = s_idle_writer(self);
    s_group_t *next = w ? s_free_group(self) : NULL;
    if (!next)
        return false;
    s_group_t *g = self->filling;
    g->turn = (ingest_turn_t){.ticket = ++self->last_ticket};
    g->state = S_WRITING;
    next->state = S_FILLING;
    self->filling = next;
    w->busy = true;
    zsock_send(w->pipe, "sp", "GROUP", g);
    return true;
}

static void s_wait_writer(ingest_server_t *self, s_writer_t *w)
{
    s_group_t *g;
    if (zsock_recv(w->pipe, "p", &g) == 0 && g)
        s_group_done(self, w, g);
}

static bool s_any_busy(ingest_server_t *self)
{
    for (int k = 0; k < self->nwriters; k++)
        if (self->writers[k].busy)
            return true;
    return false;
}

//  --- lifecycle ------------------------------------------------------------------------

//  Binds a ROUTER (agents) or an XPUB (the stream: subscriptions are granted by
//  fc_curve_pub_process, per certificate) with CurveZMQ applied before the bind.
static zsock_t *s_bind(int type, const char *endpoints)
{
    fc_curve_t *curve = fc_service_curve();
    zsock_t *sock = zsock_new(type);
    if (!sock)
        return NULL;
    //  Hostile peers: a frame over the cap closes the connection before we read it.
    zsock_set_maxmsgsize(sock, FC_MAX_FRAME);
    zsock_set_linger(sock, 1000);
    int rc;
    if (type == ZMQ_ROUTER) {
        zsock_set_router_mandatory(sock, 0);
        zsock_set_rcvhwm(sock, 10000);
        zsock_set_sndhwm(sock, 10000);
        rc = curve ? fc_curve_server(curve, sock) : 0;
    } else {
        zsock_set_sndhwm(sock, 100000);
        rc = curve ? fc_curve_pub_setup(curve, sock) : 0;
    }
    if (rc != 0) {
        fc_error(MODULE, "cannot set up CurveZMQ on a socket");
        zsock_destroy(&sock);
        return NULL;
    }
    if (fc_service_attach(sock, endpoints, true, MODULE) != 0)
        zsock_destroy(&sock);
    return sock;
}

ingest_server_t *ingest_server_new(const ingest_config_t *config)
{
    ingest_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->curve = fc_service_curve();
    assert(self->curve);
    self->filling = &self->groups[0];
    self->filling->state = S_FILLING;
    self->publish_ticket = 1;
    self->nwriters = config->writers < 1             ? 1
                     : config->writers > MAX_WRITERS ? MAX_WRITERS
                                                     : config->writers;
    self->metrics = fc_metrics_new("fleetcost_ingest");
    fc_metrics_t *m = self->metrics;
    self->m_received = fc_metrics_add(m, "events_received_total", FC_METRIC_COUNTER,
                                      "events received in well-formed batches");
    self->m_stored = fc_metrics_add(m, "events_stored_total", FC_METRIC_COUNTER,
                                    "events newly stored in Postgres");
    self->m_duplicate = fc_metrics_add(m, "events_duplicate_total", FC_METRIC_COUNTER,
                                       "events already stored (resends), absorbed");
    self->m_rejected = fc_metrics_add(m, "events_rejected_total", FC_METRIC_COUNTER,
                                      "events rejected and written to dead_letters");
    self->m_unauthenticated =
        fc_metrics_add(m, "unauthenticated_total", FC_METRIC_COUNTER,
                       "messages dropped for want of an authenticated identity");
    self->m_batches = fc_metrics_add(m, "batches_total", FC_METRIC_COUNTER, "batches received");
    self->m_bad_frames = fc_metrics_add(m, "bad_frames_total", FC_METRIC_COUNTER,
                                        "frames rejected whole (malformed, version, size)");
    self->m_commits =
        fc_metrics_add(m, "commits_total", FC_METRIC_COUNTER, "group commits to Postgres");
    self->m_commit_us = fc_metrics_add(m, "commit_microseconds_total", FC_METRIC_COUNTER,
                                       "time spent committing groups, including retries");
    self->m_commit_retries = fc_metrics_add(m, "commit_retries_total", FC_METRIC_COUNTER,
                                            "commit attempts that failed and were retried");
    self->m_pending = fc_metrics_add(m, "events_pending", FC_METRIC_GAUGE,
                                     "events received and not yet committed");
    self->m_seq = fc_metrics_add(m, "last_seq", FC_METRIC_GAUGE, "last published seq");

    self->seqs = ingest_seqs_new();
    if (!self->seqs)
        goto fail;
    for (int k = 0; k < self->nwriters; k++) {
        s_writer_t *w = &self->writers[k];
        w->server = self;
        w->store = ingest_store_new(config->pg_url, config->ingest_id, config->register_tenants,
                                    self->seqs);
        if (!w->store)
            goto fail;
        //  Postgres may be down at start: we still bind and hold acks until it returns.
        ingest_store_connect(w->store);
    }
    self->router = s_bind(ZMQ_ROUTER, config->bind);
    self->pub = s_bind(ZMQ_XPUB, config->pub_bind);
    if (!self->router || !self->pub)
        goto fail;
    self->publish = ingest_publish_new(self->pub, config->ingest_id);
    if (!self->publish)
        goto fail;
    for (int k = 0; k < self->nwriters; k++) {
        s_writer_t *w = &self->writers[k];
        w->actor = zactor_new(s_writer, w);
        if (!w->actor)
            goto fail;
        w->pipe = zactor_sock(w->actor);
    }
    if (fc_metrics_serve(self->metrics, config->metrics_bind, config->metrics_port) != 0) {
        fc_error(MODULE, "cannot serve /metrics on %s:%d", config->metrics_bind,
                 config->metrics_port);
        goto fail;
    }
    fc_info(MODULE, "ingest '%s' listening on %s, publishing on %s, metrics on :%d, %d writers",
            config->ingest_id, config->bind, config->pub_bind, config->metrics_port,
            self->nwriters);
    return self;
fail:
    ingest_server_destroy(&self);
    return NULL;
}

void ingest_server_destroy(ingest_server_t **self_p)
{
    assert(self_p);
    ingest_server_t *self = *self_p;
    if (!self)
        return;
    for (int k = 0; k < MAX_WRITERS; k++)
        zactor_destroy(&self->writers[k].actor);
    ingest_publish_destroy(&self->publish);
    zsock_destroy(&self->router);
    zsock_destroy(&self->pub);
    for (int k = 0; k < MAX_WRITERS; k++)
        ingest_store_destroy(&self->writers[k].store);
    ingest_seqs_destroy(&self->seqs);
    fc_metrics_destroy(&self->metrics);
    for (int k = 0; k <= MAX_WRITERS; k++)
        s_group_free(&self->groups[k]);
    free(self->ack.results);
    free(self);
    *self_p = NULL;
}

static bool s_group_due(ingest_server_t *self, int64_t now)
{
    s_group_t *g = self->filling;
    return g->nbatches > 0 && ((int)g->count >= self->config.group_events ||
                               now - g->opened_us >= (int64_t)self->config.group_ms * 1000);
}

int ingest_server_run(ingest_server_t *self)
{
    int64_t next_beat = fc_time_mono_us();
    //  The writers' pipes first, the router last so it can be left out of the poll
    //  under backpressure.
    zmq_pollitem_t items[MAX_WRITERS + 3];
    int n_items = 0;
    for (int k = 0; k < self->nwriters; k++)
        items[n_items++] = (zmq_pollitem_t){zsock_resolve(self->writers[k].pipe), 0, ZMQ_POLLIN, 0};
    int i_signal = n_items++, i_pub = n_items++, i_router = n_items++;
    items[i_signal] = (zmq_pollitem_t){NULL, fc_signal_fd(), ZMQ_POLLIN, 0};
    items[i_pub] = (zmq_pollitem_t){zsock_resolve(self->pub), 0, ZMQ_POLLIN, 0};
    items[i_router] = (zmq_pollitem_t){zsock_resolve(self->router), 0, ZMQ_POLLIN, 0};
    while (!fc_signal_stopping()) {
        int64_t now = fc_time_mono_us();
        if (now >= next_beat) {
            s_set_run(self);
            ingest_publish_heartbeat(self->publish, self->published_seq);
            next_beat = now + 1000000;
        }
        bool can_flush = s_idle_writer(self) && s_free_group(self);
        if (can_flush && s_group_due(self, now))
            can_flush = !s_flush(self);
        //  Backpressure: while too much waits, leave agents' frames in the socket.
        bool reading = (int)self->filling->count < self->config.max_pending;
        int64_t wake = next_beat;
        if (self->filling->nbatches && can_flush) {
            int64_t due = self->filling->opened_us + (int64_t)self->config.group_ms * 1000;
            if (due < wake)
                wake = due;
        }
        long timeout_ms = (long)((wake - now + 999) / 1000);
        if (timeout_ms < 0)
            timeout_ms = 0;
        int n = zmq_poll(items, reading ? n_items : n_items - 1, timeout_ms);
        if (n < 0)
            continue; //  EINTR from a signal: the loop condition decides
        for (int k = 0; k < self->nwriters; k++)
            if (items[k].revents & ZMQ_POLLIN)
                s_wait_writer(self, &self->writers[k]);
        if (items[i_pub].revents & ZMQ_POLLIN)
            fc_curve_pub_process(self->curve, self->pub);
        if (reading && (items[i_router].revents & ZMQ_POLLIN)) {
            //  Drain what is queued, up to the pending limit, before deciding to flush.
            for (int k = 0; k < 256 && (int)self->filling->count < self->config.max_pending; k++) {
                if (!(zsock_events(self->router) & ZMQ_POLLIN))
                    break;
                s_receive(self);
            }
        }
        fc_metric_set(self->m_pending, self->filling->count);
    }

    //  Shutdown: no new batches; commit and ack what is in flight.
    fc_info(MODULE, "stopping: committing %u pending events", self->filling->count);
    fc_signal_stage("committing and acking what is in flight");
    int64_t deadline = fc_time_mono_us() + (int64_t)self->config.shutdown_timeout_ms * 1000;
    for (int k = 0; k < self->nwriters; k++)
        zsock_set_rcvtimeo(self->writers[k].pipe, 0);
    while (self->filling->nbatches || s_any_busy(self)) {
        if (self->filling->nbatches)
            s_flush(self);
        zmq_poll(items, self->nwriters, 100);
        for (int k = 0; k < self->nwriters; k++)
            if (items[k].revents & ZMQ_POLLIN)
                s_wait_writer(self, &self->writers[k]);
        if (fc_time_mono_us() > deadline) {
            //  Past the deadline: stop retrying, and cancel what a writer still waits
            //  on (a lock, a server that does not answer), again at every turn, since a
            //  cancel that lands between two statements cancels nothing. Nothing of
            //  those groups is acked: the agents send it again to the next ingest.
            if (!atomic_load(&self->give_up))
                fc_warn(MODULE, "shutdown timeout (%d ms) passed: cancelling the commits in flight",
                        self->config.shutdown_timeout_ms);
            atomic_store(&self->give_up, true);
            ingest_seqs_give_up(self->seqs);
            for (int k = 0; k < self->nwriters; k++)
                if (self->writers[k].busy)
                    ingest_store_cancel(self->writers[k].store);
        }
    }
    return 0;
}
