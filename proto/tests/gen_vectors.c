/*  gen_vectors: writes proto/vectors (run by hand, output committed).

        fc_gen_vectors <proto/vectors>

    Events are packed key by key with msgpack-c, not with fc_event_encode, so that the
    vectors exercise encodings our encoder never emits (wide ints, str16 for short
    strings, unknown keys, odd key orders). For a valid vector the expected .json is the
    canonical rendering of the decoded event (review diffs by hand). For an invalid one
    the expected code and field come from the table below, and the generator checks our
    decoder agrees before writing anything. */
#include "fc_proto.h"
#include "fc_stream.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TS0 INT64_C(1767225600000000) //  2026-01-01T00:00:00Z

static const char *s_dir;
static int s_failures;

//  One map under construction: pairs go to `body`, the header is added at the end.
typedef struct {
    msgpack_sbuffer body;
    msgpack_packer pk;
    int pairs;
} gen_t;

static void g_init(gen_t *g)
{
    msgpack_sbuffer_init(&g->body);
    msgpack_packer_init(&g->pk, &g->body, msgpack_sbuffer_write);
    g->pairs = 0;
}

static void g_key(gen_t *g, const char *k)
{
    msgpack_pack_str_with_body(&g->pk, k, strlen(k));
    g->pairs++;
}

static void g_str(gen_t *g, const char *k, const char *v)
{
    g_key(g, k);
    msgpack_pack_str_with_body(&g->pk, v, strlen(v));
}

static void g_strn(gen_t *g, const char *k, char fill, size_t n)
{
    char *v = malloc(n + 1);
    memset(v, fill, n);
    v[n] = 0;
    g_str(g, k, v);
    free(v);
}

static void g_int(gen_t *g, const char *k, int64_t v)
{
    g_key(g, k);
    msgpack_pack_int64(&g->pk, v);
}

static void g_raw(gen_t *g, const char *k, const void *bytes, size_t len)
{
    g_key(g, k);
    msgpack_sbuffer_write(&g->body, bytes, len);
}

static void g_id(gen_t *g, const char *name)
{
    uint8_t id[16];
    fc_event_id_from_name(id, TS0, name, strlen(name));
    g_key(g, "id");
    msgpack_pack_bin_with_body(&g->pk, id, 16);
}

//  NULL-terminated list of label strings.
static void g_labels(gen_t *g, ...)
{
    va_list ap;
    int n = 0;
    va_start(ap, g);
    while (va_arg(ap, const char *))
        n++;
    va_end(ap);
    g_key(g, "labels");
    msgpack_pack_array(&g->pk, n);
    va_start(ap, g);
    for (const char *s; (s = va_arg(ap, const char *));)
        msgpack_pack_str_with_body(&g->pk, s, strlen(s));
    va_end(ap);
}

//  NULL-terminated list of key, value strings.
static void g_attrs(gen_t *g, ...)
{
    va_list ap;
    int n = 0;
    va_start(ap, g);
    while (va_arg(ap, const char *))
        n++;
    va_end(ap);
    g_key(g, "attrs");
    msgpack_pack_map(&g->pk, n / 2);
    va_start(ap, g);
    for (const char *s; (s = va_arg(ap, const char *));)
        msgpack_pack_str_with_body(&g->pk, s, strlen(s));
    va_end(ap);
}

//  id, ts, type and tenant, the head every test event starts with.
static void g_head(gen_t *g, const char *name, const char *type)
{
    g_id(g, name);
    g_int(g, "ts", TS0 + 1234567);
    g_str(g, "type", type);
    g_str(g, "tenant", "acme");
}

//  The finished map (header + pairs) into out.
static void g_finish(gen_t *g, msgpack_sbuffer *out)
{
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, g->pairs);
    msgpack_sbuffer_write(out, g->body.data, g->body.size);
    msgpack_sbuffer_destroy(&g->body);
}

static void s_write(const char *sub, const char *name, const char *ext, const void *data,
                    size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s/%s.%s", s_dir, sub, name, ext);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "gen_vectors: cannot write %s\n", path);
        exit(1);
    }
}

static void s_valid(const char *name, const void *data, size_t size)
{
    fc_event_t ev;
    fc_proto_error_t err;
    if (fc_event_decode(data, size, &ev, &err) != FC_OK) {
        fprintf(stderr, "valid/%s: rejected: %s %s: %s\n", name, fc_code_name(err.code), err.field,
                err.reason);
        s_failures++;
        return;
    }
    static char json[65536];
    int n = fc_event_to_json(&ev, json, sizeof json - 1);
    json[n++] = '\n';
    s_write("valid", name, "msgpack", data, size);
    s_write("valid", name, "json", json, (size_t)n);
}

