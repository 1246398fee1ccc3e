/*  test_proto: the wire protocol codec against its vectors and its own encoders. */
#include "fc_proto.h"
#include "fc_stream.h"
#include "fc_summary.h"
#include "fc_test.h"

#include <msgpack.h>

#include <dirent.h>
#include <time.h>

#define TS0          INT64_C(1767225600000000) //  2026-01-01T00:00:00Z
#define FC_GOLDEN_ID "019b76da-a800-882c-89d9-96ecf163b2f9"

static uint8_t *s_read(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)n + 1);
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    if (data) {
        data[n] = 0;
        *size = (size_t)n;
    }
    return data;
}

//  The string value of "key" in a flat JSON object without escapes in values.
static void s_json_field(const char *json, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    out[0] = 0;
    if (!p)
        return;
    p += strlen(pat);
    const char *end = strchr(p, '"');
    size_t n = end ? (size_t)(end - p) : 0;
    if (n >= size)
        n = size - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

//  Every strict prefix of a valid input is rejected, without crashing or reading past it
//  (the sanitizer build checks the latter: each prefix sits in its own allocation).
static void s_check_prefixes(const uint8_t *data, size_t size)
{
    fc_event_t ev;
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        FC_CHECK(fc_event_decode(copy, n, &ev, NULL) != FC_OK);
        free(copy);
    }
}

static void s_vector_event(const char *kind, const char *path, const char *json_path)
{
    size_t size, jsize;
    uint8_t *data = s_read(path, &size);
    char *expect = (char *)s_read(json_path, &jsize);
    FC_CHECK(data && expect);
    if (!data || !expect) {
        fprintf(stderr, "cannot read %s / %s\n", path, json_path);
        free(data);
        free(expect);
        return;
    }
    while (jsize && expect[jsize - 1] == '\n')
        expect[--jsize] = 0;
    static fc_event_t ev;
    fc_proto_error_t err = {0};
    fc_code_t rc = fc_event_decode(data, size, &ev, &err);
    if (strcmp(kind, "valid") == 0) {
        FC_CHECK_STR(fc_code_name(rc), "ok");
        if (rc)
            fprintf(stderr, "  %s: %s: %s\n", path, err.field, err.reason);
        static char json[65536];
        FC_CHECK(fc_event_to_json(&ev, json, sizeof json) > 0);
        FC_CHECK_STR(json, expect);
        //  encode -> decode gives the same event back
        static uint8_t buf[FC_MAX_EVENT_BYTES];
        static fc_event_t again;
        int n = fc_event_encode(&ev, buf, sizeof buf, NULL);
        FC_CHECK(n > 0);
        FC_CHECK_INT(fc_event_decode(buf, (size_t)n, &again, NULL), FC_OK);
        FC_CHECK(memcmp(&ev, &again, sizeof ev) == 0);
        s_check_prefixes(data, size);
    } else {
        char code[32], field[64];
        s_json_field(expect, "code", code, sizeof code);
        s_json_field(expect, "field", field, sizeof field);
        FC_CHECK_STR(fc_code_name(rc), code);
        FC_CHECK_STR(err.field, field);
        if (rc == FC_OK || strcmp(fc_code_name(rc), code) || strcmp(err.field, field))
            fprintf(stderr, "  %s: %s\n", path, err.reason);
    }
    free(data);
    free(expect);
}

static void s_vector_batch(const char *path, const char *json_path)
{
    size_t size, jsize;
    uint8_t *data = s_read(path, &size);
    char *expect = (char *)s_read(json_path, &jsize);
    FC_CHECK(data && expect);
    if (!data || !expect) {
        free(data);
        free(expect);
        return;
    }
    static fc_batch_t batch;
    fc_proto_error_t err = {0};
    fc_code_t rc = fc_batch_decode(data, size, &batch, &err);
    char code[32], field[64];
    s_json_field(expect, "code", code, sizeof code);
    s_json_field(expect, "field", field, sizeof field);
    FC_CHECK_STR(fc_code_name(rc), code);
    if (rc) {
        FC_CHECK_STR(err.field, field);
    } else {
        const char *p = strstr(expect, "\"count\":");
        FC_CHECK(p && (uint32_t)atoi(p + 8) == batch.count);
        p = strstr(expect, "\"batch\":");
        FC_CHECK(p && strtoull(p + 8, NULL, 10) == batch.batch_id);
        //  per-event results, in order
        p = strstr(expect, "\"results\":[");
        for (uint32_t i = 0; p && i < batch.count; i++) {
            p = strchr(p, '"');
            p = p ? strchr(p + 1, '"') : NULL; //  skip "results"
            if (i == 0 && p)
                p = strchr(p + 1, '"');
            if (!p)
                break;
            char want[32] = {0};
            sscanf(p + 1, "%31[^\"]", want);
            fc_event_t ev;
            FC_CHECK_STR(
                fc_code_name(fc_event_decode(batch.event_data[i], batch.event_size[i], &ev, NULL)),
                want);
            p = strchr(p + 1, '"');
        }
    }
    free(data);
    free(expect);
}

//  The number after "key": in a flat JSON object (0 when absent).
static uint64_t s_json_uint(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    return p ? strtoull(p + strlen(pat), NULL, 10) : 0;
}

