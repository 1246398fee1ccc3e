/*  Unit tests of fc_jflat_parse (lib/fc_json_tok), the flat-object reader of NDJSON
    input: the shapes it accepts, and hostile input it must refuse. These were the tests
    of client/fc_json.c, the second JSON parser, which it replaces (issue 16); every
    assertion is kept. */
#include <stdlib.h>
#include <string.h>

#include "fc_json_tok.h"
#include "fc_test.h"

//  Collects every value as "key[.subkey|#index]=kind:text;" for comparison.
typedef struct {
    char out[4096];
    int stop_at; //  fail on this value (1-based), 0 never
    int seen;
} s_collect_t;

static int s_collect(void *arg, const fc_jflat_value_t *v, char *err, size_t errsize)
{
    s_collect_t *c = arg;
    if (++c->seen == c->stop_at) {
        snprintf(err, errsize, "stopped at %s", v->key);
        return -1;
    }
    size_t n = strlen(c->out);
    static const char kinds[] = "snbz";
    if (v->subkey)
        snprintf(c->out + n, sizeof c->out - n, "%s.%s=%c:%s;", v->key, v->subkey, kinds[v->kind],
                 v->text);
    else if (v->index >= 0)
        snprintf(c->out + n, sizeof c->out - n, "%s#%d=%c:%s;", v->key, v->index, kinds[v->kind],
                 v->text);
    else
        snprintf(c->out + n, sizeof c->out - n, "%s=%c:%s;", v->key, kinds[v->kind], v->text);
    return 0;
}

static const char *s_parse(const char *text, char *err, size_t errsize)
{
    static s_collect_t c;
    memset(&c, 0, sizeof c);
    if (fc_jflat_parse(text, strlen(text), s_collect, &c, err, errsize) != 0)
        return NULL;
    return c.out;
}

static void s_ok(const char *text, const char *expected)
{
    char err[200];
    const char *got = s_parse(text, err, sizeof err);
    if (!got)
        fprintf(stderr, "unexpected error for %s: %s\n", text, err);
    FC_CHECK_STR(got, expected);
}

//  Must be refused with an error mentioning `why`.
static void s_bad(const char *text, size_t len, const char *why)
{
    char err[200] = "";
    s_collect_t c = {0};
    int rc = fc_jflat_parse(text, len, s_collect, &c, err, sizeof err);
    FC_CHECK_INT(rc, -1);
    if (!strstr(err, why))
        fprintf(stderr, "error for '%.60s' is '%s', expected it to mention '%s'\n", text, err, why);
    FC_CHECK(strstr(err, why) != NULL);
}

static void s_bad_str(const char *text, const char *why)
{
    s_bad(text, strlen(text), why);
}

static void test_accepts(void)
{
    s_ok("{}", "");
    s_ok(" \t{ }\r\n", "");
    s_ok(
        "{\"type\":\"usage\",\"input_tokens\":10,\"cpu\":-1.5e3,\"x\":true,\"y\":false,\"z\":null}",
        "type=s:usage;input_tokens=n:10;cpu=n:-1.5e3;x=b:true;y=b:false;z=z:null;");
    s_ok("{\"label\":[\"a\",\"b\"],\"attr\":{\"team\":\"x\",\"env\":\"prod\"},\"e\":[],\"o\":{}}",
         "label#0=s:a;label#1=s:b;attr.team=s:x;attr.env=s:prod;");
    //  escapes, including a surrogate pair (U+1F600) and a 3-byte character
    s_ok("{\"s\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u20ac\\ud83d\\ude00\"}",
         "s=s:a\"b\\c/d\n\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80;");
    //  raw valid UTF-8 passes through
    s_ok("{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", "s=s:caf\xc3\xa9 \xf0\x9f\x98\x80;");
    s_ok("{\"n\":0,\"m\":-0.25,\"k\":1E+2}", "n=n:0;m=n:-0.25;k=n:1E+2;");
}

