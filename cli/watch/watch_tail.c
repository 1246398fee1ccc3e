/*  watch_tail: session files to usage records, through per-agent readers (see
    watch_tail.h and watch_reader.h). */
#include "watch_tail.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fc_log.h"
#include "fc_time.h"

#define MODULE          "watch"
#define S_CHUNK         (1024 * 1024)      //  bytes read at a time
#define S_MAX_DOCUMENT  (64 * 1024 * 1024) //  a whole-file session document
#define S_MAX_DEPTH     8                  //  directory levels below a tree's root
#define S_MAX_FILES     100000             //  session files followed at once
#define S_LOGGED_ERRORS 10                 //  unparseable lines logged with their reason

typedef struct {
    char *path;
    const char *base;   //  last component of path
    int source;         //  index into the options' sources
    watch_follow_t how; //  lines or document
    void *rs;           //  the reader's per-file state
    dev_t dev;
    ino_t ino;
    bool known;            //  dev/ino valid (read before, or from the state file)
    uint64_t pos;          //  lines: end of the last complete line; document: size parsed
    struct timespec mtime; //  document: modification time of the version parsed
    bool skipping;         //  inside a line longer than WATCH_MAX_LINE
    bool partial;          //  bytes after the last newline wait for theirs
    bool seen;             //  found by the current scan
} s_file_t;

struct _watch_tail_t {
    watch_tail_options_t o;
    watch_source_t sources[WATCH_MAX_SOURCES];
    void *global[WATCH_MAX_SOURCES]; //  each reader's global state
    zhashx_t *files;                 //  path -> s_file_t
    s_file_t **order;                //  the files by name, then path
    size_t norder;
    bool reorder;   //  files were added or removed since order was built
    zlistx_t *kept; //  state-file entries of readers not configured now, kept verbatim
    char *buf;
    size_t cap;
    watch_counts_t counts;
};

static void s_file_destroy(void **item)
{
    s_file_t *f = *item;
    if (!f)
        return;
    //  The source index is kept in the file; its reader frees its own state.
    free(f->path);
    free(f);
    *item = NULL;
}

static const watch_reader_t *s_reader(watch_tail_t *self, s_file_t *f)
{
    return self->sources[f->source].reader;
}

//  A reader's per-file state: its own constructor, or a zeroed flat struct.
static void *s_rs_new(const watch_reader_t *r)
{
    return r->file_new ? r->file_new() : calloc(1, r->file_size);
}

static void s_rs_free(const watch_reader_t *r, void *rs)
{
    if (r->file_free)
        r->file_free(rs);
    else
        free(rs);
}

static s_file_t *s_file_new(watch_tail_t *self, const char *path, int source, watch_follow_t how)
{
    if (zhashx_size(self->files) >= S_MAX_FILES)
        return NULL;
    s_file_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path)) || !(f->rs = s_rs_new(self->sources[source].reader))) {
        if (f)
            free(f->path);
        free(f);
        return NULL;
    }
    const char *slash = strrchr(f->path, '/');
    f->base = slash ? slash + 1 : f->path;
    f->source = source;
    f->how = how;
    zhashx_insert(self->files, path, f);
    self->reorder = true;
    return f;
}

//  Removes f (its reader state included) from the table.
static void s_file_forget(watch_tail_t *self, s_file_t *f)
{
    s_rs_free(s_reader(self, f), f->rs);
    f->rs = NULL;
    zhashx_delete(self->files, f->path);
    self->reorder = true;
}

