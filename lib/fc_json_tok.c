/*  fc_json_tok: bounded JSON tokenizer (see fc_json_tok.h). Recursive descent; the
    recursion is bounded by max_depth (at most FC_JTOK_MAX_DEPTH frames). */
#include "fc_json_tok.h"

#include "fc_utf8.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const unsigned char *start, *p, *end;
    const fc_jtok_limits_t *lim;
    fc_jtok_t *toks;
    int count;
    char *err;
    size_t errsize;
} s_parser_t;

//  "byte N: reason" into err (errsize bytes, may be 0). Returns -1.
static int s_vfail(char *err, size_t errsize, size_t at, const char *fmt, va_list ap)
{
    if (!err || !errsize)
        return -1;
    int n = snprintf(err, errsize, "byte %zu: ", at + 1);
    if (n >= 0 && (size_t)n < errsize)
        vsnprintf(err + n, errsize - (size_t)n, fmt, ap);
    return -1;
}

static int s_fail(s_parser_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_parser_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(s->err, s->errsize, (size_t)(s->p - s->start), fmt, ap);
    va_end(ap);
    return -1;
}

static void s_ws(s_parser_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int s_hex4(const unsigned char *p, const unsigned char *end, unsigned *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        *v = *v << 4 | d;
    }
    return 0;
}

//  The four hex digits of a \u escape at q, with the reason when they are not.
static int s_hex4_at(s_parser_t *s, const unsigned char *q, unsigned *v)
{
    if (s_hex4(q, s->end, v))
        return s_fail(s, s->end - q < 4 ? "truncated \\u escape" : "bad \\u escape");
    return 0;
}

static int s_new_token(s_parser_t *s, fc_jtok_type_t type, bool keep)
{
    if (!keep)
        return -2; //  inside a collapsed container: no token
    if (s->count >= s->lim->max_tokens)
        return s_fail(s, "more than %d values", s->lim->max_tokens);
    int i = s->count++;
    fc_jtok_t *t = &s->toks[i];
    memset(t, 0, sizeof *t);
    t->type = (uint8_t)type;
    t->start = (uint32_t)(s->p - s->start);
    return i;
}

static void s_close(s_parser_t *s, int i)
{
    if (i >= 0)
        s->toks[i].next = (uint32_t)s->count;
}

