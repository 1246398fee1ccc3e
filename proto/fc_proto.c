/*  fc_proto: events, batches, acks and event ids (protocol v1, see PROTOCOL.md).

    Decoding runs a hand-written bounded reader (fc_mp.c) straight over the input:
    no allocation per event, every length and count checked against the bytes that are
    really there before it is used. Encoding packs with msgpack-c. */
#include "fc_hash.h"
#include "fc_mp.h"
#include "fc_utf8.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

//  ---------------------------------------------------------------------------------
//  Names

static const char *s_type_names[FC_EV_COUNT_] = {
    [FC_EV_AGENT_SPAWN] = "agent.spawn",       [FC_EV_AGENT_TERMINATE] = "agent.terminate",
    [FC_EV_AGENT_REASSIGN] = "agent.reassign", [FC_EV_USAGE] = "usage",
    [FC_EV_TASK_CREATED] = "task.created",     [FC_EV_TASK_UPDATED] = "task.updated",
    [FC_EV_TASK_ASSIGNED] = "task.assigned",   [FC_EV_TASK_UNASSIGNED] = "task.unassigned",
    [FC_EV_TASK_COMPLETED] = "task.completed", [FC_EV_COST] = "cost",
};

const char *fc_event_type_name(fc_event_type_t type)
{
    return type > FC_EV_INVALID && type < FC_EV_COUNT_ ? s_type_names[type] : NULL;
}

fc_event_type_t fc_event_type_parse(const char *name)
{
    for (int t = FC_EV_INVALID + 1; t < FC_EV_COUNT_; t++)
        if (name && strcmp(name, s_type_names[t]) == 0)
            return (fc_event_type_t)t;
    return FC_EV_INVALID;
}

static const struct {
    fc_code_t code;
    const char *name;
    bool retryable;
} s_codes[] = {
    {FC_OK, "ok", false},
    {FC_DUPLICATE, "duplicate", false},
    {FC_E_MALFORMED, "malformed", false},
    {FC_E_VERSION, "version", false},
    {FC_E_TOO_LARGE, "too_large", false},
    {FC_E_MISSING, "missing", false},
    {FC_E_TYPE, "type", false},
    {FC_E_RANGE, "range", false},
    {FC_E_UNKNOWN_TYPE, "unknown_type", false},
    {FC_E_TENANT, "tenant", false},
    {FC_E_TENANT_MISMATCH, "tenant_mismatch", false},
    {FC_E_INTERNAL, "internal", true},
    {FC_E_UNAVAILABLE, "unavailable", true},
};
#define S_CODE_COUNT (sizeof s_codes / sizeof s_codes[0])

const char *fc_code_name(fc_code_t code)
{
    for (size_t i = 0; i < S_CODE_COUNT; i++)
        if (s_codes[i].code == code)
            return s_codes[i].name;
    return "unknown";
}

int fc_code_parse(const char *name)
{
    for (size_t i = 0; i < S_CODE_COUNT; i++)
        if (name && strcmp(name, s_codes[i].name) == 0)
            return (int)s_codes[i].code;
    return -1;
}

bool fc_code_retryable(fc_code_t code)
{
    for (size_t i = 0; i < S_CODE_COUNT; i++)
        if (s_codes[i].code == code)
            return s_codes[i].retryable;
    return false;
}

//  ---------------------------------------------------------------------------------
//  The event field table: wire key, name, rules. Its order is the encoding order and
//  the canonical JSON order.

enum {
    K_ID,
    K_TS,
    K_TYPE,
    K_TENANT,
    K_AGENT,
    K_AGENT_TYPE,
    K_HOST,
    K_SESSION,
    K_TASK,
    K_MODEL,
    K_REQUEST,
    K_IN,
    K_OUT,
    K_CR,
    K_CW5M,
    K_CW1H,
    K_API_MS,
    K_MEM_MB,
    K_CPU,
    K_RCOST,
    K_SPEED,
    K_GEO,
    K_BATCH,
    K_WEB_SEARCH,
    K_CODE_EXEC,
    K_PARENT,
    K_FROM,
    K_REASON,
    K_EXIT,
    K_TITLE,
    K_TASK_TYPE,
    K_PRIORITY,
    K_STATUS,
    K_REPO,
    K_ISSUE,
    K_LABELS,
    K_KIND,
    K_COST,
    K_QTY,
    K_UNIT,
    K_DESC,
    K_ATTRS,
    K_COUNT_
};

#define OFF(m) ((uint16_t)offsetof(fc_event_t, m))
#define KEY(k) k, sizeof(k) - 1
#define STR(k, n, m, cap)                                                                          \
    {                                                                                              \
        KEY(k), n, FC_F_STR, OFF(m), cap, -1, FC_EV_INVALID, 0, 0                                  \
    }
