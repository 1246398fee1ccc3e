/*  fc_time: the one home of time in fleetcost: the clocks, parsing the times it is given
    (command lines, transcripts, test clocks), formatting instants as RFC 3339 and dates
    as YYYY-MM-DD, and civil-day arithmetic. Everything here is UTC; time zones (a
    tenant's local day) are the aggregator's and reporter's business. Dates are checked
    against the calendar: 2026-02-31 is refused, not rolled over into March. */
#ifndef FC_TIME_H
#define FC_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

//  Microseconds since the epoch, UTC, from:
//    a date "2026-11-01" (midnight UTC),
//    RFC 3339 "2026-11-01T12:00:00Z", "...T12:00:00.25+02:00" (a zone is required),
//    Unix seconds "1748779200" or "1748779200.5".
//  Returns 0, or -1 if the text is none of these.
int fc_time_parse(const char *text, int64_t *us);

#define FC_DATE_SIZE 11 //  "YYYY-MM-DD" and its NUL
#define FC_TIME_SIZE 32 //  "YYYY-MM-DDTHH:MM:SS.ffffffZ" and its NUL, with room

//  A date "YYYY-MM-DD" (exactly: four, two and two digits) that exists in the
//  proleptic Gregorian calendar, year 1 or later, as days since 1970-01-01. Returns 0,
//  or -1 (malformed, or a day the month does not have).
int fc_date_parse(const char *text, int64_t *days);

//  Days since 1970-01-01 as "YYYY-MM-DD" (years 0..9999).
void fc_date_format(int64_t days, char out[FC_DATE_SIZE]);

//  An instant as RFC 3339 in UTC: "2026-11-01T12:00:00Z", with digits 3 or 6
//  "…:00.250Z" / "…:00.250000Z". Returns out.
const char *fc_time_format(int64_t us, int digits, char *out, size_t size);

//  Days in month m (1..12) of year y; 0 for a month out of range.
int fc_days_in_month(int64_t y, int m);

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

//  The instant ms milliseconds from now on clock (CLOCK_MONOTONIC or CLOCK_REALTIME), as
//  pthread_cond_timedwait takes it: on the clock the condition variable was made with
//  (pthread_condattr_setclock; CLOCK_REALTIME by default).
struct timespec fc_time_deadline(clockid_t clock, int64_t ms);

#endif
