/*  fc_buf: growable buffer. */
#include "fc_buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fc_buf_init(fc_buf_t *b)
{
    memset(b, 0, sizeof *b);
}

void fc_buf_free(fc_buf_t *b)
{
    free(b->data);
    fc_buf_init(b);
}

void fc_buf_reset(fc_buf_t *b)
{
    b->len = 0;
    b->failed = 0;
}

uint8_t *fc_buf_reserve(fc_buf_t *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        uint8_t *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    return b->data + b->len;
}

void fc_buf_add(fc_buf_t *b, const void *data, size_t n)
{
    uint8_t *p = fc_buf_reserve(b, n);
    if (p && n) {
        memcpy(p, data, n);
        b->len += n;
    }
}

void fc_buf_add_str(fc_buf_t *b, const char *s)
{
    fc_buf_add(b, s, strlen(s));
}

void fc_buf_addf(fc_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    uint8_t *p = fc_buf_reserve(b, (size_t)n + 1);
    if (!p)
        return;
    va_start(ap, fmt);
    vsnprintf((char *)p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

//  The big-endian appenders write in place (ingest's binary COPY calls them several
//  times per column of every event: no copy through a temporary).
void fc_buf_add_be16(fc_buf_t *b, uint16_t v)
{
    uint8_t *p = fc_buf_reserve(b, 2);
    if (p) {
        p[0] = (uint8_t)(v >> 8);
        p[1] = (uint8_t)v;
        b->len += 2;
    }
}

void fc_buf_add_be32(fc_buf_t *b, uint32_t v)
{
    uint8_t *p = fc_buf_reserve(b, 4);
    if (p) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
        b->len += 4;
    }
}

void fc_buf_add_be64(fc_buf_t *b, uint64_t v)
{
    uint8_t *p = fc_buf_reserve(b, 8);
    if (p) {
        for (int i = 0; i < 8; i++)
            p[i] = (uint8_t)(v >> (56 - 8 * i));
        b->len += 8;
    }
}

int fc_write_all(int fd, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}
