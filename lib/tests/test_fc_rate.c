/*  fc_rate: the rounding of rate cards (ties, negatives, markup, overflow bounds),
    override matching and the effective-dated set. Expected values are computed by
    hand in the comments, not by the code under test. */
#include "fc_rate.h"
#include "fc_test.h"

static int64_t s_apply(int64_t list, int32_t bp)
{
    int64_t b = INT64_C(-777);
    return fc_rate_apply(list, bp, &b) == 0 ? b : INT64_C(-777);
}

static void s_test_apply(void)
{
    //  15 % off: × 8500 / 10000.
    FC_CHECK_INT(s_apply(10000, -1500), 8500);
    FC_CHECK_INT(s_apply(0, -1500), 0);
    //  11,328,750 × 0.85 = 9,629,437.5: a tie, to even 9,629,438 (docs/FOCUS.md §3.2).
    FC_CHECK_INT(s_apply(11328750, -1500), 9629438);
    //  Ties both ways: 1 × 0.5 = 0.5 -> 0 (even); 3 × 0.5 = 1.5 -> 2; 5 × 0.5 = 2.5 -> 2.
    FC_CHECK_INT(s_apply(1, -5000), 0);
    FC_CHECK_INT(s_apply(3, -5000), 2);
    FC_CHECK_INT(s_apply(5, -5000), 2);
    //  Not ties: 7 × 0.85 = 5.95 -> 6; 3 × 0.85 = 2.55 -> 3; 1 × 0.85 = 0.85 -> 1;
    //  2 × 0.85 = 1.7 -> 2; 10001 × 0.85 = 8500.85 -> 8501.
    FC_CHECK_INT(s_apply(7, -1500), 6);
    FC_CHECK_INT(s_apply(3, -1500), 3);
    FC_CHECK_INT(s_apply(1, -1500), 1);
    FC_CHECK_INT(s_apply(10001, -1500), 8501);
    //  Markup 10 %: 25 × 1.1 = 27.5 -> 28 (even); 15 × 1.1 = 16.5 -> 16 (even).
    FC_CHECK_INT(s_apply(25, 1000), 28);
    FC_CHECK_INT(s_apply(15, 1000), 16);
    FC_CHECK_INT(s_apply(1234567, 0), 1234567);
    //  100 % off and the largest markup (11×).
    FC_CHECK_INT(s_apply(987654321, -10000), 0);
    FC_CHECK_INT(s_apply(987654321, 100000), INT64_C(10864197531));
    //  Negative list (a credit) rounds symmetrically: -5 × 0.5 = -2.5 -> -2, -3 -> -2 (1.5).
    FC_CHECK_INT(s_apply(-5, -5000), -2);
    FC_CHECK_INT(s_apply(-3, -5000), -2);
    FC_CHECK_INT(s_apply(-7, -1500), -6);
    //  Large values stay exact where list × 8500 would overflow int64: INT64_MAX =
    //  9223372036854775807 = 10000 × 922337203685477 + 5807; 922337203685477 × 8500 =
    //  7839866231326554500; 5807 × 8500 = 49359500 -> 4935 remainder 9500 -> rounds up:
    //  7839866231326554500 + 4935 + 1 = 7839866231326559436.
    FC_CHECK_INT(s_apply(INT64_MAX, -1500), INT64_C(7839866231326559436));
    FC_CHECK_INT(s_apply(-INT64_MAX, -1500), -INT64_C(7839866231326559436));
    FC_CHECK_INT(s_apply(INT64_MAX, 0), INT64_MAX);
    //  Overflow and range are errors, not wrong numbers.
    int64_t b = 42;
    FC_CHECK_INT(fc_rate_apply(INT64_MAX, 1, &b), -1);
    FC_CHECK_INT(fc_rate_apply(INT64_MAX / 2, 10000, &b), 0); //  exactly 2x: fits
    FC_CHECK_INT(fc_rate_apply(INT64_MAX / 2 + 1, 10000, &b), -1);
    FC_CHECK_INT(fc_rate_apply(INT64_MIN, 0, &b), -1);
    FC_CHECK_INT(fc_rate_apply(1, -10001, &b), -1);
    FC_CHECK_INT(fc_rate_apply(1, 100001, &b), -1);
    FC_CHECK_INT(b, INT64_MAX / 2 * 2);
}

