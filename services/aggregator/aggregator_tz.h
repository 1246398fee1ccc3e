/*  aggregator_tz: tenant-local days and months.

    A tenant's day is the calendar date of an instant in the tenant's IANA time zone,
    the same date Postgres computes with `(event_time AT TIME ZONE tz)::date`. Local
    dates come from libc's localtime_r under TZ=<zone> (the system tzdata, which the
    Debian Postgres also uses). Switching TZ means tzset(), which is slow, so each
    tenant caches the UTC bounds [start, end) of the last few local days it saw: an event
    inside a cached day costs two comparisons. Not thread-safe (TZ is process state):
    the aggregator calls it from its single loop thread only. */
#ifndef AGGREGATOR_TZ_H
#define AGGREGATOR_TZ_H

#include <stdbool.h>
#include <stdint.h>

#define AGGREGATOR_TZ_MAX   64
#define AGGREGATOR_TZ_CACHE 4

//  One tenant-local day.
typedef struct {
    int64_t start_us, end_us; //  its UTC bounds [start, end)
    int64_t month_end_us;     //  end of its local month (UTC)
    int32_t days;             //  days since 1970-01-01 (of the local date)
    char day[11];             //  "YYYY-MM-DD"
    char month[8];            //  "YYYY-MM"
} aggregator_day_t;

typedef struct {
    char tz[AGGREGATOR_TZ_MAX];
    aggregator_day_t cache[AGGREGATOR_TZ_CACHE];
    int cached, next;
} aggregator_tz_t;

//  Sets the zone of a cache (empties it). An unknown zone behaves as UTC (Postgres
//  validates tenants.tz, so this does not happen for stored tenants).
void aggregator_tz_init(aggregator_tz_t *self, const char *tz);

//  The local day containing ts_us. The pointer is valid until the next call.
const aggregator_day_t *aggregator_tz_day(aggregator_tz_t *self, int64_t ts_us);

//  Local date of the first day of the month `back` months before the month of ts_us,
//  as days since 1970-01-01.
int32_t aggregator_tz_month_start(aggregator_tz_t *self, int64_t ts_us, int back);

//  Days since 1970-01-01 of a civil date, as the int32 the aggregator stores (dates as
//  text: fc_date_parse and fc_date_format in lib/fc_time).
int32_t aggregator_days_from_civil(int y, int m, int d);

#endif