watch_tail_t *watch_tail_new(const watch_tail_options_t *options)
{
    if (!options || !options->sources || options->count < 1 || options->count > WATCH_MAX_SOURCES ||
        !options->emit)
        return NULL;
    for (int i = 0; i < options->count; i++) {
        if (!options->sources[i].reader || !options->sources[i].dirs ||
            !options->sources[i].dirs[0])
            return NULL;
        for (int j = 0; j < i; j++)
            if (options->sources[j].reader == options->sources[i].reader)
                return NULL;
    }
    watch_tail_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->o = *options;
    memcpy(self->sources, options->sources, (size_t)options->count * sizeof *self->sources);
    self->o.sources = self->sources;
    self->files = zhashx_new();
    self->kept = zlistx_new();
    self->cap = S_CHUNK;
    self->buf = malloc(self->cap);
    bool ok = self->files && self->kept && self->buf;
    for (int i = 0; ok && i < self->o.count; i++)
        if (self->sources[i].reader->global_new)
            ok = (self->global[i] = self->sources[i].reader->global_new()) != NULL;
    if (!ok) {
        watch_tail_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->files, s_file_destroy);
    zlistx_set_destructor(self->kept, (zlistx_destructor_fn *)zstr_free);
    zlistx_set_duplicator(self->kept, (zlistx_duplicator_fn *)strdup);
    return self;
}

void watch_tail_destroy(watch_tail_t **self_p)
{
    watch_tail_t *self = *self_p;
    if (!self)
        return;
    if (self->files)
        for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files))
            s_rs_free(s_reader(self, f), f->rs);
    zhashx_destroy(&self->files);
    for (int i = 0; i < self->o.count; i++)
        if (self->global[i])
            self->sources[i].reader->global_free(self->global[i]);
    zlistx_destroy(&self->kept);
    free(self->order);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

void watch_tail_counts(watch_tail_t *self, watch_counts_t *counts)
{
    *counts = self->counts;
    counts->files = zhashx_size(self->files);
}

//  --- what readers call -----------------------------------------------------------------

int watch_ctx_emit(watch_ctx_t *c, const watch_usage_t *u)
{
    watch_tail_t *self = c->tail;
    if (self->o.since_us && u->ts_us < self->o.since_us) {
        self->counts.before_since++;
        return 1;
    }
    if (self->o.emit(self->o.arg, c->path, u) != 0)
        return -1;
    self->counts.requests++;
    return 0;
}

void watch_ctx_bad(watch_ctx_t *c, uint64_t off, const char *why)
{
    watch_counts_t *n = &c->tail->counts;
    if (n->unparseable++ < S_LOGGED_ERRORS)
        fc_warn(MODULE, "%s: line at byte %" PRIu64 " skipped: %s%s", c->path, off, why,
                n->unparseable == S_LOGGED_ERRORS ? " (further ones only counted)" : "");
}

int watch_ctx_parse(watch_ctx_t *c, const char *line, size_t len, const fc_jtok_limits_t *lim,
                    fc_jtok_t *toks, uint64_t off)
{
    char err[200];
    if (fc_jtok_parse(line, len, lim, toks, err, sizeof err) < 0) {
        watch_ctx_bad(c, off, err);
        return -1;
    }
    if (toks[0].type != FC_JTOK_OBJECT) {
        watch_ctx_bad(c, off, "not a JSON object");
        return -1;
    }
    return 0;
}

static watch_ctx_t s_ctx(watch_tail_t *self, s_file_t *f)
{
    return (watch_ctx_t){
        .tail = self, .path = f->path, .global = self->global[f->source], .counts = &self->counts};
}

//  Hands over what f's reader holds pending. Returns 0, or -1 if emit refused it.
static int s_complete(watch_tail_t *self, s_file_t *f)
{
    const watch_reader_t *r = s_reader(self, f);
    if (!r->complete)
        return 0;
    watch_ctx_t c = s_ctx(self, f);
    return r->complete(&c, f->rs);
}

static uint64_t s_safe(watch_tail_t *self, s_file_t *f)
{
    const watch_reader_t *r = s_reader(self, f);
    return r->safe ? r->safe(f->rs, f->pos) : f->pos;
}

//  --- files -------------------------------------------------------------------------

//  Starts f again from byte 0 (rotated or truncated): what was pending is complete.
static void s_restart(watch_tail_t *self, s_file_t *f, const char *why)
{
    s_complete(self, f);
    const watch_reader_t *r = s_reader(self, f);
    watch_ctx_t c = s_ctx(self, f);
    if (r->file_reset)
        r->file_reset(&c, f->rs);
    else
        memset(f->rs, 0, r->file_size);
    f->pos = 0;
    f->mtime = (struct timespec){0};
    f->skipping = false;
    self->counts.restarted++;
    fc_info(MODULE, "%s: %s, reading it again from the start", f->path, why);
}

