/*  Unit tests of the Codex CLI and Gemini CLI readers through watch_tail, on the fixture
    trees of tests/fixtures/codex and tests/fixtures/gemini: the per-(day, model) totals
    must equal the ones their READMEs computed with jq, independently of any reader;
    and a restart (state saved and loaded) counts nothing twice, a torn last line is
    counted once completed, a legacy Gemini session rewritten in place counts each
    message once, an archived copy of a Codex rollout counts nothing. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc_price.h"
#include "fc_test.h"
#include "fc_time.h"
#include "watch_tail.h"

#define S_MAX_RECORDS 256

//  What emit received, per record.
typedef struct {
    char day[11];
    char model[FC_MAX_NAME + 1];
    char session[FC_MAX_ID + 1];
    char id[WATCH_MAX_NAME + 24];
    int64_t input, cache_read, output, cache_write;
    int64_t reasoning, thoughts, tool; //  from the reader's attributes
} s_record_t;

typedef struct {
    s_record_t r[S_MAX_RECORDS];
    int n;
    int refuse_after; //  emit refuses once n reaches this (0: never)
} s_sink_t;

static int64_t s_attr(const watch_usage_t *u, const char *key)
{
    for (int i = 0; i < u->attr_count; i++)
        if (strcmp(u->attrs[i].key, key) == 0)
            return strtoll(u->attrs[i].value, NULL, 10);
    return 0;
}

static int s_emit(void *arg, const char *path, const watch_usage_t *u)
{
    (void)path;
    s_sink_t *s = arg;
    if ((s->refuse_after && s->n >= s->refuse_after) || s->n >= S_MAX_RECORDS)
        return -1;
    s_record_t *r = &s->r[s->n++];
    int64_t y;
    int m, d;
    fc_civil_from_days(u->ts_us / 86400000000LL, &y, &m, &d);
    snprintf(r->day, sizeof r->day, "%04d-%02d-%02d", (int)y, m, d);
    snprintf(r->model, sizeof r->model, "%s", u->model);
    snprintf(r->session, sizeof r->session, "%s", u->session);
    snprintf(r->id, sizeof r->id, "%" PRId64 "|%s", u->ts_us, u->id_name);
    r->input = u->input;
    r->cache_read = u->cache_read;
    r->output = u->output;
    r->cache_write = u->cache_write_5m + u->cache_write_1h;
    r->reasoning = s_attr(u, "reasoning_tokens");
    r->thoughts = s_attr(u, "thoughts_tokens");
    r->tool = s_attr(u, "tool_tokens");
    return 0;
}

//  How many records of session were received.
static int s_session_records(const s_sink_t *s, const char *session)
{
    int n = 0;
    for (int i = 0; i < s->n; i++)
        n += strcmp(s->r[i].session, session) == 0;
    return n;
}

//  One row of a README table, in the README's own terms: input includes cached, output
//  excludes thoughts (Gemini); reasoning is part of output (Codex).
typedef struct {
    const char *day, *model;
    int count;
    int64_t input, cached, output, extra1, extra2; //  Codex: reasoning; Gemini: thoughts, tool
} s_row_t;

//  Checks that the records r[from..n) sum, per (day, model), to exactly the rows.
static void s_check_totals(const char *what, s_sink_t *s, int from, const s_row_t *rows, int nrows,
                           bool gemini)
{
    int matched = 0;
    for (int i = 0; i < nrows; i++) {
        s_row_t got = {rows[i].day, rows[i].model, 0, 0, 0, 0, 0, 0};
        for (int k = from; k < s->n; k++) {
            s_record_t *r = &s->r[k];
            if (strcmp(r->day, rows[i].day) || strcmp(r->model, rows[i].model))
                continue;
            got.count++;
            FC_CHECK_INT(r->cache_write, 0);
            if (gemini) {
                //  fleetcost fields: input = input - cached + tool, output = output + thoughts.
                got.input += r->input + r->cache_read - r->tool;
                got.output += r->output - r->thoughts;
                got.extra1 += r->thoughts;
                got.extra2 += r->tool;
            } else {
                got.input += r->input + r->cache_read;
                got.output += r->output;
                got.extra1 += r->reasoning;
            }
            got.cached += r->cache_read;
        }
        matched += got.count;
        bool ok = got.count == rows[i].count && got.input == rows[i].input &&
                  got.cached == rows[i].cached && got.output == rows[i].output &&
                  got.extra1 == rows[i].extra1 && got.extra2 == rows[i].extra2;
        if (!ok)
            fprintf(stderr,
                    "%s: %s %s: got %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
                    ", expected %d %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n",
                    what, rows[i].day, rows[i].model, got.count, got.input, got.cached, got.output,
                    got.extra1, got.extra2, rows[i].count, rows[i].input, rows[i].cached,
                    rows[i].output, rows[i].extra1, rows[i].extra2);
        FC_CHECK(ok);
    }
    //  Nothing outside the table.
    FC_CHECK_INT(matched, s->n - from);
}

static watch_tail_t *s_tail(const watch_reader_t *reader, const char *dir, s_sink_t *sink,
                            const char *state)
{
    static const char *dirs[2];
    static watch_source_t source;
    dirs[0] = dir;
    dirs[1] = NULL;
    source = (watch_source_t){reader, dirs};
    watch_tail_options_t o = {
        .sources = &source, .count = 1, .quiet_ms = 0, .emit = s_emit, .arg = sink};
    watch_tail_t *tail = watch_tail_new(&o);
    FC_CHECK(tail != NULL);
    if (tail && state)
        FC_CHECK_INT(watch_tail_load(tail, state), 0);
    return tail;
}

//  Runs a shell command made of fmt and two strings (the paths in it are single-quoted
//  by the callers: a checkout's path may hold spaces).
static void s_sh(const char *fmt, const char *a, const char *b)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, a, b);
    FC_CHECK_INT(system(cmd), 0);
}

static void s_append(const char *path, const char *text)
{
    FILE *f = fopen(path, "a");
    FC_CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

//  --- Codex --------------------------------------------------------------------------

static const s_row_t s_codex_rows[] = {
    {"2026-11-26", "gpt-5-codex", 3, 39000, 10900, 5000, 2700, 0},
    {"2026-11-27", "gpt-5-codex", 4, 45300, 20700, 3400, 2090, 0},
    {"2026-11-27", "o4-mini", 2, 15400, 6900, 1800, 1536, 0},
    {"2026-11-28", "gpt-5", 2, 34200, 30400, 2500, 1500, 0},
    {"2026-11-28", "gpt-5-codex", 3, 49300, 32300, 3700, 2200, 0},
};

static void s_test_codex(const char *tmp)
{
    char home[512], state[600], torn[900], archived[600];
    snprintf(home, sizeof home, "%s/codex", tmp);
    snprintf(state, sizeof state, "%s/codex.state", tmp);
    s_sh("cp -r '%s'/codex '%s'", FC_FIXTURES, home);
    s_sink_t *sink = calloc(1, sizeof *sink);

    //  1. The tree as it is: exactly the README's totals and counters.
    watch_tail_t *tail = s_tail(&watch_reader_codex, home, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    s_check_totals("codex", sink, 0, s_codex_rows, 5, false);
    watch_counts_t c;
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.requests, 14);
    FC_CHECK_INT(c.duplicates, 1);    //  A's second turn logged twice
    FC_CHECK_INT(c.replayed, 2);      //  F's copies of A's first two turns
    FC_CHECK_INT(c.no_usage, 2);      //  C's info: null lines
    FC_CHECK_INT(c.counter_reset, 1); //  D's append-style resume
    FC_CHECK_INT(c.partial, 1);       //  B's torn last line, not read
    FC_CHECK_INT(c.unparseable, 0);
    //  Thread ids: session_meta's, the same for both files of the resumed thread D.
    FC_CHECK_INT(s_session_records(sink, "0199c1a2-4444-7a00-8000-00000000000d"), 5);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);

    //  2. A restart: nothing new, nothing again.
    tail = s_tail(&watch_reader_codex, home, sink, state);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, 14);

    //  3. The torn line is completed: counted once, as total - the previous total
    //  restored from the state (its last_token_usage is deliberately stale: a reader
    //  that lost T_prev would count last instead).
    snprintf(torn, sizeof torn,
             "%s/sessions/2026/11/27/rollout-2026-11-27T10-00-00-"
             "0199c1a2-2222-7a00-8000-00000000000b.jsonl",
             home);
    s_append(torn, ":{\"total_token_usage\":{\"input_tokens\":30000,\"cached_input_tokens\":18000,"
                   "\"output_tokens\":1500,\"reasoning_output_tokens\":900,\"total_tokens\":"
                   "31500},\"last_token_usage\":{\"input_tokens\":11000,\"cached_input_tokens\":"
                   "9000,\"output_tokens\":300,\"reasoning_output_tokens\":150,\"total_tokens\":"
                   "11300},\"model_context_window\":272000},\"rate_limits\":null}}\n");
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    static const s_row_t completed[] = {{"2026-11-27", "gpt-5-codex", 1, 11200, 9100, 300, 150, 0}};
    s_check_totals("codex torn line", sink, 14, completed, 1, false);
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.partial, 0);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);

    //  4. Codex archives a session (the same file under archived_sessions/): every turn
    //  of the copy is a replay.
    snprintf(archived, sizeof archived, "%s/archived_sessions", home);
    mkdir(archived, 0700);
    s_sh("cp '%s'/sessions/2026/11/27/rollout-2026-11-27T23-50-00-*.jsonl '%s'", home, archived);
    tail = s_tail(&watch_reader_codex, home, sink, state);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, 15);
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.replayed, 4);
    watch_tail_destroy(&tail);

    //  5. A refused emit holds the line back; the next poll hands the same turn over.
    s_sink_t *again = calloc(1, sizeof *again);
    again->refuse_after = 3;
    tail = s_tail(&watch_reader_codex, home, again, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), -1);
    FC_CHECK_INT(again->n, 3);
    again->refuse_after = 0;
    for (int i = 0; i < 10 && watch_tail_poll(tail) != 0; i++)
        ;
    //  6. ... and a run without any state derives the very same ids.
    FC_CHECK_INT(again->n, 15);
    int same = 0;
    for (int i = 0; i < again->n; i++)
        for (int k = 0; k < sink->n; k++)
            same += strcmp(again->r[i].id, sink->r[k].id) == 0;
    FC_CHECK_INT(same, 15);
    watch_tail_destroy(&tail);
    free(again);
    free(sink);
}

//  --- Gemini -------------------------------------------------------------------------

#define S_GEMINI_PROJECT "d7e7a6b9001aa3d6b91f5089656aaf3e87d0886bcd818f5a41847014bcae8e53"
#define S_GEMINI_LEGACY  "session-2026-11-27T10-00-a1b2c3d4.json"

static const s_row_t s_gemini_stage1[] = {
    {"2026-11-27", "gemini-2.5-pro", 2, 39500, 17900, 2150, 3500, 350}};
static const s_row_t s_gemini_stage2[] = {
    {"2026-11-27", "gemini-2.5-flash", 1, 6200, 0, 400, 0, 0},
    {"2026-11-27", "gemini-2.5-pro", 3, 63300, 39300, 2750, 4400, 1550}};
static const s_row_t s_gemini_tree[] = {
    {"2026-11-26", "gemini-2.5-pro", 1, 12000, 0, 800, 600, 0},
    {"2026-11-27", "gemini-2.5-pro", 1, 30500, 12000, 700, 1800, 250},
    {"2026-11-28", "gemini-2.5-flash", 1, 9000, 0, 350, 0, 0},
    {"2026-11-28", "gemini-2.5-pro", 2, 45800, 42300, 800, 700, 0},
    {"2026-11-28", "gemini-9-ultra-exp", 1, 5000, 0, 120, 300, 0},
};

static void s_test_gemini_rewrite(const char *tmp)
{
    char dir[512], chats[700], file[900], next[900], state[600];
    snprintf(dir, sizeof dir, "%s/gemini-rewrite", tmp);
    snprintf(chats, sizeof chats, "%s/tmp/%s/chats", dir, S_GEMINI_PROJECT);
    snprintf(file, sizeof file, "%s/%s", chats, S_GEMINI_LEGACY);
    snprintf(next, sizeof next, "%s/next.tmp", dir);
    snprintf(state, sizeof state, "%s/gemini.state", tmp);
    s_sh("mkdir -p '%s'%s", chats, "");
    s_sh("cp '%s'/gemini/stage1/tmp/*/chats/*.json '%s'", FC_FIXTURES, chats);
    s_sink_t *sink = calloc(1, sizeof *sink);

    //  Stage 1, then a restart, then the CLI rewrites the file (stage 2 renamed over it).
    watch_tail_t *tail = s_tail(&watch_reader_gemini, dir, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    s_check_totals("gemini stage1", sink, 0, s_gemini_stage1, 1, true);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);
    s_sh("cp '%s'/gemini/stage2/tmp/*/chats/*.json '%s'", FC_FIXTURES, next);
    FC_CHECK_INT(rename(next, file), 0);
    tail = s_tail(&watch_reader_gemini, dir, sink, state);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    s_check_totals("gemini stage1+2", sink, 0, s_gemini_stage2, 2, true);
    watch_counts_t c;
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.duplicates, 2); //  m-0001 and m-0002 again in the rewrite
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);

    //  A rewrite caught half written (writeFileSync in place): nothing counted, nothing
    //  lost; once whole, the new message counts.
    int before = sink->n;
    tail = s_tail(&watch_reader_gemini, dir, sink, state);
    s_sh("head -c 1500 '%s' > '%s'", file, next);
    FC_CHECK_INT(rename(next, file), 0);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.incomplete, 1);
    FC_CHECK_INT(sink->n, before);
    s_sh("cp '%s'/gemini/stage2/tmp/*/chats/*.json '%s'", FC_FIXTURES, next);
    s_append(next, " "); //  a new size: the rewrite after the torn one
    FC_CHECK_INT(rename(next, file), 0);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, before);
    watch_tail_destroy(&tail);
    free(sink);
}

static void s_test_gemini_tree(const char *tmp)
{
    char dir[512], state[600], s2[900];
    snprintf(dir, sizeof dir, "%s/gemini", tmp);
    snprintf(state, sizeof state, "%s/gemini-tree.state", tmp);
    s_sh("mkdir -p '%s'%s", dir, "");
    s_sh("cp -r '%s'/gemini/tmp '%s'/", FC_FIXTURES, dir);
    s_sink_t *sink = calloc(1, sizeof *sink);
    watch_tail_t *tail = s_tail(&watch_reader_gemini, dir, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    s_check_totals("gemini tree", sink, 0, s_gemini_tree, 5, true);
    watch_counts_t c;
    watch_tail_counts(tail, &c);
    //  m-1001 re-appended with the same tokens once, m-3001 repeated by the migration.
    FC_CHECK_INT(c.duplicates, 2);
    FC_CHECK_INT(c.unparseable, 0);
    FC_CHECK_INT(c.documents, 2);
    //  The migrated session's JSONL copy carries the legacy session's id: one session.
    FC_CHECK_INT(s_session_records(sink, "d4e5f6a7-0000-4000-8000-000000000004"), 2);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);

    //  A restart reads nothing twice (and parses no unchanged legacy document again);
    //  a torn message line counts once completed.
    tail = s_tail(&watch_reader_gemini, dir, sink, state);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, 6);
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.documents, 0);
    snprintf(s2, sizeof s2, "%s/tmp/repo-api/chats/session-2026-11-27T23-58-b2c3d4e5.jsonl", dir);
    s_append(s2,
             "{\"id\":\"m-1004\",\"timestamp\":\"2026-11-28T00:05:00.000Z\",\"type\":\"gemini\","
             "\"tokens\":{\"input\":7000,\"output\":90,");
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, 6);
    s_append(s2, "\"cached\":6000,\"thoughts\":10,\"tool\":5,\"total\":7105},\"model\":"
                 "\"gemini-2.5-pro\"}\n");
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    static const s_row_t added[] = {{"2026-11-28", "gemini-2.5-pro", 1, 7000, 6000, 90, 10, 5}};
    s_check_totals("gemini torn line", sink, 6, added, 1, true);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);
    //  And after one more restart, still once.
    tail = s_tail(&watch_reader_gemini, dir, sink, state);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    FC_CHECK_INT(sink->n, 7);
    watch_tail_destroy(&tail);
    free(sink);
}

//  The provider price rows of db/pricing/ load, and price what the readers hand over:
//  Codex cached input at the cached rate, Gemini thoughts at the output rate and a
//  prompt above 200k (tokens.input) at the tier rates; a model without a row is unpriced.
static void s_test_prices(const char *tmp)
{
    fc_catalog_t *cat = fc_catalog_new();
    char err[300];
    int64_t from;
    FC_CHECK_INT(fc_time_parse("2026-03-21", &from), 0);
    FC_CHECK_INT(fc_catalog_load_csv(cat, FC_PRICING "/openai.csv", 1000, from, err, sizeof err),
                 0);
    FC_CHECK_INT(fc_catalog_load_csv(cat, FC_PRICING "/google.csv", 2000, from, err, sizeof err),
                 0);
    char dir[512], chats[600], file[700];
    snprintf(dir, sizeof dir, "%s/gemini-tier", tmp);
    snprintf(chats, sizeof chats, "%s/tmp/p/chats", dir);
    snprintf(file, sizeof file, "%s/session-2026-11-28T10-00-e5f6a7b8.jsonl", chats);
    s_sh("mkdir -p '%s'%s", chats, "");
    const char *m = "{\"id\":\"%s\",\"timestamp\":\"2026-11-28T10:00:0%d.000Z\",\"type\":"
                    "\"gemini\",\"model\":\"%s\",\"tokens\":{\"input\":%d,\"output\":1000,"
                    "\"cached\":150000,\"thoughts\":500,\"tool\":0}}\n";
    FILE *f = fopen(file, "w");
    FC_CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "{\"sessionId\":\"s-tier\",\"projectHash\":\"p\"}\n");
    fprintf(f, m, "t-1", 1, "gemini-2.5-pro", 250000); //  above the tier
    fprintf(f, m, "t-2", 2, "gemini-2.5-pro", 200000); //  at it: not above
    fprintf(f, m, "t-3", 3, "gemini-2.5-flash", 200000);
    fclose(f);
    s_sink_t *sink = calloc(1, sizeof *sink);
    watch_tail_t *tail = s_tail(&watch_reader_gemini, dir, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    watch_tail_destroy(&tail);
    FC_CHECK_INT(sink->n, 3);
    int64_t want[3] = {100000 * 2500 + 150000 * 250 + 1500 * 15000,
                       50000 * 1250 + 150000 * 125 + 1500 * 10000, 0};
    for (int i = 0; i < 3 && i < sink->n; i++) {
        fc_tokens_t t = {{0}};
        t.t[FC_TOK_INPUT] = sink->r[i].input;
        t.t[FC_TOK_CACHE_READ] = sink->r[i].cache_read;
        t.t[FC_TOK_OUTPUT] = sink->r[i].output;
        int64_t cost = -1;
        int32_t version = 0;
        bool unpriced = false;
        FC_CHECK_INT(fc_catalog_price(cat, sink->r[i].model, INT64_C(1795860000000000), &t, &cost,
                                      &version, &unpriced),
                     0);
        FC_CHECK_INT(cost, want[i]);
        FC_CHECK(unpriced == (i == 2));
    }
    //  Codex: 10000 input of which 8000 cached, 100 output (reasoning inside).
    fc_tokens_t t = {{0}};
    t.t[FC_TOK_INPUT] = 2000;
    t.t[FC_TOK_CACHE_READ] = 8000;
    t.t[FC_TOK_OUTPUT] = 100;
    int64_t cost = -1;
    int32_t version = 0;
    bool unpriced = true;
    FC_CHECK_INT(fc_catalog_price(cat, "gpt-5-codex", INT64_C(1795860000000000), &t, &cost,
                                  &version, &unpriced),
                 0);
    FC_CHECK_INT(cost, 2000 * 1250 + 8000 * 125 + 100 * 10000);
    FC_CHECK(!unpriced && version >= 1000);
    FC_CHECK_INT(
        fc_catalog_price(cat, "o4-mini", INT64_C(1795860000000000), &t, &cost, &version, &unpriced),
        0);
    FC_CHECK(unpriced);
    fc_catalog_destroy(&cat);
    free(sink);
}

//  Writes lines to path (each given with its newline).
static void s_write(const char *path, const char *const *lines)
{
    FILE *f = fopen(path, "w");
    FC_CHECK(f != NULL);
    for (int i = 0; f && lines[i]; i++)
        fputs(lines[i], f);
    if (f)
        fclose(f);
}

//  Hostile lines beside valid ones: each bad one is counted with its reason, never
//  stops the reader, and the valid lines around it still count.
static void s_test_hostile(const char *tmp)
{
    char dir[512], path[700], deep[400];
    snprintf(dir, sizeof dir, "%s/hostile-codex/sessions", tmp);
    s_sh("mkdir -p '%s'%s", dir, "");
    snprintf(path, sizeof path, "%s/rollout-2026-11-27T10-00-00-h.jsonl", dir);
    memset(deep, '[', 150);
    snprintf(deep + 150, sizeof deep - 150, "\"token_count\"\n");
    char long_model[300];
    snprintf(long_model, sizeof long_model,
             "{\"timestamp\":\"2026-11-27T10:00:05.000Z\",\"type\":\"turn_context\","
             "\"payload\":{\"model\":\"%0200d\"}}\n",
             0);
#define S_TC(ts, info)                                                                             \
    "{\"timestamp\":\"" ts "\",\"type\":\"event_msg\",\"payload\":{\"type\":\"token_count\","      \
    "\"info\":" info "}}\n"
    const char *codex[] = {
        "{\"timestamp\":\"2026-11-27T10:00:00.000Z\",\"type\":\"session_meta\",\"payload\":{\"id\":"
        "\"h-1\"}}\n",
        "{\"timestamp\":\"2026-11-27T10:00:01.000Z\",\"type\":\"turn_context\",\"payload\":{"
        "\"model\":\"gpt-5\"}}\n",
        "not json, but says token_count\n",
        S_TC("2026-11-27T10:00:02.000Z",
             "{\"total_token_usage\":{\"input_tokens\":-5},\"last_token_usage\":{}}"),
        S_TC("2026-11-27T10:00:03.000Z", "\"x\""),
        S_TC("yesterday", "{\"total_token_usage\":{},\"last_token_usage\":{}}"),
        S_TC("2026-11-27T10:00:04.000Z",
             "{\"total_token_usage\":{\"input_tokens\":100,\"cached_input_tokens\":500,"
             "\"output_tokens\":7},\"last_token_usage\":{\"input_tokens\":100,"
             "\"cached_input_tokens\":500,\"output_tokens\":7}}"),
        deep,
        long_model,
        S_TC("2026-11-27T10:00:06.000Z",
             "{\"total_token_usage\":{\"input_tokens\":300,\"cached_input_tokens\":600,"
             "\"output_tokens\":10},\"last_token_usage\":{\"input_tokens\":1}}"),
        NULL};
#undef S_TC
    s_write(path, codex);
    s_sink_t *sink = calloc(1, sizeof *sink);
    snprintf(dir, sizeof dir, "%s/hostile-codex", tmp);
    watch_tail_t *tail = s_tail(&watch_reader_codex, dir, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    watch_counts_t c;
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.unparseable, 6);
    FC_CHECK_INT(sink->n, 2);
    if (sink->n == 2) {
        //  Cached above input is held to input; the long model was refused, gpt-5 stays.
        FC_CHECK_INT(sink->r[0].input, 0);
        FC_CHECK_INT(sink->r[0].cache_read, 100);
        FC_CHECK_STR(sink->r[1].model, "gpt-5");
        FC_CHECK_INT(sink->r[1].input + sink->r[1].cache_read, 200);
        FC_CHECK_INT(sink->r[1].output, 3);
    }
    watch_tail_destroy(&tail);

    snprintf(dir, sizeof dir, "%s/hostile-gemini/chats", tmp);
    s_sh("mkdir -p '%s'%s", dir, "");
    snprintf(path, sizeof path, "%s/session-2026-11-27T10-00-h.jsonl", dir);
#define S_GM(id, tokens)                                                                           \
    "{" id "\"timestamp\":\"2026-11-27T10:00:00Z\",\"type\":\"gemini\",\"model\":"                 \
    "\"gemini-2.5-pro\",\"tokens\":" tokens "}\n"
    const char *gemini[] = {"{\"sessionId\":\"h-g\"}\n",
                            S_GM("\"id\":\"m1\",", "{\"input\":\"5\"}"),
                            S_GM("\"id\":\"m2\",", "[1]"),
                            S_GM("", "{\"input\":5}"),
                            S_GM("\"id\":\"m3\",", "{\"input\":10,\"output\":1,\"cached\":50}"),
                            "{\"tokens\": garbage\n",
                            NULL};
#undef S_GM
    s_write(path, gemini);
    int before = sink->n;
    snprintf(dir, sizeof dir, "%s/hostile-gemini", tmp);
    tail = s_tail(&watch_reader_gemini, dir, sink, NULL);
    FC_CHECK_INT(watch_tail_poll(tail), 0);
    watch_tail_counts(tail, &c);
    FC_CHECK_INT(c.unparseable, 4);
    FC_CHECK_INT(sink->n, before + 1);
    if (sink->n == before + 1) {
        FC_CHECK_INT(sink->r[before].input, 0);
        FC_CHECK_INT(sink->r[before].cache_read, 10);
        FC_CHECK_STR(sink->r[before].session, "h-g");
    }
    watch_tail_destroy(&tail);
    free(sink);
}

//  A state file of the first watcher (Claude Code only, version 1) still loads.
static void s_test_state_v1(const char *tmp)
{
    char state[600], dir[600];
    snprintf(state, sizeof state, "%s/v1.state", tmp);
    snprintf(dir, sizeof dir, "%s/claude", tmp);
    mkdir(dir, 0700);
    FILE *f = fopen(state, "w");
    FC_CHECK(f != NULL);
    if (!f)
        return;
    fprintf(f, "fleetcost-watch-state 1\nF 1 2 300 %s/projects/x/s.jsonl\nE m|r\n", dir);
    fclose(f);
    s_sink_t *sink = calloc(1, sizeof *sink);
    watch_tail_t *tail = s_tail(&watch_reader_claude, dir, sink, state);
    FC_CHECK_INT(watch_tail_save(tail, state), 0);
    watch_tail_destroy(&tail);
    f = fopen(state, "r");
    char text[2048] = {0};
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    FC_CHECK(strstr(text, "fleetcost-watch-state 2\nF claude-code 1 2 300 ") != NULL);
    FC_CHECK(strstr(text, "\nE m|r\n") != NULL);
    free(sink);
}

int main(void)
{
    char tmp[] = "/tmp/test_watch_readers.XXXXXX";
    FC_CHECK(mkdtemp(tmp) != NULL);
    s_test_codex(tmp);
    s_test_gemini_rewrite(tmp);
    s_test_gemini_tree(tmp);
    s_test_state_v1(tmp);
    s_test_prices(tmp);
    s_test_hostile(tmp);
    s_sh("rm -rf '%s'%s", tmp, "");
    return fc_test_done("test_watch_readers");
}
