/*  fc_stream: the ingest event stream and heartbeats (see fc_stream.h, PROTOCOL.md). */
#include "fc_stream.h"
#include "fc_mp.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    K_ID,
    K_TS,
    K_TYPE,
    K_AGENT,
    K_AGENT_TYPE,
    K_TASK,
    K_MODEL,
    K_IN,
    K_OUT,
    K_CR,
    K_CW5M,
    K_CW1H,
    K_COST,
    K_UNPRICED,
    K_PV,
    K_KIND,
    K_SPEED,
    K_PROVIDER,
    K_BILLED,
    K_COUNT_
};

#define OFF(m) ((uint16_t)offsetof(fc_stored_event_t, m))
#define KEY(k) k, sizeof(k) - 1
#define STR(k, n, m, cap)                                                                          \
    {                                                                                              \
        KEY(k), n, FC_F_STR, OFF(m), cap, -1, FC_EV_INVALID, 0, 0                                  \
    }
#define TOKENS(k, n, m)                                                                            \
    {                                                                                              \
        KEY(k), n, FC_F_INT, OFF(m), 0, -1, FC_EV_USAGE, 0, FC_MAX_TOKENS                          \
    }

//  Same wire keys as events where the field is the same; the order is the encoding order.
static const fc_mp_field_t s_fields[K_COUNT_] = {
    [K_ID] = {KEY("id"), "id", FC_F_ID, OFF(id), 0, -1, FC_EV_ALL, 0, 0},
    [K_TS] = {KEY("ts"), "ts_us", FC_F_INT, OFF(ts_us), 0, -1, FC_EV_ALL, FC_TS_MIN_US,
              FC_TS_MAX_US - 1},
    [K_TYPE] = {KEY("type"), "type", FC_F_TYPE, OFF(type), 0, -1, FC_EV_ALL, 0, 0},
    [K_AGENT] = STR("agent", "agent", agent, FC_MAX_ID),
    [K_AGENT_TYPE] = STR("atype", "agent_type", agent_type, FC_MAX_NAME),
    [K_TASK] = STR("task", "task", task, FC_MAX_ID),
    [K_MODEL] = STR("model", "model", model, FC_MAX_NAME),
    [K_IN] = TOKENS("in", "input_tokens", input_tokens),
    [K_OUT] = TOKENS("out", "output_tokens", output_tokens),
    [K_CR] = TOKENS("cr", "cache_read_tokens", cache_read_tokens),
    [K_CW5M] = TOKENS("cw5m", "cache_write_5m_tokens", cache_write_5m_tokens),
    [K_CW1H] = TOKENS("cw1h", "cache_write_1h_tokens", cache_write_1h_tokens),
    [K_COST] = {KEY("cost"), "cost_nusd", FC_F_INT, OFF(cost_nusd), 0, -1, FC_EV_ALL, 0, INT64_MAX},
    [K_UNPRICED] = {KEY("unpriced"), "unpriced", FC_F_BOOL, OFF(unpriced), 0, -1, FC_EV_INVALID, 0,
                    0},
    [K_PV] = {KEY("pv"), "price_version", FC_F_INT, OFF(price_version), 0, -1, FC_EV_INVALID, 0,
              INT32_MAX},
    [K_KIND] = STR("kind", "kind", kind, FC_MAX_NAME),
    [K_SPEED] = STR("speed", "speed", speed, FC_MAX_MODE),
    [K_PROVIDER] = STR("prov", "provider", provider, FC_MAX_MODE),
    [K_BILLED] = {KEY("billed"), "billed_nusd", FC_F_INT, OFF(billed_nusd), 0,
                  (int16_t)OFF(has_billed), FC_EV_INVALID, 0, INT64_MAX},
};

static int s_topic(char *buf, size_t size, const char *prefix, const char *name, const char *suffix)
{
    if (!name || !fc_tenant_valid(name))
        return -1;
    int n = snprintf(buf, size, "%s%s%s", prefix, name, suffix);
    return n < 0 || (size_t)n >= size ? -1 : n;
}

int fc_stream_topic(char *buf, size_t size, const char *tenant)
{
    //  The trailing dot ends the tenant, so a subscription to "ev.acme." never matches
    //  "ev.acme2." (ZeroMQ matches prefixes).
    return s_topic(buf, size, "ev.", tenant, ".");
}

