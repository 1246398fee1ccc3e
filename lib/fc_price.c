/*  fc_price: model-name normalisation, the price catalog and request costs.

    The catalog is an array of families, each with its versions sorted by
    effective_from, and an open-addressing hash (linear probing, power-of-two size, at
    most half full) from family name to family. A lookup is: normalise the model id
    into a stack buffer, one hash probe sequence, then a binary search over that
    family's versions. Nothing is written during a lookup, so a built catalog can be
    shared by threads without locks. */
#include "fc_price.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fc_hash.h"
#include "fc_money.h"
#include "fc_time.h"

typedef struct {
    fc_price_t *versions; //  sorted by effective_from_us, ascending, no duplicates
    size_t count;
    size_t cap;
} s_family_t;

struct _fc_catalog_t {
    s_family_t *families;
    size_t nfamilies;
    size_t cap_families;
    uint32_t *slots; //  family index + 1; 0 is an empty slot
    size_t nslots;   //  a power of two, or 0 before the first family
    size_t nversions;
};

//  ---------------------------------------------------------------------------------
//  Model-name normalisation

//  Longest first where one is a suffix of another ("us.anthropic." before "anthropic.").
static const char *s_prefixes[] = {"us.anthropic.",
                                   "eu.anthropic.",
                                   "apac.anthropic.",
                                   "global.anthropic.",
                                   "anthropic.",
                                   "anthropic/",
                                   NULL};

static bool s_ends_with(const char *start, const char *end, const char *suffix)
{
    size_t n = strlen(suffix);
    return (size_t)(end - start) >= n && strncasecmp(end - n, suffix, n) == 0;
}

static const char *s_digits(const char *p, const char *end)
{
    while (p < end && isdigit((unsigned char)*p))
        p++;
    return p;
}

//  True if [p, end) is a Bedrock version suffix after its "-v": "1", "1:0", "1:0:200k".
static bool s_is_version(const char *p, const char *end)
{
    const char *q = s_digits(p, end);
    if (q == p)
        return false;
    while (q < end) {
        if (*q != ':')
            return false;
        p = q + 1;
        q = s_digits(p, end);
        if (q == p)
            return false;
        if (q < end && (*q == 'k' || *q == 'K'))
            q++;
    }
    return true;
}

//  Removes one decoration from the end of [start, *end): "[1m]", a Vertex "@date", or
//  a Bedrock "-vN:M". Returns true if it removed one.
static bool s_strip_decoration(const char *start, const char **end)
{
    if (s_ends_with(start, *end, "[1m]")) {
        *end -= 4;
        return true;
    }
    const char *at = memchr(start, '@', (size_t)(*end - start));
    if (at) {
        *end = at;
        return true;
    }
    if (*end - start < 3)
        return false;
    for (const char *p = *end - 2; p > start; p--)
        if (p[0] == '-' && (p[1] == 'v' || p[1] == 'V')) {
            if (!s_is_version(p + 2, *end))
                return false;
            *end = p;
            return true;
        }
    return false;
}

int fc_model_normalise(const char *in, char *out, size_t size)
{
    const char *start = in;
    const char *end = in + strlen(in);
    for (int i = 0; s_prefixes[i]; i++) {
        size_t n = strlen(s_prefixes[i]);
        if (strncasecmp(start, s_prefixes[i], n) == 0) {
            start += n;
            break;
        }
    }
    while (s_strip_decoration(start, &end))
        ;
    //  A dated id falls back to its family; "-latest" is an alias of the family.
    if (end - start > 9 && end[-9] == '-' && s_digits(end - 8, end) == end)
        end -= 9;
    else if (s_ends_with(start, end, "-latest"))
        end -= 7;
    size_t len = (size_t)(end - start);
    if (len == 0 || len >= size)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)tolower((unsigned char)start[i]);
    out[len] = 0;
    return 0;
}

//  ---------------------------------------------------------------------------------
//  Costs

