/*  fc_client: batching, spooling, windowed sending with resend and failover.

    Two sides share the struct under one mutex: callers of fc_client_send append
    encoded events to the open batch writer and close ("seal") it when full; the
    background thread takes sealed writers, spools them, owns the DEALER socket and
    everything about batches in flight. Only the counters and the sealed queue are
    shared; the batch lists belong to the thread alone. */
#include "fleetcost.h"

#include <czmq.h>

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "fc_buf.h"
#include "fc_log.h"
#include "fc_time.h"

#define MODULE "client"

#define S_MAX_OWNED_FILES 256
#define S_MAX_OWNED_BYTES (64 * 1024 * 1024)
#define S_MAX_QUEUED      (64 * 1024 * 1024) //  bytes of events waiting to be spooled
#define S_SCAN_EVERY_MS   10000              //  look for files left by exited processes
#define S_RESCAN_MS       100                //  when files wait for room, look this often
#define S_MIN_SCAN_GAP_MS 10                 //  ... and never more often than this
#define S_STALE_TMP_S     60 //  a .tmp this old whose lock is free is a crash leftover
#define S_NAME_MAX        48

//  A spooled batch owned by this client (background thread only).
typedef struct s_batch_t {
    uint64_t id;
    uint32_t count;
    uint8_t *frame;
    size_t size;
    int fd; //  the spool file, flocked; -1 if it could not be written
    char name[S_NAME_MAX];
    int64_t sent_ms; //  last (re)send, 0 if never sent
    int64_t due_ms;  //  when to send it again without an ack
    int sends;       //  how often it was sent
    struct s_batch_t *prev, *next;
} s_batch_t;

typedef struct {
    s_batch_t *head, *tail;
    int count;
} s_list_t;

//  A writer closed by a caller, waiting for the thread to spool it.
typedef struct s_sealed_t {
    fc_batch_writer_t *writer;
    uint64_t id;
    uint32_t count;
    size_t bytes;
    struct s_sealed_t *next;
} s_sealed_t;

struct _fc_client_t {
    //  settings (read-only after new)
    char *spool_dir;
    int batch_max_events, batch_max_ms, window, ack_timeout_ms;
    fc_fsync_t fsync;
    int64_t spool_max_bytes;
    fc_client_result_fn *on_result;
    void *result_arg;

    //  shared, under mutex
    pthread_mutex_t mutex;
    pthread_cond_t changed; //  counters moved: flush waiters recheck
    fc_batch_writer_t *writer;
    uint64_t writer_id;
    uint32_t writer_count;
    size_t writer_bytes;
    int64_t writer_opened_ms;
    s_sealed_t *sealed_head, *sealed_tail;
    size_t queued_bytes;     //  open writer + sealed
    uint64_t mem_events;     //  events in the open writer and the sealed queue
    uint64_t owned_events;   //  events in batches the thread owns
    uint64_t waiting_events; //  events in spool files this client could adopt
    bool seal_now, stopping;
    uint64_t rng;
    fc_client_stats_t stats;

    //  background thread only
    pthread_t thread;
    int wake_fd; //  eventfd: callers wake the thread
    int dir_fd;
    void *ctx, *dealer, *monitor;
    s_list_t unsent, inflight;
    size_t owned_bytes;
    bool rescan;
    int64_t next_scan_ms, last_scan_ms;
    fc_batch_t *scratch_batch;
    fc_event_t *scratch_event;
};

//  xorshift64*: batch ids need spread, not secrecy; seeded from getrandom.
static uint64_t s_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(0x2545F4914F6CDD1D);
}

//  Batch id: Unix seconds in the high 32 bits (the spool sorts oldest first), random low.
static uint64_t s_batch_id(uint64_t *rng)
{
    return ((uint64_t)time(NULL) << 32) | (s_rand(rng) & 0xffffffffu);
}

static void s_wake(fc_client_t *self)
{
    uint64_t one = 1;
    ssize_t rc = write(self->wake_fd, &one, sizeof one);
    (void)rc; //  a full counter already wakes the thread
}

//  --- lists -----------------------------------------------------------------------

static void s_list_remove(s_list_t *l, s_batch_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        l->head = b->next;
    if (b->next)
        b->next->prev = b->prev;
    else
        l->tail = b->prev;
    b->prev = b->next = NULL;
    l->count--;
}

static void s_list_push_back(s_list_t *l, s_batch_t *b)
{
    b->next = NULL;
    b->prev = l->tail;
    if (l->tail)
        l->tail->next = b;
    else
        l->head = b;
    l->tail = b;
    l->count++;
}

static void s_list_push_front(s_list_t *l, s_batch_t *b)
{
    b->prev = NULL;
    b->next = l->head;
    if (l->head)
        l->head->prev = b;
    else
        l->tail = b;
    l->head = b;
    l->count++;
}

static s_batch_t *s_list_find(s_list_t *l, uint64_t id)
{
    for (s_batch_t *b = l->head; b; b = b->next)
        if (b->id == id)
            return b;
    return NULL;
}

//  --- the caller side ---------------------------------------------------------------

//  Moves the open writer to the sealed queue. Mutex held.
static void s_seal(fc_client_t *self)
{
    if (!self->writer)
        return;
    s_sealed_t *s = calloc(1, sizeof *s);
    assert(s); //  a few bytes; the frame itself is already allocated
    s->writer = self->writer;
    s->id = self->writer_id;
    s->count = self->writer_count;
    s->bytes = self->writer_bytes;
    if (self->sealed_tail)
        self->sealed_tail->next = s;
    else
        self->sealed_head = s;
    self->sealed_tail = s;
    self->writer = NULL;
    self->writer_count = 0;
    self->writer_bytes = 0;
}

