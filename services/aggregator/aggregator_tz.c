/*  aggregator_tz: tenant-local days from the system tzdata (see aggregator_tz.h).

    Sources for the file format and rules relied on here: RFC 8536 ("The Time Zone
    Information Format (TZif)": header, version 2+ 64-bit data block, type 0 before the
    first transition, the footer's TZ string for instants after the last one) and POSIX
    (XBD 8.3, the TZ variable: std offset [dst [offset] [,start[/time],end[/time]]],
    offsets west of Greenwich positive, dates Jn / n / Mm.w.d, time default 02:00:00;
    RFC 8536 §3.3.1 extends the hours of a rule's time to -167..167). */
#include "aggregator_tz.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"
#include "fc_time.h"

#define MODULE       "aggregator"
#define S_TZIF_MAX   (256 * 1024) //  the largest zone file accepted (real ones: < 4 KiB)
#define S_SPAN_STEPS 16           //  intervals walked to find a day's bounds

//  A POSIX rule date: kind 'J' (Julian 1..365, no Feb 29), 'D' (0..365), 'M' (m.w.d).
typedef struct {
    char kind;
    int a, b, c;  //  J/D: a = day; M: a = month, b = week, c = weekday
    int32_t time; //  seconds after local midnight (may be negative or past 24h)
} s_rule_date_t;

typedef struct {
    int32_t std_off, dst_off; //  seconds east of UTC
    bool has_dst;
    s_rule_date_t start, end;
} s_rule_t;

typedef struct {
    int64_t at;  //  transition instant (s)
    int32_t off; //  UTC offset from then on
} s_trans_t;

struct _aggregator_zone_t {
    char name[AGGREGATOR_TZ_MAX];
    s_trans_t *trans;
    size_t ntrans;
    int32_t off0; //  before the first transition (type 0)
    bool has_rule;
    s_rule_t rule; //  after the last transition
    struct _aggregator_zone_t *next;
};

//  The registry: zones are loaded once and never freed, so a pointer to one stays
//  valid in any thread; the mutex guards the list only.
static pthread_mutex_t s_zones_mutex = PTHREAD_MUTEX_INITIALIZER;
static aggregator_zone_t *s_zones;

static int64_t s_floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int32_t aggregator_days_from_civil(int y, int m, int d)
{
    return (int32_t)fc_days_from_civil(y, m, d);
}

//  --- POSIX TZ strings -------------------------------------------------------------

//  [+-]hh[:mm[:ss]] into seconds; hours up to max_h. NULL if malformed.
static const char *s_parse_hms(const char *p, int max_h, int32_t *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (!isdigit((unsigned char)*p))
        return NULL;
    int v[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (i && *p != ':')
            break;
        if (i)
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        int n = 0;
        for (int k = 0; k < 3 && isdigit((unsigned char)*p); k++)
            n = n * 10 + (*p++ - '0');
        v[i] = n;
    }
    if (v[0] > max_h || v[1] > 59 || v[2] > 59)
        return NULL;
    *out = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
    return p;
}

//  A zone abbreviation: <...> or at least three letters.
static const char *s_parse_name(const char *p)
{
    if (*p == '<') {
        const char *e = strchr(p, '>');
        return e && e - p >= 4 ? e + 1 : NULL;
    }
    const char *s = p;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

static const char *s_parse_date(const char *p, s_rule_date_t *d)
{
    char *end;
    if (*p == 'M') {
        d->kind = 'M';
        d->a = (int)strtol(p + 1, &end, 10);
        if (*end != '.')
            return NULL;
        d->b = (int)strtol(end + 1, &end, 10);
        if (*end != '.')
            return NULL;
        d->c = (int)strtol(end + 1, &end, 10);
        if (d->a < 1 || d->a > 12 || d->b < 1 || d->b > 5 || d->c < 0 || d->c > 6)
            return NULL;
    } else {
        d->kind = *p == 'J' ? 'J' : 'D';
        if (*p == 'J')
            p++;
        if (!isdigit((unsigned char)*p))
            return NULL;
        d->a = (int)strtol(p, &end, 10);
        if (d->a < (d->kind == 'J') || d->a > 365)
            return NULL;
    }
    p = end;
    d->time = 2 * 3600;
    if (*p == '/')
        p = s_parse_hms(p + 1, 167, &d->time);
    return p;
}

//  start[/time],end[/time]. 0, or -1 if malformed.
static int s_parse_rule_dates(const char *p, s_rule_t *r)
{
    if (!(p = s_parse_date(p, &r->start)) || *p != ',' || !(p = s_parse_date(p + 1, &r->end)))
        return -1;
    return *p ? -1 : 0;
}

//  std offset [dst [offset] [,start[/time],end[/time]]]. 0, or -1 if malformed.
static int s_parse_rule(const char *p, s_rule_t *r)
{
    memset(r, 0, sizeof *r);
    int32_t west;
    if (!(p = s_parse_name(p)) || !(p = s_parse_hms(p, 24, &west)))
        return -1;
    r->std_off = -west;
    if (!*p)
        return 0;
    if (!(p = s_parse_name(p)))
        return -1;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = s_parse_hms(p, 24, &west)))
            return -1;
        r->dst_off = -west;
    }
    if (!*p) //  no dates given: the US rules, as POSIX implementations assume
        return s_parse_rule_dates("M3.2.0,M11.1.0", r);
    return *p == ',' ? s_parse_rule_dates(p + 1, r) : -1;
}

