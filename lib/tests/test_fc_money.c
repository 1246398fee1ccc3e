/*  fc_money: checked arithmetic, USD formatting and parsing. */
#include "fc_money.h"
#include "fc_test.h"

//  Formats v at decimals into a static buffer, or "(error)".
static const char *s_fmt(int64_t v, int decimals)
{
    static char buf[FC_MONEY_BUFSIZE];
    return fc_money_format(v, buf, sizeof buf, decimals) == 0 ? buf : "(error)";
}

static void s_test_arithmetic(void)
{
    int64_t r = 0;
    FC_CHECK_INT(fc_money_add(1, 2, &r), 0);
    FC_CHECK_INT(r, 3);
    FC_CHECK_INT(fc_money_add(INT64_MAX, 1, &r), -1);
    FC_CHECK_INT(fc_money_add(INT64_MIN, -1, &r), -1);
    FC_CHECK_INT(fc_money_add(INT64_MAX, INT64_MIN, &r), 0);
    FC_CHECK_INT(r, -1);
    //  200000 tokens at $3/MTok = 3000 nano-USD each: 600000000 nano-USD = $0.60.
    FC_CHECK_INT(fc_money_mul(200000, 3000, &r), 0);
    FC_CHECK_INT(r, 600000000);
    FC_CHECK_INT(fc_money_mul(INT64_MAX / 2 + 1, 2, &r), -1);
    FC_CHECK_INT(fc_money_mul(-1, INT64_MIN, &r), -1);
    FC_CHECK_INT(fc_money_mul(INT64_MAX / 3, 3, &r), 0);
    FC_CHECK_INT(r, INT64_MAX - 1);
}

static void s_test_format(void)
{
    struct {
        int64_t v;
        const char *d9, *d6, *d2, *d0;
    } cases[] = {
        {0, "0.000000000", "0.000000", "0.00", "0"},
        {1, "0.000000001", "0.000000", "0.00", "0"},
        //  A negative amount that rounds to zero loses its sign.
        {-1, "-0.000000001", "0.000000", "0.00", "0"},
        //  0.999999999 rounds up into the whole dollars at every width below 9.
        {999999999, "0.999999999", "1.000000", "1.00", "1"},
        {1000000000, "1.000000000", "1.000000", "1.00", "1"},
        {-1234567890123, "-1234.567890123", "-1234.567890", "-1234.57", "-1235"},
        //  INT64_MAX = 9223372036.854775807: .854775|807 rounds up, .85|4775807 down.
        {INT64_MAX, "9223372036.854775807", "9223372036.854776", "9223372036.85", "9223372037"},
        //  INT64_MIN = -9223372036.854775808: the magnitude does not fit int64 but formats.
        {INT64_MIN, "-9223372036.854775808", "-9223372036.854776", "-9223372036.85", "-9223372037"},
        //  Exactly half a cent rounds away from zero; one nano-USD less rounds down.
        {5000000, "0.005000000", "0.005000", "0.01", "0"},
        {-5000000, "-0.005000000", "-0.005000", "-0.01", "0"},
        {4999999, "0.004999999", "0.005000", "0.00", "0"},
        {15000000, "0.015000000", "0.015000", "0.02", "0"},
        {-500000000, "-0.500000000", "-0.500000", "-0.50", "-1"},
        //  The FOCUS export's cost cells (docs/FOCUS.md §3.1): always 9 exact decimals.
        {41000000, "0.041000000", "0.041000", "0.04", "0"},
        {1034256600, "1.034256600", "1.034257", "1.03", "1"},
        {5, "0.000000005", "0.000000", "0.00", "0"},
        {-15000000, "-0.015000000", "-0.015000", "-0.02", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        FC_CHECK_STR(s_fmt(cases[i].v, 9), cases[i].d9);
        FC_CHECK_STR(s_fmt(cases[i].v, 6), cases[i].d6);
        FC_CHECK_STR(s_fmt(cases[i].v, 2), cases[i].d2);
        FC_CHECK_STR(s_fmt(cases[i].v, 0), cases[i].d0);
    }
    //  999999999 at 8 decimals: .99999999|9 carries into the dollars.
    FC_CHECK_STR(s_fmt(999999999, 8), "1.00000000");
    FC_CHECK_STR(s_fmt(INT64_MIN, 3), "-9223372036.855");

    //  Bad decimals, and buffers one byte short and exactly long enough.
    char buf[FC_MONEY_BUFSIZE] = "x";
    FC_CHECK_INT(fc_money_format(1, buf, sizeof buf, 10), -1);
    FC_CHECK_STR(buf, "");
    FC_CHECK_INT(fc_money_format(1, buf, sizeof buf, -1), -1);
    FC_CHECK_INT(fc_money_format(INT64_MIN, buf, 21, 9), -1);
    FC_CHECK_STR(buf, "");
    FC_CHECK_INT(fc_money_format(INT64_MIN, buf, 22, 9), 0);
    FC_CHECK_STR(buf, "-9223372036.854775808");
    FC_CHECK_INT(fc_money_format(1000000000, buf, 2, 0), 0);
    FC_CHECK_STR(buf, "1");
    FC_CHECK_INT(fc_money_format(1000000000, buf, 1, 0), -1);
    FC_CHECK_INT(fc_money_format(0, NULL, 0, 0), -1);
}

static void s_test_parse(void)
{
    struct {
        const char *text;
        int64_t v;
    } good[] = {
        {"12.34", 12340000000},
        {"-0.000000001", -1},
        {"$5", 5000000000},
        {"-$5", -5000000000},
        {"0", 0},
        {"-0", 0},
        {"0.5", 500000000},
        {"007.000000001", 7000000001},
        {"9223372036.854775807", INT64_MAX},
        {"-9223372036.854775808", INT64_MIN},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t v = 42;
        FC_CHECK_INT(fc_money_parse(good[i].text, &v), 0);
        FC_CHECK_INT(v, good[i].v);
    }
    const char *bad[] = {"",
                         "-",
                         "$",
                         "1.",
                         ".5",
                         "1.0000000001",
                         "12a",
                         " 1",
                         "1 ",
                         "+1",
                         "$-5",
                         "1,000",
                         "--1",
                         "1.2.3",
                         "1e9",
                         "$$1",
                         "-.5",
                         "9223372036.854775808",
                         "-9223372036.854775809",
                         "99999999999",
                         "18446744073709551616"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        FC_CHECK_INT(fc_money_parse(bad[i], &v), -1);
        FC_CHECK_INT(v, 42);
    }

    //  Round trips at full precision, over the edges and a spread of values.
    int64_t edges[] = {0, 1, -1, 999999999, 1000000000, -1000000001, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        int64_t v;
        FC_CHECK_INT(fc_money_parse(s_fmt(edges[i], 9), &v), 0);
        FC_CHECK_INT(v, edges[i]);
    }
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 10000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int64_t want = (int64_t)(x >> (1 + i % 63)) * (i % 2 ? -1 : 1), v = 0;
        if (fc_money_parse(s_fmt(want, 9), &v) || v != want) {
            FC_CHECK_INT(v, want);
            break;
        }
    }
    //  Two decimals survive a round trip only as the rounded amount.
    int64_t v;
    FC_CHECK_INT(fc_money_parse(s_fmt(12345678901, 2), &v), 0);
    FC_CHECK_INT(v, 12350000000);
}

