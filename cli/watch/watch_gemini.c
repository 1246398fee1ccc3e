/*  watch_gemini: the Gemini CLI chat reader (docs/AGENTS.md §2, "How fleetcost reads
    it").

    Files below ~/.gemini/tmp/<project>/chats/: legacy sessions (Gemini CLI <= 0.38) are
    one JSON document, session-*.json, rewritten whole as the session grows; current
    ones (>= 0.39) are append-only JSONL, session-*.jsonl, and subagent sessions
    chats/<parent sessionId>/<sessionId>.jsonl. In both, a message of type "gemini"
    carries tokens {input, output, cached, thoughts, tool, total} once its response
    arrived; the same message (same id) appears again in every rewrite, in re-appended
    copies and in a legacy session migrated to JSONL.

    A message counts once per (sessionId, message id), the first time it is seen with
    tokens not null: the set of counted keys is kept for the whole watcher and saved
    with the positions. Rewinds ($rewindTo) and checkpoints ($set.messages) never
    subtract: those requests were made and billed. The event id hashes the message's
    timestamp with "gemini|<sessionId>|<message id>", the same in every copy. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch_reader.h"

#define S_LINE_TOKENS 4096
#define S_LINE_KEEP   2         //  line 1, tokens and $set 2
#define S_DOC_KEEP    4         //  document 1, messages 2, message 3, tokens 4
#define S_DOC_TOKENS  (1 << 21) //  tokens of one legacy document at most

typedef struct {
    char session[FC_MAX_ID + 1]; //  JSONL: from the first line, updated by $set.sessionId
} s_file_t;

//  The project id (the directory above chats/) and, for a subagent session, the parent
//  session id (the directory between chats/ and the file).
static void s_where(const char *path, char *project, size_t psize, char *parent, size_t qsize)
{
    project[0] = parent[0] = 0;
    const char *chats = NULL;
    for (const char *p = strstr(path, "/chats/"); p; p = strstr(p + 1, "/chats/"))
        chats = p;
    if (!chats)
        return;
    const char *start = chats;
    while (start > path && start[-1] != '/')
        start--;
    snprintf(project, psize, "%.*s", (int)(chats - start), start);
    const char *rest = chats + 7, *slash = strchr(rest, '/');
    if (slash)
        snprintf(parent, qsize, "%.*s", (int)(slash - rest), rest);
}

//  The message at index m: hands it over if it is a gemini message with tokens not yet
//  counted. Returns 0, or -1 if emit refused it.
static int s_message(watch_ctx_t *c, const char *session, const char *text, const fc_jtok_t *t,
                     int m, uint64_t off)
{
    int type = fc_jtok_member(text, t, m, "type");
    int tokens = fc_jtok_member(text, t, m, "tokens");
    if (!fc_jtok_string_eq(text, t, type, "gemini") || tokens < 0 || t[tokens].type == FC_JTOK_NULL)
        return 0;
    char err[200], when[64];
    watch_usage_t u = {0};
    int64_t in, out, cached, thoughts, tool;
    if (t[tokens].type != FC_JTOK_OBJECT || t[tokens].collapsed) {
        watch_ctx_bad(c, off, "tokens is not an object");
        return 0;
    }
    if (watch_json_str(text, t, m, "id", u.message_id, sizeof u.message_id, err, sizeof err) ||
        watch_json_str(text, t, m, "timestamp", when, sizeof when, err, sizeof err) ||
        watch_json_str(text, t, m, "model", u.model, sizeof u.model, err, sizeof err) ||
        watch_json_count(text, t, tokens, "input", &in, err, sizeof err) ||
        watch_json_count(text, t, tokens, "output", &out, err, sizeof err) ||
        watch_json_count(text, t, tokens, "cached", &cached, err, sizeof err) ||
        watch_json_count(text, t, tokens, "thoughts", &thoughts, err, sizeof err) ||
        watch_json_count(text, t, tokens, "tool", &tool, err, sizeof err)) {
        watch_ctx_bad(c, off, err);
        return 0;
    }
    if (!u.message_id[0] || !session[0]) {
        watch_ctx_bad(c, off, "gemini message without id, or no sessionId before it");
        return 0;
    }
    if (watch_time_parse(when, &u.ts_us) || u.ts_us < FC_TS_MIN_US || u.ts_us >= FC_TS_MAX_US) {
        snprintf(err, sizeof err, "timestamp \"%.40s\" is not an RFC 3339 time", when);
        watch_ctx_bad(c, off, err);
        return 0;
    }
    c->counts->usage_lines++;
    char key[2 * FC_MAX_ID + 2];
    snprintf(key, sizeof key, "%s|%s", session, u.message_id);
    watch_seen_t *seen = c->global;
    if (watch_seen_has(seen, key)) {
        c->counts->duplicates++; //  a re-appended copy, a rewrite or a migrated session
        return 0;
    }
    snprintf(u.session, sizeof u.session, "%s", session);
    if (!u.model[0])
        snprintf(u.model, sizeof u.model, "gemini-unknown"); //  sent, and shown unpriced
    //  cached is part of input; thoughts are billed as output beside it; tool-use prompt
    //  tokens are beside the prompt count (total = input + output + thoughts + tool).
    u.cache_read = cached < in ? cached : in;
    u.input = in - u.cache_read + tool;
    u.output = out + thoughts;
    u.source = "gemini-chat";
    u.agent_type = "gemini-cli";
    snprintf(u.id_name, sizeof u.id_name, "gemini|%s", key);
    char parent[FC_MAX_ID + 1], num[24];
    s_where(c->path, u.cwd, sizeof u.cwd, parent, sizeof parent);
    snprintf(num, sizeof num, "%" PRId64, thoughts);
    watch_usage_attr(&u, "thoughts_tokens", num);
    snprintf(num, sizeof num, "%" PRId64, tool);
    watch_usage_attr(&u, "tool_tokens", num);
    watch_usage_attr(&u, "parent_session", parent);
    if (watch_ctx_emit(c, &u) < 0)
        return -1;
    watch_seen_add(seen, key, u.ts_us);
    return 0;
}

//  One JSONL record: metadata (sessionId), a message, $set or $rewindTo.
static int s_line(watch_ctx_t *c, void *fs, const char *line, size_t len, uint64_t off)
{
    s_file_t *f = fs;
    if (!memmem(line, len, "\"tokens\"", 8) && !memmem(line, len, "\"sessionId\"", 11))
        return 0; //  user messages, $rewindTo, $set of other fields: nothing to read
    static _Thread_local fc_jtok_t toks[S_LINE_TOKENS];
    const fc_jtok_limits_t lim = {S_LINE_TOKENS, 64, S_LINE_KEEP};
    char err[200];
    if (watch_ctx_parse(c, line, len, &lim, toks, off))
        return 0;
    char session[sizeof f->session];
    int set = fc_jtok_member(line, toks, 0, "$set");
    if (set >= 0 || fc_jtok_member(line, toks, 0, "type") < 0) {
        //  The metadata line, or a $set that may rename the session: a message has a type.
        if (watch_json_str(line, toks, set >= 0 ? set : 0, "sessionId", session, sizeof session,
                           err, sizeof err)) {
            watch_ctx_bad(c, off, err);
            return 0;
        }
        if (session[0])
            snprintf(f->session, sizeof f->session, "%s", session);
        return 0;
    }
    return s_message(c, f->session, line, toks, 0, off);
}

//  A legacy session document. Returns 1 while it does not parse: it is being rewritten
//  in place (writeFileSync without a rename) and is read again when it changes.
static int s_document(watch_ctx_t *c, void *fs, const char *text, size_t len)
{
    (void)fs;
    size_t want = len / 2 + 16;
    int max = want < S_DOC_TOKENS ? (int)want : S_DOC_TOKENS;
    fc_jtok_t *toks = malloc((size_t)max * sizeof *toks);
    if (!toks)
        return 1;
    const fc_jtok_limits_t lim = {max, 64, S_DOC_KEEP};
    char err[200], session[FC_MAX_ID + 1];
    int rc = 0;
    if (fc_jtok_parse(text, len, &lim, toks, err, sizeof err) < 0)
        rc = 1;
    else if (toks[0].type != FC_JTOK_OBJECT)
        watch_ctx_bad(c, 0, "not a JSON object");
    else if (watch_json_str(text, toks, 0, "sessionId", session, sizeof session, err, sizeof err))
        watch_ctx_bad(c, 0, err);
    else {
        int messages = fc_jtok_member(text, toks, 0, "messages");
        if (messages >= 0 && toks[messages].type == FC_JTOK_ARRAY) {
            for (int m = messages + 1; rc == 0 && m < (int)toks[messages].next;
                 m = (int)toks[m].next)
                if (toks[m].type == FC_JTOK_OBJECT)
                    rc = s_message(c, session, text, toks, m, 0);
        }
    }
    free(toks);
    return rc;
}

static void s_save(void *fs, uint64_t safe, FILE *out)
{
    (void)safe;
    s_file_t *f = fs;
    if (f->session[0] && watch_state_writable(f->session))
        fprintf(out, "S %s\n", f->session);
}

static int s_load(void *fs, uint64_t pos, const char *line)
{
    (void)pos;
    s_file_t *f = fs;
    if (line[0] != 'S' || line[1] != ' ' || strlen(line + 2) >= sizeof f->session)
        return -1;
    snprintf(f->session, sizeof f->session, "%s", line + 2);
    return 0;
}

//  Session files below a chats/ directory: session-*.json (a document), *.jsonl (main
//  sessions and subagent sessions in chats/<parent>/). Renamed unreadable copies
//  (*.unreadable-<ms>) and everything else in tmp/ are not session files.
static watch_follow_t s_match(const char *path, const char *base)
{
    if (!strstr(path, "/chats/"))
        return WATCH_SKIP;
    size_t n = strlen(base);
    if (n > 6 && strcmp(base + n - 6, ".jsonl") == 0)
        return WATCH_LINES;
    if (n > 13 && strncmp(base, "session-", 8) == 0 && strcmp(base + n - 5, ".json") == 0)
        return WATCH_DOCUMENT;
    return WATCH_SKIP;
}

const watch_reader_t watch_reader_gemini = {
    .name = "gemini",
    .subdirs = {"tmp", NULL},
    .dir_fallback = true,
    .match = s_match,
    .file_size = sizeof(s_file_t),
    .line = s_line,
    .document = s_document,
    .file_save = s_save,
    .file_load = s_load,
    .global_new = watch_seen_new,
    .global_free = watch_seen_free,
    .global_save = watch_seen_save,
    .global_load = watch_seen_load,
};
