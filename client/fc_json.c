/*  fc_json: bounded reader for one flat JSON object (see fc_json.h). Not recursive:
    the grammar it accepts has a fixed depth of two, so the parser is two loops. */
#include "fc_json.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *start, *end;
    char *out; //  unescaped strings go here, one after another
    size_t out_len;
    int values;
    char *err;
    size_t errsize;
    fc_json_fn *fn;
    void *arg;
} s_parser_t;

static int s_fail(s_parser_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_parser_t *s, const char *fmt, ...)
{
    int n = snprintf(s->err, s->errsize, "byte %zu: ", (size_t)(s->p - s->start) + 1);
    if (n >= 0 && (size_t)n < s->errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err + n, s->errsize - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void s_skip_ws(s_parser_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool s_peek(s_parser_t *s, char c)
{
    s_skip_ws(s);
    return s->p < s->end && *s->p == (unsigned char)c;
}

static int s_expect(s_parser_t *s, char c)
{
    if (!s_peek(s, c))
        return s->p < s->end ? s_fail(s, "expected '%c'", c)
                             : s_fail(s, "unexpected end, expected '%c'", c);
    s->p++;
    return 0;
}

//  Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid: no overlongs,
//  no surrogates, nothing above U+10FFFF.
static int s_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    int n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
        n = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (end - p < n)
        return 0;
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static void s_put_utf8(s_parser_t *s, uint32_t cp)
{
    char *o = s->out + s->out_len;
    if (cp < 0x80) {
        o[0] = (char)cp;
        s->out_len += 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        s->out_len += 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        s->out_len += 3;
    } else {
        o[0] = (char)(0xf0 | cp >> 18);
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[3] = (char)(0x80 | (cp & 0x3f));
        s->out_len += 4;
    }
}

static int s_hex4(s_parser_t *s, uint32_t *v)
{
    if (s->end - s->p < 4)
        return s_fail(s, "truncated \\u escape");
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = s->p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return s_fail(s, "bad \\u escape");
        *v = *v << 4 | (uint32_t)d;
    }
    s->p += 4;
    return 0;
}

//  Reads a string (at its opening quote) into the output area; *str points to it.
//  Every escape or sequence writes at most as many bytes as it reads, so the output
//  area (as large as the input) cannot overflow.
static int s_string(s_parser_t *s, const char **str)
{
    if (s_expect(s, '"'))
        return -1;
    *str = s->out + s->out_len;
    while (s->p < s->end && *s->p != '"') {
        unsigned char c = *s->p;
        if (c < 0x20)
            return s_fail(s, "control character in a string");
        if (c != '\\') {
            int n = s_utf8_len(s->p, s->end);
            if (!n)
                return s_fail(s, "invalid UTF-8");
            memcpy(s->out + s->out_len, s->p, (size_t)n);
            s->out_len += (size_t)n;
            s->p += n;
            continue;
        }
        if (++s->p >= s->end)
            break;
        c = *s->p++;
        const char *simple = strchr("\"\\/bfnrt", c);
        if (c && simple) {
            static const char map[] = "\"\\/\b\f\n\r\t";
            s->out[s->out_len++] = map[simple - "\"\\/bfnrt"];
            continue;
        }
        if (c != 'u') {
            s->p--;
            return s_fail(s, "bad escape '\\%c'", c >= 0x20 && c < 0x7f ? c : '?');
        }
        uint32_t cp;
        if (s_hex4(s, &cp))
            return -1;
        if (cp >= 0xdc00 && cp <= 0xdfff)
            return s_fail(s, "lone low surrogate");
        if (cp >= 0xd800 && cp <= 0xdbff) {
            uint32_t lo;
            if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                return s_fail(s, "high surrogate without its low half");
            s->p += 2;
            if (s_hex4(s, &lo))
                return -1;
            if (lo < 0xdc00 || lo > 0xdfff)
                return s_fail(s, "high surrogate without its low half");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (cp == 0)
            return s_fail(s, "\\u0000 in a string");
        s_put_utf8(s, cp);
    }
    if (s->p >= s->end)
        return s_fail(s, "unterminated string");
    s->p++;
    s->out[s->out_len++] = 0;
    return 0;
}

static int s_number(s_parser_t *s, const char **text)
{
    const unsigned char *b = s->p, *p = s->p, *e = s->end;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0')
        p++;
    else if (p < e && *p >= '1' && *p <= '9')
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    else
        return s_fail(s, "bad number");
    if (p < e && *p == '.') {
        p++;
        if (p >= e || *p < '0' || *p > '9')
            return s_fail(s, "bad number");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return s_fail(s, "bad number");
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p - b > FC_JSON_MAX_NUMBER)
        return s_fail(s, "number longer than %d characters", FC_JSON_MAX_NUMBER);
    *text = s->out + s->out_len;
    memcpy(s->out + s->out_len, b, (size_t)(p - b));
    s->out_len += (size_t)(p - b);
    s->out[s->out_len++] = 0;
    s->p = p;
    return 0;
}

static bool s_literal(s_parser_t *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

//  Reads one scalar and hands it to the callback.
static int s_scalar(s_parser_t *s, fc_json_value_t *v)
{
    s_skip_ws(s);
    if (s->p >= s->end)
        return s_fail(s, "unexpected end, expected a value");
    unsigned char c = *s->p;
    int rc = 0;
    if (c == '"') {
        v->kind = FC_JSON_STRING;
        rc = s_string(s, &v->text);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        v->kind = FC_JSON_NUMBER;
        rc = s_number(s, &v->text);
    } else if (s_literal(s, "true")) {
        v->kind = FC_JSON_BOOL, v->text = "true";
    } else if (s_literal(s, "false")) {
        v->kind = FC_JSON_BOOL, v->text = "false";
    } else if (s_literal(s, "null")) {
        v->kind = FC_JSON_NULL, v->text = "null";
    } else if (c == '{' || c == '[') {
        return s_fail(s, "nested deeper than one level");
    } else {
        return s_fail(s, "unexpected character '%c'", c >= 0x20 && c < 0x7f ? c : '?');
    }
    if (rc)
        return rc;
    if (++s->values > FC_JSON_MAX_VALUES)
        return s_fail(s, "more than %d values", FC_JSON_MAX_VALUES);
    if (s->fn(s->arg, v, s->err, s->errsize) != 0)
        return -1;
    return 0;
}

//  A member's value: a scalar, an array of scalars or an object of scalars.
static int s_member_value(s_parser_t *s, const char *key)
{
    fc_json_value_t v = {key, NULL, -1, FC_JSON_NULL, NULL};
    if (s_peek(s, '[')) {
        s->p++;
        if (s_peek(s, ']')) {
            s->p++;
            return 0;
        }
        for (v.index = 0;; v.index++) {
            if (s_scalar(s, &v))
                return -1;
            if (s_peek(s, ']')) {
                s->p++;
                return 0;
            }
            if (s_expect(s, ','))
                return -1;
        }
    }
    if (s_peek(s, '{')) {
        s->p++;
        if (s_peek(s, '}')) {
            s->p++;
            return 0;
        }
        for (;;) {
            s_skip_ws(s);
            if (s_string(s, &v.subkey) || s_expect(s, ':') || s_scalar(s, &v))
                return -1;
            if (s_peek(s, '}')) {
                s->p++;
                return 0;
            }
            if (s_expect(s, ','))
                return -1;
        }
    }
    return s_scalar(s, &v);
}

int fc_json_parse_object(const char *text, size_t len, fc_json_fn *fn, void *arg, char *err,
                         size_t errsize)
{
    s_parser_t s = {(const unsigned char *)text,
                    (const unsigned char *)text,
                    (const unsigned char *)text + len,
                    NULL,
                    0,
                    0,
                    err,
                    errsize,
                    fn,
                    arg};
    if (errsize)
        err[0] = 0;
    if (len > FC_JSON_MAX_INPUT)
        return s_fail(&s, "object longer than %d bytes", FC_JSON_MAX_INPUT);
    //  Unescaped text never outgrows the input; each string or number adds one NUL.
    s.out = malloc(2 * len + 1);
    if (!s.out)
        return s_fail(&s, "out of memory");
    int rc = s_expect(&s, '{');
    if (rc == 0 && s_peek(&s, '}'))
        s.p++;
    else
        while (rc == 0) {
            const char *key;
            s_skip_ws(&s);
            size_t mark = s.out_len;
            rc = s_string(&s, &key);
            if (rc == 0)
                rc = s_expect(&s, ':');
            if (rc == 0)
                rc = s_member_value(&s, key);
            s.out_len = mark; //  this member's strings are no longer needed
            if (rc == 0 && s_peek(&s, '}')) {
                s.p++;
                break;
            }
            if (rc == 0)
                rc = s_expect(&s, ',');
        }
    if (rc == 0) {
        s_skip_ws(&s);
        if (s.p != s.end)
            rc = s_fail(&s, "text after the object");
    }
    free(s.out);
    return rc;
}