static void s_valid_g(const char *name, gen_t *g)
{
    msgpack_sbuffer sb;
    g_finish(g, &sb);
    s_valid(name, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
}

static void s_invalid(const char *name, const void *data, size_t size, fc_code_t code,
                      const char *field)
{
    fc_event_t ev;
    fc_proto_error_t err = {0};
    fc_code_t rc = fc_event_decode(data, size, &ev, &err);
    if (rc != code || strcmp(err.field, field) != 0) {
        fprintf(stderr, "invalid/%s: got %s \"%s\" (%s), want %s \"%s\"\n", name, fc_code_name(rc),
                err.field, err.reason, fc_code_name(code), field);
        s_failures++;
        return;
    }
    char json[256];
    int n = snprintf(json, sizeof json, "{\"code\":\"%s\",\"field\":\"%s\"}\n", fc_code_name(code),
                     field);
    s_write("invalid", name, "msgpack", data, size);
    s_write("invalid", name, "json", json, (size_t)n);
}

static void s_invalid_g(const char *name, gen_t *g, fc_code_t code, const char *field)
{
    msgpack_sbuffer sb;
    g_finish(g, &sb);
    s_invalid(name, sb.data, sb.size, code, field);
    msgpack_sbuffer_destroy(&sb);
}

//  A small valid usage event, the base of many invalid ones.
static void g_usage(gen_t *g, const char *name)
{
    g_init(g);
    g_head(g, name, "usage");
    g_str(g, "agent", "a-1");
    g_str(g, "model", "claude-sonnet-4-5");
    g_int(g, "in", 1200);
    g_int(g, "out", 350);
}

static void s_valid_events(void)
{
    gen_t g;
    g_init(&g);
    g_head(&g, "agent_spawn", "agent.spawn");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "atype", "claude-code");
    g_str(&g, "host", "build-03");
    g_str(&g, "parent", "agent-0001");
    g_str(&g, "sess", "sess-1");
    s_valid_g("agent_spawn", &g);

    g_init(&g);
    g_head(&g, "agent_terminate", "agent.terminate");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "reason", "killed by supervisor");
    g_int(&g, "exit", -9);
    s_valid_g("agent_terminate", &g);

    g_init(&g);
    g_head(&g, "agent_reassign", "agent.reassign");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "task", "T-2");
    g_str(&g, "from", "T-1");
    s_valid_g("agent_reassign", &g);

    //  no tenant: the transport supplies it
    g_init(&g);
    g_id(&g, "usage_minimal");
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "usage");
    g_str(&g, "agent", "a-1");
    g_str(&g, "model", "claude-opus-4-1");
    g_int(&g, "in", 10);
    s_valid_g("usage_minimal", &g);

    //  every token kind, in deliberately wide encodings
    g_init(&g);
    g_head(&g, "usage_wide_ints", "usage");
    g_str(&g, "agent", "a-1");
    g_str(&g, "model", "us.anthropic.claude-sonnet-4-5-20250929-v1:0");
    g_raw(&g, "in", "\xcf\x00\x00\x00\x00\x00\x00\x00\x05", 9);  //  uint64 5
    g_raw(&g, "out", "\xd3\x00\x00\x00\x00\x00\x00\x01\x00", 9); //  int64 256
    g_raw(&g, "cr", "\xce\x00\x01\x00\x00", 5);                  //  uint32 65536
    g_raw(&g, "cw5m", "\xd1\x00\x07", 3);                        //  int16 7
    g_raw(&g, "cw1h", "\xcc\x00", 2);                            //  uint8 0
    g_raw(&g, "req", "\xda\x00\x05req-9", 8);                    //  str16 for a short string
    s_valid_g("usage_wide_ints", &g);

    g_init(&g);
    g_head(&g, "usage_all_fields", "usage");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "atype", "claude-code");
    g_str(&g, "host", "build-03");
    g_str(&g, "sess", "5d3c1f0e-session");
    g_str(&g, "task", "T-42");
    g_str(&g, "model", "claude-sonnet-4-5[1m]");
    g_str(&g, "req", "req_011CV");
    g_int(&g, "in", 3);
    g_int(&g, "out", 1024);
    g_int(&g, "cr", 250000);
    g_int(&g, "cw5m", 1500);
    g_int(&g, "cw1h", 800);
    g_int(&g, "api_ms", 8123);
    g_int(&g, "mem_mb", 512);
    g_key(&g, "cpu");
    msgpack_pack_double(&g.pk, 37.25);
    g_int(&g, "rcost", 123456789);
    g_labels(&g, "backend", "urgent", "ünïcode", NULL);
    g_attrs(&g, "team", "payments", "env", "prod", "cost_center", "cc-1042", NULL);
    s_valid_g("usage_all_fields", &g);

    //  How the request was billed (PROTOCOL.md §4.2): fast mode, US-only inference, a batch
    //  request, server tools.
    g_init(&g);
    g_head(&g, "usage_billing_modes", "usage");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "model", "claude-opus-4-6");
    g_int(&g, "in", 1000);
    g_int(&g, "out", 200);
    g_str(&g, "speed", "fast");
    g_str(&g, "geo", "us");
    g_key(&g, "batch");
    msgpack_pack_true(&g.pk);
    g_int(&g, "wsearch", 3);
    g_int(&g, "cexec_ms", 90000);
    s_valid_g("usage_billing_modes", &g);
    //  Standard speed and global inference said explicitly; batch false, zero tools.
    g_init(&g);
    g_head(&g, "usage_billing_standard", "usage");
    g_str(&g, "agent", "a-1");
    g_str(&g, "model", "claude-sonnet-4-6");
    g_str(&g, "speed", "standard");
    g_str(&g, "geo", "global");
    g_key(&g, "batch");
    msgpack_pack_false(&g.pk);
    g_int(&g, "wsearch", 0);
    s_valid_g("usage_billing_standard", &g);

    //  cpu as float32 and as an integer; keys in an unusual order
    g_init(&g);
    g_key(&g, "cpu");
    msgpack_pack_float(&g.pk, 0.5f);
    g_str(&g, "model", "claude-haiku-4-5");
    g_str(&g, "type", "usage");
    g_str(&g, "agent", "a-2");
    g_int(&g, "ts", TS0);
    g_id(&g, "usage_float32");
    s_valid_g("usage_float32_cpu_key_order", &g);

    g_init(&g);
    g_head(&g, "task_created", "task.created");
    g_str(&g, "task", "T-42");
    g_str(&g, "title", "Fix \"quoted\" bug\n\tin café — 日本 \x01 \\ /");
    g_str(&g, "ttype", "bugfix");
    g_str(&g, "prio", "p1");
    g_str(&g, "repo", "acme/api");
    g_int(&g, "issue", 1042);
    g_labels(&g, "backend", "flaky-test", NULL);
    g_attrs(&g, "team", "core", NULL);
    s_valid_g("task_created", &g);

    g_init(&g);
    g_head(&g, "task_updated", "task.updated");
    g_str(&g, "task", "T-42");
    g_str(&g, "status", "in_review");
    s_valid_g("task_updated", &g);

    g_init(&g);
    g_head(&g, "task_assigned", "task.assigned");
    g_str(&g, "task", "T-42");
    g_str(&g, "agent", "agent-7f3a");
    s_valid_g("task_assigned", &g);

    g_init(&g);
    g_head(&g, "task_unassigned", "task.unassigned");
    g_str(&g, "task", "T-42");
    g_str(&g, "agent", "agent-7f3a");
    g_str(&g, "reason", "blocked");
    s_valid_g("task_unassigned", &g);

    g_init(&g);
    g_head(&g, "task_completed", "task.completed");
    g_str(&g, "task", "T-42");
    g_str(&g, "status", "success");
    s_valid_g("task_completed", &g);

    const char *kinds[] = {"runtime", "storage", "mcp", "other"};
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "cost_%s", kinds[i]);
        g_init(&g);
        g_head(&g, name, "cost");
        g_str(&g, "kind", kinds[i]);
        g_int(&g, "cost", i == 3 ? 0 : INT64_C(2500000000) * (i + 1));
        if (i == 1) {
            g_int(&g, "qty", 500);
            g_str(&g, "unit", "GB-day");
        }
        if (i == 2) {
            g_str(&g, "agent", "agent-7f3a");
            g_str(&g, "desc", "github MCP server calls");
        }
        s_valid_g(name, &g);
    }

    //  unknown keys are skipped, however nested (within the depth limit)
    g_usage(&g, "unknown_keys");
    g_key(&g, "x_future");
    msgpack_pack_map(&g.pk, 1);
    msgpack_pack_str_with_body(&g.pk, "deep", 4);
    msgpack_pack_array(&g.pk, 2);
    msgpack_pack_nil(&g.pk);
    msgpack_pack_array(&g.pk, 1);
    msgpack_pack_true(&g.pk);
    g_raw(&g, "x_ext", "\xd4\x01\x02", 3); //  fixext1
    g_raw(&g, "x_bin", "\xc4\x02\xff\x00", 4);
    s_valid_g("usage_unknown_keys", &g);

    //  every limit met exactly
    g_init(&g);
    g_id(&g, "limits_exact");
    g_int(&g, "ts", FC_TS_MAX_US - 1);
    g_str(&g, "type", "task.created");
    g_strn(&g, "tenant", 't', FC_MAX_TENANT);
    g_strn(&g, "task", 'k', FC_MAX_ID);
    g_strn(&g, "agent", 'a', FC_MAX_ID);
    g_strn(&g, "ttype", 'n', FC_MAX_NAME);
    g_strn(&g, "title", 'x', FC_MAX_TEXT);
    g_int(&g, "in", FC_MAX_TOKENS);
    g_int(&g, "issue", INT64_C(1000000000000));
    g_key(&g, "labels");
    msgpack_pack_array(&g.pk, FC_MAX_LABELS);
    for (int i = 0; i < FC_MAX_LABELS; i++) {
        char l[FC_MAX_LABEL + 1];
        memset(l, 'a' + i, FC_MAX_LABEL);
        l[FC_MAX_LABEL] = 0;
        msgpack_pack_str_with_body(&g.pk, l, FC_MAX_LABEL);
    }
    g_key(&g, "attrs");
    msgpack_pack_map(&g.pk, FC_MAX_ATTRS);
    for (int i = 0; i < FC_MAX_ATTRS; i++) {
        char k[FC_MAX_ATTR_KEY + 1], v[FC_MAX_ATTR_VALUE + 1];
        memset(k, 'a' + i, FC_MAX_ATTR_KEY);
        k[FC_MAX_ATTR_KEY] = 0;
        memset(v, 'A' + i, FC_MAX_ATTR_VALUE);
        v[FC_MAX_ATTR_VALUE] = 0;
        msgpack_pack_str_with_body(&g.pk, k, FC_MAX_ATTR_KEY);
        msgpack_pack_str_with_body(&g.pk, v, FC_MAX_ATTR_VALUE);
    }
    s_valid_g("limits_exact", &g);

    g_init(&g);
    g_id(&g, "ts_min");
    g_int(&g, "ts", FC_TS_MIN_US);
    g_str(&g, "type", "cost");
    g_str(&g, "kind", "other");
    g_int(&g, "cost", FC_MAX_COST_NUSD);
    s_valid_g("ts_min_cost_max", &g);
}