#define INT(k, n, m, has, always, lo, hi)                                                          \
    {                                                                                              \
        KEY(k), n, FC_F_INT, OFF(m), 0, has, always, lo, hi                                        \
    }
#define TOKENS(k, n, m) INT(k, n, m, -1, FC_EV_USAGE, 0, FC_MAX_TOKENS)

static const fc_mp_field_t s_fields[K_COUNT_] = {
    [K_ID] = {KEY("id"), "id", FC_F_ID, OFF(id), 0, -1, FC_EV_ALL, 0, 0},
    [K_TS] = INT("ts", "ts_us", ts_us, -1, FC_EV_ALL, FC_TS_MIN_US, FC_TS_MAX_US - 1),
    [K_TYPE] = {KEY("type"), "type", FC_F_TYPE, OFF(type), 0, -1, FC_EV_ALL, 0, 0},
    [K_TENANT] = STR("tenant", "tenant", tenant, FC_MAX_TENANT),
    [K_AGENT] = STR("agent", "agent", agent, FC_MAX_ID),
    [K_AGENT_TYPE] = STR("atype", "agent_type", agent_type, FC_MAX_NAME),
    [K_HOST] = STR("host", "host", host, FC_MAX_NAME),
    [K_SESSION] = STR("sess", "session", session, FC_MAX_ID),
    [K_TASK] = STR("task", "task", task, FC_MAX_ID),
    [K_MODEL] = STR("model", "model", model, FC_MAX_NAME),
    [K_REQUEST] = STR("req", "request", request, FC_MAX_ID),
    [K_IN] = TOKENS("in", "input_tokens", input_tokens),
    [K_OUT] = TOKENS("out", "output_tokens", output_tokens),
    [K_CR] = TOKENS("cr", "cache_read_tokens", cache_read_tokens),
    [K_CW5M] = TOKENS("cw5m", "cache_write_5m_tokens", cache_write_5m_tokens),
    [K_CW1H] = TOKENS("cw1h", "cache_write_1h_tokens", cache_write_1h_tokens),
    [K_API_MS] = INT("api_ms", "api_duration_ms", api_duration_ms, OFF(has_api_duration_ms),
                     FC_EV_INVALID, 0, INT64_C(1000000000)),
    [K_MEM_MB] = INT("mem_mb", "memory_mb", memory_mb, OFF(has_memory_mb), FC_EV_INVALID, 0,
                     INT64_C(1000000000)),
    [K_CPU] = {KEY("cpu"), "cpu_percent", FC_F_DBL, OFF(cpu_percent), 0, OFF(has_cpu_percent),
               FC_EV_INVALID, 0, 100000},
    [K_RCOST] = INT("rcost", "reported_cost_nusd", reported_cost_nusd, OFF(has_reported_cost),
                    FC_EV_INVALID, 0, FC_MAX_COST_NUSD),
    [K_SPEED] = STR("speed", "speed", speed, FC_MAX_MODE),
    [K_GEO] = STR("geo", "inference_geo", geo, FC_MAX_MODE),
    [K_BATCH] = {KEY("batch"), "batch", FC_F_BOOL, OFF(batch), 0, -1, FC_EV_INVALID, 0, 0},
    [K_WEB_SEARCH] = INT("wsearch", "web_search_requests", web_search_requests, -1, FC_EV_INVALID,
                         0, FC_MAX_WEB_SEARCH),
    [K_CODE_EXEC] =
        INT("cexec_ms", "code_exec_ms", code_exec_ms, -1, FC_EV_INVALID, 0, FC_MAX_CODE_EXEC),
    [K_PARENT] = STR("parent", "parent_agent", parent_agent, FC_MAX_ID),
    [K_FROM] = STR("from", "from_task", from_task, FC_MAX_ID),
    [K_REASON] = STR("reason", "reason", reason, FC_MAX_TEXT),
    [K_EXIT] = INT("exit", "exit_code", exit_code, OFF(has_exit_code), FC_EV_INVALID, INT32_MIN,
                   INT32_MAX),
    [K_TITLE] = STR("title", "title", title, FC_MAX_TEXT),
    [K_TASK_TYPE] = STR("ttype", "task_type", task_type, FC_MAX_NAME),
    [K_PRIORITY] = STR("prio", "priority", priority, FC_MAX_NAME),
    [K_STATUS] = STR("status", "status", status, FC_MAX_NAME),
    [K_REPO] = STR("repo", "repo", repo, FC_MAX_TEXT),
    [K_ISSUE] =
        INT("issue", "issue", issue, OFF(has_issue), FC_EV_INVALID, 0, INT64_C(1000000000000)),
    [K_LABELS] = {KEY("labels"), "labels", FC_F_LABELS, OFF(labels), 0, OFF(label_count),
                  FC_EV_INVALID, 0, 0},
    [K_KIND] = STR("kind", "kind", kind, FC_MAX_NAME),
    [K_COST] = INT("cost", "cost_nusd", cost_nusd, -1, FC_EV_COST, 0, FC_MAX_COST_NUSD),
    [K_QTY] = INT("qty", "quantity", quantity, OFF(has_quantity), FC_EV_INVALID, 0,
                  INT64_C(1000000000000000)),
    [K_UNIT] = STR("unit", "unit", unit, FC_MAX_NAME),
    [K_DESC] = STR("desc", "description", description, FC_MAX_TEXT),
    [K_ATTRS] = {KEY("attrs"), "attrs", FC_F_ATTRS, OFF(attrs), 0, OFF(attr_count), FC_EV_INVALID,
                 0, 0},
};