static fc_code_t s_refuse(fc_proto_error_t *err, fc_code_t code, const char *why)
{
    err->code = code;
    err->field[0] = 0;
    snprintf(err->reason, sizeof err->reason, "%s", why);
    return code;
}

//  Opens a new writer. Mutex held. -1 on OOM.
static int s_open_writer(fc_client_t *self)
{
    self->writer_id = s_batch_id(&self->rng);
    self->writer = fc_batch_writer_new(self->writer_id);
    if (!self->writer)
        return -1;
    self->writer_opened_ms = fc_time_mono_ms();
    return 0;
}

int fc_client_send(fc_client_t *self, fc_event_t *ev, fc_proto_error_t *err)
{
    fc_proto_error_t local;
    if (!err)
        err = &local;
    static const uint8_t nil[16];
    if (memcmp(ev->id, nil, 16) == 0)
        fc_event_id_new(ev->id);
    if (ev->ts_us == 0)
        ev->ts_us = fc_time_now_us();
    uint8_t buf[FC_MAX_EVENT_BYTES];
    int n = fc_event_encode(ev, buf, sizeof buf, err);
    if (n < 0)
        return -1;
    size_t bytes = (size_t)n + 5; //  + the bin header in the frame

    bool wake = false;
    int rc = 0;
    pthread_mutex_lock(&self->mutex);
    if (self->stopping) {
        s_refuse(err, FC_E_UNAVAILABLE, "client is shutting down");
        rc = -1;
    } else if (self->queued_bytes + bytes > S_MAX_QUEUED) {
        s_refuse(err, FC_E_UNAVAILABLE, "send queue full (64 MiB waiting to be spooled)");
        rc = -1;
    } else if (self->stats.spool_bytes + (int64_t)(self->queued_bytes + bytes) >
               self->spool_max_bytes) {
        char why[160];
        snprintf(why, sizeof why, "spool full (%" PRId64 " bytes, limit %" PRId64 ")",
                 self->stats.spool_bytes, self->spool_max_bytes);
        s_refuse(err, FC_E_UNAVAILABLE, why);
        rc = -1;
    }
    if (rc == 0 && !self->writer) {
        rc = s_open_writer(self);
        wake = true; //  the thread arms the batch_max_ms timer
    }
    if (rc == 0 && fc_batch_writer_add(self->writer, buf, (size_t)n) != 0) {
        //  The frame is full: close it and start the next one.
        s_seal(self);
        rc = s_open_writer(self);
        if (rc == 0)
            rc = fc_batch_writer_add(self->writer, buf, (size_t)n);
        wake = true;
    }
    if (rc == 0) {
        self->writer_count++;
        self->writer_bytes += bytes;
        self->queued_bytes += bytes;
        self->mem_events++;
        self->stats.queued++;
        if (self->writer_count >= (uint32_t)self->batch_max_events) {
            s_seal(self);
            wake = true;
        }
    } else if (err->code == FC_OK) {
        s_refuse(err, FC_E_INTERNAL, "out of memory");
    }
    pthread_mutex_unlock(&self->mutex);
    if (wake)
        s_wake(self);
    return rc;
}

//  Seals the open batch and waits until the events counted by `left` are gone or the
//  deadline passes; returns what is left. Serves flush (acked) and sync (on disk).
static uint64_t s_wait(fc_client_t *self, int timeout_ms, bool until_acked)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int64_t ns = deadline.tv_nsec + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000;
    deadline.tv_sec += ns / 1000000000;
    deadline.tv_nsec = ns % 1000000000;

    pthread_mutex_lock(&self->mutex);
    self->seal_now = true;
    pthread_mutex_unlock(&self->mutex);
    s_wake(self);

    pthread_mutex_lock(&self->mutex);
#define S_LEFT (self->mem_events + (until_acked ? self->owned_events + self->waiting_events : 0))
    while (S_LEFT > 0)
        if (pthread_cond_timedwait(&self->changed, &self->mutex, &deadline) == ETIMEDOUT)
            break;
    uint64_t left = S_LEFT;
#undef S_LEFT
    pthread_mutex_unlock(&self->mutex);
    return left;
}

uint64_t fc_client_flush(fc_client_t *self, int timeout_ms)
{
    return s_wait(self, timeout_ms, true);
}

uint64_t fc_client_sync(fc_client_t *self, int timeout_ms)
{
    return s_wait(self, timeout_ms, false);
}

void fc_client_stats(fc_client_t *self, fc_client_stats_t *stats)
{
    pthread_mutex_lock(&self->mutex);
    *stats = self->stats;
    stats->unacked = self->mem_events + self->owned_events + self->waiting_events;
    pthread_mutex_unlock(&self->mutex);
}

//  --- the spool ---------------------------------------------------------------------

static void s_batch_name(char *name, uint64_t id, uint32_t count)
{
    snprintf(name, S_NAME_MAX, "%016" PRIx64 "-%" PRIu32 ".batch", id, count);
}

//  Parses "<16 hex>-<count>.batch"; false for any other name.
static bool s_parse_name(const char *name, uint64_t *id, uint32_t *count)
{
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    if (name[16] != '-' || name[17] < '1' || name[17] > '9')
        return false;
    uint64_t n = 0;
    const char *p = name + 17;
    for (; *p >= '0' && *p <= '9' && n <= FC_MAX_BATCH; p++)
        n = n * 10 + (uint64_t)(*p - '0');
    if (n > FC_MAX_BATCH || strcmp(p, ".batch") != 0)
        return false;
    *id = v;
    *count = (uint32_t)n;
    return true;
}

