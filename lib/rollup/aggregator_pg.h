/*  aggregator_pg: what the aggregator reads from and writes to Postgres — tenants, the
    catch-up of missed stream messages by (ingest_id, seq), the grouped sums a rebuild
    or a final rollup starts from, and cost_summaries upserts. */
#ifndef AGGREGATOR_PG_H
#define AGGREGATOR_PG_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "fc_stream.h"

//  The shape of a day or month total, the same in Redis hashes, stream summaries and
//  cost_summaries rows. Totals fields (besides the breakdowns):
//  billed_nusd (the last) is the cost under the tenant's rate card, = cost_nusd without one.
#define AGGREGATOR_TOTALS 9
extern const char *const aggregator_total_fields[AGGREGATOR_TOTALS];
//  Breakdown dimensions, in cost_summaries' names; field prefix "<dimension>:".
//  In the order of aggregator_dim_t from AGGREGATOR_DIM_AGENT_TYPE on.
#define AGGREGATOR_DIMS 6
extern const char *const aggregator_dims[AGGREGATOR_DIMS]; //  agent_type model agent kind
                                                           //  speed provider

//  Rows of a grouped sum: dimension 'total' or one breakdown. Order matches
//  cost_summaries.dimension.
typedef enum {
    AGGREGATOR_DIM_TOTAL,
    AGGREGATOR_DIM_AGENT_TYPE,
    AGGREGATOR_DIM_MODEL,
    AGGREGATOR_DIM_AGENT,
    AGGREGATOR_DIM_KIND,
    AGGREGATOR_DIM_SPEED,    //  usage: standard / fast (PROTOCOL.md §4.2); '' for cost events
    AGGREGATOR_DIM_PROVIDER, //  the price version's provider; '' unpriced or cost events
    AGGREGATOR_DIM_TASK,
    //  Postgres-only (never in Redis or summaries): cache tokens by the price version and
    //  tier each usage was priced with, key "<version>:t" or "<version>:f" ('' unpriced),
    //  so that reports price cache savings over closed days without reading events.
    AGGREGATOR_DIM_PRICE,
    AGGREGATOR_DIM_COUNT_
} aggregator_dim_t;
extern const char *const aggregator_dim_names[AGGREGATOR_DIM_COUNT_];

typedef struct {
    int tenant;   //  index into the request's tenants
    char day[11]; //  tenant-local date
    aggregator_dim_t dim;
    const char *key;              //  '' for total; held by the aggregator_rows_t of the row
    int64_t v[AGGREGATOR_TOTALS]; //  as aggregator_total_fields
    int64_t newest_us;            //  newest event time of the row (µs)
    bool rolled; //  a total row whose day cost_summaries already holds final and equal
} aggregator_row_t;

/*  Rows and their keys. A rebuild of a shard reads hundreds of thousands of rows whose
    keys are a few bytes ("agent-3"): the keys are copied into blocks that never move
    (a row's key stays valid until the rows are reset or freed), not into a 128-byte
    array per row. Zero-initialise; aggregator_rows_free when done. */
typedef struct aggregator_key_block_s aggregator_key_block_t;
typedef struct {
    aggregator_row_t *rows;
    size_t n, cap;
    aggregator_key_block_t *keys;
} aggregator_rows_t;

//  Appends a zeroed row whose key is a copy of key's first len bytes (cut at FC_MAX_ID).
//  NULL on OOM.
aggregator_row_t *aggregator_rows_add(aggregator_rows_t *rs, const char *key, size_t len);
//  Empties rs, keeping its row array and one key block for reuse.
void aggregator_rows_reset(aggregator_rows_t *rs);
void aggregator_rows_free(aggregator_rows_t *rs);

typedef struct {
    char id[FC_MAX_INGEST_ID + 1];
    uint64_t seq;
    uint64_t epoch; //  the run that committed seq (0: unknown)
} aggregator_seq_t;

//  A grouped-sum request: per tenant its zone and an inclusive range of local dates
//  (until NULL: no upper bound), as "YYYY-MM-DD".
typedef struct {
    const char **tenants, **tzs, **since, **until;
    int count;
} aggregator_span_t;

//  Every tenant: calls fn(arg, tenant, tz). 0, or -1 (logged).
int aggregator_pg_tenants(PGconn *pg, void (*fn)(void *, const char *, const char *), void *arg);
//  One tenant's time zone into tz (size bytes). 1 found, 0 unknown, -1 error.
int aggregator_pg_tenant_tz(PGconn *pg, const char *tenant, char *tz, size_t size);