static bool s_tokens_valid(const fc_tokens_t *tok)
{
    for (int k = 0; k < FC_TOK_COUNT; k++)
        if (tok->t[k] < 0)
            return false;
    return true;
}

int fc_price_cost(const fc_price_t *p, const fc_tokens_t *tok, int64_t *cost_nusd, bool *tiered)
{
    if (!s_tokens_valid(tok))
        return -1;
    int64_t prompt;
    if (__builtin_add_overflow(tok->t[FC_TOK_INPUT], tok->t[FC_TOK_CACHE_READ], &prompt) ||
        __builtin_add_overflow(prompt, tok->t[FC_TOK_CACHE_WRITE_5M], &prompt) ||
        __builtin_add_overflow(prompt, tok->t[FC_TOK_CACHE_WRITE_1H], &prompt))
        return -1;
    bool tier = p->tier_threshold > 0 && prompt > p->tier_threshold;
    const int64_t *rate = tier ? p->tier_rate : p->rate;
    int64_t sum = 0;
    for (int k = 0; k < FC_TOK_COUNT; k++) {
        int64_t term;
        if (fc_money_mul(tok->t[k], rate[k], &term) || fc_money_add(sum, term, &sum))
            return -1;
    }
    *cost_nusd = sum;
    if (tiered)
        *tiered = tier;
    return 0;
}

//  ---------------------------------------------------------------------------------
//  Catalog

fc_catalog_t *fc_catalog_new(void)
{
    return calloc(1, sizeof(fc_catalog_t));
}

void fc_catalog_destroy(fc_catalog_t **self_p)
{
    assert(self_p);
    fc_catalog_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->nfamilies; i++)
        free(self->families[i].versions);
    free(self->families);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

size_t fc_catalog_count(const fc_catalog_t *self)
{
    return self->nversions;
}

const fc_price_t *fc_catalog_at(const fc_catalog_t *self, size_t index)
{
    for (size_t f = 0; f < self->nfamilies; f++) {
        if (index < self->families[f].count)
            return &self->families[f].versions[index];
        index -= self->families[f].count;
    }
    return NULL;
}

//  The slot holding family name, or the empty slot where it would go.
static size_t s_slot(const fc_catalog_t *self, const char *name)
{
    size_t mask = self->nslots - 1;
    //  FNV-1a: short keys, no adversary (the names come from our own price table).
    size_t i = (size_t)fc_fnv1a64_str(name) & mask;
    while (self->slots[i] &&
           strcmp(self->families[self->slots[i] - 1].versions[0].family, name) != 0)
        i = (i + 1) & mask;
    return i;
}

static s_family_t *s_find_family(const fc_catalog_t *self, const char *name)
{
    if (self->nslots == 0)
        return NULL;
    uint32_t idx = self->slots[s_slot(self, name)];
    return idx ? &self->families[idx - 1] : NULL;
}

//  Rebuilds the hash with room for one more family while staying at most half full.
static int s_grow_slots(fc_catalog_t *self)
{
    if ((self->nfamilies + 1) * 2 <= self->nslots)
        return 0;
    size_t nslots = self->nslots ? self->nslots * 2 : 64;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    free(self->slots);
    self->slots = slots;
    self->nslots = nslots;
    for (size_t f = 0; f < self->nfamilies; f++)
        self->slots[s_slot(self, self->families[f].versions[0].family)] = (uint32_t)(f + 1);
    return 0;
}

