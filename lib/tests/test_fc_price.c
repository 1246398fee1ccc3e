/*  fc_price: normalisation, every pricing rule with hand-computed costs, price
    versions, unknown models, overflow, and loading the real and malformed CSVs. */
#include "fc_price.h"
#include "fc_test.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef FC_PRICING_CSV
#error "FC_PRICING_CSV must name db/pricing/anthropic.csv"
#endif

#define T_2025_01_01 INT64_C(1735689600000000) //  microseconds since epoch
#define T_2025_06_01 INT64_C(1748736000000000)
#define T_2026_07_24 INT64_C(1784851200000000)
#define DAY_US       INT64_C(86400000000)

static fc_tokens_t s_tok(int64_t input, int64_t output, int64_t read, int64_t w5m, int64_t w1h)
{
    return (fc_tokens_t){{input, output, read, w5m, w1h}};
}

//  Cost of tok on model at ts in the catalog, or -1 if pricing failed or was unpriced.
static int64_t s_cost(const fc_catalog_t *cat, const char *model, int64_t ts, fc_tokens_t tok)
{
    int64_t cost;
    int32_t version;
    bool unpriced;
    if (fc_catalog_price(cat, model, ts, &tok, &cost, &version, &unpriced) || unpriced)
        return -1;
    return cost;
}

static void s_test_normalise(void)
{
    const char *cases[][2] = {
        {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
        {"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
        {"anthropic/claude-opus-4-1", "claude-opus-4-1"},
        {"claude-opus-4-6[1m]", "claude-opus-4-6"},
        {"CLAUDE-HAIKU-4-5", "claude-haiku-4-5"},
        {"claude-3-5-haiku-20241022", "claude-3-5-haiku"},
        {"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
        {"anthropic.claude-3-haiku-20240307-v1:0:200k", "claude-3-haiku"},
        {"global.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"},
        {"eu.anthropic.claude-sonnet-4-5-20250929-v2:0[1m]", "claude-sonnet-4-5"},
        {"claude-3-5-haiku-latest", "claude-3-5-haiku"},
        {"claude-opus-4", "claude-opus-4"},
        {"claude-vision-x", "claude-vision-x"}, //  "-v" not followed by a version
        {"gpt-4o", "gpt-4o"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[FC_MODEL_MAX] = "";
        FC_CHECK_INT(fc_model_normalise(cases[i][0], out, sizeof out), 0);
        FC_CHECK_STR(out, cases[i][1]);
    }
    char out[FC_MODEL_MAX];
    FC_CHECK_INT(fc_model_normalise("", out, sizeof out), -1);
    FC_CHECK_INT(fc_model_normalise("anthropic.", out, sizeof out), -1);
    FC_CHECK_INT(fc_model_normalise("[1m]", out, sizeof out), -1);
    //  "claude-opus-4-1" needs 16 bytes with its NUL.
    FC_CHECK_INT(fc_model_normalise("claude-opus-4-1", out, 15), -1);
    FC_CHECK_INT(fc_model_normalise("claude-opus-4-1", out, 16), 0);
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    FC_CHECK_INT(fc_model_normalise(longname, out, sizeof out), -1);
}

//  Anthropic bills 5-minute cache writes at 1.25x input, 1-hour writes at 2x and reads
//  at 0.1x. Checks every row of the shipped CSV, tier rates included.
static void s_check_ratios(const fc_price_t *p, const int64_t *rate)
{
    FC_CHECK_INT(rate[FC_TOK_CACHE_WRITE_1H], 2 * rate[FC_TOK_INPUT]);
    if (strcmp(p->family, "claude-3-haiku") == 0) {
        //  The one exception, as Anthropic publishes it: Claude Haiku 3 input $0.25,
        //  5-minute write $0.30 (not $0.3125), read $0.03 (not $0.025) per MTok.
        FC_CHECK_INT(rate[FC_TOK_CACHE_WRITE_5M], 300);
        FC_CHECK_INT(rate[FC_TOK_CACHE_READ], 30);
        return;
    }
    FC_CHECK_INT(4 * rate[FC_TOK_CACHE_WRITE_5M], 5 * rate[FC_TOK_INPUT]);
    FC_CHECK_INT(10 * rate[FC_TOK_CACHE_READ], rate[FC_TOK_INPUT]);
}

static void s_test_csv(const fc_catalog_t *cat)
{
    FC_CHECK_INT(fc_catalog_count(cat), 14);
    size_t tiered = 0;
    for (size_t i = 0; i < fc_catalog_count(cat); i++) {
        const fc_price_t *p = fc_catalog_at(cat, i);
        FC_CHECK(p != NULL);
        if (!p)
            continue;
        FC_CHECK(p->version >= 100 && p->version < 114);
        FC_CHECK_INT(p->effective_from_us, T_2025_01_01);
        FC_CHECK(p->rate[FC_TOK_INPUT] > 0 && p->rate[FC_TOK_OUTPUT] > p->rate[FC_TOK_INPUT]);
        s_check_ratios(p, p->rate);
        if (p->tier_threshold) {
            tiered++;
            FC_CHECK_INT(p->tier_threshold, 200000);
            s_check_ratios(p, p->tier_rate);
        }
        //  Each family is found under its own name.
        FC_CHECK(fc_catalog_lookup(cat, p->family, T_2025_01_01) == p);
    }
    FC_CHECK(fc_catalog_at(cat, fc_catalog_count(cat)) == NULL);
    FC_CHECK_INT(tiered, 2); //  claude-sonnet-4-5 and claude-sonnet-4

    const fc_price_t *s45 = fc_catalog_lookup(cat, "claude-sonnet-4-5", T_2025_01_01);
    FC_CHECK(s45 != NULL);
    if (s45) {
        FC_CHECK_STR(s45->family, "claude-sonnet-4-5");
        FC_CHECK_INT(s45->rate[FC_TOK_INPUT], 3000);
        FC_CHECK_INT(s45->tier_rate[FC_TOK_OUTPUT], 22500);
    }
}

//  One request of each token kind on its own, 1000 tokens, then all kinds together.
static void s_test_each_kind(const fc_catalog_t *cat)
{
    int64_t t = T_2025_06_01;
    //  claude-sonnet-4-5: $3 in, $15 out, $0.30 read, $3.75 5m write, $6 1h write per MTok.
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(1000, 0, 0, 0, 0)), 3000000);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(0, 1000, 0, 0, 0)), 15000000);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(0, 0, 1000, 0, 0)), 300000);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(0, 0, 0, 1000, 0)), 3750000);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(0, 0, 0, 0, 1000)), 6000000);
    //  1200*3000 + 350*15000 + 50000*300 + 2000*3750 + 1000*6000
    //  = 3600000 + 5250000 + 15000000 + 7500000 + 6000000 = 37350000 ($0.03735)
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", t, s_tok(1200, 350, 50000, 2000, 1000)),
                 37350000);

    //  claude-opus-4-1: $15 in, $75 out, $1.50 read, $18.75 5m write, $30 1h write.
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(1000, 0, 0, 0, 0)), 15000000);
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(0, 1000, 0, 0, 0)), 75000000);
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(0, 0, 1000, 0, 0)), 1500000);
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(0, 0, 0, 1000, 0)), 18750000);
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(0, 0, 0, 0, 1000)), 30000000);
    //  1200*15000 + 350*75000 + 50000*1500 + 2000*18750 + 1000*30000
    //  = 18000000 + 26250000 + 75000000 + 37500000 + 30000000 = 186750000 ($0.18675)
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", t, s_tok(1200, 350, 50000, 2000, 1000)), 186750000);
}