//  Fields each type requires (non-empty), beyond id, ts and type.
enum { R_AGENT = 1, R_TASK = 2, R_MODEL = 4, R_KIND = 8 };
static const uint8_t s_required[FC_EV_COUNT_] = {
    [FC_EV_AGENT_SPAWN] = R_AGENT,
    [FC_EV_AGENT_TERMINATE] = R_AGENT,
    [FC_EV_AGENT_REASSIGN] = R_AGENT | R_TASK,
    [FC_EV_USAGE] = R_AGENT | R_MODEL,
    [FC_EV_TASK_CREATED] = R_TASK,
    [FC_EV_TASK_UPDATED] = R_TASK,
    [FC_EV_TASK_ASSIGNED] = R_TASK | R_AGENT,
    [FC_EV_TASK_UNASSIGNED] = R_TASK | R_AGENT,
    [FC_EV_TASK_COMPLETED] = R_TASK,
    [FC_EV_COST] = R_KIND,
};

static const char *s_cost_kinds[] = {"runtime", "storage", "mcp", "other"};

bool fc_tenant_valid(const char *s)
{
    return s && fc_mp_name_valid(s, FC_MAX_TENANT);
}

void fc_event_init(fc_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
}

//  Validation of the fields in mask plus every cross-field rule.
static fc_code_t s_validate(const fc_event_t *ev, uint64_t mask, fc_proto_error_t *err)
{
    if (!fc_event_type_name(ev->type))
        return fc_mp_error(err, FC_E_UNKNOWN_TYPE, "type", "event type %d unknown", (int)ev->type);
    static const uint8_t nil[16];
    if (memcmp(ev->id, nil, 16) == 0)
        return fc_mp_error(err, FC_E_RANGE, "id", "id is all zero");
    fc_code_t rc = fc_mp_check_fields(s_fields, K_COUNT_, ev, mask, err);
    if (rc)
        return rc;
    if (ev->tenant[0] && !fc_tenant_valid(ev->tenant))
        return fc_mp_error(err, FC_E_TENANT, "tenant", "tenant must match [a-z0-9][a-z0-9_-]{0,%d}",
                           FC_MAX_TENANT - 1);
    //  Billing modes are names: pricing compares them with known values, and an unknown
    //  one prices the request as unpriced rather than guessing.
    if (ev->speed[0] && !fc_mp_name_valid(ev->speed, FC_MAX_MODE))
        return fc_mp_error(err, FC_E_RANGE, "speed", "speed must match [a-z0-9][a-z0-9_-]{0,%d}",
                           FC_MAX_MODE - 1);
    if (ev->geo[0] && !fc_mp_name_valid(ev->geo, FC_MAX_MODE))
        return fc_mp_error(err, FC_E_RANGE, "inference_geo",
                           "inference_geo must match [a-z0-9][a-z0-9_-]{0,%d}", FC_MAX_MODE - 1);
    uint8_t req = s_required[ev->type];
    if ((req & R_AGENT) && !ev->agent[0])
        return fc_mp_error(err, FC_E_MISSING, "agent", "%s requires agent", s_type_names[ev->type]);
    if ((req & R_TASK) && !ev->task[0])
        return fc_mp_error(err, FC_E_MISSING, "task", "%s requires task", s_type_names[ev->type]);
    if ((req & R_MODEL) && !ev->model[0])
        return fc_mp_error(err, FC_E_MISSING, "model", "%s requires model", s_type_names[ev->type]);
    if (req & R_KIND) {
        if (!ev->kind[0])
            return fc_mp_error(err, FC_E_MISSING, "kind", "%s requires kind",
                               s_type_names[ev->type]);
        bool known = false;
        for (size_t i = 0; i < sizeof s_cost_kinds / sizeof s_cost_kinds[0]; i++)
            known = known || strcmp(ev->kind, s_cost_kinds[i]) == 0;
        if (!known)
            return fc_mp_error(err, FC_E_RANGE, "kind",
                               "kind must be runtime, storage, mcp or other");
    }
    return FC_OK;
}