static void s_invalid_events(void)
{
    gen_t g;
    msgpack_sbuffer sb;

    g_usage(&g, "base");
    g_finish(&g, &sb);
    s_invalid("truncated_half", sb.data, sb.size / 2, FC_E_MALFORMED, "tenant");
    s_invalid("truncated_last_byte", sb.data, sb.size - 1, FC_E_MALFORMED, "output_tokens");
    char *extra = malloc(sb.size + 1);
    memcpy(extra, sb.data, sb.size);
    extra[sb.size] = (char)0xc0;
    s_invalid("trailing_bytes", extra, sb.size + 1, FC_E_MALFORMED, "");
    free(extra);
    msgpack_sbuffer_destroy(&sb);

    s_invalid("empty", "", 0, FC_E_MALFORMED, "");
    s_invalid("not_a_map_array", "\x92\x01\x02", 3, FC_E_MALFORMED, "");
    s_invalid("not_a_map_string",
              "\xa3"
              "abc",
              4, FC_E_MALFORMED, "");
    s_invalid("never_used_byte", "\x81\xa2id\xc1", 5, FC_E_MALFORMED, "id");
    s_invalid("huge_map32_no_data", "\xdf\xff\xff\xff\xff", 5, FC_E_MALFORMED, "");
    s_invalid("huge_map16_no_data", "\xde\xff\xff", 3, FC_E_MALFORMED, "");

    g_usage(&g, "huge_str32");
    g_raw(&g, "host", "\xdb\xff\xff\xff\xff", 5);
    s_invalid_g("huge_str32_no_data", &g, FC_E_MALFORMED, "host");
    g_usage(&g, "huge_bin32");
    g_raw(&g, "x", "\xc6\x7f\xff\xff\xff", 5);
    s_invalid_g("huge_bin32_unknown_key", &g, FC_E_MALFORMED, "");
    g_usage(&g, "huge_array32");
    g_raw(&g, "labels", "\xdd\xff\xff\xff\xff", 5);
    s_invalid_g("huge_array32_labels", &g, FC_E_MALFORMED, "labels");

    g_usage(&g, "int_key");
    g_finish(&g, &sb);
    {
        //  an int key: bump the fixmap count and append 7 => nil
        char *b = malloc(sb.size + 2);
        memcpy(b, sb.data, sb.size);
        b[0] = (char)(b[0] + 1);
        b[sb.size] = 0x07;
        b[sb.size + 1] = (char)0xc0;
        s_invalid("key_not_string", b, sb.size + 2, FC_E_TYPE, "");
        free(b);
    }
    msgpack_sbuffer_destroy(&sb);

    g_usage(&g, "t");
    g_str(&g, "cr", "12");
    s_invalid_g("wrong_type_tokens_string", &g, FC_E_TYPE, "cache_read_tokens");
    g_usage(&g, "t");
    g_key(&g, "cw5m");
    msgpack_pack_double(&g.pk, 1.0);
    s_invalid_g("wrong_type_tokens_float", &g, FC_E_TYPE, "cache_write_5m_tokens");
    g_init(&g);
    g_head(&g, "t", "usage");
    g_str(&g, "agent", "a");
    g_int(&g, "model", 5);
    s_invalid_g("wrong_type_model_int", &g, FC_E_TYPE, "model");
    g_usage(&g, "t");
    g_str(&g, "cpu", "high");
    s_invalid_g("wrong_type_cpu", &g, FC_E_TYPE, "cpu_percent");
    g_usage(&g, "t");
    g_raw(&g, "mem_mb", "\xc3", 1);
    s_invalid_g("wrong_type_bool_memory", &g, FC_E_TYPE, "memory_mb");
    g_usage(&g, "t");
    g_str(&g, "labels", "a,b");
    s_invalid_g("wrong_type_labels", &g, FC_E_TYPE, "labels");
    g_usage(&g, "t");
    g_key(&g, "attrs");
    msgpack_pack_map(&g.pk, 1);
    msgpack_pack_str_with_body(&g.pk, "team", 4);
    msgpack_pack_int(&g.pk, 7);
    s_invalid_g("wrong_type_attr_value", &g, FC_E_TYPE, "attrs.team");
    g_usage(&g, "t");
    g_raw(&g, "attrs", "\x91\xa1x", 3);
    s_invalid_g("wrong_type_attrs_array", &g, FC_E_TYPE, "attrs");

    g_init(&g);
    g_raw(&g, "id",
          "\xb0"
          "0123456789abcdef",
          17);
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "usage");
    s_invalid_g("id_as_string", &g, FC_E_TYPE, "id");
    g_init(&g);
    g_raw(&g, "id",
          "\xc4\x08"
          "01234567",
          10);
    s_invalid_g("id_8_bytes", &g, FC_E_RANGE, "id");
    g_init(&g);
    g_raw(&g, "id",
          "\xc4\x11"
          "0123456789abcdefg",
          19);
    s_invalid_g("id_17_bytes", &g, FC_E_RANGE, "id");
    g_init(&g);
    g_raw(&g, "id", "\xc4\x10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 18);
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "usage");
    g_str(&g, "agent", "a");
    g_str(&g, "model", "m");
    s_invalid_g("id_nil", &g, FC_E_RANGE, "id");

    g_usage(&g, "t");
    g_int(&g, "cr", -1);
    s_invalid_g("negative_cache_read", &g, FC_E_RANGE, "cache_read_tokens");
    g_usage(&g, "t");
    g_raw(&g, "cw1h", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00", 9);
    s_invalid_g("negative_cw1h_int64_min", &g, FC_E_RANGE, "cache_write_1h_tokens");
    g_init(&g);
    g_head(&g, "t", "usage");
    g_str(&g, "agent", "a");
    g_str(&g, "model", "m");
    g_int(&g, "in", FC_MAX_TOKENS + 1);
    s_invalid_g("tokens_over_limit", &g, FC_E_RANGE, "input_tokens");
    g_init(&g);
    g_head(&g, "t", "usage");
    g_str(&g, "agent", "a");
    g_str(&g, "model", "m");
    g_raw(&g, "out", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9);
    s_invalid_g("tokens_uint64_max", &g, FC_E_RANGE, "output_tokens");
    g_usage(&g, "t");
    g_int(&g, "rcost", -5);
    s_invalid_g("negative_reported_cost", &g, FC_E_RANGE, "reported_cost_nusd");
    g_usage(&g, "t");
    g_int(&g, "api_ms", -1);
    s_invalid_g("negative_api_duration", &g, FC_E_RANGE, "api_duration_ms");
    g_usage(&g, "t");
    g_str(&g, "speed", "Fast");
    s_invalid_g("speed_not_a_name", &g, FC_E_RANGE, "speed");
    g_usage(&g, "t");
    g_strn(&g, "speed", 'f', FC_MAX_MODE + 1);
    s_invalid_g("speed_too_long", &g, FC_E_TOO_LARGE, "speed");
    g_usage(&g, "t");
    g_int(&g, "geo", 1);
    s_invalid_g("geo_not_a_string", &g, FC_E_TYPE, "inference_geo");
    g_usage(&g, "t");
    g_str(&g, "geo", "us west");
    s_invalid_g("geo_not_a_name", &g, FC_E_RANGE, "inference_geo");
    g_usage(&g, "t");
    g_int(&g, "batch", 1);
    s_invalid_g("batch_not_a_bool", &g, FC_E_TYPE, "batch");
    g_usage(&g, "t");
    g_int(&g, "wsearch", -1);
    s_invalid_g("negative_web_search", &g, FC_E_RANGE, "web_search_requests");
    g_usage(&g, "t");
    g_int(&g, "cexec_ms", FC_MAX_CODE_EXEC + 1);
    s_invalid_g("code_exec_over_limit", &g, FC_E_RANGE, "code_exec_ms");
    g_usage(&g, "t");
    g_key(&g, "cpu");
    msgpack_pack_double(&g.pk, 0.0 / 0.0);
    s_invalid_g("cpu_nan", &g, FC_E_RANGE, "cpu_percent");
    g_usage(&g, "t");
    g_key(&g, "cpu");
    msgpack_pack_double(&g.pk, -1.0);
    s_invalid_g("cpu_negative", &g, FC_E_RANGE, "cpu_percent");
    g_init(&g);
    g_head(&g, "t", "agent.terminate");
    g_str(&g, "agent", "a");
    g_int(&g, "exit", INT64_C(4294967296));
    s_invalid_g("exit_code_over_int32", &g, FC_E_RANGE, "exit_code");
    g_init(&g);
    g_head(&g, "t", "cost");
    g_str(&g, "kind", "mcp");
    g_int(&g, "cost", -100);
    s_invalid_g("negative_cost", &g, FC_E_RANGE, "cost_nusd");
    g_init(&g);
    g_head(&g, "t", "cost");
    g_str(&g, "kind", "mcp");
    g_int(&g, "cost", FC_MAX_COST_NUSD + 1);
    s_invalid_g("cost_over_limit", &g, FC_E_RANGE, "cost_nusd");

    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", FC_TS_MIN_US - 1);
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    s_invalid_g("ts_before_2000", &g, FC_E_RANGE, "ts_us");
    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", FC_TS_MAX_US);
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    s_invalid_g("ts_2100", &g, FC_E_RANGE, "ts_us");
    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", 1767225600); //  seconds, not microseconds
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    s_invalid_g("ts_in_seconds", &g, FC_E_RANGE, "ts_us");
    g_init(&g);
    g_id(&g, "t");
    g_key(&g, "ts");
    msgpack_pack_double(&g.pk, 1767225600e6);
    s_invalid_g("ts_float", &g, FC_E_TYPE, "ts_us");

    //  one over each string limit class
    struct {
        const char *name, *key, *field;
        size_t len;
    } longs[] = {
        {"too_long_tenant", "tenant", "tenant", FC_MAX_TENANT + 1},
        {"too_long_agent_id", "agent", "agent", FC_MAX_ID + 1},
        {"too_long_request_id", "req", "request", FC_MAX_ID + 1},
        {"too_long_model_name", "model", "model", FC_MAX_NAME + 1},
        {"too_long_host_name", "host", "host", FC_MAX_NAME + 1},
        {"too_long_title_text", "title", "title", FC_MAX_TEXT + 1},
        {"too_long_description_text", "desc", "description", FC_MAX_TEXT + 1},
    };
    for (size_t i = 0; i < sizeof longs / sizeof longs[0]; i++) {
        g_init(&g);
        g_id(&g, "t");
        g_int(&g, "ts", TS0);
        g_str(&g, "type", "usage");
        g_strn(&g, longs[i].key, 'z', longs[i].len);
        s_invalid_g(longs[i].name, &g, FC_E_TOO_LARGE, longs[i].field);
    }
    g_usage(&g, "t");
    g_key(&g, "labels");
    msgpack_pack_array(&g.pk, 1);
    {
        char l[FC_MAX_LABEL + 2];
        memset(l, 'l', FC_MAX_LABEL + 1);
        msgpack_pack_str_with_body(&g.pk, l, FC_MAX_LABEL + 1);
    }
    s_invalid_g("too_long_label", &g, FC_E_TOO_LARGE, "labels[0]");
    g_usage(&g, "t");
    g_key(&g, "attrs");
    msgpack_pack_map(&g.pk, 1);
    {
        char k[FC_MAX_ATTR_KEY + 2];
        memset(k, 'k', FC_MAX_ATTR_KEY + 1);
        msgpack_pack_str_with_body(&g.pk, k, FC_MAX_ATTR_KEY + 1);
        msgpack_pack_str_with_body(&g.pk, "v", 1);
    }
    s_invalid_g("too_long_attr_key", &g, FC_E_TOO_LARGE, "attrs");
    g_usage(&g, "t");
    g_key(&g, "attrs");
    msgpack_pack_map(&g.pk, 1);
    {
        char v[FC_MAX_ATTR_VALUE + 2];
        memset(v, 'v', FC_MAX_ATTR_VALUE + 1);
        msgpack_pack_str_with_body(&g.pk, "team", 4);
        msgpack_pack_str_with_body(&g.pk, v, FC_MAX_ATTR_VALUE + 1);
    }
    s_invalid_g("too_long_attr_value", &g, FC_E_TOO_LARGE, "attrs.team");

    g_usage(&g, "t");
    g_key(&g, "labels");
    msgpack_pack_array(&g.pk, FC_MAX_LABELS + 1);
    for (int i = 0; i <= FC_MAX_LABELS; i++)
        msgpack_pack_str_with_body(&g.pk, "x", 1);
    s_invalid_g("too_many_labels", &g, FC_E_TOO_LARGE, "labels");
    g_usage(&g, "t");
    g_key(&g, "attrs");
    msgpack_pack_map(&g.pk, FC_MAX_ATTRS + 1);
    for (int i = 0; i <= FC_MAX_ATTRS; i++) {
        char k[8];
        snprintf(k, sizeof k, "k%d", i);
        msgpack_pack_str_with_body(&g.pk, k, strlen(k));
        msgpack_pack_str_with_body(&g.pk, "v", 1);
    }
    s_invalid_g("too_many_attrs", &g, FC_E_TOO_LARGE, "attrs");
    g_usage(&g, "t");
    for (int i = 0; i < FC_MAX_KEYS; i++) {
        char k[8];
        snprintf(k, sizeof k, "x%d", i);
        g_int(&g, k, i);
    }
    s_invalid_g("too_many_keys", &g, FC_E_TOO_LARGE, "");
    g_usage(&g, "t");
    g_key(&g, "x_blob");
    {
        size_t n = FC_MAX_EVENT_BYTES;
        char *blob = calloc(1, n);
        msgpack_pack_bin_with_body(&g.pk, blob, n);
        free(blob);
    }
    s_invalid_g("event_over_16k", &g, FC_E_TOO_LARGE, "");
    g_usage(&g, "t");
    g_key(&g, "x_deep");
    for (int i = 0; i < 100; i++)
        msgpack_pack_array(&g.pk, 1);
    msgpack_pack_nil(&g.pk);
    s_invalid_g("depth_bomb_arrays", &g, FC_E_TOO_LARGE, "");
    g_usage(&g, "t");
    g_key(&g, "x_deep");
    for (int i = 0; i < FC_MAX_DEPTH; i++) { //  one level too many
        msgpack_pack_map(&g.pk, 1);
        msgpack_pack_str_with_body(&g.pk, "k", 1);
    }
    msgpack_pack_nil(&g.pk);
    s_invalid_g("depth_just_over_limit", &g, FC_E_TOO_LARGE, "");

    g_usage(&g, "t");
    g_str(&g, "model", "claude-opus-4-1");
    s_invalid_g("duplicate_key", &g, FC_E_MALFORMED, "model");
    g_usage(&g, "t");
    g_int(&g, "x_future", 1);
    g_int(&g, "x_future", 2);
    s_invalid_g("duplicate_unknown_key", &g, FC_E_MALFORMED, "");
    g_usage(&g, "t");
    g_attrs(&g, "team", "a", "team", "b", NULL);
    s_invalid_g("duplicate_attr_key", &g, FC_E_MALFORMED, "attrs.team");

    g_init(&g);
    g_head(&g, "t", "usage.v2");
    s_invalid_g("unknown_type", &g, FC_E_UNKNOWN_TYPE, "type");
    g_init(&g);
    g_head(&g, "t", "");
    s_invalid_g("empty_type", &g, FC_E_UNKNOWN_TYPE, "type");
    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "type", 4);
    s_invalid_g("type_not_string", &g, FC_E_TYPE, "type");

    g_init(&g);
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    s_invalid_g("missing_id", &g, FC_E_MISSING, "id");
    g_init(&g);
    g_id(&g, "t");
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    s_invalid_g("missing_ts", &g, FC_E_MISSING, "ts_us");
    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", TS0);
    g_str(&g, "task", "T");
    s_invalid_g("missing_type", &g, FC_E_MISSING, "type");

    //  per-type required fields
    struct {
        const char *name, *type, *k1, *v1, *k2, *v2, *field;
    } req[] = {
        {"missing_agent_spawn", "agent.spawn", "host", "h", NULL, NULL, "agent"},
        {"missing_agent_terminate", "agent.terminate", "reason", "r", NULL, NULL, "agent"},
        {"missing_task_reassign", "agent.reassign", "agent", "a", NULL, NULL, "task"},
        {"missing_agent_usage", "usage", "model", "m", NULL, NULL, "agent"},
        {"missing_model_usage", "usage", "agent", "a", NULL, NULL, "model"},
        {"empty_model_usage", "usage", "agent", "a", "model", "", "model"},
        {"missing_task_created", "task.created", "title", "t", NULL, NULL, "task"},
        {"missing_task_updated", "task.updated", "status", "s", NULL, NULL, "task"},
        {"missing_agent_assigned", "task.assigned", "task", "T", NULL, NULL, "agent"},
        {"missing_agent_unassigned", "task.unassigned", "task", "T", NULL, NULL, "agent"},
        {"missing_task_completed", "task.completed", "agent", "a", NULL, NULL, "task"},
        {"missing_kind_cost", "cost", "unit", "u", NULL, NULL, "kind"},
        {"missing_cost_nusd", "cost", "kind", "runtime", NULL, NULL, "cost_nusd"},
    };
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        g_init(&g);
        g_head(&g, "t", req[i].type);
        g_str(&g, req[i].k1, req[i].v1);
        if (req[i].k2)
            g_str(&g, req[i].k2, req[i].v2);
        if (strcmp(req[i].type, "cost") == 0 && strcmp(req[i].name, "missing_cost_nusd") != 0)
            g_int(&g, "cost", 1);
        s_invalid_g(req[i].name, &g, FC_E_MISSING, req[i].field);
    }
    g_init(&g);
    g_head(&g, "t", "cost");
    g_str(&g, "kind", "electricity");
    g_int(&g, "cost", 1);
    s_invalid_g("unknown_cost_kind", &g, FC_E_RANGE, "kind");

    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    g_str(&g, "tenant", "Acme Corp");
    s_invalid_g("bad_tenant_syntax", &g, FC_E_TENANT, "tenant");
    g_init(&g);
    g_id(&g, "t");
    g_int(&g, "ts", TS0);
    g_str(&g, "type", "task.created");
    g_str(&g, "task", "T");
    g_str(&g, "tenant", "-acme");
    s_invalid_g("bad_tenant_leading_dash", &g, FC_E_TENANT, "tenant");
    g_usage(&g, "t");
    g_str(&g, "host", "bad\xff\xfe");
    s_invalid_g("invalid_utf8", &g, FC_E_RANGE, "host");
    g_usage(&g, "t");
    g_str(&g, "host", "\xed\xa0\x80"); //  a UTF-16 surrogate
    s_invalid_g("utf8_surrogate", &g, FC_E_RANGE, "host");
    g_usage(&g, "t");
    g_raw(&g, "sess",
          "\xa3"
          "a\0b",
          4);
    s_invalid_g("nul_in_string", &g, FC_E_RANGE, "session");
    g_usage(&g, "t");
    g_labels(&g, "ok", "", NULL);
    s_invalid_g("empty_label", &g, FC_E_RANGE, "labels[1]");
    g_usage(&g, "t");
    g_attrs(&g, "a b", "v", NULL);
    s_invalid_g("bad_attr_key", &g, FC_E_RANGE, "attrs.a b");
}

