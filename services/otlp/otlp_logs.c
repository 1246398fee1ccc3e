/*  otlp_logs: OTLP JSON logs to usage events (see otlp_logs.h). */
#include "otlp_logs.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_json_tok.h"
#include "fc_price.h"

//  Levels: request 1, resourceLogs 2, a resourceLogs entry 3, scopeLogs 4, a scopeLogs
//  entry 5, logRecords 6, a record 7, attributes 8, a key/value 9, its AnyValue 10.
//  Containers below (arrayValue, kvlistValue) are never read: collapsed, they cost one
//  token each.
#define S_KEEP_DEPTH  10
#define S_NUM_MAX     64 //  longest number text read (digits of int64 nano-USD fit easily)
#define S_KEEP_REASON 3  //  rejection reasons quoted in the message
#define S_AGENT_TYPE  "claude-code"
#define S_SOURCE      "claude-code-otlp"

//  Claude Code attributes kept as attribution (record first, then resource). user.email
//  is left out on purpose: fleetcost does not need a person's address to attribute cost.
static const char *const s_attr_keys[] = {"user.account_uuid",
                                          "user.id",
                                          "organization.id",
                                          "terminal.type",
                                          "app.version",
                                          "query_source",
                                          "speed",
                                          "effort",
                                          "agent.name",
                                          "skill.name",
                                          NULL};

//  Resource attributes that describe the exporter, not who spent: not copied as attrs.
static const char *const s_resource_skip[] = {"tenant.id", "service.", "telemetry.", "os.",
                                              "host.",     "process.", NULL};

typedef struct {
    const char *text;
    const fc_jtok_t *t;
    const char *token_tenant; //  the sender's tenant; "" or NULL: an operator token
    const char *default_tenant;
    otlp_emit_fn *emit;
    void *arg;
    otlp_result_t *res;
    char reasons[OTLP_MAX_MSG - 80]; //  the first rejection reasons, "; "-separated
} s_map_t;

//  One API request record being mapped.
typedef struct {
    s_map_t *m;
    int res_attrs, attrs; //  attribute arrays of the resource and the record, or -1
    char where[96];       //  "resourceLogs[0].scopeLogs[1].logRecords[2]"
    char why[200];        //  why it was rejected
} s_rec_t;

static bool s_is(const fc_jtok_t *t, int i, fc_jtok_type_t type)
{
    return i >= 0 && t[i].type == type && !t[i].collapsed;
}

//  Member key of obj, or -1 when absent or null.
static int s_opt(const s_map_t *m, int obj, const char *key)
{
    int i = fc_jtok_member(m->text, m->t, obj, key);
    return i >= 0 && m->t[i].type == FC_JTOK_NULL ? -1 : i;
}

//  Element k of an array is found by walking `next`: callers iterate with these.
static int s_first(const fc_jtok_t *t, int arr)
{
    return s_is(t, arr, FC_JTOK_ARRAY) && t[arr].size > 0 ? arr + 1 : -1;
}

static int s_next(const fc_jtok_t *t, int arr, int i)
{
    return (uint32_t)t[i].next < t[arr].next ? (int)t[i].next : -1;
}

