/*  fc_proto: fleetcost wire protocol v1 — events, batches, acks (see PROTOCOL.md).

    Decoded events are plain structs with bounded, NUL-terminated inline strings:
    decoding allocates nothing, so a malformed input can leak nothing. Every limit
    below is enforced by the decoder and checked by the encoder. */
#ifndef FC_PROTO_H
#define FC_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FC_PROTO_VERSION 1

//  Limits (bytes for strings, excluding the NUL).
#define FC_MAX_FRAME       (4 * 1024 * 1024) //  one ZeroMQ frame (ZMQ_MAXMSGSIZE)
#define FC_MAX_BATCH       5000              //  events in one batch
#define FC_MAX_EVENT_BYTES 16384             //  one encoded event
#define FC_MAX_TENANT      63                //  [a-z0-9][a-z0-9_-]*
#define FC_MAX_ID          127               //  agent, task, session, request ids
#define FC_MAX_NAME        127               //  model, agent type, host, kind, unit
#define FC_MAX_TEXT        511               //  title, description, reason, repo
#define FC_MAX_ATTRS       16                //  attribution attributes per event
#define FC_MAX_ATTR_KEY    31
#define FC_MAX_ATTR_VALUE  127
#define FC_MAX_LABELS      16
#define FC_MAX_LABEL       63
//  Per-event caps on what is summed: they keep one tenant-day of Redis totals (int64)
//  out of reach of honest traffic (PROTOCOL.md §5, docs/SECURITY.md "Totals and int64").
#define FC_MAX_TOKENS     INT64_C(1000000000)       //  per token kind per event (1e9)
#define FC_MAX_COST_NUSD  INT64_C(10000000000000)   //  1e13 nano-USD = 10,000 USD per event
#define FC_MAX_MODE       31                        //  speed, inference geo: [a-z0-9][a-z0-9_-]*
#define FC_MAX_WEB_SEARCH INT64_C(1000000)          //  server-tool web searches per event (1e6)
#define FC_MAX_CODE_EXEC  INT64_C(1000000000)       //  code-execution ms per event (~11.6 days)
#define FC_MAX_KEYS       64                        //  keys in any one msgpack map
#define FC_MAX_DEPTH      8                         //  nesting, counting the event map as 1
#define FC_TS_MIN_US      INT64_C(946684800000000)  //  2000-01-01T00:00:00Z, inclusive
#define FC_TS_MAX_US      INT64_C(4102444800000000) //  2100-01-01T00:00:00Z, exclusive

typedef enum {
    FC_EV_INVALID = 0,
    FC_EV_AGENT_SPAWN,
    FC_EV_AGENT_TERMINATE,
    FC_EV_AGENT_REASSIGN,
    FC_EV_USAGE,
    FC_EV_TASK_CREATED,
    FC_EV_TASK_UPDATED,
    FC_EV_TASK_ASSIGNED,
    FC_EV_TASK_UNASSIGNED,
    FC_EV_TASK_COMPLETED,
    FC_EV_COST,
    FC_EV_COUNT_
} fc_event_type_t;

//  Result codes, in acks and from the decoder. 0 and 1 are successes.
typedef enum {
    FC_OK = 0,                 //  accepted (stored)
    FC_DUPLICATE = 1,          //  already stored earlier: absorbed
    FC_E_MALFORMED = 10,       //  not valid msgpack / wrong shape
    FC_E_VERSION = 11,         //  unknown protocol version
    FC_E_TOO_LARGE = 12,       //  frame, event, string or count over its limit
    FC_E_MISSING = 13,         //  a required field is absent
    FC_E_TYPE = 14,            //  a field has the wrong msgpack type
    FC_E_RANGE = 15,           //  a value is out of range (negative tokens, bad time...)
    FC_E_UNKNOWN_TYPE = 16,    //  event type not known
    FC_E_TENANT = 17,          //  tenant invalid, unknown (when unknown tenants are refused)
    FC_E_TENANT_MISMATCH = 18, //  event names a tenant other than the authenticated one
    FC_E_INTERNAL = 30,        //  server-side failure: retry later
    FC_E_UNAVAILABLE = 31      //  store unavailable: retry later (batch-level)
} fc_code_t;

typedef struct {
    char key[FC_MAX_ATTR_KEY + 1];
    char value[FC_MAX_ATTR_VALUE + 1];
} fc_attr_t;