//  The local date (days since 1970-01-01) a rule date falls on in year y.
static int64_t s_rule_day(const s_rule_date_t *d, int64_t y)
{
    int64_t jan1 = fc_days_from_civil(y, 1, 1);
    if (d->kind == 'D')
        return jan1 + d->a;
    if (d->kind == 'J') {
        bool leap = fc_days_in_month(y, 2) == 29;
        return jan1 + d->a - 1 + (leap && d->a >= 60);
    }
    int64_t first = fc_days_from_civil(y, d->a, 1);
    int dow = (int)((first + 4) % 7 + 7) % 7; //  1970-01-01 was a Thursday
    int64_t day = first + (d->c - dow + 7) % 7 + 7 * (d->b - 1);
    while (day >= first + fc_days_in_month(y, d->a))
        day -= 7;
    return day;
}

//  Offset at t under the rule, and the rule's transitions around it: [*lo, *hi).
static int32_t s_rule_span(const s_rule_t *r, int64_t t, int64_t *lo, int64_t *hi)
{
    if (!r->has_dst) {
        *lo = INT64_MIN;
        *hi = INT64_MAX;
        return r->std_off;
    }
    int64_t y;
    int m, d;
    fc_civil_from_days(s_floor_div(t + r->std_off, 86400), &y, &m, &d);
    //  Transitions of the year before, this one and the next, sorted: DST starts at a
    //  local standard time, ends at a local DST time.
    s_trans_t tr[6];
    for (int i = 0; i < 3; i++) {
        int64_t year = y - 1 + i;
        tr[2 * i] = (s_trans_t){s_rule_day(&r->start, year) * 86400 + r->start.time - r->std_off,
                                r->dst_off};
        tr[2 * i + 1] =
            (s_trans_t){s_rule_day(&r->end, year) * 86400 + r->end.time - r->dst_off, r->std_off};
    }
    for (int i = 1; i < 6; i++)
        for (int k = i; k > 0 && tr[k - 1].at > tr[k].at; k--) {
            s_trans_t x = tr[k];
            tr[k] = tr[k - 1];
            tr[k - 1] = x;
        }
    int i = 5;
    while (i >= 0 && tr[i].at > t)
        i--;
    *lo = i >= 0 ? tr[i].at : INT64_MIN;
    *hi = i < 5 ? tr[i + 1].at : INT64_MAX;
    //  Before the first of them (not reached for a sane rule): the state it ends.
    return i >= 0 ? tr[i].off : (tr[0].off == r->dst_off ? r->std_off : r->dst_off);
}

//  --- zones ------------------------------------------------------------------------

//  Offset at t, and an interval [*lo, *hi) around t over which it does not change.
static int32_t s_span(const aggregator_zone_t *z, int64_t t, int64_t *lo, int64_t *hi)
{
    if (!z->ntrans || t < z->trans[0].at) {
        if (!z->ntrans && z->has_rule)
            return s_rule_span(&z->rule, t, lo, hi);
        *lo = INT64_MIN;
        *hi = z->ntrans ? z->trans[0].at : INT64_MAX;
        return z->off0;
    }
    size_t a = 0, b = z->ntrans; //  the last transition <= t is in [a, b)
    while (b - a > 1) {
        size_t mid = a + (b - a) / 2;
        if (z->trans[mid].at <= t)
            a = mid;
        else
            b = mid;
    }
    if (a + 1 < z->ntrans || !z->has_rule) {
        *lo = z->trans[a].at;
        *hi = a + 1 < z->ntrans ? z->trans[a + 1].at : INT64_MAX;
        return z->trans[a].off;
    }
    int32_t off = s_rule_span(&z->rule, t, lo, hi);
    if (*lo < z->trans[a].at)
        *lo = z->trans[a].at;
    return off;
}

