/*  test_otlp: the OTLP logs mapping — a request of the documented shape, then hostile
    and broken ones. JSON is written with ' for " to stay readable. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_test.h"
#include "otlp_logs.h"

#define MAX_EVENTS 64

typedef struct {
    int count;
    fc_event_t ev[MAX_EVENTS];
    fc_code_t fail; //  when set, emit refuses with this code
} s_sink_t;

static int s_emit(void *arg, fc_event_t *ev, fc_proto_error_t *err)
{
    s_sink_t *s = arg;
    if (s->fail) {
        err->code = s->fail;
        snprintf(err->field, sizeof err->field, "tenant");
        snprintf(err->reason, sizeof err->reason, "refused by the sink");
        return -1;
    }
    if (s->count < MAX_EVENTS)
        s->ev[s->count++] = *ev;
    return 0;
}

//  text with every ' turned into " (caller frees).
static char *s_json(const char *text)
{
    char *j = strdup(text);
    for (char *p = j; *p; p++)
        if (*p == '\'')
            *p = '"';
    return j;
}

static otlp_status_t s_map(const char *text, const char *tenant, s_sink_t *sink, otlp_result_t *res)
{
    char *j = s_json(text);
    memset(sink, 0, sizeof *sink);
    otlp_status_t st = otlp_logs_map(j, strlen(j), NULL, tenant, s_emit, sink, res);
    free(j);
    return st;
}

static const char *s_attr(const fc_event_t *ev, const char *key)
{
    for (int i = 0; i < ev->attr_count; i++)
        if (strcmp(ev->attrs[i].key, key) == 0)
            return ev->attrs[i].value;
    return NULL;
}

//  Two resources (tenants acme and beta), three API requests (one by body, one by
//  event.name, one with numbers as doubleValue / intValue numbers), one user_prompt.
static const char *s_documented =
    "{'resourceLogs':["
    " {'resource':{'attributes':["
    "   {'key':'service.name','value':{'stringValue':'claude-code'}},"
    "   {'key':'host.name','value':{'stringValue':'dev-01'}},"
    "   {'key':'tenant.id','value':{'stringValue':'acme'}},"
    "   {'key':'department','value':{'stringValue':'platform'}}]},"
    "  'scopeLogs':[{'scope':{'name':'com.anthropic.claude_code.events','version':'2.0.0'},"
    "   'logRecords':["
    "    {'timeUnixNano':'1795770000123456789','observedTimeUnixNano':'1795770000200000000',"
    "     'body':{'stringValue':'claude_code.api_request'},"
    "     'attributes':["
    "      {'key':'event.name','value':{'stringValue':'api_request'}},"
    "      {'key':'event.timestamp','value':{'stringValue':'2026-11-27T09:00:00.123Z'}},"
    "      {'key':'event.sequence','value':{'intValue':'7'}},"
    "      {'key':'session.id','value':{'stringValue':'sess-a'}},"
    "      {'key':'user.account_uuid','value':{'stringValue':'acct-1'}},"
    "      {'key':'organization.id','value':{'stringValue':'org-1'}},"
    "      {'key':'terminal.type','value':{'stringValue':'vscode'}},"
    "      {'key':'user.email','value':{'stringValue':'dev@example.com'}},"
    "      {'key':'model','value':{'stringValue':'claude-sonnet-4-5-20250929'}},"
    "      {'key':'input_tokens','value':{'stringValue':'1200'}},"
    "      {'key':'output_tokens','value':{'stringValue':'345'}},"
    "      {'key':'cache_read_tokens','value':{'stringValue':'50000'}},"
    "      {'key':'cache_creation_tokens','value':{'stringValue':'2048'}},"
    "      {'key':'cost_usd','value':{'stringValue':'0.0123456789'}},"
    "      {'key':'duration_ms','value':{'stringValue':'2345'}},"
    "      {'key':'request_id','value':{'stringValue':'req_011CAbC'}}]},"
    "    {'timeUnixNano':'1795770001000000000',"
    "     'body':{'stringValue':'claude_code.user_prompt'},"
    "     'attributes':[{'key':'event.name','value':{'stringValue':'user_prompt'}},"
    "      {'key':'session.id','value':{'stringValue':'sess-a'}}]},"
    "    {'timeUnixNano':'1795770002000000000',"
    "     'attributes':["
    "      {'key':'event.name','value':{'stringValue':'api_request'}},"
    "      {'key':'event.timestamp','value':{'stringValue':'2026-11-27T09:00:02.000Z'}},"
    "      {'key':'event.sequence','value':{'intValue':9}},"
    "      {'key':'session.id','value':{'stringValue':'sess-a'}},"
    "      {'key':'model','value':{'stringValue':'claude-haiku-4-5'}},"
    "      {'key':'input_tokens','value':{'intValue':'10'}},"
    "      {'key':'output_tokens','value':{'intValue':20}},"
    "      {'key':'speed','value':{'stringValue':'fast'}},"
    "      {'key':'cost_usd','value':{'doubleValue':0.000125}}]}]}]},"
    " {'resource':{'attributes':[{'key':'tenant.id','value':{'stringValue':'beta'}}]},"
    "  'scopeLogs':[{'logRecords':["
    "    {'timeUnixNano':1795770005000000000,"
    "     'body':{'stringValue':'claude_code.api_request'},"
    "     'attributes':["
    "      {'key':'session.id','value':{'stringValue':'sess-b'}},"
    "      {'key':'model','value':{'stringValue':'claude-opus-4-1'}},"
    "      {'key':'input_tokens','value':{'doubleValue':3.0}},"
    "      {'key':'output_tokens','value':{'intValue':'4'}},"
    "      {'key':'cache_read_tokens','value':{'intValue':'0'}},"
    "      {'key':'cache_creation_tokens','value':{'intValue':'100'}},"
    "      {'key':'cost_usd','value':{'doubleValue':1.5e-3}},"
    "      {'key':'duration_ms','value':{'doubleValue':812.6}}]}]}]}"
    "]}";

static void test_documented(void)
{
    s_sink_t sink;
    otlp_result_t res;
    FC_CHECK_INT(s_map(s_documented, NULL, &sink, &res), OTLP_OK);
    FC_CHECK_INT(res.records, 4);
    FC_CHECK_INT(res.events, 3);
    FC_CHECK_INT(res.ignored, 1);
    FC_CHECK_INT(res.rejected, 0);
    FC_CHECK_STR(res.message, "");
    FC_CHECK_INT(sink.count, 3);

    const fc_event_t *a = &sink.ev[0];
    FC_CHECK_INT(a->type, FC_EV_USAGE);
    FC_CHECK_STR(a->tenant, "acme");
    FC_CHECK_STR(a->session, "sess-a");
    FC_CHECK_STR(a->agent, "sess-a");
    FC_CHECK_STR(a->agent_type, "claude-code");
    FC_CHECK_STR(a->host, "dev-01");
    FC_CHECK_STR(a->model, "claude-sonnet-4-5-20250929");
    FC_CHECK_STR(a->request, "req_011CAbC");
    FC_CHECK_INT(a->ts_us, INT64_C(1795770000123456));
    FC_CHECK_INT(a->input_tokens, 1200);
    FC_CHECK_INT(a->output_tokens, 345);
    FC_CHECK_INT(a->cache_read_tokens, 50000);
    FC_CHECK_INT(a->cache_write_5m_tokens, 2048);
    FC_CHECK_INT(a->cache_write_1h_tokens, 0);
    FC_CHECK(a->has_reported_cost);
    FC_CHECK_INT(a->reported_cost_nusd, 12345679); //  0.0123456789 USD, rounded half up
    FC_CHECK(a->has_api_duration_ms);
    FC_CHECK_INT(a->api_duration_ms, 2345);
    FC_CHECK_STR(s_attr(a, "source"), "claude-code-otlp");
    FC_CHECK_STR(s_attr(a, "user.account_uuid"), "acct-1");
    FC_CHECK_STR(s_attr(a, "organization.id"), "org-1");
    FC_CHECK_STR(s_attr(a, "terminal.type"), "vscode");
    FC_CHECK_STR(s_attr(a, "department"), "platform");
    FC_CHECK(s_attr(a, "user.email") == NULL);
    FC_CHECK(s_attr(a, "service.name") == NULL);
    FC_CHECK(s_attr(a, "tenant.id") == NULL);
    uint8_t id[16];
    const char *name = "otlp|sess-a|req_011CAbC";
    fc_event_id_from_name(id, a->ts_us, name, strlen(name));
    FC_CHECK(memcmp(id, a->id, 16) == 0);

    const fc_event_t *b = &sink.ev[1];
    FC_CHECK_STR(b->tenant, "acme");
    FC_CHECK_STR(b->model, "claude-haiku-4-5");
    FC_CHECK_STR(b->request, "");
    FC_CHECK_INT(b->input_tokens, 10);
    FC_CHECK_INT(b->output_tokens, 20);
    FC_CHECK_INT(b->reported_cost_nusd, 125000);
    //  The speed attribute decides the price (fast mode); without it, nothing is said.
    FC_CHECK_STR(b->speed, "fast");
    FC_CHECK_STR(s_attr(b, "speed"), "fast");
    FC_CHECK_STR(a->speed, "");
    FC_CHECK(!b->has_api_duration_ms);
    name = "otlp|sess-a|2026-11-27T09:00:02.000Z|9";
    fc_event_id_from_name(id, b->ts_us, name, strlen(name));
    FC_CHECK(memcmp(id, b->id, 16) == 0);

    const fc_event_t *c = &sink.ev[2];
    FC_CHECK_STR(c->tenant, "beta");
    FC_CHECK_STR(c->host, "");
    FC_CHECK_INT(c->ts_us, INT64_C(1795770005000000));
    FC_CHECK_INT(c->input_tokens, 3);
    FC_CHECK_INT(c->cache_write_5m_tokens, 100);
    FC_CHECK_INT(c->reported_cost_nusd, 1500000);
    FC_CHECK_INT(c->api_duration_ms, 813);
    name = "otlp|sess-b|1795770005000000000";
    fc_event_id_from_name(id, c->ts_us, name, strlen(name));
    FC_CHECK(memcmp(id, c->id, 16) == 0);

    //  The same request again (an exporter retry) gives the same ids.
    s_sink_t again;
    FC_CHECK_INT(s_map(s_documented, NULL, &again, &res), OTLP_OK);
    FC_CHECK_INT(again.count, 3);
    for (int i = 0; i < 3 && i < again.count; i++)
        FC_CHECK(memcmp(again.ev[i].id, sink.ev[i].id, 16) == 0);
    FC_CHECK(memcmp(sink.ev[0].id, sink.ev[1].id, 16) != 0);
}

//  One API request record in a resource with the given attributes; rec is spliced into
//  the record's attribute list, extra into the record object.
static otlp_status_t s_one(const char *resource, const char *rec, const char *extra,
                           const char *tenant, s_sink_t *sink, otlp_result_t *res)
{
    char buf[8192];
    snprintf(buf, sizeof buf,
             "{'resourceLogs':[{'resource':{'attributes':[%s]},'scopeLogs':[{'logRecords':["
             "{%s'body':{'stringValue':'claude_code.api_request'},'attributes':["
             "{'key':'session.id','value':{'stringValue':'s1'}},"
             "{'key':'model','value':{'stringValue':'claude-sonnet-4-5'}}%s%s]}]}]}]}",
             resource, extra ? extra : "'timeUnixNano':'1795770000000000000',", *rec ? "," : "",
             rec);
    return s_map(buf, tenant, sink, res);
}

#define ACME "{'key':'tenant.id','value':{'stringValue':'acme'}}"

//  Expects exactly one rejected record whose reason contains `why`.
static void s_rejected(const char *resource, const char *rec, const char *extra, const char *why,
                       int line)
{
    s_sink_t sink;
    otlp_result_t res;
    otlp_status_t st = s_one(resource, rec, extra, NULL, &sink, &res);
    if (st != OTLP_OK || res.rejected != 1 || sink.count != 0 || !strstr(res.message, why)) {
        fc_test_failures++;
        fprintf(stderr, "line %d: status %d, rejected %d, events %d, message '%s' (want '%s')\n",
                line, st, res.rejected, sink.count, res.message, why);
    }
    fc_test_checks++;
}
#define REJECTED(res, rec, extra, why) s_rejected(res, rec, extra, why, __LINE__)

static void test_tenant(void)
{
    s_sink_t sink;
    otlp_result_t res;
    //  A record attribute stands in for a missing resource attribute.
    FC_CHECK_INT(
        s_one("", "{'key':'tenant.id','value':{'stringValue':'rec-t'}}", NULL, NULL, &sink, &res),
        OTLP_OK);
    FC_CHECK_INT(sink.count, 1);
    FC_CHECK_STR(sink.ev[0].tenant, "rec-t");
    //  The resource wins over the record.
    FC_CHECK_INT(
        s_one(ACME, "{'key':'tenant.id','value':{'stringValue':'rec-t'}}", NULL, NULL, &sink, &res),
        OTLP_OK);
    FC_CHECK_STR(sink.ev[0].tenant, "acme");
    //  --default-tenant covers the rest; without it the record is rejected.
    FC_CHECK_INT(s_one("", "", NULL, "fallback", &sink, &res), OTLP_OK);
    FC_CHECK_STR(sink.ev[0].tenant, "fallback");
    REJECTED("", "", NULL, "no tenant");
    REJECTED("{'key':'tenant.id','value':{'stringValue':'Acme Corp'}}", "", NULL, "tenant");
    REJECTED("{'key':'tenant.id','value':{'intValue':'7'}}", "", NULL, "tenant.id");
}

static void test_records(void)
{
    //  Missing fields
    REJECTED(ACME, "", "'body':{},", "no timeUnixNano");
    s_sink_t sink;
    otlp_result_t res;
    //  observedTimeUnixNano when timeUnixNano is 0
    FC_CHECK_INT(s_one(ACME, "", "'timeUnixNano':'0','observedTimeUnixNano':'1795770009000000000',",
                       NULL, &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(sink.count, 1);
    FC_CHECK_INT(sink.ev[0].ts_us, INT64_C(1795770009000000));
    REJECTED(ACME, "", "'timeUnixNano':'12',", "outside");
    REJECTED(ACME, "", "'timeUnixNano':'99999999999999999999',", "timeUnixNano");
    REJECTED(ACME, "", "'timeUnixNano':{'a':1},", "timeUnixNano");

    //  Wrong types, bad numbers
    REJECTED(ACME, "{'key':'input_tokens','value':{'stringValue':'many'}}", NULL, "input_tokens");
    REJECTED(ACME, "{'key':'input_tokens','value':{'intValue':'-5'}}", NULL, "input_tokens");
    REJECTED(ACME, "{'key':'input_tokens','value':{'doubleValue':1.5}}", NULL, "whole number");
    REJECTED(ACME, "{'key':'output_tokens','value':{'intValue':'1e400'}}", NULL, "output_tokens");
    REJECTED(ACME, "{'key':'output_tokens','value':{'intValue':99999999999999999999999}}", NULL,
             "output_tokens");
    REJECTED(ACME, "{'key':'cache_read_tokens','value':{'boolValue':true}}", NULL,
             "cache_read_tokens");
    REJECTED(ACME,
             "{'key':'cache_read_tokens','value':{'intValue':"
             "1000000000000000000000000000000000000000000000000000000000000000000000}}",
             NULL, "more than");
    REJECTED(ACME, "{'key':'input_tokens','value':'12'}", NULL, "input_tokens");
    REJECTED(ACME, "{'key':'cost_usd','value':{'stringValue':'-0.01'}}", NULL, "cost_usd");
    REJECTED(ACME, "{'key':'cost_usd','value':{'doubleValue':'NaN'}}", NULL, "cost_usd");
    REJECTED(ACME, "{'key':'cost_usd','value':{'stringValue':'2000000'}}", NULL, "cost_usd");
    REJECTED(ACME, "{'key':'event.sequence','value':{'stringValue':'x'}}", NULL, "event.sequence");
    //  Duplicate keys: the first attribute counts (model is given again, as a number).
    FC_CHECK_INT(s_one(ACME, "{'key':'model','value':{'intValue':5}}", NULL, NULL, &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(sink.count, 1);

    //  Strings over their limits, or not strings
    char rec[1024], big[400];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    snprintf(rec, sizeof rec, "{'key':'request_id','value':{'stringValue':'%s'}}", big);
    REJECTED(ACME, rec, NULL, "request_id");
    REJECTED(ACME, "{'key':'request_id','value':{'stringValue':'a\\u0000b'}}", NULL, "request_id");
    snprintf(rec, sizeof rec,
             "{'key':'host.name','value':{'stringValue':'h'}},"
             "{'key':'user.id','value':{'stringValue':'%s'}}",
             big);
    FC_CHECK_INT(s_one(ACME, rec, NULL, NULL, &sink, &res), OTLP_OK); //  attrs: best effort
    FC_CHECK_INT(sink.count, 1);
    FC_CHECK(s_attr(&sink.ev[0], "user.id") == NULL);

    //  Cost: absent, micro-USD, exact tiny amounts
    FC_CHECK_INT(s_one(ACME, "", NULL, NULL, &sink, &res), OTLP_OK);
    FC_CHECK(!sink.ev[0].has_reported_cost);
    FC_CHECK_INT(s_one(ACME, "{'key':'cost_usd_micros','value':{'intValue':'12345'}}", NULL, NULL,
                       &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(sink.ev[0].reported_cost_nusd, 12345000);
    FC_CHECK_INT(s_one(ACME, "{'key':'cost_usd','value':{'stringValue':'0.000000001'}}", NULL, NULL,
                       &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(sink.ev[0].reported_cost_nusd, 1);
    FC_CHECK_INT(
        s_one(ACME, "{'key':'cost_usd','value':{'intValue':'3'}}", NULL, NULL, &sink, &res),
        OTLP_OK);
    FC_CHECK_INT(sink.ev[0].reported_cost_nusd, 3000000000);
}

static void test_shape(void)
{
    s_sink_t sink;
    otlp_result_t res;
    static const char *malformed[] = {
        "",
        "not json",
        "[]",
        "{'resourceLogs':{}}",
        "{'resourceLogs':[1]}",
        "{'resourceLogs':[{'resource':[]}]}",
        "{'resourceLogs':[{'resource':{'attributes':{}}}]}",
        "{'resourceLogs':[{'scopeLogs':'x'}]}",
        "{'resourceLogs':[{'scopeLogs':[null]}]}",
        "{'resourceLogs':[{'scopeLogs':[{'logRecords':{}}]}]}",
        "{'resourceLogs':[]} trailing",
        "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'body':{'stringValue':'\\ud800'}}]}]}]}",
        NULL};
    for (int i = 0; malformed[i]; i++) {
        FC_CHECK_INT(s_map(malformed[i], "t", &sink, &res), OTLP_MALFORMED);
        FC_CHECK_INT(sink.count, 0);
        FC_CHECK(strstr(res.message, "not an OTLP JSON logs request") != NULL);
    }
    //  Empty but valid requests
    FC_CHECK_INT(s_map("{}", NULL, &sink, &res), OTLP_OK);
    FC_CHECK_INT(s_map("{'resourceLogs':[{'scopeLogs':[{'logRecords':[]}]}]}", NULL, &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(res.records, 0);

    //  A record that is not an object is rejected alone; others still count.
    FC_CHECK_INT(s_map("{'resourceLogs':[{'scopeLogs':[{'logRecords':[7,"
                       "{'body':{'stringValue':'claude_code.tool_result'}}]}]}]}",
                       NULL, &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(res.records, 2);
    FC_CHECK_INT(res.rejected, 1);
    FC_CHECK_INT(res.ignored, 1);
    FC_CHECK(strstr(res.message, "logRecords[0]: not an object") != NULL);
    //  An API request whose attributes are not a list
    FC_CHECK_INT(s_map("{'resourceLogs':[{'scopeLogs':[{'logRecords':["
                       "{'body':{'stringValue':'claude_code.api_request'},'attributes':{}}]}]}]}",
                       "t", &sink, &res),
                 OTLP_OK);
    FC_CHECK_INT(res.rejected, 1);

    //  Deep nesting: refused as a whole beyond OTLP_MAX_DEPTH; an attribute value nested
    //  below what is read costs nothing and does not disturb the record.
    char deep[4096];
    int n = snprintf(deep, sizeof deep, "{'resourceLogs':");
    for (int i = 0; i < 200; i++)
        deep[n++] = '[';
    for (int i = 0; i < 200; i++)
        deep[n++] = ']';
    snprintf(deep + n, sizeof deep - (size_t)n, "}");
    FC_CHECK_INT(s_map(deep, "t", &sink, &res), OTLP_MALFORMED);
    FC_CHECK(strstr(res.message, "deeper") != NULL);
    n = snprintf(deep, sizeof deep, "{'key':'x','value':{'arrayValue':{'values':");
    for (int i = 0; i < 15; i++) //  3 levels each: 55 in all, within OTLP_MAX_DEPTH
        n += snprintf(deep + n, sizeof deep - (size_t)n, "[{'arrayValue':{'values':");
    n += snprintf(deep + n, sizeof deep - (size_t)n, "[]");
    for (int i = 0; i < 15; i++)
        n += snprintf(deep + n, sizeof deep - (size_t)n, "}}]");
    snprintf(deep + n, sizeof deep - (size_t)n, "}}}");
    FC_CHECK_INT(s_one(ACME, deep, NULL, NULL, &sink, &res), OTLP_OK);
    FC_CHECK_INT(sink.count, 1);

    //  Many resource attributes: attrs stop at their limit, the event is still sent.
    char many[8192];
    n = 0;
    for (int i = 0; i < 40; i++)
        n += snprintf(many + n, sizeof many - (size_t)n,
                      "{'key':'team%d','value':{'stringValue':'v'}},", i);
    snprintf(many + n, sizeof many - (size_t)n, "%s", ACME);
    FC_CHECK_INT(s_one(many, "", NULL, NULL, &sink, &res), OTLP_OK);
    FC_CHECK_INT(sink.count, 1);
    FC_CHECK_INT(sink.ev[0].attr_count, FC_MAX_ATTRS);
    FC_CHECK_STR(sink.ev[0].tenant, "acme");
}

static void test_emit_failures(void)
{
    char *j = s_json(s_documented);
    s_sink_t sink;
    otlp_result_t res;
    //  The spool is full: stop and let the exporter retry the whole request.
    memset(&sink, 0, sizeof sink);
    sink.fail = FC_E_UNAVAILABLE;
    FC_CHECK_INT(otlp_logs_map(j, strlen(j), NULL, NULL, s_emit, &sink, &res), OTLP_UNAVAILABLE);
    FC_CHECK_STR(res.message, "refused by the sink");
    //  A final refusal rejects each record, and the reasons are kept (bounded).
    memset(&sink, 0, sizeof sink);
    sink.fail = FC_E_TENANT;
    FC_CHECK_INT(otlp_logs_map(j, strlen(j), NULL, NULL, s_emit, &sink, &res), OTLP_OK);
    FC_CHECK_INT(res.rejected, 3);
    FC_CHECK_INT(res.events, 0);
    FC_CHECK(strncmp(res.message, "3 of 3 API request records rejected: ", 37) == 0);
    FC_CHECK(strlen(res.message) < OTLP_MAX_MSG);
    free(j);
}

//  Every prefix of the documented request, and every single-byte corruption of it,
//  maps without crashing (run under the sanitizers in CI) and without events on
//  malformed input.
static void test_mutations(void)
{
    char *j = s_json(s_documented);
    size_t len = strlen(j);
    char *copy = malloc(len + 1);
    s_sink_t *sink = malloc(sizeof *sink);
    otlp_result_t res;
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        memset(sink, 0, sizeof *sink);
        memcpy(copy, j, cut);
        if (otlp_logs_map(copy, cut, NULL, "t", s_emit, sink, &res) != OTLP_MALFORMED ||
            sink->count)
            bad++;
    }
    static const char junk[] = {'"', '{', ']', '0', '-', '\\', 0x01, (char)0xff};
    for (size_t i = 0; i < len; i += 3)
        for (size_t k = 0; k < sizeof junk; k++) {
            memcpy(copy, j, len);
            copy[i] = junk[k];
            memset(sink, 0, sizeof *sink);
            otlp_status_t st = otlp_logs_map(copy, len, NULL, "t", s_emit, sink, &res);
            if (st == OTLP_MALFORMED && sink->count)
                bad++;
            if (st == OTLP_OK && res.events + res.rejected + res.ignored != res.records)
                bad++;
        }
    FC_CHECK_INT(bad, 0);
    free(sink);
    free(copy);
    free(j);
}

//  A tenant's token: its own records pass (with or without tenant.id), a record naming
//  another tenant is rejected and counted as foreign, nothing is emitted for it.
static void test_token_tenant(void)
{
    s_sink_t sink;
    otlp_result_t res;
    char *j = s_json(s_documented);
    memset(&sink, 0, sizeof sink);
    FC_CHECK_INT(otlp_logs_map(j, strlen(j), "acme", "beta", s_emit, &sink, &res), OTLP_OK);
    FC_CHECK_INT(res.events, 2);
    FC_CHECK_INT(res.rejected, 1);
    FC_CHECK_INT(res.foreign, 1);
    FC_CHECK(strstr(res.message, "other than the token's") != NULL);
    for (int i = 0; i < sink.count; i++)
        FC_CHECK_STR(sink.ev[i].tenant, "acme");
    //  The beta token: acme's records are the foreign ones.
    memset(&sink, 0, sizeof sink);
    FC_CHECK_INT(otlp_logs_map(j, strlen(j), "beta", NULL, s_emit, &sink, &res), OTLP_OK);
    FC_CHECK_INT(res.events, 1);
    FC_CHECK_INT(res.foreign, 2);
    FC_CHECK_STR(sink.ev[0].tenant, "beta");
    free(j);
    //  No tenant.id at all: the token's tenant, never --default-tenant.
    j = s_json(
        "{'resourceLogs':[{'scopeLogs':[{'logRecords':[{'timeUnixNano':'1795770000000000000',"
        "'body':{'stringValue':'claude_code.api_request'},'attributes':["
        "{'key':'session.id','value':{'stringValue':'s'}},"
        "{'key':'model','value':{'stringValue':'claude-opus-4-1'}},"
        "{'key':'output_tokens','value':{'intValue':'5'}}]}]}]}]}");
    memset(&sink, 0, sizeof sink);
    FC_CHECK_INT(otlp_logs_map(j, strlen(j), "acme", "beta", s_emit, &sink, &res), OTLP_OK);
    FC_CHECK_INT(res.events, 1);
    FC_CHECK_INT(res.foreign, 0);
    FC_CHECK_STR(sink.ev[0].tenant, "acme");
    free(j);
}

int main(void)
{
    test_documented();
    test_token_tenant();
    test_tenant();
    test_records();
    test_shape();
    test_emit_failures();
    test_mutations();
    return fc_test_done("test_otlp");
}