//  Batch envelopes: expected {"code", "field", "batch", "count", "results"}.
static void s_batch(const char *name, const void *data, size_t size)
{
    static fc_batch_t batch;
    fc_proto_error_t err = {0};
    fc_code_t rc = fc_batch_decode(data, size, &batch, &err);
    static char json[65536];
    int n = snprintf(json, sizeof json, "{\"code\":\"%s\",\"field\":\"%s\"", fc_code_name(rc),
                     rc ? err.field : "");
    if (rc == FC_OK) {
        n +=
            snprintf(json + n, sizeof json - n, ",\"batch\":%" PRIu64 ",\"count\":%u,\"results\":[",
                     batch.batch_id, batch.count);
        for (uint32_t i = 0; i < batch.count && i < 64; i++) {
            fc_event_t ev;
            fc_code_t erc = fc_event_decode(batch.event_data[i], batch.event_size[i], &ev, NULL);
            n += snprintf(json + n, sizeof json - n, "%s\"%s\"", i ? "," : "", fc_code_name(erc));
        }
        n += snprintf(json + n, sizeof json - n, "]");
    }
    n += snprintf(json + n, sizeof json - n, "}\n");
    s_write("batch", name, "msgpack", data, size);
    s_write("batch", name, "json", json, (size_t)n);
}