//  Gives a batch a new id: rebuilds its frame around the same events. Only on the
//  rare clash with a file already in the spool.
static int s_reid(fc_client_t *self, s_batch_t *b)
{
    fc_proto_error_t err;
    if (fc_batch_decode(b->frame, b->size, self->scratch_batch, &err) != FC_OK)
        return -1;
    uint64_t rng;
    if (getrandom(&rng, sizeof rng, 0) != sizeof rng || !rng)
        rng = (uint64_t)fc_time_now_us() | 1;
    uint64_t id = s_batch_id(&rng);
    fc_batch_writer_t *w = fc_batch_writer_new(id);
    for (uint32_t i = 0; w && i < self->scratch_batch->count; i++)
        if (fc_batch_writer_add(w, self->scratch_batch->event_data[i],
                                self->scratch_batch->event_size[i]) != 0)
            fc_batch_writer_destroy(&w);
    size_t size = 0;
    uint8_t *frame = w ? fc_batch_writer_finish(w, &size) : NULL;
    fc_batch_writer_destroy(&w);
    if (!frame)
        return -1;
    free(b->frame);
    b->frame = frame;
    b->size = size;
    b->id = id;
    return 0;
}

//  Writes a batch's spool file: <id>.tmp (exclusive), locked, written, fsynced per
//  policy, then renamed to its final name without replacing anything. The lock is
//  taken before the name is visible, so no scanner can adopt it. The caller fsyncs
//  the directory. Returns 0, or -1 with errno-style reason logged (batch->fd = -1).
static int s_spool_write(fc_client_t *self, s_batch_t *b)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        char tmp[S_NAME_MAX];
        snprintf(tmp, sizeof tmp, "%016" PRIx64 ".tmp", b->id);
        s_batch_name(b->name, b->id, b->count);
        int fd = openat(self->dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            if (s_reid(self, b))
                break;
            continue;
        }
        if (fd < 0) {
            fc_error(MODULE, "spool %s: cannot create %s: %s", self->spool_dir, tmp,
                     strerror(errno));
            break;
        }
        int rc = flock(fd, LOCK_EX | LOCK_NB);
        if (rc == 0)
            rc = fc_write_all(fd, b->frame, b->size);
        if (rc == 0 && self->fsync == FC_FSYNC_BATCH)
            rc = fsync(fd);
        if (rc == 0)
            rc = renameat2(self->dir_fd, tmp, self->dir_fd, b->name, RENAME_NOREPLACE);
        if (rc != 0 && errno == EINVAL) //  file system without RENAME_NOREPLACE
            rc = linkat(self->dir_fd, tmp, self->dir_fd, b->name, 0) == 0
                     ? unlinkat(self->dir_fd, tmp, 0)
                     : -1;
        if (rc == 0) {
            b->fd = fd;
            return 0;
        }
        int e = errno;
        unlinkat(self->dir_fd, tmp, 0);
        close(fd);
        if (e == EEXIST && s_reid(self, b) == 0)
            continue;
        fc_error(MODULE, "spool %s: cannot write %s: %s", self->spool_dir, b->name, strerror(e));
        break;
    }
    b->fd = -1;
    return -1;
}

//  Drops a batch this client owns: deletes its file (unless keep_as is set, then
//  renames it aside) while still holding the lock, then closes it.
static void s_batch_drop(fc_client_t *self, s_batch_t *b, const char *keep_as)
{
    if (b->fd >= 0) {
        struct stat st;
        int64_t size = fstat(b->fd, &st) == 0 ? st.st_size : (int64_t)b->size;
        if (keep_as) {
            char aside[S_NAME_MAX + 16];
            snprintf(aside, sizeof aside, "%s%s", b->name, keep_as);
            renameat(self->dir_fd, b->name, self->dir_fd, aside);
        } else if (unlinkat(self->dir_fd, b->name, 0) != 0 && errno != ENOENT) {
            fc_warn(MODULE, "spool %s: cannot delete %s: %s", self->spool_dir, b->name,
                    strerror(errno));
        }
        close(b->fd);
        pthread_mutex_lock(&self->mutex);
        self->stats.spool_bytes -= size;
        if (self->stats.spool_files > 0)
            self->stats.spool_files--;
        pthread_mutex_unlock(&self->mutex);
    }
    self->owned_bytes -= b->size;
    free(b->frame);
    free(b);
}

//  Lets go of a batch without deleting its file: a later scan (by this client or
//  another) adopts it.
static void s_batch_release(fc_client_t *self, s_batch_t *b)
{
    if (b->fd >= 0)
        close(b->fd);
    self->owned_bytes -= b->size;
    free(b->frame);
    free(b);
}

static bool s_owned_name(fc_client_t *self, uint64_t id, uint32_t count)
{
    s_list_t *lists[] = {&self->unsent, &self->inflight};
    for (int l = 0; l < 2; l++)
        for (s_batch_t *b = lists[l]->head; b; b = b->next)
            if (b->id == id && b->count == count)
                return true;
    return false;
}

static bool s_has_room(fc_client_t *self, size_t size)
{
    return self->unsent.count + self->inflight.count < S_MAX_OWNED_FILES &&
           self->owned_bytes + size <= S_MAX_OWNED_BYTES;
}

