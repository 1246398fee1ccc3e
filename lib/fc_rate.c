/*  fc_rate: rate-card arithmetic and the set of cards (fc_rate.h).

    The set is an array sorted by (tenant, from_us); a lookup bisects to the tenant's
    first card after ts_us and looks at the one before it. Cards of one tenant do not
    overlap (fc_rates_add refuses it), so that one is the only candidate. */
#include "fc_rate.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct _fc_rates_t {
    fc_rate_card_t *cards;
    size_t count, cap;
};

int fc_rate_apply(int64_t list_nusd, int32_t bp, int64_t *billed)
{
    if (bp < FC_RATE_BP_MIN || bp > FC_RATE_BP_MAX || list_nusd == INT64_MIN)
        return -1;
    int64_t m = 10000 + (int64_t)bp; //  0 .. 110000
    bool neg = list_nusd < 0;
    int64_t a = neg ? -list_nusd : list_nusd;
    int64_t h = a / 10000, l = a % 10000;
    int64_t q;
    if (__builtin_mul_overflow(h, m, &q))
        return -1;
    int64_t lm = l * m; //  < 10000 × 110000: no overflow
    int64_t r = lm % 10000;
    if (__builtin_add_overflow(q, lm / 10000, &q))
        return -1;
    if (r > 5000 || (r == 5000 && (q & 1))) {
        if (q == INT64_MAX)
            return -1;
        q++;
    }
    *billed = neg ? -q : q;
    return 0;
}

static bool s_key_valid(const char *key)
{
    size_t n = strnlen(key, FC_RATE_FAMILY_MAX);
    if (n == 0 || n == FC_RATE_FAMILY_MAX || key[0] == '-' || key[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return true;
}

bool fc_rate_family_matches(const char *key, const char *family)
{
    if (!s_key_valid(key) || !family)
        return false;
    size_t kn = strlen(key);
    for (const char *p = family; (p = strstr(p, key)) != NULL; p++) {
        bool start = p == family || p[-1] == '-';
        bool end = p[kn] == 0 || p[kn] == '-';
        if (start && end)
            return true;
    }
    return false;
}

int32_t fc_rate_card_bp(const fc_rate_card_t *card, const char *family)
{
    int32_t bp = card->bp;
    size_t best = 0;
    for (int i = 0; family && *family && i < card->noverrides; i++) {
        const fc_rate_override_t *o = &card->overrides[i];
        size_t n = strlen(o->family);
        if (n > best && fc_rate_family_matches(o->family, family)) {
            best = n;
            bp = o->bp;
        }
    }
    return bp;
}

const char *fc_rate_card_invalid(const fc_rate_card_t *card)
{
    size_t tn = strnlen(card->tenant, sizeof card->tenant);
    if (tn == 0 || tn == sizeof card->tenant)
        return "tenant is empty or too long";
    if (card->version <= 0)
        return "version must be > 0";
    if (card->to_us < card->from_us)
        return "effective_to is before effective_from";
    if (card->bp < FC_RATE_BP_MIN || card->bp > FC_RATE_BP_MAX)
        return "basis points out of range (-10000..100000)";
    if (card->monthly_fee_nusd < 0)
        return "monthly fee is negative";
    if (card->noverrides < 0 || card->noverrides > FC_RATE_MAX_OVERRIDE)
        return "too many overrides";
    for (int i = 0; i < card->noverrides; i++) {
        const fc_rate_override_t *o = &card->overrides[i];
        if (!s_key_valid(o->family))
            return "override family is not [a-z0-9.-] (no leading or trailing '-')";
        if (o->bp < FC_RATE_BP_MIN || o->bp > FC_RATE_BP_MAX)
            return "override basis points out of range (-10000..100000)";
        for (int j = 0; j < i; j++)
            if (strcmp(card->overrides[j].family, o->family) == 0)
                return "override family given twice";
    }
    return NULL;
}

int fc_rate_override_parse(const char *text, fc_rate_override_t *o)
{
    const char *eq = strchr(text, '=');
    if (!eq || (size_t)(eq - text) >= sizeof o->family)
        return -1;
    fc_rate_override_t t = {{0}, 0};
    memcpy(t.family, text, (size_t)(eq - text));
    char *end = NULL;
    long v = strtol(eq + 1, &end, 10);
    if (end == eq + 1 || *end || v < FC_RATE_BP_MIN || v > FC_RATE_BP_MAX || !s_key_valid(t.family))
        return -1;
    t.bp = (int32_t)v;
    *o = t;
    return 0;
}

fc_rates_t *fc_rates_new(void)
{
    return calloc(1, sizeof(fc_rates_t));
}

void fc_rates_destroy(fc_rates_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->cards);
        free(*self_p);
        *self_p = NULL;
    }
}

//  Index of the first card not before (tenant, ts_us).
static size_t s_lower(const fc_rates_t *self, const char *tenant, int64_t ts_us)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(self->cards[mid].tenant, tenant);
        if (c < 0 || (c == 0 && self->cards[mid].from_us < ts_us))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int fc_rates_add(fc_rates_t *self, const fc_rate_card_t *card)
{
    if (fc_rate_card_invalid(card))
        return -1;
    size_t at = s_lower(self, card->tenant, card->from_us);
    //  Neighbours of the same tenant must not overlap (empty cards overlap nothing).
    bool empty = card->from_us == card->to_us;
    for (size_t i = at; !empty && i < self->count; i++) {
        const fc_rate_card_t *c = &self->cards[i];
        if (strcmp(c->tenant, card->tenant) != 0 || c->from_us >= card->to_us)
            break;
        if (c->from_us < c->to_us)
            return -1;
    }
    for (size_t i = at; !empty && i-- > 0;) {
        const fc_rate_card_t *c = &self->cards[i];
        if (strcmp(c->tenant, card->tenant) != 0)
            break;
        if (c->from_us < c->to_us && c->to_us > card->from_us)
            return -1;
    }
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        fc_rate_card_t *cards = realloc(self->cards, cap * sizeof *cards);
        if (!cards)
            return -1;
        self->cards = cards;
        self->cap = cap;
    }
    memmove(&self->cards[at + 1], &self->cards[at], (self->count - at) * sizeof *self->cards);
    self->cards[at] = *card;
    self->count++;
    return 0;
}

size_t fc_rates_count(const fc_rates_t *self)
{
    return self ? self->count : 0;
}

const fc_rate_card_t *fc_rates_lookup(const fc_rates_t *self, const char *tenant, int64_t ts_us)
{
    if (!self || ts_us == INT64_MAX)
        return NULL;
    //  The last card of the tenant with from_us <= ts_us; empty ones are skipped.
    for (size_t i = s_lower(self, tenant, ts_us + 1); i-- > 0;) {
        const fc_rate_card_t *c = &self->cards[i];
        if (strcmp(c->tenant, tenant) != 0)
            return NULL;
        if (c->from_us < c->to_us)
            return ts_us < c->to_us ? c : NULL;
    }
    return NULL;
}

int fc_rates_billed(const fc_rates_t *self, const char *tenant, const char *family, int64_t ts_us,
                    int64_t list_nusd, int64_t *billed, int32_t *version)
{
    *billed = list_nusd;
    *version = 0;
    const fc_rate_card_t *c = fc_rates_lookup(self, tenant, ts_us);
    if (!c)
        return 0;
    int64_t b;
    if (fc_rate_apply(list_nusd, fc_rate_card_bp(c, family), &b) != 0)
        return -1;
    *billed = b;
    *version = c->version;
    return 0;
}