fc_code_t fc_event_validate(const fc_event_t *ev, fc_proto_error_t *err)
{
    return s_validate(ev, FC_MP_ALL, err);
}

static fc_code_t s_decode(const uint8_t *data, size_t size, fc_event_t *ev, fc_proto_error_t *err);

fc_code_t fc_event_decode(const uint8_t *data, size_t size, fc_event_t *ev, fc_proto_error_t *err)
{
    fc_event_init(ev);
    return s_decode(data, size, ev, err);
}

fc_code_t fc_event_decode_reuse(const uint8_t *data, size_t size, fc_event_t *ev,
                                fc_proto_error_t *err)
{
    fc_mp_clear_fields(s_fields, K_COUNT_, ev);
    return s_decode(data, size, ev, err);
}

//  Decodes into an event whose fields are all absent.
static fc_code_t s_decode(const uint8_t *data, size_t size, fc_event_t *ev, fc_proto_error_t *err)
{
    if (size > FC_MAX_EVENT_BYTES)
        return fc_mp_error(err, FC_E_TOO_LARGE, "", "event of %zu bytes, limit %d", size,
                           FC_MAX_EVENT_BYTES);
    fc_mp_reader_t r = {data, data + size};
    fc_mp_item_t map;
    if (fc_mp_next(&r, &map))
        return fc_mp_error(err, FC_E_MALFORMED, "", "truncated or invalid msgpack");
    if (map.type != FC_MP_MAP)
        return fc_mp_error(err, FC_E_MALFORMED, "", "event is not a map");
    uint64_t seen;
    fc_code_t rc =
        fc_mp_decode_fields(&r, &map, s_fields, K_COUNT_, ev, &seen, FC_MAX_DEPTH - 1, err);
    if (rc)
        return rc;
    if (r.p != r.end)
        return fc_mp_error(err, FC_E_MALFORMED, "", "%zu bytes after the event map",
                           (size_t)(r.end - r.p));
    static const int wire_required[] = {K_TYPE, K_ID, K_TS};
    for (size_t i = 0; i < 3; i++)
        if (!(seen & (UINT64_C(1) << wire_required[i])))
            return fc_mp_error(err, FC_E_MISSING, s_fields[wire_required[i]].name, "required");
    //  cost_nusd has no presence flag in the struct: its presence is a wire rule
    if (ev->type == FC_EV_COST && !(seen & (UINT64_C(1) << K_COST)))
        return fc_mp_error(err, FC_E_MISSING, "cost_nusd", "cost requires cost_nusd");
    return s_validate(ev, seen, err);
}

int fc_event_encode(const fc_event_t *ev, uint8_t *buf, size_t size, fc_proto_error_t *err)
{
    if (fc_event_validate(ev, err) != FC_OK)
        return -1;
    fc_mp_fixbuf_t fb = {buf, size < FC_MAX_EVENT_BYTES ? size : FC_MAX_EVENT_BYTES, 0, false};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &fb, fc_mp_fixbuf_write);
    fc_mp_pack_fields(&pk, s_fields, K_COUNT_, ev, ev->type);
    if (fb.overflow) {
        fc_mp_error(err, FC_E_TOO_LARGE, "", "encoded event over %zu bytes", fb.cap);
        return -1;
    }
    return (int)fb.len;
}

//  ---------------------------------------------------------------------------------
//  Canonical JSON

typedef struct {
    char *buf;
    size_t cap, len; //  cap excludes the NUL
    bool overflow;
} s_json_t;