//  A stream message or heartbeat ("kind") and what decoding it gives.
static void s_vector_stream(const char *path, const char *json_path)
{
    size_t size, jsize;
    uint8_t *data = s_read(path, &size);
    char *expect = (char *)s_read(json_path, &jsize);
    FC_CHECK(data && expect);
    if (!data || !expect) {
        free(data);
        free(expect);
        return;
    }
    char kind[16], code[32], field[64], ingest[FC_MAX_INGEST_ID + 1];
    s_json_field(expect, "kind", kind, sizeof kind);
    s_json_field(expect, "code", code, sizeof code);
    s_json_field(expect, "field", field, sizeof field);
    s_json_field(expect, "ingest", ingest, sizeof ingest);
    fc_proto_error_t err = {0};
    fc_code_t rc;
    uint64_t seq = 0, epoch = 0, base = 0, count = 0;
    const char *id = "";
    fc_heartbeat_t hb;
    fc_stream_header_t h;
    if (strcmp(kind, "heartbeat") == 0) {
        rc = fc_heartbeat_decode(data, size, &hb, &err);
        seq = hb.seq, epoch = hb.epoch, base = hb.base, id = hb.ingest_id;
        for (size_t n = 0; rc == FC_OK && n < size; n++)
            FC_CHECK(fc_heartbeat_decode(data, n, &hb, NULL) != FC_OK);
    } else {
        static fc_stored_event_t events[4];
        size_t got = 0;
        rc = fc_stream_decode(data, size, &h, events, 4, &got, &err);
        seq = h.seq, epoch = h.epoch, base = h.base, id = h.ingest_id, count = got;
        for (size_t n = 0; rc == FC_OK && n < size; n++)
            FC_CHECK(fc_stream_decode(data, n, &h, events, 4, &got, NULL) != FC_OK);
    }
    FC_CHECK_STR(fc_code_name(rc), code);
    if (rc) {
        FC_CHECK_STR(err.field, field);
    } else {
        FC_CHECK_STR(id, ingest);
        FC_CHECK(seq == s_json_uint(expect, "seq") && epoch == s_json_uint(expect, "epoch") &&
                 base == s_json_uint(expect, "base") && count == s_json_uint(expect, "count"));
    }
    free(data);
    free(expect);
}

static int s_vectors_in(const char *kind)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", FC_VECTORS_DIR, kind);
    DIR *d = opendir(dir);
    FC_CHECK(d != NULL);
    if (!d)
        return 0;
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 9 || strcmp(de->d_name + len - 8, ".msgpack") != 0)
            continue;
        char path[1024], json[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(json, sizeof json, "%s/%.*s.json", dir, (int)(len - 8), de->d_name);
        if (strcmp(kind, "batch") == 0)
            s_vector_batch(path, json);
        else if (strcmp(kind, "stream") == 0)
            s_vector_stream(path, json);
        else
            s_vector_event(kind, path, json);
        count++;
    }
    closedir(d);
    return count;
}

static void test_vectors(void)
{
    FC_CHECK(s_vectors_in("valid") >= 20);
    FC_CHECK(s_vectors_in("invalid") >= 87);
    FC_CHECK(s_vectors_in("batch") >= 6);
    FC_CHECK(s_vectors_in("stream") >= 14);
}

//  One event of each type, each with the fields its type uses.
static void s_make(fc_event_t *ev, fc_event_type_t type, int n)
{
    fc_event_init(ev);
    char name[32];
    snprintf(name, sizeof name, "rt-%d", n);
    fc_event_id_from_name(ev->id, TS0 + n, name, strlen(name));
    ev->ts_us = TS0 + n;
    ev->type = type;
    strcpy(ev->tenant, "acme");
    strcpy(ev->agent, "agent-1");
    strcpy(ev->task, "T-1");
    switch (type) {
    case FC_EV_USAGE:
        strcpy(ev->model, "claude-sonnet-4-5");
        strcpy(ev->request, "req-1");
        ev->input_tokens = 1;
        ev->output_tokens = INT64_C(700000000);
        ev->cache_read_tokens = 300;
        ev->cache_write_5m_tokens = 70000;
        ev->cache_write_1h_tokens = 0;
        ev->has_cpu_percent = true;
        ev->cpu_percent = 12.3;
        ev->has_reported_cost = true;
        ev->reported_cost_nusd = 42;
        strcpy(ev->speed, "fast");
        strcpy(ev->geo, "us");
        ev->batch = true;
        ev->web_search_requests = 3;
        ev->code_exec_ms = 90000;
        ev->attr_count = 2;
        strcpy(ev->attrs[0].key, "team");
        strcpy(ev->attrs[0].value, "core");
        strcpy(ev->attrs[1].key, "env");
        strcpy(ev->attrs[1].value, "prod");
        break;
    case FC_EV_AGENT_TERMINATE:
        ev->has_exit_code = true;
        ev->exit_code = -1;
        strcpy(ev->reason, "oom\n");
        break;
    case FC_EV_TASK_CREATED:
        strcpy(ev->title, "Title with \"quotes\"");
        ev->has_issue = true;
        ev->issue = 7;
        ev->label_count = 1;
        strcpy(ev->labels[0], "x");
        break;
    case FC_EV_COST:
        strcpy(ev->kind, "storage");
        ev->cost_nusd = 0;
        ev->has_quantity = true;
        ev->quantity = 5;
        strcpy(ev->unit, "GB");
        break;
    default:
        break;
    }
}

