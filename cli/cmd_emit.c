/*  fleetcost emit: sends one event (flags) or many (NDJSON on stdin) through
    libfleetcost and reports what ingest did with each.

    Exit status: 0 when every event was acked (stored or a duplicate) or spooled for
    later delivery; 1 when ingest rejected an event (or, with --stdin, a line was
    malformed); 2 on bad arguments. Event fields come from flags only, never from the
    environment: a stray FLEETCOST_ID in an agent's environment must not pin every
    event's id. */
#include <ctype.h>
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_json_tok.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_time.h"
#include "fleetcost.h"

#define MODULE "emit"

//  --- settings shared with `fleetcost flush` --------------------------------------------

const fc_option_t cmd_client_options[] = {
    {"ingest-endpoints", FC_OPT_STR, "tcp://127.0.0.1:7601", 0, 0, false,
     "ingest ROUTER endpoints, comma-separated (failover across them)"},
    {"spool-dir", FC_OPT_STR, "", 0, 0, false,
     "spool directory (default /var/lib/fleetcost/spool as root, else "
     "~/.local/state/fleetcost/spool)"},
    {"timeout-ms", FC_OPT_INT, "3000", 0, 3600000, false,
     "how long to wait for acks before leaving events in the spool"},
    {"verbose", FC_OPT_BOOL, "false", 0, 0, false, "log debug lines"},
    {"cert", FC_OPT_STR, "", 0, 0, false,
     "CurveZMQ: this host's certificate (<name>.cert from `fleetcost cert create`)"},
    {"server-cert", FC_OPT_STR, "", 0, 0, false,
     "CurveZMQ: ingest's public certificate (server.cert); both empty: plaintext"},
    FC_OPT_END};

fc_client_t *cmd_client_open(fc_config_t *config, fc_client_result_fn *on_result, void *arg)
{
    //  A command's output is its result lines; the client's info lines only with -v.
    fc_log_set_level(fc_config_bool(config, "verbose") ? FC_LOG_DEBUG : FC_LOG_WARN);
    char dir[4096];
    const char *spool = fc_config_str(config, "spool-dir");
    const char *home = getenv("HOME");
    if (*spool)
        snprintf(dir, sizeof dir, "%s", spool);
    else if (geteuid() == 0)
        snprintf(dir, sizeof dir, "/var/lib/fleetcost/spool");
    else if (getenv("XDG_STATE_HOME") && *getenv("XDG_STATE_HOME"))
        snprintf(dir, sizeof dir, "%s/fleetcost/spool", getenv("XDG_STATE_HOME"));
    else if (home && *home)
        snprintf(dir, sizeof dir, "%s/.local/state/fleetcost/spool", home);
    else {
        fc_error(MODULE, "no spool directory: set --spool-dir or FLEETCOST_SPOOL_DIR");
        return NULL;
    }
    fc_client_options_t o = {.endpoints = fc_config_str(config, "ingest-endpoints"),
                             .spool_dir = dir,
                             .on_result = on_result,
                             .result_arg = arg,
                             .client_cert = fc_config_str(config, "cert"),
                             .server_cert = fc_config_str(config, "server-cert")};
    return fc_client_new(&o);
}

//  --- event fields from flags and JSON keys ------------------------------------------

typedef enum {
    F_STR,
    F_INT,
    F_MONEY,
    F_DOUBLE,
    F_BOOL,
    F_LABEL,
    F_ATTR,
    F_TIME,
    F_ID,
    F_TYPE
} s_kind_t;

typedef struct {
    const char *name; //  flag name; the JSON key is the same with '_' for '-'
    s_kind_t kind;
    size_t off; //  the field in fc_event_t
    int has;    //  offset of its has_* flag, -1 if none
    size_t cap; //  F_STR: bytes without the NUL
    const char *help;
} s_field_t;

