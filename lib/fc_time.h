/*  fc_time: parsing the times fleetcost is given on command lines and in transcripts. */
#ifndef FC_TIME_H
#define FC_TIME_H

#include <stdbool.h>
#include <stdint.h>

//  Microseconds since the epoch, UTC, from:
//    a date "2026-11-01" (midnight UTC),
//    RFC 3339 "2026-11-01T12:00:00Z", "...T12:00:00.25+02:00" (a zone is required),
//    Unix seconds "1748779200" or "1748779200.5".
//  Returns 0, or -1 if the text is none of these.
int fc_time_parse(const char *text, int64_t *us);

//  Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard Hinnant's
//  algorithms): exact for any year, and free of timegm's reliance on TZ.
int64_t fc_days_from_civil(int64_t y, int m, int d);
void fc_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

//  The clocks. Wall time (CLOCK_REALTIME) is for what is stored or shown: event times,
//  "now" in reports and alerts. The monotonic clock (CLOCK_MONOTONIC, what czmq's
//  zclock_usecs reads) is for intervals, timeouts and rates: it never jumps when the
//  system time is set.
int64_t fc_time_now_us(void);  //  microseconds since the epoch, UTC
int64_t fc_time_mono_us(void); //  microseconds on the monotonic clock
int64_t fc_time_mono_ms(void); //  the same in milliseconds

#endif