//  One complete line at offset off. Returns 0, or -1 if a usage record could not be
//  handed over (the line is then not consumed).
static int s_line(watch_tail_t *self, s_file_t *f, const char *line, size_t len, uint64_t off)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len)
        return 0; //  blank
    watch_ctx_t c = s_ctx(self, f);
    return s_reader(self, f)->line(&c, f->rs, line, len, off);
}

//  Reads f by lines from its offset to the end. Returns 0, or -1 if emit refused.
static int s_read_lines(watch_tail_t *self, s_file_t *f, const struct stat *st)
{
    if ((uint64_t)st->st_size == f->pos)
        return 0;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fc_warn(MODULE, "%s: cannot open: %s", f->path, strerror(errno));
        return 0;
    }
    int rc = 0;
    size_t have = 0;
    for (;;) {
        if (have == self->cap) {
            if (self->cap >= WATCH_MAX_LINE) {
                //  A line longer than the limit: skip to its end.
                if (!f->skipping) {
                    watch_ctx_t c = s_ctx(self, f);
                    watch_ctx_bad(&c, f->pos, "line longer than 16 MiB");
                }
                f->skipping = true;
                f->pos += have;
                have = 0;
            } else {
                char *grown = realloc(self->buf, self->cap * 2);
                if (!grown)
                    break;
                self->buf = grown;
                self->cap *= 2;
            }
        }
        ssize_t n = pread(fd, self->buf + have, self->cap - have, (off_t)(f->pos + have));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(self->buf + start, '\n', have - start))) {
            size_t len = (size_t)(nl - (self->buf + start));
            if (f->skipping)
                f->skipping = false;
            else {
                self->counts.lines++;
                if (s_line(self, f, self->buf + start, len, f->pos + start) != 0) {
                    self->counts.lines--;
                    rc = -1;
                    break;
                }
            }
            start += len + 1;
        }
        f->pos += start;
        memmove(self->buf, self->buf + start, have - start);
        have -= start;
        if (rc)
            break;
    }
    f->partial = rc == 0 && have > 0 && !f->skipping;
    close(fd);
    return rc;
}

