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

    Tasks are claimed with FOR UPDATE SKIP LOCKED, so several workers can run.

    repo and issue come from tenants' events, and the worker's token can see more than
    any one tenant should: a repository is fetched (or commented on) only when it is on
    its tenant's allow-list, kept by the operator:
        fleetcost github allow    --tenant T --repo OWNER[/NAME]
        fleetcost github disallow --tenant T --repo OWNER[/NAME]
        fleetcost github list     [--tenant T]
        fleetcost github token    --tenant T [--clear]   (the token is read from stdin)
    Other tasks are skipped (logged, counted in the pass summary) and looked at again
    with backoff, so adding the repository later takes effect. A tenant's own token
    (github_tokens) replaces --token for that tenant's requests; it is never printed.
    Every change is written to audit_log in the same statement. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_http.h"
#include "commands.h"
#include "fc_buf.h"
#include "fc_config.h"
#include "fc_json_tok.h"
#include "fc_log.h"
#include "fc_money.h"
#include "fc_pg.h"
#include "fc_signal.h"
#include "fc_time.h"

#define MODULE       "github"
#define MAX_GH_TOKEN 400           //  the schema's bound on a stored token
#define MAX_BODY     (1024 * 1024) //  an issue is a few kB; refuse more
#define MAX_TOKENS   20000
#define CACHE_SIZE   1024
#define CACHE_TTL_S  600

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
    {"tenant", FC_OPT_STR, "", 0, 0, false, "allow, disallow, list, token: the tenant"},
    {"repo", FC_OPT_STR, "", 0, 0, false,
     "allow, disallow: OWNER (all its repositories) or "
     "OWNER/NAME"},
    {"clear", FC_OPT_BOOL, "false", 0, 0, false, "token: remove the tenant's token"},
    {"actor", FC_OPT_STR, "", 0, 0, false, "who makes the change (default: $USER)"},
    FC_OPT_END};

typedef struct {
    char key[320]; //  "tenant|owner/repo#issue": never shared across tenants
    time_t at;
    char title[FC_MAX_TEXT + 1];
    char labels[2048]; //  Postgres text[] literal
    char type[FC_MAX_NAME + 1], priority[FC_MAX_NAME + 1];
} s_issue_t;

typedef struct {
    fc_config_t *cfg;
    PGconn *pg;
    cli_http_t *http;
    s_issue_t cache[CACHE_SIZE];
    int64_t skipped; //  lookups refused: repository not on the tenant's allow-list
} s_worker_t;

//  One request with token (the tenant's, else --token; "" or NULL: none); returns the
//  HTTP status, or -1 on a transport error (reason logged).
static long s_request(s_worker_t *w, const char *method, const char *path, const char *json,
                      const char *token)
{
    char url[1024], auth[600] = "";
    snprintf(url, sizeof url, "%s%s", fc_config_str(w->cfg, "api-url"), path);
    if (!token || !*token)
        token = fc_config_str(w->cfg, "token");
    if (*token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    const char *hdr[6] = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28",
                          "User-Agent: fleetcost"};
    int n = 3;
    if (*auth)
        hdr[n++] = auth;
    if (json)
        hdr[n++] = "Content-Type: application/json";
    long status = cli_http_request(w->http, method, url, hdr, json, path);
    memset(auth, 0, sizeof auth);
    return status;
}

static bool s_rate_limited(s_worker_t *w, long status)
{
    const cli_http_limits_t *l = cli_http_limits(w->http);
    return (status == 403 || status == 429) && (l->remaining == 0 || l->retry_after_s > 0);
}

