/*  fc_money: overflow-checked nano-USD arithmetic and exact USD text. */
#include "fc_money.h"

#include <stdbool.h>
#include <stdio.h>

int fc_money_add(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

int fc_money_mul(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

static const uint64_t s_pow10[] = {1,      10,      100,      1000,      10000,
                                   100000, 1000000, 10000000, 100000000, 1000000000};

//  Works on the magnitude as uint64_t so INT64_MIN needs no special case: its
//  magnitude 2^63 fits, and whole dollars never exceed 9223372037 even after rounding.
int fc_money_format(int64_t nusd, char *buf, size_t size, int decimals)
{
    if (size > 0)
        buf[0] = 0;
    if (decimals < 0 || decimals > 9)
        return -1;
    bool negative = nusd < 0;
    uint64_t mag = negative ? (uint64_t)0 - (uint64_t)nusd : (uint64_t)nusd;
    uint64_t whole = mag / s_pow10[9];
    uint64_t frac = mag % s_pow10[9];
    uint64_t step = s_pow10[9 - decimals];
    uint64_t rest = frac % step;
    frac /= step;
    if (rest * 2 >= step) {
        frac++;
        if (frac == s_pow10[decimals]) {
            frac = 0;
            whole++;
        }
    }
    if (whole == 0 && frac == 0)
        negative = false;
    int n;
    if (decimals == 0)
        n = snprintf(buf, size, "%s%llu", negative ? "-" : "", (unsigned long long)whole);
    else
        n = snprintf(buf, size, "%s%llu.%0*llu", negative ? "-" : "", (unsigned long long)whole,
                     decimals, (unsigned long long)frac);
    if (n < 0 || (size_t)n >= size) {
        if (size > 0)
            buf[0] = 0;
        return -1;
    }
    return 0;
}

//  Accumulates the magnitude in uint64_t and checks the range at the end, so that
//  "-9.223372036854775808" (INT64_MIN) parses while its positive twin does not.
int fc_money_parse(const char *usd, int64_t *nusd)
{
    const char *p = usd;
    bool negative = *p == '-';
    if (negative)
        p++;
    if (*p == '$')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    uint64_t whole = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, (uint64_t)(*p - '0'), &whole))
            return -1;
    uint64_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        for (; *p >= '0' && *p <= '9'; p++, digits++) {
            if (digits == 9)
                return -1;
            frac = frac * 10 + (uint64_t)(*p - '0');
        }
        if (digits == 0)
            return -1;
        frac *= s_pow10[9 - digits];
    }
    if (*p)
        return -1;
    uint64_t mag;
    if (__builtin_mul_overflow(whole, s_pow10[9], &mag) || __builtin_add_overflow(mag, frac, &mag))
        return -1;
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (mag > limit)
        return -1;
    *nusd = negative && mag > 0 ? -(int64_t)(mag - 1) - 1 : (int64_t)mag;
    return 0;
}

int fc_money_parse_cents(const char *text, size_t len, int64_t *nusd, bool *rounded)
{
    if (!text || len == 0 || len > FC_CENTS_MAX_LEN)
        return -1;
    size_t i = 0;
    bool negative = text[0] == '-';
    if (negative)
        i++;
    //  Integer part: 1..11 digits, so that the whole value times 10^7 stays below 2^63.
    uint64_t whole = 0;
    size_t start = i;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
        whole = whole * 10 + (uint64_t)(text[i] - '0');
    if (i == start || i - start > 11)
        return -1;
    //  Fraction: the first 7 digits are exact nano-USD; the rest only decide rounding.
    uint64_t frac = 0;
    int digits = 0;
    int beyond = 0;           //  the 8th digit
    bool beyond_rest = false; //  any non-zero digit after the 8th
    if (i < len && text[i] == '.') {
        i++;
        size_t fstart = i;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
            int d = text[i] - '0';
            if (digits < 7)
                frac = frac * 10 + (uint64_t)d;
            else if (digits == 7)
                beyond = d;
            else if (d)
                beyond_rest = true;
        }
        if (i == fstart)
            return -1;
    }
    if (i != len)
        return -1;
    for (int k = digits; k < 7; k++)
        frac *= 10;
    uint64_t mag = whole * 10000000 + frac;
    bool inexact = beyond || beyond_rest;
    //  Half to even on the magnitude: symmetric for credits, unbiased over many rows.
    if (beyond > 5 || (beyond == 5 && (beyond_rest || (mag & 1))))
        mag++;
    *nusd = negative ? -(int64_t)mag : (int64_t)mag;
    if (rounded)
        *rounded = inexact;
    return 0;
}