#define M(m)   offsetof(fc_event_t, m)
#define CAP(m) (sizeof(((fc_event_t *)0)->m) - 1)
#define STR(n, m, h)                                                                               \
    {                                                                                              \
        n, F_STR, M(m), -1, CAP(m), h                                                              \
    }
#define INT(n, m, has, h)                                                                          \
    {                                                                                              \
        n, F_INT, M(m), has, 0, h                                                                  \
    }

static const s_field_t s_fields[] = {
    {"type", F_TYPE, M(type), -1, 0,
     "event type (JSON only; on the command line it is the "
     "first argument)"},
    STR("tenant", tenant, "tenant id (required)"),
    STR("agent", agent, "agent id"),
    STR("agent-type", agent_type, "agent type"),
    STR("task", task, "task id"),
    STR("host", host, "host name"),
    STR("session", session, "session id"),
    STR("request", request, "request id"),
    STR("model", model, "model (usage)"),
    INT("input-tokens", input_tokens, -1, "input tokens (usage)"),
    INT("output-tokens", output_tokens, -1, "output tokens (usage)"),
    INT("cache-read-tokens", cache_read_tokens, -1, "cache read tokens (usage)"),
    INT("cache-write-5m-tokens", cache_write_5m_tokens, -1, "5-minute cache write tokens"),
    INT("cache-write-1h-tokens", cache_write_1h_tokens, -1, "1-hour cache write tokens"),
    INT("api-duration-ms", api_duration_ms, M(has_api_duration_ms), "API call duration"),
    INT("memory-mb", memory_mb, M(has_memory_mb), "agent memory"),
    {"cpu-percent", F_DOUBLE, M(cpu_percent), M(has_cpu_percent), 0, "agent CPU use"},
    {"reported-cost", F_MONEY, M(reported_cost_nusd), M(has_reported_cost), 0,
     "cost the agent reports, USD (e.g. 0.0123)"},
    STR("speed", speed, "usage: standard or fast (fast mode)"),
    STR("inference-geo", geo, "usage: where inference ran, global or us (data residency)"),
    {"batch", F_BOOL, M(batch), -1, 0, "usage: sent through a batch API (true/false)"},
    INT("web-search-requests", web_search_requests, -1, "usage: server-tool web searches"),
    INT("code-exec-ms", code_exec_ms, -1, "usage: server-tool code-execution time, ms"),
    STR("parent-agent", parent_agent, "parent agent (agent.spawn)"),
    STR("from-task", from_task, "previous task (agent.reassign)"),
    STR("reason", reason, "reason (agent.terminate)"),
    INT("exit-code", exit_code, M(has_exit_code), "exit code (agent.terminate)"),
    STR("title", title, "task title"),
    STR("task-type", task_type, "task type"),
    STR("priority", priority, "task priority"),
    STR("status", status, "task status"),
    STR("repo", repo, "repository, owner/name"),
    INT("issue", issue, M(has_issue), "issue number"),
    {"label", F_LABEL, M(labels), -1, 0, "task label (repeatable; JSON: an array)"},
    STR("kind", kind, "cost kind: runtime, storage, mcp, other"),
    {"cost", F_MONEY, M(cost_nusd), -1, 0, "cost, USD (cost events)"},
    INT("quantity", quantity, M(has_quantity), "quantity (cost)"),
    STR("unit", unit, "unit of quantity (cost)"),
    STR("description", description, "description (cost)"),
    {"attr", F_ATTR, M(attrs), -1, 0, "attribution key=value (repeatable; JSON: an object)"},
    {"time", F_TIME, M(ts_us), -1, 0, "event time: RFC 3339 or Unix seconds (default now)"},
    {"id", F_ID, M(id), -1, 0, "event id, a UUID (default a new time-ordered one)"},
};
#define S_FIELD_COUNT (sizeof s_fields / sizeof s_fields[0])

//  One event being built, with which single-valued fields it already has.
typedef struct {
    fc_event_t ev;
    uint64_t seen;
} s_builder_t;