//  A string at s->p (on the opening quote). Checks escapes and UTF-8; surrogate
//  escapes must pair up.
static int s_string(s_parser_t *s, bool keep)
{
    s->p++;
    int i = s_new_token(s, FC_JTOK_STRING, keep);
    if (i == -1)
        return -1;
    bool escaped = false;
    while (s->p < s->end && *s->p != '"') {
        unsigned c = *s->p;
        if (c < 0x20)
            return s_fail(s, "raw control character in a string");
        if (c == '\\') {
            escaped = true;
            if (s->end - s->p < 2)
                return s_fail(s, "unterminated string");
            unsigned e = s->p[1];
            if (e == 'u') {
                unsigned v, lo;
                if (s_hex4_at(s, s->p + 2, &v))
                    return -1;
                s->p += 6;
                if (v >= 0xDC00 && v <= 0xDFFF)
                    return s_fail(s, "lone low surrogate");
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
                        return s_fail(s, "high surrogate without its low half");
                    if (s_hex4_at(s, s->p + 2, &lo))
                        return -1;
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return s_fail(s, "high surrogate without its low half");
                    s->p += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", (int)e) || e == 0)
                return s_fail(s, "bad escape");
            s->p += 2;
            continue;
        }
        int n = fc_utf8_decode(s->p, s->end, NULL);
        if (n == 0)
            return s_fail(s, "invalid UTF-8");
        s->p += n;
    }
    if (s->p >= s->end)
        return s_fail(s, "unterminated string");
    if (i >= 0) {
        s->toks[i].end = (uint32_t)(s->p - s->start);
        s->toks[i].escaped = escaped;
        s_close(s, i);
    }
    s->p++;
    return 0;
}

static bool s_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

//  Length of the JSON number at p, or 0 if there is none.
static size_t s_number_len(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p;
    if (q < end && *q == '-')
        q++;
    if (!s_digit(q, end))
        return 0;
    if (*q == '0')
        q++;
    else
        while (s_digit(q, end))
            q++;
    if (q < end && *q == '.') {
        q++;
        if (!s_digit(q, end))
            return 0;
        while (s_digit(q, end))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (!s_digit(q, end))
            return 0;
        while (s_digit(q, end))
            q++;
    }
    return (size_t)(q - p);
}

static int s_value(s_parser_t *s, int depth, bool keep);

//  An object or array at s->p (on its opening bracket).
static int s_container(s_parser_t *s, int depth, bool keep)
{
    bool object = *s->p == '{';
    if (depth > s->lim->max_depth)
        return s_fail(s, "nested deeper than %d", s->lim->max_depth);
    int i = s_new_token(s, object ? FC_JTOK_OBJECT : FC_JTOK_ARRAY, keep);
    if (i == -1)
        return -1;
    bool keep_children = keep && (s->lim->keep_depth <= 0 || depth <= s->lim->keep_depth);
    if (i >= 0 && !keep_children)
        s->toks[i].collapsed = true;
    s->p++;
    uint32_t size = 0;
    s_ws(s);
    if (s->p < s->end && *s->p == (object ? '}' : ']')) {
        s->p++;
    } else {
        for (;;) {
            s_ws(s);
            if (object) {
                if (s->p >= s->end || *s->p != '"')
                    return s_fail(s, "expected '\"' to start a member name");
                if (s_string(s, keep_children))
                    return -1;
                s_ws(s);
                if (s->p >= s->end || *s->p != ':')
                    return s_fail(s, "expected ':'");
                s->p++;
            }
            if (s_value(s, depth + 1, keep_children))
                return -1;
            if (size == UINT32_MAX)
                return s_fail(s, "too many members");
            size++;
            s_ws(s);
            if (s->p < s->end && *s->p == ',') {
                s->p++;
                continue;
            }
            if (s->p < s->end && *s->p == (object ? '}' : ']')) {
                s->p++;
                break;
            }
            return s->p < s->end ? s_fail(s, "expected ',' or '%c'", object ? '}' : ']')
                                 : s_fail(s, "unexpected end");
        }
    }
    if (i >= 0) {
        s->toks[i].end = (uint32_t)(s->p - s->start);
        s->toks[i].size = keep_children ? size : 0;
        s_close(s, i);
    }
    return 0;
}

static int s_literal(s_parser_t *s, const char *word, fc_jtok_type_t type, bool keep)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return s_fail(s, "unexpected character");
    int i = s_new_token(s, type, keep);
    if (i == -1)
        return -1;
    s->p += n;
    if (i >= 0) {
        s->toks[i].end = (uint32_t)(s->p - s->start);
        s_close(s, i);
    }
    return 0;
}

static int s_value(s_parser_t *s, int depth, bool keep)
{
    s_ws(s);
    if (s->p >= s->end)
        return s_fail(s, "unexpected end, expected a value");
    switch (*s->p) {
    case '{':
    case '[':
        return s_container(s, depth, keep);
    case '"':
        return s_string(s, keep);
    case 't':
        return s_literal(s, "true", FC_JTOK_TRUE, keep);
    case 'f':
        return s_literal(s, "false", FC_JTOK_FALSE, keep);
    case 'n':
        return s_literal(s, "null", FC_JTOK_NULL, keep);
    default: {
        size_t n = s_number_len(s->p, s->end);
        if (n == 0)
            return s_fail(s, *s->p == '-' || (*s->p >= '0' && *s->p <= '9')
                                 ? "bad number"
                                 : "unexpected character");
        int i = s_new_token(s, FC_JTOK_NUMBER, keep);
        if (i == -1)
            return -1;
        s->p += n;
        if (i >= 0) {
            s->toks[i].end = (uint32_t)(s->p - s->start);
            s_close(s, i);
        }
        return 0;
    }
    }
}

