/*  watch_tail: transcript files to completed requests (see watch_tail.h). */
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

#define MODULE          "watch"
#define S_CHUNK         (1024 * 1024) //  bytes read at a time
#define S_MAX_DEPTH     8             //  directory levels below projects/
#define S_MAX_FILES     100000        //  transcripts followed at once
#define S_MAX_EMITTED   65536         //  remembered keys per file before pruning
#define S_LOGGED_ERRORS 10            //  unparseable lines logged with their reason
#define S_KEY_MAX       (2 * FC_MAX_ID + 2)

//  The one request of a file that may still grow.
typedef struct {
    char key[S_KEY_MAX];
    uint64_t first_off; //  offset of its first line
    uint64_t last_off;  //  offset of its latest line
    int64_t best_total;
    watch_usage_t best; //  ts_us: of the first line
} s_request_t;

typedef struct {
    char *path;
    dev_t dev;
    ino_t ino;
    bool known;    //  dev/ino valid (read before, or from the state file)
    uint64_t pos;  //  end of the last complete line processed
    bool skipping; //  inside a line longer than WATCH_MAX_LINE
    bool has_pending;
    s_request_t pending;
    zhashx_t *emitted; //  key -> offset of its latest line + 1
    bool seen;         //  found by the current scan
} s_file_t;

struct _watch_tail_t {
    watch_tail_options_t o;
    zhashx_t *files; //  path -> s_file_t
    char *buf;
    size_t cap;
    watch_counts_t counts;
};

static void s_file_destroy(void **item)
{
    s_file_t *f = *item;
    if (!f)
        return;
    zhashx_destroy(&f->emitted);
    free(f->path);
    free(f);
    *item = NULL;
}

static s_file_t *s_file_new(watch_tail_t *self, const char *path)
{
    if (zhashx_size(self->files) >= S_MAX_FILES)
        return NULL;
    s_file_t *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path)) || !(f->emitted = zhashx_new())) {
        s_file_destroy((void **)&f);
        return NULL;
    }
    zhashx_insert(self->files, path, f);
    return f;
}

watch_tail_t *watch_tail_new(const watch_tail_options_t *options)
{
    if (!options || !options->dirs || !options->dirs[0] || !options->emit)
        return NULL;
    watch_tail_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->o = *options;
    self->files = zhashx_new();
    self->cap = S_CHUNK;
    self->buf = malloc(self->cap);
    if (!self->files || !self->buf) {
        watch_tail_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->files, s_file_destroy);
    return self;
}

void watch_tail_destroy(watch_tail_t **self_p)
{
    watch_tail_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->files);
    free(self->buf);
    free(self);
    *self_p = NULL;
}

void watch_tail_counts(watch_tail_t *self, watch_counts_t *counts)
{
    *counts = self->counts;
    counts->files = zhashx_size(self->files);
}

//  --- requests --------------------------------------------------------------------

static void s_remember(s_file_t *f, const char *key, uint64_t last_off)
{
    if (zhashx_size(f->emitted) >= S_MAX_EMITTED) {
        //  Only keys whose lines reach past the safe offset matter after a restart;
        //  within a run, forgetting old ones risks nothing worse than a duplicate
        //  line being taken for a new request much later in a long file.
        zlistx_t *keys = zhashx_keys(f->emitted);
        uint64_t safe = f->has_pending ? f->pending.first_off : f->pos;
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
            if ((uint64_t)(uintptr_t)zhashx_lookup(f->emitted, k) - 1 < safe)
                zhashx_delete(f->emitted, k);
        zlistx_destroy(&keys);
    }
    zhashx_update(f->emitted, key, (void *)(uintptr_t)(last_off + 1));
}

//  Hands over the pending request of f. Returns 0, or -1 if emit refused it.
static int s_complete(watch_tail_t *self, s_file_t *f)
{
    if (!f->has_pending)
        return 0;
    s_request_t *r = &f->pending;
    if (self->o.since_us && r->best.ts_us < self->o.since_us)
        self->counts.before_since++;
    else if (self->o.emit(self->o.arg, f->path, &r->best) != 0)
        return -1;
    else
        self->counts.requests++;
    s_remember(f, r->key, r->last_off);
    f->has_pending = false;
    return 0;
}

