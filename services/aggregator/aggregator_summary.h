/*  aggregator_summary: the sum.<tenant> message (PROTOCOL.md §Summaries), encoded
    from the reply of the summary script (aggregator_redis.c). */
#ifndef AGGREGATOR_SUMMARY_H
#define AGGREGATOR_SUMMARY_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGGREGATOR_SUMMARY_VERSION 1

typedef struct {
    const char *tenant, *tz, *day, *month;
    bool closed;   //  the day has ended in the tenant's zone
    int64_t ts_us; //  as-of time (when the totals were read)
    int top;       //  entries per breakdown head
} aggregator_summary_t;

//  Encodes the message body; reply is the summary script's non-nil reply. Returns a
//  malloc'd buffer the caller owns and sets *size and *rev, or NULL if the reply has an
//  unexpected shape or on OOM.
uint8_t *aggregator_summary_encode(const aggregator_summary_t *s, const redisReply *reply,
                                   size_t *size, int64_t *rev);

//  Field value of an HGETALL reply as an integer (0 if absent).
int64_t aggregator_hash_int(const redisReply *hgetall, const char *field);

#endif
