/*  sec_util: see sec_util.h. */
#include "sec_util.h"

#include <inttypes.h>

zsock_t *sec_dealer(const char *endpoint)
{
    zsock_t *d = zsock_new(ZMQ_DEALER);
    zsock_set_linger(d, 0);
    zsock_set_rcvtimeo(d, 15000);
    zsock_connect(d, "%s", endpoint);
    return d;
}

bool sec_send(zsock_t *d, uint64_t batch_id, const fc_event_t *evs, int n, int *codes)
{
    fc_batch_writer_t *w = fc_batch_writer_new(batch_id);
    uint8_t buf[FC_MAX_EVENT_BYTES];
    fc_proto_error_t err;
    bool encoded = true;
    for (int i = 0; i < n; i++) {
        //  Encoding validates, so an event over a decoder limit cannot be sent this way
        //  (proto/vectors cover those).
        int len = fc_event_encode(&evs[i], buf, sizeof buf, &err);
        if (len < 0 || fc_batch_writer_add(w, buf, (size_t)len) != 0) {
            fprintf(stderr, "sec_send: event %d not encoded: %s %s\n", i, err.field, err.reason);
            encoded = false;
        }
    }
    size_t size;
    uint8_t *data = fc_batch_writer_finish(w, &size);
    fc_batch_writer_destroy(&w);
    zframe_t *f = zframe_new(data, size);
    free(data);
    zframe_send(&f, d, 0);
    zframe_t *reply = zframe_recv(d);
    if (!reply) {
        fprintf(stderr, "sec_send: no ack for batch %" PRIu64 "\n", batch_id);
        return false;
    }
    fc_ack_t ack = {0};
    fc_code_t rc = fc_ack_decode(zframe_data(reply), zframe_size(reply), &ack, &err);
    zframe_destroy(&reply);
    bool ok = encoded && rc == FC_OK && ack.status == FC_OK && ack.count == (uint32_t)n;
    if (!ok)
        fprintf(stderr, "sec_send: batch %" PRIu64 ": ack code %d, status %d, %u results\n",
                batch_id, (int)rc, (int)ack.status, ack.count);
    for (int i = 0; i < n; i++)
        codes[i] = ok && i < (int)ack.count ? ack.results[i].code : -1;
    fc_ack_clear(&ack);
    return ok;
}