//  Compares a flag or JSON key with a field name, '-' and '_' alike.
static bool s_name_is(const char *name, size_t len, const char *field)
{
    size_t i = 0;
    for (; i < len && field[i]; i++)
        if (name[i] != field[i] && !(name[i] == '_' && field[i] == '-'))
            return false;
    return i == len && !field[i];
}

static const s_field_t *s_field_find(const char *name, size_t len)
{
    for (size_t i = 0; i < S_FIELD_COUNT; i++)
        if (s_name_is(name, len, s_fields[i].name))
            return &s_fields[i];
    //  the JSON spellings of the list fields, as in the canonical JSON
    if (s_name_is(name, len, "labels"))
        return s_field_find("label", 5);
    if (s_name_is(name, len, "attrs"))
        return s_field_find("attr", 4);
    return NULL;
}

static int s_int(const char *text, int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(text, &end, 10);
    if (errno || end == text || *end)
        return -1;
    *v = x;
    return 0;
}

//  Sets one field from its text. Returns 0, or -1 with why in err.
static int s_set(s_builder_t *b, const s_field_t *f, const char *value, const char *subkey,
                 char *err, size_t errsize)
{
    fc_event_t *ev = &b->ev;
    char *base = (char *)ev;
    size_t index = (size_t)(f - s_fields);
    if (f->kind != F_LABEL && f->kind != F_ATTR) {
        if (b->seen & (UINT64_C(1) << index)) {
            snprintf(err, errsize, "%s given twice", f->name);
            return -1;
        }
        b->seen |= UINT64_C(1) << index;
    }
    switch (f->kind) {
    case F_TYPE:
        ev->type = fc_event_type_parse(value);
        if (ev->type == FC_EV_INVALID) {
            snprintf(err, errsize, "unknown event type '%s'", value);
            return -1;
        }
        return 0;
    case F_STR:
        if (strlen(value) > f->cap) {
            snprintf(err, errsize, "%s is longer than %zu bytes", f->name, f->cap);
            return -1;
        }
        memcpy(base + f->off, value, strlen(value) + 1);
        return 0;
    case F_INT:
        if (s_int(value, (int64_t *)(void *)(base + f->off))) {
            snprintf(err, errsize, "%s '%s' is not an integer", f->name, value);
            return -1;
        }
        break;
    case F_MONEY:
        if (fc_money_parse(value, (int64_t *)(void *)(base + f->off))) {
            snprintf(err, errsize, "%s '%s' is not an amount in USD (e.g. 12.34)", f->name, value);
            return -1;
        }
        break;
    case F_BOOL:
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
            snprintf(err, errsize, "%s '%s' is not true or false", f->name, value);
            return -1;
        }
        *(bool *)(void *)(base + f->off) = value[0] == 't';
        break;
    case F_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(value, &end);
        if (errno || end == value || *end) {
            snprintf(err, errsize, "%s '%s' is not a number", f->name, value);
            return -1;
        }
        *(double *)(void *)(base + f->off) = d;
        break;
    }
    case F_LABEL:
        if (ev->label_count >= FC_MAX_LABELS || strlen(value) > FC_MAX_LABEL) {
            snprintf(err, errsize, "at most %d labels of %d bytes", FC_MAX_LABELS, FC_MAX_LABEL);
            return -1;
        }
        snprintf(ev->labels[ev->label_count++], FC_MAX_LABEL + 1, "%s", value);
        return 0;
    case F_ATTR: {
        const char *key = subkey, *val = value;
        size_t klen;
        if (key)
            klen = strlen(key);
        else {
            const char *eq = strchr(value, '=');
            if (!eq || eq == value) {
                snprintf(err, errsize, "attr '%s' is not key=value", value);
                return -1;
            }
            key = value;
            klen = (size_t)(eq - value);
            val = eq + 1;
        }
        if (ev->attr_count >= FC_MAX_ATTRS || klen == 0 || klen > FC_MAX_ATTR_KEY ||
            strlen(val) > FC_MAX_ATTR_VALUE) {
            snprintf(err, errsize, "at most %d attrs, keys of 1..%d and values of %d bytes",
                     FC_MAX_ATTRS, FC_MAX_ATTR_KEY, FC_MAX_ATTR_VALUE);
            return -1;
        }
        fc_attr_t *a = &ev->attrs[ev->attr_count++];
        memcpy(a->key, key, klen);
        a->key[klen] = 0;
        snprintf(a->value, sizeof a->value, "%s", val);
        return 0;
    }
    case F_TIME:
        if (fc_time_parse(value, &ev->ts_us)) {
            snprintf(err, errsize, "time '%s' is neither RFC 3339 nor Unix seconds", value);
            return -1;
        }
        return 0;
    case F_ID:
        if (fc_uuid_parse(value, ev->id)) {
            snprintf(err, errsize, "id '%s' is not a UUID", value);
            return -1;
        }
        return 0;
    }
    if (f->has >= 0)
        *(bool *)(base + f->has) = true;
    return 0;
}

