/*  watch_line: one Claude Code transcript line to a usage record (see watch_line.h). */
#include "watch_line.h"

#include "fc_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fc_json_tok.h"

//  A transcript line has a handful of top-level members; message.content can be long,
//  and is collapsed below the depth the reader needs (line 1, message 2, usage 3,
//  usage.cache_creation 4).
#define S_MAX_TOKENS 4096
#define S_KEEP_DEPTH 4

int64_t watch_usage_total(const watch_usage_t *u)
{
    return u->input + u->output + u->cache_read + u->cache_write_5m + u->cache_write_1h;
}

//  Days from 1970-01-01 to y-m-d (proleptic Gregorian).

int watch_time_parse(const char *t, int64_t *us)
{
    //  Transcripts and --since use dates and RFC 3339, never Unix seconds.
    if (!t || !(t[0] >= '0' && t[0] <= '9') || !t[4] || t[4] != '-')
        return -1;
    return fc_time_parse(t, us);
}

//  Copies the string member at path into out; absent or null leaves out empty.
//  Returns 0, or -1 (reason in err) if it is another type or too long.
static int s_str(const char *line, const fc_jtok_t *t, const char *path, char *out, size_t size,
                 char *err, size_t errsize)
{
    out[0] = 0;
    int i = fc_jtok_path(line, t, 0, path);
    if (i < 0 || t[i].type == FC_JTOK_NULL)
        return 0;
    if (fc_jtok_string(line, t, i, out, size) < 0) {
        snprintf(err, errsize, "%s is not a string of at most %zu bytes", path, size - 1);
        out[0] = 0;
        return -1;
    }
    return 0;
}

//  A token count at path: absent or null is 0.
static int s_tokens(const char *line, const fc_jtok_t *t, int usage, const char *key, int64_t *v,
                    char *err, size_t errsize)
{
    *v = 0;
    int i = fc_jtok_path(line, t, usage, key);
    if (i < 0 || t[i].type == FC_JTOK_NULL)
        return 0;
    if (fc_jtok_int64(line, t, i, false, v) || *v < 0 || *v > FC_MAX_TOKENS) {
        snprintf(err, errsize, "usage.%s is not a token count", key);
        return -1;
    }
    return 0;
}

watch_line_kind_t watch_line_parse(const char *line, size_t len, watch_usage_t *u, char *err,
                                   size_t errsize)
{
    static _Thread_local fc_jtok_t toks[S_MAX_TOKENS];
    const fc_jtok_limits_t lim = {S_MAX_TOKENS, 64, S_KEEP_DEPTH};
    memset(u, 0, sizeof *u);
    if (fc_jtok_parse(line, len, &lim, toks, err, errsize) < 0)
        return WATCH_LINE_BAD;
    if (toks[0].type != FC_JTOK_OBJECT) {
        snprintf(err, errsize, "not a JSON object");
        return WATCH_LINE_BAD;
    }
    int type = fc_jtok_member(line, toks, 0, "type");
    int message = fc_jtok_member(line, toks, 0, "message");
    int usage = fc_jtok_member(line, toks, message, "usage");
    if (!fc_jtok_string_eq(line, toks, type, "assistant") || usage < 0 ||
        toks[usage].type == FC_JTOK_NULL)
        return WATCH_LINE_OTHER;
    if (toks[usage].type != FC_JTOK_OBJECT || toks[usage].collapsed) {
        snprintf(err, errsize, "message.usage is not an object");
        return WATCH_LINE_BAD;
    }
    if (s_str(line, toks, "message.model", u->model, sizeof u->model, err, errsize))
        return WATCH_LINE_BAD;
    if (strcmp(u->model, "<synthetic>") == 0)
        return WATCH_LINE_SYNTHETIC;
    char ts[64];
    if (s_str(line, toks, "message.id", u->message_id, sizeof u->message_id, err, errsize) ||
        s_str(line, toks, "requestId", u->request_id, sizeof u->request_id, err, errsize) ||
        s_str(line, toks, "sessionId", u->session, sizeof u->session, err, errsize) ||
        s_str(line, toks, "agentId", u->agent_id, sizeof u->agent_id, err, errsize) ||
        s_str(line, toks, "version", u->version, sizeof u->version, err, errsize) ||
        s_str(line, toks, "cwd", u->cwd, sizeof u->cwd, err, errsize) ||
        s_str(line, toks, "timestamp", ts, sizeof ts, err, errsize))
        return WATCH_LINE_BAD;
    if (!u->message_id[0] || !u->model[0] || !u->session[0]) {
        snprintf(err, errsize, "assistant line without message.id, message.model or sessionId");
        return WATCH_LINE_BAD;
    }
    if (watch_time_parse(ts, &u->ts_us) || u->ts_us < FC_TS_MIN_US || u->ts_us >= FC_TS_MAX_US) {
        snprintf(err, errsize, "timestamp \"%.40s\" is not an RFC 3339 time", ts);
        return WATCH_LINE_BAD;
    }
    int side = fc_jtok_member(line, toks, 0, "isSidechain");
    u->sidechain = side >= 0 && toks[side].type == FC_JTOK_TRUE;
    int stop = fc_jtok_member(line, toks, message, "stop_reason");
    u->final = stop >= 0 && toks[stop].type == FC_JTOK_STRING;

    int64_t creation = 0;
    if (s_tokens(line, toks, usage, "input_tokens", &u->input, err, errsize) ||
        s_tokens(line, toks, usage, "output_tokens", &u->output, err, errsize) ||
        s_tokens(line, toks, usage, "cache_read_input_tokens", &u->cache_read, err, errsize) ||
        s_tokens(line, toks, usage, "cache_creation_input_tokens", &creation, err, errsize) ||
        s_tokens(line, toks, usage, "cache_creation.ephemeral_5m_input_tokens", &u->cache_write_5m,
                 err, errsize) ||
        s_tokens(line, toks, usage, "cache_creation.ephemeral_1h_input_tokens", &u->cache_write_1h,
                 err, errsize))
        return WATCH_LINE_BAD;
    //  Without the split (or where it covers less than the total) the rest of the cache
    //  writes count as 5-minute writes, the cheaper and older default.
    if (creation > u->cache_write_5m + u->cache_write_1h)
        u->cache_write_5m = creation - u->cache_write_1h;
    return WATCH_LINE_USAGE;
}