static int s_reject(s_rec_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_reject(s_rec_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return -1;
}

//  The AnyValue of attribute key in the array arr (the first such key), or -1.
static int s_attr_in(const s_map_t *m, int arr, const char *key)
{
    for (int e = s_first(m->t, arr); e >= 0; e = s_next(m->t, arr, e))
        if (fc_jtok_string_eq(m->text, m->t, fc_jtok_member(m->text, m->t, e, "key"), key))
            return s_opt(m, e, "value");
    return -1;
}

//  The record's attribute, else the resource's (or the other way round).
static int s_attr(const s_rec_t *r, const char *key, bool resource_first)
{
    int a = resource_first ? r->res_attrs : r->attrs, b = resource_first ? r->attrs : r->res_attrs;
    int v = s_attr_in(r->m, a, key);
    return v >= 0 ? v : s_attr_in(r->m, b, key);
}

//  A string attribute into out. Returns 1 if present, 0 if absent (or an empty
//  AnyValue), -1 (reason set) if it is not a string or longer than size - 1 bytes.
static int s_str(s_rec_t *r, int v, const char *key, char *out, size_t size)
{
    out[0] = 0;
    const s_map_t *m = r->m;
    if (v < 0 || (s_is(m->t, v, FC_JTOK_OBJECT) && m->t[v].size == 0))
        return 0;
    int s = s_opt(m, v, "stringValue");
    if (s < 0)
        return s_reject(r, "%s is not a stringValue", key);
    if (fc_jtok_string(m->text, m->t, s, out, size) < 0) {
        out[0] = 0;
        return s_reject(r, "%s is not a string of at most %zu bytes", key, size - 1);
    }
    return 1;
}

//  The text of a numeric attribute: intValue (a number or, as proto3 JSON writes int64,
//  a string), doubleValue (a number) or stringValue holding a number. Returns 1, 0 if
//  absent, -1 (reason set) for anything else.
static int s_num_text(s_rec_t *r, int v, const char *key, char *out)
{
    const s_map_t *m = r->m;
    if (v < 0 || (s_is(m->t, v, FC_JTOK_OBJECT) && m->t[v].size == 0))
        return 0;
    const fc_jtok_t *t = m->t;
    int iv = s_opt(m, v, "intValue"), dv = s_opt(m, v, "doubleValue");
    int num = iv >= 0 && t[iv].type == FC_JTOK_NUMBER   ? iv
              : dv >= 0 && t[dv].type == FC_JTOK_NUMBER ? dv
                                                        : -1;
    if (num >= 0) {
        size_t n = t[num].end - t[num].start;
        if (n >= S_NUM_MAX)
            return s_reject(r, "%s: a number of more than %d characters", key, S_NUM_MAX - 1);
        memcpy(out, m->text + t[num].start, n);
        out[n] = 0;
        return 1;
    }
    int str = iv >= 0 && t[iv].type == FC_JTOK_STRING ? iv : s_opt(m, v, "stringValue");
    if (str < 0 || fc_jtok_string(m->text, t, str, out, S_NUM_MAX) < 0)
        return s_reject(r, "%s is not a number", key);
    return 1;
}

//  An integer attribute in [0, max]. exact: refuse a fraction (token counts); otherwise
//  it is rounded (durations). Absent is 0 with *present false.
static int s_int(s_rec_t *r, const char *key, bool exact, int64_t max, int64_t *v, bool *present)
{
    char text[S_NUM_MAX];
    *v = 0;
    int rc = s_num_text(r, s_attr(r, key, false), key, text);
    if (present)
        *present = rc == 1;
    if (rc <= 0)
        return rc;
    int64_t x, micro;
    size_t n = strlen(text);
    if (fc_json_decimal_scaled(text, n, 0, &x) != 0 || x < 0 || x > max)
        return s_reject(r, "%s \"%.24s\" is not an integer in [0, %" PRId64 "]", key, text, max);
    //  Exact: the value times 10^6 equals the rounded value times 10^6 (x <= max keeps it
    //  within int64 for every bound used here).
    if (exact && (fc_json_decimal_scaled(text, n, 6, &micro) != 0 || micro != x * 1000000))
        return s_reject(r, "%s \"%.24s\" is not a whole number", key, text);
    *v = x;
    return 1;
}

//  cost_usd as exact nano-USD (decimal text scaled, never a double); else
//  cost_usd_micros (integer micro-USD) when only that is sent.
static int s_cost(s_rec_t *r, fc_event_t *ev)
{
    char text[S_NUM_MAX];
    int rc = s_num_text(r, s_attr(r, "cost_usd", false), "cost_usd", text);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        int64_t nusd;
        if (fc_json_decimal_scaled(text, strlen(text), 9, &nusd) != 0 || nusd < 0 ||
            nusd > FC_MAX_COST_NUSD)
            return s_reject(r, "cost_usd \"%.24s\" is not an amount in [0, %" PRId64 "] USD", text,
                            FC_MAX_COST_NUSD / 1000000000);
        ev->has_reported_cost = true;
        ev->reported_cost_nusd = nusd;
        return 0;
    }
    int64_t micros;
    bool present;
    if (s_int(r, "cost_usd_micros", true, FC_MAX_COST_NUSD / 1000, &micros, &present) < 0)
        return -1;
    ev->has_reported_cost = present;
    ev->reported_cost_nusd = micros * 1000;
    return 0;
}