//  The long-context tier on claude-sonnet-4-5 (threshold 200000 prompt tokens).
static void s_test_tier(const fc_catalog_t *cat)
{
    const fc_price_t *p = fc_catalog_lookup(cat, "claude-sonnet-4-5", T_2025_06_01);
    FC_CHECK(p != NULL);
    if (!p)
        return;
    int64_t cost = 0;
    bool tiered = true;

    //  Prompt 100000 + 60000 + 30000 + 10000 = 200000: not above, base rates.
    //  100000*3000 + 5000*15000 + 60000*300 + 30000*3750 + 10000*6000
    //  = 300000000 + 75000000 + 18000000 + 112500000 + 60000000 = 565500000
    fc_tokens_t tok = s_tok(100000, 5000, 60000, 30000, 10000);
    FC_CHECK_INT(fc_price_cost(p, &tok, &cost, &tiered), 0);
    FC_CHECK_INT(cost, 565500000);
    FC_CHECK(!tiered);

    //  Prompt 200001: every token at tier rates, output included.
    //  100001*6000 + 5000*22500 + 60000*600 + 30000*7500 + 10000*12000
    //  = 600006000 + 112500000 + 36000000 + 225000000 + 120000000 = 1093506000
    tok = s_tok(100001, 5000, 60000, 30000, 10000);
    FC_CHECK_INT(fc_price_cost(p, &tok, &cost, &tiered), 0);
    FC_CHECK_INT(cost, 1093506000);
    FC_CHECK(tiered);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5-20250929", T_2025_06_01, tok), 1093506000);

    //  Output does not count towards the prompt: 1000*3000 + 300000*15000 = 4503000000.
    tok = s_tok(1000, 300000, 0, 0, 0);
    FC_CHECK_INT(fc_price_cost(p, &tok, &cost, &tiered), 0);
    FC_CHECK_INT(cost, 4503000000);
    FC_CHECK(!tiered);

    //  A model without a tier stays at base rates: 300000*15000 = 4500000000 on opus-4-1.
    tok = s_tok(300000, 0, 0, 0, 0);
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-1", T_2025_06_01, tok), 4500000000);
}

//  A dated, provider-prefixed Bedrock id prices as its family and reports its version.
static void s_test_provider_id(const fc_catalog_t *cat)
{
    const fc_price_t *family = fc_catalog_lookup(cat, "claude-sonnet-4-5", T_2025_06_01);
    fc_tokens_t tok = s_tok(1000, 500, 0, 0, 0);
    int64_t cost = -1;
    int32_t version = -1;
    bool unpriced = true;
    //  1000*3000 + 500*15000 = 3000000 + 7500000 = 10500000 ($0.0105)
    FC_CHECK_INT(fc_catalog_price(cat, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", T_2025_06_01,
                                  &tok, &cost, &version, &unpriced),
                 0);
    FC_CHECK_INT(cost, 10500000);
    FC_CHECK(family && version == family->version && version > 0);
    FC_CHECK(!unpriced);
    //  Opus 4.6 with the 1M-context suffix, Haiku in capitals, an old dated Haiku.
    FC_CHECK_INT(s_cost(cat, "claude-opus-4-6[1m]", T_2025_06_01, tok), 5000000 + 12500000);
    FC_CHECK_INT(s_cost(cat, "CLAUDE-HAIKU-4-5", T_2025_06_01, tok), 1000000 + 2500000);
    FC_CHECK_INT(s_cost(cat, "claude-3-5-haiku-20241022", T_2025_06_01, tok), 800000 + 2000000);
}

