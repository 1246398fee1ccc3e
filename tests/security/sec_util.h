/*  sec_util: what the C security tests share on top of it_util — a raw DEALER to a real
    ingest, and one batch sent with its per-event ack codes read back. */
#ifndef SEC_UTIL_H
#define SEC_UTIL_H

#include <czmq.h>
#include <stdbool.h>

#include "fc_proto.h"

//  A DEALER connected to endpoint (15 s receive timeout, no linger).
zsock_t *sec_dealer(const char *endpoint);

//  Sends evs as one batch and fills codes[i] with each event's ack code. False (and a
//  failed check) when the batch gets no ack or a batch-level error.
bool sec_send(zsock_t *dealer, uint64_t batch_id, const fc_event_t *evs, int n, int *codes);

#endif
