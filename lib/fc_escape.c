/*  fc_escape: escapers per reader, and the secret mask (see fc_escape.h). */
#include "fc_escape.h"

#include "fc_utf8.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

//  The visible form of the character at p for a terminal, or 0 bytes of escape when it
//  may be printed as is. *len gets the bytes it covers.
static int s_text_escape(const unsigned char *p, size_t *len, char esc[8])
{
    uint32_t cp;
    size_t n = (size_t)fc_utf8_decode(p, p + 4, &cp); //  stops at the NUL
    if (n == 0) {
        *len = 1;
        return snprintf(esc, 8, "\\x%02x", p[0]);
    }
    *len = n;
    if (cp < 0x20 || cp == 0x7f)
        return snprintf(esc, 8, "\\x%02x", (unsigned)cp);
    if (cp >= 0x80 && cp <= 0x9f)
        return snprintf(esc, 8, "\\u%04x", (unsigned)cp);
    return 0;
}

const char *fc_esc_text(const char *s, char *out, size_t size)
{
    if (size == 0)
        return out;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        char esc[8];
        size_t len;
        int e = s_text_escape(p, &len, esc);
        const char *src = e ? esc : (const char *)p;
        size_t w = e ? (size_t)e : len;
        if (o + w >= size)
            break; //  never half a character or half an escape
        memcpy(out + o, src, w);
        o += w;
        p += len;
    }
    out[o] = '\0';
    return out;
}

void fc_esc_text_buf(fc_buf_t *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        const unsigned char *run = p;
        char esc[8];
        size_t len = 0;
        int e = 0;
        while (*p && (e = s_text_escape(p, &len, esc)) == 0)
            p += len;
        fc_buf_add(b, run, (size_t)(p - run));
        if (*p) {
            fc_buf_add(b, esc, (size_t)e);
            p += len;
        }
    }
}

void fc_esc_json(fc_buf_t *b, const char *s)
{
    fc_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fc_buf_add(b, "\\", 1);
            fc_buf_add(b, p, 1);
        } else if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '&') {
            fc_buf_addf(b, "\\u%04x", *p);
        } else if (*p >= 0x80) {
            //  JSON is UTF-8 (RFC 8259 §8.1): a byte that is not part of a well-formed
            //  sequence becomes U+FFFD, so the document stays readable.
            int n = fc_utf8_decode(p, p + 4, NULL);
            if (n == 0) {
                fc_buf_add_str(b, "\\ufffd");
            } else {
                fc_buf_add(b, p, (size_t)n);
                p += n - 1;
            }
        } else {
            fc_buf_add(b, p, 1);
        }
    }
    fc_buf_add(b, "\"", 1);
}

void fc_esc_html(fc_buf_t *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '<':
            fc_buf_add_str(b, "&lt;");
            break;
        case '>':
            fc_buf_add_str(b, "&gt;");
            break;
        case '&':
            fc_buf_add_str(b, "&amp;");
            break;
        case '"':
            fc_buf_add_str(b, "&quot;");
            break;
        case '\'':
            fc_buf_add_str(b, "&#39;");
            break;
        default:
            if ((*p >= 0x20 && *p != 0x7f) || *p == '\n' || *p == '\t')
                fc_buf_add(b, p, 1);
        }
    }
}

void fc_esc_csv(fc_buf_t *b, const char *s)
{
    //  Spreadsheets evaluate a cell starting with = + - @ as a formula, and some strip
    //  a leading tab or CR first (OWASP "CSV Injection"): prefix a quote so a hostile
    //  task title stays text.
    bool formula = s[0] && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fc_buf_add_str(b, s);
        return;
    }
    fc_buf_add(b, "\"", 1);
    if (formula)
        fc_buf_add(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fc_buf_add(b, "\"", 1);
        fc_buf_add(b, p, 1);
    }
    fc_buf_add(b, "\"", 1);
}

