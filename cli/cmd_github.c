/*  fleetcost github: task attribution from GitHub issues.

    A worker beside ingest, never in its path: it takes tasks that name a repository and
    an issue and have not been looked up yet, fetches the issue from the GitHub REST API
    (any base URL, so GitHub Enterprise works), and sets the task's title and labels,
    its type from a "type:<x>" label and its priority from a "priority:<y>" label.
    Answers are cached per issue. A rate-limit answer (403 or 429 with
    X-RateLimit-Remaining: 0, or Retry-After) pauses the worker until GitHub's reset
    time; other failures are retried later with backoff, recorded on the task. With
    --comment it also posts a task's cost on its issue once the task has completed
    (from the daily rollups), once per task.

    Tasks are claimed with FOR UPDATE SKIP LOCKED, so several workers can run. */
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fc_buf.h"
#include "fc_config.h"
#include "fc_json_tok.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_signal.h"

#define MODULE      "github"
#define MAX_BODY    (1024 * 1024) //  an issue is a few kB; refuse more
#define MAX_TOKENS  20000
#define CACHE_SIZE  1024
#define CACHE_TTL_S 600

static const fc_option_t s_options[] = {
    {"api-url", FC_OPT_STR, "https://api.github.com", 0, 0, FC_SECRET_URL,
     "GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3)"},
    {"token", FC_OPT_STR, "", 0, 0, FC_SECRET_VALUE, "GitHub token (env FLEETCOST_TOKEN)"},
    {"interval-ms", FC_OPT_INT, "5000", 100, 3600000, false, "pause between passes"},
    {"batch", FC_OPT_INT, "50", 1, 1000, false, "tasks per pass"},
    {"max-wait-s", FC_OPT_INT, "3600", 1, 86400, false, "longest rate-limit pause"},
    {"timeout-ms", FC_OPT_INT, "10000", 100, 120000, false, "per request"},
    {"comment", FC_OPT_BOOL, "false", 0, 0, false, "comment completed tasks' cost on their issue"},
    {"once", FC_OPT_BOOL, "false", 0, 0, false, "one pass, then exit"},
    FC_OPT_END};

typedef struct {
    char key[300]; //  "owner/repo#issue"
    time_t at;
    char title[FC_MAX_TEXT + 1];
    char labels[2048]; //  Postgres text[] literal
    char type[FC_MAX_NAME + 1], priority[FC_MAX_NAME + 1];
} s_issue_t;

typedef struct {
    fc_config_t *cfg;
    PGconn *pg;
    CURL *curl;
    s_issue_t cache[CACHE_SIZE];
    fc_buf_t body;
    long remaining;   //  X-RateLimit-Remaining of the last answer (-1: absent)
    long reset;       //  X-RateLimit-Reset (epoch seconds), 0: absent
    long retry_after; //  Retry-After seconds, 0: absent
} s_worker_t;

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    s_worker_t *w = arg;
    if (w->body.len + size * n > MAX_BODY)
        return 0; //  curl fails the transfer: too big
    fc_buf_add(&w->body, data, size * n);
    return size * n;
}

static size_t s_header(char *line, size_t size, size_t n, void *arg)
{
    s_worker_t *w = arg;
    size_t len = size * n;
    char h[128];
    snprintf(h, sizeof h, "%.*s", (int)(len < sizeof h - 1 ? len : sizeof h - 1), line);
    if (strncasecmp(h, "x-ratelimit-remaining:", 22) == 0)
        w->remaining = strtol(h + 22, NULL, 10);
    else if (strncasecmp(h, "x-ratelimit-reset:", 18) == 0)
        w->reset = strtol(h + 18, NULL, 10);
    else if (strncasecmp(h, "retry-after:", 12) == 0)
        w->retry_after = strtol(h + 12, NULL, 10);
    return len;
}

//  One request; returns the HTTP status, or -1 on a transport error (reason logged).
static long s_request(s_worker_t *w, const char *method, const char *path, const char *json)
{
    char url[1024], auth[600];
    snprintf(url, sizeof url, "%s%s", fc_config_str(w->cfg, "api-url"), path);
    fc_buf_reset(&w->body);
    w->remaining = -1;
    w->reset = w->retry_after = 0;
    struct curl_slist *hdr = NULL;
    hdr = curl_slist_append(hdr, "Accept: application/vnd.github+json");
    hdr = curl_slist_append(hdr, "X-GitHub-Api-Version: 2022-11-28");
    hdr = curl_slist_append(hdr, "User-Agent: fleetcost");
    if (*fc_config_str(w->cfg, "token")) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", fc_config_str(w->cfg, "token"));
        hdr = curl_slist_append(hdr, auth);
    }
    if (json)
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
    CURL *c = w->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, w);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)fc_config_int(w->cfg, "timeout-ms"));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (json) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else
        fc_warn(MODULE, "%s %s: %s", method, path, curl_easy_strerror(rc));
    return status;
}

