/*  watch_codex: the Codex CLI rollout reader (docs/AGENTS.md §1, "How fleetcost reads
    it").

    Files: $CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl and archived_sessions/, one
    JSON object a line, {"timestamp","type","payload"}. The reader keeps, per file, the
    thread id (session_meta), the model and effort of the latest turn_context, and the
    previous running total T_prev; for each event_msg of payload.type "token_count" with
    info not null, T = info.total_token_usage and L = info.last_token_usage:

      no T_prev (first usage line of the file)  -> the turn is L (T may be inherited)
      T == T_prev                               -> the same turn logged again: skipped
      every field of T >= T_prev                -> the turn is T - T_prev
      some field dropped (append-style resume)  -> the turn is L

    A turn whose (T, L) pair was already counted, in this file or another (forks,
    subagents and archived copies repeat a parent's lines), is skipped as replayed; the
    set of pairs is kept for the whole watcher and saved with the positions. The event
    id hashes the line's timestamp with "codex|<thread>|<T>|<L>": no byte offset, so an
    archived copy of a file gives the same ids. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch_reader.h"

//  A response_item line that happens to mention "token_count" is tokenized too: its
//  content elements (level 4) take a few tokens each, hence room for thousands.
#define S_MAX_TOKENS 16384
#define S_KEEP_DEPTH 4 //  line 1, payload 2, info 3, total/last usage 4
#define S_FIELDS     5

//  TokenUsage fields, in the order they are kept, hashed and saved.
static const char *s_fields[S_FIELDS] = {"input_tokens", "cached_input_tokens", "output_tokens",
                                         "reasoning_output_tokens", "total_tokens"};
enum { S_INPUT, S_CACHED, S_OUTPUT, S_REASONING, S_TOTAL };

typedef struct {
    char thread[FC_MAX_ID + 1];
    char model[FC_MAX_NAME + 1];
    char effort[32];
    char version[32];
    char cwd[WATCH_MAX_CWD + 1];
    bool has_prev;
    int64_t prev[S_FIELDS]; //  T_prev
} s_file_t;

//  The five counts of the TokenUsage object at path below info.
static int s_usage(const char *line, const fc_jtok_t *t, int info, const char *path,
                   int64_t v[S_FIELDS], char *err, size_t errsize)
{
    int obj = fc_jtok_member(line, t, info, path);
    if (obj < 0 || t[obj].type != FC_JTOK_OBJECT) {
        snprintf(err, errsize, "token_count without info.%s", path);
        return -1;
    }
    for (int k = 0; k < S_FIELDS; k++)
        if (watch_json_count(line, t, obj, s_fields[k], &v[k], err, errsize))
            return -1;
    return 0;
}

//  The thread id from a file name, for a file without session_meta: the uuid after
//  "rollout-YYYY-MM-DDTHH-MM-SS-", up to '_' (a resumed thread's second uuid) or ".".
static void s_thread_from_name(const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t skip = strlen("rollout-2026-11-27T10-00-00-");
    out[0] = 0;
    if (strncmp(base, "rollout-", 8) != 0 || strlen(base) <= skip)
        return;
    const char *id = base + skip;
    size_t n = strcspn(id, "_.");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), id);
}

static int s_line(watch_ctx_t *c, void *fs, const char *line, size_t len, uint64_t off)
{
    s_file_t *f = fs;
    //  Most lines are messages and tool output, often long: only the three line types
    //  the reader uses are tokenized.
    if (!memmem(line, len, "token_count", 11) && !memmem(line, len, "turn_context", 12) &&
        !memmem(line, len, "session_meta", 12))
        return 0;
    static _Thread_local fc_jtok_t toks[S_MAX_TOKENS];
    const fc_jtok_limits_t lim = {S_MAX_TOKENS, 64, S_KEEP_DEPTH};
    char err[200];
    if (watch_ctx_parse(c, line, len, &lim, toks, off))
        return 0;
    int type = fc_jtok_member(line, toks, 0, "type");
    int payload = fc_jtok_member(line, toks, 0, "payload");
    if (payload < 0 || toks[payload].type != FC_JTOK_OBJECT)
        return 0;
    if (fc_jtok_string_eq(line, toks, type, "session_meta")) {
        s_file_t meta = *f;
        if (watch_json_str(line, toks, payload, "id", meta.thread, sizeof meta.thread, err,
                           sizeof err) ||
            watch_json_str(line, toks, payload, "cwd", meta.cwd, sizeof meta.cwd, err,
                           sizeof err) ||
            watch_json_str(line, toks, payload, "cli_version", meta.version, sizeof meta.version,
                           err, sizeof err)) {
            watch_ctx_bad(c, off, err);
            return 0;
        }
        *f = meta;
        return 0;
    }
    if (fc_jtok_string_eq(line, toks, type, "turn_context")) {
        char model[sizeof f->model], effort[sizeof f->effort], cwd[sizeof f->cwd];
        if (watch_json_str(line, toks, payload, "model", model, sizeof model, err, sizeof err) ||
            watch_json_str(line, toks, payload, "effort", effort, sizeof effort, err, sizeof err) ||
            watch_json_str(line, toks, payload, "cwd", cwd, sizeof cwd, err, sizeof err)) {
            watch_ctx_bad(c, off, err);
            return 0;
        }
        snprintf(f->model, sizeof f->model, "%s", model);
        snprintf(f->effort, sizeof f->effort, "%s", effort);
        if (cwd[0])
            snprintf(f->cwd, sizeof f->cwd, "%s", cwd);
        return 0;
    }
    int ptype = fc_jtok_member(line, toks, payload, "type");
    if (!fc_jtok_string_eq(line, toks, type, "event_msg") ||
        !fc_jtok_string_eq(line, toks, ptype, "token_count"))
        return 0;
    int info = fc_jtok_member(line, toks, payload, "info");
    if (info < 0 || toks[info].type == FC_JTOK_NULL) {
        c->counts->no_usage++; //  a rate-limits-only event
        return 0;
    }
    int64_t T[S_FIELDS], L[S_FIELDS], ts;
    char when[64];
    if (toks[info].type != FC_JTOK_OBJECT ||
        s_usage(line, toks, info, "total_token_usage", T, err, sizeof err) ||
        s_usage(line, toks, info, "last_token_usage", L, err, sizeof err) ||
        watch_json_str(line, toks, 0, "timestamp", when, sizeof when, err, sizeof err)) {
        watch_ctx_bad(c, off, toks[info].type != FC_JTOK_OBJECT ? "info is not an object" : err);
        return 0;
    }
    if (watch_time_parse(when, &ts) || ts < FC_TS_MIN_US || ts >= FC_TS_MAX_US) {
        snprintf(err, sizeof err, "timestamp \"%.40s\" is not an RFC 3339 time", when);
        watch_ctx_bad(c, off, err);
        return 0;
    }
    c->counts->usage_lines++;

    //  The turn's usage by the rules above. Nothing in f changes before emit took it:
    //  a refused line is read again.
    const int64_t *d = L;
    int64_t diff[S_FIELDS];
    bool dropped = false;
    if (f->has_prev) {
        bool same = true, grew = true;
        for (int k = 0; k < S_FIELDS; k++) {
            same &= T[k] == f->prev[k];
            grew &= T[k] >= f->prev[k];
            diff[k] = T[k] - f->prev[k];
        }
        if (same) {
            c->counts->duplicates++;
            return 0; //  T_prev stays T
        }
        if (grew)
            d = diff;
        else
            dropped = true;
    }
    char pair[S_FIELDS * 2 * 21 + 2];
    int n = 0;
    for (int k = 0; k < S_FIELDS; k++)
        n += snprintf(pair + n, sizeof pair - (size_t)n, "%s%" PRId64, k ? "," : "", T[k]);
    n += snprintf(pair + n, sizeof pair - (size_t)n, "|");
    for (int k = 0; k < S_FIELDS; k++)
        n += snprintf(pair + n, sizeof pair - (size_t)n, "%s%" PRId64, k ? "," : "", L[k]);

    watch_seen_t *seen = c->global;
    if (watch_seen_has(seen, pair)) {
        c->counts->replayed++; //  a copy of a turn counted before (fork, subagent, archive)
    } else {
        watch_usage_t u = {0};
        if (f->thread[0])
            snprintf(u.session, sizeof u.session, "%s", f->thread);
        else
            s_thread_from_name(c->path, u.session, sizeof u.session);
        if (!u.session[0]) {
            watch_ctx_bad(c, off, "no session_meta id and no thread id in the file name");
            return 0;
        }
        //  Token counts arrive before any turn_context only in builds older than
        //  turn_context itself; the model is then unknown and the event unpriced.
        snprintf(u.model, sizeof u.model, "%s", f->model[0] ? f->model : "codex-unknown");
        snprintf(u.cwd, sizeof u.cwd, "%s", f->cwd);
        u.ts_us = ts;
        //  cached_input_tokens is part of input_tokens, reasoning part of output_tokens.
        u.cache_read = d[S_CACHED] < d[S_INPUT] ? d[S_CACHED] : d[S_INPUT];
        u.input = d[S_INPUT] - u.cache_read;
        u.output = d[S_OUTPUT];
        u.source = "codex-rollout";
        u.agent_type = "codex-cli";
        snprintf(u.id_name, sizeof u.id_name, "codex|%s|%s", u.session, pair);
        char reasoning[24];
        snprintf(reasoning, sizeof reasoning, "%" PRId64, d[S_REASONING]);
        watch_usage_attr(&u, "reasoning_tokens", reasoning);
        watch_usage_attr(&u, "effort", f->effort);
        watch_usage_attr(&u, "codex_version", f->version);
        int rc = watch_ctx_emit(c, &u);
        if (rc < 0)
            return -1;
        watch_seen_add(seen, pair, ts);
    }
    if (dropped)
        c->counts->counter_reset++;
    memcpy(f->prev, T, sizeof f->prev);
    f->has_prev = true;
    return 0;
}

//  The file's context at the safe offset (the end of the last line read): one line per
//  field, "C <field> <value>", and "P <T_prev>".
static void s_save(void *fs, uint64_t safe, FILE *out)
{
    (void)safe;
    s_file_t *f = fs;
    const struct {
        const char *name, *value;
    } ctx[] = {{"thread", f->thread},
               {"model", f->model},
               {"effort", f->effort},
               {"version", f->version},
               {"cwd", f->cwd}};
    for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++)
        if (ctx[i].value[0] && watch_state_writable(ctx[i].value))
            fprintf(out, "C %s %s\n", ctx[i].name, ctx[i].value);
    if (f->has_prev)
        fprintf(out, "P %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", f->prev[0],
                f->prev[1], f->prev[2], f->prev[3], f->prev[4]);
}

static int s_load(void *fs, uint64_t pos, const char *line)
{
    (void)pos;
    s_file_t *f = fs;
    if (line[0] == 'P' && line[1] == ' ') {
        int64_t *p = f->prev;
        if (sscanf(line + 2, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64, &p[0],
                   &p[1], &p[2], &p[3], &p[4]) != 5)
            return -1;
        f->has_prev = true;
        return 0;
    }
    struct {
        const char *name;
        char *value;
        size_t size;
    } ctx[] = {{"thread ", f->thread, sizeof f->thread},
               {"model ", f->model, sizeof f->model},
               {"effort ", f->effort, sizeof f->effort},
               {"version ", f->version, sizeof f->version},
               {"cwd ", f->cwd, sizeof f->cwd}};
    if (line[0] != 'C' || line[1] != ' ')
        return -1;
    for (size_t i = 0; i < sizeof ctx / sizeof ctx[0]; i++) {
        size_t n = strlen(ctx[i].name);
        if (strncmp(line + 2, ctx[i].name, n) == 0 && strlen(line + 2 + n) < ctx[i].size) {
            snprintf(ctx[i].value, ctx[i].size, "%s", line + 2 + n);
            return 0;
        }
    }
    return -1;
}

//  rollout-*.jsonl; compressed segments (*.jsonl.zst, Codex 0.153+) are not read yet:
//  counted and logged so the gap is visible.
static watch_follow_t s_match(const char *path, const char *base)
{
    (void)path;
    size_t n = strlen(base);
    if (strncmp(base, "rollout-", 8) != 0)
        return WATCH_SKIP;
    if (n > 14 && strcmp(base + n - 6, ".jsonl") == 0)
        return WATCH_LINES;
    if (n > 18 && strcmp(base + n - 10, ".jsonl.zst") == 0)
        return WATCH_UNREADABLE;
    return WATCH_SKIP;
}

const watch_reader_t watch_reader_codex = {
    .name = "codex",
    .subdirs = {"sessions", "archived_sessions", NULL},
    .dir_fallback = true,
    .match = s_match,
    .file_size = sizeof(s_file_t),
    .line = s_line,
    .file_save = s_save,
    .file_load = s_load,
    .global_new = watch_seen_new,
    .global_free = watch_seen_free,
    .global_save = watch_seen_save,
    .global_load = watch_seen_load,
};