static void test_round_trip(void)
{
    for (int t = FC_EV_INVALID + 1; t < FC_EV_COUNT_; t++) {
        fc_event_t ev, back;
        s_make(&ev, (fc_event_type_t)t, t);
        uint8_t buf1[FC_MAX_EVENT_BYTES], buf2[FC_MAX_EVENT_BYTES];
        fc_proto_error_t err;
        int n1 = fc_event_encode(&ev, buf1, sizeof buf1, &err);
        FC_CHECK(n1 > 0);
        FC_CHECK_INT(fc_event_decode(buf1, (size_t)n1, &back, &err), FC_OK);
        FC_CHECK(memcmp(&ev, &back, sizeof ev) == 0);
        int n2 = fc_event_encode(&back, buf2, sizeof buf2, &err);
        FC_CHECK_INT(n2, n1);
        FC_CHECK(n1 == n2 && memcmp(buf1, buf2, (size_t)n1) == 0);
        //  Decoding into a reused struct (every type in turn into the same one, which
        //  starts as garbage) reads the same: nothing of an earlier event leaks through.
        static fc_event_t reused;
        static bool dirty = false;
        if (!dirty) {
            memset(&reused, 0xa5, sizeof reused);
            dirty = true;
        }
        FC_CHECK_INT(fc_event_decode_reuse(buf1, (size_t)n1, &reused, &err), FC_OK);
        int n3 = fc_event_encode(&reused, buf2, sizeof buf2, &err);
        FC_CHECK(n3 == n1 && memcmp(buf1, buf2, (size_t)n1) == 0);
        static char json1[65536], json2[65536];
        FC_CHECK(fc_event_to_json(&back, json1, sizeof json1) > 0);
        FC_CHECK(fc_event_to_json(&reused, json2, sizeof json2) > 0);
        FC_CHECK_STR(json2, json1);
        //  too small a buffer fails cleanly
        FC_CHECK_INT(fc_event_encode(&ev, buf1, (size_t)n1 - 1, &err), -1);
        FC_CHECK_INT(err.code, FC_E_TOO_LARGE);
        FC_CHECK_STR(fc_event_type_name((fc_event_type_t)t),
                     fc_event_type_name(fc_event_type_parse(fc_event_type_name(t))));
    }
    //  a cost event with cost 0 still carries its cost on the wire
    fc_event_t ev, back;
    s_make(&ev, FC_EV_COST, 1);
    uint8_t buf[FC_MAX_EVENT_BYTES];
    int n = fc_event_encode(&ev, buf, sizeof buf, NULL);
    FC_CHECK_INT(fc_event_decode(buf, (size_t)n, &back, NULL), FC_OK);
}

static void test_validate(void)
{
    fc_event_t ev;
    fc_proto_error_t err;
    uint8_t buf[FC_MAX_EVENT_BYTES];
    s_make(&ev, FC_EV_USAGE, 1);
    ev.tenant[0] = 0; //  ingest fills it in: not required
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_OK);
    ev.model[0] = 0;
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_MISSING);
    FC_CHECK_STR(err.field, "model");
    FC_CHECK_INT(fc_event_encode(&ev, buf, sizeof buf, &err), -1);
    s_make(&ev, FC_EV_USAGE, 1);
    ev.input_tokens = -1;
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_RANGE);
    FC_CHECK_STR(err.field, "input_tokens");
    s_make(&ev, FC_EV_USAGE, 1);
    memset(ev.id, 0, 16);
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_RANGE);
    FC_CHECK_STR(err.field, "id");
    s_make(&ev, FC_EV_USAGE, 1);
    ev.type = FC_EV_COUNT_;
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_UNKNOWN_TYPE);
    s_make(&ev, FC_EV_USAGE, 1);
    memset(ev.host, 'h', sizeof ev.host); //  unterminated: caught, not overrun
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_TOO_LARGE);
    FC_CHECK_STR(err.field, "host");
    s_make(&ev, FC_EV_USAGE, 1);
    ev.attr_count = FC_MAX_ATTRS + 1;
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_TOO_LARGE);
    s_make(&ev, FC_EV_USAGE, 1);
    strcpy(ev.tenant, "UPPER");
    FC_CHECK_INT(fc_event_validate(&ev, &err), FC_E_TENANT);
    //  fc_tenant_valid: the one syntax check, [a-z0-9][a-z0-9_-]{0,62}.
    char longest[FC_MAX_TENANT + 2];
    memset(longest, 'a', sizeof longest);
    longest[FC_MAX_TENANT] = 0;
    FC_CHECK(fc_tenant_valid(longest));
    longest[FC_MAX_TENANT] = 'a';
    longest[FC_MAX_TENANT + 1] = 0;
    FC_CHECK(!fc_tenant_valid(longest)); //  64 characters
    FC_CHECK(fc_tenant_valid("acme") && fc_tenant_valid("0") && fc_tenant_valid("a-b_c9"));
    const char *bad[] = {"",      "-acme", "_acme", "Acme",       "ac me",
                         "acme!", "ac.me", "*",     "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK(!fc_tenant_valid(bad[i]));
    FC_CHECK(!fc_tenant_valid(NULL));
}