static int s_json_value(void *arg, const fc_jflat_value_t *v, char *err, size_t errsize)
{
    s_builder_t *b = arg;
    const s_field_t *f = s_field_find(v->key, strlen(v->key));
    if (!f) {
        snprintf(err, errsize, "unknown key \"%.60s\"", v->key);
        return -1;
    }
    if (v->kind == FC_JFLAT_NULL)
        return 0; //  absent
    if ((v->kind == FC_JFLAT_BOOL) != (f->kind == F_BOOL)) {
        snprintf(err, errsize, "%s: %s", f->name,
                 f->kind == F_BOOL ? "expected true or false" : "a boolean is not a valid value");
        return -1;
    }
    if ((v->index >= 0 && f->kind != F_LABEL) || (v->subkey && f->kind != F_ATTR)) {
        snprintf(err, errsize, "%s takes a single value", f->name);
        return -1;
    }
    return s_set(b, f, v->text, v->subkey, err, errsize);
}

//  Fills in what the sender would (id, time) and checks the event, so that a bad
//  event is refused before anything touches the spool.
static int s_finish(s_builder_t *b, char *err, size_t errsize)
{
    static const uint8_t nil[16];
    //  An event is identified by its id and its time together (the events table's
    //  key), so a caller that names the id must name the time too, or a retry with
    //  "now" would store a second copy.
    if (memcmp(b->ev.id, nil, 16) != 0 && b->ev.ts_us == 0) {
        snprintf(err, errsize, "--id needs --time: an event is identified by id and time");
        return -1;
    }
    if (memcmp(b->ev.id, nil, 16) == 0)
        fc_event_id_new(b->ev.id);
    if (b->ev.ts_us == 0) {
        b->ev.ts_us = fc_time_now_us();
    }
    if (b->ev.type == FC_EV_INVALID) {
        snprintf(err, errsize, "no event type");
        return -1;
    }
    if (!b->ev.tenant[0]) {
        snprintf(err, errsize, "tenant is required");
        return -1;
    }
    size_t cost = (size_t)(s_field_find("cost", 4) - s_fields);
    if (b->ev.type == FC_EV_COST && !(b->seen & (UINT64_C(1) << cost))) {
        snprintf(err, errsize, "a cost event needs --cost");
        return -1;
    }
    fc_proto_error_t perr;
    if (fc_event_validate(&b->ev, &perr) != FC_OK) {
        snprintf(err, errsize, "%s%s%s", perr.field, perr.field[0] ? ": " : "", perr.reason);
        return -1;
    }
    return 0;
}

//  --- outcomes -----------------------------------------------------------------------

//  What ingest said about the events of this run, by id (uuid text -> line number).
//  The callback runs on the client's thread, hence the mutex.
typedef struct {
    pthread_mutex_t mutex;
    zhashx_t *lines; //  events of this run without an outcome yet
    uint64_t acked, duplicate, rejected, earlier;
    bool single; //  one event from flags: print its rejection plainly
} s_outcomes_t;