//  Sleeps until GitHub's reset time (bounded), in slices so a signal stops it.
static void s_wait_reset(s_worker_t *w)
{
    long wait = cli_http_wait_s(w->http, fc_time_now_us() / 1000000, 1,
                                (long)fc_config_int(w->cfg, "max-wait-s"));
    fc_warn(MODULE, "rate limited by GitHub: pausing %ld s", wait);
    cli_http_pause(wait);
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
    size_t len;
    const char *text = cli_http_body(w->http, &len);
    if (!len || fc_jtok_parse(text, len, &lim, toks, err, sizeof err) < 0) {
        fc_warn(MODULE, "issue %s: unreadable answer: %s", out->key, len ? err : "empty");
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

//  The SQL truth value: the task's repository is on its tenant's allow-list (an owner
//  entry covers all its repositories). GitHub names are case-insensitive.
#define S_ALLOWED                                                                                  \
    "EXISTS (SELECT 1 FROM github_repos g WHERE g.tenant_id = t.tenant_id"                         \
    " AND g.pattern IN (lower(t.repo), lower(split_part(t.repo, '/', 1))))"
#define S_TOKEN "(SELECT k.token FROM github_tokens k WHERE k.tenant_id = t.tenant_id)"

//  A lookup the allow-list refuses: logged (the first ones, then one in a hundred),
//  counted, and tried again later with backoff in case the operator adds the repository.
static void s_skip(s_worker_t *w, const char *tenant, const char *task, const char *repo)
{
    if (w->skipped < 10 || w->skipped % 100 == 0)
        fc_warn(MODULE, "tenant %s: %s is not on its GitHub allow-list; not fetched", tenant, repo);
    w->skipped++;
    s_failed(w, tenant, task, "repository not on the tenant's GitHub allow-list", false);
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
                              "SELECT t.tenant_id, t.task_id, t.repo, t.issue, " S_ALLOWED
                              ", " S_TOKEN " FROM tasks t"
                              " WHERE t.repo IS NOT NULL AND t.issue IS NOT NULL"
                              " AND t.gh_synced_at IS NULL"
                              " AND (t.gh_next_try IS NULL OR t.gh_next_try <= now())"
                              " ORDER BY t.created_at NULLS LAST LIMIT $1::int"
                              " FOR UPDATE OF t SKIP LOCKED",
                              1, p);
    int handled = 0;
    bool limited = false;
    for (int i = 0; r && i < PQntuples(r) && !limited && !fc_signal_stopping(); i++) {
        const char *tenant = PQgetvalue(r, i, 0), *task = PQgetvalue(r, i, 1);
        const char *repo = PQgetvalue(r, i, 2), *issue = PQgetvalue(r, i, 3);
        bool allowed = strcmp(PQgetvalue(r, i, 4), "t") == 0;
        const char *token = PQgetvalue(r, i, 5);
        char key[320];
        snprintf(key, sizeof key, "%.64s|%.200s#%.20s", tenant, repo, issue);
        //  Only owner/name repositories; anything else is settled as invalid. Then the
        //  allow-list, before the cache too: a repository removed from it is not served
        //  from an earlier answer.
        const char *slash = strchr(repo, '/');
        if (!slash || slash == repo || !slash[1] || strchr(slash + 1, '/') ||
            strspn(repo, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./") !=
                strlen(repo)) {
            s_failed(w, tenant, task, "repo is not owner/name", true);
            continue;
        }
        if (!allowed) {
            s_skip(w, tenant, task, repo);
            continue;
        }
        s_issue_t *hit = s_cached(w, key);
        if (!hit) {
            char path[400];
            snprintf(path, sizeof path, "/repos/%.200s/issues/%.20s", repo, issue);
            long status = s_request(w, "GET", path, NULL, token);
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
        "  AND a.task_id = t.task_id), " S_TOKEN
        " FROM tasks t WHERE t.completed_at IS NOT NULL AND t.gh_commented_at IS NULL"
        " AND t.repo IS NOT NULL AND t.issue IS NOT NULL AND t.gh_synced_at IS NOT NULL"
        " AND t.gh_error IS NULL AND " S_ALLOWED " LIMIT 50 FOR UPDATE OF t SKIP LOCKED",
        0, NULL);
    int done = 0;
    for (int i = 0; r && i < PQntuples(r) && !fc_signal_stopping(); i++) {
        char usd[FC_MONEY_BUFSIZE], path[400], json[512];
        fc_money_format(fc_pg_int(r, i, 4), usd, sizeof usd, 2);
        snprintf(path, sizeof path, "/repos/%.200s/issues/%.20s/comments", PQgetvalue(r, i, 2),
                 PQgetvalue(r, i, 3));
        snprintf(json, sizeof json,
                 "{\"body\":\"fleetcost: this task cost $%s of AI agent time (%s agent%s).\"}", usd,
                 PQgetvalue(r, i, 5), strcmp(PQgetvalue(r, i, 5), "1") ? "s" : "");
        long status = s_request(w, "POST", path, json, PQgetvalue(r, i, 6));
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

//  --repo as stored: lower-case OWNER or OWNER/NAME of GitHub's name characters.
//  Returns 0, or -1 when it is not of that shape.
static int s_pattern(const char *repo, char *out, size_t size)
{
    size_t n = strlen(repo);
    if (n == 0 || n >= size || n > 200)
        return -1;
    int slashes = 0;
    for (size_t i = 0; i < n; i++) {
        char c = repo[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '/')
            slashes++;
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                   c == '.'))
            return -1;
        out[i] = c;
    }
    out[n] = 0;
    if (slashes > 1 || out[0] == '/' || out[n - 1] == '/')
        return -1;
    return 0;
}

//  allow / disallow: one statement changes the allow-list and writes the audit row.
static int s_allow(fc_config_t *cfg, PGconn *pg, bool allow)
{
    char pattern[256];
    const char *tenant = fc_config_str(cfg, "tenant");
    if (!*tenant || s_pattern(fc_config_str(cfg, "repo"), pattern, sizeof pattern) != 0) {
        fprintf(stderr, "github %s: --tenant T and --repo OWNER or OWNER/NAME are required\n",
                allow ? "allow" : "disallow");
        return 2;
    }
    const char *p[3] = {tenant, pattern, cmd_actor(cfg)};
    PGresult *r = fc_pg_query(
        pg, MODULE, allow ? "allow" : "disallow",
        allow ? "WITH c AS (INSERT INTO github_repos (tenant_id, pattern) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING RETURNING 1)"
                " INSERT INTO audit_log (actor, action, object, after)"
                " SELECT $3, 'github.allow', $1, jsonb_build_object('repo', $2::text) FROM c"
                " RETURNING 1"
              : "WITH c AS (DELETE FROM github_repos WHERE tenant_id = $1 AND pattern = $2"
                " RETURNING 1)"
                " INSERT INTO audit_log (actor, action, object, before)"
                " SELECT $3, 'github.disallow', $1, jsonb_build_object('repo', $2::text) FROM c"
                " RETURNING 1",
        3, p);
    if (!r)
        return 1;
    int n = PQntuples(r);
    PQclear(r);
    printf("github: tenant %s: %s %s\n", tenant, pattern,
           n ? (allow ? "allowed" : "no longer allowed")
             : (allow ? "was already allowed" : "was not on the allow-list"));
    return 0;
}

//  The allow-lists, and whether each tenant has its own token (never the token).
static int s_list(fc_config_t *cfg, PGconn *pg)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    const char *p[1] = {*tenant ? tenant : NULL};
    PGresult *r = fc_pg_query(
        pg, MODULE, "list",
        "SELECT t.tenant_id, coalesce(string_agg(g.pattern, ',' ORDER BY g.pattern), ''),"
        " CASE WHEN k.tenant_id IS NULL THEN 'no' ELSE 'yes' END"
        " FROM tenants t LEFT JOIN github_repos g USING (tenant_id)"
        " LEFT JOIN github_tokens k ON k.tenant_id = t.tenant_id"
        " WHERE $1::text IS NULL OR t.tenant_id = $1"
        " GROUP BY t.tenant_id, k.tenant_id ORDER BY t.tenant_id",
        1, p);
    if (!r)
        return 1;
    printf("%-24s %-5s %s\n", "TENANT", "TOKEN", "ALLOWED REPOSITORIES");
    for (int i = 0; i < PQntuples(r); i++)
        printf("%-24s %-5s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 2),
               *PQgetvalue(r, i, 1) ? PQgetvalue(r, i, 1) : "(none: no lookups)");
    PQclear(r);
    return 0;
}

//  token: the tenant's GitHub token from stdin (never from the command line, where ps
//  and shell history would keep it), or --clear. Audited without the value.
static int s_token(fc_config_t *cfg, PGconn *pg)
{
    const char *tenant = fc_config_str(cfg, "tenant");
    if (!*tenant) {
        fprintf(stderr, "github token: --tenant T is required\n");
        return 2;
    }
    bool clear = fc_config_bool(cfg, "clear");
    char token[MAX_GH_TOKEN + 2] = "";
    if (!clear) {
        if (!fgets(token, sizeof token, stdin)) {
            fprintf(stderr, "github token: give the token on stdin\n");
            return 2;
        }
        size_t n = strcspn(token, "\r\n");
        bool whole = token[n] != 0 || feof(stdin);
        token[n] = 0;
        bool ok = whole && n > 0 && n <= MAX_GH_TOKEN;
        for (size_t i = 0; ok && i < n; i++)
            ok = token[i] > 0x20 && token[i] < 0x7f;
        if (!ok) {
            memset(token, 0, sizeof token);
            fprintf(stderr, "github token: expected one line of 1 to %d printable characters\n",
                    MAX_GH_TOKEN);
            return 2;
        }
    }
    const char *p[3] = {tenant, clear ? NULL : token, cmd_actor(cfg)};
    PGresult *r = fc_pg_query(
        pg, MODULE, "token",
        clear ? "WITH c AS (DELETE FROM github_tokens WHERE tenant_id = $1 AND $2::text IS NULL"
                " RETURNING 1)"
                " INSERT INTO audit_log (actor, action, object)"
                " SELECT $3, 'github.token.clear', $1 FROM c RETURNING 1"
              : "WITH c AS (INSERT INTO github_tokens (tenant_id, token) VALUES ($1, $2)"
                " ON CONFLICT (tenant_id) DO UPDATE SET token = $2, set_at = now() RETURNING 1)"
                " INSERT INTO audit_log (actor, action, object)"
                " SELECT $3, 'github.token.set', $1 FROM c RETURNING 1",
        3, p);
    memset(token, 0, sizeof token);
    if (!r)
        return 1;
    int n = PQntuples(r);
    PQclear(r);
    printf("github: tenant %s %s\n", tenant,
           clear ? (n ? "token removed" : "had no token") : "token stored (not shown)");
    return 0;
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
    const char *what = fc_config_argc(cfg) > 0 ? fc_config_argv(cfg)[0] : "run";
    if (strcmp(what, "run") != 0) {
        bool known = strcmp(what, "allow") == 0 || strcmp(what, "disallow") == 0 ||
                     strcmp(what, "list") == 0 || strcmp(what, "token") == 0;
        PGconn *pg = known ? fc_pg_connect(fc_config_str(cfg, "pg-url"), MODULE) : NULL;
        if (!known) {
            fprintf(stderr, "fleetcost github: run (default), allow, disallow, list or token "
                            "(see --help)\n");
            rc = 2;
        } else if (!pg)
            rc = 1;
        else if (what[0] == 'a' || what[0] == 'd')
            rc = s_allow(cfg, pg, what[0] == 'a');
        else if (what[0] == 'l')
            rc = s_list(cfg, pg);
        else
            rc = s_token(cfg, pg);
        if (pg)
            PQfinish(pg);
        fc_config_destroy(&cfg);
        return rc;
    }
    s_worker_t *w = calloc(1, sizeof *w);
    w->cfg = cfg;
    w->http = cli_http_new(MODULE, MAX_BODY, (long)fc_config_int(cfg, "timeout-ms"));
    w->pg = fc_pg_connect(fc_config_str(cfg, "pg-url"), MODULE);
    rc = w->pg && w->http ? 0 : 1;
    bool once = fc_config_bool(cfg, "once");
    int64_t skipped = 0;
    while (rc == 0 && !fc_signal_stopping()) {
        int n;
        //  A rate-limited pass has already waited for the reset: go again at once.
        while ((n = s_sync_pass(w)) < 0 && !fc_signal_stopping())
            ;
        int c = fc_config_bool(cfg, "comment") ? s_comment_pass(w) : 0;
        if (n || c || w->skipped != skipped)
            fc_info(MODULE,
                    "%d tasks attributed, %d comments posted, %" PRId64
                    " lookups skipped (repository not on the tenant's allow-list)",
                    n, c, w->skipped - skipped);
        skipped = w->skipped;
        if (once)
            break;
        for (int64_t i = 0; i < fc_config_int(cfg, "interval-ms") / 100 && !fc_signal_stopping();
             i++)
            usleep(100000);
    }
    if (w->pg)
        PQfinish(w->pg);
    cli_http_destroy(&w->http);
    free(w);
    fc_config_destroy(&cfg);
    return rc;
}