static void test_json(void)
{
    fc_event_t ev;
    s_make(&ev, FC_EV_TASK_CREATED, 3);
    strcpy(ev.title, "a\x01\x7f\xff\xc3\xa9z"); //  control chars, a stray byte, valid é
    char json[4096];
    int n = fc_event_to_json(&ev, json, sizeof json);
    FC_CHECK(n > 0 && (size_t)n == strlen(json));
    FC_CHECK(strstr(json, "\"title\":\"a\\u0001\\u007f\\ufffd\xc3\xa9z\"") != NULL);
    FC_CHECK(strstr(json, "\"ts_us\":1767225600000003,\"type\":\"task.created\"") != NULL);
    //  a buffer one byte short of length + NUL fails; exactly enough succeeds
    FC_CHECK_INT(fc_event_to_json(&ev, json, (size_t)n), -1);
    FC_CHECK_INT(fc_event_to_json(&ev, json, (size_t)n + 1), n);
}

static void test_batch_writer(void)
{
    uint8_t ev[FC_MAX_EVENT_BYTES];
    memset(ev, 0x80, sizeof ev);
    //  count limit
    fc_batch_writer_t *w = fc_batch_writer_new(99);
    FC_CHECK(w != NULL);
    int added = 0;
    while (fc_batch_writer_add(w, ev, 8) == 0)
        added++;
    FC_CHECK_INT(added, FC_MAX_BATCH);
    FC_CHECK_INT(fc_batch_writer_count(w), FC_MAX_BATCH);
    size_t size;
    uint8_t *frame = fc_batch_writer_finish(w, &size);
    static fc_batch_t batch;
    FC_CHECK_INT(fc_batch_decode(frame, size, &batch, NULL), FC_OK);
    FC_CHECK_INT(batch.count, FC_MAX_BATCH);
    FC_CHECK(batch.batch_id == 99);
    FC_CHECK(batch.event_size[4999] == 8 && batch.event_data[4999][0] == 0x80);
    free(frame);
    fc_batch_writer_destroy(&w);
    FC_CHECK(w == NULL);

    //  frame size limit
    w = fc_batch_writer_new(UINT64_MAX);
    FC_CHECK_INT(fc_batch_writer_add(w, ev, FC_MAX_EVENT_BYTES + 1), -1);
    FC_CHECK_INT(fc_batch_writer_add(w, ev, 0), -1);
    added = 0;
    while (fc_batch_writer_add(w, ev, FC_MAX_EVENT_BYTES) == 0)
        added++;
    FC_CHECK_INT(added, FC_MAX_FRAME / (FC_MAX_EVENT_BYTES + 5));
    frame = fc_batch_writer_finish(w, &size);
    FC_CHECK(size <= FC_MAX_FRAME);
    FC_CHECK_INT(fc_batch_decode(frame, size, &batch, NULL), FC_OK);
    FC_CHECK_INT(batch.count, added);
    FC_CHECK(batch.batch_id == UINT64_MAX);
    free(frame);
    fc_batch_writer_destroy(&w);
    fc_batch_writer_destroy(&w); //  harmless twice

    //  an oversized frame is refused before it is parsed
    static uint8_t big[FC_MAX_FRAME + 1];
    fc_proto_error_t err;
    FC_CHECK_INT(fc_batch_decode(big, sizeof big, &batch, &err), FC_E_TOO_LARGE);
}