static void s_json_raw(s_json_t *j, const char *s, size_t n)
{
    if (j->overflow || j->cap - j->len < n) {
        j->overflow = true;
        return;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
}

static void s_json_lit(s_json_t *j, const char *s)
{
    s_json_raw(j, s, strlen(s));
}

static void s_json_fmt(s_json_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_json_fmt(s_json_t *j, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    s_json_raw(j, tmp, (size_t)n);
}

//  A JSON string. Control characters become \uXXXX (or the short escapes); bytes that
//  are not part of well-formed UTF-8 become U+FFFD, one per byte. Decoded events never
//  contain any (validation rejects them), but a struct built in memory might.
static void s_json_str(s_json_t *j, const char *s)
{
    const uint8_t *p = (const uint8_t *)s;
    s_json_raw(j, "\"", 1);
    while (*p) {
        const uint8_t *run = p;
        while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
            p++;
        s_json_raw(j, (const char *)run, (size_t)(p - run));
        uint8_t c = *p;
        if (!c)
            break;
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            s_json_raw(j, esc, 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            const char *short_esc = c == '\n'   ? "\\n"
                                    : c == '\r' ? "\\r"
                                    : c == '\t' ? "\\t"
                                    : c == '\b' ? "\\b"
                                    : c == '\f' ? "\\f"
                                                : NULL;
            if (short_esc)
                s_json_lit(j, short_esc);
            else
                s_json_fmt(j, "\\u%04x", c);
            p++;
        } else {
            //  The decoder stops at the NUL, so p + 4 bounds it on a C string.
            size_t n = (size_t)fc_utf8_decode(p, p + 4, NULL);
            if (n) {
                s_json_raw(j, (const char *)p, n);
                p += n;
            } else {
                s_json_lit(j, "\\ufffd");
                p++;
            }
        }
    }
    s_json_raw(j, "\"", 1);
}

//  Shortest of %.15g / %.17g that reads back to the same double.
static void s_json_double(s_json_t *j, double v)
{
    char tmp[40];
    snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof tmp, "%.17g", v);
    s_json_lit(j, tmp);
}

static int s_attr_cmp(const void *a, const void *b)
{
    return strcmp(((const fc_attr_t *)a)->key, ((const fc_attr_t *)b)->key);
}

int fc_event_to_json(const fc_event_t *ev, char *buf, size_t size)
{
    if (!buf || size == 0)
        return -1;
    s_json_t j = {buf, size - 1, 0, false};
    s_json_raw(&j, "{", 1);
    bool first = true;
    for (int i = 0; i < K_COUNT_; i++) {
        const fc_mp_field_t *f = &s_fields[i];
        if (!fc_mp_field_present(f, ev, ev->type))
            continue;
        if (!first)
            s_json_raw(&j, ",", 1);
        first = false;
        s_json_str(&j, f->name);
        s_json_raw(&j, ":", 1);
        const char *at = (const char *)ev + f->off;
        switch (f->kind) {
        case FC_F_STR:
            s_json_str(&j, at);
            break;
        case FC_F_INT:
            s_json_fmt(&j, "%" PRId64, *(const int64_t *)at);
            break;
        case FC_F_DBL:
            s_json_double(&j, *(const double *)at);
            break;
        case FC_F_BOOL:
            s_json_lit(&j, *(const bool *)at ? "true" : "false");
            break;
        case FC_F_ID: {
            char uuid[37];
            fc_uuid_format(ev->id, uuid);
            s_json_str(&j, uuid);
            break;
        }
        case FC_F_TYPE: {
            const char *name = fc_event_type_name(ev->type);
            s_json_str(&j, name ? name : "");
            break;
        }
        case FC_F_LABELS:
            s_json_raw(&j, "[", 1);
            for (int k = 0; k < ev->label_count && k < FC_MAX_LABELS; k++) {
                if (k)
                    s_json_raw(&j, ",", 1);
                s_json_str(&j, ev->labels[k]);
            }
            s_json_raw(&j, "]", 1);
            break;
        case FC_F_ATTRS: {
            //  sorted by key, so that equal events render equally
            int n = ev->attr_count < FC_MAX_ATTRS ? ev->attr_count : FC_MAX_ATTRS;
            fc_attr_t sorted[FC_MAX_ATTRS];
            memcpy(sorted, ev->attrs, (size_t)n * sizeof sorted[0]);
            qsort(sorted, (size_t)n, sizeof sorted[0], s_attr_cmp);
            s_json_raw(&j, "{", 1);
            for (int k = 0; k < n; k++) {
                if (k)
                    s_json_raw(&j, ",", 1);
                s_json_str(&j, sorted[k].key);
                s_json_raw(&j, ":", 1);
                s_json_str(&j, sorted[k].value);
            }
            s_json_raw(&j, "}", 1);
            break;
        }
        }
    }
    s_json_raw(&j, "}", 1);
    if (j.overflow)
        return -1;
    buf[j.len] = 0;
    return (int)j.len;
}

//  ---------------------------------------------------------------------------------
//  Batches

fc_code_t fc_batch_decode(const uint8_t *data, size_t size, fc_batch_t *batch,
                          fc_proto_error_t *err)
{
    batch->version = 0;
    batch->batch_id = 0;
    batch->count = 0;
    fc_mp_reader_t r = {data, data + size};
    fc_mp_item_t map, val;
    fc_code_t rc = fc_mp_envelope(&r, size, &map, "batch", err);
    static const char *const keys[] = {"v", "batch", "events"};
    uint32_t seen = 0;
    for (uint32_t i = 0; rc == FC_OK && i < map.len; i++) {
        int k;
        rc = fc_mp_envelope_pair(&r, keys, 3, &seen, &k, &val, err);
        if (rc)
            break;
        if (k == 0) {
            rc = fc_mp_version(&val, &batch->version, err);
        } else if (k == 1) {
            if (val.type != FC_MP_UINT)
                rc = fc_mp_error(err, FC_E_MALFORMED, "batch",
                                 "batch id must be an unsigned integer");
            batch->batch_id = val.u;
        } else if (k == 2) {
            if (val.type != FC_MP_ARRAY)
                rc = fc_mp_error(err, FC_E_MALFORMED, "events", "events must be an array");
            else if (val.len > FC_MAX_BATCH)
                rc = fc_mp_error(err, FC_E_TOO_LARGE, "events", "%u events, limit %d", val.len,
                                 FC_MAX_BATCH);
            for (uint32_t e = 0; rc == FC_OK && e < val.len; e++) {
                fc_mp_item_t ev;
                char name[24];
                snprintf(name, sizeof name, "events[%u]", e);
                if (fc_mp_next(&r, &ev))
                    rc = fc_mp_error(err, FC_E_MALFORMED, name, "truncated or invalid msgpack");
                else if (ev.type != FC_MP_BIN)
                    rc = fc_mp_error(err, FC_E_MALFORMED, name, "each event must be a bin");
                else {
                    batch->event_data[e] = ev.ptr;
                    batch->event_size[e] = ev.len;
                }
            }
            if (rc == FC_OK)
                batch->count = val.len;
        } else {
            rc = fc_mp_skip(&r, &val, err);
        }
    }
    if (rc == FC_OK && r.p != r.end)
        rc = fc_mp_error(err, FC_E_MALFORMED, "", "bytes after the batch map");
    for (int k = 0; rc == FC_OK && k < 3; k++)
        if (!(seen & (1u << k)))
            rc = fc_mp_error(err, FC_E_MALFORMED, keys[k], "required");
    if (rc)
        batch->count = 0;
    return rc;
}

//  Room the envelope around the events may take: map, "v", "batch" + uint64, "events"
//  + array32 header.
#define S_ENVELOPE_MAX 40

struct _fc_batch_writer_t {
    uint64_t batch_id;
    uint32_t count;
    fc_mp_dynbuf_t body; //  the events, each packed as bin
};

fc_batch_writer_t *fc_batch_writer_new(uint64_t batch_id)
{
    fc_batch_writer_t *self = calloc(1, sizeof *self);
    if (self)
        self->batch_id = batch_id;
    return self;
}

void fc_batch_writer_destroy(fc_batch_writer_t **self_p)
{
    if (self_p && *self_p) {
        free((*self_p)->body.buf);
        free(*self_p);
        *self_p = NULL;
    }
}

int fc_batch_writer_add(fc_batch_writer_t *self, const uint8_t *event, size_t size)
{
    if (self->count >= FC_MAX_BATCH || size == 0 || size > FC_MAX_EVENT_BYTES)
        return -1;
    if (S_ENVELOPE_MAX + self->body.len + 5 + size > FC_MAX_FRAME)
        return -1;
    size_t before = self->body.len;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &self->body, fc_mp_dynbuf_write);
    msgpack_pack_bin_with_body(&pk, event, size);
    if (self->body.failed) {
        self->body.failed = false; //  OOM: drop the partial event, keep the batch
        self->body.len = before;
        return -1;
    }
    self->count++;
    return 0;
}

