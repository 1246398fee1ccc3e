/*  fc_stream: what ingest publishes after commit (PROTOCOL.md §Event stream).

    Event messages: frame 1 topic "ev.<tenant>." (trailing dot), frame 2 a msgpack map
    {"v":1, "ingest":str, "seq":uint, "tenant":str, "events":[stored event map...]}.
    Heartbeats: topic "hb.<ingest_id>", {"v":1, "ingest":str, "seq":uint, "ts":int}.
    seq increases strictly per ingest_id across all tenants, one per message. Both may
    carry the publishing run, "epoch":uint (non-zero, new at every start of the
    instance) and "base":uint (the last seq committed before that run began), so a
    subscriber sees a restart, and a seq that went back, explicitly (PROTOCOL.md §11,
    "Runs and regressions"). A sender from before runs omits both: epoch decodes as 0. */
#ifndef FC_STREAM_H
#define FC_STREAM_H

#include "fc_proto.h"

#define FC_MAX_INGEST_ID 63                      //  [a-z0-9][a-z0-9_-]*, like a tenant
#define FC_MAX_TOPIC     (3 + FC_MAX_TENANT + 1) //  "ev.<tenant>." / "hb.<id>"

//  An event as stored and priced by ingest: the part subscribers need.
typedef struct {
    uint8_t id[16];
    int64_t ts_us;
    fc_event_type_t type;
    char agent[FC_MAX_ID + 1];
    char agent_type[FC_MAX_NAME + 1];
    char task[FC_MAX_ID + 1];
    char model[FC_MAX_NAME + 1]; //  normalised (the price-catalog family)
    int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens;
    int64_t cost_nusd;              //  priced cost (0 when unpriced)
    bool unpriced;                  //  usage whose model had no price
    int64_t price_version;          //  price version used, 0 = none
    char kind[FC_MAX_NAME + 1];     //  cost events: runtime | storage | mcp | other
    char speed[FC_MAX_MODE + 1];    //  usage: as sent (PROTOCOL.md §4.2); "" = not said
    char provider[FC_MAX_MODE + 1]; //  usage: of the price version used; "" = unpriced
    //  Billed cost under the tenant's rate card ("billed"; PROTOCOL.md §Event stream): sent
    //  only when a rate card applied, so has_billed false means billed = cost_nusd (and
    //  senders from before rate cards never send it). Read it with fc_stored_billed.
    int64_t billed_nusd;
    bool has_billed;
} fc_stored_event_t;

//  The event's billed cost: billed_nusd when sent, else its list cost.
static inline int64_t fc_stored_billed(const fc_stored_event_t *ev)
{
    return ev->has_billed ? ev->billed_nusd : ev->cost_nusd;
}

typedef struct {
    uint32_t version;
    char ingest_id[FC_MAX_INGEST_ID + 1];
    uint64_t seq;
    char tenant[FC_MAX_TENANT + 1];
    uint32_t count; //  events in the message
    uint64_t epoch; //  the publishing run (0: not sent)
    uint64_t base;  //  last seq committed before the run began (< seq; 0 when epoch is 0)
} fc_stream_header_t;

typedef struct {
    uint32_t version;
    char ingest_id[FC_MAX_INGEST_ID + 1];
    uint64_t seq; //  last published seq (0: none yet)
    int64_t ts_us;
    uint64_t epoch; //  as in fc_stream_header_t; base <= seq
    uint64_t base;
} fc_heartbeat_t;

//  Topic of an event message ("ev.<tenant>.") / heartbeat ("hb.<ingest_id>"). Returns the
//  length written (NUL-terminated), or -1 if the name is invalid or buf too small.
int fc_stream_topic(char *buf, size_t size, const char *tenant);
int fc_heartbeat_topic(char *buf, size_t size, const char *ingest_id);

//  Encode an event message of header's ingest_id, seq, tenant and run (epoch 0: no run
//  keys, the form of senders from before runs; header's version and count are not read).
//  Returns a malloc'd buffer the caller owns and sets *size, or NULL if an argument is
//  invalid (names, count > FC_MAX_BATCH, base >= seq, a field out of range), the
//  message would exceed FC_MAX_FRAME, or on OOM.
uint8_t *fc_stream_encode(const fc_stream_header_t *header, const fc_stored_event_t *events,
                          size_t count, size_t *size);

//  Decode an event message from untrusted bytes into header and up to max events;
//  *count is set to the number decoded. More than max (or FC_MAX_BATCH) events is
//  FC_E_TOO_LARGE. Never reads past data+size; allocates nothing.
fc_code_t fc_stream_decode(const uint8_t *data, size_t size, fc_stream_header_t *header,
                           fc_stored_event_t *events, size_t max, size_t *count,
                           fc_proto_error_t *err);

//  Check one stored event (type, id, ranges, string limits).
fc_code_t fc_stored_event_validate(const fc_stored_event_t *ev, fc_proto_error_t *err);

//  Heartbeats: encode (malloc'd, caller owns; NULL if invalid or OOM) and decode.
uint8_t *fc_heartbeat_encode(const fc_heartbeat_t *hb, size_t *size);
fc_code_t fc_heartbeat_decode(const uint8_t *data, size_t size, fc_heartbeat_t *hb,
                              fc_proto_error_t *err);

#endif