//  Lines of one --stdin run waiting for an outcome: beyond this, reading waits.
#define S_MAX_TRACKED 1000000

static void s_on_result(void *arg, const uint8_t id[16], fc_code_t code, const char *field,
                        const char *reason)
{
    s_outcomes_t *o = arg;
    char key[37];
    fc_uuid_format(id, key);
    pthread_mutex_lock(&o->mutex);
    uintptr_t line = (uintptr_t)zhashx_lookup(o->lines, key);
    if (!line) {
        o->earlier++; //  an event spooled by an earlier run, delivered now
    } else {
        zhashx_delete(o->lines, key);
        if (code == FC_DUPLICATE)
            o->duplicate++;
        else if (code < FC_E_MALFORMED) //  unknown codes < 10 are successes
            o->acked++;
        else {
            o->rejected++;
            if (o->single)
                printf("rejected: %s %s: %s\n", fc_code_name(code), field[0] ? field : "-", reason);
            else
                fprintf(stderr, "emit: line %" PRIuPTR ": rejected: %s %s: %s\n", line,
                        fc_code_name(code), field[0] ? field : "-", reason);
        }
    }
    pthread_mutex_unlock(&o->mutex);
}

static int s_outcomes_init(s_outcomes_t *o, bool single)
{
    memset(o, 0, sizeof *o);
    o->single = single;
    pthread_mutex_init(&o->mutex, NULL);
    o->lines = zhashx_new();
    return o->lines ? 0 : -1;
}

static void s_outcomes_destroy(s_outcomes_t *o)
{
    zhashx_destroy(&o->lines);
    pthread_mutex_destroy(&o->mutex);
}

static void s_track(s_outcomes_t *o, const fc_event_t *ev, uintptr_t line)
{
    char key[37];
    fc_uuid_format(ev->id, key);
    pthread_mutex_lock(&o->mutex);
    zhashx_update(o->lines, key, (void *)line);
    pthread_mutex_unlock(&o->mutex);
}

static size_t s_tracked(s_outcomes_t *o)
{
    pthread_mutex_lock(&o->mutex);
    size_t n = zhashx_size(o->lines);
    pthread_mutex_unlock(&o->mutex);
    return n;
}

//  --- the command --------------------------------------------------------------------

static const fc_option_t s_options[] = {
    {"stdin", FC_OPT_BOOL, "false", 0, 0, false,
     "read NDJSON events from stdin, one object per line, keys as the flags"},
    FC_OPT_END};

static void s_help(fc_config_t *config)
{
    printf("usage: fleetcost emit <type> --tenant T [event flags] [options]\n"
           "       fleetcost emit --stdin [options] < events.ndjson\n\n"
           "types:");
    for (int t = 1; t < FC_EV_COUNT_; t++)
        printf(" %s", fc_event_type_name((fc_event_type_t)t));
    printf("\n\nevent flags (JSON keys with --stdin: the same names, '_' for '-'):\n");
    for (size_t i = 1; i < S_FIELD_COUNT; i++)
        printf("  --%-24s %s\n", s_fields[i].name, s_fields[i].help);
    printf("\nexit status: 0 acked or spooled for later delivery, 1 rejected by ingest (or "
           "malformed lines), 2 bad arguments\n\n");
    fc_config_help(config);
}

//  Splits argv: event flags into the builder, everything else kept for fc_config.
//  Returns 0, 1 for --help, or -1 after printing why.
static int s_split_args(int argc, char **argv, s_builder_t *b, int *rest_argc, char **rest)
{
    *rest_argc = 0;
    rest[(*rest_argc)++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        const s_field_t *f = NULL;
        const char *eq = NULL;
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            eq = strchr(a + 2, '=');
            f = s_field_find(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
        }
        if (!f || f->kind == F_TYPE) {
            rest[(*rest_argc)++] = argv[i];
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && i + 1 < argc)
            value = argv[++i];
        if (!value) {
            fprintf(stderr, "emit: --%s needs a value\n", f->name);
            return -1;
        }
        char err[200];
        if (s_set(b, f, value, NULL, err, sizeof err)) {
            fprintf(stderr, "emit: %s\n", err);
            return -1;
        }
    }
    rest[*rest_argc] = NULL;
    return 0;
}