//  Event time: timeUnixNano, else observedTimeUnixNano (0 means unset in OTLP).
static int s_time(s_rec_t *r, int rec, int64_t *ns)
{
    static const char *const keys[] = {"timeUnixNano", "observedTimeUnixNano"};
    *ns = 0;
    for (int k = 0; k < 2 && *ns == 0; k++) {
        int i = s_opt(r->m, rec, keys[k]);
        if (i >= 0 && (fc_jtok_int64(r->m->text, r->m->t, i, true, ns) != 0 || *ns < 0))
            return s_reject(r, "%s is not a count of nanoseconds", keys[k]);
    }
    if (*ns == 0)
        return s_reject(r, "no timeUnixNano or observedTimeUnixNano");
    if (*ns / 1000 < FC_TS_MIN_US || *ns / 1000 >= FC_TS_MAX_US)
        return s_reject(r, "timeUnixNano %" PRId64 " is outside 2000..2100", *ns);
    return 0;
}

//  Attribute keys the wire format accepts: [A-Za-z0-9_.-]{1,FC_MAX_ATTR_KEY}.
static bool s_attr_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > FC_MAX_ATTR_KEY)
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '.' || *k == '-'))
            return false;
    return true;
}

//  Adds key=value unless attrs are full, the key is taken, or either does not fit.
static void s_attr_add(fc_event_t *ev, const char *key, const char *value)
{
    if (ev->attr_count >= FC_MAX_ATTRS || !*value || !s_attr_key_ok(key) ||
        strlen(value) > FC_MAX_ATTR_VALUE)
        return;
    for (int i = 0; i < ev->attr_count; i++)
        if (strcmp(ev->attrs[i].key, key) == 0)
            return;
    fc_attr_t *a = &ev->attrs[ev->attr_count++];
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->value, sizeof a->value, "%s", value);
}

//  Attribution is best effort: a value of another type or too long is left out, never
//  a reason to refuse the usage.
static void s_attrs(s_rec_t *r, fc_event_t *ev)
{
    const s_map_t *m = r->m;
    char value[FC_MAX_ATTR_VALUE + 1], key[FC_MAX_ATTR_KEY + 1];
    s_attr_add(ev, "source", S_SOURCE);
    for (const char *const *k = s_attr_keys; *k; k++) {
        int s = s_opt(m, s_attr(r, *k, false), "stringValue");
        if (fc_jtok_string(m->text, m->t, s, value, sizeof value) > 0)
            s_attr_add(ev, *k, value);
    }
    //  Custom resource attributes (OTEL_RESOURCE_ATTRIBUTES: department, team.id, ...).
    for (int e = s_first(m->t, r->res_attrs); e >= 0; e = s_next(m->t, r->res_attrs, e)) {
        int k = fc_jtok_member(m->text, m->t, e, "key");
        int s = s_opt(m, s_opt(m, e, "value"), "stringValue");
        if (fc_jtok_string(m->text, m->t, k, key, sizeof key) <= 0 ||
            fc_jtok_string(m->text, m->t, s, value, sizeof value) <= 0)
            continue;
        bool skip = false;
        for (const char *const *p = s_resource_skip; *p && !skip; p++)
            skip = strncmp(key, *p, strlen(*p)) == 0;
        if (!skip)
            s_attr_add(ev, key, value);
    }
}