static void test_ack(void)
{
    fc_result_t results[3] = {
        {FC_OK, "", ""}, {FC_E_RANGE, "input_tokens", "-1 outside"}, {FC_DUPLICATE, "", ""}};
    fc_ack_t ack = {1, 77, FC_OK, "", 3, results};
    size_t size;
    uint8_t *data = fc_ack_encode(&ack, &size);
    FC_CHECK(data != NULL);
    fc_ack_t back;
    fc_proto_error_t err;
    FC_CHECK_INT(fc_ack_decode(data, size, &back, &err), FC_OK);
    FC_CHECK(back.batch_id == 77 && back.status == FC_OK && back.count == 3);
    FC_CHECK(back.results && back.results[1].code == FC_E_RANGE &&
             back.results[2].code == FC_DUPLICATE);
    FC_CHECK_STR(back.results[1].field, "input_tokens");
    FC_CHECK_STR(back.results[1].reason, "-1 outside");
    fc_ack_clear(&back);
    FC_CHECK(back.results == NULL);
    //  every truncation fails cleanly and leaks nothing
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        FC_CHECK(fc_ack_decode(copy, n, &back, &err) != FC_OK);
        FC_CHECK(back.results == NULL);
        fc_ack_clear(&back);
        free(copy);
    }
    free(data);

    //  batch-level failure, with a reason and no results
    fc_ack_t fail = {1, 78, FC_E_UNAVAILABLE, "postgres down", 0, NULL};
    data = fc_ack_encode(&fail, &size);
    FC_CHECK_INT(fc_ack_decode(data, size, &back, &err), FC_OK);
    FC_CHECK_INT(back.status, FC_E_UNAVAILABLE);
    FC_CHECK_STR(back.reason, "postgres down");
    FC_CHECK(fc_code_retryable(back.status));
    fc_ack_clear(&back);
    free(data);

    //  hostile acks
    struct {
        const char *bytes;
        size_t len;
        fc_code_t code;
    } bad[] = {
        //  results array32 claiming 4 billion entries
        {"\x84\xa1v\x01\xa5"
         "batch\x01\xa6status\x00\xa7results\xdd\xff\xff\xff\xff",
         31, FC_E_MALFORMED},
        //  errors index past the results
        {"\x85\xa1v\x01\xa5"
         "batch\x01\xa6status\x00\xa7results\x91\x0e\xa6"
         "errors\x91\x93\x05\xa1"
         "f\xa1r",
         45, FC_E_MALFORMED},
        //  errors before results, more of them than results
        {"\x85\xa1v\x01\xa5"
         "batch\x01\xa6status\x00\xa6"
         "errors\x92\x93\x00\xa0\xa0\x93\x00\xa0"
         "\xa0\xa7results\x91\x0e",
         47, FC_E_MALFORMED},
        //  result code not a small integer
        {"\x84\xa1v\x01\xa5"
         "batch\x01\xa6status\x00\xa7results\x91\xcd\x01\x00",
         30, FC_E_MALFORMED},
        //  version 2
        {"\x83\xa1v\x02\xa5"
         "batch\x01\xa6status\x00",
         18, FC_E_VERSION},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fc_code_t rc = fc_ack_decode((const uint8_t *)bad[i].bytes, bad[i].len, &back, &err);
        FC_CHECK_INT(rc, bad[i].code);
        if (rc != bad[i].code)
            fprintf(stderr, "  hostile ack %zu: %s %s\n", i, err.field, err.reason);
        FC_CHECK(back.results == NULL);
        fc_ack_clear(&back);
    }
    //  too many results
    size_t big_len = 0;
    uint8_t *big = malloc(64 + FC_MAX_BATCH + 1);
    memcpy(big,
           "\x84\xa1v\x01\xa5"
           "batch\x01\xa6status\x00\xa7results\xdc",
           28);
    big_len = 28;
    big[big_len++] = (uint8_t)((FC_MAX_BATCH + 1) >> 8);
    big[big_len++] = (uint8_t)((FC_MAX_BATCH + 1) & 0xff);
    memset(big + big_len, 0, FC_MAX_BATCH + 1);
    big_len += FC_MAX_BATCH + 1;
    FC_CHECK_INT(fc_ack_decode(big, big_len, &back, &err), FC_E_TOO_LARGE);
    fc_ack_clear(&back);
    free(big);
}

