/*  watch_line: one Claude Code transcript line to a usage record (see watch_line.h). */
#include "watch_line.h"

#include "fc_time.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fc_json_tok.h"
#include "fc_price.h"

//  A transcript line has a handful of top-level members; message.content can be long,
//  and is collapsed below the depth the reader needs (line 1, message 2, usage 3,
//  usage.cache_creation 4).
#define S_MAX_TOKENS 4096
#define S_KEEP_DEPTH 4

int64_t watch_usage_total(const watch_usage_t *u)
{
    return u->input + u->output + u->cache_read + u->cache_write_5m + u->cache_write_1h;
}

void watch_usage_attr(watch_usage_t *u, const char *key, const char *value)
{
    if (u->attr_count >= WATCH_MAX_ATTR || !value || !*value)
        return;
    watch_attr_t *a = &u->attrs[u->attr_count++];
    a->key = key;
    snprintf(a->value, sizeof a->value, "%s", value);
}

int watch_time_parse(const char *t, int64_t *us)
{
    //  Transcripts and --since use dates and RFC 3339, never Unix seconds.
    if (!t || !(t[0] >= '0' && t[0] <= '9') || !t[4] || t[4] != '-')
        return -1;
    return fc_time_parse(t, us);
}

int watch_json_str(const char *text, const fc_jtok_t *t, int obj, const char *path, char *out,
                   size_t size, char *err, size_t errsize)
{
    out[0] = 0;
    int i = obj < 0 ? -1 : fc_jtok_path(text, t, obj, path);
    if (i < 0 || t[i].type == FC_JTOK_NULL)
        return 0;
    if (fc_jtok_string(text, t, i, out, size) < 0) {
        snprintf(err, errsize, "%s is not a string of at most %zu bytes", path, size - 1);
        out[0] = 0;
        return -1;
    }
    return 0;
}

int watch_json_count(const char *text, const fc_jtok_t *t, int obj, const char *path, int64_t *v,
                     char *err, size_t errsize)
{
    *v = 0;
    int i = obj < 0 ? -1 : fc_jtok_path(text, t, obj, path);
    if (i < 0 || t[i].type == FC_JTOK_NULL)
        return 0;
    if (fc_jtok_int64(text, t, i, false, v) || *v < 0 || *v > FC_MAX_TOKENS) {
        snprintf(err, errsize, "%s is not a token count", path);
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
    if (watch_json_str(line, toks, 0, "message.model", u->model, sizeof u->model, err, errsize))
        return WATCH_LINE_BAD;
    if (strcmp(u->model, "<synthetic>") == 0)
        return WATCH_LINE_SYNTHETIC;
    char ts[64];
    if (watch_json_str(line, toks, 0, "message.id", u->message_id, sizeof u->message_id, err,
                       errsize) ||
        watch_json_str(line, toks, 0, "requestId", u->request_id, sizeof u->request_id, err,
                       errsize) ||
        watch_json_str(line, toks, 0, "sessionId", u->session, sizeof u->session, err, errsize) ||
        watch_json_str(line, toks, 0, "agentId", u->agent_id, sizeof u->agent_id, err, errsize) ||
        watch_json_str(line, toks, 0, "version", u->version, sizeof u->version, err, errsize) ||
        watch_json_str(line, toks, 0, "cwd", u->cwd, sizeof u->cwd, err, errsize) ||
        watch_json_str(line, toks, 0, "timestamp", ts, sizeof ts, err, errsize))
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
    if (watch_json_count(line, toks, usage, "input_tokens", &u->input, err, errsize) ||
        watch_json_count(line, toks, usage, "output_tokens", &u->output, err, errsize) ||
        watch_json_count(line, toks, usage, "cache_read_input_tokens", &u->cache_read, err,
                         errsize) ||
        watch_json_count(line, toks, usage, "cache_creation_input_tokens", &creation, err,
                         errsize) ||
        watch_json_count(line, toks, usage, "cache_creation.ephemeral_5m_input_tokens",
                         &u->cache_write_5m, err, errsize) ||
        watch_json_count(line, toks, usage, "cache_creation.ephemeral_1h_input_tokens",
                         &u->cache_write_1h, err, errsize))
        return WATCH_LINE_BAD;
    //  How it was billed. A mode that is not a plain name becomes "unknown": the request is
    //  kept, and priced as unpriced rather than guessed.
    char mode[64];
    if (watch_json_str(line, toks, usage, "speed", mode, sizeof mode, err, errsize))
        return WATCH_LINE_BAD;
    fc_usage_mode(mode, u->speed, sizeof u->speed);
    if (watch_json_str(line, toks, usage, "inference_geo", mode, sizeof mode, err, errsize))
        return WATCH_LINE_BAD;
    fc_usage_mode(mode, u->geo, sizeof u->geo);
    if (watch_json_count(line, toks, usage, "server_tool_use.web_search_requests", &u->web_searches,
                         err, errsize))
        return WATCH_LINE_BAD;
    if (u->web_searches > FC_MAX_WEB_SEARCH) {
        snprintf(err, errsize, "server_tool_use.web_search_requests is out of range");
        return WATCH_LINE_BAD;
    }
    //  Without the split (or where it covers less than the total) the rest of the cache
    //  writes count as 5-minute writes, the cheaper and older default.
    if (creation > u->cache_write_5m + u->cache_write_1h)
        u->cache_write_5m = creation - u->cache_write_1h;
    return WATCH_LINE_USAGE;
}