//  Cost entries (usage and cost events) of ingest_id with lo < seq <= hi, grouped into
//  their stream messages in seq order: fn(arg, seq, tenant, events, n) for each, which
//  returns 0 to go on. scratch holds FC_MAX_BATCH events. Returns 0, or -1 (logged or
//  fn failed).
typedef int(aggregator_message_fn)(void *arg, uint64_t seq, const char *tenant,
                                   const fc_stored_event_t *events, size_t n);
int aggregator_pg_catchup(PGconn *pg, const char *ingest_id, uint64_t lo, uint64_t hi,
                          fc_stored_event_t *scratch, aggregator_message_fn *fn, void *arg);

//  Last seq one ingest_id committed and the run that committed it (its ingest_state row,
//  a primary-key lookup; 0 and 0 if none). -1 on error.
int aggregator_pg_max_seq(PGconn *pg, const char *ingest_id, uint64_t *seq, uint64_t *epoch);

//  The last seq of every ingest_id and the run that committed it (*seqs, *nseqs; the
//  caller frees *seqs). 0, or -1 (logged).
int aggregator_pg_seqs(PGconn *pg, aggregator_seq_t **seqs, size_t *nseqs);

//  In one REPEATABLE READ snapshot: the last seq of every ingest_id and the run that
//  committed it (*seqs, *nseqs)
//  and the grouped sums per tenant and local day of the span (appended to rows, ordered
//  by tenant and day). Seqs commit in order per ingest_id, so the sums include exactly
//  the messages up to those seqs. with_seqs false skips the seqs. The sums are read a
//  row at a time (libpq's single-row mode): the whole result is never held twice. The
//  caller frees rows and *seqs. 0, or -1 (logged).
int aggregator_pg_snapshot(PGconn *pg, const aggregator_span_t *span, bool with_seqs,
                           aggregator_rows_t *rows, aggregator_seq_t **seqs, size_t *nseqs);

//  The same without waiting for the sums, on a connection used for nothing else: begins
//  the snapshot, reads the seqs (a few rows), sends the sums query in single-row mode
//  and returns 0 (-1: failed, logged). Then read its rows with
//  aggregator_pg_snapshot_row: a sums row at a time, as they arrive.
int aggregator_pg_snapshot_send(PGconn *pg, const aggregator_span_t *span, aggregator_seq_t **seqs,
                                size_t *nseqs);
//  The next row of the sums query sent by aggregator_pg_snapshot_send, without waiting:
//  1 with *row (a one-row result: the caller converts it with aggregator_pg_snapshot_take
//  and clears it), 0 when no row has arrived yet, 2 once the query is done, -1 if it
//  failed (logged). After 2 or -1 the transaction is over. It reads from the socket
//  only when libpq holds no whole row: a caller that stops taking rows stops the query
//  (Postgres waits on the socket) instead of making libpq buffer the rest.
int aggregator_pg_snapshot_row(PGconn *pg, PGresult **row);
//  The request's tenant index of a one-row sums result.
int aggregator_pg_snapshot_tenant(const PGresult *row);
//  Appends a one-row sums result to rows. 0, or -1 on OOM.
int aggregator_pg_snapshot_take(const PGresult *row, aggregator_rows_t *rows);

//  Brings the open days' groups (cost_open_groups, migrations 0019 and 0021) up to the
//  events committed now: fc_open_refresh on its own, in READ COMMITTED. *added: the
//  events it added (0 when it skipped the round: the insert lock was not granted within
//  2 s). 0, or -1 (logged; the next call retries).
int aggregator_pg_open_refresh(PGconn *pg, int64_t *added);

//  Upserts the rows of one tenant-day into cost_summaries. 0, or -1 (logged).
int aggregator_pg_rollup(PGconn *pg, const char *tenant, const char *day, bool final,
                         const aggregator_row_t *rows, size_t nrows);

//  The same without waiting, on a connection used for nothing else: sends the upsert
//  and returns 0 (1: no rows, nothing sent; -1: not sent, logged). Then poll until it
//  is done: aggregator_pg_rollup_poll returns 1 while it runs, 0 when it committed,
//  -1 when it failed (logged).
int aggregator_pg_rollup_send(PGconn *pg, const char *tenant, const char *day, bool final,
                              const aggregator_row_t *rows, size_t nrows);
int aggregator_pg_rollup_poll(PGconn *pg);

#endif