//  Parses the whole of a document file when it changed since the version parsed.
//  Returns 0, or -1 if emit refused (the same version is parsed again next poll).
static int s_read_document(watch_tail_t *self, s_file_t *f, const struct stat *st)
{
    if ((uint64_t)st->st_size == f->pos && st->st_mtim.tv_sec == f->mtime.tv_sec &&
        st->st_mtim.tv_nsec == f->mtime.tv_nsec)
        return 0;
    watch_ctx_t c = s_ctx(self, f);
    if (st->st_size > S_MAX_DOCUMENT) {
        watch_ctx_bad(&c, 0, "document larger than 64 MiB");
        f->pos = (uint64_t)st->st_size;
        f->mtime = st->st_mtim;
        return 0;
    }
    size_t size = (size_t)st->st_size;
    char *text = malloc(size + 1);
    int fd = text ? open(f->path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        if (text)
            fc_warn(MODULE, "%s: cannot open: %s", f->path, strerror(errno));
        free(text);
        return 0;
    }
    size_t have = 0;
    while (have < size) {
        ssize_t n = pread(fd, text + have, size - have, (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    //  Fewer bytes than stat said: the file was cut while we read; what we have is
    //  parsed, and a torn document simply fails to parse and waits for the next change.
    int rc = s_reader(self, f)->document(&c, f->rs, text, have);
    free(text);
    if (rc < 0)
        return -1;
    self->counts.documents++;
    if (rc == 1 && self->counts.incomplete++ < S_LOGGED_ERRORS)
        fc_info(MODULE,
                "%s: not a complete document (being rewritten?): read again when it "
                "changes",
                f->path);
    f->pos = (uint64_t)st->st_size;
    f->mtime = st->st_mtim;
    return 0;
}

//  Reads f from its offset to the end. Returns 0, or -1 if emit refused a record.
static int s_read(watch_tail_t *self, s_file_t *f, const struct stat *st)
{
    if (f->known && (f->dev != st->st_dev || f->ino != st->st_ino))
        s_restart(self, f, "replaced by another file");
    else if (f->how == WATCH_LINES && (uint64_t)st->st_size < f->pos)
        s_restart(self, f, "truncated");
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->known = true;
    return f->how == WATCH_DOCUMENT ? s_read_document(self, f, st) : s_read_lines(self, f, st);
}

//  Collects the session files of source below dir into self->files, marking them seen.
static void s_scan(watch_tail_t *self, int source, const char *dir, int depth)
{
    const watch_reader_t *r = self->sources[source].reader;
    DIR *d = opendir(dir);
    if (!d) {
        if (depth == 0 && errno != ENOENT)
            fc_warn(MODULE, "%s: cannot read: %s", dir, strerror(errno));
        return;
    }
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        struct stat st;
        if (lstat(path, &st) != 0) //  symbolic links are not followed: no loops
            continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < S_MAX_DEPTH)
                s_scan(self, source, path, depth + 1);
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        watch_follow_t how = r->match(path, e->d_name);
        if (how == WATCH_SKIP)
            continue;
        s_file_t *f = zhashx_lookup(self->files, path);
        if (f && f->source != source)
            continue; //  claimed by another reader's tree
        if (!f && how == WATCH_UNREADABLE) {
            if (self->counts.unreadable++ < S_LOGGED_ERRORS)
                fc_warn(MODULE,
                        "%s: a %s session file in a format not read: its usage is not "
                        "counted",
                        path, r->name);
            how = WATCH_SKIP; //  remembered below, so it is counted once
        }
        if (!f && !(f = s_file_new(self, path, source, how)))
            continue;
        f->seen = true;
    }
    closedir(d);
}

static int s_by_name(const void *a, const void *b)
{
    const s_file_t *x = *(s_file_t *const *)a, *y = *(s_file_t *const *)b;
    int c = strcmp(x->base, y->base);
    return c ? c : strcmp(x->path, y->path);
}

//  The files in the order they are read: by name (Codex and Gemini names start with
//  the session's start time, so an original comes before a copy made later), then path.
static void s_order(watch_tail_t *self)
{
    if (!self->reorder)
        return;
    size_t n = zhashx_size(self->files);
    s_file_t **order = realloc(self->order, (n ? n : 1) * sizeof *order);
    if (!order) {
        //  The old order may name files forgotten since: read nothing this poll, and
        //  try again on the next one.
        self->norder = 0;
        return;
    }
    self->order = order;
    self->norder = 0;
    for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files))
        order[self->norder++] = f;
    qsort(order, self->norder, sizeof *order, s_by_name);
    self->reorder = false;
}

int watch_tail_poll(watch_tail_t *self)
{
    for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files))
        f->seen = false;
    char root[4096];
    struct stat st;
    for (int s = 0; s < self->o.count; s++) {
        const watch_reader_t *r = self->sources[s].reader;
        for (int i = 0; self->sources[s].dirs[i]; i++) {
            const char *dir = self->sources[s].dirs[i];
            bool any = false;
            for (int k = 0; r->subdirs[k]; k++) {
                snprintf(root, sizeof root, "%s/%s", dir, r->subdirs[k]);
                if (stat(root, &st) == 0 && S_ISDIR(st.st_mode)) {
                    s_scan(self, s, root, 0);
                    any = true;
                }
            }
            if (!any && r->dir_fallback)
                s_scan(self, s, dir, 0);
        }
    }
    s_order(self);
    int rc = 0;
    int64_t now_ms = fc_time_now_us() / 1000; //  wall clock, as file times are
    zlistx_t *gone = zlistx_new();
    self->counts.partial = 0;
    for (size_t i = 0; i < self->norder; i++) {
        s_file_t *f = self->order[i];
        if (f->how == WATCH_SKIP || f->how == WATCH_UNREADABLE) {
            if (!f->seen && gone)
                zlistx_add_end(gone, f);
            continue;
        }
        if (!f->seen || stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
            //  Rule (d): the file went away; what it held is all there will be.
            if (s_complete(self, f) != 0) {
                rc = -1;
                continue;
            }
            if (gone)
                zlistx_add_end(gone, f);
            continue;
        }
        if (rc == 0 && s_read(self, f, &st) != 0)
            rc = -1;
        self->counts.partial += f->partial;
        //  Rule (c): read to the end (a partial last line aside), and quiet for quiet_ms.
        const watch_reader_t *r = s_reader(self, f);
        int64_t age_ms =
            now_ms - ((int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000);
        if (rc == 0 && r->pending && r->pending(f->rs) && age_ms >= self->o.quiet_ms &&
            s_complete(self, f) != 0)
            rc = -1;
    }
    if (gone) {
        for (s_file_t *f = zlistx_first(gone); f; f = zlistx_next(gone)) {
            if (f->known)
                self->counts.deleted++;
            s_file_forget(self, f);
        }
        zlistx_destroy(&gone);
        s_order(self);
    }
    return rc;
}