//  Why a price cannot join any catalog, or NULL if it can (duplicates are checked in
//  s_add, which knows the catalog).
static const char *s_check_price(const fc_price_t *p)
{
    char norm[FC_MODEL_MAX];
    if (memchr(p->family, 0, sizeof p->family) == NULL || p->family[0] == 0)
        return "model family is empty or too long";
    if (fc_model_normalise(p->family, norm, sizeof norm) || strcmp(norm, p->family) != 0)
        return "model family is not in normal form (lower case, no prefix, date or suffix)";
    if (p->version <= 0)
        return "version id must be > 0";
    if (p->tier_threshold < 0)
        return "tier threshold is negative";
    bool any_tier = false;
    for (int k = 0; k < FC_TOK_COUNT; k++) {
        if (p->rate[k] < 0 || p->tier_rate[k] < 0)
            return "negative rate";
        any_tier |= p->tier_rate[k] > 0;
    }
    if (p->tier_threshold > 0 && !any_tier)
        return "tier threshold without tier rates";
    if (p->tier_threshold == 0 && any_tier)
        return "tier rates without a tier threshold";
    if (memchr(p->provider, 0, sizeof p->provider) == NULL)
        return "provider name too long";
    //  The provider is a key of rollups, summaries and Redis fields: a plain name.
    for (const char *c = p->provider; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) ||
              (c > p->provider && (*c == '_' || *c == '-'))))
            return "provider is not a name [a-z0-9][a-z0-9_-]*";
    if (memchr(p->source, 0, sizeof p->source) == NULL)
        return "source too long";
    if (p->rules & ~(uint32_t)FC_RULE_ALL_)
        return "unknown rule";
    //  A multiplier is in (0, 100x]: 0 would make a request free, which no provider does
    //  and a missing price must not become. Unit prices are >= 0 (a free tool is a price).
    const struct {
        uint32_t rule;
        int64_t v, max;
    } m[] = {{FC_RULE_FAST, p->fast_permille, 100000},
             {FC_RULE_GEO_US, p->geo_us_permille, 100000},
             {FC_RULE_BATCH, p->batch_permille, 100000},
             {FC_RULE_WEB_SEARCH, p->web_search_nusd, INT64_MAX},
             {FC_RULE_CODE_EXEC, p->code_exec_hour_nusd, INT64_MAX}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        bool has = p->rules & m[i].rule;
        int64_t min = i < 3 ? 1 : 0;
        if (has && (m[i].v < min || m[i].v > m[i].max))
            return "rule value out of range (multipliers 1..100000 per mille, prices >= 0)";
        if (!has && m[i].v != 0)
            return "a rule value without its rule";
    }
    return NULL;
}

static int s_add(fc_catalog_t *self, const fc_price_t *p, const char **why)
{
    *why = s_check_price(p);
    if (*why)
        return -1;
    for (size_t f = 0; f < self->nfamilies; f++)
        for (size_t v = 0; v < self->families[f].count; v++)
            if (self->families[f].versions[v].version == p->version) {
                *why = "version id already used";
                return -1;
            }
    *why = "out of memory";
    s_family_t *fam = s_find_family(self, p->family);
    if (!fam) {
        if (self->nfamilies == UINT32_MAX - 1 || s_grow_slots(self))
            return -1;
        if (self->nfamilies == self->cap_families) {
            size_t cap = self->cap_families ? self->cap_families * 2 : 16;
            s_family_t *families = realloc(self->families, cap * sizeof *families);
            if (!families)
                return -1;
            self->families = families;
            self->cap_families = cap;
        }
        fam = &self->families[self->nfamilies];
        *fam = (s_family_t){0};
        fam->versions = malloc(sizeof *fam->versions);
        if (!fam->versions)
            return -1;
        fam->cap = 1;
        fam->versions[0] = *p;
        fam->count = 1;
        self->nfamilies++;
        self->slots[s_slot(self, p->family)] = (uint32_t)self->nfamilies;
        self->nversions++;
        *why = NULL;
        return 0;
    }
    size_t pos = 0;
    while (pos < fam->count && fam->versions[pos].effective_from_us < p->effective_from_us)
        pos++;
    if (pos < fam->count && fam->versions[pos].effective_from_us == p->effective_from_us) {
        *why = "model family already has a version with this effective_from";
        return -1;
    }
    if (fam->count == fam->cap) {
        fc_price_t *versions = realloc(fam->versions, fam->cap * 2 * sizeof *versions);
        if (!versions)
            return -1;
        fam->versions = versions;
        fam->cap *= 2;
    }
    memmove(&fam->versions[pos + 1], &fam->versions[pos],
            (fam->count - pos) * sizeof *fam->versions);
    fam->versions[pos] = *p;
    fam->count++;
    self->nversions++;
    *why = NULL;
    return 0;
}