int fc_heartbeat_topic(char *buf, size_t size, const char *ingest_id)
{
    return s_topic(buf, size, "hb.", ingest_id, "");
}

fc_code_t fc_stored_event_validate(const fc_stored_event_t *ev, fc_proto_error_t *err)
{
    if (!fc_event_type_name(ev->type))
        return fc_mp_error(err, FC_E_UNKNOWN_TYPE, "type", "event type %d unknown", (int)ev->type);
    return fc_mp_check_fields(s_fields, K_COUNT_, ev, FC_MP_ALL, err);
}

//  The run keys (PROTOCOL.md §11, "Runs and regressions"), sent only with an epoch.
static void s_pack_run(msgpack_packer *pk, uint64_t epoch, uint64_t base)
{
    if (!epoch)
        return;
    FC_MP_PACK_KEY(pk, "epoch");
    msgpack_pack_uint64(pk, epoch);
    FC_MP_PACK_KEY(pk, "base");
    msgpack_pack_uint64(pk, base);
}

uint8_t *fc_stream_encode(const fc_stream_header_t *h, const fc_stored_event_t *events,
                          size_t count, size_t *size)
{
    *size = 0;
    if (!fc_mp_name_valid(h->ingest_id, FC_MAX_INGEST_ID) || !fc_tenant_valid(h->tenant) ||
        count > FC_MAX_BATCH || (h->epoch && h->base >= h->seq))
        return NULL;
    for (size_t i = 0; i < count; i++)
        if (fc_stored_event_validate(&events[i], NULL) != FC_OK)
            return NULL;
    fc_mp_dynbuf_t out = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, fc_mp_dynbuf_write);
    msgpack_pack_map(&pk, h->epoch ? 7 : 5);
    FC_MP_PACK_KEY(&pk, "v");
    msgpack_pack_uint32(&pk, FC_PROTO_VERSION);
    FC_MP_PACK_KEY(&pk, "ingest");
    fc_mp_pack_cstr(&pk, h->ingest_id);
    FC_MP_PACK_KEY(&pk, "seq");
    msgpack_pack_uint64(&pk, h->seq);
    s_pack_run(&pk, h->epoch, h->base);
    FC_MP_PACK_KEY(&pk, "tenant");
    fc_mp_pack_cstr(&pk, h->tenant);
    FC_MP_PACK_KEY(&pk, "events");
    msgpack_pack_array(&pk, count);
    for (size_t i = 0; i < count; i++)
        fc_mp_pack_fields(&pk, s_fields, K_COUNT_, &events[i], events[i].type);
    uint8_t *data = fc_mp_dynbuf_release(&out, size);
    if (data && *size > FC_MAX_FRAME) {
        free(data);
        data = NULL;
        *size = 0;
    }
    return data;
}

//  An unsigned integer value of an envelope key.
static fc_code_t s_uint(const fc_mp_item_t *val, uint64_t *out, const char *field,
                        fc_proto_error_t *err)
{
    if (val->type != FC_MP_UINT)
        return fc_mp_error(err, FC_E_MALFORMED, field, "%s must be an unsigned integer", field);
    *out = val->u;
    return FC_OK;
}

/*  The run keys once the whole map is read: both or neither, a non-zero epoch, and a
    base below the message's seq (messages, max_base_is_seq false) or at most the
    heartbeat's (true). */
static fc_code_t s_run_check(bool has_epoch, bool has_base, uint64_t epoch, uint64_t base,
                             uint64_t seq, bool max_base_is_seq, fc_proto_error_t *err)
{
    if (has_epoch != has_base)
        return fc_mp_error(err, FC_E_MALFORMED, has_epoch ? "base" : "epoch",
                           "epoch and base go together");
    if (has_epoch && epoch == 0)
        return fc_mp_error(err, FC_E_MALFORMED, "epoch", "epoch must be non-zero");
    if (has_epoch && (max_base_is_seq ? base > seq : base >= seq))
        return fc_mp_error(err, FC_E_MALFORMED, "base", "base %s seq",
                           max_base_is_seq ? "above" : "not below");
    return FC_OK;
}

