/*  watch_claude: the Claude Code transcript reader (docs/CLAUDE_CODE.md; the request
    rules (a) to (d) are in watch_tail.h). Lines are classified by watch_line; this file
    collapses the lines of one API response into one request and remembers which
    requests were handed over. */
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watch_reader.h"

#define S_MAX_EMITTED 65536 //  remembered keys per file before pruning
#define S_KEY_MAX     (2 * FC_MAX_ID + 2)

//  The one request of a file that may still grow.
typedef struct {
    char key[S_KEY_MAX];
    uint64_t first_off; //  offset of its first line
    uint64_t last_off;  //  offset of its latest line
    int64_t best_total;
    watch_usage_t best; //  ts_us: of the first line
} s_request_t;

typedef struct {
    bool has_pending;
    s_request_t pending;
    uint64_t last_line; //  offset of the latest line read
    zhashx_t *emitted;  //  key -> offset of its latest line + 1
} s_file_t;

static void *s_file_new(void)
{
    s_file_t *f = calloc(1, sizeof *f);
    if (f && !(f->emitted = zhashx_new())) {
        free(f);
        return NULL;
    }
    return f;
}

static void s_file_free(void *fs)
{
    s_file_t *f = fs;
    if (!f)
        return;
    zhashx_destroy(&f->emitted);
    free(f);
}

static uint64_t s_safe(void *fs, uint64_t pos)
{
    s_file_t *f = fs;
    return f->has_pending ? f->pending.first_off : pos;
}

static void s_remember(s_file_t *f, const char *key, uint64_t last_off)
{
    if (zhashx_size(f->emitted) >= S_MAX_EMITTED) {
        //  Only keys whose lines reach past the safe offset matter after a restart;
        //  within a run, forgetting old ones risks nothing worse than a duplicate
        //  line being taken for a new request much later in a long file.
        zlistx_t *keys = zhashx_keys(f->emitted);
        uint64_t safe = s_safe(f, f->last_line);
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
            if ((uint64_t)(uintptr_t)zhashx_lookup(f->emitted, k) - 1 < safe)
                zhashx_delete(f->emitted, k);
        zlistx_destroy(&keys);
    }
    zhashx_update(f->emitted, key, (void *)(uintptr_t)(last_off + 1));
}

//  Hands over the pending request of f. Returns 0, or -1 if emit refused it.
static int s_complete(watch_ctx_t *c, void *fs)
{
    s_file_t *f = fs;
    if (!f->has_pending)
        return 0;
    s_request_t *r = &f->pending;
    if (watch_ctx_emit(c, &r->best) < 0)
        return -1;
    s_remember(f, r->key, r->last_off);
    f->has_pending = false;
    return 0;
}

static bool s_pending(void *fs)
{
    return ((s_file_t *)fs)->has_pending;
}

static void s_reset(watch_ctx_t *c, void *fs)
{
    (void)c;
    s_file_t *f = fs;
    f->has_pending = false;
    f->last_line = 0;
    zhashx_purge(f->emitted);
}

//  The line at off. Returns 0, or -1 if a completed request could not be handed over
//  (the line is then not consumed).
static int s_line(watch_ctx_t *c, void *fs, const char *line, size_t len, uint64_t off)
{
    s_file_t *f = fs;
    watch_usage_t u;
    char err[200];
    watch_line_kind_t kind = watch_line_parse(line, len, &u, err, sizeof err);
    f->last_line = off;
    if (kind == WATCH_LINE_BAD) {
        watch_ctx_bad(c, off, err);
        return 0;
    }
    if (kind == WATCH_LINE_SYNTHETIC) {
        c->counts->synthetic++;
        return 0;
    }
    if (kind != WATCH_LINE_USAGE)
        return 0;
    u.source = "claude-code-transcript";
    u.agent_type = "claude-code";
    //  The event id name: unchanged since the first watcher, so that ids stay stable.
    snprintf(u.id_name, sizeof u.id_name, "%s|%s", u.message_id, u.request_id);
    char key[S_KEY_MAX];
    snprintf(key, sizeof key, "%s|%s", u.message_id, u.request_id);
    if (zhashx_lookup(f->emitted, key)) {
        c->counts->duplicates++; //  a late line of a request handed over
        s_remember(f, key, off);
        return 0;
    }
    s_request_t *r = &f->pending;
    if (f->has_pending && strcmp(r->key, key) == 0) {
        c->counts->duplicates++;
        r->last_off = off;
        int64_t total = watch_usage_total(&u);
        if (total > r->best_total) {
            int64_t first_ts = r->best.ts_us;
            r->best = u;
            r->best.ts_us = first_ts;
            r->best_total = total;
        }
    } else {
        //  Rule (a): a different request's line completes the pending one.
        if (s_complete(c, f) != 0)
            return -1;
        snprintf(r->key, sizeof r->key, "%s", key);
        r->first_off = r->last_off = off;
        r->best = u;
        r->best_total = watch_usage_total(&u);
        f->has_pending = true;
    }
    c->counts->usage_lines++;
    if (u.final)          //  rule (b)
        s_complete(c, f); //  if refused, it stays pending: offered again later
    return 0;
}

//  Keys of requests handed over whose lines reach past the safe offset, so that a late
//  line of one is still recognised after a restart.
static void s_save(void *fs, uint64_t safe, FILE *out)
{
    s_file_t *f = fs;
    for (void *v = zhashx_first(f->emitted); v; v = zhashx_next(f->emitted)) {
        const char *key = zhashx_cursor(f->emitted);
        uint64_t last = (uint64_t)(uintptr_t)v - 1;
        if (last >= safe && watch_state_writable(key))
            fprintf(out, "E %s\n", key);
    }
}

static int s_load(void *fs, uint64_t pos, const char *line)
{
    s_file_t *f = fs;
    if (line[0] != 'E' || line[1] != ' ' || strlen(line + 2) >= S_KEY_MAX)
        return -1;
    zhashx_update(f->emitted, line + 2, (void *)(uintptr_t)(pos + 1));
    return 0;
}

//  Every *.jsonl below projects/ (or the directory itself), subagent transcripts too.
static watch_follow_t s_match(const char *path, const char *base)
{
    (void)path;
    size_t n = strlen(base);
    return n >= 7 && strcmp(base + n - 6, ".jsonl") == 0 ? WATCH_LINES : WATCH_SKIP;
}

const watch_reader_t watch_reader_claude = {
    .name = "claude-code",
    .subdirs = {"projects", NULL},
    .dir_fallback = true,
    .match = s_match,
    .file_new = s_file_new,
    .file_free = s_file_free,
    .file_reset = s_reset,
    .line = s_line,
    .complete = s_complete,
    .pending = s_pending,
    .safe = s_safe,
    .file_save = s_save,
    .file_load = s_load,
};