static void s_batches(void)
{
    gen_t g;
    msgpack_sbuffer ev1, ev2;
    g_usage(&g, "batch-1");
    g_finish(&g, &ev1);
    g_init(&g);
    g_head(&g, "batch-2", "task.completed");
    g_str(&g, "task", "T-1");
    g_finish(&g, &ev2);

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_uint64(&pk, UINT64_C(1767225600000001));
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_bin_with_body(&pk, ev1.data, ev1.size);
    msgpack_pack_bin_with_body(&pk, "\x81\xa1x\x01", 4); //  a bad event: its neighbours survive
    msgpack_pack_bin_with_body(&pk, ev2.data, ev2.size);
    s_batch("valid_mixed_results", sb.data, sb.size);
    s_batch("truncated", sb.data, sb.size - 3);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_str_with_body(&pk, "x_future", 8);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    s_batch("valid_empty_unknown_key", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 2);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 0);
    s_batch("bad_version", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_uint64(&pk, 7);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, FC_MAX_BATCH + 1);
    for (int i = 0; i <= FC_MAX_BATCH; i++)
        msgpack_pack_bin_with_body(&pk, "\x80", 1);
    s_batch("too_many_events", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_int(&pk, -3);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 0);
    s_batch("negative_batch_id", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_int(&pk, 9);
    msgpack_pack_str_with_body(&pk, "events", 6);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_str_with_body(&pk, ev1.data, ev1.size); //  str, not bin
    s_batch("event_not_bin", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "batch", 5);
    msgpack_pack_int(&pk, 9);
    s_batch("missing_events", sb.data, sb.size);
    msgpack_sbuffer_clear(&sb);

    s_batch("huge_array32_no_data",
            "\x83\xa1v\x01\xa5"
            "batch\x01\xa6"
            "events\xdd\xff\xff\xff\xff",
            22);

    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&ev1);
    msgpack_sbuffer_destroy(&ev2);
}

