/*  fc_time: dates, RFC 3339 with fractions and offsets, Unix seconds; bad input refused. */
#include "fc_test.h"
#include "fc_time.h"

#include <time.h>

int main(void)
{
    int64_t us = 0;
    FC_CHECK_INT(fc_time_parse("1970-01-01", &us), 0);
    FC_CHECK_INT(us, 0);
    //  2026-11-01T00:00:00Z = 1793491200 s.
    FC_CHECK_INT(fc_time_parse("2026-11-01", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000));
    FC_CHECK_INT(fc_time_parse("2026-11-01T12:00:00.25Z", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000) + INT64_C(43200250000));
    FC_CHECK_INT(fc_time_parse("2026-11-01T01:00:00+01:00", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000));
    FC_CHECK_INT(fc_time_parse("2026-11-01 00:00:00.123456789-00:30", &us), 0);
    FC_CHECK_INT(us, INT64_C(1793491200000000) + 1800 * INT64_C(1000000) + 123456);
    FC_CHECK_INT(fc_time_parse("1748779200", &us), 0);
    FC_CHECK_INT(us, INT64_C(1748779200000000));
    FC_CHECK_INT(fc_time_parse("1748779200.5", &us), 0);
    FC_CHECK_INT(us, INT64_C(1748779200500000));
    const char *bad[] = {
        "", "yesterday", "2026-11-01T00:00:00", "2026-13-01", "2026-11-01T25:00:00Z",
        "2026-11-01T00:00:00+1:00", "17487.", "-5", "99999999999", "1748779200x", "2026-11-01Tx",
        //  Impossible dates are refused, not rolled into the next month
        //  (issue 16: a parser this replaces took 2026-02-31 for 03-03).
        "2026-02-31", "2026-02-29", "2100-02-29", "2026-04-31", "2026-06-31", "2026-00-10",
        "2026-11-00", "2026-11-32", "0000-01-01", "2026-02-30T00:00:00Z",
        //  Fields are digits and nothing else.
        "2026-1-01", "2026-11-1", "2026-+1-01", "2026- 1-01", "2026-11-01x", "2026-11-01T1:00:00Z",
        "2026-11-01T01:00:00+01:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(fc_time_parse(bad[i], &us), -1);
    //  Day numbers and back, across leap days, centuries and before the epoch.
    FC_CHECK_INT(fc_days_from_civil(1970, 1, 1), 0);
    FC_CHECK_INT(fc_days_from_civil(2026, 11, 1), 1793491200 / 86400);
    FC_CHECK_INT(fc_days_from_civil(2000, 3, 1) - fc_days_from_civil(2000, 2, 28), 2);
    FC_CHECK_INT(fc_days_from_civil(1900, 3, 1) - fc_days_from_civil(1900, 2, 28), 1);
    FC_CHECK_INT(fc_days_from_civil(1969, 12, 31), -1);
    for (int64_t day = -800000; day < 800000; day += 997) {
        int64_t y;
        int m, d;
        fc_civil_from_days(day, &y, &m, &d);
        FC_CHECK(m >= 1 && m <= 12 && d >= 1 && d <= 31);
        if (fc_days_from_civil(y, m, d) != day)
            FC_CHECK_INT(fc_days_from_civil(y, m, d), day);
    }
    FC_CHECK_INT(fc_time_parse("2024-02-29", &us), 0);
    FC_CHECK_INT(fc_time_parse("2000-02-29T23:59:59Z", &us), 0);
    FC_CHECK_INT(fc_time_parse("2026-12-31T23:59:60Z", &us), 0); //  a leap second
    FC_CHECK_INT(us, INT64_C(1798761600000000));
    //  Dates alone: fc_date_parse and fc_date_format, and the month lengths.
    int64_t days = 0;
    FC_CHECK_INT(fc_date_parse("2026-11-01", &days), 0);
    FC_CHECK_INT(days, 1793491200 / 86400);
    FC_CHECK_INT(fc_date_parse("2026-02-31", &days), -1);
    FC_CHECK_INT(fc_date_parse("2026-11-01T00:00:00Z", &days), -1);
    FC_CHECK_INT(fc_date_parse(NULL, &days), -1);
    char date[FC_DATE_SIZE];
    fc_date_format(1793491200 / 86400, date);
    FC_CHECK_STR(date, "2026-11-01");
    fc_date_format(-1, date);
    FC_CHECK_STR(date, "1969-12-31");
    FC_CHECK_INT(fc_days_in_month(2024, 2), 29);
    FC_CHECK_INT(fc_days_in_month(1900, 2), 28);
    FC_CHECK_INT(fc_days_in_month(2026, 4), 30);
    FC_CHECK_INT(fc_days_in_month(2026, 13), 0);
    for (int64_t day = -1000; day < 100000; day += 37) {
        fc_date_format(day, date);
        int64_t back = 0;
        if (fc_date_parse(date, &back) != 0 || back != day)
            FC_CHECK_INT(back, day);
    }
    //  Instants as RFC 3339, and back through the parser.
    char iso[FC_TIME_SIZE];
    int64_t t = INT64_C(1793491200000000) + INT64_C(43200250000);
    FC_CHECK_STR(fc_time_format(t, 0, iso, sizeof iso), "2026-11-01T12:00:00Z");
    FC_CHECK_STR(fc_time_format(t, 3, iso, sizeof iso), "2026-11-01T12:00:00.250Z");
    FC_CHECK_STR(fc_time_format(t + 7, 6, iso, sizeof iso), "2026-11-01T12:00:00.250007Z");
    FC_CHECK_INT(fc_time_parse(iso, &us), 0);
    FC_CHECK_INT(us, t + 7);
    FC_CHECK_STR(fc_time_format(-1, 6, iso, sizeof iso), "1969-12-31T23:59:59.999999Z");
    FC_CHECK_STR(fc_time_format(0, 0, iso, sizeof iso), "1970-01-01T00:00:00Z");
    //  The clocks: wall time agrees with time(2); the monotonic clock never goes back.
    int64_t wall = fc_time_now_us(), secs = (int64_t)time(NULL);
    FC_CHECK(wall / 1000000 >= secs - 1 && wall / 1000000 <= secs + 1);
    int64_t m1 = fc_time_mono_us(), m2 = fc_time_mono_us(), ms = fc_time_mono_ms();
    FC_CHECK(m1 > 0 && m2 >= m1 && ms >= m1 / 1000 && ms <= fc_time_mono_us() / 1000);
    //  A deadline 1.999 s ahead (the nanoseconds carry into the seconds) on the clock
    //  asked for, normalised as pthread_cond_timedwait requires.
    int64_t before = fc_time_mono_us();
    struct timespec dl = fc_time_deadline(CLOCK_MONOTONIC, 1999);
    int64_t dl_us = (int64_t)dl.tv_sec * 1000000 + dl.tv_nsec / 1000;
    FC_CHECK(dl.tv_nsec >= 0 && dl.tv_nsec < 1000000000L);
    FC_CHECK(dl_us >= before + 1999000 && dl_us <= fc_time_mono_us() + 1999000);
    dl = fc_time_deadline(CLOCK_REALTIME, 0);
    dl_us = (int64_t)dl.tv_sec * 1000000 + dl.tv_nsec / 1000;
    FC_CHECK(dl_us / 1000000 >= secs - 1 && dl_us / 1000000 <= (int64_t)time(NULL) + 1);
    return fc_test_done("test_fc_time");
}