//  Builds the usage event of an API request record. Returns 0, or -1 with r->why.
static int s_event(s_rec_t *r, int rec, fc_event_t *ev)
{
    fc_event_init(ev);
    ev->type = FC_EV_USAGE;
    int64_t ns;
    if (s_time(r, rec, &ns) != 0)
        return -1;
    ev->ts_us = ns / 1000;

    int rc = s_str(r, s_attr(r, "tenant.id", true), "tenant.id", ev->tenant, sizeof ev->tenant);
    if (rc < 0)
        return -1;
    const char *own = r->m->token_tenant;
    if (own && *own) {
        //  A tenant's token sends for that tenant only: the attribute may repeat it,
        //  never name another one.
        if (rc > 0 && strcmp(ev->tenant, own) != 0) {
            r->m->res->foreign++;
            return s_reject(r, "tenant.id names a tenant other than the token's");
        }
        snprintf(ev->tenant, sizeof ev->tenant, "%s", own);
    } else if (rc == 0 && r->m->default_tenant && *r->m->default_tenant)
        snprintf(ev->tenant, sizeof ev->tenant, "%s", r->m->default_tenant);
    if (!ev->tenant[0])
        return s_reject(r, "no tenant: set the resource attribute tenant.id "
                           "(OTEL_RESOURCE_ATTRIBUTES=tenant.id=<tenant>) or --default-tenant");

    char request_id[FC_MAX_ID + 1], stamp[64];
    if (s_str(r, s_attr(r, "session.id", false), "session.id", ev->session, sizeof ev->session) <
            0 ||
        s_str(r, s_attr(r, "model", false), "model", ev->model, sizeof ev->model) < 0 ||
        s_str(r, s_attr(r, "request_id", false), "request_id", request_id, sizeof request_id) < 0 ||
        s_str(r, s_attr(r, "event.timestamp", false), "event.timestamp", stamp, sizeof stamp) < 0 ||
        s_str(r, s_attr(r, "host.name", true), "host.name", ev->host, sizeof ev->host) < 0)
        return -1;
    if (!ev->session[0])
        return s_reject(r, "no session.id");
    if (!ev->model[0])
        return s_reject(r, "no model");
    snprintf(ev->agent, sizeof ev->agent, "%s", ev->session); //  one agent per session
    snprintf(ev->request, sizeof ev->request, "%s", request_id);
    snprintf(ev->agent_type, sizeof ev->agent_type, "%s", S_AGENT_TYPE);

    int64_t seq;
    bool has_seq;
    if (s_int(r, "input_tokens", true, FC_MAX_TOKENS, &ev->input_tokens, NULL) < 0 ||
        s_int(r, "output_tokens", true, FC_MAX_TOKENS, &ev->output_tokens, NULL) < 0 ||
        s_int(r, "cache_read_tokens", true, FC_MAX_TOKENS, &ev->cache_read_tokens, NULL) < 0 ||
        //  The export has no 5-minute / 1-hour split: creation counts as 5-minute writes.
        s_int(r, "cache_creation_tokens", true, FC_MAX_TOKENS, &ev->cache_write_5m_tokens, NULL) <
            0 ||
        s_int(r, "duration_ms", false, INT64_C(1000000000), &ev->api_duration_ms,
              &ev->has_api_duration_ms) < 0 ||
        s_int(r, "event.sequence", true, INT64_MAX / 1000000, &seq, &has_seq) < 0 ||
        s_cost(r, ev) < 0)
        return -1;
    //  Fast mode is billed at its own rates (PROTOCOL.md §4.2): the api_request's speed
    //  attribute ("fast", or "normal" for standard) decides how ingest prices the event.
    char speed[FC_MAX_ATTR_VALUE + 1];
    if (s_str(r, s_attr(r, "speed", false), "speed", speed, sizeof speed) < 0)
        return -1;
    fc_usage_mode(speed, ev->speed, sizeof ev->speed);
    s_attrs(r, ev);

    //  The id names the request, so an exporter's retry (or a duplicated record) maps to
    //  the same event and ingest absorbs it: the API request id when Claude Code has one,
    //  else the session's event timestamp and sequence.
    char name[512];
    int n;
    if (request_id[0])
        n = snprintf(name, sizeof name, "otlp|%s|%s", ev->session, request_id);
    else if (stamp[0])
        n = snprintf(name, sizeof name, "otlp|%s|%s", ev->session, stamp);
    else
        n = snprintf(name, sizeof name, "otlp|%s|%" PRId64, ev->session, ns);
    if (!request_id[0] && has_seq && n > 0 && (size_t)n < sizeof name)
        n += snprintf(name + n, sizeof name - (size_t)n, "|%" PRId64, seq);
    if (n < 0 || (size_t)n >= sizeof name)
        return s_reject(r, "event id name too long"); //  cannot happen with the bounds above
    fc_event_id_from_name(ev->id, ev->ts_us, name, (size_t)n);

    fc_proto_error_t err;
    if (fc_event_validate(ev, &err) != FC_OK)
        return s_reject(r, "%s: %s", err.field, err.reason);
    return 0;
}