static void test_stream(void)
{
    fc_stored_event_t evs[3];
    memset(evs, 0, sizeof evs);
    for (int i = 0; i < 3; i++) {
        fc_event_id_from_name(evs[i].id, TS0, "s", 1);
        evs[i].id[15] = (uint8_t)i;
        evs[i].ts_us = TS0 + i;
        evs[i].type = i == 2 ? FC_EV_COST : FC_EV_USAGE;
        strcpy(evs[i].agent, "agent-1");
    }
    strcpy(evs[0].model, "claude-sonnet-4-5");
    strcpy(evs[0].agent_type, "claude-code");
    strcpy(evs[0].task, "T-1");
    evs[0].input_tokens = 1000;
    evs[0].output_tokens = 200;
    evs[0].cache_read_tokens = 3;
    evs[0].cache_write_5m_tokens = 4;
    evs[0].cache_write_1h_tokens = 5;
    evs[0].cost_nusd = 6000000;
    evs[0].price_version = 3;
    strcpy(evs[1].model, "mystery-model");
    evs[1].unpriced = true;
    strcpy(evs[2].kind, "mcp");
    evs[2].cost_nusd = 5;

    size_t size, count;
    fc_stream_header_t in = {.ingest_id = "ingest-a", .seq = 12345, .tenant = "acme"};
    uint8_t *data = fc_stream_encode(&in, evs, 3, &size);
    FC_CHECK(data != NULL);
    fc_stream_header_t hdr;
    fc_stored_event_t back[3];
    fc_proto_error_t err;
    FC_CHECK_INT(fc_stream_decode(data, size, &hdr, back, 3, &count, &err), FC_OK);
    FC_CHECK_INT(count, 3);
    FC_CHECK(hdr.seq == 12345 && hdr.count == 3 && hdr.version == 1);
    FC_CHECK(hdr.epoch == 0 && hdr.base == 0); //  no run keys: a sender from before runs
    FC_CHECK_STR(hdr.ingest_id, "ingest-a");
    FC_CHECK_STR(hdr.tenant, "acme");
    FC_CHECK(memcmp(evs, back, sizeof evs) == 0);
    //  room for fewer events than sent
    FC_CHECK_INT(fc_stream_decode(data, size, &hdr, back, 2, &count, &err), FC_E_TOO_LARGE);
    FC_CHECK_INT(count, 0);
    for (size_t n = 0; n < size; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, data, n);
        FC_CHECK(fc_stream_decode(copy, n, &hdr, back, 3, &count, &err) != FC_OK);
        free(copy);
    }
    free(data);
    fc_stream_header_t bad = in;
    snprintf(bad.ingest_id, sizeof bad.ingest_id, "Bad Id");
    FC_CHECK(fc_stream_encode(&bad, evs, 3, &size) == NULL);
    FC_CHECK(fc_stream_encode(&in, evs, FC_MAX_BATCH + 1, &size) == NULL);
    bad = in;
    bad.epoch = 7;
    bad.base = bad.seq; //  a run's messages come after its base
    FC_CHECK(fc_stream_encode(&bad, evs, 3, &size) == NULL);

    //  With the run: epoch and base round-trip; every truncation still fails.
    in.epoch = UINT64_C(1767225600123456);
    in.base = 12000;
    data = fc_stream_encode(&in, evs, 3, &size);
    FC_CHECK(data != NULL);
    FC_CHECK_INT(fc_stream_decode(data, size, &hdr, back, 3, &count, &err), FC_OK);
    FC_CHECK(hdr.epoch == in.epoch && hdr.base == 12000 && hdr.seq == 12345 && count == 3);
    for (size_t n = 0; n < size; n++)
        FC_CHECK(fc_stream_decode(data, n, &hdr, back, 3, &count, &err) != FC_OK);
    free(data);
    evs[0].input_tokens = -1;
    FC_CHECK(fc_stream_encode(&in, evs, 3, &size) == NULL);

    char topic[FC_MAX_TOPIC + 1];
    FC_CHECK_INT(fc_stream_topic(topic, sizeof topic, "acme"), 8);
    FC_CHECK_STR(topic, "ev.acme.");
    FC_CHECK_INT(fc_heartbeat_topic(topic, sizeof topic, "ingest-a"), 11);
    FC_CHECK_STR(topic, "hb.ingest-a");
    FC_CHECK_INT(fc_stream_topic(topic, 4, "acme"), -1);
    FC_CHECK_INT(fc_stream_topic(topic, sizeof topic, "a.b"), -1);

    fc_heartbeat_t hb = {1, "ingest-a", 12345, TS0, 0, 0}, hb2;
    data = fc_heartbeat_encode(&hb, &size);
    FC_CHECK(data != NULL);
    FC_CHECK_INT(fc_heartbeat_decode(data, size, &hb2, &err), FC_OK);
    FC_CHECK(hb2.seq == 12345 && hb2.ts_us == TS0);
    FC_CHECK_STR(hb2.ingest_id, "ingest-a");
    for (size_t n = 0; n < size; n++)
        FC_CHECK(fc_heartbeat_decode(data, n, &hb2, &err) != FC_OK);
    free(data);
    FC_CHECK(hb2.epoch == 0);
    //  A heartbeat with its run; its base may equal seq (nothing published yet).
    hb.epoch = 99;
    hb.base = 12345;
    data = fc_heartbeat_encode(&hb, &size);
    FC_CHECK(data != NULL);
    FC_CHECK_INT(fc_heartbeat_decode(data, size, &hb2, &err), FC_OK);
    FC_CHECK(hb2.epoch == 99 && hb2.base == 12345 && hb2.seq == 12345);
    free(data);
    hb.base = 12346;
    FC_CHECK(fc_heartbeat_encode(&hb, &size) == NULL);
}

//  Run keys from other senders, packed by hand (base first, epoch last, a uint16 seq),
//  as a sender in another language might. variant: 0 both run keys, 1 epoch only,
//  2 base only, 3 epoch 0, 4 base == seq, 5 epoch as a string, 6 a negative base.
static size_t s_pack_stream(uint8_t *out, size_t cap, int variant)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bool has_base = variant != 1, has_epoch = variant != 2;
    msgpack_pack_map(&pk, 5 + (size_t)has_base + (size_t)has_epoch);
    if (has_base) {
        msgpack_pack_str_with_body(&pk, "base", 4);
        if (variant == 6)
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_uint64(&pk, variant == 4 ? 5 : 4);
    }
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, "ingest", 6);
    msgpack_pack_str_with_body(&pk, "in-1", 4);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint16(&pk, 5);
    msgpack_pack_str_with_body(&pk, "tenant", 6);
    msgpack_pack_str_with_body(&pk, "acme", 4);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 0);
    if (has_epoch) {
        msgpack_pack_str_with_body(&pk, "epoch", 5);
        if (variant == 5)
            msgpack_pack_str_with_body(&pk, "1", 1);
        else
            msgpack_pack_uint64(&pk, variant == 3 ? 0 : UINT64_MAX);
    }
    size_t n = sb.size <= cap ? sb.size : 0;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static void test_stream_runs(void)
{
    uint8_t buf[256];
    fc_stream_header_t h;
    fc_stored_event_t ev[1];
    size_t count;
    fc_proto_error_t err;
    size_t n = s_pack_stream(buf, sizeof buf, 0);
    FC_CHECK_INT(fc_stream_decode(buf, n, &h, ev, 1, &count, &err), FC_OK);
    FC_CHECK(h.epoch == UINT64_MAX && h.base == 4 && h.seq == 5);
    static const char *field[7] = {"", "base", "epoch", "epoch", "base", "epoch", "base"};
    for (int v = 1; v <= 6; v++) {
        n = s_pack_stream(buf, sizeof buf, v);
        FC_CHECK_INT(fc_stream_decode(buf, n, &h, ev, 1, &count, &err), FC_E_MALFORMED);
        FC_CHECK_STR(err.field, field[v]);
    }
}

