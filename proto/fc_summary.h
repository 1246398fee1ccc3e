/*  fc_summary: decodes the aggregator's sum.<tenant> message (PROTOCOL.md §12)
    into the few figures its consumers (the alerter, the reporter's live totals) act on. Bounded:
   the frame size, key counts, nesting depth and string lengths are checked before anything is used;
   unknown keys are skipped, so the aggregator may add fields. */
#ifndef FC_SUMMARY_H
#define FC_SUMMARY_H

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
} fc_summary_t;

//  Decodes one summary body. Returns FC_OK, or FC_E_MALFORMED / FC_E_VERSION /
//  FC_E_TOO_LARGE / FC_E_MISSING / FC_E_TYPE / FC_E_RANGE with err filled.
fc_code_t fc_summary_decode(const uint8_t *data, size_t size, fc_summary_t *out,
                            fc_proto_error_t *err);

#endif