//  Reads and checks a spool file this client has locked; NULL (and the file moved
//  aside as .corrupt) if it is not the batch its name says.
static s_batch_t *s_adopt(fc_client_t *self, int fd, const char *name, uint64_t id, uint32_t count,
                          size_t size)
{
    s_batch_t *b = calloc(1, sizeof *b);
    uint8_t *frame = size ? malloc(size) : NULL;
    ssize_t got = frame ? pread(fd, frame, size, 0) : -1;
    fc_proto_error_t err = {0};
    if (!b || got != (ssize_t)size ||
        fc_batch_decode(frame, size, self->scratch_batch, &err) != FC_OK ||
        self->scratch_batch->batch_id != id || self->scratch_batch->count != count) {
        if (b && frame) {
            char aside[S_NAME_MAX + 16];
            snprintf(aside, sizeof aside, "%s.corrupt", name);
            renameat(self->dir_fd, name, self->dir_fd, aside);
            fc_warn(MODULE, "spool %s: %s is not a valid batch (%s): moved aside as %s",
                    self->spool_dir, name, err.reason[0] ? err.reason : "short read", aside);
        }
        free(frame);
        free(b);
        return NULL;
    }
    b->id = id;
    b->count = count;
    b->frame = frame;
    b->size = size;
    b->fd = fd;
    snprintf(b->name, sizeof b->name, "%s", name);
    self->owned_bytes += size;
    return b;
}

typedef struct {
    uint64_t id;
    uint32_t count;
    char name[S_NAME_MAX];
} s_candidate_t;

static int s_candidate_cmp(const void *a, const void *b)
{
    uint64_t x = ((const s_candidate_t *)a)->id, y = ((const s_candidate_t *)b)->id;
    return x < y ? -1 : x > y;
}

//  Scans the spool directory: recounts its size, deletes stale temp files, and adopts,
//  oldest first, the batch files whose lock is free while this client has room.
//  Files it can lock but has no room for are counted as waiting (flush waits for
//  them); files locked by another live process are that process's to deliver.
static void s_scan(fc_client_t *self)
{
    int fd = dup(self->dir_fd);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        fc_warn(MODULE, "spool %s: cannot read: %s", self->spool_dir, strerror(errno));
        return;
    }
    rewinddir(dir);
    s_candidate_t *cands = NULL;
    size_t ncands = 0, cap = 0;
    int64_t bytes = 0;
    uint64_t files = 0;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(dir))) {
        uint64_t id;
        uint32_t count;
        struct stat st;
        size_t len = strlen(de->d_name);
        if (len == 20 && strcmp(de->d_name + 16, ".tmp") == 0) {
            //  A crash between create and rename leaves a .tmp: remove it once old.
            if (fstatat(self->dir_fd, de->d_name, &st, 0) == 0 &&
                st.st_mtime < now - S_STALE_TMP_S) {
                int tfd = openat(self->dir_fd, de->d_name, O_RDONLY | O_CLOEXEC);
                if (tfd >= 0 && flock(tfd, LOCK_EX | LOCK_NB) == 0)
                    unlinkat(self->dir_fd, de->d_name, 0);
                if (tfd >= 0)
                    close(tfd);
            }
            continue;
        }
        if (!s_parse_name(de->d_name, &id, &count) ||
            fstatat(self->dir_fd, de->d_name, &st, 0) != 0)
            continue;
        bytes += st.st_size;
        files++;
        if (s_owned_name(self, id, count))
            continue;
        if (ncands == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            s_candidate_t *n = realloc(cands, ncap * sizeof *n);
            if (!n)
                break;
            cands = n;
            cap = ncap;
        }
        cands[ncands].id = id;
        cands[ncands].count = count;
        snprintf(cands[ncands].name, S_NAME_MAX, "%s", de->d_name);
        ncands++;
    }
    closedir(dir);
    if (ncands)
        qsort(cands, ncands, sizeof *cands, s_candidate_cmp);

    uint64_t waiting = 0, adopted = 0;
    for (size_t i = 0; i < ncands; i++) {
        int bfd = openat(self->dir_fd, cands[i].name, O_RDONLY | O_CLOEXEC);
        if (bfd < 0)
            continue; //  acked and deleted meanwhile
        struct stat st;
        if (flock(bfd, LOCK_EX | LOCK_NB) != 0 || fstat(bfd, &st) != 0 || st.st_nlink == 0) {
            close(bfd); //  another process owns it, or it was deleted before we locked
            continue;
        }
        s_batch_t *b = NULL;
        if (s_has_room(self, (size_t)st.st_size) && !s_list_find(&self->unsent, cands[i].id) &&
            !s_list_find(&self->inflight, cands[i].id))
            b = s_adopt(self, bfd, cands[i].name, cands[i].id, cands[i].count, (size_t)st.st_size);
        if (b) {
            s_list_push_back(&self->unsent, b);
            adopted += b->count;
        } else {
            close(bfd);
            if (faccessat(self->dir_fd, cands[i].name, F_OK, 0) == 0)
                waiting += cands[i].count;
        }
    }
    free(cands);
    pthread_mutex_lock(&self->mutex);
    self->stats.spool_bytes = bytes;
    self->stats.spool_files = files;
    self->stats.adopted += adopted;
    self->owned_events += adopted;
    self->waiting_events = waiting;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
    if (adopted)
        fc_info(MODULE, "spool %s: loaded %" PRIu64 " events waiting in the spool", self->spool_dir,
                adopted);
    self->rescan = waiting > 0;
    self->last_scan_ms = fc_time_mono_ms();
    self->next_scan_ms = self->last_scan_ms + (self->rescan ? S_RESCAN_MS : S_SCAN_EVERY_MS);
}

