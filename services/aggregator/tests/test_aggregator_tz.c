/*  test_aggregator_tz: tenant-local days from the tzdata files, without TZ.

    The day bounds across DST changes are checked against figures worked out by hand
    (America/Los_Angeles, Pacific/Auckland, Asia/Kolkata at +5:30), and every hour of
    several years of many zones against glibc's localtime_r, which this
    single-threaded test may use with setenv("TZ") (the aggregator may not). Years past
    2037 exercise the POSIX rule in the files' footers. */
#include "aggregator_tz.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fc_test.h"
#include "fc_time.h"

#define US 1000000LL

//  Seconds since the epoch of a UTC date-time.
static int64_t s_utc(int y, int m, int d, int hh, int mm)
{
    return fc_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60;
}

//  The day containing the UTC instant: its date and its UTC bounds.
static void s_check_day(const char *zone, int64_t at, const char *day, int64_t start, int64_t end)
{
    aggregator_tz_t tz;
    aggregator_tz_init(&tz, zone);
    const aggregator_day_t *d = aggregator_tz_day(&tz, at * US);
    FC_CHECK_STR(d->day, day);
    FC_CHECK_INT(d->start_us, start * US);
    FC_CHECK_INT(d->end_us, end * US);
    //  Asked again inside the cached bounds: the same day.
    FC_CHECK_STR(aggregator_tz_day(&tz, start * US)->day, day);
    FC_CHECK_STR(aggregator_tz_day(&tz, end * US - 1)->day, day);
    if (d->end_us) {
        FC_CHECK(strcmp(aggregator_tz_day(&tz, end * US)->day, day) != 0);
        FC_CHECK(strcmp(aggregator_tz_day(&tz, start * US - 1)->day, day) != 0);
    }
}

static void test_dst_by_hand(void)
{
    //  Los Angeles: 2026-03-08 02:00 PST -> 03:00 PDT (a 23 h day), 2026-11-01
    //  02:00 PDT -> 01:00 PST (25 h).
    s_check_day("America/Los_Angeles", s_utc(2026, 3, 8, 12, 0), "2026-03-08",
                s_utc(2026, 3, 8, 8, 0), s_utc(2026, 3, 9, 7, 0));
    s_check_day("America/Los_Angeles", s_utc(2026, 11, 1, 12, 0), "2026-11-01",
                s_utc(2026, 11, 1, 7, 0), s_utc(2026, 11, 2, 8, 0));
    //  Past 2037 the footer's rule (PST8PDT,M3.2.0,M11.1.0): 2040-03-11 is 23 h.
    s_check_day("America/Los_Angeles", s_utc(2040, 3, 11, 12, 0), "2040-03-11",
                s_utc(2040, 3, 11, 8, 0), s_utc(2040, 3, 12, 7, 0));
    //  Auckland: 2026-04-05 03:00 NZDT -> 02:00 NZST (25 h), 2026-09-27 02:00 NZST ->
    //  03:00 NZDT (23 h).
    s_check_day("Pacific/Auckland", s_utc(2026, 4, 5, 0, 0), "2026-04-05", s_utc(2026, 4, 4, 11, 0),
                s_utc(2026, 4, 5, 12, 0));
    s_check_day("Pacific/Auckland", s_utc(2026, 9, 27, 0, 0), "2026-09-27",
                s_utc(2026, 9, 26, 12, 0), s_utc(2026, 9, 27, 11, 0));
    //  Kolkata, +5:30 all year.
    s_check_day("Asia/Kolkata", s_utc(2026, 3, 1, 18, 29), "2026-03-01", s_utc(2026, 2, 28, 18, 30),
                s_utc(2026, 3, 1, 18, 30));
    s_check_day("Asia/Kolkata", s_utc(2026, 3, 1, 18, 30), "2026-03-02", s_utc(2026, 3, 1, 18, 30),
                s_utc(2026, 3, 2, 18, 30));
    //  An unknown zone is UTC.
    s_check_day("No/Such_Zone", s_utc(2026, 3, 1, 23, 59), "2026-03-01", s_utc(2026, 3, 1, 0, 0),
                s_utc(2026, 3, 2, 0, 0));
    s_check_day("../../etc/passwd", s_utc(2026, 3, 1, 0, 0), "2026-03-01", s_utc(2026, 3, 1, 0, 0),
                s_utc(2026, 3, 2, 0, 0));
    //  Month ends and month starts in the zone.
    aggregator_tz_t tz;
    aggregator_tz_init(&tz, "Pacific/Auckland");
    const aggregator_day_t *d = aggregator_tz_day(&tz, s_utc(2026, 4, 30, 0, 0) * US);
    FC_CHECK_STR(d->month, "2026-04");
    FC_CHECK_INT(d->month_end_us, s_utc(2026, 4, 30, 12, 0) * US); //  May 1st, NZST
    FC_CHECK_INT(aggregator_tz_month_start(&tz, s_utc(2026, 4, 30, 0, 0) * US, 1),
                 fc_days_from_civil(2026, 3, 1));
}

//  Every hour (and the minute before it) of the years given, in each zone, against
//  localtime_r under TZ=<zone>.
static void test_against_libc(void)
{
    static const char *zones[] = {
        "America/Los_Angeles", "Pacific/Auckland",    "Asia/Kolkata",      "Europe/London",
        "Europe/Dublin",       "Australia/Lord_Howe", "America/Santiago",  "America/Havana",
        "Africa/Casablanca",   "Asia/Tehran",         "America/St_Johns",  "Pacific/Chatham",
        "Antarctica/Troll",    "Asia/Gaza",           "America/Sao_Paulo", "UTC",
        "Etc/GMT+5",           "Pacific/Kiritimati",  "America/Godthab",   "Europe/Moscow"};
    static const int years[][2] = {
        {1995, 1997}, {2010, 2011}, {2024, 2027}, {2036, 2039}, {2099, 2100}};
    int mismatches = 0;
    for (size_t z = 0; z < sizeof zones / sizeof *zones; z++) {
        setenv("TZ", zones[z], 1);
        tzset();
        aggregator_tz_t tz;
        aggregator_tz_init(&tz, zones[z]);
        for (size_t r = 0; r < sizeof years / sizeof *years; r++)
            for (int64_t t = s_utc(years[r][0], 1, 1, 0, 0); t < s_utc(years[r][1] + 1, 1, 1, 0, 0);
                 t += 1800) {
                for (int k = 0; k < 2; k++) {
                    time_t tt = (time_t)(t - k * 60);
                    struct tm lt;
                    localtime_r(&tt, &lt);
                    int64_t want = fc_days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
                    const aggregator_day_t *d = aggregator_tz_day(&tz, (int64_t)tt * US);
                    if (d->days != want && mismatches++ < 10)
                        fprintf(stderr, "%s at %lld: day %d, libc %lld\n", zones[z], (long long)tt,
                                (int)d->days, (long long)want);
                    if (d->start_us &&
                        (d->start_us > (int64_t)tt * US || d->end_us <= (int64_t)tt * US))
                        mismatches++;
                }
            }
    }
    unsetenv("TZ");
    FC_CHECK_INT(mismatches, 0);
}

int main(void)
{
    test_dst_by_hand();
    test_against_libc();
    return fc_test_done("test_aggregator_tz");
}
