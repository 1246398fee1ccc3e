/*  fc_time: times as people and agents write them, to microseconds since the epoch. */
#include "fc_time.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

static int s_rfc3339(const char *t, int64_t *us)
{
    int y, mo, d, h = 0, mi = 0, s = 0, n = 0;
    if (sscanf(t, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    const char *p = t + n;
    int64_t frac = 0, offset = 0;
    if (*p) {
        if (sscanf(p, "%*1[Tt ]%2d:%2d:%2d%n", &h, &mi, &s, &n) != 3 || n != 9)
            return -1;
        p += n;
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
            int oh, om, m = 0;
            if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m) != 2 || m != 5 || oh > 23 || om > 59)
                return -1;
            offset = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            p += 6;
        } else {
            return -1;
        }
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    *us = (fc_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset) * 1000000 + frac;
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
