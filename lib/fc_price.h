/*  fc_price: the price catalog (DESIGN §3).

    Prices are integer nano-USD per token, per model family, in versions with an
    effective_from time. A cost is computed from the version in force when the usage
    happened, and the caller stores that version id with the cost. A model the catalog
    does not know is not an error: its usage is stored unpriced (cost 0) and repriced
    later.

    Model ids reach us in many spellings; fc_model_normalise maps them to the family
    names the catalog is keyed by:

        claude-sonnet-4-5-20250929                    -> claude-sonnet-4-5
        us.anthropic.claude-sonnet-4-5-20250929-v1:0  -> claude-sonnet-4-5
        anthropic/claude-opus-4-1                     -> claude-opus-4-1
        claude-sonnet-4-5@20250929                    -> claude-sonnet-4-5
        claude-opus-4-6[1m]                           -> claude-opus-4-6
        claude-3-5-haiku-latest                       -> claude-3-5-haiku

    A catalog is built single-threaded (fc_catalog_add, fc_catalog_load_csv); after
    that it may be shared read-only between threads: lookups never write to it. */
#ifndef FC_PRICE_H
#define FC_PRICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  The billed token kinds, in the column order of the pricing CSV.
typedef enum {
    FC_TOK_INPUT,
    FC_TOK_OUTPUT,
    FC_TOK_CACHE_READ,
    FC_TOK_CACHE_WRITE_5M,
    FC_TOK_CACHE_WRITE_1H,
    FC_TOK_COUNT
} fc_tok_t;

//  Longest model family name, plus its NUL.
#define FC_MODEL_MAX 128

//  Longest provider name, plus its NUL.
#define FC_PROVIDER_MAX 32
//  Longest source note, plus its NUL.
#define FC_SOURCE_MAX 256

//  The billing rules a price version has a confirmed price for (fc_price_t.rules). A
//  request that needs a rule its version lacks is unpriced, never priced as if the rule
//  did not exist: an unconfirmed price stays empty (docs/PRICING_RULES.md).
//  The bits are in the order of the catalog columns (FC_RULE_FAST is bit 0, ...).
enum {
    FC_RULE_FAST = 1,       //  speed "fast": fast_permille
    FC_RULE_GEO_US = 2,     //  inference_geo "us": geo_us_permille
    FC_RULE_BATCH = 4,      //  batch requests: batch_permille
    FC_RULE_WEB_SEARCH = 8, //  web_search_nusd per server-tool web search
    FC_RULE_CODE_EXEC = 16, //  code_exec_hour_nusd per hour of code execution
    FC_RULE_ALL_ = 31
};

//  One price version of one model family. Zero-initialised, a version has no rules.
typedef struct {
    char family[FC_MODEL_MAX];       //  normalised name, e.g. "claude-sonnet-4-5"
    int32_t version;                 //  price version id, > 0 (0 means "no version")
    int64_t effective_from_us;       //  in force from this time, microseconds since epoch UTC
    int64_t rate[FC_TOK_COUNT];      //  nano-USD per token, by fc_tok_t
    int64_t tier_threshold;          //  prompt tokens above which tier rates apply; 0 = none
    int64_t tier_rate[FC_TOK_COUNT]; //  nano-USD per token above the threshold
    char provider[FC_PROVIDER_MAX];  //  a name: "anthropic"...; "" not recorded
    uint32_t rules;                  //  FC_RULE_* this version has a price for
    int64_t fast_permille;           //  token-cost multiplier in fast mode, 1/1000 (6000 = 6x)
    int64_t geo_us_permille;         //  token-cost multiplier for US-only inference (1100)
    int64_t batch_permille;          //  token-cost multiplier for batch requests (500)
    int64_t web_search_nusd;         //  per web search request (10000000 = $10 per 1000)
    int64_t code_exec_hour_nusd;     //  per hour of code-execution time
    char source[FC_SOURCE_MAX];      //  where the prices were read; "" not recorded
} fc_price_t;

//  Token counts of one request, by fc_tok_t.
typedef struct {
    int64_t t[FC_TOK_COUNT];
} fc_tokens_t;

typedef struct _fc_catalog_t fc_catalog_t;

//  Writes the family name of a model id into out: lower-cased, provider prefix,
//  "@date", "-vN:M" and "[1m]" suffixes, then a trailing "-YYYYMMDD" or "-latest"
//  removed. Returns 0, or -1 if the result is empty or does not fit in size.
int fc_model_normalise(const char *in, char *out, size_t size);

//  Cost of a request at price p. The long-context rule: when p has a tier threshold and
//  the prompt (input + cache read + both cache writes) is strictly above it, every token
//  of the request, output included, is billed at the tier rates. Sets *tiered (if not
//  NULL) to whether it was. Returns 0, or -1 on negative token counts or overflow.
int fc_price_cost(const fc_price_t *p, const fc_tokens_t *tok, int64_t *cost_nusd, bool *tiered);

//  Create an empty catalog; NULL if out of memory.
fc_catalog_t *fc_catalog_new(void);

//  Destroy and NULL the pointer.
void fc_catalog_destroy(fc_catalog_t **self_p);

//  Add a copy of a price version. Returns -1 (out of memory, or the price is invalid):
//  the family must be non-empty and in normal form, the version id > 0 and not yet
//  used, the family must have no version with the same effective_from, rates must be
//  >= 0; with a threshold > 0 tier rates are >= 0 and not all zero, with threshold 0
//  they are all zero. Invalidates pointers returned by earlier lookups.
int fc_catalog_add(fc_catalog_t *self, const fc_price_t *price);

