/*  fleetcost simulate: a simulated fleet for the demo, the soak and by hand.

    Several tenants, each with a mixed fleet of Claude Code, Codex CLI and Gemini CLI
    agents (the agent type; --agent-mix sets the shares) in several roles, working on
    GitHub-style tasks: agents spawn, take a task, make model requests with their
    agent's models (token counts drawn from skewed distributions: for Claude Code cache
    reads dominate, with occasional 5-minute and 1-hour cache writes; Codex re-sends
    its context, most of it cached, and never writes a cache; Gemini caches less),
    finish the task, terminate, and are replaced. One tenant (--hot) spends about five times as much
   as the others, so a budget set for it is crossed. Everything goes through libfleetcost, like a
   real agent; the run is reproducible from --seed. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "fc_config.h"
#include "fc_log.h"
#include "fc_signal.h"
#include "fc_time.h"
#include "fleetcost.h"

#define MODULE      "simulate"
#define MAX_TENANTS 16
#define AGENTS_EACH 6

static const fc_option_t s_options[] = {
    {"tenants", FC_OPT_STR, "acme,globex,initech,umbrella", 0, 0, false,
     "tenants to simulate, comma-separated"},
    {"hot", FC_OPT_STR, "initech", 0, 0, false, "tenant that spends ~5x more ('' for none)"},
    {"rate", FC_OPT_INT, "50", 1, 1000000, false, "model requests per second, whole fleet"},
    {"duration", FC_OPT_INT, "0", 0, 31536000, false, "seconds to run (0: until stopped)"},
    {"requests", FC_OPT_INT, "0", 0, 1000000000, false, "stop after this many requests (0: none)"},
    {"seed", FC_OPT_INT, "42", 0, INT64_MAX, false, "random seed"},
    {"host", FC_OPT_STR, "sim-host-1", 0, 0, false, "host name the agents report"},
    {"agent-mix", FC_OPT_STR, "claude-code=60,codex-cli=25,gemini-cli=15", 0, 0, false,
     "shares of the agent types (claude-code, codex-cli, gemini-cli), e.g. claude-code=100"},
    FC_OPT_END};

typedef struct {
    char name[64];
    bool hot;
    int next_task;
    int next_agent;
} s_tenant_t;

//  The agent types simulated, and the share of each in the fleet.
typedef enum { S_CLAUDE, S_CODEX, S_GEMINI, S_AGENTS } s_agent_kind_t;
static const char *s_agent_types[S_AGENTS] = {"claude-code", "codex-cli", "gemini-cli"};
static int64_t s_mix[S_AGENTS];

typedef struct {
    s_tenant_t *tenant;
    char id[FC_MAX_ID + 1];
    s_agent_kind_t kind;
    const char *type; //  the role: coder, reviewer, tester, planner
    char task[FC_MAX_ID + 1];
    int requests_left;
    bool alive;
} s_agent_t;

static uint64_t s_rng;

//  xorshift64*: small, fast, reproducible.
static uint64_t s_rand(void)
{
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return s_rng * 2685821657736338717ULL;
}

static double s_unit(void)
{
    return (double)(s_rand() >> 11) / (double)(1ULL << 53);
}

//  Log-normal draw around a median: most requests small, a long tail of big ones.
static int64_t s_lognormal(double median, double sigma)
{
    double u1 = s_unit() + 1e-12, u2 = s_unit();
    double z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
    double v = median * exp(sigma * z);
    return v < 1 ? 1 : (int64_t)v;
}

static const char *s_types[] = {"coder", "reviewer", "tester", "planner"};
static const char *s_task_types[] = {"bug", "feature", "chore", "docs"};
static const char *s_priorities[] = {"low", "medium", "high", "critical"};

//  A model of the agent's kind, by its role. Only models with a row in db/pricing/ are
//  used, so a fleet with every provider's prices loaded has no unpriced usage.
static const char *s_model_for(s_agent_kind_t kind, const char *type)
{
    if (kind == S_CODEX) {
        if (strcmp(type, "tester") == 0)
            return "gpt-5-mini";
        return s_unit() < 0.75 ? "gpt-5-codex" : "gpt-5";
    }
    if (kind == S_GEMINI)
        return "gemini-2.5-pro";
    if (strcmp(type, "planner") == 0)
        return s_unit() < 0.7 ? "claude-opus-4-6" : "claude-sonnet-4-5-20250929";
    if (strcmp(type, "tester") == 0)
        return "claude-haiku-4-5";
    return s_unit() < 0.9 ? "claude-sonnet-4-5-20250929" : "us.anthropic.claude-sonnet-4-6-v1:0";
}

static void s_base(fc_event_t *ev, fc_event_type_t type, s_agent_t *a)
{
    fc_event_init(ev);
    ev->type = type;
    snprintf(ev->tenant, sizeof ev->tenant, "%s", a->tenant->name);
    snprintf(ev->agent, sizeof ev->agent, "%s", a->id);
    snprintf(ev->agent_type, sizeof ev->agent_type, "%s", s_agent_types[a->kind]);
}

//  An agent kind drawn by the --agent-mix shares.
static s_agent_kind_t s_draw_kind(void)
{
    int64_t total = s_mix[S_CLAUDE] + s_mix[S_CODEX] + s_mix[S_GEMINI];
    int64_t r = (int64_t)(s_rand() % (uint64_t)total);
    for (int k = 0; k < S_AGENTS; k++) {
        if (r < s_mix[k])
            return (s_agent_kind_t)k;
        r -= s_mix[k];
    }
    return S_CLAUDE;
}

//  Parses "claude-code=60,codex-cli=25,gemini-cli=15" into s_mix. Returns 0, or -1.
static int s_parse_mix(const char *text)
{
    char *copy = strdup(text), *save = NULL;
    int rc = copy ? 0 : -1;
    memset(s_mix, 0, sizeof s_mix);
    for (char *p = copy ? strtok_r(copy, ",", &save) : NULL; p && rc == 0;
         p = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(p, '=');
        rc = -1;
        for (int k = 0; eq && k < S_AGENTS; k++) {
            char *end = NULL;
            long long v = strtoll(eq + 1, &end, 10);
            if ((size_t)(eq - p) == strlen(s_agent_types[k]) &&
                strncmp(p, s_agent_types[k], (size_t)(eq - p)) == 0 && end != eq + 1 && !*end &&
                v >= 0 && v <= 1000000) {
                s_mix[k] = v;
                rc = 0;
            }
        }
    }
    free(copy);
    return rc == 0 && s_mix[S_CLAUDE] + s_mix[S_CODEX] + s_mix[S_GEMINI] > 0 ? 0 : -1;
}

static int s_send(fc_client_t *c, fc_event_t *ev)
{
    fc_proto_error_t err;
    if (fc_client_send(c, ev, &err) != 0) {
        fc_warn(MODULE, "event not queued: %s (%s)", err.reason, err.field);
        return -1;
    }
    return 0;
}

//  A new agent: spawn, a new task created and assigned to it.
static void s_spawn(fc_client_t *c, s_agent_t *a, const char *host)
{
    s_tenant_t *t = a->tenant;
    a->kind = s_draw_kind();
    a->type = s_types[s_rand() % 4];
    snprintf(a->id, sizeof a->id, "%.63s-%s-%d", t->name, a->type, ++t->next_agent);
    snprintf(a->task, sizeof a->task, "%.63s#%d", t->name, 100 + ++t->next_task);
    a->requests_left = 5 + (int)(s_rand() % 40);
    a->alive = true;
    fc_event_t ev;
    s_base(&ev, FC_EV_AGENT_SPAWN, a);
    snprintf(ev.host, sizeof ev.host, "%s", host);
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    s_send(c, &ev);

    s_base(&ev, FC_EV_TASK_CREATED, a);
    ev.agent[0] = 0;
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    const char *tt = s_task_types[s_rand() % 4];
    const char *prio = s_priorities[s_rand() % 4];
    snprintf(ev.title, sizeof ev.title, "%s: simulated %s work item %d", tt, tt, t->next_task);
    snprintf(ev.task_type, sizeof ev.task_type, "%s", tt);
    snprintf(ev.priority, sizeof ev.priority, "%s", prio);
    snprintf(ev.repo, sizeof ev.repo, "%s/service-%d", t->name, (int)(s_rand() % 3));
    ev.has_issue = true;
    ev.issue = 100 + t->next_task;
    ev.label_count = 2;
    snprintf(ev.labels[0], sizeof ev.labels[0], "type:%s", tt);
    snprintf(ev.labels[1], sizeof ev.labels[1], "priority:%s", prio);
    s_send(c, &ev);

    s_base(&ev, FC_EV_TASK_ASSIGNED, a);
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    s_send(c, &ev);
}

static void s_request(fc_client_t *c, s_agent_t *a)
{
    fc_event_t ev;
    s_base(&ev, FC_EV_USAGE, a);
    snprintf(ev.model, sizeof ev.model, "%s", s_model_for(a->kind, a->type));
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    snprintf(ev.session, sizeof ev.session, "sess-%.100s", a->id);
    double scale = a->tenant->hot ? 5.0 : 1.0;
    if (a->kind == S_CODEX) {
        //  As the watcher maps a Codex turn: uncached input, cached input as cache
        //  reads, output with the reasoning inside.
        ev.input_tokens = s_lognormal(1800 * scale, 1.0);
        ev.cache_read_tokens = s_lognormal(16000 * scale, 0.8);
        ev.output_tokens = s_lognormal(700 * scale, 0.9);
    } else if (a->kind == S_GEMINI) {
        //  Gemini: uncached prompt, cached part of it, output with the thoughts.
        ev.input_tokens = s_lognormal(5000 * scale, 1.0);
        ev.cache_read_tokens = s_unit() < 0.6 ? s_lognormal(9000 * scale, 0.8) : 0;
        ev.output_tokens = s_lognormal(600 * scale, 0.9);
    } else {
        ev.input_tokens = s_lognormal(600 * scale, 1.0);
        ev.output_tokens = s_lognormal(350 * scale, 0.9);
        ev.cache_read_tokens = s_lognormal(18000 * scale, 0.8);
        if (s_unit() < 0.25)
            ev.cache_write_5m_tokens = s_lognormal(2500 * scale, 0.7);
        if (s_unit() < 0.05)
            ev.cache_write_1h_tokens = s_lognormal(6000 * scale, 0.6);
    }
    ev.has_api_duration_ms = true;
    ev.api_duration_ms = s_lognormal(2500, 0.6);
    snprintf(ev.attrs[0].key, sizeof ev.attrs[0].key, "team");
    snprintf(ev.attrs[0].value, sizeof ev.attrs[0].value, "%s", a->type);
    ev.attr_count = 1;
    s_send(c, &ev);
}

//  Task done: completed, unassigned, agent terminated (with a runtime cost entry).
static void s_finish(fc_client_t *c, s_agent_t *a)
{
    fc_event_t ev;
    s_base(&ev, FC_EV_TASK_COMPLETED, a);
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    snprintf(ev.status, sizeof ev.status, "%s", s_unit() < 0.9 ? "success" : "failed");
    s_send(c, &ev);

    s_base(&ev, FC_EV_COST, a);
    snprintf(ev.kind, sizeof ev.kind, "runtime");
    snprintf(ev.task, sizeof ev.task, "%s", a->task);
    ev.cost_nusd = s_lognormal(2000000, 0.5); //  ~$0.002 of compute
    snprintf(ev.description, sizeof ev.description, "sandbox runtime");
    s_send(c, &ev);

    s_base(&ev, FC_EV_AGENT_TERMINATE, a);
    ev.has_exit_code = true;
    ev.exit_code = 0;
    snprintf(ev.reason, sizeof ev.reason, "task finished");
    s_send(c, &ev);
    a->alive = false;
}

int cmd_simulate(int argc, char **argv)
{
    const fc_option_t *tables[] = {cmd_client_options, s_options, NULL};
    int rc;
    fc_config_t *cfg = fc_config_load("fleetcost simulate", "a simulated fleet of agents", tables,
                                      argc, argv, 0, -1, &rc);
    if (!cfg)
        return rc;
    s_rng = (uint64_t)fc_config_int(cfg, "seed") * 2654435761ULL + 88172645463325252ULL;
    if (s_parse_mix(fc_config_str(cfg, "agent-mix")) != 0) {
        fprintf(stderr,
                "simulate: --agent-mix '%s': expected type=share,... with types "
                "claude-code, codex-cli, gemini-cli and a share above 0\n",
                fc_config_str(cfg, "agent-mix"));
        fc_config_destroy(&cfg);
        return 2;
    }
    s_tenant_t tenants[MAX_TENANTS];
    int nt = 0;
    char *list = strdup(fc_config_str(cfg, "tenants"));
    char *save = NULL;
    for (char *t = strtok_r(list, ",", &save); t && nt < MAX_TENANTS;
         t = strtok_r(NULL, ",", &save)) {
        memset(&tenants[nt], 0, sizeof tenants[nt]);
        snprintf(tenants[nt].name, sizeof tenants[nt].name, "%s", t);
        tenants[nt].hot = strcmp(t, fc_config_str(cfg, "hot")) == 0;
        nt++;
    }
    free(list);
    if (nt == 0) {
        fprintf(stderr, "simulate: no tenants\n");
        fc_config_destroy(&cfg);
        return 2;
    }
    fc_client_t *client = cmd_client_open(cfg, NULL, NULL);
    if (!client) {
        fc_config_destroy(&cfg);
        return 1;
    }
    fc_log_set_level(FC_LOG_INFO);
    int na = nt * AGENTS_EACH;
    s_agent_t *agents = calloc((size_t)na, sizeof *agents);
    for (int i = 0; i < na; i++)
        agents[i].tenant = &tenants[i / AGENTS_EACH];
    const char *host = fc_config_str(cfg, "host");
    int64_t rate = fc_config_int(cfg, "rate");
    int64_t duration = fc_config_int(cfg, "duration");
    int64_t limit = fc_config_int(cfg, "requests");
    int64_t t0 = fc_time_mono_us();
    int64_t sent = 0, last_report = 0;
    fc_info(MODULE, "simulating %d tenants x %d agents (%s) at %" PRId64 " requests/s (hot: %s)",
            nt, AGENTS_EACH, fc_config_str(cfg, "agent-mix"), rate, fc_config_str(cfg, "hot"));
    while (!fc_signal_stopping() && (!limit || sent < limit)) {
        double elapsed = (double)(fc_time_mono_us() - t0) / 1e6;
        if (duration && elapsed >= (double)duration)
            break;
        //  Pace the fleet: request n is due at n / rate seconds.
        int64_t due = (int64_t)(elapsed * (double)rate);
        if (sent >= due) {
            usleep(2000);
            continue;
        }
        s_agent_t *a = &agents[s_rand() % (uint64_t)na];
        if (!a->alive)
            s_spawn(client, a, host);
        s_request(client, a);
        if (a->tenant->hot)
            s_request(client, a);
        sent++;
        if (--a->requests_left <= 0)
            s_finish(client, a);
        if ((int64_t)elapsed >= last_report + 10) {
            last_report = (int64_t)elapsed;
            fc_client_stats_t st;
            fc_client_stats(client, &st);
            fc_info(MODULE, "%" PRId64 " requests; events acked %" PRIu64 ", unacked %" PRIu64,
                    sent, st.acked, st.unacked);
        }
    }
    uint64_t left = fc_client_flush(client, 10000);
    fc_client_stats_t st;
    fc_client_stats(client, &st);
    printf("simulate: %" PRId64 " requests, %" PRIu64 " events acked, %" PRIu64
           " duplicate, %" PRIu64 " rejected, %" PRIu64 " left in the spool\n",
           sent, st.acked, st.duplicate, st.rejected, left);
    fc_client_destroy(&client);
    free(agents);
    fc_config_destroy(&cfg);
    return st.rejected ? 1 : 0;
}