//  Unknown models are stored unpriced, never refused; only bad counts are errors.
static void s_test_unknown_and_overflow(const fc_catalog_t *cat)
{
    fc_tokens_t tok = s_tok(1000, 500, 0, 0, 0);
    int64_t cost = -1;
    int32_t version = -1;
    bool unpriced = false;
    FC_CHECK(fc_catalog_lookup(cat, "gpt-4o", T_2025_06_01) == NULL);
    FC_CHECK_INT(fc_catalog_price(cat, "gpt-4o", T_2025_06_01, &tok, &cost, &version, &unpriced),
                 0);
    FC_CHECK_INT(cost, 0);
    FC_CHECK_INT(version, 0);
    FC_CHECK(unpriced);
    FC_CHECK_INT(fc_catalog_price(cat, "", T_2025_06_01, &tok, &cost, &version, &unpriced), 0);
    FC_CHECK(unpriced);

    //  One term too big: (INT64_MAX / 1000) tokens * 3000.
    tok = s_tok(INT64_MAX / 1000, 0, 0, 0, 0);
    FC_CHECK_INT(
        fc_catalog_price(cat, "claude-sonnet-4-5", T_2025_06_01, &tok, &cost, &version, &unpriced),
        -1);
    FC_CHECK_INT(cost, 0);
    //  Each term fits but the sum does not: 614891469123651*15000 = INT64_MAX - 10807,
    //  plus 10*3000 input.
    tok = s_tok(10, 614891469123651, 0, 0, 0);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", T_2025_06_01, tok), -1);
    tok = s_tok(0, 614891469123651, 0, 0, 0);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", T_2025_06_01, tok), INT64_MAX - 10807);
    //  The prompt sum itself overflows.
    tok = s_tok(INT64_MAX, 0, 1, 0, 0);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", T_2025_06_01, tok), -1);
    //  Negative counts are malformed, for known and unknown models alike.
    tok = s_tok(1000, -1, 0, 0, 0);
    FC_CHECK_INT(s_cost(cat, "claude-sonnet-4-5", T_2025_06_01, tok), -1);
    FC_CHECK_INT(fc_catalog_price(cat, "gpt-4o", T_2025_06_01, &tok, &cost, &version, &unpriced),
                 -1);
}

static fc_price_t s_price(const char *family, int32_t version, int64_t from, int64_t input)
{
    fc_price_t p = {.version = version, .effective_from_us = from};
    snprintf(p.family, sizeof p.family, "%s", family);
    p.rate[FC_TOK_INPUT] = input;
    p.rate[FC_TOK_OUTPUT] = 5 * input;
    p.rate[FC_TOK_CACHE_READ] = input / 10;
    p.rate[FC_TOK_CACHE_WRITE_5M] = input * 5 / 4;
    p.rate[FC_TOK_CACHE_WRITE_1H] = 2 * input;
    return p;
}

