/*  ingest_store: writes a group of validated events to Postgres in one transaction.

    Fast path: one binary COPY of every event. If the COPY hits a unique violation
    (a resent event), the transaction is rolled back, the events that already exist
    are looked up and marked duplicate, and the rest are copied again. Dimension rows
    (agents, tasks, task_agents) and dead letters are written in the same transaction,
    so an ack after commit covers all of them, and so are new tenants' registrations
    (at the group's turn to commit). Each connection runs a group's statements once at
    connect, rolled back, so that the first groups' acks do not wait for the server's
    catalog caches to fill. */
#ifndef INGEST_STORE_H
#define INGEST_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "fc_proto.h"

#include "fc_stream.h"

/*  One event of a group, as the server hands it to the store: small (under 1 KB; the
    decoded fc_event_t is 8 KB, nearly all of it room for fields a usage event does not
    have). The store decodes the event's bytes again, one at a time, into an
    ingest_item_t where it needs every field: pricing, the COPY row, dimension rows. */
typedef struct {
    fc_stored_event_t st;           //  id, ts, type from the server; the rest priced by the store
    char tenant[FC_MAX_TENANT + 1]; //  authenticated or from the payload
    fc_code_t result;               //  in: FC_OK or a rejection code; out: FC_OK / FC_DUPLICATE
    char field[48];                 //  rejection: field
    char reason[160];               //  rejection: reason
    const uint8_t *raw;             //  the event's bytes as received (kept alive by the server)
    uint32_t raw_size;
    uint64_t seq; //  out: the publish seq of the event's tenant message
} ingest_rec_t;

//  One event with every field, as the store prices and writes it.
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
    int64_t billed_nusd;  //  cost_nusd under the tenant's rate card (= cost_nusd without one)
    int32_t rate_version; //  the rate card used; 0 = none (billed_nusd stored NULL)
    uint64_t seq;         //  out: the publish seq of the event's tenant message
} ingest_item_t;

//  The seq stream of one instance, shared by its writers (one store per writer, each
//  with its own connection): the run (epoch, base), the next seq to hand out, and the
//  turns in which groups reserve seqs and commit. Thread-safe.
typedef struct _ingest_seqs_t ingest_seqs_t;

ingest_seqs_t *ingest_seqs_new(void);
void ingest_seqs_destroy(ingest_seqs_t **self_p);

//  Shutdown: writes waiting for their turn give up (they return RETRY, uncommitted).
void ingest_seqs_give_up(ingest_seqs_t *self);

//  This run of the instance (PROTOCOL.md §11): its epoch and the last seq committed
//  before it began. 0, or -1 until a store has read the seq from Postgres.
int ingest_seqs_run(ingest_seqs_t *self, uint64_t *epoch, uint64_t *base);

//  A group's place in the order of reservations and commits. The server numbers groups
//  1, 2, ... as it hands them to writers; the store fills in the seqs (base, end] it
//  reserved for the group, kept across retries of the same group.
typedef struct {
    uint64_t ticket;
    bool reserved;
    uint64_t base, end;
} ingest_turn_t;

typedef struct _ingest_store_t ingest_store_t;

//  Connects lazily; never fails for a down database (writes then return RETRY).
//  seqs is borrowed and shared by every store of the instance.
ingest_store_t *ingest_store_new(const char *pg_url, const char *ingest_id, bool register_tenants,
                                 ingest_seqs_t *seqs);
//  Cancels the statement the store's connection runs now, if any (its write then fails
//  and is retried, or given up at shutdown). Safe from another thread.
void ingest_store_cancel(ingest_store_t *self);

void ingest_store_destroy(ingest_store_t **self_p);

typedef enum { INGEST_STORE_OK = 0, INGEST_STORE_RETRY = 1 } ingest_store_rc_t;

//  Stores the items (rejected ones as dead letters), marks duplicates, assigns seqs
//  (one per tenant present among the newly stored events, strictly increasing, from
//  the group's reservation) and commits, after every group with a smaller ticket has.
//  RETRY means nothing was committed: call again later with the same items and turn.
ingest_store_rc_t ingest_store_write(ingest_store_t *self, ingest_turn_t *turn, ingest_rec_t *items,
                                     uint32_t count);

//  Connects (if needed), loads the seq, the caches and the price catalog, and warms the
//  connection up; 0 on success, -1 if Postgres is unreachable.
int ingest_store_connect(ingest_store_t *self);

#endif