static bool s_rate_limited(s_worker_t *w, long status)
{
    return (status == 403 || status == 429) && (w->remaining == 0 || w->retry_after > 0);
}

//  Sleeps until GitHub's reset time (bounded), in slices so a signal stops it.
static void s_wait_reset(s_worker_t *w)
{
    time_t now = time(NULL);
    long wait = w->retry_after > 0 ? w->retry_after : (long)(w->reset - now) + 1;
    long max = (long)fc_config_int(w->cfg, "max-wait-s");
    if (wait < 1)
        wait = 1;
    if (wait > max)
        wait = max;
    fc_warn(MODULE, "rate limited by GitHub: pausing %ld s", wait);
    for (long i = 0; i < wait * 10 && !fc_signal_stopping(); i++)
        usleep(100000);
}

//  Appends a string as a Postgres array element ("..." with escapes).
static void s_array_item(fc_buf_t *b, const char *s, bool first)
{
    fc_buf_add_str(b, first ? "\"" : ",\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fc_buf_add(b, "\\", 1);
        fc_buf_add(b, s, 1);
    }
    fc_buf_add(b, "\"", 1);
}

//  Parses an issue answer into an s_issue_t. 0, or -1 (logged).
static int s_parse_issue(s_worker_t *w, s_issue_t *out)
{
    static fc_jtok_t toks[MAX_TOKENS];
    char err[160];
    fc_jtok_limits_t lim = {MAX_TOKENS, 16, 0};
    const char *text = (const char *)w->body.data;
    if (!text || fc_jtok_parse(text, w->body.len, &lim, toks, err, sizeof err) < 0) {
        fc_warn(MODULE, "issue %s: unreadable answer: %s", out->key, text ? err : "empty");
        return -1;
    }
    int t = fc_jtok_member(text, toks, 0, "title");
    if (t < 0 || fc_jtok_string(text, toks, t, out->title, sizeof out->title) < 0)
        out->title[0] = 0;
    fc_buf_t arr;
    fc_buf_init(&arr);
    fc_buf_add(&arr, "{", 1);
    out->type[0] = out->priority[0] = 0;
    int labels = fc_jtok_member(text, toks, 0, "labels"), n = 0;
    if (labels >= 0 && toks[labels].type == FC_JTOK_ARRAY) {
        int i = labels + 1;
        for (uint32_t k = 0; k < toks[labels].size && n < FC_MAX_LABELS; k++) {
            int name = toks[i].type == FC_JTOK_OBJECT ? fc_jtok_member(text, toks, i, "name")
                                                      : (toks[i].type == FC_JTOK_STRING ? i : -1);
            char label[FC_MAX_LABEL + 1];
            if (name >= 0 && fc_jtok_string(text, toks, name, label, sizeof label) >= 0 && *label) {
                s_array_item(&arr, label, n++ == 0);
                if (strncmp(label, "type:", 5) == 0)
                    snprintf(out->type, sizeof out->type, "%s", label + 5);
                else if (strncmp(label, "priority:", 9) == 0)
                    snprintf(out->priority, sizeof out->priority, "%s", label + 9);
            }
            i = (int)toks[i].next;
        }
    }
    fc_buf_add(&arr, "}", 2);
    snprintf(out->labels, sizeof out->labels, "%s", arr.failed ? "{}" : (char *)arr.data);
    fc_buf_free(&arr);
    return 0;
}

static s_issue_t *s_cached(s_worker_t *w, const char *key)
{
    for (int i = 0; i < CACHE_SIZE; i++)
        if (w->cache[i].at && strcmp(w->cache[i].key, key) == 0 &&
            time(NULL) - w->cache[i].at < CACHE_TTL_S)
            return &w->cache[i];
    return NULL;
}

static s_issue_t *s_cache_slot(s_worker_t *w)
{
    s_issue_t *oldest = &w->cache[0];
    for (int i = 0; i < CACHE_SIZE; i++)
        if (w->cache[i].at < oldest->at)
            oldest = &w->cache[i];
    return oldest;
}

