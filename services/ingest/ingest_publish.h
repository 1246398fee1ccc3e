/*  ingest_publish: the event stream. After a commit, every newly stored event is
    published once, in a message per (tenant, seq) on topic "ev.<tenant>"; a heartbeat
    with the last seq goes out every second on "hb.<ingest_id>" so subscribers notice
    gaps even when nothing is stored. */
#ifndef INGEST_PUBLISH_H
#define INGEST_PUBLISH_H

#include <czmq.h>

#include "ingest_store.h"

typedef struct _ingest_publish_t ingest_publish_t;

//  pub is borrowed (the server owns it).
ingest_publish_t *ingest_publish_new(zsock_t *pub, const char *ingest_id);
void ingest_publish_destroy(ingest_publish_t **self_p);

//  The run every message and heartbeat names from now on (PROTOCOL.md §11): its epoch
//  and the last seq committed before it began.
void ingest_publish_set_run(ingest_publish_t *self, uint64_t epoch, uint64_t base);

//  Fills what the stream carries of an event (priced) from the store's full item.
void ingest_publish_stored(fc_stored_event_t *s, const ingest_item_t *it);

//  Publish the events stored by one commit (result FC_OK), grouped by their seq.
void ingest_publish_group(ingest_publish_t *self, const ingest_rec_t *items, uint32_t count);

//  Publish a heartbeat carrying the last committed seq; nothing until the run is set
//  (the seq is not known before ingest has read it from Postgres).
void ingest_publish_heartbeat(ingest_publish_t *self, uint64_t last_seq);

#endif
