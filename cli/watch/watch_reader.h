/*  watch_reader: what one agent's session files need from the watcher, as a small
    contract between watch_tail (files, offsets, complete lines, restarts, the state
    file) and a per-agent reader (what a line or a document means, what is counted,
    which ids). Three readers exist: Claude Code transcripts (watch_claude.c), Codex CLI
    rollouts (watch_codex.c) and Gemini CLI chats (watch_gemini.c); docs/CLAUDE_CODE.md
    and docs/AGENTS.md say what each reads and why.

    watch_tail owns a file's path, device, inode and safe offset, reads it by complete
    lines (or whole, for a document format), and calls the reader with each. The reader
    owns one state per file (whatever it must remember between lines, saved with the
    offset) and one global state per watcher (what must be remembered across files, such
    as turns already counted), and hands usage over through watch_ctx_emit. A reader
    callback returns -1 only when emit refused a record: the same line or document is
    then offered again on a later poll, so the reader must not have changed its state
    for it. */
#ifndef WATCH_READER_H
#define WATCH_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "watch_line.h"

typedef struct _watch_tail_t watch_tail_t;

//  Counters of one watcher (all readers together).
typedef struct {
    uint64_t files;         //  session files followed now
    uint64_t lines;         //  complete lines read
    uint64_t documents;     //  whole-file documents parsed (legacy Gemini chats)
    uint64_t usage_lines;   //  lines or messages with usage
    uint64_t requests;      //  usage records handed over
    uint64_t duplicates;    //  usage seen again (streamed lines, repeated emissions, rewrites)
    uint64_t replayed;      //  Codex turns copied from another file (forks, subagents)
    uint64_t no_usage;      //  Codex token_count lines with info null
    uint64_t counter_reset; //  Codex running totals that dropped (append-style resume)
    uint64_t synthetic;     //  Claude <synthetic> lines skipped
    uint64_t before_since;  //  records older than since, skipped
    uint64_t unparseable;   //  lines that are not JSON or lack what usage needs
    uint64_t incomplete;    //  documents that did not parse (being rewritten): retried
    uint64_t unreadable;    //  session files in a format not read (compressed Codex)
    uint64_t partial;       //  files whose last line waits for its newline (now)
    uint64_t restarted;     //  files read again from 0 (rotated or truncated)
    uint64_t deleted;       //  files that went away
} watch_counts_t;

//  A completed usage record: path is the session file it came from. Returns 0, or -1
//  when it cannot be taken now (it is offered again on a later poll).
typedef int(watch_emit_fn)(void *arg, const char *path, const watch_usage_t *u);

//  What a reader callback may use: where it is, and the watcher's counters.
typedef struct {
    watch_tail_t *tail;
    const char *path;       //  the file being read
    void *global;           //  the reader's global state
    watch_counts_t *counts; //  the watcher's counters
} watch_ctx_t;

//  Hands u over unless it started before --since. Returns 0 (handed over), 1 (skipped:
//  before since; the reader should remember it as counted), or -1 (refused).
int watch_ctx_emit(watch_ctx_t *c, const watch_usage_t *u);

//  Counts (and logs the first few of) the line at byte off that was skipped and why.
void watch_ctx_bad(watch_ctx_t *c, uint64_t off, const char *why);

//  Tokenizes the line at byte off, which must be one JSON object. Returns 0, or -1 when
//  it is not (counted and logged as watch_ctx_bad).
int watch_ctx_parse(watch_ctx_t *c, const char *line, size_t len, const fc_jtok_limits_t *lim,
                    fc_jtok_t *toks, uint64_t off);

//  How watch_tail follows a file a reader matched.
typedef enum {
    WATCH_SKIP = 0,       //  not a session file of this reader
    WATCH_LINES = 1,      //  append-only JSONL: read by complete lines from an offset
    WATCH_DOCUMENT = 2,   //  one JSON document rewritten whole: parsed whole when it changes
    WATCH_UNREADABLE = 3, //  a session file in a format not read: counted and logged once
} watch_follow_t;

typedef struct {
    const char *name;       //  in the state file and logs: "claude-code", "codex", "gemini"
    const char *subdirs[3]; //  trees below a configured directory, NULL-terminated
    bool dir_fallback;      //  no subdir exists: scan the directory itself

    //  How to follow the file at path (base: its last component).
    watch_follow_t (*match)(const char *path, const char *base);

    //  Per-file state: new (NULL if out of memory), free, and reset (the file is read
    //  again from 0: rotated or truncated). A reader whose state is one flat struct
    //  leaves the three NULL and gives its size: watch_tail then allocates it zeroed,
    //  frees it, and zeroes it on reset.
    size_t file_size;
    void *(*file_new)(void);
    void (*file_free)(void *fs);
    void (*file_reset)(watch_ctx_t *c, void *fs);

    //  One complete line (without its newline, not blank) at byte off (WATCH_LINES).
    int (*line)(watch_ctx_t *c, void *fs, const char *line, size_t len, uint64_t off);
    //  A whole document (WATCH_DOCUMENT). Returns 0, 1 if it is not (yet) a complete
    //  document (being rewritten: tried again when the file changes), or -1 (refused).
    int (*document)(watch_ctx_t *c, void *fs, const char *text, size_t len);

    //  Optional: hands over what is pending (the file was read to its end and is
    //  quiet, or went away). Returns 0, or -1 (refused). NULL: nothing is ever pending.
    int (*complete)(watch_ctx_t *c, void *fs);
    bool (*pending)(void *fs);
    //  Optional: the offset a restart must read from, given the end of the last complete
    //  line pos (default pos).
    uint64_t (*safe)(void *fs, uint64_t pos);

    //  The file's state at the safe offset as state-file lines (each ending in '\n', not
    //  starting with "F ", "G " or "M ", which watch_tail uses), and one such line read back for a
    //  file whose safe offset is pos (0, or -1 malformed).
    void (*file_save)(void *fs, uint64_t safe, FILE *out);
    int (*file_load)(void *fs, uint64_t pos, const char *line);

    //  Optional global state: new, free, save (lines "G <name> ..."; since: the oldest
    //  time still of interest) and one line read back (the text after "G <name> ").
    void *(*global_new)(void);
    void (*global_free)(void *g);
    void (*global_save)(void *g, const char *name, int64_t since_us, FILE *out);
    int (*global_load)(void *g, const char *rest);
} watch_reader_t;

extern const watch_reader_t watch_reader_claude;
extern const watch_reader_t watch_reader_codex;
extern const watch_reader_t watch_reader_gemini;

//  A set of keys with the time of the record each stands for: what the Codex and Gemini
//  readers remember across files, used as their global state (the four functions fit
//  the global_* members). Saved as "G <name> <time µs> <key>" lines; entries older than
//  since are dropped on save.
typedef struct _watch_seen_t watch_seen_t;
void *watch_seen_new(void);
void watch_seen_free(void *self);
void watch_seen_save(void *self, const char *name, int64_t since_us, FILE *out);
int watch_seen_load(void *self, const char *rest);
bool watch_seen_has(watch_seen_t *self, const char *key);
void watch_seen_add(watch_seen_t *self, const char *key, int64_t ts_us);

//  True if s can be written as the rest of a state-file line (no newline).
bool watch_state_writable(const char *s);

#endif
