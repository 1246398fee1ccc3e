/*  fc_summary: the aggregator's sum.<tenant> message (PROTOCOL.md §12).

    Encoding (the aggregator): from plain values (fc_summary_msg_t), which the
    aggregator fills from its Redis replies; this codec knows nothing of Redis.
    Decoding (the alerter, the reporter's live totals): the few figures they act on.
    Bounded: the frame size, key counts, nesting depth and string lengths are checked
    before anything is used; unknown keys are skipped, so the aggregator may add
    fields. */
#ifndef FC_SUMMARY_H
#define FC_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_proto.h"

//  Largest summary frame a consumer accepts (top lists of 20 entries fit many times).
#define FC_SUMMARY_MAX (256 * 1024)

typedef struct {
    char tenant[FC_MAX_TENANT + 1];
    char day[11];            //  tenant-local "YYYY-MM-DD" of the day totals
    char month[8];           //  tenant-local "YYYY-MM" of the month totals
    int64_t day_cost_nusd;   //  day_totals.cost_nusd
    int64_t month_cost_nusd; //  month_totals.cost_nusd
    int64_t month_events;    //  month_totals.events
    int64_t day_unpriced;    //  day_totals.unpriced_events (0 when absent)
    int64_t as_of_us;        //  as_of: newest applied event time (0 when absent)
    bool closed;             //  closed: day has ended in the tenant's zone (false when absent)
    //  *_totals.billed_nusd: cost under the tenant's rate card; a summary from before
    //  rate cards has none, and then these are the list costs above.
    int64_t day_billed_nusd;
    int64_t month_billed_nusd;
} fc_summary_t;

#define FC_SUMMARY_VERSION   1
#define FC_SUMMARY_MAX_HEADS 8 //  breakdown dimensions of one part

//  A named integer: a total, or a breakdown entry (key and cost).
typedef struct {
    const char *key;
    int64_t value;
} fc_summary_pair_t;

//  One breakdown ("agent_type", "model", ...): its entries in any order.
typedef struct {
    const char *name;
    const fc_summary_pair_t *entries;
    size_t n;
} fc_summary_head_t;

//  The day or month part of a summary.
typedef struct {
    const fc_summary_pair_t *totals; //  written in this order, then "agents"
    size_t ntotals;
    int64_t agents;
    fc_summary_head_t heads[FC_SUMMARY_MAX_HEADS]; //  written in this order, then "task"
    int nheads;
    const fc_summary_pair_t *tasks; //  the top tasks, already ranked
    size_t ntasks;
} fc_summary_part_t;

//  An applied seq: the last message of an ingest the totals include.
typedef struct {
    const char *ingest_id;
    uint64_t seq;
} fc_summary_seq_t;

//  What a summary says. Strings are borrowed (the caller keeps them alive).
typedef struct {
    const char *tenant, *tz, *day, *month;
    int64_t revision;
    bool closed;      //  the day has ended in the tenant's zone
    int64_t ts_us;    //  as-of time (when the totals were read)
    int64_t as_of_us; //  newest applied event time
    const fc_summary_seq_t *seqs;
    size_t nseqs;
    fc_summary_part_t day_part, month_part;
    int top; //  entries kept per breakdown: the costliest, ties by key
} fc_summary_msg_t;

//  Encodes a summary body (PROTOCOL.md §12). Returns a malloc'd buffer the caller owns
//  and sets *size, or NULL on OOM or more than FC_SUMMARY_MAX_HEADS breakdowns.
uint8_t *fc_summary_encode(const fc_summary_msg_t *msg, size_t *size);

//  Decodes one summary body. Returns FC_OK, or FC_E_MALFORMED / FC_E_VERSION /
//  FC_E_TOO_LARGE / FC_E_MISSING / FC_E_TYPE / FC_E_RANGE with err filled.
fc_code_t fc_summary_decode(const uint8_t *data, size_t size, fc_summary_t *out,
                            fc_proto_error_t *err);

#endif