static void s_test_overrides(void)
{
    FC_CHECK(fc_rate_family_matches("opus", "claude-opus-4-6"));
    FC_CHECK(fc_rate_family_matches("claude-opus", "claude-opus-4-6"));
    FC_CHECK(fc_rate_family_matches("claude-opus-4-6", "claude-opus-4-6"));
    FC_CHECK(fc_rate_family_matches("opus", "claude-3-opus"));
    FC_CHECK(!fc_rate_family_matches("opu", "claude-opus-4-6"));
    FC_CHECK(!fc_rate_family_matches("opus", "claude-sonnet-4-5"));
    FC_CHECK(!fc_rate_family_matches("6", "claude-opus-4-6x"));
    FC_CHECK(!fc_rate_family_matches("-opus", "claude-opus-4-6"));
    FC_CHECK(!fc_rate_family_matches("Opus", "claude-opus-4-6"));

    fc_rate_card_t c = {
        .tenant = "acme", .version = 1, .from_us = 0, .to_us = FC_RATE_OPEN, .bp = -1500};
    FC_CHECK_INT(fc_rate_override_parse("opus=-2000", &c.overrides[0]), 0);
    FC_CHECK_INT(fc_rate_override_parse("claude-opus-4-6=500", &c.overrides[1]), 0);
    c.noverrides = 2;
    FC_CHECK(fc_rate_card_invalid(&c) == NULL);
    FC_CHECK_INT(fc_rate_card_bp(&c, "claude-sonnet-4-5"), -1500);
    FC_CHECK_INT(fc_rate_card_bp(&c, "claude-opus-4-1"), -2000);
    FC_CHECK_INT(fc_rate_card_bp(&c, "claude-opus-4-6"), 500); //  longest key wins
    FC_CHECK_INT(fc_rate_card_bp(&c, ""), -1500);
    fc_rate_override_t o;
    FC_CHECK_INT(fc_rate_override_parse("opus", &o), -1);
    FC_CHECK_INT(fc_rate_override_parse("opus=", &o), -1);
    FC_CHECK_INT(fc_rate_override_parse("opus=1.5", &o), -1);
    FC_CHECK_INT(fc_rate_override_parse("opus=-10001", &o), -1);
    FC_CHECK_INT(fc_rate_override_parse("=5", &o), -1);
    FC_CHECK_INT(fc_rate_override_parse("OPUS=5", &o), -1);
    c.overrides[1] = c.overrides[0];
    FC_CHECK(fc_rate_card_invalid(&c) != NULL); //  the same family twice
    c.noverrides = 1;
    c.monthly_fee_nusd = -1;
    FC_CHECK(fc_rate_card_invalid(&c) != NULL);
}

static void s_test_set(void)
{
    fc_rates_t *set = fc_rates_new();
    FC_CHECK(set);
    fc_rate_card_t a1 = {.tenant = "acme", .version = 1, .from_us = 100, .to_us = 200, .bp = -1500};
    fc_rate_card_t a2 = {
        .tenant = "acme", .version = 2, .from_us = 200, .to_us = FC_RATE_OPEN, .bp = 1000};
    fc_rate_card_t b1 = {.tenant = "beta", .version = 1, .from_us = 0, .to_us = 150, .bp = -5000};
    FC_CHECK_INT(fc_rates_add(set, &a2), 0);
    FC_CHECK_INT(fc_rates_add(set, &b1), 0);
    FC_CHECK_INT(fc_rates_add(set, &a1), 0);
    //  Overlaps are refused, an empty (superseded) card is not.
    fc_rate_card_t bad = {.tenant = "acme", .version = 3, .from_us = 199, .to_us = 201, .bp = 0};
    FC_CHECK_INT(fc_rates_add(set, &bad), -1);
    bad.from_us = 50;
    bad.to_us = 101;
    FC_CHECK_INT(fc_rates_add(set, &bad), -1);
    fc_rate_card_t empty = {.tenant = "acme", .version = 4, .from_us = 150, .to_us = 150};
    FC_CHECK_INT(fc_rates_add(set, &empty), 0);
    FC_CHECK_INT(fc_rates_count(set), 4);
    //  Half-open: from inclusive, to exclusive.
    FC_CHECK(fc_rates_lookup(set, "acme", 99) == NULL);
    FC_CHECK_INT(fc_rates_lookup(set, "acme", 100)->version, 1);
    FC_CHECK_INT(fc_rates_lookup(set, "acme", 150)->version, 1);
    FC_CHECK_INT(fc_rates_lookup(set, "acme", 199)->version, 1);
    FC_CHECK_INT(fc_rates_lookup(set, "acme", 200)->version, 2);
    FC_CHECK_INT(fc_rates_lookup(set, "acme", INT64_MAX - 1)->version, 2);
    FC_CHECK(fc_rates_lookup(set, "beta", 150) == NULL);
    FC_CHECK(fc_rates_lookup(set, "gamma", 150) == NULL);
    FC_CHECK(fc_rates_lookup(set, "acm", 150) == NULL);
    int64_t billed;
    int32_t version;
    FC_CHECK_INT(fc_rates_billed(set, "acme", "claude-opus-4-6", 120, 7, &billed, &version), 0);
    FC_CHECK_INT(billed, 6);
    FC_CHECK_INT(version, 1);
    FC_CHECK_INT(fc_rates_billed(set, "acme", "claude-opus-4-6", 50, 7, &billed, &version), 0);
    FC_CHECK_INT(billed, 7);
    FC_CHECK_INT(version, 0);
    FC_CHECK_INT(fc_rates_billed(set, "beta", "x", 0, 5, &billed, &version), 0);
    FC_CHECK_INT(billed, 2);
    FC_CHECK_INT(fc_rates_billed(set, "acme", "x", 300, INT64_MAX, &billed, &version), -1);
    FC_CHECK_INT(billed, INT64_MAX);
    FC_CHECK_INT(version, 0);
    fc_rates_destroy(&set);
    FC_CHECK(set == NULL);
    FC_CHECK(fc_rates_lookup(NULL, "acme", 120) == NULL);
}

int main(void)
{
    s_test_apply();
    s_test_overrides();
    s_test_set();
    return fc_test_done("test_fc_rate");
}
