/*  libfleetcost: the client side of the fleetcost wire protocol (proto/PROTOCOL.md).

    An agent (or the fleetcost command) hands events to fc_client_send, which returns
    at once; a background thread batches them, writes every batch to an on-disk spool,
    sends it to ingest over one DEALER socket connected to every endpoint, and deletes
    the spool file only when ingest has acknowledged the batch (ingest acks after its
    Postgres commit). Delivery is at-least-once; a resend carries the same bytes, and
    ingest absorbs it as a duplicate (same event id and time).

    Batches. A batch closes at batch_max_events events, at the frame limit, after
    batch_max_ms, or on fc_client_flush. Up to `window` batches are in flight; a batch
    not acked within ack_timeout_ms is sent again (each resend waits twice as long, up
    to 4x, so a slow ingest is not flooded), as is every batch in flight when a
    connection drops. With ZMQ_IMMEDIATE the DEALER only sends to connected endpoints
    and spreads batches across them, so a resend after a timeout can reach another
    endpoint: that is the failover. Per-event rejections (codes >= 10 in the ack) are
    final: counted, reported through on_result, never resent. A batch-level retryable
    status (FC_E_INTERNAL, FC_E_UNAVAILABLE) is resent when its ack timeout passes. A
    batch refused as a whole with a non-retryable status is renamed <name>.rejected in
    the spool (kept for an operator, not resent) and its events reported as rejected.

    Spool. Each batch is one file <spool_dir>/<batch id, 16 hex>-<events>.batch holding
    the exact frame sent. It is written under <id>.tmp, fsynced per the fsync policy,
    renamed into place without replacing anything (RENAME_NOREPLACE), and the directory
    is fsynced, all before the batch is first sent. It is deleted when its ack arrives.
    Batch ids are the Unix time in seconds (high 32 bits) and 32 random bits, so the
    spool sorts oldest first; a clash with an existing name picks another id.
      FC_FSYNC_BATCH (default): fsync of each file and of the directory before the batch
        is sent: an acked-or-on-disk guarantee across host crashes and power loss.
      FC_FSYNC_NONE: no fsync: survives a crash of the process, not of the host.

    Locking: per-file flock, no spool-wide lock. Many processes (every `fleetcost
    emit` of every agent lifecycle hook on a host) share one spool directory, and each
    must deliver its own event without waiting for the others. A process holds an
    exclusive flock on every spool file it owns, from before the file gets its final
    name until after it is deleted, so no other process sends it concurrently. At start,
    and again whenever it has room, a client scans the directory and adopts, oldest
    first, the files whose lock it can take without waiting: those left by a process
    that exited or crashed (the kernel drops its locks) and those this client had to
    let go of. Files locked by a live process are left to that process. A client owns
    at most 256 files and 64 MiB of frames at a time; beyond that it writes new batches
    to the spool, releases their locks and adopts them again later, so a long outage
    costs disk, not memory or file descriptors.

    Bounds: the spool holds at most spool_max_bytes (default 1 GiB; counted from the
    last scan plus this client's own writes), and at most 64 MiB of events wait in
    memory to be spooled; beyond either, fc_client_send fails with FC_E_UNAVAILABLE.

    Threads: fc_client_send, fc_client_flush and fc_client_stats may be called from
    any thread. on_result runs on the client's background thread and must not call
    back into the client. The client uses its own ZeroMQ context and installs no
    signal handlers. */
#ifndef FLEETCOST_H
#define FLEETCOST_H

#include <stdint.h>

#include "fc_proto.h"

typedef enum {
    FC_FSYNC_BATCH = 0, //  fsync each spool file and the directory before sending
    FC_FSYNC_NONE = 1   //  no fsync: process-crash safe only
} fc_fsync_t;

//  Called for every event of every acked batch, and for every event of a batch
//  rejected as a whole: code is FC_OK, FC_DUPLICATE or a rejection (field and reason
//  set). Only set it when needed: it costs a decode of each acked event.
typedef void(fc_client_result_fn)(void *arg, const uint8_t id[16], fc_code_t code,
                                  const char *field, const char *reason);