int fc_catalog_add(fc_catalog_t *self, const fc_price_t *price)
{
    const char *why;
    return s_add(self, price, &why);
}

//  The version of family name in force at ts_us, or NULL.
static const fc_price_t *s_lookup_family(const fc_catalog_t *self, const char *name, int64_t ts_us)
{
    const s_family_t *fam = s_find_family(self, name);
    if (!fam)
        return NULL;
    //  The first version that starts after ts_us; the one before it is in force.
    size_t lo = 0, hi = fam->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (fam->versions[mid].effective_from_us <= ts_us)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? &fam->versions[lo - 1] : NULL;
}

const fc_price_t *fc_catalog_lookup(const fc_catalog_t *self, const char *model, int64_t ts_us)
{
    char name[FC_MODEL_MAX];
    if (fc_model_normalise(model, name, sizeof name))
        return NULL;
    return s_lookup_family(self, name, ts_us);
}

const fc_price_t *fc_catalog_version(const fc_catalog_t *self, int32_t version)
{
    for (size_t f = 0; f < self->nfamilies; f++)
        for (size_t v = 0; v < self->families[f].count; v++)
            if (self->families[f].versions[v].version == version)
                return &self->families[f].versions[v];
    return NULL;
}

//  n / d rounded half to even; n >= 0, d > 0.
static __int128 s_div_half_even(__int128 n, __int128 d)
{
    __int128 q = n / d, r = n % d;
    if (r * 2 > d || (r * 2 == d && (q & 1)))
        q++;
    return q;
}

static int s_unpriced(fc_price_result_t *out, const char *why)
{
    out->unpriced = true;
    out->why = why;
    return 0;
}

int fc_price_usage(const fc_catalog_t *self, const char *model, int64_t ts_us,
                   const fc_usage_t *usage, fc_price_result_t *out)
{
    memset(out, 0, sizeof *out);
    out->unpriced = true;
    out->why = "";
    //  Normalised once: the family is both what is stored and what is looked up. An id
    //  without a family (empty, or too long) is kept as it came, cut to fit, and unpriced.
    bool named = fc_model_normalise(model, out->family, sizeof out->family) == 0;
    if (!named)
        snprintf(out->family, sizeof out->family, "%s", model);
    if (!s_tokens_valid(&usage->tok) || usage->web_search_requests < 0 || usage->code_exec_ms < 0)
        return -1;
    const fc_price_t *p = named ? s_lookup_family(self, out->family, ts_us) : NULL;
    if (!p)
        return s_unpriced(out, "no price for this model at this time");
    int64_t tokens;
    bool tiered;
    if (fc_price_cost(p, &usage->tok, &tokens, &tiered))
        return -1;

    //  The multipliers that apply, as one fraction num / den.
    const char *speed = usage->speed ? usage->speed : "";
    const char *geo = usage->geo ? usage->geo : "";
    __int128 num = tokens, den = 1;
    if (strcmp(speed, "fast") == 0) {
        if (!(p->rules & FC_RULE_FAST))
            return s_unpriced(out, "no fast-mode price for this model");
        num *= p->fast_permille;
        den *= 1000;
    } else if (*speed && strcmp(speed, "standard") != 0)
        return s_unpriced(out, "unknown speed");
    if (strcmp(geo, "us") == 0) {
        if (!(p->rules & FC_RULE_GEO_US))
            return s_unpriced(out, "no US-only inference price for this model");
        num *= p->geo_us_permille;
        den *= 1000;
    } else if (*geo && strcmp(geo, "global") != 0)
        return s_unpriced(out, "unknown inference geo");
    if (usage->batch) {
        if (!(p->rules & FC_RULE_BATCH))
            return s_unpriced(out, "no batch price for this model");
        if (usage->tok.t[FC_TOK_CACHE_READ] || usage->tok.t[FC_TOK_CACHE_WRITE_5M] ||
            usage->tok.t[FC_TOK_CACHE_WRITE_1H])
            return s_unpriced(out, "batch price of cache tokens not confirmed");
        num *= p->batch_permille;
        den *= 1000;
    }
    __int128 t = den == 1 ? num : s_div_half_even(num, den);
    if (t > INT64_MAX)
        return -1;

    int64_t tools = 0;
    if (usage->web_search_requests > 0) {
        if (!(p->rules & FC_RULE_WEB_SEARCH))
            return s_unpriced(out, "no web-search price for this model");
        if (fc_money_mul(usage->web_search_requests, p->web_search_nusd, &tools))
            return -1;
    }
    if (usage->code_exec_ms > 0) {
        if (!(p->rules & FC_RULE_CODE_EXEC))
            return s_unpriced(out, "no code-execution price for this model");
        __int128 c =
            s_div_half_even((__int128)usage->code_exec_ms * p->code_exec_hour_nusd, 3600000);
        if (c > INT64_MAX || fc_money_add(tools, (int64_t)c, &tools))
            return -1;
    }
    int64_t cost;
    if (fc_money_add((int64_t)t, tools, &cost))
        return -1;
    out->cost_nusd = cost;
    out->token_nusd = (int64_t)t;
    out->tool_nusd = tools;
    out->version = p->version;
    snprintf(out->provider, sizeof out->provider, "%s", p->provider);
    out->tiered = tiered;
    out->unpriced = false;
    return 0;
}