//  Spools what callers sealed (and the open batch when due), then queues it to send.
//  Files are fsynced one by one, the directory once for the lot.
static void s_take_sealed(fc_client_t *self, bool all)
{
    pthread_mutex_lock(&self->mutex);
    if (self->writer &&
        (all || self->seal_now || fc_time_mono_ms() >= self->writer_opened_ms + self->batch_max_ms))
        s_seal(self);
    self->seal_now = false;
    s_sealed_t *list = self->sealed_head;
    self->sealed_head = self->sealed_tail = NULL;
    pthread_mutex_unlock(&self->mutex);
    if (!list)
        return;

    int written = 0;
    while (list) {
        s_sealed_t *s = list;
        list = s->next;
        s_batch_t *b = calloc(1, sizeof *b);
        size_t size = 0;
        uint8_t *frame = b ? fc_batch_writer_finish(s->writer, &size) : NULL;
        if (!frame) {
            //  Out of memory: put it back and try again on the next turn.
            free(b);
            pthread_mutex_lock(&self->mutex);
            s->next = self->sealed_head;
            self->sealed_head = s;
            if (!self->sealed_tail)
                self->sealed_tail = s;
            pthread_mutex_unlock(&self->mutex);
            continue;
        }
        fc_batch_writer_destroy(&s->writer);
        b->id = s->id;
        b->count = s->count;
        b->frame = frame;
        b->size = size;
        bool on_disk = s_spool_write(self, b) == 0; //  may rebuild the frame (new id)
        self->owned_bytes += b->size;
        written += on_disk;
        bool keep = !on_disk || s_has_room(self, 0);
        pthread_mutex_lock(&self->mutex);
        self->queued_bytes -= s->bytes;
        self->mem_events -= s->count;
        if (keep)
            self->owned_events += s->count;
        else
            self->waiting_events += s->count;
        if (on_disk) {
            self->stats.spool_bytes += (int64_t)b->size;
            self->stats.spool_files++;
        }
        pthread_mutex_unlock(&self->mutex);
        if (!on_disk)
            fc_warn(MODULE, "sending batch %016" PRIx64 " (%u events) without a spool copy", b->id,
                    b->count);
        if (keep)
            s_list_push_back(&self->unsent, b);
        else {
            s_batch_release(self, b); //  on disk; adopted again when there is room
            self->rescan = true;
        }
        free(s);
    }
    if (written && self->fsync == FC_FSYNC_BATCH && fsync(self->dir_fd) != 0)
        fc_warn(MODULE, "spool %s: fsync of the directory failed: %s", self->spool_dir,
                strerror(errno));
    pthread_mutex_lock(&self->mutex);
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
}

//  --- sending and acks --------------------------------------------------------------

//  Sends queued batches while the window has room; false when the socket would block
//  (no endpoint connected), so the caller polls for POLLOUT.
static bool s_send_some(fc_client_t *self)
{
    while (self->unsent.head && self->inflight.count < self->window) {
        s_batch_t *b = self->unsent.head;
        if (zmq_send(self->dealer, b->frame, b->size, ZMQ_DONTWAIT) < 0)
            return errno != EAGAIN;
        s_list_remove(&self->unsent, b);
        bool resend = b->sent_ms != 0;
        b->sent_ms = fc_time_mono_ms();
        //  Each resend waits twice as long, up to 4x: an ingest that is slow rather
        //  than gone is not flooded with copies of what it is still committing.
        b->due_ms = b->sent_ms + ((int64_t)self->ack_timeout_ms << (b->sends < 2 ? b->sends : 2));
        b->sends++;
        s_list_push_back(&self->inflight, b);
        pthread_mutex_lock(&self->mutex);
        if (resend)
            self->stats.resent++;
        else
            self->stats.sent++;
        pthread_mutex_unlock(&self->mutex);
    }
    return true;
}

//  Moves batches in flight back to the front of the queue: all of them (a connection
//  dropped) or those whose ack is overdue.
static void s_requeue(fc_client_t *self, bool all)
{
    int64_t now = fc_time_mono_ms();
    s_batch_t *last = NULL; //  keep their order at the front of the queue
    for (s_batch_t *b = self->inflight.head, *next; b; b = next) {
        next = b->next;
        if (!all && b->due_ms > now)
            continue;
        s_list_remove(&self->inflight, b);
        if (!last)
            s_list_push_front(&self->unsent, b);
        else {
            b->prev = last;
            b->next = last->next;
            if (last->next)
                last->next->prev = b;
            else
                self->unsent.tail = b;
            last->next = b;
            self->unsent.count++;
        }
        last = b;
    }
}

//  Calls on_result for every event of a batch (decoding each for its id).
static void s_report(fc_client_t *self, s_batch_t *b, const fc_ack_t *ack, fc_code_t all,
                     const char *reason)
{
    fc_proto_error_t err;
    if (!self->on_result || fc_batch_decode(b->frame, b->size, self->scratch_batch, &err) != FC_OK)
        return;
    for (uint32_t i = 0; i < self->scratch_batch->count; i++) {
        static const uint8_t nil[16];
        const uint8_t *id = nil;
        if (fc_event_decode(self->scratch_batch->event_data[i], self->scratch_batch->event_size[i],
                            self->scratch_event, &err) == FC_OK)
            id = self->scratch_event->id;
        if (ack && i < ack->count)
            self->on_result(self->result_arg, id, (fc_code_t)ack->results[i].code,
                            ack->results[i].field, ack->results[i].reason);
        else
            self->on_result(self->result_arg, id, all, "", reason);
    }
}