static void test_ids(void)
{
    uint8_t a[16], b[16];
    fc_event_id_new(a);
    struct timespec two_ms = {0, 2000000};
    nanosleep(&two_ms, NULL); //  time must pass between the two ids: nothing to await
    fc_event_id_new(b);
    FC_CHECK(memcmp(a, b, 16) < 0);
    FC_CHECK_INT(a[6] >> 4, 7);
    FC_CHECK_INT(a[8] >> 6, 2);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = 0;
    for (int i = 0; i < 6; i++)
        ms = ms << 8 | b[i];
    uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    FC_CHECK(ms <= now_ms && now_ms - ms < 1000);

    //  deterministic ids: stable across runs and implementations (PROTOCOL.md)
    const char *name = "msg_01XFDUDYJgAACzvnptvVoYEL:req_011CSHoEeqs5C35K2UUqR7Fy";
    fc_event_id_from_name(a, TS0 + 999, name, strlen(name));
    fc_event_id_from_name(b, TS0 + 999, name, strlen(name));
    FC_CHECK(memcmp(a, b, 16) == 0);
    char text[37];
    fc_uuid_format(a, text);
    FC_CHECK_STR(text, FC_GOLDEN_ID);
    FC_CHECK_INT(a[6] >> 4, 8);
    FC_CHECK_INT(a[8] >> 6, 2);
    fc_event_id_from_name(b, TS0 + 999, name, strlen(name) - 1);
    FC_CHECK(memcmp(a, b, 16) != 0);
    fc_event_id_from_name(b, TS0 + 2000, name, strlen(name)); //  later time sorts later
    FC_CHECK(memcmp(a, b, 16) < 0);

    uint8_t parsed[16];
    FC_CHECK_INT(fc_uuid_parse(text, parsed), 0);
    FC_CHECK(memcmp(parsed, a, 16) == 0);
    FC_CHECK_INT(fc_uuid_parse("019B76DA-A800-827F-BFED-872A04815943", parsed), 0);
    FC_CHECK_INT(fc_uuid_parse("019b76da-a800-827f-bfed-872a0481594", parsed), -1);
    FC_CHECK_INT(fc_uuid_parse("019b76da-a800-827f-bfed-872a048159433", parsed), -1);
    FC_CHECK_INT(fc_uuid_parse("019b76daxa800-827f-bfed-872a04815943", parsed), -1);
    FC_CHECK_INT(fc_uuid_parse("019b76da-a800-827f-bfed-872a0481594g", parsed), -1);
    FC_CHECK_INT(fc_uuid_parse("", parsed), -1);
}

static void test_codes(void)
{
    fc_code_t codes[] = {FC_OK,           FC_DUPLICATE,         FC_E_MALFORMED,
                         FC_E_VERSION,    FC_E_TOO_LARGE,       FC_E_MISSING,
                         FC_E_TYPE,       FC_E_RANGE,           FC_E_UNKNOWN_TYPE,
                         FC_E_TENANT,     FC_E_TENANT_MISMATCH, FC_E_INTERNAL,
                         FC_E_UNAVAILABLE};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        FC_CHECK_INT(fc_code_parse(fc_code_name(codes[i])), codes[i]);
    FC_CHECK_STR(fc_code_name(FC_E_TENANT_MISMATCH), "tenant_mismatch");
    FC_CHECK_INT(fc_code_parse("nope"), -1);
    FC_CHECK(!fc_code_retryable(FC_E_RANGE));
    FC_CHECK(fc_code_retryable(FC_E_INTERNAL));
    FC_CHECK(fc_event_type_parse("usage") == FC_EV_USAGE);
    FC_CHECK(fc_event_type_parse("Usage") == FC_EV_INVALID);
    FC_CHECK(fc_event_type_name(FC_EV_INVALID) == NULL);
}

/*  fc_summary_encode writes the bytes the aggregator wrote before the encoder moved to
    proto/ (issue 16): the expected hex was produced by the aggregator's previous
    encoder from the Redis reply these values come from (breakdowns unranked, as Redis
    returns them; top 2; a seq at UINT64_MAX; a month total above 2^32 and a negative
    breakdown). The decoder reads back what consumers use. */