//  Two versions: before the first is unpriced, between is old, from the second on is new.
static void s_test_versions(void)
{
    fc_catalog_t *cat = fc_catalog_new();
    FC_CHECK(cat != NULL);
    //  Added newest first: the catalog keeps each family's versions in time order.
    fc_price_t v2 = s_price("claude-opus-4-1", 2, T_2025_06_01, 10000);
    fc_price_t v1 = s_price("claude-opus-4-1", 1, T_2025_01_01, 15000);
    FC_CHECK_INT(fc_catalog_add(cat, &v2), 0);
    FC_CHECK_INT(fc_catalog_add(cat, &v1), 0);
    FC_CHECK_INT(fc_catalog_count(cat), 2);

    fc_tokens_t tok = s_tok(1000, 0, 0, 0, 0);
    int64_t cost = -1;
    int32_t version = -1;
    bool unpriced = false;
    const char *model = "anthropic.claude-opus-4-1-20250805-v1:0";
    //  One microsecond before v1: no price yet.
    FC_CHECK_INT(fc_catalog_price(cat, model, T_2025_01_01 - 1, &tok, &cost, &version, &unpriced),
                 0);
    FC_CHECK(unpriced && cost == 0 && version == 0);
    //  At v1 and a day before v2: 1000*15000 = 15000000.
    FC_CHECK_INT(fc_catalog_price(cat, model, T_2025_01_01, &tok, &cost, &version, &unpriced), 0);
    FC_CHECK(!unpriced && cost == 15000000 && version == 1);
    FC_CHECK_INT(
        fc_catalog_price(cat, model, T_2025_06_01 - DAY_US, &tok, &cost, &version, &unpriced), 0);
    FC_CHECK(!unpriced && cost == 15000000 && version == 1);
    //  At v2 and long after: 1000*10000 = 10000000.
    FC_CHECK_INT(fc_catalog_price(cat, model, T_2025_06_01, &tok, &cost, &version, &unpriced), 0);
    FC_CHECK(!unpriced && cost == 10000000 && version == 2);
    FC_CHECK_INT(fc_catalog_price(cat, model, INT64_MAX, &tok, &cost, &version, &unpriced), 0);
    FC_CHECK(!unpriced && cost == 10000000 && version == 2);

    //  A third version in the middle, many families (forces the hash to grow).
    fc_price_t mid = s_price("claude-opus-4-1", 3, T_2025_01_01 + 30 * DAY_US, 12000);
    FC_CHECK_INT(fc_catalog_add(cat, &mid), 0);
    FC_CHECK_INT(s_cost(cat, model, T_2025_01_01 + 31 * DAY_US, tok), 12000000);
    FC_CHECK_INT(s_cost(cat, model, T_2025_01_01 + 29 * DAY_US, tok), 15000000);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "model-%d", i);
        fc_price_t p = s_price(name, 100 + i, T_2025_01_01, 10 * (i + 1));
        FC_CHECK_INT(fc_catalog_add(cat, &p), 0);
    }
    FC_CHECK_INT(fc_catalog_count(cat), 203);
    for (int i = 0; i < 200; i++) {
        char name[32];
        snprintf(name, sizeof name, "MODEL-%d-20250101", i);
        FC_CHECK_INT(s_cost(cat, name, T_2025_06_01, tok), 1000 * 10 * (i + 1));
    }
    FC_CHECK_INT(s_cost(cat, model, T_2025_06_01, tok), 10000000);

    //  Rejected: same family and effective_from, reused version id, bad rates and names.
    fc_price_t bad = s_price("claude-opus-4-1", 9, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("claude-new", 2, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("claude-new", 0, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("claude-new", 9, T_2025_06_01, -1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("Claude-New", 9, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("claude-new-20250101", 9, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("", 9, T_2025_06_01, 1);
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_price("claude-new", 9, T_2025_06_01, 1);
    bad.tier_threshold = 200000; //  threshold without tier rates
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad.tier_threshold = 0;
    bad.tier_rate[FC_TOK_INPUT] = 2; //  tier rates without a threshold
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad.tier_threshold = -1;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad.tier_threshold = 1000;
    bad.tier_rate[FC_TOK_OUTPUT] = -1;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad.tier_rate[FC_TOK_OUTPUT] = 10;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), 0);
    FC_CHECK_INT(fc_catalog_count(cat), 204);

    fc_catalog_destroy(&cat);
    FC_CHECK(cat == NULL);
    fc_catalog_destroy(&cat);
}

//  Writes text to a fresh temporary file and loads it into a fresh catalog.
static int s_load_text(const char *text, char *err, size_t errsize)
{
    char path[] = "/tmp/test_fc_price_XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(fd >= 0);
    if (fd < 0)
        return -2;
    FC_CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    fc_catalog_t *cat = fc_catalog_new();
    int rc = fc_catalog_load_csv(cat, path, 1, T_2025_01_01, err, errsize);
    fc_catalog_destroy(&cat);
    unlink(path);
    return rc;
}

#define HEADER_NO_NL                                                                               \
    "model,input,output,cache_read,cache_write_5m,cache_write_1h,tier_threshold,tier_input,"       \
    "tier_output,tier_cache_read,tier_cache_write_5m,tier_cache_write_1h"
#define HEADER HEADER_NO_NL "\n"

static void s_test_malformed_csv(void)
{
    char err[256];
    //  Comments, blank lines and CRLF endings are fine.
    FC_CHECK_INT(s_load_text("# prices\n\n" HEADER "claude-x,1,2,3,4,5,0,,,,,\r\n"
                             "claude-y,1,2,3,4,5,10,1,2,3,4,5\n",
                             err, sizeof err),
                 0);
    FC_CHECK_STR(err, "");

    struct {
        const char *text, *where, *what;
    } cases[] = {
        {"# c\n" HEADER "claude-x,1,2,3,4,5,0,,,,,\nclaude-y,1,2x,3,4,5,0,,,,,\n", ":4:", "output"},
        {"# c\n" HEADER "claude-x,1,2,3,4,5,0,,,,\n", ":3:", "found 11"},
        {HEADER "claude-x,1,2,3,4,5,0,,,,,,\n", ":2:", "found 13"},
        {HEADER "claude-x,1,2,3,4,-5,0,,,,,\n", ":2:", "cache_write_1h"},
        {HEADER "claude-x,1,2,3,4,5,99999999999999999999,,,,,\n", ":2:", "tier_threshold"},
        {HEADER "claude-x,1,2,3,4,5,200000,1,2,,4,5\n", ":2:", "tier_cache_read"},
        {HEADER "claude-x,1,2,3,4,5,0,1,,,,\n", ":2:", "tier_input"},
        {HEADER "claude-x,1,2,3,4,5,0,,,,,\nclaude-x,1,2,3,4,5,0,,,,,\n", ":3:", "effective_from"},
        {HEADER "claude-x-20250101,1,2,3,4,5,0,,,,,\n", ":2:", "normal form"},
        {HEADER ",1,2,3,4,5,0,,,,,\n", ":2:", "empty"},
        {"model,input,output\n", ":1:", "found 3"},
        {"# only a comment\n" HEADER, ":2:", "no price rows"},
        {"", ":0:", "no header"},
        //  The optional columns: known names only, once each; their values checked.
        {HEADER_NO_NL ",colour\nclaude-x,1,2,3,4,5,0,,,,,,red\n", ":1:", "colour"},
        {HEADER_NO_NL ",source,source\nclaude-x,1,2,3,4,5,0,,,,,,a,b\n", ":1:", "repeated"},
        {HEADER_NO_NL ",effective_from\nclaude-x,1,2,3,4,5,0,,,,,,2026-02-30\n",
         ":2:", "effective_from"},
        {HEADER_NO_NL ",effective_from\nclaude-x,1,2,3,4,5,0,,,,,,26-1-1\n", ":2:", "date"},
        {HEADER_NO_NL ",fast_permille\nclaude-x,1,2,3,4,5,0,,,,,,0\n", ":2:", "rule value"},
        {HEADER_NO_NL ",fast_permille\nclaude-x,1,2,3,4,5,0,,,,,,6x\n", ":2:", "fast_permille"},
        {HEADER_NO_NL ",provider\nclaude-x,1,2,3,4,5,0,,,,,,Big Co\n", ":2:", "provider"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        FC_CHECK_INT(s_load_text(cases[i].text, err, sizeof err), -1);
        FC_CHECK(strstr(err, cases[i].where) != NULL);
        FC_CHECK(strstr(err, cases[i].what) != NULL);
        if (!strstr(err, cases[i].where) || !strstr(err, cases[i].what))
            fprintf(stderr, "  case %zu: error was '%s'\n", i, err);
    }
    //  A header with the right count but a wrong name.
    FC_CHECK_INT(s_load_text("model,input,output,cache_read,cache_write_5m,cache_write_1h,"
                             "tier_threshold,tier_input,tier_output,tier_cache_read,"
                             "tier_cache_write_5m,tier_cache_write_60m\n",
                             err, sizeof err),
                 -1);
    FC_CHECK(strstr(err, "tier_cache_write_60m") != NULL);

    //  A line longer than the reader's buffer.
    char big[3000];
    snprintf(big, sizeof big, HEADER "claude-%02000d,1,2,3,4,5,0,,,,,\n", 7);
    FC_CHECK_INT(s_load_text(big, err, sizeof err), -1);
    FC_CHECK(strstr(err, ":2:") != NULL);

    fc_catalog_t *cat = fc_catalog_new();
    FC_CHECK_INT(fc_catalog_load_csv(cat, "/nonexistent/prices.csv", 1, 0, err, sizeof err), -1);
    FC_CHECK(strstr(err, "/nonexistent/prices.csv") != NULL);
    FC_CHECK_INT(fc_catalog_load_csv(cat, FC_PRICING_CSV, 0, 0, err, sizeof err), -1);
    FC_CHECK_INT(fc_catalog_load_csv(cat, FC_PRICING_CSV, INT32_MAX - 5, 0, err, sizeof err), -1);
    FC_CHECK(strstr(err, "version id out of range") != NULL);
    fc_catalog_destroy(&cat);
}

//  The one pricing call: family, cost, version, tier and unpriced from one lookup.
static void s_test_price_usage(const fc_catalog_t *cat)
{
    fc_price_result_t r;
    //  Sonnet 4.5, dated Bedrock id, prompt 150000 + 60000 = 210000 > 200000: tier rates.
    //  150000*6000 + 2000*22500 + 60000*600 = 900000000 + 45000000 + 36000000 = 981000000
    fc_usage_t u = {.tok = s_tok(150000, 2000, 60000, 0, 0)};
    FC_CHECK_INT(
        fc_price_usage(cat, "us.anthropic.claude-sonnet-4-5-20250929-v1:0", T_2025_06_01, &u, &r),
        0);
    FC_CHECK_STR(r.family, "claude-sonnet-4-5");
    FC_CHECK_INT(r.cost_nusd, 981000000);
    FC_CHECK(!r.unpriced && r.tiered);
    const fc_price_t *p = fc_catalog_lookup(cat, "claude-sonnet-4-5", T_2025_06_01);
    FC_CHECK(p && r.version == p->version);
    FC_CHECK(fc_catalog_version(cat, r.version) == p);
    FC_CHECK(fc_catalog_version(cat, 99999) == NULL);

    //  What caching did on that request, at the tier rates it was billed at:
    //  saved 60000*(6000-600) = 324000000; no writes, no premium.
    int64_t saved = -1, premium = -1;
    FC_CHECK_INT(fc_price_cache_effect(p, r.tiered, &u.tok, &saved, &premium), 0);
    FC_CHECK_INT(saved, 324000000);
    FC_CHECK_INT(premium, 0);
    //  The same tokens at base rates: 60000*(3000-300) = 162000000.
    FC_CHECK_INT(fc_price_cache_effect(p, false, &u.tok, &saved, &premium), 0);
    FC_CHECK_INT(saved, 162000000);
    //  Writes: 4000 5m tokens at 3750-3000 and 1000 1h at 6000-3000 = 3000000 + 3000000.
    fc_tokens_t w = s_tok(0, 0, 0, 4000, 1000);
    FC_CHECK_INT(fc_price_cache_effect(p, false, &w, &saved, &premium), 0);
    FC_CHECK_INT(saved, 0);
    FC_CHECK_INT(premium, 6000000);
    //  Tier asked on a version without a tier uses base rates (opus-4-1: 1000*(15000-1500)).
    const fc_price_t *o = fc_catalog_lookup(cat, "claude-opus-4-1", T_2025_06_01);
    w = s_tok(0, 0, 1000, 0, 0);
    FC_CHECK(o && fc_price_cache_effect(o, true, &w, &saved, &premium) == 0 && saved == 13500000);
    w = s_tok(0, 0, INT64_MAX / 1000, 0, 0);
    FC_CHECK_INT(fc_price_cache_effect(o, false, &w, &saved, &premium), -1);
    w = s_tok(0, 0, -1, 0, 0);
    FC_CHECK_INT(fc_price_cache_effect(o, false, &w, &saved, &premium), -1);

    //  Below the tier: 1000*3000 + 100*15000 = 4500000, not tiered.
    u.tok = s_tok(1000, 100, 0, 0, 0);
    FC_CHECK_INT(fc_price_usage(cat, "claude-sonnet-4-5", T_2025_06_01, &u, &r), 0);
    FC_CHECK_INT(r.cost_nusd, 4500000);
    FC_CHECK(!r.tiered && !r.unpriced);

    //  Unknown model: family kept in normal form, unpriced, cost 0, no version.
    FC_CHECK_INT(fc_price_usage(cat, "anthropic/Claude-Nova-9-20300101", T_2025_06_01, &u, &r), 0);
    FC_CHECK_STR(r.family, "claude-nova-9");
    FC_CHECK(r.unpriced && r.cost_nusd == 0 && r.version == 0 && !r.tiered);
    //  An id without a family is kept as sent.
    FC_CHECK_INT(fc_price_usage(cat, "[1m]", T_2025_06_01, &u, &r), 0);
    FC_CHECK_STR(r.family, "[1m]");
    FC_CHECK(r.unpriced);
    //  Before any version was in force.
    FC_CHECK_INT(fc_price_usage(cat, "claude-sonnet-4-5", T_2025_01_01 - 1, &u, &r), 0);
    FC_CHECK(r.unpriced && r.version == 0);
    FC_CHECK_STR(r.family, "claude-sonnet-4-5");
    //  Overflow: -1, unpriced, cost 0.
    u.tok = s_tok(0, INT64_MAX / 1000, 0, 0, 0);
    FC_CHECK_INT(fc_price_usage(cat, "claude-sonnet-4-5", T_2025_06_01, &u, &r), -1);
    FC_CHECK(r.unpriced && r.cost_nusd == 0 && r.version == 0);
}

//  An Opus-4.6-like version with every rule: $5/$25 per MTok, fast 6x, US-only 1.1x,
//  batch 0.5x, $10 per 1000 web searches, and a code-execution rate made up for the
//  test ($0.05 per hour; no confirmed rate exists).
static fc_price_t s_ruled(const char *family, int32_t version)
{
    fc_price_t p = {.version = version, .effective_from_us = T_2025_01_01};
    snprintf(p.family, sizeof p.family, "%s", family);
    snprintf(p.provider, sizeof p.provider, "anthropic");
    int64_t rate[FC_TOK_COUNT] = {5000, 25000, 500, 6250, 10000};
    memcpy(p.rate, rate, sizeof rate);
    p.rules =
        FC_RULE_FAST | FC_RULE_GEO_US | FC_RULE_BATCH | FC_RULE_WEB_SEARCH | FC_RULE_CODE_EXEC;
    p.fast_permille = 6000;
    p.geo_us_permille = 1100;
    p.batch_permille = 500;
    p.web_search_nusd = 10000000;
    p.code_exec_hour_nusd = 50000000;
    return p;
}

//  Cost of u on model at T_2025_06_01, or -1 if it failed, or -2 if unpriced.
static int64_t s_usage(const fc_catalog_t *cat, const char *model, fc_usage_t u,
                       fc_price_result_t *r)
{
    if (fc_price_usage(cat, model, T_2025_06_01, &u, r))
        return -1;
    return r->unpriced ? -2 : r->cost_nusd;
}

//  Every billing rule of issue 17 with a figure computed by hand.
static void s_test_rules(void)
{
    fc_catalog_t *cat = fc_catalog_new();
    fc_price_t all = s_ruled("claude-opus-4-6", 1);
    fc_price_t none = s_ruled("claude-haiku-4-5", 2);
    none.rules = 0;
    none.fast_permille = none.geo_us_permille = none.batch_permille = 0;
    none.web_search_nusd = none.code_exec_hour_nusd = 0;
    //  Odd rates for the rounding: 1 token at 5, 15, 3, 7 nano-USD.
    fc_price_t odd = s_ruled("claude-odd", 3);
    for (int k = 0; k < FC_TOK_COUNT; k++)
        odd.rate[k] = 0;
    odd.rate[FC_TOK_INPUT] = 5;
    odd.rate[FC_TOK_OUTPUT] = 15;
    odd.rate[FC_TOK_CACHE_READ] = 3;
    odd.rate[FC_TOK_CACHE_WRITE_5M] = 7;
    //  Sonnet-4.5-like with a tier and a fast rule, to see the tier and fast stack.
    fc_price_t tier = s_ruled("claude-tiered", 4);
    int64_t base[FC_TOK_COUNT] = {3000, 15000, 300, 3750, 6000};
    int64_t high[FC_TOK_COUNT] = {6000, 22500, 600, 7500, 12000};
    memcpy(tier.rate, base, sizeof base);
    memcpy(tier.tier_rate, high, sizeof high);
    tier.tier_threshold = 200000;
    FC_CHECK_INT(fc_catalog_add(cat, &all), 0);
    FC_CHECK_INT(fc_catalog_add(cat, &none), 0);
    FC_CHECK_INT(fc_catalog_add(cat, &odd), 0);
    FC_CHECK_INT(fc_catalog_add(cat, &tier), 0);
    fc_price_result_t r;
    const char *m = "claude-opus-4-6-20260205";

    //  Standard: 1000*5000 + 200*25000 + 10000*500 + 2000*6250
    //  = 5000000 + 5000000 + 5000000 + 12500000 = 27500000.
    fc_usage_t u = {.tok = s_tok(1000, 200, 10000, 2000, 0)};
    FC_CHECK_INT(s_usage(cat, m, u, &r), 27500000);
    FC_CHECK_STR(r.provider, "anthropic");
    u.speed = "standard";
    u.geo = "global";
    FC_CHECK_INT(s_usage(cat, m, u, &r), 27500000);
    //  Fast mode: 6x the whole token cost, cache rates on top of the fast base
    //  (a cache read at 6 x 500 = 3000 is 0.1 x the fast input rate 30000): 165000000.
    u.speed = "fast";
    FC_CHECK_INT(s_usage(cat, m, u, &r), 165000000);
    FC_CHECK_INT(r.token_nusd, 165000000);
    FC_CHECK_INT(r.tool_nusd, 0);
    //  Fast and US-only stack: 27500000 * 6 * 1.1 = 181500000.
    u.geo = "us";
    FC_CHECK_INT(s_usage(cat, m, u, &r), 181500000);
    //  US-only alone: 27500000 * 1.1 = 30250000.
    u.speed = "";
    FC_CHECK_INT(s_usage(cat, m, u, &r), 30250000);
    //  Batch halves input and output: (1000*5000 + 200*25000) / 2 = 5000000 ...
    u = (fc_usage_t){.tok = s_tok(1000, 200, 0, 0, 0), .batch = true};
    FC_CHECK_INT(s_usage(cat, m, u, &r), 5000000);
    //  ... and with US-only: 10000000 * 0.5 * 1.1 = 5500000.
    u.geo = "us";
    FC_CHECK_INT(s_usage(cat, m, u, &r), 5500000);
    //  Whether batch halves cache tokens is not confirmed: unpriced, with the reason.
    u = (fc_usage_t){.tok = s_tok(1000, 200, 10, 0, 0), .batch = true};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -2);
    FC_CHECK(strstr(r.why, "batch") != NULL);
    FC_CHECK(r.cost_nusd == 0 && r.version == 0);
    //  Web search: 3 searches at $0.01 = 30000000 beside the tokens, not multiplied by
    //  fast mode: 1000*5000*6 + 30000000 = 60000000.
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .speed = "fast", .web_search_requests = 3};
    FC_CHECK_INT(s_usage(cat, m, u, &r), 60000000);
    FC_CHECK_INT(r.token_nusd, 30000000);
    FC_CHECK_INT(r.tool_nusd, 30000000);
    //  Code execution: 90 s at $0.05/h = 90000 * 50000000 / 3600000 = 1250000 exactly;
    //  1 ms = 13.89 -> 14 (half even rounds only exact halves).
    u = (fc_usage_t){.tok = s_tok(0, 0, 0, 0, 0), .code_exec_ms = 90000};
    FC_CHECK_INT(s_usage(cat, m, u, &r), 1250000);
    u.code_exec_ms = 1;
    FC_CHECK_INT(s_usage(cat, m, u, &r), 14);
    //  72 ms = 1000 exactly; 36 ms = 500 exactly.
    u.code_exec_ms = 72;
    FC_CHECK_INT(s_usage(cat, m, u, &r), 1000);

    //  Rounding per event, half to even: 1.1 x 5 = 5.5 -> 6; 1.1 x 15 = 16.5 -> 16;
    //  1.1 x 3 = 3.3 -> 3; 1.1 x 7 = 7.7 -> 8; 0.5 x 5 = 2.5 -> 2; 0.5 x 15 = 7.5 -> 8.
    u = (fc_usage_t){.tok = s_tok(1, 0, 0, 0, 0), .geo = "us"};
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 6);
    u.tok = s_tok(0, 1, 0, 0, 0);
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 16);
    u.tok = s_tok(0, 0, 1, 0, 0);
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 3);
    u.tok = s_tok(0, 0, 0, 1, 0);
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 8);
    u = (fc_usage_t){.tok = s_tok(1, 0, 0, 0, 0), .batch = true};
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 2);
    u.tok = s_tok(0, 1, 0, 0, 0);
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 8);
    //  One rounding for the stack, not one per multiplier: 5 x 6 x 1.1 = 33 exactly
    //  (rounding 5 x 1.1 first would give 6 x 6 = 36).
    u = (fc_usage_t){.tok = s_tok(1, 0, 0, 0, 0), .geo = "us", .speed = "fast"};
    FC_CHECK_INT(s_usage(cat, "claude-odd", u, &r), 33);

    //  The tier and fast mode stack: prompt 250000 > 200000, every token at tier rates,
    //  then 6x: (250000*6000 + 1000*22500) * 6 = (1500000000 + 22500000) * 6 = 9135000000.
    u = (fc_usage_t){.tok = s_tok(250000, 1000, 0, 0, 0), .speed = "fast"};
    FC_CHECK_INT(s_usage(cat, "claude-tiered", u, &r), 9135000000);
    FC_CHECK(r.tiered);

    //  A rule the version has no price for leaves the request unpriced, with its reason.
    const char *needs[][2] = {{"fast", ""}, {"", "us"}};
    for (int i = 0; i < 2; i++) {
        u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .speed = needs[i][0], .geo = needs[i][1]};
        FC_CHECK_INT(s_usage(cat, "claude-haiku-4-5", u, &r), -2);
        FC_CHECK(r.why && *r.why);
    }
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .batch = true};
    FC_CHECK_INT(s_usage(cat, "claude-haiku-4-5", u, &r), -2);
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .web_search_requests = 1};
    FC_CHECK_INT(s_usage(cat, "claude-haiku-4-5", u, &r), -2);
    FC_CHECK(strstr(r.why, "web-search") != NULL);
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .code_exec_ms = 1};
    FC_CHECK_INT(s_usage(cat, "claude-haiku-4-5", u, &r), -2);
    //  ...but the same request without the rule is priced: 1000*5000.
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0)};
    FC_CHECK_INT(s_usage(cat, "claude-haiku-4-5", u, &r), 5000000);
    //  Unknown speed or geo values: unpriced, not guessed.
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .speed = "turbo"};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -2);
    u = (fc_usage_t){.tok = s_tok(1000, 0, 0, 0, 0), .geo = "eu"};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -2);
    //  Overflow after a multiplier, and negative server-tool counts.
    u = (fc_usage_t){.tok = s_tok(INT64_MAX / 5000 / 2, 0, 0, 0, 0), .speed = "fast"};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -1);
    FC_CHECK(r.unpriced && r.cost_nusd == 0);
    u = (fc_usage_t){.tok = s_tok(0, 0, 0, 0, 0), .web_search_requests = INT64_MAX / 1000};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -1);
    u = (fc_usage_t){.tok = s_tok(0, 0, 0, 0, 0), .web_search_requests = -1};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -1);
    u = (fc_usage_t){.tok = s_tok(0, 0, 0, 0, 0), .code_exec_ms = -1};
    FC_CHECK_INT(s_usage(cat, m, u, &r), -1);

    //  Invalid rules are refused: a zero multiplier, a value without its rule, a rule
    //  bit that does not exist, a multiplier over 100x.
    fc_price_t bad = s_ruled("claude-bad", 10);
    bad.batch_permille = 0;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_ruled("claude-bad", 10);
    bad.rules &= ~(uint32_t)FC_RULE_FAST;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_ruled("claude-bad", 10);
    bad.rules |= 64;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_ruled("claude-bad", 10);
    bad.fast_permille = 100001;
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_ruled("claude-bad", 10);
    snprintf(bad.provider, sizeof bad.provider, "Anthropic Inc");
    FC_CHECK_INT(fc_catalog_add(cat, &bad), -1);
    bad = s_ruled("claude-bad", 10);
    bad.web_search_nusd = 0; //  a free tool is a price
    FC_CHECK_INT(fc_catalog_add(cat, &bad), 0);
    fc_catalog_destroy(&cat);
}

