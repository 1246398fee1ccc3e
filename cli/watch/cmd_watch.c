/*  fleetcost watch: the sidecar that turns agents' session files into usage events:
    Claude Code transcripts (docs/CLAUDE_CODE.md), Codex CLI rollouts and Gemini CLI
    chats (docs/AGENTS.md). watch_tail and its readers find completed requests; this
    file attributes them (tenant, agent type, host), sends them through libfleetcost,
    and saves the read positions only once what was sent is safe: acked by ingest, or
    written to the spool when the client closes. A restart re-derives the same event ids, so saving
    late costs a re-read, never a double count. */
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_proto.h"
#include "fc_signal.h"
#include "fleetcost.h"
#include "watch_map.h"
#include "watch_tail.h"

#define MODULE     "watch"
#define S_MAX_DIRS 32

static const fc_option_t s_options[] = {
    {"dirs", FC_OPT_STR, "", 0, 0, false,
     "Claude Code config directories, comma-separated; --dir D adds one (default: "
     "$CLAUDE_CONFIG_DIR, else ~/.claude and ~/.config/claude)"},
    {"codex-homes", FC_OPT_STR, "", 0, 0, false,
     "Codex CLI homes (sessions/ and archived_sessions/ below), comma-separated (default: "
     "$CODEX_HOME, else ~/.codex)"},
    {"gemini-dirs", FC_OPT_STR, "", 0, 0, false,
     "Gemini CLI directories (tmp/<project>/chats/ below), comma-separated (default: "
     "~/.gemini). Giving any of --dir, --dirs, --codex-homes, --gemini-dirs follows only "
     "the agents named; giving none follows all three at their defaults"},
    {"tenant", FC_OPT_STR, "", 0, 0, false, "tenant of sessions no --map rule matches"},
    {"agent-type", FC_OPT_STR, "", 0, 0, false,
     "agent type, unless a rule names one (default: claude-code, codex-cli or gemini-cli, "
     "by the agent that wrote the file)"},
    {"host", FC_OPT_STR, "", 0, 0, false, "host name on the events (default: gethostname)"},
    {"map", FC_OPT_STR, "", 0, 0, false,
     "attribution rules file: lines `<glob> <tenant> [<agent type>]` (path or cwd)"},
    {"state-file", FC_OPT_STR, "", 0, 0, false,
     "read positions file (default: watch.state beside the spool directory)"},
    {"since", FC_OPT_STR, "", 0, 0, false,
     "skip requests that started before this date or RFC 3339 time (bounds the backfill)"},
    {"quiet-ms", FC_OPT_INT, "3000", 0, 3600000, false,
     "a request is complete once its file has been quiet this long"},
    {"poll-ms", FC_OPT_INT, "1000", 10, 60000, false, "rescan and read interval"},
    {"once", FC_OPT_BOOL, "false", 0, 0, false, "read what exists, deliver it, save, exit"},
    FC_OPT_END};

typedef struct {
    const char *tenant, *agent_type;
    char host[FC_MAX_NAME + 1];
    watch_map_t *map;
    fc_client_t *client;
    uint64_t sent, unattributed, invalid;
    atomic_uint_fast64_t acked, duplicate, rejected;
} s_watch_t;

static void s_on_result(void *arg, const uint8_t id[16], fc_code_t code, const char *field,
                        const char *reason)
{
    s_watch_t *w = arg;
    if (code == FC_DUPLICATE)
        atomic_fetch_add(&w->duplicate, 1);
    else if (code < FC_E_MALFORMED)
        atomic_fetch_add(&w->acked, 1);
    else if (atomic_fetch_add(&w->rejected, 1) < 10)
        fc_warn(MODULE, "ingest rejected an event: %s %s: %s", fc_code_name(code),
                field[0] ? field : "-", reason);
}

