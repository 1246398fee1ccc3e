/*  fc_utf8: the one decoder, validator and encoder (RFC 3629 well-formedness). */
#include "fc_test.h"
#include "fc_utf8.h"

static int s_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    return fc_utf8_decode(p, p + strlen(s), NULL);
}

int main(void)
{
    uint32_t cp = 0;
    const unsigned char euro[] = "\xe2\x82\xac";
    FC_CHECK_INT(fc_utf8_decode(euro, euro + 3, &cp), 3);
    FC_CHECK_INT(cp, 0x20ac);
    FC_CHECK_INT(s_len("A"), 1);
    FC_CHECK_INT(s_len("\xc3\xa9"), 2);
    FC_CHECK_INT(s_len("\xf0\x9f\x98\x80"), 4);
    FC_CHECK_INT(s_len("\xf4\x8f\xbf\xbf"), 4); //  U+10FFFF
    //  Ill-formed: stray continuation, overlongs, surrogates, above U+10FFFF, bad
    //  leads, truncated sequences (also by the end bound).
    const char *bad[] = {"\x80",
                         "\xbf",
                         "\xc0\xaf",
                         "\xc1\xbf",
                         "\xe0\x80\xaf",
                         "\xed\xa0\x80",
                         "\xed\xbf\xbf",
                         "\xf4\x90\x80\x80",
                         "\xf5\x80\x80\x80",
                         "\xf8\x88\x80\x80\x80",
                         "\xff",
                         "\xe2\x82",
                         "\xf0\x9f\x98"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        FC_CHECK_INT(s_len(bad[i]), 0);
    FC_CHECK_INT(fc_utf8_decode(euro, euro + 2, NULL), 0);
    //  A NUL ends a sequence: with end = p + 4 the decoder does not read past it.
    const unsigned char cut[] = {0xe2, 0x00, 0x82, 0xac};
    FC_CHECK_INT(fc_utf8_decode(cut, cut + 4, NULL), 0);
    //  The validator, across its eight-byte ASCII fast path.
    FC_CHECK(fc_utf8_valid("plain ascii, longer than eight bytes", 36));
    FC_CHECK(fc_utf8_valid("12345678\xc3\xa9"
                           "12345678",
                           18));
    FC_CHECK(!fc_utf8_valid("12345678\xc3"
                            "12345678",
                            17));
    FC_CHECK(!fc_utf8_valid("1234567\xed\xa0\x80", 10));
    FC_CHECK(fc_utf8_valid("", 0));
    //  Encoding round-trips every scalar value (surrogates are not scalar values).
    unsigned char out[4];
    for (uint32_t c = 0; c <= 0x10ffff; c += (c < 0x1000 ? 1 : 61)) {
        if (c >= 0xd800 && c <= 0xdfff)
            continue;
        int n = fc_utf8_encode(c, out);
        uint32_t back = 0;
        if (fc_utf8_decode(out, out + n, &back) != n || back != c)
            FC_CHECK_INT(back, c);
    }
    FC_CHECK_INT(fc_utf8_encode(0x10ffff, out), 4);
    return fc_test_done("test_fc_utf8");
}