int fc_jtok_parse(const char *text, size_t len, const fc_jtok_limits_t *limits, fc_jtok_t *toks,
                  char *err, size_t errsize)
{
    s_parser_t s = {.start = (const unsigned char *)text,
                    .p = (const unsigned char *)text,
                    .end = (const unsigned char *)text + len,
                    .lim = limits,
                    .toks = toks,
                    .err = err,
                    .errsize = errsize};
    if (err && errsize)
        err[0] = 0;
    if (len > UINT32_MAX - 1 || limits->max_tokens < 1 || limits->max_depth < 1 ||
        limits->max_depth > FC_JTOK_MAX_DEPTH)
        return s_fail(&s, "input or limits out of range");
    if (s_value(&s, 1, true))
        return -1;
    s_ws(&s);
    if (s.p != s.end)
        return s_fail(&s, "text after the %s",
                      toks[0].type == FC_JTOK_OBJECT  ? "object"
                      : toks[0].type == FC_JTOK_ARRAY ? "array"
                                                      : "value");
    return s.count;
}

//  Compares the raw string token i with s, applying escapes when the token has any.
bool fc_jtok_string_eq(const char *text, const fc_jtok_t *toks, int i, const char *s)
{
    if (i < 0 || toks[i].type != FC_JTOK_STRING)
        return false;
    const fc_jtok_t *t = &toks[i];
    size_t n = strlen(s);
    if (!t->escaped)
        return t->end - t->start == n && memcmp(text + t->start, s, n) == 0;
    char buf[256];
    if (n >= sizeof buf || t->end - t->start > 6 * sizeof buf)
        return false;
    int m = fc_jtok_string(text, toks, i, buf, sizeof buf);
    return m >= 0 && (size_t)m == n && memcmp(buf, s, n) == 0;
}

int fc_jtok_member(const char *text, const fc_jtok_t *toks, int obj, const char *key)
{
    if (obj < 0 || toks[obj].type != FC_JTOK_OBJECT || toks[obj].collapsed)
        return -1;
    int found = -1;
    int k = obj + 1;
    for (uint32_t m = 0; m < toks[obj].size; m++) {
        if (fc_jtok_string_eq(text, toks, k, key))
            found = k + 1;
        k = (int)toks[k + 1].next;
    }
    return found;
}

int fc_jtok_path(const char *text, const fc_jtok_t *toks, int obj, const char *path)
{
    char key[128];
    while (obj >= 0 && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n == 0 || n >= sizeof key)
            return -1;
        memcpy(key, path, n);
        key[n] = 0;
        obj = fc_jtok_member(text, toks, obj, key);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

//  Appends code point cp as UTF-8; -1 if it does not fit.
static int s_put_utf8(char *out, size_t size, size_t *n, unsigned cp)
{
    unsigned char b[4];
    size_t k = (size_t)fc_utf8_encode(cp, b);
    if (*n + k >= size)
        return -1;
    memcpy(out + *n, b, k);
    *n += k;
    return 0;
}

//  The token was checked by the tokenizer, so escapes here are well formed.
int fc_jtok_string(const char *text, const fc_jtok_t *toks, int i, char *out, size_t size)
{
    if (i < 0 || toks[i].type != FC_JTOK_STRING || size == 0)
        return -1;
    const fc_jtok_t *t = &toks[i];
    const unsigned char *p = (const unsigned char *)text + t->start;
    const unsigned char *end = (const unsigned char *)text + t->end;
    size_t n = 0;
    while (p < end) {
        if (*p != '\\') {
            if (n + 1 >= size)
                return -1;
            out[n++] = (char)*p++;
            continue;
        }
        unsigned e = p[1];
        p += 2;
        unsigned cp;
        switch (e) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u': {
            s_hex4(p, end, &cp);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                s_hex4(p + 2, end, &lo);
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (cp == 0)
                return -1;
            break;
        }
        default:
            cp = e;
        }
        if (s_put_utf8(out, size, &n, cp))
            return -1;
    }
    out[n] = 0;
    return (int)n;
}