//  --- state -------------------------------------------------------------------------

bool watch_state_writable(const char *s)
{
    return !strchr(s, '\n') && !strchr(s, '\r');
}

//  Version 1 files (Claude Code only) have "F <dev> <ino> <offset> <path>" lines; they
//  are read as Claude Code entries. Version 2 names the reader: "F <reader> <dev> ...".
#define S_STATE_MAGIC_1 "fleetcost-watch-state 1"
#define S_STATE_MAGIC   "fleetcost-watch-state 2"

int watch_tail_save(watch_tail_t *self, const char *path)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fc_warn(MODULE, "%s: cannot write the state: %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(out, "%s\n", S_STATE_MAGIC);
    for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files)) {
        if (!f->known || !watch_state_writable(f->path))
            continue;
        const watch_reader_t *r = s_reader(self, f);
        uint64_t safe = s_safe(self, f);
        fprintf(out, "F %s %ju %ju %" PRIu64 " %s\n", r->name, (uintmax_t)f->dev, (uintmax_t)f->ino,
                safe, f->path);
        //  A document's time too: an unchanged document is not parsed again after a
        //  restart.
        if (f->how == WATCH_DOCUMENT)
            fprintf(out, "M %jd %ld\n", (intmax_t)f->mtime.tv_sec, (long)f->mtime.tv_nsec);
        r->file_save(f->rs, safe, out);
    }
    for (int i = 0; i < self->o.count; i++)
        if (self->global[i])
            self->sources[i].reader->global_save(self->global[i], self->sources[i].reader->name,
                                                 self->o.since_us, out);
    for (const char *l = zlistx_first(self->kept); l; l = zlistx_next(self->kept))
        fprintf(out, "%s\n", l);
    bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fc_warn(MODULE, "%s: cannot write the state: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int s_source_by_name(watch_tail_t *self, const char *name)
{
    for (int i = 0; i < self->o.count; i++)
        if (strcmp(self->sources[i].reader->name, name) == 0)
            return i;
    return -1;
}

int watch_tail_load(watch_tail_t *self, const char *path)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, in);
    int rc = 0;
    if (n <= 0 || (strncmp(line, S_STATE_MAGIC "\n", (size_t)n) != 0 &&
                   strncmp(line, S_STATE_MAGIC_1 "\n", (size_t)n) != 0)) {
        fc_error(MODULE, "%s: not a watch state file", path);
        rc = -1;
    }
    s_file_t *f = NULL;
    bool keeping = false; //  the lines belong to an entry of a reader not configured now
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        uintmax_t dev, ino;
        uint64_t off;
        int used = 0;
        char name[32] = "claude-code";
        bool file_line =
            (sscanf(line, "F %ju %ju %" SCNu64 " %n", &dev, &ino, &off, &used) == 3 ||
             sscanf(line, "F %31s %ju %ju %" SCNu64 " %n", name, &dev, &ino, &off, &used) == 4) &&
            used && line[used];
        if (file_line) {
            int source = s_source_by_name(self, name);
            keeping = source < 0;
            f = NULL;
            if (keeping) {
                zlistx_add_end(self->kept, line);
                continue;
            }
            f = zhashx_lookup(self->files, line + used);
            if (!f) {
                const char *base = strrchr(line + used, '/');
                base = base ? base + 1 : line + used;
                watch_follow_t how = self->sources[source].reader->match(line + used, base);
                if (how == WATCH_SKIP || how == WATCH_UNREADABLE)
                    continue; //  no longer a file this reader follows
                f = s_file_new(self, line + used, source, how);
            }
            if (f) {
                f->dev = (dev_t)dev;
                f->ino = (ino_t)ino;
                f->pos = off;
                f->known = true;
            }
        } else if (line[0] == 'G' && line[1] == ' ') {
            char *rest = line + 2, *sp = strchr(rest, ' ');
            if (!sp) {
                rc = -1;
                break;
            }
            *sp = 0;
            int source = s_source_by_name(self, rest);
            *sp = ' ';
            if (source < 0)
                zlistx_add_end(self->kept, line);
            else if (self->global[source] &&
                     self->sources[source].reader->global_load(self->global[source], sp + 1))
                rc = -1;
        } else if (keeping) {
            zlistx_add_end(self->kept, line);
        } else if (f && line[0] == 'M' && line[1] == ' ') {
            intmax_t sec;
            long nsec;
            if (sscanf(line + 2, "%jd %ld", &sec, &nsec) != 2)
                rc = -1;
            f->mtime = (struct timespec){.tv_sec = (time_t)sec, .tv_nsec = nsec};
        } else if (f && line[0]) {
            if (s_reader(self, f)->file_load(f->rs, f->pos, line))
                rc = -1;
        } else if (line[0] && f == NULL) {
            continue; //  a line of an entry dropped above
        }
        if (rc)
            fc_error(MODULE, "%s: malformed line \"%.60s\"", path, line);
    }
    free(line);
    fclose(in);
    return rc;
}