static void test_refuses(void)
{
    s_bad_str("", "expected '{'");
    s_bad_str("[1]", "expected '{'");
    s_bad_str("{\"a\":1", "unexpected end");
    s_bad_str("{\"a\":1,}", "expected '\"'");
    s_bad_str("{\"a\" 1}", "expected ':'");
    s_bad_str("{\"a\":1} x", "text after the object");
    s_bad_str("{\"a\":\"abc", "unterminated string");
    s_bad_str("{\"a\":\"abc\\", "unterminated string");
    s_bad_str("{\"a\":tru}", "unexpected character");
    s_bad_str("{a:1}", "expected '\"'");
    //  nesting: arrays in arrays, objects in objects, deep nesting
    s_bad_str("{\"a\":[[1]]}", "nested deeper");
    s_bad_str("{\"a\":{\"b\":{}}}", "nested deeper");
    char deep[20001];
    strcpy(deep, "{\"a\":");
    memset(deep + 5, '[', sizeof deep - 6);
    deep[sizeof deep - 1] = 0;
    s_bad_str(deep, "nested deeper");
    //  numbers: grammar and size
    s_bad_str("{\"a\":01}", "expected");
    s_bad_str("{\"a\":1.}", "bad number");
    s_bad_str("{\"a\":-}", "bad number");
    s_bad_str("{\"a\":1e}", "bad number");
    s_bad_str("{\"a\":+1}", "unexpected character");
    s_bad_str("{\"a\":123456789012345678901234567890123}", "longer than 32");
    s_bad_str("{\"a\":1e999999999999999999999999999999999999}", "longer than 32");
    s_ok("{\"a\":99999999999999999999999}", "a=n:99999999999999999999999;"); //  caller bounds it
    //  escapes
    s_bad_str("{\"a\":\"\\x\"}", "bad escape");
    s_bad_str("{\"a\":\"\\u12\"}", "bad \\u escape");
    s_bad_str("{\"a\":\"\\u12\"", "truncated \\u escape");
    s_bad_str("{\"a\":\"\\u00\"", "truncated \\u escape");
    s_bad_str("{\"a\":\"\\u0000\"}", "\\u0000");
    s_bad_str("{\"a\":\"\\udc00\"}", "lone low surrogate");
    s_bad_str("{\"a\":\"\\ud83d\"}", "without its low half");
    s_bad_str("{\"a\":\"\\ud83d\\u0041\"}", "without its low half");
    //  raw bytes: control characters and invalid UTF-8
    s_bad_str("{\"a\":\"x\ty\"}", "control character");
    s_bad_str("{\"a\":\"\xff\"}", "invalid UTF-8");
    s_bad_str("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");         //  overlong '/'
    s_bad_str("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8");     //  encoded surrogate
    s_bad_str("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"); //  above U+10FFFF
    s_bad_str("{\"a\":\"\xe2\x82\"}", "invalid UTF-8");         //  truncated sequence
    s_bad_str("{\"\xff\":1}", "invalid UTF-8");
    //  an embedded NUL byte is a control character
    s_bad("{\"a\":\"x\0y\"}", 11, "control character");
    //  size and count bounds
    size_t big = FC_JFLAT_MAX_INPUT + 1;
    char *huge = malloc(big + 1);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    huge[big] = 0;
    s_bad(huge, big, "longer than");
    free(huge);
    char many[8192] = "{\"a\":[";
    for (int i = 0; i < FC_JFLAT_MAX_VALUES + 1; i++)
        strcat(many, i ? ",1" : "1");
    strcat(many, "]}");
    s_bad_str(many, "more than 256 values");
}

static void test_callback_stops(void)
{
    s_collect_t c = {.stop_at = 2};
    char err[100];
    const char *text = "{\"a\":1,\"b\":2,\"c\":3}";
    FC_CHECK_INT(fc_jflat_parse(text, strlen(text), s_collect, &c, err, sizeof err), -1);
    FC_CHECK_STR(err, "stopped at b");
    FC_CHECK_INT(c.seen, 2);
}

int main(void)
{
    test_accepts();
    test_refuses();
    test_callback_stops();
    return fc_test_done("test_fc_jflat");
}