/*  Stream messages and heartbeats (PROTOCOL.md §11), with and without the run keys.
    Expected: {"kind", "code", "field"} and, when it decodes, "ingest", "seq", "epoch",
    "base" (0 when absent) and, for messages, "count". Keys go in an odd order, seq as
    a uint16 and the epoch as a uint64 whatever its size. */
typedef struct {
    int epoch; //  0 absent, 1 a uint, 2 zero, 3 a negative int, 4 a string
    int base;  //  0 absent, 1 below seq, 2 equal to seq, 3 above seq
    bool unknown;
} s_run_t;
#define RUN_EPOCH UINT64_C(1767225600123456)
#define RUN_SEQ   42

static void s_pack_run(msgpack_packer *pk, const s_run_t *run)
{
    if (run->base) {
        msgpack_pack_str_with_body(pk, "base", 4);
        msgpack_pack_uint64(pk, RUN_SEQ - 2 + (uint64_t)run->base);
    }
    if (run->unknown) {
        msgpack_pack_str_with_body(pk, "x_future", 8);
        msgpack_pack_array(pk, 1);
        msgpack_pack_true(pk);
    }
    if (run->epoch) {
        msgpack_pack_str_with_body(pk, "epoch", 5);
        if (run->epoch == 1)
            msgpack_pack_uint64(pk, RUN_EPOCH);
        else if (run->epoch == 2)
            msgpack_pack_uint64(pk, 0);
        else if (run->epoch == 3)
            msgpack_pack_int64(pk, -5);
        else
            msgpack_pack_str_with_body(pk, "1767225600123456", 16);
    }
}