//  Optional integers use has_* flags; optional strings are empty when absent.
typedef struct {
    uint8_t id[16];                 //  required: stable, time-ordered (UUIDv7 layout)
    int64_t ts_us;                  //  required: event time, microseconds since the Unix epoch, UTC
    fc_event_type_t type;           //  required
    char tenant[FC_MAX_TENANT + 1]; //  required unless the transport authenticates it
    char agent[FC_MAX_ID + 1]; //  agent id (required for agent.*, usage, task.assigned/unassigned)
    char task[FC_MAX_ID + 1];  //  task id (required for task.*)
    char agent_type[FC_MAX_NAME + 1];
    char host[FC_MAX_NAME + 1];
    char session[FC_MAX_ID + 1];

    //  usage
    char model[FC_MAX_NAME + 1];
    char request[FC_MAX_ID + 1];
    int64_t input_tokens, output_tokens, cache_read_tokens, cache_write_5m_tokens,
        cache_write_1h_tokens;
    bool has_api_duration_ms, has_memory_mb, has_cpu_percent, has_reported_cost;
    int64_t api_duration_ms;
    int64_t memory_mb;
    double cpu_percent;         //  not money: a float is fine here
    int64_t reported_cost_nusd; //  what the agent believes it cost, nano-USD
    //  usage: how the request was billed (PROTOCOL.md §4.2); absent = "" / false / 0
    char speed[FC_MAX_MODE + 1]; //  "standard" | "fast"
    char geo[FC_MAX_MODE + 1];   //  inference_geo: "global" | "us"
    bool batch;                  //  sent through a batch API
    int64_t web_search_requests; //  server-tool web searches
    int64_t code_exec_ms;        //  server-tool code-execution time

    //  agent.spawn / terminate / reassign
    char parent_agent[FC_MAX_ID + 1];
    char from_task[FC_MAX_ID + 1]; //  reassign: previous task
    char reason[FC_MAX_TEXT + 1];  //  terminate reason
    bool has_exit_code;
    int64_t exit_code;

    //  task.*
    char title[FC_MAX_TEXT + 1];
    char task_type[FC_MAX_NAME + 1];
    char priority[FC_MAX_NAME + 1];
    char status[FC_MAX_NAME + 1]; //  task.updated / task.completed: e.g. success, failed
    char repo[FC_MAX_TEXT + 1];   //  "owner/name"
    bool has_issue;
    int64_t issue;
    int label_count;
    char labels[FC_MAX_LABELS][FC_MAX_LABEL + 1];

    //  cost
    char kind[FC_MAX_NAME + 1]; //  runtime | storage | mcp | other
    int64_t cost_nusd;
    bool has_quantity;
    int64_t quantity;
    char unit[FC_MAX_NAME + 1];
    char description[FC_MAX_TEXT + 1];

    //  attribution
    int attr_count;
    fc_attr_t attrs[FC_MAX_ATTRS];
} fc_event_t;

//  Where decoding failed and why; filled by every decoder on failure.
typedef struct {
    fc_code_t code;
    char field[48];   //  e.g. "input_tokens", "attrs.team", "events[3]"
    char reason[160]; //  human-readable
} fc_proto_error_t;

//  Type name <-> enum ("usage", "agent.spawn", ...). NULL / FC_EV_INVALID if unknown.
const char *fc_event_type_name(fc_event_type_t type);
fc_event_type_t fc_event_type_parse(const char *name);

//  Short stable name of a code ("ok", "duplicate", "malformed", ...).
const char *fc_code_name(fc_code_t code);
//  Code from its name; -1 if unknown.
int fc_code_parse(const char *name);
//  True for codes after which the sender should retry the same event later.
bool fc_code_retryable(fc_code_t code);

//  The one check of tenant id syntax, `[a-z0-9][a-z0-9_-]{0,62}` (PROTOCOL.md §3; the
//  tenants table's CHECK says the same): every door that takes a tenant id from a
//  command line, a certificate, a mapping file or the wire uses it.
bool fc_tenant_valid(const char *s);

//  Zero an event (all optional fields absent).
void fc_event_init(fc_event_t *ev);

//  Check an event against the rules of its type. Returns FC_OK or a code and fills err.
fc_code_t fc_event_validate(const fc_event_t *ev, fc_proto_error_t *err);