//  db/pricing/anthropic-2026.csv: the optional rule columns, current models with their
//  own cache-read multipliers, fast mode of Opus 5 at $10/$50 per MTok.
static void s_test_rules_csv(void)
{
    fc_catalog_t *cat = fc_catalog_new();
    char err[256] = "";
    int rc = fc_catalog_load_csv(cat, FC_PRICING_DIR "/anthropic-2026.csv", 500, T_2025_01_01, err,
                                 sizeof err);
    FC_CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s\n", err);
    FC_CHECK_INT(fc_catalog_count(cat), 6);
    fc_price_result_t r;
    //  Opus 5 fast: 1000000 * 5000 * 2 = $10; 1000000 * 25000 * 2 = $50.
    //  Its row names its own effective date (release, 2026-07-24): unpriced the day before.
    fc_usage_t u = {.tok = s_tok(1000000, 1000000, 0, 0, 0), .speed = "fast"};
    FC_CHECK_INT(fc_price_usage(cat, "claude-opus-5", T_2026_07_24, &u, &r), 0);
    FC_CHECK_INT(r.cost_nusd, 60000000000);
    FC_CHECK(!r.unpriced);
    const fc_price_t *p = fc_catalog_version(cat, r.version);
    FC_CHECK(p && strstr(p->source, "whats-new-opus-5") && strcmp(p->provider, "anthropic") == 0);
    FC_CHECK(p && p->effective_from_us == T_2026_07_24);
    FC_CHECK_INT(fc_price_usage(cat, "claude-opus-5", T_2026_07_24 - 1, &u, &r), 0);
    FC_CHECK(r.unpriced);
    //  Opus 5.5: cache reads at 0.05x input, 1000000 * 200 = $0.20; no fast price yet.
    u = (fc_usage_t){.tok = s_tok(0, 0, 1000000, 0, 0)};
    FC_CHECK_INT(s_usage(cat, "claude-opus-5-5", u, &r), 200000000);
    u.speed = "fast";
    FC_CHECK_INT(s_usage(cat, "claude-opus-5-5", u, &r), -2);
    //  Fable 5.1: cache read $0.25 on $10 input; web search on the same event:
    //  1000 * 250 + 2 * 10000000 = 20250000.
    u = (fc_usage_t){.tok = s_tok(0, 0, 1000, 0, 0), .web_search_requests = 2};
    FC_CHECK_INT(s_usage(cat, "claude-fable-5-1", u, &r), 20250000);
    //  No code-execution rate anywhere: such a request is unpriced.
    u = (fc_usage_t){.tok = s_tok(10, 0, 0, 0, 0), .code_exec_ms = 1000};
    FC_CHECK_INT(s_usage(cat, "claude-fable-5-1", u, &r), -2);
    fc_catalog_destroy(&cat);
}

