/*  watch_line: reads one line of a Claude Code transcript (one JSON object) and keeps
    what costs money: the usage of an assistant line and who made it.

    Facts relied on (docs/CLAUDE_CODE.md): assistant lines carry "type":"assistant",
    message.{id, model, stop_reason, usage}, requestId, timestamp (RFC 3339, UTC),
    sessionId, cwd, isSidechain, agentId (subagent files). Usage holds input_tokens,
    output_tokens, cache_read_input_tokens, cache_creation_input_tokens and, when
    present, cache_creation.{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}. */
#ifndef WATCH_LINE_H
#define WATCH_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_proto.h"

#define WATCH_MAX_LINE (16 * 1024 * 1024) //  bytes of one transcript line
#define WATCH_MAX_CWD  1023

typedef enum {
    WATCH_LINE_BAD = -1,      //  not JSON, or an assistant line without what usage needs
    WATCH_LINE_OTHER = 0,     //  valid, but no usage (user lines, summaries, ...)
    WATCH_LINE_USAGE = 1,     //  an assistant line with usage: *u filled
    WATCH_LINE_SYNTHETIC = 2, //  model "<synthetic>": a client-side notice, no cost
} watch_line_kind_t;

typedef struct {
    char message_id[FC_MAX_ID + 1];
    char request_id[FC_MAX_ID + 1];
    char session[FC_MAX_ID + 1];
    char agent_id[FC_MAX_ID + 1]; //  subagent id, empty in a main transcript
    char model[FC_MAX_NAME + 1];
    char version[FC_MAX_NAME + 1]; //  Claude Code version
    char cwd[WATCH_MAX_CWD + 1];
    int64_t ts_us;
    bool sidechain;
    bool final; //  stop_reason is set: the response is complete
    int64_t input, output, cache_read, cache_write_5m, cache_write_1h;
} watch_usage_t;

//  Classifies line[0..len) (without its newline) and fills *u for usage lines. On
//  WATCH_LINE_BAD, err holds why.
watch_line_kind_t watch_line_parse(const char *line, size_t len, watch_usage_t *u, char *err,
                                   size_t errsize);

//  All tokens of a usage line: what "the largest line" of a response compares.
int64_t watch_usage_total(const watch_usage_t *u);

//  RFC 3339 ("2026-11-27T09:00:03.120Z", offsets allowed) or a date ("2026-11-01",
//  midnight UTC) to microseconds since the epoch. Returns 0 or -1.
int watch_time_parse(const char *text, int64_t *us);

#endif