//  docs/RECONCILE.md §2's vectors: Anthropic cost amounts (cents as text) to nano-USD.
static void s_test_cents(void)
{
    struct {
        const char *text;
        int64_t nusd;
        bool rounded;
    } ok[] = {
        {"0", 0, false},
        {"6", 60000000, false},
        {"4.1", 41000000, false},
        {"0.045500", 455000, false},
        {"123.45", 1234500000, false},
        {"123.4567", 1234567000, false},
        {"123.78912", 1237891200, false},
        {"0.0000001", 1, false},
        {"0.00000005", 0, true},
        {"0.00000015", 2, true},
        {"0.000000250", 2, true},
        {"0.000000251", 3, true},
        {"0.00000010", 1, false},
        {"-1.5", -15000000, false},
        {"-0.00000015", -2, true},
        {"007", 70000000, false},
        {"99999999999.9999999", INT64_C(999999999999999999), false},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -42;
        bool r = !ok[i].rounded;
        FC_CHECK_INT(fc_money_parse_cents(ok[i].text, strlen(ok[i].text), &v, &r), 0);
        FC_CHECK_INT(v, ok[i].nusd);
        FC_CHECK_INT(r, ok[i].rounded);
    }
    const char *bad[] = {
        "",    "1.",   ".5",    "+1",  "1e3",  "1,5",
        " 1",  "1 ",   "1.2.3", "-",   "-.5",  "123456789012",
        "NaN", "0x10", "1.5e",  "--1", "1.-5", "0.12345678901234567890123456789012345678901"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = -42;
        FC_CHECK_INT(fc_money_parse_cents(bad[i], strlen(bad[i]), &v, NULL), -1);
        FC_CHECK_INT(v, -42);
    }
    //  The length is the caller's: a JSON string token is not NUL-terminated.
    int64_t v = 0;
    FC_CHECK_INT(fc_money_parse_cents("4.1\",7\"", 3, &v, NULL), 0);
    FC_CHECK_INT(v, 41000000);
    FC_CHECK_INT(fc_money_parse_cents(NULL, 0, &v, NULL), -1);
}

int main(void)
{
    s_test_cents();
    s_test_arithmetic();
    s_test_format();
    s_test_parse();
    return fc_test_done("test_fc_money");
}