//  Records a failed attempt: retried after 2^attempts seconds (at most an hour), or
//  settled (not found, no access) with its reason.
static void s_failed(s_worker_t *w, const char *tenant, const char *task, const char *why,
                     bool settle)
{
    const char *p[4] = {tenant, task, why, settle ? "t" : "f"};
    PGresult *r = fc_pg_query(
        w->pg, MODULE, "task failure",
        "UPDATE tasks SET gh_error = $3, gh_attempts = gh_attempts + 1,"
        " gh_synced_at = CASE WHEN $4::boolean THEN now() END,"
        " gh_next_try = now() + least(interval '1 hour', interval '1 second' * 2 ^ gh_attempts)"
        " WHERE tenant_id = $1 AND task_id = $2",
        4, p);
    if (r)
        PQclear(r);
}

//  One pass over pending tasks. Returns the number handled, or -1 when rate limited.
static int s_sync_pass(s_worker_t *w)
{
    char batch[16];
    snprintf(batch, sizeof batch, "%" PRId64, fc_config_int(w->cfg, "batch"));
    const char *p[1] = {batch};
    if (fc_pg_exec(w->pg, MODULE, "begin", "BEGIN") != 0)
        return 0;
    PGresult *r = fc_pg_query(w->pg, MODULE, "pending tasks",
                              "SELECT tenant_id, task_id, repo, issue FROM tasks"
                              " WHERE repo IS NOT NULL AND issue IS NOT NULL"
                              " AND gh_synced_at IS NULL"
                              " AND (gh_next_try IS NULL OR gh_next_try <= now())"
                              " ORDER BY created_at NULLS LAST LIMIT $1::int"
                              " FOR UPDATE SKIP LOCKED",
                              1, p);
    int handled = 0;
    bool limited = false;
    for (int i = 0; r && i < PQntuples(r) && !limited && !fc_signal_stopping(); i++) {
        const char *tenant = PQgetvalue(r, i, 0), *task = PQgetvalue(r, i, 1);
        const char *repo = PQgetvalue(r, i, 2), *issue = PQgetvalue(r, i, 3);
        char key[300];
        snprintf(key, sizeof key, "%.200s#%.20s", repo, issue);
        s_issue_t *hit = s_cached(w, key);
        if (!hit) {
            //  Only owner/name repositories; anything else is settled as invalid.
            const char *slash = strchr(repo, '/');
            if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/') ||
                strspn(repo,
                       "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./") !=
                    strlen(repo)) {
                s_failed(w, tenant, task, "repo is not owner/name", true);
                continue;
            }
            char path[400];
            snprintf(path, sizeof path, "/repos/%.200s/issues/%.20s", repo, issue);
            long status = s_request(w, "GET", path, NULL);
            if (s_rate_limited(w, status)) {
                limited = true;
                break;
            }
            if (status == 404 || status == 410 || status == 401) {
                char why[64];
                snprintf(why, sizeof why, "GitHub answered %ld", status);
                s_failed(w, tenant, task, why, status != 401);
                continue;
            }
            s_issue_t parsed = {0};
            snprintf(parsed.key, sizeof parsed.key, "%s", key);
            if (status != 200 || s_parse_issue(w, &parsed) != 0) {
                char why[64];
                snprintf(why, sizeof why, status < 0 ? "no answer" : "GitHub answered %ld", status);
                s_failed(w, tenant, task, why, false);
                continue;
            }
            hit = s_cache_slot(w);
            *hit = parsed;
            hit->at = time(NULL);
        }
        const char *q[6] = {tenant,
                            task,
                            hit->title[0] ? hit->title : NULL,
                            hit->labels,
                            hit->type[0] ? hit->type : NULL,
                            hit->priority[0] ? hit->priority : NULL};
        PGresult *u = fc_pg_query(w->pg, MODULE, "task update",
                                  "UPDATE tasks SET title = coalesce($3, title),"
                                  " labels = $4::text[], task_type = coalesce($5, task_type),"
                                  " priority = coalesce($6, priority), gh_synced_at = now(),"
                                  " gh_error = NULL WHERE tenant_id = $1 AND task_id = $2",
                                  6, q);
        if (u)
            PQclear(u);
        handled++;
    }
    if (r)
        PQclear(r);
    fc_pg_exec(w->pg, MODULE, "commit", "COMMIT");
    if (limited)
        s_wait_reset(w);
    return limited ? -1 : handled;
}