static void s_on_ack(fc_client_t *self, const uint8_t *data, size_t size)
{
    fc_ack_t ack;
    fc_proto_error_t err = {0};
    if (fc_ack_decode(data, size, &ack, &err) != FC_OK) {
        fc_warn(MODULE, "ignored a malformed ack of %zu bytes: %s %s", size, err.field, err.reason);
        fc_ack_clear(&ack);
        return;
    }
    s_list_t *list = &self->inflight;
    s_batch_t *b = s_list_find(list, ack.batch_id);
    if (!b) {
        list = &self->unsent; //  requeued for a resend, then the ack came after all
        b = s_list_find(list, ack.batch_id);
    }
    //  PROTOCOL §7: an unknown status >= 30 is retryable, like the known ones.
    bool retry = fc_code_retryable(ack.status) || ack.status >= FC_E_INTERNAL;
    if (!b || retry) {
        //  Unknown: the ack of a resend of a batch already acked. Retryable: the batch
        //  stays in flight and is resent when its ack timeout passes.
        if (b)
            fc_debug(MODULE, "batch %016" PRIx64 ": %s (%s), resending later", b->id,
                     fc_code_name(ack.status), ack.reason);
        fc_ack_clear(&ack);
        return;
    }
    if (ack.status == FC_OK && ack.count != b->count) {
        fc_warn(MODULE, "ignored the ack of batch %016" PRIx64 ": %u results for %u events", b->id,
                ack.count, b->count);
        fc_ack_clear(&ack);
        return;
    }
    uint64_t ok = 0, dup = 0, rej = 0;
    const fc_result_t *last = NULL;
    if (ack.status == FC_OK) {
        for (uint32_t i = 0; i < ack.count; i++) {
            uint8_t code = ack.results[i].code; //  unknown codes < 10 are successes
            ok += code < FC_E_MALFORMED && code != FC_DUPLICATE;
            dup += code == FC_DUPLICATE;
            if (code >= FC_E_MALFORMED) {
                rej++;
                last = &ack.results[i];
            }
        }
    } else {
        rej = b->count;
        fc_warn(MODULE, "batch %016" PRIx64 " (%u events) refused: %s (%s); kept as %s.rejected",
                b->id, b->count, fc_code_name(ack.status), ack.reason, b->name);
    }
    pthread_mutex_lock(&self->mutex);
    self->stats.acked += ok;
    self->stats.duplicate += dup;
    self->stats.rejected += rej;
    if (last) {
        self->stats.last_reject_code = (fc_code_t)last->code;
        snprintf(self->stats.last_reject_field, sizeof self->stats.last_reject_field, "%s",
                 last->field);
        snprintf(self->stats.last_reject_reason, sizeof self->stats.last_reject_reason, "%s",
                 last->reason);
    } else if (ack.status != FC_OK) {
        self->stats.last_reject_code = ack.status;
        self->stats.last_reject_field[0] = 0;
        snprintf(self->stats.last_reject_reason, sizeof self->stats.last_reject_reason, "%s",
                 ack.reason);
    }
    pthread_mutex_unlock(&self->mutex);

    s_report(self, b, ack.status == FC_OK ? &ack : NULL, ack.status, ack.reason);
    s_list_remove(list, b);
    uint32_t count = b->count;
    s_batch_drop(self, b, ack.status == FC_OK ? NULL : ".rejected");
    fc_ack_clear(&ack);

    pthread_mutex_lock(&self->mutex);
    self->owned_events -= count;
    pthread_cond_broadcast(&self->changed);
    pthread_mutex_unlock(&self->mutex);
}

static void s_recv_acks(fc_client_t *self)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, self->dealer, ZMQ_DONTWAIT) >= 0) {
        if (zmq_msg_more(&msg)) {
            //  An ack is one frame; skip the rest of anything else.
            while (zmq_msg_more(&msg) && zmq_msg_recv(&msg, self->dealer, ZMQ_DONTWAIT) >= 0)
                ;
            fc_warn(MODULE, "ignored a multi-frame reply");
            continue;
        }
        s_on_ack(self, zmq_msg_data(&msg), zmq_msg_size(&msg));
    }
    zmq_msg_close(&msg);
}

//  A connection dropped: what was in flight on it will never be acked (the ack would
//  go to the old connection), so everything in flight is sent again now rather than
//  after the timeout. Ingest absorbs the duplicates.
static void s_on_monitor(fc_client_t *self)
{
    //  Each event is two frames: [uint16 event, uint32 value][endpoint].
    bool dropped = false, first = true;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    while (zmq_msg_recv(&msg, self->monitor, ZMQ_DONTWAIT) >= 0) {
        if (first && zmq_msg_size(&msg) >= 2) {
            uint16_t event;
            memcpy(&event, zmq_msg_data(&msg), sizeof event);
            dropped = dropped || event == ZMQ_EVENT_DISCONNECTED;
        }
        first = !zmq_msg_more(&msg);
    }
    zmq_msg_close(&msg);
    if (dropped && self->inflight.count) {
        fc_info(MODULE, "connection to ingest dropped: resending %d batches in flight",
                self->inflight.count);
        s_requeue(self, true);
    }
}

//  --- the thread --------------------------------------------------------------------

