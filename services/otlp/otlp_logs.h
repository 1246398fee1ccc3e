/*  otlp_logs: an OTLP/HTTP JSON logs request (ExportLogsServiceRequest) to usage events.

    Shape read (OTLP 1.x, proto3 JSON mapping):
        resourceLogs[].resource.attributes[]            {key, value: AnyValue}
        resourceLogs[].scopeLogs[].logRecords[]         timeUnixNano, observedTimeUnixNano
                                                        (int64: a string of digits or a
                                                        number), body: AnyValue, attributes[]
    AnyValue: {stringValue | intValue | doubleValue | boolValue | ...}.

    A record is a Claude Code API request when its attribute event.name is "api_request"
    or its body stringValue is "claude_code.api_request"; each becomes one usage event.
    Facts relied on (Claude Code's monitoring documentation, "API request event"):
    session.id, model, input_tokens, output_tokens, cache_read_tokens,
    cache_creation_tokens, cost_usd, duration_ms, request_id (when the API returned one),
    event.timestamp, event.sequence, and the standard attributes (user.account_uuid,
    organization.id, terminal.type, app.version, ...). Numbers may arrive as intValue,
    doubleValue or stringValue: all three are read, from their text, never through a
    double. The mapping is in docs/CLAUDE_CODE.md §2.

    Bounds: nesting deeper than OTLP_MAX_DEPTH is malformed; every string has its
    fc_event_t limit; attribution attributes stop at FC_MAX_ATTRS. A bad API request
    record is rejected alone (counted, reason kept); a request whose envelope is not of
    this shape is malformed as a whole, before any event is emitted. */
#ifndef OTLP_LOGS_H
#define OTLP_LOGS_H

#include <stddef.h>

#include "fc_proto.h"

#define OTLP_MAX_DEPTH 64  //  JSON nesting accepted in a request
#define OTLP_MAX_MSG   512 //  bytes of otlp_result_t.message

typedef enum {
    OTLP_OK = 0,          //  mapped (some records may have been rejected: see the counts)
    OTLP_MALFORMED = 1,   //  not JSON, or not an ExportLogsServiceRequest: nothing emitted
    OTLP_UNAVAILABLE = 2, //  emit failed with a retryable code: the sender should retry
} otlp_status_t;

typedef struct {
    int records;                //  log records seen
    int events;                 //  usage events emitted
    int ignored;                //  records that are not API requests (other Claude Code events)
    int rejected;               //  API request records refused (reasons in message)
    int foreign;                //  ... of which named a tenant other than the token's
    char message[OTLP_MAX_MSG]; //  the first rejections, or why the request failed
} otlp_result_t;

//  Receives each usage event; returns 0, or -1 with err filled (a retryable code stops
//  the mapping with OTLP_UNAVAILABLE, any other rejects that record).
typedef int(otlp_emit_fn)(void *arg, fc_event_t *ev, fc_proto_error_t *err);

//  Maps body[0..len) and calls emit for every valid API request record, for the sender
//  authenticated as token_tenant (its token's tenant):
//  - a tenant's token (token_tenant non-empty): every event is that tenant's; a record
//    whose tenant.id attribute names another tenant is rejected (counted in foreign);
//  - an operator token (token_tenant NULL or ""): the record's tenant.id, else
//    default_tenant; with neither (NULL or "") the record is rejected.
//  Fills *res in every case.
otlp_status_t otlp_logs_map(const char *body, size_t len, const char *token_tenant,
                            const char *default_tenant, otlp_emit_fn *emit, void *arg,
                            otlp_result_t *res);

#endif