static void s_attr(fc_event_t *ev, const char *key, const char *value)
{
    if (ev->attr_count >= FC_MAX_ATTRS || !value || !*value)
        return;
    fc_attr_t *a = &ev->attrs[ev->attr_count++];
    snprintf(a->key, sizeof a->key, "%s", key);
    //  Long values keep their end: for a working directory, the project's name.
    size_t n = strlen(value);
    snprintf(a->value, sizeof a->value, "%s",
             n > FC_MAX_ATTR_VALUE ? value + (n - FC_MAX_ATTR_VALUE) : value);
}

//  One completed request -> one usage event. The id is a hash of the reader's name for
//  it (Claude Code: message.id and requestId; Codex: thread and counters; Gemini:
//  session and message id) with its time: every re-read derives the same one.
static int s_emit(void *arg, const char *path, const watch_usage_t *u)
{
    s_watch_t *w = arg;
    const char *tenant = w->tenant, *agent_type = NULL;
    if (!watch_map_match(w->map, path, u->cwd, &tenant, &agent_type))
        tenant = w->tenant;
    if (!tenant || !*tenant) {
        if (w->unattributed++ < 5)
            fc_warn(MODULE, "%s: no --map rule matches and no --tenant: request skipped", path);
        return 0;
    }
    fc_event_t ev;
    fc_event_init(&ev);
    const char *name = u->id_name;
    fc_event_id_from_name(ev.id, u->ts_us, name, strlen(name));
    ev.ts_us = u->ts_us;
    ev.type = FC_EV_USAGE;
    snprintf(ev.tenant, sizeof ev.tenant, "%s", tenant);
    //  One agent per session: subagent transcripts carry their parent's sessionId and
    //  count under it, marked by attributes.
    snprintf(ev.agent, sizeof ev.agent, "%s", u->session);
    snprintf(ev.session, sizeof ev.session, "%s", u->session);
    if (!agent_type)
        agent_type = *w->agent_type ? w->agent_type : u->agent_type;
    snprintf(ev.agent_type, sizeof ev.agent_type, "%s", agent_type);
    snprintf(ev.host, sizeof ev.host, "%s", w->host);
    snprintf(ev.model, sizeof ev.model, "%s", u->model);
    snprintf(ev.request, sizeof ev.request, "%s", u->request_id[0] ? u->request_id : u->message_id);
    ev.input_tokens = u->input;
    ev.output_tokens = u->output;
    ev.cache_read_tokens = u->cache_read;
    ev.cache_write_5m_tokens = u->cache_write_5m;
    ev.cache_write_1h_tokens = u->cache_write_1h;
    snprintf(ev.speed, sizeof ev.speed, "%s", u->speed);
    snprintf(ev.geo, sizeof ev.geo, "%s", u->geo);
    ev.web_search_requests = u->web_searches;
    s_attr(&ev, "source", u->source);
    s_attr(&ev, "project", u->cwd);
    s_attr(&ev, "sidechain", u->sidechain ? "true" : NULL);
    s_attr(&ev, "subagent", u->agent_id);
    s_attr(&ev, "claude_code_version", u->version);
    for (int i = 0; i < u->attr_count; i++)
        s_attr(&ev, u->attrs[i].key, u->attrs[i].value);
    fc_proto_error_t err;
    if (fc_client_send(w->client, &ev, &err) == 0) {
        w->sent++;
        return 0;
    }
    if (err.code == FC_E_UNAVAILABLE)
        return -1; //  spool or queue full: the request stays pending
    if (w->invalid++ < 5)
        fc_warn(MODULE, "%s: request %s not sent: %s %s", path, name, err.field, err.reason);
    return 0;
}

//  Waits up to ms for a stop signal.
static void s_wait(int ms)
{
    struct pollfd p = {.fd = fc_signal_fd(), .events = POLLIN};
    if (p.fd >= 0)
        poll(&p, 1, ms);
    else
        usleep((useconds_t)ms * 1000);
}