uint32_t fc_batch_writer_count(fc_batch_writer_t *self)
{
    return self->count;
}

uint8_t *fc_batch_writer_finish(fc_batch_writer_t *self, size_t *size)
{
    fc_mp_dynbuf_t out = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, fc_mp_dynbuf_write);
    msgpack_pack_map(&pk, 3);
    FC_MP_PACK_KEY(&pk, "v");
    msgpack_pack_uint32(&pk, FC_PROTO_VERSION);
    FC_MP_PACK_KEY(&pk, "batch");
    msgpack_pack_uint64(&pk, self->batch_id);
    FC_MP_PACK_KEY(&pk, "events");
    msgpack_pack_array(&pk, self->count);
    fc_mp_dynbuf_write(&out, (const char *)self->body.buf, self->body.len);
    return fc_mp_dynbuf_release(&out, size);
}

//  ---------------------------------------------------------------------------------
//  Acks

uint8_t *fc_ack_encode(const fc_ack_t *ack, size_t *size)
{
    fc_mp_dynbuf_t out = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, fc_mp_dynbuf_write);
    uint32_t rejected = 0;
    for (uint32_t i = 0; i < ack->count; i++)
        rejected += ack->results[i].code >= FC_E_MALFORMED;
    bool has_reason = ack->reason[0] != 0;
    msgpack_pack_map(&pk, 4 + has_reason + (rejected > 0));
    FC_MP_PACK_KEY(&pk, "v");
    msgpack_pack_uint32(&pk, FC_PROTO_VERSION);
    FC_MP_PACK_KEY(&pk, "batch");
    msgpack_pack_uint64(&pk, ack->batch_id);
    FC_MP_PACK_KEY(&pk, "status");
    msgpack_pack_int(&pk, (int)ack->status);
    if (has_reason) {
        FC_MP_PACK_KEY(&pk, "reason");
        msgpack_pack_str_with_body(&pk, ack->reason, strnlen(ack->reason, sizeof ack->reason - 1));
    }
    FC_MP_PACK_KEY(&pk, "results");
    msgpack_pack_array(&pk, ack->count);
    for (uint32_t i = 0; i < ack->count; i++)
        msgpack_pack_uint8(&pk, ack->results[i].code);
    if (rejected) {
        FC_MP_PACK_KEY(&pk, "errors");
        msgpack_pack_array(&pk, rejected);
        for (uint32_t i = 0; i < ack->count; i++) {
            const fc_result_t *res = &ack->results[i];
            if (res->code < FC_E_MALFORMED)
                continue;
            msgpack_pack_array(&pk, 3);
            msgpack_pack_uint32(&pk, i);
            msgpack_pack_str_with_body(&pk, res->field, strnlen(res->field, sizeof res->field - 1));
            msgpack_pack_str_with_body(&pk, res->reason,
                                       strnlen(res->reason, sizeof res->reason - 1));
        }
    }
    return fc_mp_dynbuf_release(&out, size);
}