int32_t aggregator_tz_offset(const aggregator_zone_t *z, int64_t t)
{
    int64_t lo, hi;
    return s_span(z, t, &lo, &hi);
}

static uint32_t s_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t s_be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)s_be32(p) << 32 | s_be32(p + 4));
}

/*  Parses a TZif file (version 2 or later: its 64-bit block; a version 1 file's 32-bit
    one otherwise) into z. Every count is checked against the size before it is used.
    0, or -1 if malformed. */
static int s_parse_tzif(aggregator_zone_t *z, const uint8_t *p, size_t size)
{
    const uint8_t *end = p + size;
    int tsize = 4;
    for (int pass = 0; pass < 2; pass++) {
        if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0)
            return -1;
        uint32_t isut = s_be32(p + 20), isstd = s_be32(p + 24), leap = s_be32(p + 28),
                 timecnt = s_be32(p + 32), typecnt = s_be32(p + 36), charcnt = s_be32(p + 40);
        bool v2 = p[4] >= '2';
        uint64_t block = (uint64_t)timecnt * (uint64_t)(tsize + 1) + (uint64_t)typecnt * 6 +
                         charcnt + (uint64_t)leap * (uint64_t)(tsize + 4) + isstd + isut;
        p += 44;
        if (typecnt == 0 || typecnt > 256 || timecnt > 100000 || block > (uint64_t)(end - p))
            return -1;
        if (pass == 0 && v2) { //  skip the 32-bit block: the 64-bit one follows
            p += block;
            tsize = 8;
            continue;
        }
        const uint8_t *times = p, *idx = p + (size_t)timecnt * (size_t)tsize,
                      *types = idx + timecnt;
        z->trans = calloc(timecnt + 1, sizeof *z->trans);
        if (!z->trans)
            return -1;
        for (uint32_t i = 0; i < timecnt; i++) {
            if (idx[i] >= typecnt)
                return -1;
            z->trans[i].at = tsize == 8 ? s_be64(times + 8 * (size_t)i)
                                        : (int64_t)(int32_t)s_be32(times + 4 * (size_t)i);
            z->trans[i].off = (int32_t)s_be32(types + 6 * (size_t)idx[i]);
            if (i && z->trans[i].at <= z->trans[i - 1].at)
                return -1;
        }
        z->ntrans = timecnt;
        z->off0 = (int32_t)s_be32(types);
        p += block;
        //  The footer: "\n<TZ string>\n" (version 2+), for instants after the last
        //  transition. An empty one means none.
        if (tsize == 8 && p < end && *p == '\n') {
            const uint8_t *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
            char tz[128];
            size_t n = nl ? (size_t)(nl - p - 1) : 0;
            if (nl && n > 0 && n < sizeof tz) {
                memcpy(tz, p + 1, n);
                tz[n] = 0;
                z->has_rule = s_parse_rule(tz, &z->rule) == 0;
                if (!z->has_rule)
                    return -1;
            }
        }
        return 0;
    }
    return -1;
}