static void s_count_rejected(s_map_t *m, const s_rec_t *r)
{
    if (m->res->rejected++ < S_KEEP_REASON) {
        size_t n = strlen(m->reasons);
        snprintf(m->reasons + n, sizeof m->reasons - n, "%s%s: %s", n ? "; " : "", r->where,
                 r->why);
    }
}

//  One log record. Returns 0, or -1 when emit asked the sender to retry.
static int s_record(s_map_t *m, int rec, int res_attrs, int ri, int si, int li)
{
    s_rec_t r = {.m = m, .res_attrs = res_attrs, .attrs = -1};
    snprintf(r.where, sizeof r.where, "resourceLogs[%d].scopeLogs[%d].logRecords[%d]", ri, si, li);
    m->res->records++;
    if (!s_is(m->t, rec, FC_JTOK_OBJECT)) {
        s_reject(&r, "not an object");
        s_count_rejected(m, &r);
        return 0;
    }
    int attrs = s_opt(m, rec, "attributes");
    r.attrs = s_is(m->t, attrs, FC_JTOK_ARRAY) ? attrs : -1;
    int body = s_opt(m, s_opt(m, rec, "body"), "stringValue");
    int name = s_opt(m, s_attr_in(m, r.attrs, "event.name"), "stringValue");
    bool api = fc_jtok_string_eq(m->text, m->t, body, "claude_code.api_request") ||
               fc_jtok_string_eq(m->text, m->t, name, "api_request");
    if (!api) {
        m->res->ignored++;
        return 0;
    }
    fc_event_t ev;
    if (attrs >= 0 && r.attrs < 0)
        s_reject(&r, "attributes is not an array");
    else if (s_event(&r, rec, &ev) == 0) {
        fc_proto_error_t err;
        memset(&err, 0, sizeof err);
        if (m->emit(m->arg, &ev, &err) == 0) {
            m->res->events++;
            return 0;
        }
        if (fc_code_retryable(err.code)) {
            snprintf(m->res->message, sizeof m->res->message, "%s", err.reason);
            return -1;
        }
        s_reject(&r, "%s: %s", err.field, err.reason);
    }
    s_count_rejected(m, &r);
    return 0;
}