typedef struct {
    const char *endpoints;   //  required: comma-separated, e.g. "tcp://a:7601,tcp://b:7601"
    const char *spool_dir;   //  required: created (mode 0700) if missing
    int batch_max_events;    //  0: 500
    int batch_max_ms;        //  0: 5
    int window;              //  unacked batches in flight; 0: 16
    int ack_timeout_ms;      //  resend after this long without an ack; 0: 2000
    fc_fsync_t fsync;        //  default FC_FSYNC_BATCH
    int64_t spool_max_bytes; //  0: 1 GiB
    fc_client_result_fn *on_result;
    void *result_arg;
    //  CurveZMQ: this host's certificate (<name>.cert, its secret in <name>.cert_secret,
    //  from `fleetcost cert create`) and the server's public certificate (server.cert).
    //  Both NULL or empty: plaintext, for an ingest started with --insecure.
    const char *client_cert;
    const char *server_cert;
} fc_client_options_t;

typedef struct {
    uint64_t queued;    //  events accepted by fc_client_send
    uint64_t adopted;   //  events taken over from spool files left by earlier clients
    uint64_t acked;     //  events stored by ingest
    uint64_t duplicate; //  events ingest already had
    uint64_t rejected;  //  events refused by ingest (not retried)
    uint64_t sent;      //  batches sent, first time
    uint64_t resent;    //  batches sent again (timeout, disconnect, retryable status)
    uint64_t unacked;   //  events this client is still to deliver (as fc_client_flush)
    uint64_t spool_files;
    int64_t spool_bytes;
    fc_code_t last_reject_code; //  the last rejection, FC_OK if none
    char last_reject_field[48];
    char last_reject_reason[160];
} fc_client_stats_t;

typedef struct _fc_client_t fc_client_t;

//  Create a client and start its thread: it loads what the spool holds and connects.
//  NULL (reason logged) on bad options or when the spool directory is unusable.
fc_client_t *fc_client_new(const fc_client_options_t *options);

//  Queue an event. Fills ev->id (fc_event_id_new) and ev->ts_us (now) when zero, so
//  the caller learns them. Returns 0, or -1 with err filled: the event's own code if
//  it is invalid, FC_E_UNAVAILABLE if the spool or the queue is full. Fast: encodes
//  and appends to the open batch; all I/O happens on the background thread.
int fc_client_send(fc_client_t *self, fc_event_t *ev, fc_proto_error_t *err);

//  Close the open batch and wait until every event sent so far (and every spool file
//  this client could adopt) is acked, or timeout_ms passes. Returns the number of
//  events still unacked: 0 means all delivered.
uint64_t fc_client_flush(fc_client_t *self, int timeout_ms);

//  Close the open batch and wait until every event sent so far has been written to the
//  spool (fsynced as the fsync policy says), or timeout_ms passes. Returns the number of
//  events not yet written: 0 means a crash of this process can no longer lose them
//  (a spool write that fails is logged, and its events stay in memory). Does not wait
//  for acks: a receiver that must answer its own caller quickly uses this.
uint64_t fc_client_sync(fc_client_t *self, int timeout_ms);

//  A snapshot of the counters.
void fc_client_stats(fc_client_t *self, fc_client_stats_t *stats);

//  Write everything queued to the spool, stop the thread, release the spool files
//  (unacked ones stay for the next client) and NULL the pointer. Never loses a
//  queued event; does not wait for acks (call fc_client_flush first for that).
void fc_client_destroy(fc_client_t **self_p);

//  The spool directory this client uses.
const char *fc_client_spool_dir(fc_client_t *self);

//  Count what a spool directory holds: batch files and the events in them (from the
//  file names). Returns 0, or -1 if the directory cannot be read.
int fc_client_spool_count(const char *spool_dir, uint64_t *files, uint64_t *events);

#endif