//  Decode one msgpack-encoded event from untrusted bytes, then validate it.
//  Returns FC_OK or an error code with err filled in. Never reads past data+size.
fc_code_t fc_event_decode(const uint8_t *data, size_t size, fc_event_t *ev, fc_proto_error_t *err);

//  The same into an event reused across calls (a decoder's scratch): only what decoding
//  can set is cleared first, not the whole 8 KB. Every field reads as fc_event_decode
//  leaves it; bytes after a string's end or past a count keep what an earlier event
//  left there, so compare such events field by field, never with memcmp.
fc_code_t fc_event_decode_reuse(const uint8_t *data, size_t size, fc_event_t *ev,
                                fc_proto_error_t *err);

//  Encode one event (validated first). Returns the number of bytes written to buf,
//  or -1 if the event is invalid (err filled) or buf is too small.
int fc_event_encode(const fc_event_t *ev, uint8_t *buf, size_t size, fc_proto_error_t *err);

//  Canonical JSON of an event (PROTOCOL.md §JSON): fixed key order, present fields only.
//  Writes a NUL-terminated string; returns its length, or -1 if buf is too small.
int fc_event_to_json(const fc_event_t *ev, char *buf, size_t size);

//  Batches. A batch frame carries each event as a separate msgpack bin, so one bad
//  event does not hide its neighbours. The decoder checks the envelope and hands out
//  the raw bytes of each event; the caller decodes each one.
typedef struct {
    uint32_t version;
    uint64_t batch_id;
    uint32_t count;
    const uint8_t *event_data[FC_MAX_BATCH]; //  point into the frame
    uint32_t event_size[FC_MAX_BATCH];
} fc_batch_t;

//  Decode a batch envelope. Returns FC_OK or FC_E_MALFORMED/FC_E_VERSION/FC_E_TOO_LARGE.
fc_code_t fc_batch_decode(const uint8_t *data, size_t size, fc_batch_t *batch,
                          fc_proto_error_t *err);

//  Batch encoder: collects already-encoded events into one frame.
typedef struct _fc_batch_writer_t fc_batch_writer_t;
fc_batch_writer_t *fc_batch_writer_new(uint64_t batch_id);
void fc_batch_writer_destroy(fc_batch_writer_t **self_p);
//  Append one encoded event; -1 if the batch is full (count or frame size).
int fc_batch_writer_add(fc_batch_writer_t *self, const uint8_t *event, size_t size);
uint32_t fc_batch_writer_count(fc_batch_writer_t *self);
//  Finish the frame; returns a malloc'd buffer the caller owns and sets *size
//  (NULL on OOM). The writer is left unchanged.
uint8_t *fc_batch_writer_finish(fc_batch_writer_t *self, size_t *size);

//  Acks: one per batch, per-event results in batch order.
typedef struct {
    uint8_t code;   //  fc_code_t
    char field[48]; //  set for rejected events
    char reason[160];
} fc_result_t;

typedef struct {
    uint32_t version;
    uint64_t batch_id;
    fc_code_t status; //  FC_OK: results valid; otherwise the batch-level error
    char reason[160]; //  batch-level reason
    uint32_t count;
    fc_result_t *results; //  count entries (owned by the ack after decode)
} fc_ack_t;

//  Encode an ack; returns a malloc'd buffer the caller owns, *size set, NULL on OOM.
uint8_t *fc_ack_encode(const fc_ack_t *ack, size_t *size);
//  Decode an ack (from the network: bounded). Overwrites *ack (clear it first if it holds
//  results). Allocates ack->results; free with fc_ack_clear, also after a failure.
fc_code_t fc_ack_decode(const uint8_t *data, size_t size, fc_ack_t *ack, fc_proto_error_t *err);
void fc_ack_clear(fc_ack_t *ack);

//  Event ids: UUIDv7 layout (48-bit ms time, version 7, random). Thread-safe.
void fc_event_id_new(uint8_t id[16]);
//  Deterministic id from a name (e.g. message.id + requestId): UUIDv8-style hash
//  with the event time in its first 48 bits so the index stays append-mostly.
void fc_event_id_from_name(uint8_t id[16], int64_t ts_us, const char *name, size_t len);
//  Format as canonical 36-char UUID text plus NUL; parse it back (-1 if malformed).
void fc_uuid_format(const uint8_t id[16], char out[37]);
int fc_uuid_parse(const char *text, uint8_t id[16]);

#endif
