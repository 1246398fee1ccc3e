/*  ingest_publish: ev.<tenant> messages and hb.<ingest_id> heartbeats. */
#include "ingest_publish.h"

#include <assert.h>

#include "fc_log.h"
#include "fc_stream.h"

#define MODULE "ingest"

struct _ingest_publish_t {
    zsock_t *pub;
    char ingest_id[FC_MAX_INGEST_ID + 1];
    uint64_t epoch, base;       //  the run (epoch 0: not known yet)
    fc_stored_event_t *scratch; //  FC_MAX_BATCH entries
};

ingest_publish_t *ingest_publish_new(zsock_t *pub, const char *ingest_id)
{
    ingest_publish_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pub = pub;
    snprintf(self->ingest_id, sizeof self->ingest_id, "%s", ingest_id);
    self->scratch = calloc(FC_MAX_BATCH, sizeof *self->scratch);
    if (!self->scratch)
        ingest_publish_destroy(&self);
    return self;
}

void ingest_publish_destroy(ingest_publish_t **self_p)
{
    assert(self_p);
    ingest_publish_t *self = *self_p;
    if (!self)
        return;
    free(self->scratch);
    free(self);
    *self_p = NULL;
}

void ingest_publish_set_run(ingest_publish_t *self, uint64_t epoch, uint64_t base)
{
    self->epoch = epoch;
    self->base = base;
}

static void s_send(ingest_publish_t *self, const char *topic, uint8_t *body, size_t size)
{
    zframe_t *t = zframe_new(topic, strlen(topic));
    zframe_t *b = zframe_new(body, size);
    zframe_send(&t, self->pub, ZFRAME_MORE);
    zframe_send(&b, self->pub, 0);
}

void ingest_publish_stored(fc_stored_event_t *s, const ingest_item_t *it)
{
    const fc_event_t *ev = &it->ev;
    memset(s, 0, sizeof *s);
    memcpy(s->id, ev->id, 16);
    s->ts_us = ev->ts_us;
    s->type = ev->type;
    memcpy(s->agent, ev->agent, sizeof s->agent);
    memcpy(s->agent_type, ev->agent_type, sizeof s->agent_type);
    memcpy(s->task, ev->task, sizeof s->task);
    memcpy(s->model, it->model_family, sizeof s->model);
    s->input_tokens = ev->input_tokens;
    s->output_tokens = ev->output_tokens;
    s->cache_read_tokens = ev->cache_read_tokens;
    s->cache_write_5m_tokens = ev->cache_write_5m_tokens;
    s->cache_write_1h_tokens = ev->cache_write_1h_tokens;
    s->cost_nusd = it->cost_nusd;
    s->billed_nusd = it->billed_nusd;
    s->has_billed = it->rate_version > 0;
    s->unpriced = it->unpriced;
    s->price_version = it->price_version;
    if (ev->type == FC_EV_COST)
        memcpy(s->kind, ev->kind, sizeof s->kind);
    memcpy(s->speed, ev->speed, sizeof s->speed);
    memcpy(s->provider, it->provider, sizeof s->provider);
}

void ingest_publish_group(ingest_publish_t *self, const ingest_rec_t *items, uint32_t count)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < count; i++)
        if (items[i].result == FC_OK) {
            lo = items[i].seq < lo ? items[i].seq : lo;
            hi = items[i].seq > hi ? items[i].seq : hi;
        }
    if (lo == UINT64_MAX)
        return;
    //  Seqs of one commit are consecutive: a counting sort by seq gives each message
    //  its events in one pass, and the messages go out in seq order.
    size_t nseq = (size_t)(hi - lo + 1);
    uint32_t *start = calloc(nseq + 1, sizeof *start);
    uint32_t *order = malloc((count ? count : 1) * sizeof *order);
    if (!start || !order) {
        fc_error(MODULE, "out of memory publishing %u events", count);
        free(start);
        free(order);
        return;
    }
    for (uint32_t i = 0; i < count; i++)
        if (items[i].result == FC_OK)
            start[items[i].seq - lo + 1]++;
    for (size_t k = 1; k <= nseq; k++)
        start[k] += start[k - 1];
    uint32_t *fill = calloc(nseq, sizeof *fill);
    for (uint32_t i = 0; fill && i < count; i++)
        if (items[i].result == FC_OK) {
            size_t k = (size_t)(items[i].seq - lo);
            order[start[k] + fill[k]++] = i;
        }
    for (size_t k = 0; fill && k < nseq; k++) {
        size_t n = start[k + 1] - start[k];
        if (!n || n > FC_MAX_BATCH)
            continue;
        fc_stream_header_t h = {.seq = lo + k, .epoch = self->epoch, .base = self->base};
        memcpy(h.ingest_id, self->ingest_id, sizeof h.ingest_id);
        memcpy(h.tenant, items[order[start[k]]].tenant, sizeof h.tenant);
        for (size_t j = 0; j < n; j++)
            self->scratch[j] = items[order[start[k] + j]].st;
        char topic[FC_MAX_TOPIC + 1];
        size_t size;
        uint8_t *body = fc_stream_encode(&h, self->scratch, n, &size);
        if (fc_stream_topic(topic, sizeof topic, h.tenant) < 0 || !body)
            fc_error(MODULE, "cannot encode stream message seq %llu (%zu events)",
                     (unsigned long long)(lo + k), n);
        else
            s_send(self, topic, body, size);
        free(body);
    }
    free(fill);
    free(start);
    free(order);
}

void ingest_publish_heartbeat(ingest_publish_t *self, uint64_t last_seq)
{
    if (!self->epoch)
        return;
    fc_heartbeat_t hb = {FC_PROTO_VERSION,     "",          last_seq,
                         zclock_time() * 1000, self->epoch, self->base};
    snprintf(hb.ingest_id, sizeof hb.ingest_id, "%s", self->ingest_id);
    char topic[FC_MAX_TOPIC + 1];
    size_t size;
    uint8_t *body = fc_heartbeat_encode(&hb, &size);
    if (body && fc_heartbeat_topic(topic, sizeof topic, self->ingest_id) >= 0)
        s_send(self, topic, body, size);
    free(body);
}