static int s_poll_timeout(fc_client_t *self)
{
    int64_t now = fc_time_mono_ms();
    int64_t until = now + 1000;
    pthread_mutex_lock(&self->mutex);
    if (self->writer && self->writer_opened_ms + self->batch_max_ms < until)
        until = self->writer_opened_ms + self->batch_max_ms;
    if (self->sealed_head || self->seal_now || self->stopping)
        until = now;
    pthread_mutex_unlock(&self->mutex);
    for (s_batch_t *b = self->inflight.head; b; b = b->next) //  at most `window`
        if (b->due_ms < until)
            until = b->due_ms;
    if (self->next_scan_ms < until)
        until = self->next_scan_ms;
    return until > now ? (int)(until - now) : 0;
}

static void *s_thread(void *arg)
{
    fc_client_t *self = arg;
    bool blocked = false;
    for (;;) {
        pthread_mutex_lock(&self->mutex);
        bool stopping = self->stopping;
        pthread_mutex_unlock(&self->mutex);
        s_take_sealed(self, stopping);
        if (stopping)
            break;
        s_requeue(self, false);
        //  Scan on schedule, and as soon as half the room is free when files wait
        //  (this client's own overflow, typically), so that sending never idles.
        int64_t now = fc_time_mono_ms();
        bool half_free = self->unsent.count + self->inflight.count < S_MAX_OWNED_FILES / 2 &&
                         self->owned_bytes < S_MAX_OWNED_BYTES / 2;
        if (now >= self->next_scan_ms ||
            (self->rescan && half_free && now >= self->last_scan_ms + S_MIN_SCAN_GAP_MS)) {
            if (s_has_room(self, 0))
                s_scan(self);
            else
                self->next_scan_ms = fc_time_mono_ms() + S_RESCAN_MS;
        }
        blocked = !s_send_some(self);

        zmq_pollitem_t items[3] = {
            {self->dealer, 0, (short)(ZMQ_POLLIN | (blocked ? ZMQ_POLLOUT : 0)), 0},
            {NULL, self->wake_fd, ZMQ_POLLIN, 0},
            {self->monitor, 0, ZMQ_POLLIN, 0}};
        int rc = zmq_poll(items, 3, s_poll_timeout(self));
        if (rc < 0 && errno != EINTR) {
            fc_error(MODULE, "poll failed: %s", zmq_strerror(errno));
            break;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            uint64_t n;
            ssize_t r = read(self->wake_fd, &n, sizeof n);
            (void)r;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_recv_acks(self);
        if (items[2].revents & ZMQ_POLLIN)
            s_on_monitor(self);
    }
    //  Everything owned stays in the spool for the next client; release the locks.
    s_list_t *lists[] = {&self->unsent, &self->inflight};
    for (int l = 0; l < 2; l++)
        while (lists[l]->head) {
            s_batch_t *b = lists[l]->head;
            s_list_remove(lists[l], b);
            if (b->fd < 0 && s_spool_write(self, b) != 0)
                fc_error(MODULE, "lost %u events: could not write them to the spool", b->count);
            s_batch_release(self, b);
        }
    if (self->fsync == FC_FSYNC_BATCH)
        fsync(self->dir_fd);
    return NULL;
}

//  --- life cycle --------------------------------------------------------------------

//  mkdir -p with mode 0700 for what it creates.
static int s_mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

//  Makes the DEALER a CurveZMQ client: our keypair from <name>.cert(_secret), the
//  server's public key from server.cert. Plaintext when neither is given.
static int s_setup_curve(fc_client_t *self, const char *client_cert, const char *server_cert)
{
    bool mine = client_cert && *client_cert, theirs = server_cert && *server_cert;
    if (!mine && !theirs)
        return 0;
    if (!mine || !theirs) {
        fc_error(MODULE, "CurveZMQ needs both the client and the server certificate");
        return -1;
    }
    char base[4096];
    snprintf(base, sizeof base, "%s", client_cert);
    size_t n = strlen(base);
    if (n > 7 && strcmp(base + n - 7, "_secret") == 0)
        base[n - 7] = 0; //  zcert_load reads <file> and <file>_secret
    zcert_t *me = zcert_load(base);
    zcert_t *server = zcert_load(server_cert);
    int rc = -1;
    if (!me || !server)
        fc_error(MODULE, "cannot read certificate %s", !me ? base : server_cert);
    else {
        int on = 0;
        rc = zmq_setsockopt(self->dealer, ZMQ_CURVE_SERVER, &on, sizeof on) ||
                     zmq_setsockopt(self->dealer, ZMQ_CURVE_PUBLICKEY, zcert_public_key(me), 32) ||
                     zmq_setsockopt(self->dealer, ZMQ_CURVE_SECRETKEY, zcert_secret_key(me), 32) ||
                     zmq_setsockopt(self->dealer, ZMQ_CURVE_SERVERKEY, zcert_public_key(server), 32)
                 ? -1
                 : 0;
        static const uint8_t zero[32];
        if (rc == 0 && memcmp(zcert_secret_key(me), zero, 32) == 0) {
            fc_error(MODULE, "certificate %s has no secret key (%s_secret)", base, base);
            rc = -1;
        }
    }
    zcert_destroy(&me);
    zcert_destroy(&server);
    return rc;
}

static int s_setup_socket(fc_client_t *self, const fc_client_options_t *o)
{
    const char *endpoints = o->endpoints;
    self->ctx = zmq_ctx_new();
    self->dealer = self->ctx ? zmq_socket(self->ctx, ZMQ_DEALER) : NULL;
    if (!self->dealer || s_setup_curve(self, o->client_cert, o->server_cert) != 0)
        return -1;
    int one = 1, zero = 0, ivl = 100, ivl_max = 2000;
    int64_t maxmsg = FC_MAX_FRAME;
    zmq_setsockopt(self->dealer, ZMQ_IMMEDIATE, &one, sizeof one);
    zmq_setsockopt(self->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(self->dealer, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(self->dealer, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max);
    zmq_setsockopt(self->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);

    char addr[64];
    snprintf(addr, sizeof addr, "inproc://fc-client-monitor-%p", (void *)self);
    if (zmq_socket_monitor(self->dealer, addr, ZMQ_EVENT_DISCONNECTED) != 0)
        return -1;
    self->monitor = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!self->monitor || zmq_connect(self->monitor, addr) != 0)
        return -1;
    zmq_setsockopt(self->monitor, ZMQ_LINGER, &zero, sizeof zero);

    char *list = strdup(endpoints);
    int count = 0, rc = list ? 0 : -1;
    char *save = NULL;
    for (char *ep = list ? strtok_r(list, ",", &save) : NULL; ep && rc == 0;
         ep = strtok_r(NULL, ",", &save)) {
        while (*ep == ' ')
            ep++;
        if (!*ep)
            continue;
        if (zmq_connect(self->dealer, ep) != 0) {
            fc_error(MODULE, "cannot connect to '%s': %s", ep, zmq_strerror(errno));
            rc = -1;
        }
        count++;
    }
    free(list);
    if (rc == 0 && count == 0) {
        fc_error(MODULE, "no ingest endpoint given");
        rc = -1;
    }
    return rc;
}

static void s_free(fc_client_t *self)
{
    if (self->monitor)
        zmq_close(self->monitor);
    if (self->dealer) {
        zmq_socket_monitor(self->dealer, NULL, 0);
        zmq_close(self->dealer);
    }
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    if (self->dir_fd >= 0)
        close(self->dir_fd);
    while (self->sealed_head) {
        s_sealed_t *s = self->sealed_head;
        self->sealed_head = s->next;
        fc_batch_writer_destroy(&s->writer);
        free(s);
    }
    fc_batch_writer_destroy(&self->writer);
    pthread_mutex_destroy(&self->mutex);
    pthread_cond_destroy(&self->changed);
    free(self->scratch_batch);
    free(self->scratch_event);
    free(self->spool_dir);
    free(self);
}

fc_client_t *fc_client_new(const fc_client_options_t *o)
{
    if (!o || !o->endpoints || !o->spool_dir || !*o->spool_dir) {
        fc_error(MODULE, "endpoints and spool_dir are required");
        return NULL;
    }
    if (o->batch_max_events < 0 || o->batch_max_events > FC_MAX_BATCH || o->batch_max_ms < 0 ||
        o->window < 0 || o->ack_timeout_ms < 0 || o->spool_max_bytes < 0) {
        fc_error(MODULE, "invalid options (batch_max_events 1..%d, others >= 0)", FC_MAX_BATCH);
        return NULL;
    }
    fc_client_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->wake_fd = self->dir_fd = -1;
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->changed, &ca);
    pthread_condattr_destroy(&ca);

    self->batch_max_events = o->batch_max_events ? o->batch_max_events : 500;
    self->batch_max_ms = o->batch_max_ms ? o->batch_max_ms : 5;
    self->window = o->window ? o->window : 16;
    self->ack_timeout_ms = o->ack_timeout_ms ? o->ack_timeout_ms : 2000;
    self->fsync = o->fsync;
    self->spool_max_bytes = o->spool_max_bytes ? o->spool_max_bytes : INT64_C(1) << 30;
    self->on_result = o->on_result;
    self->result_arg = o->result_arg;
    self->spool_dir = strdup(o->spool_dir);
    self->scratch_batch = malloc(sizeof *self->scratch_batch);
    self->scratch_event = malloc(sizeof *self->scratch_event);
    if (getrandom(&self->rng, sizeof self->rng, 0) != sizeof self->rng || !self->rng)
        self->rng = (uint64_t)fc_time_now_us() | 1;
    if (!self->spool_dir || !self->scratch_batch || !self->scratch_event) {
        s_free(self);
        return NULL;
    }
    if (s_mkdirs(o->spool_dir) != 0 ||
        (self->dir_fd = open(o->spool_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        fc_error(MODULE, "spool %s: %s", o->spool_dir, strerror(errno));
        s_free(self);
        return NULL;
    }
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0 || s_setup_socket(self, o) != 0) {
        s_free(self);
        return NULL;
    }
    //  Before the thread starts, so that a flush right away already counts the spool.
    s_scan(self);
    if (pthread_create(&self->thread, NULL, s_thread, self) != 0) {
        s_free(self);
        return NULL;
    }
    return self;
}

void fc_client_destroy(fc_client_t **self_p)
{
    assert(self_p);
    fc_client_t *self = *self_p;
    if (!self)
        return;
    pthread_mutex_lock(&self->mutex);
    self->stopping = true;
    pthread_mutex_unlock(&self->mutex);
    s_wake(self);
    pthread_join(self->thread, NULL);
    s_free(self);
    *self_p = NULL;
}

const char *fc_client_spool_dir(fc_client_t *self)
{
    return self->spool_dir;
}

int fc_client_spool_count(const char *spool_dir, uint64_t *files, uint64_t *events)
{
    *files = *events = 0;
    DIR *dir = opendir(spool_dir);
    if (!dir)
        return errno == ENOENT ? 0 : -1;
    struct dirent *de;
    while ((de = readdir(dir))) {
        uint64_t id;
        uint32_t count;
        if (s_parse_name(de->d_name, &id, &count)) {
            (*files)++;
            *events += count;
        }
    }
    closedir(dir);
    return 0;
}
