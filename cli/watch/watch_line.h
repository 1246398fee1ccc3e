/*  watch_line: reads one line of a Claude Code transcript (one JSON object) and keeps
    what costs money: the usage of an assistant line and who made it. watch_usage_t is
    also what the Codex and Gemini readers hand over (watch_reader.h).

    Facts relied on (docs/CLAUDE_CODE.md): assistant lines carry "type":"assistant",
    message.{id, model, stop_reason, usage}, requestId, timestamp (RFC 3339, UTC),
    sessionId, cwd, isSidechain, agentId (subagent files). Usage holds input_tokens,
    output_tokens, cache_read_input_tokens, cache_creation_input_tokens and, when
    present, cache_creation.{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens};
    and, for how the request was billed (proto/PROTOCOL.md §4.2), speed ("standard" or
    "fast"), inference_geo ("global" or "us", when the transcript keeps it) and
    server_tool_use.web_search_requests. */
#ifndef WATCH_LINE_H
#define WATCH_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_json_tok.h"
#include "fc_proto.h"

#define WATCH_MAX_LINE (16 * 1024 * 1024) //  bytes of one transcript line
#define WATCH_MAX_CWD  1023
#define WATCH_MAX_ATTR 6   //  reader-specific attributes of one usage record
#define WATCH_MAX_NAME 640 //  the name an event id is derived from

typedef enum {
    WATCH_LINE_BAD = -1,      //  not JSON, or an assistant line without what usage needs
    WATCH_LINE_OTHER = 0,     //  valid, but no usage (user lines, summaries, ...)
    WATCH_LINE_USAGE = 1,     //  an assistant line with usage: *u filled
    WATCH_LINE_SYNTHETIC = 2, //  model "<synthetic>": a client-side notice, no cost
} watch_line_kind_t;

//  A reader-specific attribute: the key is a static string.
typedef struct {
    const char *key;
    char value[64];
} watch_attr_t;

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
    char speed[FC_MAX_MODE + 1]; //  as events carry it (fc_usage_mode); "" not said
    char geo[FC_MAX_MODE + 1];   //  inference geo, likewise
    int64_t web_searches;        //  server-tool web searches
    //  Filled by the reader that hands the record over (watch_reader.h), not by
    //  watch_line_parse.
    const char *source;           //  attribute "source": which reader and format
    const char *agent_type;       //  the agent type when neither --agent-type nor a rule names one
    char id_name[WATCH_MAX_NAME]; //  hashed with ts_us into the event id
    int attr_count;
    watch_attr_t attrs[WATCH_MAX_ATTR];
} watch_usage_t;

//  Adds a reader-specific attribute (ignored when full or value is empty).
void watch_usage_attr(watch_usage_t *u, const char *key, const char *value);

//  Classifies line[0..len) (without its newline) and fills *u for usage lines. On
//  WATCH_LINE_BAD, err holds why.
watch_line_kind_t watch_line_parse(const char *line, size_t len, watch_usage_t *u, char *err,
                                   size_t errsize);

//  All tokens of a usage line: what "the largest line" of a response compares.
int64_t watch_usage_total(const watch_usage_t *u);

//  JSON helpers shared by the readers. The string at path (members separated by '.')
//  below object obj into out; absent or null leaves out empty. Returns 0, or -1 (reason
//  in err) if it is another type or longer than size - 1 bytes.
int watch_json_str(const char *text, const fc_jtok_t *t, int obj, const char *path, char *out,
                   size_t size, char *err, size_t errsize);

//  The token count at path below obj: absent or null is 0. Returns 0, or -1 (reason in
//  err) if it is not an integer in 0..FC_MAX_TOKENS.
int watch_json_count(const char *text, const fc_jtok_t *t, int obj, const char *path, int64_t *v,
                     char *err, size_t errsize);

//  RFC 3339 ("2026-11-27T09:00:03.120Z", offsets allowed) or a date ("2026-11-01",
//  midnight UTC) to microseconds since the epoch. Returns 0 or -1.
int watch_time_parse(const char *text, int64_t *us);

#endif