//  --- the set of records counted, for readers ---------------------------------------

struct _watch_seen_t {
    zhashx_t *keys; //  key -> time of its record (µs, > 0)
};

void *watch_seen_new(void)
{
    watch_seen_t *self = calloc(1, sizeof *self);
    if (self && !(self->keys = zhashx_new())) {
        free(self);
        return NULL;
    }
    return self;
}

void watch_seen_free(void *seen)
{
    watch_seen_t *self = seen;
    if (!self)
        return;
    zhashx_destroy(&self->keys);
    free(self);
}

bool watch_seen_has(watch_seen_t *self, const char *key)
{
    return zhashx_lookup(self->keys, key) != NULL;
}

void watch_seen_add(watch_seen_t *self, const char *key, int64_t ts_us)
{
    zhashx_update(self->keys, key, (void *)(intptr_t)(ts_us > 0 ? ts_us : 1));
}

void watch_seen_save(void *seen, const char *name, int64_t since_us, FILE *out)
{
    watch_seen_t *self = seen;
    zlistx_t *old = zlistx_new();
    for (void *v = zhashx_first(self->keys); v; v = zhashx_next(self->keys)) {
        const char *key = zhashx_cursor(self->keys);
        int64_t ts = (int64_t)(intptr_t)v;
        //  A record before --since is never handed over again, so neither is a copy.
        if (since_us && ts < since_us) {
            if (old)
                zlistx_add_end(old, (void *)key);
        } else if (watch_state_writable(key))
            fprintf(out, "G %s %" PRId64 " %s\n", name, ts, key);
    }
    if (old) {
        for (const char *k = zlistx_first(old); k; k = zlistx_next(old))
            zhashx_delete(self->keys, k);
        zlistx_destroy(&old);
    }
}

int watch_seen_load(void *seen, const char *rest)
{
    watch_seen_t *self = seen;
    int64_t ts;
    int used = 0;
    if (sscanf(rest, "%" SCNd64 " %n", &ts, &used) != 1 || !used || !rest[used])
        return -1;
    watch_seen_add(self, rest + used, ts);
    return 0;
}