//  Comments each completed task's cost on its issue, once.
static int s_comment_pass(s_worker_t *w)
{
    if (fc_pg_exec(w->pg, MODULE, "begin", "BEGIN") != 0)
        return 0;
    PGresult *r = fc_pg_query(
        w->pg, MODULE, "tasks to comment",
        "SELECT t.tenant_id, t.task_id, t.repo, t.issue,"
        " coalesce((SELECT sum(s.cost_nusd) FROM cost_summaries s WHERE s.tenant_id = t.tenant_id"
        "  AND s.dimension = 'task' AND s.key = t.task_id), 0),"
        " (SELECT count(*) FROM task_agents a WHERE a.tenant_id = t.tenant_id"
        "  AND a.task_id = t.task_id)"
        " FROM tasks t WHERE t.completed_at IS NOT NULL AND t.gh_commented_at IS NULL"
        " AND t.repo IS NOT NULL AND t.issue IS NOT NULL AND t.gh_synced_at IS NOT NULL"
        " AND t.gh_error IS NULL LIMIT 50 FOR UPDATE SKIP LOCKED",
        0, NULL);
    int done = 0;
    for (int i = 0; r && i < PQntuples(r) && !fc_signal_stopping(); i++) {
        char usd[FC_MONEY_BUFSIZE], path[400], json[512];
        fc_money_format(strtoll(PQgetvalue(r, i, 4), NULL, 10), usd, sizeof usd, 2);
        snprintf(path, sizeof path, "/repos/%.200s/issues/%.20s/comments", PQgetvalue(r, i, 2),
                 PQgetvalue(r, i, 3));
        snprintf(json, sizeof json,
                 "{\"body\":\"fleetcost: this task cost $%s of AI agent time (%s agent%s).\"}", usd,
                 PQgetvalue(r, i, 5), strcmp(PQgetvalue(r, i, 5), "1") ? "s" : "");
        long status = s_request(w, "POST", path, json);
        if (s_rate_limited(w, status))
            break;
        if (status == 201) {
            const char *q[2] = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1)};
            PGresult *u = fc_pg_query(w->pg, MODULE, "commented",
                                      "UPDATE tasks SET gh_commented_at = now()"
                                      " WHERE tenant_id = $1 AND task_id = $2",
                                      2, q);
            if (u)
                PQclear(u);
            done++;
        } else
            fc_warn(MODULE, "comment on %s#%s: GitHub answered %ld", PQgetvalue(r, i, 2),
                    PQgetvalue(r, i, 3), status);
    }
    if (r)
        PQclear(r);
    fc_pg_exec(w->pg, MODULE, "commit", "COMMIT");
    return done;
}

int cmd_github(int argc, char **argv)
{
    const fc_option_t *tables[] = {fc_config_common, s_options, NULL};
    int rc;
    fc_config_t *cfg = fc_config_load("fleetcost github",
                                      "task titles, labels, type and priority from GitHub issues",
                                      tables, argc, argv, 0, -1, &rc);
    if (!cfg)
        return rc;
    s_worker_t *w = calloc(1, sizeof *w);
    w->cfg = cfg;
    fc_buf_init(&w->body);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    w->curl = curl_easy_init();
    w->pg = fc_pg_connect(fc_config_str(cfg, "pg-url"), MODULE);
    rc = w->pg && w->curl ? 0 : 1;
    bool once = fc_config_bool(cfg, "once");
    while (rc == 0 && !fc_signal_stopping()) {
        int n;
        //  A rate-limited pass has already waited for the reset: go again at once.
        while ((n = s_sync_pass(w)) < 0 && !fc_signal_stopping())
            ;
        int c = fc_config_bool(cfg, "comment") ? s_comment_pass(w) : 0;
        if (n || c)
            fc_info(MODULE, "%d tasks attributed, %d comments posted", n, c);
        if (once)
            break;
        for (int64_t i = 0; i < fc_config_int(cfg, "interval-ms") / 100 && !fc_signal_stopping();
             i++)
            usleep(100000);
    }
    if (w->pg)
        PQfinish(w->pg);
    if (w->curl)
        curl_easy_cleanup(w->curl);
    fc_buf_free(&w->body);
    free(w);
    curl_global_cleanup();
    fc_config_destroy(&cfg);
    return rc;
}
