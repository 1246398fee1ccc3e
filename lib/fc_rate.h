/*  fc_rate: contract rate cards per tenant (docs/RECONCILE.md §4, issue 18).

    A rate card turns an event's list cost (what fc_price_usage gives) into its billed
    cost. A card is one effective-dated version of a tenant's contract:

      - bp: the tenant-wide adjustment in signed basis points of list: -1500 = 15 % off,
        +1000 = 10 % markup, 0 = list. Range FC_RATE_BP_MIN..FC_RATE_BP_MAX.
      - overrides: per model family, a bp that replaces the tenant-wide one for that
        family (not stacked on it). A key matches a family (as fc_price_usage yields it,
        e.g. "claude-opus-4-6") when it equals the family or is one of its '-'-separated
        runs of segments: "opus" and "claude-opus" match "claude-opus-4-6", "opu" does
        not. The longest matching key wins, so "claude-opus-4-6" beats "opus".
      - monthly_fee_nusd: a flat fee per tenant-local month while the card is in force
        (billed as its own line; not part of any event's cost).
      - [from_us, to_us): half-open instants, µs since the epoch UTC; to_us is
        FC_RATE_OPEN when the card has no end. At most one card is in force per tenant
        per instant.

    Billed cost of one event = round_half_even(list × (10000 + bp) / 10000), per event,
    in integers (fc_rate_apply). Every view (totals, reports, FOCUS, budgets) is then a
    plain sum of the events' billed costs, so they agree exactly.

    fc_rates_t is the set of every card, built single-threaded (fc_rates_add), then
    read-only: lookups never write. Pure: no I/O (fc_rate_pg loads it). */
#ifndef FC_RATE_H
#define FC_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FC_RATE_BP_MIN       (-10000) //  100 % off: billed 0
#define FC_RATE_BP_MAX       100000   //  +1000 %: billed 11 × list
#define FC_RATE_MAX_OVERRIDE 16       //  overrides per card
#define FC_RATE_FAMILY_MAX   64       //  longest override key, plus its NUL
#define FC_RATE_TENANT_MAX   64       //  longest tenant id, plus its NUL
#define FC_RATE_OPEN         INT64_MAX

typedef struct {
    char family[FC_RATE_FAMILY_MAX]; //  lower case [a-z0-9.-], no leading/trailing '-'
    int32_t bp;
} fc_rate_override_t;

typedef struct {
    char tenant[FC_RATE_TENANT_MAX];
    int32_t version; //  > 0, per tenant
    int64_t from_us, to_us;
    int32_t bp;
    int64_t monthly_fee_nusd; //  >= 0
    int noverrides;
    fc_rate_override_t overrides[FC_RATE_MAX_OVERRIDE];
} fc_rate_card_t;

typedef struct _fc_rates_t fc_rates_t;

//  *billed = list × (10000 + bp) / 10000 rounded half to even, exact in integers (no
//  float, no 128-bit product): with list = 10000·h + l, it is h·(10000+bp) + l·(10000+bp)
//  / 10000, whose remainder decides the rounding. Negative list (a credit) rounds
//  symmetrically. Returns 0, or -1 if bp is out of range, list is INT64_MIN, or the
//  result does not fit in int64 (*billed untouched).
int fc_rate_apply(int64_t list_nusd, int32_t bp, int64_t *billed);

//  True if key is a valid override key and matches family (see above).
bool fc_rate_family_matches(const char *key, const char *family);

//  The bp the card gives family ("" or NULL: the tenant-wide bp).
int32_t fc_rate_card_bp(const fc_rate_card_t *card, const char *family);

//  Why a card is invalid (static text), or NULL when it is valid.
const char *fc_rate_card_invalid(const fc_rate_card_t *card);

//  Parses "KEY=BP" (e.g. "opus=-2000") into o. 0, or -1 if malformed or out of range.
int fc_rate_override_parse(const char *text, fc_rate_override_t *o);

fc_rates_t *fc_rates_new(void);
void fc_rates_destroy(fc_rates_t **self_p);

//  Adds a copy of a card. -1 if it is invalid (fc_rate_card_invalid), out of memory, or
//  it overlaps a card of the same tenant in time (empty cards, from == to, overlap
//  nothing). Invalidates earlier lookup results.
int fc_rates_add(fc_rates_t *self, const fc_rate_card_t *card);

//  Number of cards.
size_t fc_rates_count(const fc_rates_t *self);

//  The tenant's card in force at ts_us, or NULL (no card: billed = list). Owned by the
//  set; valid until the next fc_rates_add or destroy.
const fc_rate_card_t *fc_rates_lookup(const fc_rates_t *self, const char *tenant, int64_t ts_us);

//  Billed cost of one event: the card of tenant at ts_us, its bp for family, applied to
//  list. *version = that card's version, or 0 when no card is in force (then *billed =
//  list). Returns 0, or -1 on overflow (*billed = list, *version = 0).
int fc_rates_billed(const fc_rates_t *self, const char *tenant, const char *family, int64_t ts_us,
                    int64_t list_nusd, int64_t *billed, int32_t *version);

#endif