//  One [index, field, reason] entry of an ack's "errors".
static fc_code_t s_ack_error(fc_mp_reader_t *r, fc_ack_t *ack, uint32_t e, fc_proto_error_t *err)
{
    char name[24];
    snprintf(name, sizeof name, "errors[%u]", e);
    fc_mp_item_t arr, index, field, reason;
    if (fc_mp_next(r, &arr))
        return fc_mp_error(err, FC_E_MALFORMED, name, "truncated or invalid msgpack");
    if (arr.type != FC_MP_ARRAY || arr.len != 3)
        return fc_mp_error(err, FC_E_MALFORMED, name, "expected [index, field, reason]");
    if (fc_mp_next(r, &index) || fc_mp_next(r, &field) || fc_mp_next(r, &reason))
        return fc_mp_error(err, FC_E_MALFORMED, name, "truncated or invalid msgpack");
    if (index.type != FC_MP_UINT || index.u >= ack->count)
        return fc_mp_error(err, FC_E_MALFORMED, name, "index is not a result position");
    fc_result_t *res = &ack->results[index.u];
    fc_code_t rc = fc_mp_copy_str(&field, res->field, sizeof res->field - 1, name, err);
    if (rc == FC_OK)
        rc = fc_mp_copy_str(&reason, res->reason, sizeof res->reason - 1, name, err);
    return rc;
}