int fc_jtok_int64(const char *text, const fc_jtok_t *toks, int i, bool allow_string, int64_t *v)
{
    if (i < 0)
        return -1;
    const fc_jtok_t *t = &toks[i];
    if (t->type != FC_JTOK_NUMBER && !(allow_string && t->type == FC_JTOK_STRING))
        return -1;
    const char *p = text + t->start, *end = text + t->end;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    if (p == end || end - p > 19)
        return -1;
    uint64_t x = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    if (x > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return -1;
    *v = neg ? (int64_t)(0 - x) : (int64_t)x;
    return 0;
}

int fc_json_decimal_scaled(const char *text, size_t len, int scale, int64_t *v)
{
    const unsigned char *p = (const unsigned char *)text;
    if (len == 0 || s_number_len(p, p + len) != len || scale < 0 || scale > 18)
        return -1;
    const unsigned char *end = p + len;
    bool neg = *p == '-';
    if (neg)
        p++;
    //  Collect the significant digits and the decimal exponent of the last one.
    char digits[64];
    int nd = 0;
    int64_t exp = 0;
    bool frac = false;
    for (; p < end && *p != 'e' && *p != 'E'; p++) {
        if (*p == '.') {
            frac = true;
            continue;
        }
        if (nd == 0 && *p == '0') {
            if (frac)
                exp--;
            continue;
        }
        if (nd < (int)sizeof digits) {
            digits[nd++] = (char)*p;
            if (frac)
                exp--;
        } else if (!frac) {
            exp++; //  digits beyond 64 cannot matter below the int64 range
        }
    }
    if (p < end) { //  exponent
        p++;
        bool eneg = *p == '-';
        if (*p == '+' || *p == '-')
            p++;
        int64_t e = 0;
        for (; p < end; p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        exp += eneg ? -e : e;
    }
    exp += scale;
    //  value = digits * 10^exp; round half away from zero at the units digit.
    if (nd == 0) {
        *v = 0;
        return 0;
    }
    if (exp + nd > 19)
        return -1;
    uint64_t x = 0;
    int keep = exp >= 0 ? nd : (int)(nd + exp);
    for (int k = 0; k < keep; k++)
        x = x * 10 + (uint64_t)(digits[k] - '0');
    if (exp > 0)
        for (int64_t k = 0; k < exp; k++)
            x *= 10;
    //  Round: the first dropped digit decides (ties away from zero); below 0.1 units
    //  (keep < 0) the value rounds to zero.
    if (keep >= 0 && keep < nd && digits[keep] >= '5')
        x++;
    if (x > (uint64_t)INT64_MAX)
        return -1;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return 0;
}

//  --- flat objects ---------------------------------------------------------------------

static int s_flat_fail(char *err, size_t errsize, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_flat_fail(char *err, size_t errsize, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(err, errsize, at, fmt, ap);
    va_end(ap);
    return -1;
}

//  Tokens one flat object may take: its scalars, keys and containers. An object
//  within FC_JFLAT_MAX_VALUES scalars fits unless it is padded with empty containers.
#define S_FLAT_TOKENS (4 * FC_JFLAT_MAX_VALUES + 2)

typedef struct {
    const char *text;
    const fc_jtok_t *toks;
    char *buf; //  room for one key, one subkey and one value, each as long as the text
    size_t room;
    char *err;
    size_t errsize;
    fc_jflat_fn *fn;
    void *arg;
} s_flat_t;

//  The string token i unescaped into slot (0 key, 1 subkey, 2 value).
static const char *s_flat_string(s_flat_t *f, int i, int slot)
{
    char *out = f->buf + (size_t)slot * f->room;
    if (fc_jtok_string(f->text, f->toks, i, out, f->room) < 0) {
        //  The slot is as large as the whole text, so only \u0000 gets here.
        s_flat_fail(f->err, f->errsize, f->toks[i].start, "\\u0000 in a string");
        return NULL;
    }
    return out;
}

//  Hands the scalar at token i to the callback.
static int s_flat_scalar(s_flat_t *f, int i, fc_jflat_value_t *v)
{
    const fc_jtok_t *t = &f->toks[i];
    switch (t->type) {
    case FC_JTOK_STRING:
        v->kind = FC_JFLAT_STRING;
        if (!(v->text = s_flat_string(f, i, 2)))
            return -1;
        break;
    case FC_JTOK_NUMBER: {
        size_t n = t->end - t->start;
        if (n > FC_JFLAT_MAX_NUMBER)
            return s_flat_fail(f->err, f->errsize, t->start, "number longer than %d characters",
                               FC_JFLAT_MAX_NUMBER);
        char *out = f->buf + 2 * f->room;
        memcpy(out, f->text + t->start, n);
        out[n] = 0;
        v->kind = FC_JFLAT_NUMBER;
        v->text = out;
        break;
    }
    case FC_JTOK_TRUE:
    case FC_JTOK_FALSE:
        v->kind = FC_JFLAT_BOOL;
        v->text = t->type == FC_JTOK_TRUE ? "true" : "false";
        break;
    default:
        v->kind = FC_JFLAT_NULL;
        v->text = "null";
    }
    return f->fn(f->arg, v, f->err, f->errsize);
}

int fc_jflat_parse(const char *text, size_t len, fc_jflat_fn *fn, void *arg, char *err,
                   size_t errsize)
{
    if (errsize)
        err[0] = 0;
    if (len > FC_JFLAT_MAX_INPUT)
        return s_flat_fail(err, errsize, 0, "object longer than %d bytes", FC_JFLAT_MAX_INPUT);
    size_t at = 0;
    while (at < len &&
           (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r'))
        at++;
    if (at == len)
        return s_flat_fail(err, errsize, at, "unexpected end, expected '{'");
    if (text[at] != '{')
        return s_flat_fail(err, errsize, at, "expected '{'");
    //  Depth 2: the object, and arrays or objects of scalars as its members' values.
    static const fc_jtok_limits_t lim = {.max_tokens = S_FLAT_TOKENS, .max_depth = 2};
    fc_jtok_t toks[S_FLAT_TOKENS];
    if (fc_jtok_parse(text, len, &lim, toks, err, errsize) < 0)
        return -1;
    //  Count the scalars first, so that an object over the limit yields none.
    int values = 0;
    s_flat_t f = {text, toks, NULL, len + 1, err, errsize, fn, arg};
    int k = 1;
    for (uint32_t m = 0; m < toks[0].size; m++, k = (int)toks[k + 1].next) {
        const fc_jtok_t *v = &toks[k + 1];
        uint32_t n = v->type == FC_JTOK_OBJECT || v->type == FC_JTOK_ARRAY ? v->size : 1;
        for (uint32_t e = 0; e < n; e++) {
            if (++values > FC_JFLAT_MAX_VALUES) {
                int at_tok = v->type == FC_JTOK_OBJECT  ? k + 3 + 2 * (int)e
                             : v->type == FC_JTOK_ARRAY ? k + 2 + (int)e
                                                        : k + 1;
                return s_flat_fail(err, errsize, toks[at_tok].start, "more than %d values",
                                   FC_JFLAT_MAX_VALUES);
            }
        }
    }
    f.buf = malloc(3 * f.room);
    if (!f.buf)
        return s_flat_fail(err, errsize, 0, "out of memory");
    int rc = 0;
    k = 1;
    for (uint32_t m = 0; m < toks[0].size && rc == 0; m++, k = (int)toks[k + 1].next) {
        fc_jflat_value_t v = {s_flat_string(&f, k, 0), NULL, -1, FC_JFLAT_NULL, NULL};
        if (!v.key) {
            rc = -1;
            break;
        }
        const fc_jtok_t *val = &toks[k + 1];
        if (val->type == FC_JTOK_ARRAY) {
            for (int e = 0, i = k + 2; e < (int)val->size && rc == 0; e++, i++) {
                v.index = e;
                rc = s_flat_scalar(&f, i, &v);
            }
        } else if (val->type == FC_JTOK_OBJECT) {
            for (int e = 0, i = k + 2; e < (int)val->size && rc == 0; e++, i += 2) {
                if (!(v.subkey = s_flat_string(&f, i, 1)))
                    rc = -1;
                else
                    rc = s_flat_scalar(&f, i + 1, &v);
            }
        } else {
            rc = s_flat_scalar(&f, k + 1, &v);
        }
    }
    free(f.buf);
    return rc;
}
