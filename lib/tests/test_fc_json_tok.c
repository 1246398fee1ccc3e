/*  Unit tests of fc_json_tok: nested documents, collapsing, limits, hostile input,
    exact decimal scaling. */
#include "fc_json_tok.h"
#include "fc_test.h"

static fc_jtok_t s_toks[256];

static int s_parse(const char *text, int max_tokens, int max_depth, int keep_depth)
{
    fc_jtok_limits_t lim = {max_tokens, max_depth, keep_depth};
    char err[120];
    return fc_jtok_parse(text, strlen(text), &lim, s_toks, err, sizeof err);
}

static void s_test_nested(void)
{
    const char *t = "{\"a\":{\"b\":[1,2,{\"c\":\"x\\u00e9\\ud83d\\ude00\"}],\"n\":null},"
                    "\"k\\\"q\":true, \"big\": 9223372036854775807, \"s\":\"-12\"}";
    int n = s_parse(t, 256, 16, 0);
    FC_CHECK_INT(n, 18);
    int c = fc_jtok_path(t, s_toks, 0, "a.b");
    FC_CHECK_INT(s_toks[c].type, FC_JTOK_ARRAY);
    FC_CHECK_INT(s_toks[c].size, 3);
    char out[32];
    int third = (int)s_toks[(int)s_toks[c + 1].next].next;
    int x = fc_jtok_member(t, s_toks, third, "c");
    FC_CHECK_INT(fc_jtok_string(t, s_toks, x, out, sizeof out), 7);
    FC_CHECK_STR(out, "x\xc3\xa9\xf0\x9f\x98\x80");
    FC_CHECK_INT(fc_jtok_string(t, s_toks, x, out, 5), -1); //  does not fit
    FC_CHECK(fc_jtok_member(t, s_toks, 0, "k\"q") > 0);
    int64_t v = 0;
    FC_CHECK_INT(fc_jtok_int64(t, s_toks, fc_jtok_member(t, s_toks, 0, "big"), false, &v), 0);
    FC_CHECK_INT(v, INT64_MAX);
    FC_CHECK_INT(fc_jtok_int64(t, s_toks, fc_jtok_member(t, s_toks, 0, "s"), false, &v), -1);
    FC_CHECK_INT(fc_jtok_int64(t, s_toks, fc_jtok_member(t, s_toks, 0, "s"), true, &v), 0);
    FC_CHECK_INT(v, -12);
    FC_CHECK_INT(fc_jtok_path(t, s_toks, 0, "a.n.x"), -1);
    FC_CHECK_INT(fc_jtok_path(t, s_toks, 0, "missing"), -1);

    //  Collapsed below depth 2: "a" is one token, its members have none.
    n = s_parse(t, 256, 16, 1);
    FC_CHECK_INT(n, 9);
    int a = fc_jtok_member(t, s_toks, 0, "a");
    FC_CHECK(s_toks[a].collapsed);
    FC_CHECK_INT(fc_jtok_path(t, s_toks, 0, "a.b"), -1);
    FC_CHECK_INT(fc_jtok_int64(t, s_toks, fc_jtok_member(t, s_toks, 0, "big"), false, &v), 0);
}

static void s_test_hostile(void)
{
    const char *bad[] = {"",
                         "{",
                         "{\"a\"}",
                         "{\"a\":1,}",
                         "[1 2]",
                         "01",
                         "1.",
                         "-",
                         "1e",
                         "\"\\x\"",
                         "\"\\ud800\"",
                         "\"\\udc00x\"",
                         "\"a\x01\"",
                         "\"\xc0\xaf\"",
                         "\"\xed\xa0\x80\"",
                         "tru",
                         "{} {}",
                         "{\"a\":1 \"b\":2}",
                         "nul",
                         "[\"\\u12G4\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(s_parse(bad[i], 256, 16, 0), -1);
    //  Depth and token limits.
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = 0;
    FC_CHECK_INT(s_parse(deep, 256, 16, 0), -1);
    FC_CHECK_INT(s_parse("[[[[1]]]]", 256, 3, 0), -1);
    FC_CHECK_INT(s_parse("[[[[1]]]]", 256, 4, 0), 5);
    FC_CHECK_INT(s_parse("[1,2,3,4]", 4, 16, 0), -1);
    FC_CHECK_INT(s_parse("[1,2,3,4]", 5, 16, 0), 5);
    //  Collapsed containers still count depth and are still checked.
    FC_CHECK_INT(s_parse("{\"a\":[[[[1]]]]}", 256, 4, 1), -1);
    FC_CHECK_INT(s_parse("{\"a\":[1,}", 256, 16, 1), -1);
    //  NUL inside a string cannot be unescaped into a C string.
    const char *nul = "\"a\\u0000b\"";
    FC_CHECK_INT(s_parse(nul, 256, 16, 0), 1);
    char out[16];
    FC_CHECK_INT(fc_jtok_string(nul, s_toks, 0, out, sizeof out), -1);
}

static void s_test_decimal(void)
{
    struct {
        const char *text;
        int scale;
        int rc;
        int64_t v;
    } cases[] = {
        {"0.0123456789", 9, 0, 12345679},
        {"0.0123456784", 9, 0, 12345678},
        {"1.5e-3", 9, 0, 1500000},
        {"12", 9, 0, 12000000000},
        {"-0.0000000005", 9, 0, -1},
        {"0.0000000004", 9, 0, 0},
        {"1E+2", 0, 0, 100},
        {"0", 9, 0, 0},
        {"9.223372036854775807", 18, 0, INT64_MAX},
        {"9300000000", 9, -1, 0},
        {"1e400", 9, -1, 0},
        {"1e-400", 9, 0, 0},
        {"0.00000000050", 9, 0, 1},
        {"abc", 9, -1, 0},
        {"1.", 9, -1, 0},
        {"00.1", 9, -1, 0},
        {"123456789012345678901234567890e-25", 9, 0, 12345678901235},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t v = 0;
        int rc = fc_json_decimal_scaled(cases[i].text, strlen(cases[i].text), cases[i].scale, &v);
        FC_CHECK_INT(rc, cases[i].rc);
        if (rc == 0 && v != cases[i].v)
            fprintf(stderr, "case %s\n", cases[i].text);
        if (rc == 0)
            FC_CHECK_INT(v, cases[i].v);
    }
}

int main(void)
{
    s_test_nested();
    s_test_hostile();
    s_test_decimal();
    return fc_test_done("test_fc_json_tok");
}