//  One agent's directories: a comma-separated list, split in place.
typedef struct {
    char store[8192];
    char *dirs[S_MAX_DIRS + 1];
} s_dirs_t;

//  Splits d->store at commas into d->dirs.
static void s_split_dirs(s_dirs_t *d)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(d->store, ",", &save); p && n < S_MAX_DIRS;
         p = strtok_r(NULL, ",", &save))
        d->dirs[n++] = p;
    d->dirs[n] = NULL;
}

//  The directories of each agent. Claude Code: --dir flags (taken out of argv here, as
//  fc_config keeps one value per name), else --dirs / FLEETCOST_DIRS; Codex:
//  --codex-homes; Gemini: --gemini-dirs. When none is given, every agent at its
//  default: $CLAUDE_CONFIG_DIR (comma-separated, as Claude Code reads it) else
//  ~/.claude and ~/.config/claude; $CODEX_HOME else ~/.codex; ~/.gemini. Fills
//  sources and returns their count.
static int s_sources(fc_config_t *config, char **flag_dirs, int nflag, s_dirs_t dirs[3],
                     watch_source_t *sources)
{
    const char *claude = fc_config_str(config, "dirs"),
               *codex = fc_config_str(config, "codex-homes"),
               *gemini = fc_config_str(config, "gemini-dirs");
    bool defaults = nflag == 0 && !*claude && !*codex && !*gemini;
    const char *cenv = getenv("CLAUDE_CONFIG_DIR"), *xenv = getenv("CODEX_HOME"),
               *home = getenv("HOME");
    bool has_home = home && *home;
    for (int i = 0; i < 3; i++)
        dirs[i].store[0] = 0;
    if (*claude)
        snprintf(dirs[0].store, sizeof dirs[0].store, "%s", claude);
    if (*codex)
        snprintf(dirs[1].store, sizeof dirs[1].store, "%s", codex);
    if (*gemini)
        snprintf(dirs[2].store, sizeof dirs[2].store, "%s", gemini);
    if (defaults) {
        if (cenv && *cenv)
            snprintf(dirs[0].store, sizeof dirs[0].store, "%s", cenv);
        else if (has_home)
            snprintf(dirs[0].store, sizeof dirs[0].store, "%s/.claude,%s/.config/claude", home,
                     home);
        if (xenv && *xenv)
            snprintf(dirs[1].store, sizeof dirs[1].store, "%s", xenv);
        else if (has_home)
            snprintf(dirs[1].store, sizeof dirs[1].store, "%s/.codex", home);
        if (has_home)
            snprintf(dirs[2].store, sizeof dirs[2].store, "%s/.gemini", home);
    }
    int n = 0;
    for (; n < nflag && n < S_MAX_DIRS; n++)
        dirs[0].dirs[n] = flag_dirs[n];
    dirs[0].dirs[n] = NULL;
    if (n == 0)
        s_split_dirs(&dirs[0]);
    s_split_dirs(&dirs[1]);
    s_split_dirs(&dirs[2]);
    const watch_reader_t *readers[3] = {&watch_reader_claude, &watch_reader_codex,
                                        &watch_reader_gemini};
    int count = 0;
    for (int i = 0; i < 3; i++)
        if (dirs[i].dirs[0])
            sources[count++] = (watch_source_t){readers[i], (const char *const *)dirs[i].dirs};
    return count;
}