//  Put "events[i]." in front of the field an error names.
static fc_code_t s_in_event(fc_code_t rc, uint32_t index, fc_proto_error_t *err)
{
    if (rc && err) {
        char inner[sizeof err->field];
        memcpy(inner, err->field, sizeof inner);
        snprintf(err->field, sizeof err->field, "events[%u]%s%.28s", index, inner[0] ? "." : "",
                 inner);
    }
    return rc;
}

static fc_code_t s_stored_event(fc_mp_reader_t *r, fc_stored_event_t *ev, uint32_t index,
                                fc_proto_error_t *err)
{
    memset(ev, 0, sizeof *ev);
    fc_mp_item_t map;
    if (fc_mp_next(r, &map))
        return s_in_event(fc_mp_error(err, FC_E_MALFORMED, "", "truncated or invalid msgpack"),
                          index, err);
    if (map.type != FC_MP_MAP)
        return s_in_event(fc_mp_error(err, FC_E_MALFORMED, "", "event is not a map"), index, err);
    uint64_t seen;
    //  the event map sits at level 3: stream map, events array, event
    fc_code_t rc =
        fc_mp_decode_fields(r, &map, s_fields, K_COUNT_, ev, &seen, FC_MAX_DEPTH - 3, err);
    static const int required[] = {K_TYPE, K_ID, K_TS};
    for (size_t i = 0; rc == FC_OK && i < 3; i++)
        if (!(seen & (UINT64_C(1) << required[i])))
            rc = fc_mp_error(err, FC_E_MISSING, s_fields[required[i]].name, "required");
    if (rc == FC_OK)
        rc = fc_stored_event_validate(ev, err);
    return s_in_event(rc, index, err);
}

fc_code_t fc_stream_decode(const uint8_t *data, size_t size, fc_stream_header_t *header,
                           fc_stored_event_t *events, size_t max, size_t *count,
                           fc_proto_error_t *err)
{
    memset(header, 0, sizeof *header);
    *count = 0;
    fc_mp_reader_t r = {data, data + size};
    fc_mp_item_t map, val;
    fc_code_t rc = fc_mp_envelope(&r, size, &map, "stream message", err);
    static const char *const keys[] = {"v", "ingest", "seq", "tenant", "events", "epoch", "base"};
    uint32_t seen = 0;
    for (uint32_t i = 0; rc == FC_OK && i < map.len; i++) {
        int k;
        rc = fc_mp_envelope_pair(&r, keys, 7, &seen, &k, &val, err);
        if (rc)
            break;
        switch (k) {
        case 0:
            rc = fc_mp_version(&val, &header->version, err);
            break;
        case 1:
            rc = fc_mp_copy_str(&val, header->ingest_id, FC_MAX_INGEST_ID, "ingest", err);
            break;
        case 2:
            if (val.type != FC_MP_UINT)
                rc = fc_mp_error(err, FC_E_MALFORMED, "seq", "seq must be an unsigned integer");
            header->seq = val.u;
            break;
        case 3:
            rc = fc_mp_copy_str(&val, header->tenant, FC_MAX_TENANT, "tenant", err);
            break;
        case 4:
            if (val.type != FC_MP_ARRAY) {
                rc = fc_mp_error(err, FC_E_MALFORMED, "events", "events must be an array");
                break;
            }
            if (val.len > FC_MAX_BATCH || val.len > max) {
                rc = fc_mp_error(err, FC_E_TOO_LARGE, "events", "%u events, room for %zu", val.len,
                                 max < FC_MAX_BATCH ? max : (size_t)FC_MAX_BATCH);
                break;
            }
            for (uint32_t e = 0; rc == FC_OK && e < val.len; e++)
                rc = s_stored_event(&r, &events[e], e, err);
            if (rc == FC_OK)
                header->count = val.len;
            break;
        case 5:
            rc = s_uint(&val, &header->epoch, "epoch", err);
            break;
        case 6:
            rc = s_uint(&val, &header->base, "base", err);
            break;
        default:
            rc = fc_mp_skip(&r, &val, err);
        }
    }
    if (rc == FC_OK && r.p != r.end)
        rc = fc_mp_error(err, FC_E_MALFORMED, "", "bytes after the stream map");
    for (int k = 0; rc == FC_OK && k < 5; k++)
        if (!(seen & (1u << k)))
            rc = fc_mp_error(err, FC_E_MALFORMED, keys[k], "required");
    if (rc == FC_OK)
        rc = s_run_check(seen & (1u << 5), seen & (1u << 6), header->epoch, header->base,
                         header->seq, false, err);
    if (rc == FC_OK && !fc_mp_name_valid(header->ingest_id, FC_MAX_INGEST_ID))
        rc = fc_mp_error(err, FC_E_MALFORMED, "ingest", "invalid ingest id");
    if (rc == FC_OK && !fc_tenant_valid(header->tenant))
        rc = fc_mp_error(err, FC_E_TENANT, "tenant", "invalid tenant");
    if (rc)
        header->count = 0;
    else
        *count = header->count;
    return rc;
}

