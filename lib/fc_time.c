/*  fc_time: times as people and agents write them, to microseconds since the epoch. */
#include "fc_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t fc_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void fc_civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t s_clock_us(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t fc_time_now_us(void)
{
    return s_clock_us(CLOCK_REALTIME);
}

int64_t fc_time_mono_us(void)
{
    return s_clock_us(CLOCK_MONOTONIC);
}

int64_t fc_time_mono_ms(void)
{
    return s_clock_us(CLOCK_MONOTONIC) / 1000;
}

struct timespec fc_time_deadline(clockid_t clock, int64_t ms)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

//  n decimal digits at p (no sign, no spaces) into *v; -1 if any is not a digit.
static int s_digits(const char *p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i]))
            return -1;
        *v = *v * 10 + (p[i] - '0');
    }
    return 0;
}

int fc_days_in_month(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

int fc_date_parse(const char *text, int64_t *days)
{
    int y, m, d;
    if (!text || strnlen(text, 11) != 10 || text[4] != '-' || text[7] != '-' ||
        s_digits(text, 4, &y) || s_digits(text + 5, 2, &m) || s_digits(text + 8, 2, &d))
        return -1;
    if (y < 1 || d < 1 || d > fc_days_in_month(y, m))
        return -1;
    *days = fc_days_from_civil(y, m, d);
    return 0;
}

void fc_date_format(int64_t days, char out[FC_DATE_SIZE])
{
    int64_t y;
    int m, d;
    fc_civil_from_days(days, &y, &m, &d);
    char buf[32];
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)y, m, d);
    memcpy(out, buf, FC_DATE_SIZE - 1);
    out[FC_DATE_SIZE - 1] = 0;
}

const char *fc_time_format(int64_t us, int digits, char *out, size_t size)
{
    //  Floor division, so that times before 1970 format as the instant they are.
    int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int64_t sod = secs - days * 86400;
    char date[FC_DATE_SIZE];
    fc_date_format(days, date);
    int h = (int)(sod / 3600), mi = (int)(sod / 60 % 60), s = (int)(sod % 60);
    if (digits == 3)
        snprintf(out, size, "%sT%02d:%02d:%02d.%03dZ", date, h, mi, s, (int)(frac / 1000));
    else if (digits == 6)
        snprintf(out, size, "%sT%02d:%02d:%02d.%06dZ", date, h, mi, s, (int)frac);
    else
        snprintf(out, size, "%sT%02d:%02d:%02dZ", date, h, mi, s);
    return out;
}

//  RFC 3339 ("2026-11-01T12:00:00.25+02:00", 'T', 't' or a space between date and
//  time; a zone is required) or a bare date (midnight UTC).
static int s_rfc3339(const char *t, int64_t *us)
{
    char date[FC_DATE_SIZE];
    int64_t days;
    int h = 0, mi = 0, s = 0;
    snprintf(date, sizeof date, "%.10s", t);
    if (fc_date_parse(date, &days))
        return -1;
    const char *p = t + 10;
    int64_t frac = 0, offset = 0;
    if (*p) {
        if ((p[0] != 'T' && p[0] != 't' && p[0] != ' ') || s_digits(p + 1, 2, &h) || p[3] != ':' ||
            s_digits(p + 4, 2, &mi) || p[6] != ':' || s_digits(p + 7, 2, &s))
            return -1;
        p += 9;
        if (*p == '.') {
            int digits = 0;
            for (p++; isdigit((unsigned char)*p); p++, digits++)
                if (digits < 6)
                    frac = frac * 10 + (*p - '0');
            if (digits == 0)
                return -1;
            for (; digits < 6; digits++)
                frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (s_digits(p + 1, 2, &oh) || p[3] != ':' || s_digits(p + 4, 2, &om) || oh > 23 ||
                om > 59)
                return -1;
            offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            p += 6;
        } else {
            return -1;
        }
    }
    //  60 seconds: a leap second, counted as the first second of the next minute.
    if (*p || h > 23 || mi > 59 || s > 60)
        return -1;
    *us = (days * 86400 + h * 3600 + mi * 60 + s - offset) * 1000000 + frac;
    return 0;
}

//  Unix seconds with an optional fraction ("1748779200", "1748779200.5").
static int s_unix(const char *t, int64_t *us)
{
    char *end;
    errno = 0;
    long long secs = strtoll(t, &end, 10);
    if (errno || end == t || secs < 0 || secs > INT64_C(4102444800))
        return -1;
    int64_t frac = 0;
    if (*end == '.') {
        int digits = 0;
        for (end++; isdigit((unsigned char)*end); end++, digits++)
            if (digits < 6)
                frac = frac * 10 + (*end - '0');
        if (digits == 0)
            return -1;
        for (; digits < 6; digits++)
            frac *= 10;
    }
    if (*end)
        return -1;
    *us = (int64_t)secs * 1000000 + frac;
    return 0;
}

int fc_time_parse(const char *text, int64_t *us)
{
    if (!text || !*text)
        return -1;
    //  A date starts with four digits and a dash; anything else is Unix seconds.
    bool date = isdigit((unsigned char)text[0]) && isdigit((unsigned char)text[1]) &&
                isdigit((unsigned char)text[2]) && isdigit((unsigned char)text[3]) &&
                text[4] == '-';
    return date ? s_rfc3339(text, us) : s_unix(text, us);
}
