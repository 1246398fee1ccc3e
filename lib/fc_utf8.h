/*  fc_utf8: the one UTF-8 decoder, validator and encoder of fleetcost.

    Why here: the wire codec (names and strings on the wire), the JSON tokenizer (raw
    bytes in strings, \u escapes written back as UTF-8) and the escapers (what is safe
    to print) each had their own copy, with slightly different loops. Well-formed
    means RFC 3629: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
    U+10FFFF, no stray continuation bytes.

    Header-only (static inline) because fc_proto, beneath lib/, uses it too: a
    function here keeps the library graph acyclic. */
#ifndef FC_UTF8_H
#define FC_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

//  Length (1..4) of the well-formed sequence at p, which may use the bytes up to end,
//  with its code point in *cp (cp may be NULL); 0 if the bytes there are not UTF-8.
//  For a NUL-terminated string end may be p + 4: a NUL is never a continuation byte,
//  so the decoder stops at it.
static inline int fc_utf8_decode(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    unsigned c = p[0];
    int n;
    uint32_t v, min;
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0)
        n = 2, v = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, v = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    if (cp)
        *cp = v;
    return n;
}

//  True if s[0..len) is well-formed UTF-8 (NUL bytes count as characters).
static inline bool fc_utf8_valid(const void *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        //  Fast path: eight ASCII bytes at a time (most names and ids are ASCII).
        uint64_t word;
        if (end - p >= 8 && (memcpy(&word, p, 8), (word & UINT64_C(0x8080808080808080)) == 0)) {
            p += 8;
            continue;
        }
        int n = fc_utf8_decode(p, end, NULL);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

//  Writes code point cp (at most U+10FFFF, not a surrogate) as UTF-8 into out and
//  returns its length (1..4).
static inline int fc_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

#endif
