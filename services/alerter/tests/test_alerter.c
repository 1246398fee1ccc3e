/*  test_alerter: the alerter's pure parts — summary decoding and its bounds, threshold
    arithmetic, the forecast on a synthetic month, option parsing, JSON escaping, the
    notices' idempotency keys. */
#include <msgpack.h>

#include "alerter_deliver.h"
#include "alerter_rules.h"
#include "fc_summary.h"
#include "fc_test.h"

#define USD(x) ((int64_t)(x)*INT64_C(1000000000))

static void s_key(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

//  A summary with the given tenant and costs; extra_keys adds unknown keys.
static msgpack_sbuffer s_summary(const char *tenant, int64_t day, int64_t month, int extra_keys)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7 + extra_keys);
    s_key(&pk, "v");
    msgpack_pack_uint8(&pk, 1);
    s_key(&pk, "tenant");
    s_key(&pk, tenant);
    s_key(&pk, "day");
    s_key(&pk, "2026-11-28");
    s_key(&pk, "month");
    s_key(&pk, "2026-11");
    s_key(&pk, "day_totals");
    msgpack_pack_map(&pk, 3);
    s_key(&pk, "cost_nusd");
    msgpack_pack_int64(&pk, day);
    s_key(&pk, "unpriced_events");
    msgpack_pack_int64(&pk, 3);
    s_key(&pk, "input");
    msgpack_pack_int64(&pk, 12345);
    s_key(&pk, "month_totals");
    msgpack_pack_map(&pk, 2);
    s_key(&pk, "cost_nusd");
    msgpack_pack_int64(&pk, month);
    s_key(&pk, "events");
    msgpack_pack_int64(&pk, 99);
    s_key(&pk, "as_of");
    msgpack_pack_int64(&pk, INT64_C(1764345600000000));
    for (int i = 0; i < extra_keys; i++) {
        char k[16];
        snprintf(k, sizeof k, "x%d", i);
        s_key(&pk, k);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 2);
        s_key(&pk, "coder");
        msgpack_pack_int64(&pk, 5);
    }
    return sb;
}

static void s_test_summary(void)
{
    fc_summary_t s;
    fc_proto_error_t err;
    msgpack_sbuffer sb = s_summary("acme", USD(8), USD(120), 2);
    FC_CHECK_INT(fc_summary_decode((uint8_t *)sb.data, sb.size, &s, &err), FC_OK);
    FC_CHECK_STR(s.tenant, "acme");
    FC_CHECK_STR(s.day, "2026-11-28");
    FC_CHECK_STR(s.month, "2026-11");
    FC_CHECK_INT(s.day_cost_nusd, USD(8));
    FC_CHECK_INT(s.month_cost_nusd, USD(120));
    FC_CHECK_INT(s.month_events, 99);
    FC_CHECK_INT(s.day_unpriced, 3);
    FC_CHECK_INT(s.as_of_us, INT64_C(1764345600000000));
    //  Every truncation is malformed, never a crash or a read past the end.
    for (size_t n = 0; n < sb.size; n++)
        FC_CHECK(fc_summary_decode((uint8_t *)sb.data, n, &s, &err) != FC_OK);
    //  A trailing byte is malformed.
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    FC_CHECK_INT(fc_summary_decode((uint8_t *)sb.data, sb.size, &s, &err), FC_E_MALFORMED);
    msgpack_sbuffer_destroy(&sb);
    //  Too many keys (64 + 8 unknown ones) is over the map limit.
    sb = s_summary("acme", 1, 1, 64);
    FC_CHECK_INT(fc_summary_decode((uint8_t *)sb.data, sb.size, &s, &err), FC_E_TOO_LARGE);
    msgpack_sbuffer_destroy(&sb);
    //  A bad tenant name.
    sb = s_summary("Not A Tenant", 1, 1, 0);
    FC_CHECK_INT(fc_summary_decode((uint8_t *)sb.data, sb.size, &s, &err), FC_E_RANGE);
    msgpack_sbuffer_destroy(&sb);
    //  A negative cost.
    sb = s_summary("acme", -1, 1, 0);
    FC_CHECK_INT(fc_summary_decode((uint8_t *)sb.data, sb.size, &s, &err), FC_E_RANGE);
    msgpack_sbuffer_destroy(&sb);
    //  Over the frame limit before anything is read.
    static uint8_t big[FC_SUMMARY_MAX + 1];
    FC_CHECK_INT(fc_summary_decode(big, sizeof big, &s, &err), FC_E_TOO_LARGE);
    //  A map without the required keys.
    const uint8_t empty_map[] = {0x81, 0xa1, 'v', 0x01};
    FC_CHECK_INT(fc_summary_decode(empty_map, sizeof empty_map, &s, &err), FC_E_MISSING);
}