static void s_bad(watch_tail_t *self, s_file_t *f, uint64_t off, const char *why)
{
    if (self->counts.unparseable++ < S_LOGGED_ERRORS)
        fc_warn(MODULE, "%s: line at byte %" PRIu64 " skipped: %s%s", f->path, off, why,
                self->counts.unparseable == S_LOGGED_ERRORS ? " (further ones only counted)" : "");
}

//  One complete line at offset off. Returns 0, or -1 if a completed request could not
//  be handed over (the line is then not consumed).
static int s_line(watch_tail_t *self, s_file_t *f, const char *line, size_t len, uint64_t off)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    size_t lead = 0;
    while (lead < len && (line[lead] == ' ' || line[lead] == '\t'))
        lead++;
    if (lead == len)
        return 0; //  blank
    watch_usage_t u;
    char err[200];
    watch_line_kind_t kind = watch_line_parse(line, len, &u, err, sizeof err);
    if (kind == WATCH_LINE_BAD) {
        s_bad(self, f, off, err);
        return 0;
    }
    if (kind == WATCH_LINE_SYNTHETIC) {
        self->counts.synthetic++;
        return 0;
    }
    if (kind != WATCH_LINE_USAGE)
        return 0;
    char key[S_KEY_MAX];
    snprintf(key, sizeof key, "%s|%s", u.message_id, u.request_id);
    if (zhashx_lookup(f->emitted, key)) {
        self->counts.duplicates++; //  a late line of a request handed over
        s_remember(f, key, off);
        return 0;
    }
    s_request_t *r = &f->pending;
    if (f->has_pending && strcmp(r->key, key) == 0) {
        self->counts.duplicates++;
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
        if (s_complete(self, f) != 0)
            return -1;
        snprintf(r->key, sizeof r->key, "%s", key);
        r->first_off = r->last_off = off;
        r->best = u;
        r->best_total = watch_usage_total(&u);
        f->has_pending = true;
    }
    self->counts.usage_lines++;
    if (u.final)             //  rule (b)
        s_complete(self, f); //  if refused, it stays pending: offered again later
    return 0;
}

//  --- files -------------------------------------------------------------------------

//  Starts f again from byte 0 (rotated or truncated): what was pending is complete.
static void s_restart(watch_tail_t *self, s_file_t *f, const char *why)
{
    s_complete(self, f);
    f->has_pending = false;
    f->pos = 0;
    f->skipping = false;
    zhashx_purge(f->emitted);
    self->counts.restarted++;
    fc_info(MODULE, "%s: %s, reading it again from the start", f->path, why);
}

//  Reads f from its offset to the end. Returns 0, or -1 if emit refused a request.
static int s_read(watch_tail_t *self, s_file_t *f, const struct stat *st)
{
    if (f->known && (f->dev != st->st_dev || f->ino != st->st_ino))
        s_restart(self, f, "replaced by another file");
    else if ((uint64_t)st->st_size < f->pos)
        s_restart(self, f, "truncated");
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->known = true;
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
                if (!f->skipping)
                    s_bad(self, f, f->pos, "line longer than 16 MiB");
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
    close(fd);
    return rc;
}

//  Collects the *.jsonl files below dir into self->files, marking them seen.
static void s_scan(watch_tail_t *self, const char *dir, int depth)
{
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
                s_scan(self, path, depth + 1);
            continue;
        }
        size_t n = strlen(e->d_name);
        if (!S_ISREG(st.st_mode) || n < 7 || strcmp(e->d_name + n - 6, ".jsonl") != 0)
            continue;
        s_file_t *f = zhashx_lookup(self->files, path);
        if (!f && !(f = s_file_new(self, path)))
            continue;
        f->seen = true;
    }
    closedir(d);
}