void fc_esc_slack(fc_buf_t *b, const char *s)
{
    //  Slack's message formatting: "&", "<" and ">" are control characters of mrkdwn
    //  (links, mentions, <!channel>) and must be sent as HTML entities.
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p) {
        char esc[8];
        size_t len;
        if (*p == '&' || *p == '<' || *p == '>') {
            fc_buf_add_str(b, *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : "&gt;");
            p++;
        } else if (s_text_escape(p, &len, esc) > 0) {
            fc_buf_add_str(b, esc);
            p += len;
        } else {
            fc_buf_add(b, p, len);
            p += len;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Masking secrets

typedef struct {
    char *out;
    size_t size, n;
} s_out_t;

static void s_put(s_out_t *o, const char *s, size_t len)
{
    if (o->n + 1 >= o->size)
        return;
    if (len > o->size - 1 - o->n)
        len = o->size - 1 - o->n;
    memcpy(o->out + o->n, s, len);
    o->n += len;
    o->out[o->n] = '\0';
}

//  Whether a query parameter's name says it holds a credential.
static bool s_credential_name(const char *name, size_t len)
{
    static const char *const words[] = {"pass", "token", "key", "secret", "sig", "auth", "code"};
    char low[64];
    if (len >= sizeof low)
        len = sizeof low - 1;
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    low[len] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

//  libpq keyword/value conninfo: "host=h password=x" or "password='a b'".
static void s_mask_conninfo(const char *v, s_out_t *o)
{
    const char *p = v;
    while (*p) {
        const char *kw = p;
        while (*p && *p != '=' && !isspace((unsigned char)*p))
            p++;
        size_t kwlen = (size_t)(p - kw);
        if (*p != '=') {
            s_put(o, kw, (size_t)(p - kw) + (*p ? 1 : 0));
            if (*p)
                p++;
            continue;
        }
        p++; //  '='
        s_put(o, kw, kwlen + 1);
        const char *val = p;
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (*p)
                p++;
        } else {
            while (*p && !isspace((unsigned char)*p))
                p++;
        }
        bool secret = kwlen >= 8 && strncasecmp(kw + kwlen - 8, "password", 8) == 0;
        if (secret)
            s_put(o, "***", 3);
        else
            s_put(o, val, (size_t)(p - val));
    }
}

const char *fc_mask(const char *value, fc_secret_t kind, char *out, size_t size)
{
    s_out_t o = {out, size, 0};
    if (size == 0)
        return out;
    out[0] = '\0';
    const char *v = value ? value : "";
    if (kind == FC_SECRET_NONE || !*v) {
        s_put(&o, v, strlen(v));
        return out;
    }
    if (kind == FC_SECRET_VALUE) {
        s_put(&o, "***", 3);
        return out;
    }
    const char *scheme = strstr(v, "://");
    const char *space = strpbrk(v, " \t");
    if (!scheme || (space && space < scheme)) {
        if (strchr(v, '='))
            s_mask_conninfo(v, &o);
        else if (kind == FC_SECRET_WEBHOOK)
            s_put(&o, "***", 3);
        else
            s_put(&o, v, strlen(v));
        return out;
    }
    bool hook = kind == FC_SECRET_WEBHOOK;
    const char *auth = scheme + 3;
    const char *auth_end = auth + strcspn(auth, "/?#");
    s_put(&o, v, (size_t)(auth - v));
    //  userinfo: up to the last '@' of the authority
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *host = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (hook)
            s_put(&o, "***", 3);
        else if (colon) {
            s_put(&o, auth, (size_t)(colon - auth));
            s_put(&o, ":***", 4);
        } else
            s_put(&o, auth, (size_t)(at - auth));
        s_put(&o, "@", 1);
        host = at + 1;
    }
    s_put(&o, host, (size_t)(auth_end - host));
    const char *p = auth_end;
    const char *path_end = p + strcspn(p, "?#");
    if (hook && path_end - p > 1)
        s_put(&o, "/***", 4);
    else
        s_put(&o, p, (size_t)(path_end - p));
    p = path_end;
    if (*p == '?') {
        s_put(&o, "?", 1);
        p++;
        while (*p && *p != '#') {
            const char *name = p;
            size_t plen = strcspn(p, "&#");
            const char *eq = memchr(p, '=', plen);
            if (eq && (hook || s_credential_name(name, (size_t)(eq - name)))) {
                s_put(&o, name, (size_t)(eq - name) + 1);
                s_put(&o, "***", 3);
            } else {
                s_put(&o, p, plen);
            }
            p += plen;
            if (*p == '&') {
                s_put(&o, "&", 1);
                p++;
            }
        }
    }
    if (*p == '#')
        s_put(&o, hook ? "#***" : p, hook ? 4 : strlen(p));
    return out;
}