void fc_usage_mode(const char *in, char *out, size_t size)
{
    assert(size >= 8);
    out[0] = 0;
    if (!in || !*in)
        return;
    size_t n = strlen(in);
    bool name = n < size && isalnum((unsigned char)in[0]);
    for (size_t i = 0; name && i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        name = isalnum(c) || c == '_' || c == '-';
        out[i] = (char)tolower(c);
    }
    if (!name) {
        snprintf(out, size, "unknown");
        return;
    }
    out[n] = 0;
    if (strcmp(out, "normal") == 0)
        snprintf(out, size, "standard");
}

int fc_catalog_price(const fc_catalog_t *self, const char *model, int64_t ts_us,
                     const fc_tokens_t *tok, int64_t *cost, int32_t *version, bool *unpriced)
{
    fc_usage_t usage = {.tok = *tok};
    fc_price_result_t r;
    int rc = fc_price_usage(self, model, ts_us, &usage, &r);
    *cost = r.cost_nusd;
    *version = r.version;
    *unpriced = r.unpriced;
    return rc;
}

int fc_price_cache_effect(const fc_price_t *p, bool tiered, const fc_tokens_t *tok, int64_t *saved,
                          int64_t *premium)
{
    if (!s_tokens_valid(tok))
        return -1;
    const int64_t *rate = tiered && p->tier_threshold > 0 ? p->tier_rate : p->rate;
    int64_t in = rate[FC_TOK_INPUT], a, b, c, w;
    //  Rates are >= 0 and int64, so the differences cannot overflow.
    if (fc_money_mul(tok->t[FC_TOK_CACHE_READ], in - rate[FC_TOK_CACHE_READ], &a) ||
        fc_money_mul(tok->t[FC_TOK_CACHE_WRITE_5M], rate[FC_TOK_CACHE_WRITE_5M] - in, &b) ||
        fc_money_mul(tok->t[FC_TOK_CACHE_WRITE_1H], rate[FC_TOK_CACHE_WRITE_1H] - in, &c) ||
        fc_money_add(b, c, &w))
        return -1;
    *saved = a;
    *premium = w;
    return 0;
}

//  ---------------------------------------------------------------------------------
//  CSV loading

#define S_CSV_COLUMNS 12 //  the required columns, in this order
#define S_CSV_EXTRA   8  //  optional columns after them, in any order
#define S_CSV_MAX     (S_CSV_COLUMNS + S_CSV_EXTRA)
#define S_CSV_LINE    1024

