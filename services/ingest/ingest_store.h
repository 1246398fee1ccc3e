/*  ingest_store: writes a group of validated events to Postgres in one transaction.

    Fast path: one binary COPY of every event. If the COPY hits a unique violation
    (a resent event), the transaction is rolled back, the events that already exist
    are looked up and marked duplicate, and the rest are copied again. Dimension rows
    (tenants, agents, tasks, task_agents) and dead letters are written in the same
    transaction, so an ack after commit covers all of them. */
#ifndef INGEST_STORE_H
#define INGEST_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "fc_proto.h"

//  One event of a group, as the server hands it to the store.
typedef struct {
    fc_event_t ev;      //  decoded; tenant filled in (authenticated or from payload)
    fc_code_t result;   //  in: FC_OK or a rejection code; out: FC_OK / FC_DUPLICATE
    char field[48];     //  rejection: field
    char reason[160];   //  rejection: reason
    const uint8_t *raw; //  the event's bytes as received (for dead letters)
    uint32_t raw_size;
    int64_t cost_nusd;     //  priced by the server before the store
    int32_t price_version; //  0 = none
    bool unpriced;
    bool tiered;                    //  priced at the long-context tier rates
    int64_t tool_cost_nusd;         //  the part of cost_nusd server tools made
    char provider[FC_MAX_MODE + 1]; //  of the price version used; "" when unpriced
    char model_family[FC_MAX_NAME + 1];
    uint64_t seq; //  out: the publish seq of the event's tenant message
} ingest_item_t;

typedef struct _ingest_store_t ingest_store_t;

//  Connects lazily; never fails for a down database (writes then return RETRY).
ingest_store_t *ingest_store_new(const char *pg_url, const char *ingest_id, bool register_tenants);
void ingest_store_destroy(ingest_store_t **self_p);

typedef enum { INGEST_STORE_OK = 0, INGEST_STORE_RETRY = 1 } ingest_store_rc_t;

//  Stores the items (rejected ones as dead letters), marks duplicates, assigns seqs
//  (one per tenant present among the newly stored events, strictly increasing) and
//  commits. RETRY means nothing was committed: call again later with the same items.
ingest_store_rc_t ingest_store_write(ingest_store_t *self, ingest_item_t *items, uint32_t count);

//  Last seq this instance committed (continues from ingest_state after a restart).
//  Valid after the first successful ingest_store_connect.
uint64_t ingest_store_last_seq(ingest_store_t *self);

//  This run of the instance (PROTOCOL.md §11): its epoch and the last seq committed
//  before it began. 0, or -1 until the first successful connect has read the seq.
int ingest_store_run(ingest_store_t *self, uint64_t *epoch, uint64_t *base);

//  Connects (if needed) and loads the seq; 0 on success, -1 if Postgres is unreachable.
int ingest_store_connect(ingest_store_t *self);

//  True when unknown tenants are refused rather than registered: the server asks
//  whether a tenant is known. Returns 1 known, 0 unknown, -1 database unavailable.
int ingest_store_tenant_known(ingest_store_t *self, const char *tenant);

#endif