//  Add every row of a pricing CSV (the format of db/pricing/anthropic.csv) as a version
//  effective from effective_from_us. The header names the 12 required columns in order,
//  then any of provider, fast_permille, geo_us_permille, batch_permille, web_search_nusd,
//  code_exec_hour_nusd, source, effective_from, in any order; an empty rule cell leaves
//  that rule out (no confirmed price); a row's effective_from (YYYY-MM-DD, midnight UTC)
//  replaces effective_from_us for that row. Cells hold no commas; the n-th data row (from 0) gets
//  version version_base + n. Returns 0, or -1 with "path:line: why" in err. After an error the
//  catalog holds the rows before the bad one and should be discarded.
int fc_catalog_load_csv(fc_catalog_t *self, const char *path, int32_t version_base,
                        int64_t effective_from_us, char *err, size_t errsize);

//  Number of price versions in the catalog.
size_t fc_catalog_count(const fc_catalog_t *self);

//  The index-th price version (0 <= index < count), families in the order they were
//  first added and each family's versions by effective_from; NULL past the end. For
//  listing the catalog; the pointer lives as long as a lookup result.
const fc_price_t *fc_catalog_at(const fc_catalog_t *self, size_t index);

//  The version of the model's family in force at ts_us (latest effective_from <= ts_us),
//  or NULL if the model is unknown or no version was in force yet. The catalog owns the
//  result; it stays valid until the next fc_catalog_add or fc_catalog_destroy.
const fc_price_t *fc_catalog_lookup(const fc_catalog_t *self, const char *model, int64_t ts_us);

//  What one request used, as an event reports it (proto/PROTOCOL.md §4.1). Strings are
//  "" when the event did not say.
typedef struct {
    fc_tokens_t tok;
    const char *speed;           //  "" or "standard"; "fast"; anything else is unpriced
    const char *geo;             //  inference_geo: "" or "global"; "us"; else unpriced
    bool batch;                  //  sent through a batch API
    int64_t web_search_requests; //  server-tool web searches, >= 0
    int64_t code_exec_ms;        //  server-tool code-execution time, >= 0
} fc_usage_t;

//  What pricing one request gives.
typedef struct {
    char family[FC_MODEL_MAX];      //  the normalised family; the raw id, cut to fit, if none
    char provider[FC_PROVIDER_MAX]; //  of the version used; "" when unpriced
    int64_t cost_nusd;              //  token_nusd + tool_nusd; 0 when unpriced
    int64_t token_nusd;             //  tokens, after the speed, geo and batch multipliers
    int64_t tool_nusd;              //  server tools (web search, code execution)
    int32_t version;                //  the price version used; 0 when unpriced
    bool unpriced;                  //  no price in force for this model, time and rules
    bool tiered;                    //  the long-context tier rates applied
    const char *why;                //  when unpriced, a static reason ("" otherwise)
} fc_price_result_t;

//  THE pricing call: every path that turns usage into money (ingest, reprice, reports)
//  goes through it. Normalises the model id once, looks its family up at ts_us and
//  prices the usage with the version in force then:
//
//    tokens = sum of count x rate (tier rates for the whole request when its prompt is
//             above the threshold), exact;
//    tokens x fast x geo x batch, the multipliers that apply, in 1/1000 (fast_permille
//             etc.): ONE division by 1000^k at the end, rounded half to even;
//    + web_search_requests x web_search_nusd, exact;
//    + code_exec_ms x code_exec_hour_nusd / 3600000, rounded half to even.
//
//  Batch halves input and output; whether it halves cache reads and writes is not
//  confirmed, so a batch request with cache tokens is unpriced. An unknown model, one
//  without a version in force yet, or a request needing a rule its version lacks (a
//  fast request on a model without a fast-mode price, a web search without a search
//  price...) is not an error: it returns 0 with cost 0, unpriced true and why set.
//  Returns -1 (cost 0, unpriced true) only on negative counts or int64 overflow.
int fc_price_usage(const fc_catalog_t *self, const char *model, int64_t ts_us,
                   const fc_usage_t *usage, fc_price_result_t *out);

//  Writes a billing mode (speed, inference geo) as a source reported it into out, in
//  the form events carry (proto/PROTOCOL.md §4.2): lower case; "normal" (how some
//  exporters name standard speed) becomes "standard"; a value that is not a name
//  [a-z0-9][a-z0-9_-]* shorter than size becomes "unknown", which prices the request as
//  unpriced rather than dropping it; NULL or "" stays "". size >= 8.
void fc_usage_mode(const char *in, char *out, size_t size);

//  fc_price_usage for callers that need only cost, version and unpriced.
int fc_catalog_price(const fc_catalog_t *self, const char *model, int64_t ts_us,
                     const fc_tokens_t *tok, int64_t *cost, int32_t *version, bool *unpriced);

//  The price version with this id, or NULL. Linear in the catalog size (a few hundred
//  versions at most); for readers that stored the version a cost was computed with.
const fc_price_t *fc_catalog_version(const fc_catalog_t *self, int32_t version);

//  What caching did to the cost of tokens priced at p (tier rates when tiered, as
//  fc_price_result_t.tiered said): *saved is what the cache reads would have cost
//  more at the input rate, cache_read x (input - cache_read rate); *premium is what
//  the cache writes cost above the input rate, w5m x (w5m - input) + w1h x (w1h -
//  input). Both exact nano-USD. Returns 0, or -1 on negative counts or overflow.
int fc_price_cache_effect(const fc_price_t *p, bool tiered, const fc_tokens_t *tok, int64_t *saved,
                          int64_t *premium);

#endif