static const char *s_columns[S_CSV_MAX] = {
    "model", "input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "tier_threshold",
    "tier_input", "tier_output", "tier_cache_read", "tier_cache_write_5m", "tier_cache_write_1h",
    //  optional: provider, the rules (an empty cell: no confirmed price), the source and
    //  the row's own effective date
    "provider", "fast_permille", "geo_us_permille", "batch_permille", "web_search_nusd",
    "code_exec_hour_nusd", "source", "effective_from"};

static int s_fail(char *err, size_t errsize, const char *path, int line, const char *fmt, ...)
{
    if (errsize == 0)
        return -1;
    int n = snprintf(err, errsize, "%s:%d: ", path, line);
    if (n >= 0 && (size_t)n < errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

//  Splits line in place at commas into at most max fields; returns how many fields the
//  line has, which may be more than max.
static int s_split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (true) {
        if (n < max)
            fields[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p)
            return n;
        *p++ = 0;
    }
}

//  A non-negative decimal integer: digits only, no sign, no spaces, fits int64.
static int s_parse_count(const char *s, int64_t *out)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    int64_t v = 0;
    for (; isdigit((unsigned char)*s); s++)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *s - '0', &v))
            return -1;
    if (*s)
        return -1;
    *out = v;
    return 0;
}

//  Fills p from the fields of one data row; NULL if fine, else why not, with the
//  offending field index in *column. cols[i] is the s_columns index of field i.
static const char *s_parse_row(char **f, int n, const int *cols, fc_price_t *p, int *column)
{
    *column = 0;
    if (strlen(f[0]) >= sizeof p->family)
        return "model family too long";
    strcpy(p->family, f[0]);
    for (int c = 1; c <= 6; c++) {
        *column = c;
        int64_t *dst = c <= FC_TOK_COUNT ? &p->rate[c - 1] : &p->tier_threshold;
        if (s_parse_count(f[c], dst))
            return "not a non-negative integer";
    }
    for (int c = 7; c < S_CSV_COLUMNS; c++) {
        *column = c;
        if (p->tier_threshold == 0 && *f[c])
            return "tier rate without a tier threshold";
        if (p->tier_threshold > 0 && s_parse_count(f[c], &p->tier_rate[c - 7]))
            return "not a non-negative integer";
    }
    int64_t *rule_value[] = {&p->fast_permille, &p->geo_us_permille, &p->batch_permille,
                             &p->web_search_nusd, &p->code_exec_hour_nusd};
    for (int i = S_CSV_COLUMNS; i < n; i++) {
        *column = i;
        int k = cols[i] - S_CSV_COLUMNS; //  0 provider, 1..5 rules, 6 source, 7 date
        if (k == 7) {
            //  The row's own date, YYYY-MM-DD (midnight UTC); empty keeps the file's.
            const char *d = f[i];
            if (!*d)
                continue;
            char part[11];
            int64_t y, m, dd;
            if (strlen(d) != 10 || d[4] != '-' || d[7] != '-')
                return "not a date YYYY-MM-DD";
            memcpy(part, d, 11);
            part[4] = part[7] = 0;
            if (s_parse_count(part, &y) || s_parse_count(part + 5, &m) ||
                s_parse_count(part + 8, &dd) || y < 2000 || y > 2099 || m < 1 || m > 12 || dd < 1 ||
                dd > 31)
                return "not a date YYYY-MM-DD";
            int64_t days = fc_days_from_civil(y, (int)m, (int)dd), cy;
            int cm, cd;
            fc_civil_from_days(days, &cy, &cm, &cd);
            if (cy != y || cm != m || cd != dd) //  2026-02-30
                return "not a date YYYY-MM-DD";
            p->effective_from_us = days * INT64_C(86400000000);
        } else if (k == 0) {
            if (strlen(f[i]) >= sizeof p->provider)
                return "provider name too long";
            strcpy(p->provider, f[i]);
        } else if (k == 6) {
            if (strlen(f[i]) >= sizeof p->source)
                return "source too long";
            strcpy(p->source, f[i]);
        } else if (*f[i]) {
            if (s_parse_count(f[i], rule_value[k - 1]))
                return "not a non-negative integer";
            p->rules |= 1u << (k - 1);
        }
    }
    return NULL;
}