//  Walks the envelope. check: verifies its shape (why filled, -1 if wrong) and emits
//  nothing; otherwise maps every record (-1: emit asked for a retry).
static int s_walk(s_map_t *m, bool check, char *why, size_t size)
{
    const fc_jtok_t *t = m->t;
    if (!s_is(t, 0, FC_JTOK_OBJECT))
        return snprintf(why, size, "not a JSON object"), -1;
    int rl = s_opt(m, 0, "resourceLogs");
    if (rl >= 0 && !s_is(t, rl, FC_JTOK_ARRAY))
        return snprintf(why, size, "resourceLogs is not an array"), -1;
    int ri = 0;
    for (int r = s_first(t, rl); r >= 0; r = s_next(t, rl, r), ri++) {
        if (!s_is(t, r, FC_JTOK_OBJECT))
            return snprintf(why, size, "resourceLogs[%d] is not an object", ri), -1;
        int res = s_opt(m, r, "resource");
        int ra = s_opt(m, res, "attributes");
        int sl = s_opt(m, r, "scopeLogs");
        if (res >= 0 && !s_is(t, res, FC_JTOK_OBJECT))
            return snprintf(why, size, "resourceLogs[%d].resource is not an object", ri), -1;
        if (ra >= 0 && !s_is(t, ra, FC_JTOK_ARRAY))
            return snprintf(why, size, "resourceLogs[%d].resource.attributes is not an array", ri),
                   -1;
        if (sl >= 0 && !s_is(t, sl, FC_JTOK_ARRAY))
            return snprintf(why, size, "resourceLogs[%d].scopeLogs is not an array", ri), -1;
        int si = 0;
        for (int s = s_first(t, sl); s >= 0; s = s_next(t, sl, s), si++) {
            int lr = s_opt(m, s, "logRecords");
            if (!s_is(t, s, FC_JTOK_OBJECT))
                return snprintf(why, size, "resourceLogs[%d].scopeLogs[%d] is not an object", ri,
                                si),
                       -1;
            if (lr >= 0 && !s_is(t, lr, FC_JTOK_ARRAY))
                return snprintf(why, size,
                                "resourceLogs[%d].scopeLogs[%d].logRecords is not an array", ri,
                                si),
                       -1;
            if (check)
                continue;
            int li = 0;
            for (int l = s_first(t, lr); l >= 0; l = s_next(t, lr, l), li++)
                if (s_record(m, l, ra, ri, si, li) != 0)
                    return -1;
        }
    }
    return 0;
}

otlp_status_t otlp_logs_map(const char *body, size_t len, const char *token_tenant,
                            const char *default_tenant, otlp_emit_fn *emit, void *arg,
                            otlp_result_t *res)
{
    memset(res, 0, sizeof *res);
    //  Every token but the top one is preceded by a byte of its own ('[', '{', ',' or
    //  ':') and takes at least one: len / 2 + 2 tokens always suffice, so the token
    //  count never limits a body the size limit let through.
    if (len > UINT32_MAX / 2) {
        snprintf(res->message, sizeof res->message, "request too large");
        return OTLP_MALFORMED;
    }
    int max_tokens = (int)(len / 2 + 2);
    fc_jtok_t *toks = malloc((size_t)max_tokens * sizeof *toks);
    if (!toks) {
        snprintf(res->message, sizeof res->message, "out of memory");
        return OTLP_UNAVAILABLE;
    }
    const fc_jtok_limits_t lim = {max_tokens, OTLP_MAX_DEPTH, S_KEEP_DEPTH};
    char why[200];
    s_map_t m = {.text = body,
                 .t = toks,
                 .token_tenant = token_tenant,
                 .default_tenant = default_tenant,
                 .emit = emit,
                 .arg = arg,
                 .res = res};
    otlp_status_t status = OTLP_OK;
    if (fc_jtok_parse(body, len, &lim, toks, why, sizeof why) < 0 ||
        s_walk(&m, true, why, sizeof why) != 0) {
        snprintf(res->message, sizeof res->message, "not an OTLP JSON logs request: %s", why);
        status = OTLP_MALFORMED;
    } else if (s_walk(&m, false, why, sizeof why) != 0) {
        status = OTLP_UNAVAILABLE; //  message set by s_record
    } else if (res->rejected) {
        snprintf(res->message, sizeof res->message, "%d of %d API request records rejected: %s%s",
                 res->rejected, res->rejected + res->events, m.reasons,
                 res->rejected > S_KEEP_REASON ? "; ..." : "");
    }
    free(toks);
    return status;
}