//  Sends one event and waits for its outcome.
static int s_emit_one(fc_config_t *config, s_builder_t *b)
{
    int64_t timeout = fc_config_int(config, "timeout-ms");
    s_outcomes_t o;
    if (s_outcomes_init(&o, true))
        return 1;
    fc_client_t *client = cmd_client_open(config, s_on_result, &o);
    if (!client) {
        s_outcomes_destroy(&o);
        return 1;
    }
    s_track(&o, &b->ev, 1);
    fc_proto_error_t err;
    int rc = fc_client_send(client, &b->ev, &err);
    if (rc != 0) {
        fprintf(stderr, "emit: not sent: %s\n", err.reason);
        rc = 1;
    } else {
        fc_client_flush(client, (int)timeout);
        fc_client_destroy(&client); //  after this, no more callbacks
        if (o.acked)
            printf("acked\n");
        else if (o.duplicate)
            printf("duplicate\n");
        else if (!o.rejected)
            printf("spooled: ingest not reachable within %" PRId64
                   " ms; will be delivered by the next emit or `fleetcost flush`\n",
                   timeout);
        rc = o.rejected ? 1 : 0;
    }
    fc_client_destroy(&client);
    s_outcomes_destroy(&o);
    return rc;
}

//  Reads one line of at most FC_JFLAT_MAX_INPUT bytes. Returns its length, -1 at end
//  of input, or -2 for a longer line (consumed up to its end).
static ssize_t s_read_line(FILE *in, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, in))
        return -1;
    size_t n = strlen(buf);
    if (n == size - 1 && buf[n - 1] != '\n') {
        int c;
        while ((c = getc(in)) != EOF && c != '\n')
            ;
        return -2;
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    return (ssize_t)n;
}