static void s_test_usage_mode(void)
{
    char out[32];
    const char *cases[][2] = {
        {"fast", "fast"},         {"FAST", "fast"},  {"normal", "standard"},
        {"standard", "standard"}, {"US", "us"},      {"", ""},
        {"us west", "unknown"},   {"-x", "unknown"}, {"priority_on_demand", "priority_on_demand"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_usage_mode(cases[i][0], out, sizeof out);
        FC_CHECK_STR(out, cases[i][1]);
    }
    fc_usage_mode(NULL, out, sizeof out);
    FC_CHECK_STR(out, "");
    //  Longer than the room: not a name that fits, so "unknown".
    fc_usage_mode("abcdefghijklmnopqrstuvwxyz0123456789", out, sizeof out);
    FC_CHECK_STR(out, "unknown");
}

int main(void)
{
    s_test_normalise();

    fc_catalog_t *cat = fc_catalog_new();
    char err[256] = "";
    int rc = fc_catalog_load_csv(cat, FC_PRICING_CSV, 100, T_2025_01_01, err, sizeof err);
    FC_CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  %s\n", err);
    s_test_csv(cat);
    s_test_each_kind(cat);
    s_test_tier(cat);
    s_test_provider_id(cat);
    s_test_unknown_and_overflow(cat);
    s_test_price_usage(cat);
    fc_catalog_destroy(&cat);

    s_test_versions();
    s_test_malformed_csv();
    s_test_rules();
    s_test_rules_csv();
    s_test_usage_mode();
    return fc_test_done("test_fc_price");
}
