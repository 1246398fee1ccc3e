/*  aggregator_tz: tenant-local days (see aggregator_tz.h). */
#include "aggregator_tz.h"

#include "fc_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char s_current[AGGREGATOR_TZ_MAX] = "";

//  Makes tz the process time zone, calling tzset() only when it changes.
static void s_use(const char *tz)
{
    if (strcmp(s_current, tz) == 0)
        return;
    setenv("TZ", tz, 1);
    tzset();
    snprintf(s_current, sizeof s_current, "%s", tz);
}

int32_t aggregator_days_from_civil(int y, int m, int d)
{
    return (int32_t)fc_days_from_civil(y, m, d);
}

void aggregator_tz_init(aggregator_tz_t *self, const char *tz)
{
    memset(self, 0, sizeof *self);
    snprintf(self->tz, sizeof self->tz, "%s", tz && *tz ? tz : "UTC");
}

//  Local midnight starting y-m-d (fields may be out of range: mktime normalises).
static time_t s_midnight(int y, int m, int d)
{
    struct tm t = {0};
    t.tm_year = y - 1900;
    t.tm_mon = m - 1;
    t.tm_mday = d;
    t.tm_isdst = -1;
    return mktime(&t);
}

static int32_t s_local_days(time_t t)
{
    struct tm lt;
    localtime_r(&t, &lt);
    return aggregator_days_from_civil(lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday);
}

const aggregator_day_t *aggregator_tz_day(aggregator_tz_t *self, int64_t ts_us)
{
    for (int i = 0; i < self->cached; i++)
        if (ts_us >= self->cache[i].start_us && ts_us < self->cache[i].end_us)
            return &self->cache[i];
    s_use(self->tz);
    time_t t = (time_t)(ts_us >= 0 ? ts_us / 1000000 : (ts_us - 999999) / 1000000);
    struct tm lt;
    localtime_r(&t, &lt);
    int y = lt.tm_year + 1900, m = lt.tm_mon + 1, d = lt.tm_mday;
    aggregator_day_t *e = &self->cache[self->next];
    e->days = aggregator_days_from_civil(y, m, d);
    fc_date_format(e->days, e->day);
    memcpy(e->month, e->day, 7);
    e->month[7] = 0;
    e->month_end_us = (int64_t)s_midnight(y, m + 1, 1) * 1000000;
    //  The bounds are where the local date changes. mktime on a midnight that falls in
    //  a DST gap may land on either side of it, so they are checked before the day is
    //  cached; a day that fails the check is served uncached (start = end).
    time_t start = s_midnight(y, m, d), end = s_midnight(y, m, d + 1);
    bool exact = start <= t && t < end && s_local_days(start) == e->days &&
                 s_local_days(start - 1) != e->days && s_local_days(end - 1) == e->days &&
                 s_local_days(end) != e->days;
    e->start_us = exact ? (int64_t)start * 1000000 : 0;
    e->end_us = exact ? (int64_t)end * 1000000 : 0;
    if (exact) {
        self->next = (self->next + 1) % AGGREGATOR_TZ_CACHE;
        if (self->cached < AGGREGATOR_TZ_CACHE)
            self->cached++;
    }
    return e;
}

int32_t aggregator_tz_month_start(aggregator_tz_t *self, int64_t ts_us, int back)
{
    const aggregator_day_t *day = aggregator_tz_day(self, ts_us);
    int64_t y;
    int m, d;
    fc_civil_from_days(day->days, &y, &m, &d);
    int months = (int)y * 12 + (m - 1) - back;
    return aggregator_days_from_civil(months / 12, months % 12 + 1, 1);
}