static void s_report(watch_tail_t *tail, s_watch_t *w)
{
    watch_counts_t c;
    watch_tail_counts(tail, &c);
    fc_client_stats_t st;
    fc_client_stats(w->client, &st);
    printf("watch: %" PRIu64 " files, %" PRIu64 " lines read, %" PRIu64
           " requests emitted, %" PRIu64 " duplicate lines collapsed, %" PRIu64
           " synthetic skipped, %" PRIu64 " unparseable lines, %" PRIu64 " before --since, %" PRIu64
           " files restarted, %" PRIu64 " deleted\n",
           c.files, c.lines, c.requests, c.duplicates, c.synthetic, c.unparseable, c.before_since,
           c.restarted, c.deleted);
    printf("watch: %" PRIu64 " documents parsed, %" PRIu64 " usage lines, %" PRIu64
           " replayed turns skipped, %" PRIu64 " token counts without usage, %" PRIu64
           " counter resets, %" PRIu64 " incomplete documents, %" PRIu64
           " unreadable files, %" PRIu64 " partial lines waiting\n",
           c.documents, c.usage_lines, c.replayed, c.no_usage, c.counter_reset, c.incomplete,
           c.unreadable, c.partial);
    printf("watch: ingest acked %" PRIu64 ", duplicate %" PRIu64 ", rejected %" PRIu64
           ", not yet acked %" PRIu64 "; %" PRIu64 " unattributed, %" PRIu64 " invalid\n",
           (uint64_t)atomic_load(&w->acked), (uint64_t)atomic_load(&w->duplicate),
           (uint64_t)atomic_load(&w->rejected), st.unacked, w->unattributed, w->invalid);
    fflush(stdout);
}

static int s_run(fc_config_t *config, const watch_source_t *sources, int nsources)
{
    s_watch_t w = {.tenant = fc_config_str(config, "tenant"),
                   .agent_type = fc_config_str(config, "agent-type")};
    int rc = 1;
    char err[300];
    watch_tail_t *tail = NULL;
    if (*w.tenant && !fc_tenant_valid(w.tenant)) {
        fprintf(stderr, "watch: --tenant '%s' is not a valid tenant id\n", w.tenant);
        return 2;
    }
    if (*fc_config_str(config, "map") &&
        !(w.map = watch_map_load(fc_config_str(config, "map"), err, sizeof err))) {
        fprintf(stderr, "watch: %s\n", err);
        return 2;
    }
    if (!*w.tenant && !w.map) {
        fprintf(stderr, "watch: give --tenant or --map (see --help)\n");
        return 2;
    }
    int64_t since = 0;
    if (*fc_config_str(config, "since") &&
        watch_time_parse(fc_config_str(config, "since"), &since)) {
        fprintf(stderr, "watch: --since '%s' is not a date or RFC 3339 time\n",
                fc_config_str(config, "since"));
        watch_map_destroy(&w.map);
        return 2;
    }
    if (*fc_config_str(config, "host"))
        snprintf(w.host, sizeof w.host, "%s", fc_config_str(config, "host"));
    else if (gethostname(w.host, sizeof w.host - 1) != 0)
        snprintf(w.host, sizeof w.host, "unknown");
    atomic_init(&w.acked, 0);
    atomic_init(&w.duplicate, 0);
    atomic_init(&w.rejected, 0);

    bool once = fc_config_bool(config, "once");
    int timeout = (int)fc_config_int(config, "timeout-ms");
    w.client = cmd_client_open(config, s_on_result, &w);
    char state[4200];
    if (w.client) {
        if (*fc_config_str(config, "state-file"))
            snprintf(state, sizeof state, "%s", fc_config_str(config, "state-file"));
        else
            snprintf(state, sizeof state, "%s/../watch.state", fc_client_spool_dir(w.client));
        watch_tail_options_t o = {.sources = sources,
                                  .count = nsources,
                                  .since_us = since,
                                  .quiet_ms = (int)fc_config_int(config, "quiet-ms"),
                                  .emit = s_emit,
                                  .arg = &w};
        tail = watch_tail_new(&o);
    }
    if (!tail || watch_tail_load(tail, state) != 0) {
        fprintf(stderr, "watch: cannot start (state file %s)\n", tail ? state : "-");
        goto done;
    }
    fc_log_set_level(fc_config_bool(config, "verbose") ? FC_LOG_DEBUG : FC_LOG_INFO);
    for (int i = 0; i < nsources; i++)
        fc_info(MODULE, "watching %s sessions in %s%s", sources[i].reader->name, sources[i].dirs[0],
                sources[i].dirs[1] ? " and more" : "");
    fc_info(MODULE, "state %s", state);
    int64_t poll_ms = fc_config_int(config, "poll-ms");
    uint64_t saved_progress = UINT64_MAX;
    for (int attempts = 0;;) {
        int prc = watch_tail_poll(tail);
        if (once) {
            //  A refused request means the spool is full: let delivery catch up.
            if (prc != 0 && ++attempts < 5 && !fc_signal_stopping()) {
                fc_client_flush(w.client, timeout);
                continue;
            }
            break;
        }
        //  Positions are saved when every event sent so far is acked.
        fc_client_stats_t st;
        fc_client_stats(w.client, &st);
        watch_counts_t c;
        watch_tail_counts(tail, &c);
        if (st.unacked == 0 && c.requests + c.lines != saved_progress &&
            watch_tail_save(tail, state) == 0)
            saved_progress = c.requests + c.lines;
        if (fc_signal_stopping())
            break;
        s_wait((int)poll_ms);
        if (fc_signal_stopping())
            break;
    }
    fc_client_flush(w.client, timeout);
    s_report(tail, &w);
    //  After destroy, whatever was not acked is in the spool: the positions are safe.
    fc_client_destroy(&w.client);
    rc = watch_tail_save(tail, state) == 0 && atomic_load(&w.rejected) == 0 ? 0 : 1;
done:
    watch_tail_destroy(&tail);
    fc_client_destroy(&w.client);
    watch_map_destroy(&w.map);
    return rc;
}