fc_code_t fc_ack_decode(const uint8_t *data, size_t size, fc_ack_t *ack, fc_proto_error_t *err)
{
    memset(ack, 0, sizeof *ack);
    fc_mp_reader_t r = {data, data + size};
    fc_mp_reader_t errors_at = {NULL, NULL}; //  "errors" may come before "results"
    uint32_t errors_count = 0;
    fc_mp_item_t map, val;
    fc_code_t rc = fc_mp_envelope(&r, size, &map, "ack", err);
    static const char *const keys[] = {"v", "batch", "status", "reason", "results", "errors"};
    uint32_t seen = 0;
    for (uint32_t i = 0; rc == FC_OK && i < map.len; i++) {
        int k;
        rc = fc_mp_envelope_pair(&r, keys, 6, &seen, &k, &val, err);
        if (rc)
            break;
        switch (k) {
        case 0:
            rc = fc_mp_version(&val, &ack->version, err);
            break;
        case 1:
            if (val.type != FC_MP_UINT)
                rc = fc_mp_error(err, FC_E_MALFORMED, "batch",
                                 "batch id must be an unsigned integer");
            ack->batch_id = val.u;
            break;
        case 2:
            if (val.type != FC_MP_UINT || val.u > 255)
                rc = fc_mp_error(err, FC_E_MALFORMED, "status", "status must be a code 0..255");
            ack->status = (fc_code_t)val.u;
            break;
        case 3:
            rc = fc_mp_copy_str(&val, ack->reason, sizeof ack->reason - 1, "reason", err);
            break;
        case 4:
            if (val.type != FC_MP_ARRAY) {
                rc = fc_mp_error(err, FC_E_MALFORMED, "results", "results must be an array");
                break;
            }
            if (val.len > FC_MAX_BATCH) {
                rc = fc_mp_error(err, FC_E_TOO_LARGE, "results", "%u results, limit %d", val.len,
                                 FC_MAX_BATCH);
                break;
            }
            if (val.len) {
                ack->results = calloc(val.len, sizeof *ack->results);
                if (!ack->results) {
                    rc = fc_mp_error(err, FC_E_INTERNAL, "results", "out of memory");
                    break;
                }
            }
            ack->count = val.len;
            for (uint32_t e = 0; rc == FC_OK && e < val.len; e++) {
                fc_mp_item_t code;
                if (fc_mp_next(&r, &code) || code.type != FC_MP_UINT || code.u > 255)
                    rc = fc_mp_error(err, FC_E_MALFORMED, "results",
                                     "result %u is not a code 0..255", e);
                else
                    ack->results[e].code = (uint8_t)code.u;
            }
            break;
        case 5: {
            if (val.type != FC_MP_ARRAY) {
                rc = fc_mp_error(err, FC_E_MALFORMED, "errors", "errors must be an array");
                break;
            }
            errors_at = r;
            errors_count = val.len;
            rc = fc_mp_skip(&r, &val, err);
            errors_at.end = r.p;
            break;
        }
        default:
            rc = fc_mp_skip(&r, &val, err);
        }
    }
    if (rc == FC_OK && r.p != r.end)
        rc = fc_mp_error(err, FC_E_MALFORMED, "", "bytes after the ack map");
    for (int k = 0; rc == FC_OK && k < 3; k++)
        if (!(seen & (1u << k)))
            rc = fc_mp_error(err, FC_E_MALFORMED, keys[k], "required");
    if (rc == FC_OK && errors_count > ack->count)
        rc = fc_mp_error(err, FC_E_MALFORMED, "errors", "more errors than results");
    for (uint32_t e = 0; rc == FC_OK && e < errors_count; e++)
        rc = s_ack_error(&errors_at, ack, e, err);
    if (rc)
        fc_ack_clear(ack);
    return rc;
}

void fc_ack_clear(fc_ack_t *ack)
{
    free(ack->results);
    ack->results = NULL;
    ack->count = 0;
}

//  ---------------------------------------------------------------------------------
//  Event ids

static void s_put48(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(v >> (40 - 8 * i));
}

static void s_stamp(uint8_t id[16], int version)
{
    id[6] = (uint8_t)((version << 4) | (id[6] & 0x0f));
    id[8] = (uint8_t)(0x80 | (id[8] & 0x3f));
}

//  UUIDv7 with the 12-bit rand_a field holding the sub-millisecond fraction (RFC 9562
//  method 3), so ids from one process sort by creation time to ~250 ns.
void fc_event_id_new(uint8_t id[16])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    uint32_t frac = (uint32_t)(((uint64_t)(ts.tv_nsec % 1000000) << 12) / 1000000);
    s_put48(id, ms);
    id[6] = (uint8_t)(frac >> 8);
    id[7] = (uint8_t)frac;
    size_t got = 0;
    while (got < 8) {
        ssize_t n = getrandom(id + 8 + got, 8 - got, 0);
        if (n < 0) {
            assert(errno == EINTR);
            continue;
        }
        got += (size_t)n;
    }
    s_stamp(id, 7);
}

//  splitmix64's finaliser: FNV-1a alone diffuses poorly into its high bits.
static uint64_t s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void fc_event_id_from_name(uint8_t id[16], int64_t ts_us, const char *name, size_t len)
{
    uint64_t ms = ts_us > 0 ? (uint64_t)ts_us / 1000 : 0;
    uint64_t h1 = s_mix(fc_fnv1a64(FC_FNV64_BASIS, name, len));
    uint64_t h2 = s_mix(fc_fnv1a64(UINT64_C(0x84222325cbf29ce4), name, len));
    s_put48(id, ms);
    for (int i = 0; i < 8; i++)
        id[6 + i] = (uint8_t)(h1 >> (56 - 8 * i));
    id[14] = (uint8_t)(h2 >> 56);
    id[15] = (uint8_t)(h2 >> 48);
    s_stamp(id, 8);
}

void fc_uuid_format(const uint8_t id[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[id[i] >> 4];
        *o++ = hex[id[i] & 15];
    }
    *o = 0;
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int fc_uuid_parse(const char *text, uint8_t id[16])
{
    uint8_t out[16];
    int n = 0;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash) {
            if (text[i] != '-')
                return -1;
            continue;
        }
        int hi = s_hexval(text[i]);
        int lo = hi < 0 ? -1 : s_hexval(text[++i]);
        if (hi < 0 || lo < 0)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
    }
    if (text[36] != 0)
        return -1;
    memcpy(id, out, 16);
    return 0;
}