uint8_t *fc_heartbeat_encode(const fc_heartbeat_t *hb, size_t *size)
{
    *size = 0;
    if (!fc_mp_name_valid(hb->ingest_id, FC_MAX_INGEST_ID) || (hb->epoch && hb->base > hb->seq))
        return NULL;
    fc_mp_dynbuf_t out = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, fc_mp_dynbuf_write);
    msgpack_pack_map(&pk, hb->epoch ? 6 : 4);
    FC_MP_PACK_KEY(&pk, "v");
    msgpack_pack_uint32(&pk, FC_PROTO_VERSION);
    FC_MP_PACK_KEY(&pk, "ingest");
    fc_mp_pack_cstr(&pk, hb->ingest_id);
    FC_MP_PACK_KEY(&pk, "seq");
    msgpack_pack_uint64(&pk, hb->seq);
    s_pack_run(&pk, hb->epoch, hb->base);
    FC_MP_PACK_KEY(&pk, "ts");
    msgpack_pack_int64(&pk, hb->ts_us);
    return fc_mp_dynbuf_release(&out, size);
}

fc_code_t fc_heartbeat_decode(const uint8_t *data, size_t size, fc_heartbeat_t *hb,
                              fc_proto_error_t *err)
{
    memset(hb, 0, sizeof *hb);
    fc_mp_reader_t r = {data, data + size};
    fc_mp_item_t map, val;
    fc_code_t rc = fc_mp_envelope(&r, size, &map, "heartbeat", err);
    static const char *const keys[] = {"v", "ingest", "seq", "ts", "epoch", "base"};
    uint32_t seen = 0;
    for (uint32_t i = 0; rc == FC_OK && i < map.len; i++) {
        int k;
        rc = fc_mp_envelope_pair(&r, keys, 6, &seen, &k, &val, err);
        if (rc)
            break;
        if (k == 0)
            rc = fc_mp_version(&val, &hb->version, err);
        else if (k == 1)
            rc = fc_mp_copy_str(&val, hb->ingest_id, FC_MAX_INGEST_ID, "ingest", err);
        else if (k == 2 && val.type == FC_MP_UINT)
            hb->seq = val.u;
        else if (k == 2)
            rc = fc_mp_error(err, FC_E_MALFORMED, "seq", "seq must be an unsigned integer");
        else if (k == 3 && fc_mp_get_int(&val, &hb->ts_us) != 0)
            rc = fc_mp_error(err, FC_E_MALFORMED, "ts", "ts must be an int64");
        else if (k == 4)
            rc = s_uint(&val, &hb->epoch, "epoch", err);
        else if (k == 5)
            rc = s_uint(&val, &hb->base, "base", err);
        else if (k < 0)
            rc = fc_mp_skip(&r, &val, err);
    }
    if (rc == FC_OK && r.p != r.end)
        rc = fc_mp_error(err, FC_E_MALFORMED, "", "bytes after the heartbeat map");
    for (int k = 0; rc == FC_OK && k < 4; k++)
        if (!(seen & (1u << k)))
            rc = fc_mp_error(err, FC_E_MALFORMED, keys[k], "required");
    if (rc == FC_OK)
        rc = s_run_check(seen & (1u << 4), seen & (1u << 5), hb->epoch, hb->base, hb->seq, true,
                         err);
    if (rc == FC_OK && !fc_mp_name_valid(hb->ingest_id, FC_MAX_INGEST_ID))
        rc = fc_mp_error(err, FC_E_MALFORMED, "ingest", "invalid ingest id");
    if (rc == FC_OK && (hb->ts_us < FC_TS_MIN_US || hb->ts_us >= FC_TS_MAX_US))
        rc = fc_mp_error(err, FC_E_RANGE, "ts", "time out of range");
    return rc;
}