static void s_stream(const char *name, bool heartbeat, const s_run_t *run)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t pairs = (heartbeat ? 4 : 5) + (run->epoch != 0) + (run->base != 0) + run->unknown;
    msgpack_pack_map(&pk, pairs);
    if (heartbeat) {
        msgpack_pack_str_with_body(&pk, "ts", 2);
        msgpack_pack_int64(&pk, TS0);
    } else {
        gen_t g;
        msgpack_sbuffer ev;
        g_init(&g);
        g_head(&g, "stream-1", "usage");
        g_str(&g, "model", "claude-sonnet-4-5");
        g_int(&g, "in", 1000);
        g_int(&g, "out", 200);
        g_int(&g, "cost", 6000000);
        g_finish(&g, &ev);
        msgpack_pack_str_with_body(&pk, "events", 6);
        msgpack_pack_array(&pk, 1);
        msgpack_sbuffer_write(&sb, ev.data, ev.size);
        msgpack_sbuffer_destroy(&ev);
        msgpack_pack_str_with_body(&pk, "tenant", 6);
        msgpack_pack_str_with_body(&pk, "acme", 4);
    }
    s_pack_run(&pk, run);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint16(&pk, RUN_SEQ);
    msgpack_pack_str_with_body(&pk, "ingest", 6);
    msgpack_pack_str_with_body(&pk, "ingest-a", 8);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_uint8(&pk, 1);

    fc_proto_error_t err = {0};
    fc_code_t rc;
    char json[512];
    int n;
    if (heartbeat) {
        fc_heartbeat_t hb;
        rc = fc_heartbeat_decode((const uint8_t *)sb.data, sb.size, &hb, &err);
        n = snprintf(json, sizeof json, "{\"kind\":\"heartbeat\",\"code\":\"%s\",\"field\":\"%s\"",
                     fc_code_name(rc), rc ? err.field : "");
        if (rc == FC_OK)
            n += snprintf(json + n, sizeof json - (size_t)n,
                          ",\"ingest\":\"%s\",\"seq\":%" PRIu64 ",\"epoch\":%" PRIu64
                          ",\"base\":%" PRIu64,
                          hb.ingest_id, hb.seq, hb.epoch, hb.base);
    } else {
        static fc_stored_event_t events[4];
        fc_stream_header_t h;
        size_t count;
        rc = fc_stream_decode((const uint8_t *)sb.data, sb.size, &h, events, 4, &count, &err);
        n = snprintf(json, sizeof json, "{\"kind\":\"message\",\"code\":\"%s\",\"field\":\"%s\"",
                     fc_code_name(rc), rc ? err.field : "");
        if (rc == FC_OK)
            n += snprintf(json + n, sizeof json - (size_t)n,
                          ",\"ingest\":\"%s\",\"seq\":%" PRIu64 ",\"epoch\":%" PRIu64
                          ",\"base\":%" PRIu64 ",\"count\":%zu",
                          h.ingest_id, h.seq, h.epoch, h.base, count);
    }
    n += snprintf(json + n, sizeof json - (size_t)n, "}\n");
    s_write("stream", name, "msgpack", sb.data, sb.size);
    s_write("stream", name, "json", json, (size_t)n);
    msgpack_sbuffer_destroy(&sb);
}

