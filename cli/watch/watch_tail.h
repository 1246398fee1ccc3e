/*  watch_tail: follows agents' session files below some directories and hands their
    usage over, one record per billed request, through a reader per agent
    (watch_reader.h): Claude Code transcripts (docs/CLAUDE_CODE.md), Codex CLI rollouts
    and Gemini CLI chats (docs/AGENTS.md).

    Files. Each poll rescans the trees of every source (a reader names the trees below
    a configured directory, e.g. projects/ for Claude Code, sessions/ and
    archived_sessions/ for Codex, tmp/ for Gemini): new files are picked up, deleted
    ones forgotten, and a file whose device/inode changed (rotated) or that shrank below
    the read offset (truncated) is read again from 0. Files are read in the order of
    their names (Codex and Gemini put the start time there), so an original is read
    before a later copy of it. A JSONL file is read by complete lines: a line counts only
    once its newline is written, and a torn last line is read once it is completed. A
    document file (legacy Gemini) is parsed whole each time its size or time changes.

    Claude Code requests (watch_claude.c). Claude Code writes one API response as several
    lines that share (message.id, requestId), the usage repeated and output_tokens
    growing. A request stays pending until it is complete, then is handed over once,
    with the token counts of its line with the largest total and the timestamp of its
    first line. Complete means: (a) a usage line of a different request follows it in
    the same file, (b) a line of it carries a stop_reason, (c) the file was read to its
    end and has not been modified for quiet_ms, or (d) the file was deleted or replaced.
    A later line of a request already handed over is counted as a duplicate and
    ignored. So at most one request per file is pending at any time.

    Restarts. The state file records, per file, its reader, device, inode and the safe
    offset (the start of a pending request's first line, or else the end of the last
    complete line) with what the reader must know at that offset (Codex: the running
    total and the turn context), and, per reader, what it remembers across files (Codex
    turns and Gemini messages already counted). A restart reads from there and derives
    the same records with the same ids: ingest absorbs whatever was already delivered. */
#ifndef WATCH_TAIL_H
#define WATCH_TAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "watch_reader.h"

//  One agent's reader and the directories it reads below.
typedef struct {
    const watch_reader_t *reader;
    const char *const *dirs; //  NULL-terminated
} watch_source_t;

#define WATCH_MAX_SOURCES 3

typedef struct {
    const watch_source_t *sources; //  count entries, each reader at most once
    int count;
    int64_t since_us; //  requests that started before this are skipped (0: none)
    int quiet_ms;     //  rule (c) above
    watch_emit_fn *emit;
    void *arg;
} watch_tail_options_t;

//  NULL on bad options or out of memory.
watch_tail_t *watch_tail_new(const watch_tail_options_t *options);
void watch_tail_destroy(watch_tail_t **self_p);

//  Loads positions from a state file; a missing file is a first start (0). Returns 0,
//  or -1 if the file exists but cannot be read or is not a state file.
int watch_tail_load(watch_tail_t *self, const char *path);

//  Writes the positions atomically (a temporary file, fsync, rename). Call it only
//  when every request handed over so far is safe with the client (acked or spooled).
int watch_tail_save(watch_tail_t *self, const char *path);

//  Rescans the directories and reads every file to its end, handing over what is
//  complete. Returns 0, or -1 if emit refused a request (the rest waits).
int watch_tail_poll(watch_tail_t *self);

void watch_tail_counts(watch_tail_t *self, watch_counts_t *counts);

#endif
