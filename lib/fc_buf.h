/*  fc_buf: a growable byte buffer with big-endian and text appenders, and the one loop
    that hands bytes to a file descriptor. */
#ifndef FC_BUF_H
#define FC_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data;
    size_t len, cap;
    int failed; //  set once an allocation failed; appends then do nothing
} fc_buf_t;

void fc_buf_init(fc_buf_t *b);
void fc_buf_free(fc_buf_t *b);
void fc_buf_reset(fc_buf_t *b);

//  Make room for n more bytes; returns a pointer to them or NULL (and sets failed).
uint8_t *fc_buf_reserve(fc_buf_t *b, size_t n);
void fc_buf_add(fc_buf_t *b, const void *data, size_t n);
void fc_buf_add_str(fc_buf_t *b, const char *s);
void fc_buf_addf(fc_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fc_buf_add_be16(fc_buf_t *b, uint16_t v);
void fc_buf_add_be32(fc_buf_t *b, uint32_t v);
void fc_buf_add_be64(fc_buf_t *b, uint64_t v);

//  Writes all n bytes to fd, again after a short write or EINTR. Returns 0, or -1 with
//  errno set (a write of 0 bytes counts as a failure).
int fc_write_all(int fd, const void *data, size_t n);

#endif