static void s_streams(void)
{
    s_stream("message_run", false, &(s_run_t){1, 1, false});
    s_stream("message_no_run", false, &(s_run_t){0, 0, false});
    s_stream("message_run_unknown_key", false, &(s_run_t){1, 1, true});
    s_stream("message_epoch_without_base", false, &(s_run_t){1, 0, false});
    s_stream("message_base_without_epoch", false, &(s_run_t){0, 1, false});
    s_stream("message_epoch_zero", false, &(s_run_t){2, 1, false});
    s_stream("message_epoch_negative", false, &(s_run_t){3, 1, false});
    s_stream("message_epoch_string", false, &(s_run_t){4, 1, false});
    s_stream("message_base_equals_seq", false, &(s_run_t){1, 2, false});
    s_stream("heartbeat_run", true, &(s_run_t){1, 1, false});
    s_stream("heartbeat_run_nothing_published", true, &(s_run_t){1, 2, false});
    s_stream("heartbeat_no_run", true, &(s_run_t){0, 0, true});
    s_stream("heartbeat_base_above_seq", true, &(s_run_t){1, 3, false});
    s_stream("heartbeat_epoch_without_base", true, &(s_run_t){1, 0, false});
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fc_gen_vectors <proto/vectors>\n");
        return 2;
    }
    s_dir = argv[1];
    const char *subs[] = {"valid", "invalid", "batch", "stream"};
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", s_dir, subs[i]);
        mkdir(path, 0755);
    }
    s_valid_events();
    s_invalid_events();
    s_batches();
    s_streams();
    if (s_failures)
        fprintf(stderr, "gen_vectors: %d vectors disagree with the decoder\n", s_failures);
    return s_failures ? 1 : 0;
}
