/*  aggregator_tz: tenant-local days and months, thread-safe.

    A tenant's day is the calendar date of an instant in the tenant's IANA time zone,
    the same date Postgres computes with `(event_time AT TIME ZONE tz)::date`. The UTC
    offsets come from the system's compiled tzdata, /usr/share/zoneinfo/<zone> (TZif,
    RFC 8536; $TZDIR overrides the directory), which the Debian Postgres reads too:
    the transitions it lists, then the POSIX TZ rule in its footer for instants after
    the last one. Dates are then plain arithmetic (lib/fc_time's civil-day functions).

    Why not localtime_r: it reads the process time zone, so one zone per tenant meant
    setenv("TZ") + tzset() per zone switch, and setenv is not thread-safe while any
    other thread may read the environment (the final-rollup worker's libpq reads PG*
    variables when it connects). Here each zone is parsed once into an immutable table
    kept for the life of the process (a registry under a mutex), so any thread may ask
    for any zone's days, and nothing touches TZ.

    Each tenant caches the UTC bounds [start, end) of the last few local days it saw:
    an event inside a cached day costs two comparisons. The bounds are the maximal run
    of instants around the one asked for whose local date is that day, so a day that a
    DST change cuts in two (a fall-back across midnight) is two cache entries. */
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

typedef struct _aggregator_zone_t aggregator_zone_t;

typedef struct {
    char tz[AGGREGATOR_TZ_MAX];
    const aggregator_zone_t *zone; //  shared, immutable, never freed
    aggregator_day_t cache[AGGREGATOR_TZ_CACHE];
    int cached, next;
} aggregator_tz_t;

//  Sets the zone of a cache (empties it), loading the zone on first use. An unknown
//  or unreadable zone behaves as UTC, logged once (Postgres validates tenants.tz
//  against the same tzdata, so this does not happen for stored tenants).
void aggregator_tz_init(aggregator_tz_t *self, const char *tz);

//  The local day containing ts_us. The pointer is valid until the next call on self.
const aggregator_day_t *aggregator_tz_day(aggregator_tz_t *self, int64_t ts_us);

//  Local date of the first day of the month `back` months before the month of ts_us,
//  as days since 1970-01-01.
int32_t aggregator_tz_month_start(aggregator_tz_t *self, int64_t ts_us, int back);

//  UTC offset (seconds east) of a zone at an instant (seconds since the epoch).
int32_t aggregator_tz_offset(const aggregator_zone_t *zone, int64_t t);

//  Days since 1970-01-01 of a civil date, as the int32 the aggregator stores (dates as
//  text: fc_date_parse and fc_date_format in lib/fc_time).
int32_t aggregator_days_from_civil(int y, int m, int d);

#endif