static void test_summary_encode(void)
{
    static const char *expect_hex =
        "8ea17601a674656e616e74a461636d65a87265766973696f6e2aa2747aac417369612f4b6f6c6b617461a364"
        "6179aa323032362d30332d3031a56d6f6e7468a7323032362d3033a6636c6f736564c3a27473cf00064bfaa8"
        "709c40a561735f6f66cf00064bfaa85f77c0a47365717382a5696e672d6111a5696e672d62cfffffffffffff"
        "ffffaa6461795f746f74616c7389a9636f73745f6e757364cd05dcac696e7075745f746f6b656e73cd3039ad"
        "6f75747075745f746f6b656e7300b163616368655f726561645f746f6b656e7300b563616368655f77726974"
        "655f356d5f746f6b656e7300b563616368655f77726974655f31685f746f6b656e7300a66576656e747303af"
        "756e7072696365645f6576656e747301a66167656e747302ac6d6f6e74685f746f74616c7389a9636f73745f"
        "6e757364cf001ff973cafa8000ac696e7075745f746f6b656e7300ad6f75747075745f746f6b656e7300b163"
        "616368655f726561645f746f6b656e7300b563616368655f77726974655f356d5f746f6b656e7300b5636163"
        "68655f77726974655f31685f746f6b656e732aa66576656e74731eaf756e7072696365645f6576656e747300"
        "a66167656e747300a76461795f746f7085aa6167656e745f747970659292ab636c617564652d636f6465cd03"
        "e892a5636f646578cd01f4a56d6f64656c9292a46f707573cd02bc92a6736f6e6e6574cd02bca56167656e74"
        "9192a26131cd05dca46b696e649192a57573616765cd05dca47461736b9292a27431cd038492a27432cd0258"
        "a96d6f6e74685f746f7085aa6167656e745f747970659192ab636c617564652d636f6465cf001ff973cafa80"
        "00a56d6f64656c9192a46f707573fba56167656e7490a46b696e649192a4636f737407a47461736b9192a274"
        "394d";
    const fc_summary_pair_t day_totals[] = {{"cost_nusd", 1500},
                                            {"input_tokens", 12345},
                                            {"output_tokens", 0},
                                            {"cache_read_tokens", 0},
                                            {"cache_write_5m_tokens", 0},
                                            {"cache_write_1h_tokens", 0},
                                            {"events", 3},
                                            {"unpriced_events", 1}};
    const fc_summary_pair_t month_totals[] = {{"cost_nusd", INT64_C(9000000000000000)},
                                              {"input_tokens", 0},
                                              {"output_tokens", 0},
                                              {"cache_read_tokens", 0},
                                              {"cache_write_5m_tokens", 0},
                                              {"cache_write_1h_tokens", 42},
                                              {"events", 30},
                                              {"unpriced_events", 0}};
    const fc_summary_pair_t d_type[] = {{"claude-code", 1000}, {"codex", 500}};
    const fc_summary_pair_t d_model[] = {{"opus", 700}, {"sonnet", 700}, {"haiku", 100}};
    const fc_summary_pair_t d_agent[] = {{"a1", 1500}}, d_kind[] = {{"usage", 1500}};
    const fc_summary_pair_t d_tasks[] = {{"t1", 900}, {"t2", 600}};
    const fc_summary_pair_t m_type[] = {{"claude-code", INT64_C(9000000000000000)}};
    const fc_summary_pair_t m_model[] = {{"opus", -5}}, m_kind[] = {{"cost", 7}};
    const fc_summary_pair_t m_tasks[] = {{"t9", 77}};
    const fc_summary_seq_t seqs[] = {{"ing-a", 17}, {"ing-b", UINT64_MAX}};
    fc_summary_msg_t m = {
        .tenant = "acme",
        .tz = "Asia/Kolkata",
        .day = "2026-03-01",
        .month = "2026-03",
        .revision = 42,
        .closed = true,
        .ts_us = INT64_C(1772389800123456),
        .as_of_us = INT64_C(1772389799000000),
        .seqs = seqs,
        .nseqs = 2,
        .day_part = {day_totals,
                     8,
                     2,
                     {{"agent_type", d_type, 2},
                      {"model", d_model, 3},
                      {"agent", d_agent, 1},
                      {"kind", d_kind, 1}},
                     4,
                     d_tasks,
                     2},
        .month_part = {month_totals,
                       8,
                       0,
                       {{"agent_type", m_type, 1},
                        {"model", m_model, 1},
                        {"agent", NULL, 0},
                        {"kind", m_kind, 1}},
                       4,
                       m_tasks,
                       1},
        .top = 2,
    };
    size_t size = 0;
    uint8_t *body = fc_summary_encode(&m, &size);
    FC_CHECK(body != NULL);
    char *hex = malloc(2 * size + 1);
    for (size_t i = 0; body && hex && i < size; i++)
        snprintf(hex + 2 * i, 3, "%02x", body[i]);
    if (hex)
        hex[2 * size] = 0;
    FC_CHECK_STR(hex, expect_hex);
    fc_summary_t out;
    fc_proto_error_t err;
    FC_CHECK_INT(fc_summary_decode(body, size, &out, &err), FC_OK);
    FC_CHECK_STR(out.tenant, "acme");
    FC_CHECK_STR(out.day, "2026-03-01");
    FC_CHECK_INT(out.day_cost_nusd, 1500);
    FC_CHECK_INT(out.day_unpriced, 1);
    FC_CHECK_INT(out.month_events, 30);
    FC_CHECK_INT(out.as_of_us, INT64_C(1772389799000000));
    FC_CHECK(out.closed);
    free(hex);
    free(body);
    m.day_part.nheads = FC_SUMMARY_MAX_HEADS + 1;
    FC_CHECK(fc_summary_encode(&m, &size) == NULL);
}

int main(void)
{
    test_vectors();
    test_stream_runs();
    test_round_trip();
    test_validate();
    test_json();
    test_batch_writer();
    test_ack();
    test_stream();
    test_ids();
    test_codes();
    test_summary_encode();
    return fc_test_done("test_proto");
}