static void s_test_rules(void)
{
    FC_CHECK(!alerter_reached(USD(4) + 999999999, USD(10), 50));
    FC_CHECK(alerter_reached(USD(5), USD(10), 50));
    FC_CHECK(alerter_reached(USD(10), USD(10), 100));
    FC_CHECK(!alerter_reached(USD(10), 0, 50));           //  disabled budget
    FC_CHECK(alerter_reached(INT64_MAX, INT64_MAX, 100)); //  no overflow
    FC_CHECK_INT(alerter_permille(USD(8) + USD(1) / 2, USD(10)), 850);
    char buf[32];
    alerter_percent_format(1054, buf, sizeof buf);
    FC_CHECK_STR(buf, "105.4%");
    int t[ALERTER_MAX_THRESHOLDS];
    FC_CHECK_INT(alerter_thresholds_parse("50,80,100", t), 3);
    FC_CHECK_INT(t[2], 100);
    FC_CHECK_INT(alerter_thresholds_parse("80,50", t), -1);
    FC_CHECK_INT(alerter_thresholds_parse("50,", t), -1);
    FC_CHECK_INT(alerter_thresholds_parse("", t), -1);
    FC_CHECK_INT(alerter_thresholds_parse("0", t), -1);
    FC_CHECK_INT(alerter_duration_parse("10m"), 600);
    FC_CHECK_INT(alerter_duration_parse("90"), 90);
    FC_CHECK_INT(alerter_duration_parse("1d"), 86400);
    FC_CHECK_INT(alerter_duration_parse("-1m"), -1);
    FC_CHECK_INT(alerter_duration_parse("5w"), -1);
    alerter_duration_format(600, buf, sizeof buf);
    FC_CHECK_STR(buf, "10m");
    FC_CHECK_INT(alerter_scope_parse("agent_runaway"), ALERTER_AGENT_RUNAWAY);
    FC_CHECK_INT(alerter_scope_parse("weekly"), -1);
}

//  February 2025 in UTC: 28 days. At 12:00 on the 11th, 10.5 days have elapsed.
static void s_test_forecast(void)
{
    const int64_t day = INT64_C(86400000000);
    const int64_t feb1 = INT64_C(1738368000) * 1000000, mar1 = feb1 + 28 * day;
    const int64_t now = feb1 + 10 * day + day / 2;
    int64_t p = 0;
    FC_CHECK_INT(alerter_forecast(USD(30), feb1, mar1, now, day, USD(1), &p), 0);
    FC_CHECK_INT(p, USD(80)); //  30 x 28 / 10.5
    //  Sound on a partial day: at 18:00 on the 1st, 0.75 days elapsed.
    FC_CHECK_INT(alerter_forecast(USD(3), feb1, mar1, feb1 + day * 3 / 4, 0, 0, &p), 0);
    FC_CHECK_INT(p, USD(112));
    //  Not enough data: under a day elapsed, or under the minimum spend.
    FC_CHECK_INT(alerter_forecast(USD(3), feb1, mar1, feb1 + day * 3 / 4, day, 0, &p), -1);
    FC_CHECK_INT(alerter_forecast(USD(30), feb1, mar1, now, day, USD(31), &p), -1);
    //  After the month it is the month's actual total.
    FC_CHECK_INT(alerter_forecast(USD(30), feb1, mar1, mar1 + day, day, 0, &p), 0);
    FC_CHECK_INT(p, USD(30));
    //  Huge figures do not overflow.
    FC_CHECK_INT(alerter_forecast(INT64_MAX / 2, feb1, mar1, feb1 + day, 0, 0, &p), 0);
    FC_CHECK_INT(p, INT64_MAX);
}

//  One key per notice: stable for it, different for the other state and a later firing.
static void s_test_notice_key(void)
{
    char k[ALERTER_KEY_MAX], again[ALERTER_KEY_MAX], other[ALERTER_KEY_MAX];
    alerter_notice_key(42, "fired", INT64_C(1764345600123456), k, sizeof k);
    FC_CHECK_STR(k, "fleetcost-alert-42-fired-1764345600123456");
    alerter_notice_key(42, "fired", INT64_C(1764345600123456), again, sizeof again);
    FC_CHECK_STR(again, k);
    alerter_notice_key(42, "resolved", INT64_C(1764345600123456), other, sizeof other);
    FC_CHECK(strcmp(other, k) != 0);
    alerter_notice_key(42, "fired", INT64_C(1764349200000000), other, sizeof other);
    FC_CHECK(strcmp(other, k) != 0);
    //  The longest key fits.
    alerter_notice_key(INT64_MAX, "resolved", INT64_MAX, k, sizeof k);
    FC_CHECK_STR(k, "fleetcost-alert-9223372036854775807-resolved-9223372036854775807");
}

int main(void)
{
    s_test_summary();
    s_test_rules();
    s_test_forecast();
    s_test_notice_key();
    return fc_test_done("test_alerter");
}