//  True for a zone name that stays inside the tzdata directory.
static bool s_name_ok(const char *name)
{
    if (!*name || *name == '/' || strstr(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return false;
    return true;
}

//  Reads and parses a zone; z->ntrans == 0 and no rule (UTC) when it cannot.
static void s_load(aggregator_zone_t *z)
{
    const char *dir = getenv("TZDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", z->name);
    uint8_t *data = NULL;
    size_t size = 0;
    FILE *f = s_name_ok(z->name) ? fopen(path, "rb") : NULL;
    if (f) {
        data = malloc(S_TZIF_MAX);
        size = data ? fread(data, 1, S_TZIF_MAX, f) : 0;
        fclose(f);
    }
    if (!data || size == 0 || size == S_TZIF_MAX || s_parse_tzif(z, data, size) != 0) {
        if (strcmp(z->name, "UTC") != 0)
            fc_warn(MODULE, "time zone '%s' unreadable in %s: using UTC for it", z->name, path);
        free(z->trans);
        z->trans = NULL;
        z->ntrans = 0;
        z->off0 = 0;
        z->has_rule = false;
    }
    free(data);
}

//  The zone of that name, loaded on first use; NULL only when out of memory.
static const aggregator_zone_t *s_zone(const char *name)
{
    pthread_mutex_lock(&s_zones_mutex);
    aggregator_zone_t *z = s_zones;
    while (z && strcmp(z->name, name) != 0)
        z = z->next;
    if (!z && (z = calloc(1, sizeof *z)) != NULL) {
        snprintf(z->name, sizeof z->name, "%s", name);
        s_load(z);
        z->next = s_zones;
        s_zones = z;
    }
    pthread_mutex_unlock(&s_zones_mutex);
    return z;
}

void aggregator_tz_init(aggregator_tz_t *self, const char *tz)
{
    memset(self, 0, sizeof *self);
    snprintf(self->tz, sizeof self->tz, "%s", tz && *tz ? tz : "UTC");
    self->zone = s_zone(self->tz);
}

//  --- local days -------------------------------------------------------------------

static int32_t s_offset(const aggregator_tz_t *self, int64_t t)
{
    return self->zone ? aggregator_tz_offset(self->zone, t) : 0;
}

static int32_t s_span_of(const aggregator_tz_t *self, int64_t t, int64_t *lo, int64_t *hi)
{
    if (self->zone)
        return s_span(self->zone, t, lo, hi);
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    return 0;
}

/*  The bounds [*start, *end) of the run of instants around t whose local date is
    `days`. Within an interval of constant offset local time grows with t, so the run
    ends inside the interval where local midnight falls, or at a transition after which
    the date differs; intervals that stay on the same date are walked through. false
    when S_SPAN_STEPS intervals did not settle it (the day is then served uncached). */
static bool s_bounds(const aggregator_tz_t *self, int64_t t, int64_t days, int64_t *start,
                     int64_t *end)
{
    int64_t ds = days * 86400, de = ds + 86400, lo, hi, x = t;
    int steps = 0;
    for (;; steps++) {
        if (steps == S_SPAN_STEPS)
            return false;
        int32_t off = s_span_of(self, x, &lo, &hi);
        if (ds - off > lo) {
            *start = ds - off;
            break;
        }
        if (s_floor_div(lo - 1 + s_offset(self, lo - 1), 86400) != days) {
            *start = lo;
            break;
        }
        x = lo - 1;
    }
    for (x = t;; steps++) {
        if (steps == 2 * S_SPAN_STEPS)
            return false;
        int32_t off = s_span_of(self, x, &lo, &hi);
        if (de - off < hi) {
            *end = de - off;
            break;
        }
        if (s_floor_div(hi + s_offset(self, hi), 86400) != days) {
            *end = hi;
            break;
        }
        x = hi;
    }
    return true;
}

//  UTC start of the local day `days` (its first instant), for the month's end.
static int64_t s_day_start(const aggregator_tz_t *self, int64_t days)
{
    int64_t noon = days * 86400 + 43200;
    int64_t x = noon - s_offset(self, noon);
    x = noon - s_offset(self, x);
    int64_t start, end;
    if (s_floor_div(x + s_offset(self, x), 86400) == days && s_bounds(self, x, days, &start, &end))
        return start;
    return days * 86400 - s_offset(self, x);
}

const aggregator_day_t *aggregator_tz_day(aggregator_tz_t *self, int64_t ts_us)
{
    for (int i = 0; i < self->cached; i++)
        if (ts_us >= self->cache[i].start_us && ts_us < self->cache[i].end_us)
            return &self->cache[i];
    int64_t t = s_floor_div(ts_us, 1000000);
    int64_t days = s_floor_div(t + s_offset(self, t), 86400);
    aggregator_day_t *e = &self->cache[self->next];
    e->days = (int32_t)days;
    fc_date_format(days, e->day);
    memcpy(e->month, e->day, 7);
    e->month[7] = 0;
    int64_t y;
    int m, d;
    fc_civil_from_days(days, &y, &m, &d);
    int64_t next_month =
        m == 12 ? fc_days_from_civil(y + 1, 1, 1) : fc_days_from_civil(y, m + 1, 1);
    e->month_end_us = s_day_start(self, next_month) * 1000000;
    int64_t start, end;
    bool exact = s_bounds(self, t, days, &start, &end);
    e->start_us = exact ? start * 1000000 : 0;
    e->end_us = exact ? end * 1000000 : 0;
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