int cmd_watch(int argc, char **argv)
{
    const fc_option_t *tables[] = {cmd_client_options, s_options, NULL};
    fc_config_t *config = fc_config_new(
        "fleetcost watch",
        "turn Claude Code, Codex CLI and Gemini CLI session files into usage events", tables);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    char *flag_dirs[S_MAX_DIRS];
    int nflag = 0, nrest = 0, rc = 2;
    if (!config || !rest)
        goto done;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
            if (nflag < S_MAX_DIRS)
                flag_dirs[nflag++] = argv[++i];
        } else if (strncmp(argv[i], "--dir=", 6) == 0) {
            if (nflag < S_MAX_DIRS)
                flag_dirs[nflag++] = argv[i] + 6;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    int prc = fc_config_parse(config, nrest, rest);
    if (prc == 1) {
        printf("\nusage: fleetcost watch [--dir D]... [--codex-homes D,..] [--gemini-dirs D,..]\n"
               "                       (--tenant T | --map FILE) [options]\n"
               "\nReads Claude Code transcripts (~/.claude/projects/**/*.jsonl), Codex CLI\n"
               "rollouts ($CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl: token_count\n"
               "events, the running total decides, model from turn_context) and Gemini CLI\n"
               "chats (~/.gemini/tmp/<project>/chats/session-*.json and .jsonl: messages[]\n"
               ".tokens, each message once). Re-reads never count twice: ids are derived\n"
               "from the files, positions and counted turns are saved in --state-file.\n"
               "See docs/CLAUDE_CODE.md and docs/AGENTS.md.\n");
        rc = 0;
    } else if (prc == 0 && fc_config_argc(config) > 0) {
        fprintf(stderr, "watch: unexpected argument '%s'\n", fc_config_argv(config)[0]);
    } else if (prc == 0) {
        static s_dirs_t dirs[3];
        watch_source_t sources[3];
        int n = s_sources(config, flag_dirs, nflag, dirs, sources);
        if (n == 0)
            fprintf(stderr, "watch: no directory to watch: give --dir, --codex-homes or "
                            "--gemini-dirs\n");
        else
            rc = s_run(config, sources, n);
    }
done:
    free(rest);
    fc_config_destroy(&config);
    return rc;
}