static int s_emit_stdin(fc_config_t *config)
{
    int64_t timeout = fc_config_int(config, "timeout-ms");
    s_outcomes_t o;
    if (s_outcomes_init(&o, false))
        return 1;
    fc_client_t *client = cmd_client_open(config, s_on_result, &o);
    char *line = malloc(FC_JFLAT_MAX_INPUT + 2);
    s_builder_t *b = malloc(sizeof *b);
    if (!client || !line || !b) {
        fc_client_destroy(&client);
        free(line);
        free(b);
        s_outcomes_destroy(&o);
        return 1;
    }
    uint64_t lineno = 0, queued = 0, malformed = 0;
    bool stopped = false;
    ssize_t n;
    while (!stopped && (n = s_read_line(stdin, line, FC_JFLAT_MAX_INPUT + 2)) != -1) {
        lineno++;
        char err[240];
        if (n == -2) {
            fprintf(stderr, "emit: line %" PRIu64 ": longer than %d bytes, skipped\n", lineno,
                    FC_JFLAT_MAX_INPUT);
            malformed++;
            continue;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            continue; //  blank lines are not events
        memset(b, 0, sizeof *b);
        if (fc_jflat_parse(line, (size_t)n, s_json_value, b, err, sizeof err) != 0 ||
            s_finish(b, err, sizeof err) != 0) {
            fprintf(stderr, "emit: line %" PRIu64 ": %s, skipped\n", lineno, err);
            malformed++;
            continue;
        }
        //  Bounded: wait while too many lines await their outcome.
        if (s_tracked(&o) >= S_MAX_TRACKED && fc_client_flush(client, (int)timeout) > 0 &&
            s_tracked(&o) >= S_MAX_TRACKED) {
            fprintf(stderr, "emit: line %" PRIu64 ": %d events await an ack; stopping\n", lineno,
                    S_MAX_TRACKED);
            stopped = true;
            break;
        }
        s_track(&o, &b->ev, (uintptr_t)lineno);
        fc_proto_error_t perr;
        int rc = fc_client_send(client, &b->ev, &perr);
        if (rc != 0 && perr.code == FC_E_UNAVAILABLE) {
            //  Queue or spool full: give delivery a chance, then try once more.
            fc_client_flush(client, (int)timeout);
            rc = fc_client_send(client, &b->ev, &perr);
        }
        if (rc != 0) {
            fprintf(stderr, "emit: line %" PRIu64 ": not queued: %s; stopping\n", lineno,
                    perr.reason);
            stopped = true;
            char key[37];
            fc_uuid_format(b->ev.id, key);
            pthread_mutex_lock(&o.mutex);
            zhashx_delete(o.lines, key);
            pthread_mutex_unlock(&o.mutex);
            break;
        }
        queued++;
    }
    fc_client_flush(client, (int)timeout);
    fc_client_destroy(&client);
    uint64_t spooled = queued - o.acked - o.duplicate - o.rejected;
    printf("emit: %" PRIu64 " acked, %" PRIu64 " duplicate, %" PRIu64 " rejected, %" PRIu64
           " spooled, %" PRIu64 " malformed lines\n",
           o.acked, o.duplicate, o.rejected, spooled, malformed);
    if (o.earlier)
        printf("emit: also delivered %" PRIu64 " events spooled by earlier runs\n", o.earlier);
    if (spooled)
        printf("emit: spooled events will be delivered by the next emit or `fleetcost flush`\n");
    int rc = o.rejected || malformed || stopped ? 1 : 0;
    free(line);
    free(b);
    s_outcomes_destroy(&o);
    return rc;
}

int cmd_emit(int argc, char **argv)
{
    s_builder_t *b = calloc(1, sizeof *b);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    const fc_option_t *tables[] = {cmd_client_options, s_options, NULL};
    fc_config_t *config = fc_config_new("fleetcost emit", "send agent events to ingest", tables);
    if (!b || !rest || !config) {
        free(b);
        free(rest);
        fc_config_destroy(&config);
        return 1;
    }
    int rest_argc = 0;
    int rc = s_split_args(argc, argv, b, &rest_argc, rest);
    if (rc == 1)
        s_help(config);
    if (rc == 0) {
        rc = fc_config_parse(config, rest_argc, rest);
        if (rc == 1)
            s_help(config);
    }
    bool use_stdin = rc == 0 && fc_config_bool(config, "stdin");
    char err[240];
    if (rc == 0 && use_stdin &&
        (fc_config_argc(config) > 0 || b->seen || b->ev.label_count || b->ev.attr_count)) {
        fprintf(stderr, "emit: --stdin takes no event type or event flags: each line is one "
                        "event\n");
        rc = -1;
    } else if (rc == 0 && !use_stdin && fc_config_argc(config) != 1) {
        fprintf(stderr,
                fc_config_argc(config) == 0
                    ? "emit: no event type (see --help)\n"
                    : "emit: one event type expected, got '%s' too (see --help)\n",
                fc_config_argc(config) > 1 ? fc_config_argv(config)[1] : "");
        rc = -1;
    } else if (rc == 0 && !use_stdin) {
        const s_field_t *type = &s_fields[0];
        if (s_set(b, type, fc_config_argv(config)[0], NULL, err, sizeof err) != 0 ||
            s_finish(b, err, sizeof err) != 0) {
            fprintf(stderr, "emit: %s\n", err);
            rc = -1;
        }
    }
    if (rc == 0)
        rc = use_stdin ? s_emit_stdin(config) : s_emit_one(config, b);
    else
        rc = rc == 1 ? 0 : 2;
    fc_config_destroy(&config);
    free(rest);
    free(b);
    return rc;
}