//  Checks the header line; fills cols (field -> s_columns index). NULL if fine.
static const char *s_parse_header(char **f, int n, int *cols, char *why, size_t size)
{
    for (int c = 0; c < S_CSV_COLUMNS; c++) {
        if (strcmp(f[c], s_columns[c]) != 0) {
            snprintf(why, size, "header column %d is '%s', expected '%s'", c + 1, f[c],
                     s_columns[c]);
            return why;
        }
        cols[c] = c;
    }
    for (int i = S_CSV_COLUMNS; i < n; i++) {
        cols[i] = -1;
        for (int c = S_CSV_COLUMNS; c < S_CSV_MAX; c++)
            if (strcmp(f[i], s_columns[c]) == 0)
                cols[i] = c;
        for (int j = S_CSV_COLUMNS; j < i && cols[i] >= 0; j++)
            if (cols[j] == cols[i])
                cols[i] = -1;
        if (cols[i] < 0) {
            snprintf(why, size, "header column %d '%s' is unknown or repeated", i + 1, f[i]);
            return why;
        }
    }
    return NULL;
}

int fc_catalog_load_csv(fc_catalog_t *self, const char *path, int32_t version_base,
                        int64_t effective_from_us, char *err, size_t errsize)
{
    if (errsize > 0)
        err[0] = 0;
    if (version_base <= 0)
        return s_fail(err, errsize, path, 0, "version base must be > 0");
    FILE *file = fopen(path, "r");
    if (!file)
        return s_fail(err, errsize, path, 0, "%s", strerror(errno));
    char line[S_CSV_LINE];
    int lineno = 0;
    bool header = false;
    int cols[S_CSV_MAX], ncols = 0;
    int32_t rows = 0;
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, file)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(file)) {
            rc = s_fail(err, errsize, path, lineno, "line longer than %d bytes", S_CSV_LINE - 2);
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0 || line[0] == '#')
            continue;
        char *f[S_CSV_MAX];
        int n = s_split(line, f, S_CSV_MAX);
        if (!header) {
            char why[160];
            if (n < S_CSV_COLUMNS || n > S_CSV_MAX) {
                rc = s_fail(err, errsize, path, lineno, "expected %d to %d columns, found %d",
                            S_CSV_COLUMNS, S_CSV_MAX, n);
                break;
            }
            if (s_parse_header(f, n, cols, why, sizeof why)) {
                rc = s_fail(err, errsize, path, lineno, "%s", why);
                break;
            }
            ncols = n;
            header = true;
            continue;
        }
        if (n != ncols) {
            rc = s_fail(err, errsize, path, lineno, "expected %d columns, found %d", ncols, n);
            break;
        }
        fc_price_t p = {.effective_from_us = effective_from_us};
        int column;
        const char *why = s_parse_row(f, n, cols, &p, &column);
        if (why) {
            rc = s_fail(err, errsize, path, lineno, "%s: %s '%s'", s_columns[cols[column]], why,
                        f[column]);
            break;
        }
        if (__builtin_add_overflow(version_base, rows, &p.version)) {
            rc = s_fail(err, errsize, path, lineno, "version id out of range");
            break;
        }
        if (s_add(self, &p, &why)) {
            rc = s_fail(err, errsize, path, lineno, "%s", why);
            break;
        }
        rows++;
    }
    if (rc == 0 && ferror(file))
        rc = s_fail(err, errsize, path, lineno, "read error");
    else if (rc == 0 && rows == 0)
        rc = s_fail(err, errsize, path, lineno, header ? "no price rows" : "no header line");
    fclose(file);
    return rc;
}