int watch_tail_poll(watch_tail_t *self)
{
    for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files))
        f->seen = false;
    char root[4096];
    for (int i = 0; self->o.dirs[i]; i++) {
        struct stat st;
        snprintf(root, sizeof root, "%s/projects", self->o.dirs[i]);
        if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
            snprintf(root, sizeof root, "%s", self->o.dirs[i]);
        s_scan(self, root, 0);
    }
    int rc = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    zlistx_t *gone = zlistx_new();
    for (s_file_t *f = zhashx_first(self->files); f; f = zhashx_next(self->files)) {
        struct stat st;
        if (!f->seen || stat(f->path, &st) != 0 || !S_ISREG(st.st_mode)) {
            //  Rule (d): the file went away; what it held is all there will be.
            if (s_complete(self, f) != 0) {
                rc = -1;
                continue;
            }
            if (gone)
                zlistx_add_end(gone, f->path);
            continue;
        }
        if (rc == 0 && s_read(self, f, &st) != 0)
            rc = -1;
        //  Rule (c): read to the end (a partial last line aside), and quiet for quiet_ms.
        int64_t age_ms = ((int64_t)now.tv_sec - st.st_mtim.tv_sec) * 1000 +
                         ((int64_t)now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;
        if (rc == 0 && f->has_pending && age_ms >= self->o.quiet_ms && s_complete(self, f) != 0)
            rc = -1;
    }
    if (gone) {
        for (const char *p = zlistx_first(gone); p; p = zlistx_next(gone)) {
            if (zhashx_lookup(self->files, p) && ((s_file_t *)zhashx_lookup(self->files, p))->known)
                self->counts.deleted++;
            zhashx_delete(self->files, p);
        }
        zlistx_destroy(&gone);
    }
    return rc;
}

//  --- state -------------------------------------------------------------------------

//  Keys and paths are written as the rest of a line: they must hold no newline.
static bool s_writable(const char *s)
{
    return !strchr(s, '\n') && !strchr(s, '\r');
}

#define S_STATE_MAGIC "fleetcost-watch-state 1"

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
        if (!f->known || !s_writable(f->path))
            continue;
        uint64_t safe = f->has_pending ? f->pending.first_off : f->pos;
        fprintf(out, "F %ju %ju %" PRIu64 " %s\n", (uintmax_t)f->dev, (uintmax_t)f->ino, safe,
                f->path);
        for (void *v = zhashx_first(f->emitted); v; v = zhashx_next(f->emitted)) {
            const char *key = zhashx_cursor(f->emitted);
            uint64_t last = (uint64_t)(uintptr_t)v - 1;
            if (last >= safe && s_writable(key))
                fprintf(out, "E %s\n", key);
        }
    }
    bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fc_warn(MODULE, "%s: cannot write the state: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
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
    if (n <= 0 || strncmp(line, S_STATE_MAGIC "\n", (size_t)n) != 0) {
        fc_error(MODULE, "%s: not a watch state file", path);
        rc = -1;
    }
    s_file_t *f = NULL;
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n')
            line[--n] = 0;
        uintmax_t dev, ino;
        uint64_t off;
        int used = 0;
        if (sscanf(line, "F %ju %ju %" SCNu64 " %n", &dev, &ino, &off, &used) == 3 && used &&
            line[used]) {
            f = zhashx_lookup(self->files, line + used);
            if (!f)
                f = s_file_new(self, line + used);
            if (f) {
                f->dev = (dev_t)dev;
                f->ino = (ino_t)ino;
                f->pos = off;
                f->known = true;
            }
        } else if (line[0] == 'E' && line[1] == ' ' && f && strlen(line + 2) < S_KEY_MAX) {
            zhashx_update(f->emitted, line + 2, (void *)(uintptr_t)(f->pos + 1));
        } else if (line[0]) {
            fc_error(MODULE, "%s: malformed line \"%.60s\"", path, line);
            rc = -1;
        }
    }
    free(line);
    fclose(in);
    return rc;
}
