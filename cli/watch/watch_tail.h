/*  watch_tail: follows the Claude Code transcripts under some config directories and
    turns them into one completed request each (see docs/CLAUDE_CODE.md).

    Files. Every *.jsonl below <dir>/projects (or below <dir> itself when it has no
    projects/ directory), subagent transcripts included, is read line by line; a line
    counts only once its newline is written. Each poll rescans the trees: new files
    are picked up, deleted ones forgotten, and a file whose device/inode changed
    (rotated) or that shrank below the read offset (truncated) is read again from 0.

    Requests. Claude Code writes one API response as several lines that share
    (message.id, requestId), the usage repeated and output_tokens growing. A request
    stays pending until it is complete, then is handed over once, with the token counts
    of its line with the largest total and the timestamp of its first line. Complete
    means: (a) a usage line of a different request follows it in the same file, (b) a
    line of it carries a stop_reason, (c) the file was read to its end and has not been
    modified for quiet_ms, or (d) the file was deleted or replaced. A later line of a
    request already handed over is counted as a duplicate and ignored. So at most one
    request per file is pending at any time.

    Restarts. The state file records, per file, its device, inode and the safe offset:
    the start of the pending request's first line, or else the end of the last complete
    line. A restart reads from there and derives the same requests with the same first
    lines, so the same event ids: ingest absorbs whatever was already delivered. Keys of
    requests handed over whose lines reach past the safe offset are recorded too, so a
    late line of one is still recognised. */
#ifndef WATCH_TAIL_H
#define WATCH_TAIL_H

#include <stdbool.h>
#include <stdint.h>

#include "watch_line.h"

//  A completed request: u holds the largest line's tokens and the first line's
//  timestamp; path is the transcript it came from. Returns 0, or -1 when it cannot be
//  taken now (the request stays pending and is offered again on a later poll).
typedef int(watch_emit_fn)(void *arg, const char *path, const watch_usage_t *u);

typedef struct {
    const char *const *dirs; //  NULL-terminated config directories
    int64_t since_us;        //  requests that started before this are skipped (0: none)
    int quiet_ms;            //  rule (c) above
    watch_emit_fn *emit;
    void *arg;
} watch_tail_options_t;

typedef struct {
    uint64_t files;        //  transcripts followed now
    uint64_t lines;        //  complete lines read
    uint64_t usage_lines;  //  assistant lines with usage
    uint64_t requests;     //  requests handed over
    uint64_t duplicates;   //  usage lines collapsed into a request
    uint64_t synthetic;    //  <synthetic> lines skipped
    uint64_t before_since; //  requests older than since, skipped
    uint64_t unparseable;  //  lines that are not JSON or lack what usage needs
    uint64_t restarted;    //  files read again from 0 (rotated or truncated)
    uint64_t deleted;      //  files that went away
} watch_counts_t;

typedef struct _watch_tail_t watch_tail_t;

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
