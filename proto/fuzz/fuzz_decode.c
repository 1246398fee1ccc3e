/*  fuzz_decode: libFuzzer target for every decoder that reads network bytes.

    The input is tried as a batch (and each event inside it), as a single event, an ack,
    a stream message and a heartbeat. An event that decodes must also encode, decode
    again to the same struct, and render as JSON: a failure there aborts. */
#include "fc_proto.h"
#include "fc_stream.h"

#include <stdlib.h>
#include <string.h>

static void s_event(const uint8_t *data, size_t size)
{
    static fc_event_t ev, again;
    static uint8_t buf[FC_MAX_EVENT_BYTES];
    static char json[65536];
    fc_proto_error_t err;
    if (fc_event_decode(data, size, &ev, &err) != FC_OK)
        return;
    int n = fc_event_encode(&ev, buf, sizeof buf, &err);
    if (n <= 0 || fc_event_decode(buf, (size_t)n, &again, &err) != FC_OK ||
        memcmp(&ev, &again, sizeof ev) != 0 || fc_event_to_json(&ev, json, sizeof json) <= 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fc_batch_t batch;
    fc_proto_error_t err;
    if (fc_batch_decode(data, size, &batch, &err) == FC_OK)
        for (uint32_t i = 0; i < batch.count; i++)
            s_event(batch.event_data[i], batch.event_size[i]);
    s_event(data, size);

    fc_ack_t ack;
    fc_ack_decode(data, size, &ack, &err);
    fc_ack_clear(&ack);

    static fc_stored_event_t events[64];
    fc_stream_header_t header;
    size_t count;
    fc_stream_decode(data, size, &header, events, 64, &count, &err);

    fc_heartbeat_t hb;
    fc_heartbeat_decode(data, size, &hb, &err);
    return 0;
}
