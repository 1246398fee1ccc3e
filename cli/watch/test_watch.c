/*  Unit tests of the watcher's modules: the transcript line reader (on the fixture
    session-sample.jsonl and on hostile lines) and the attribution map. The tailing
    itself is tested end to end in tests/integration/it_watch.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fc_test.h"
#include "watch_line.h"
#include "watch_map.h"

static void s_test_sample(void)
{
    FILE *in = fopen(FC_CLAUDE_SAMPLE, "r");
    FC_CHECK(in != NULL);
    if (!in)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int kinds[4] = {0};
    watch_usage_t got[6];
    int usage = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n')
            n--;
        watch_usage_t u;
        char err[200];
        watch_line_kind_t k = watch_line_parse(line, (size_t)n, &u, err, sizeof err);
        kinds[k + 1]++;
        if (k == WATCH_LINE_USAGE && usage < 6)
            got[usage++] = u;
    }
    free(line);
    fclose(in);
    FC_CHECK_INT(kinds[WATCH_LINE_BAD + 1], 0);
    FC_CHECK_INT(kinds[WATCH_LINE_OTHER + 1], 1);
    FC_CHECK_INT(kinds[WATCH_LINE_USAGE + 1], 4);
    FC_CHECK_INT(kinds[WATCH_LINE_SYNTHETIC + 1], 1);
    //  The streamed response: two lines, the second complete and larger.
    FC_CHECK_STR(got[0].message_id, "msg_01AbCdEfGhIjKlMnOpQrStUv");
    FC_CHECK_STR(got[0].request_id, "req_011CAbCdEfGhIjKlMnOpQr");
    FC_CHECK(!got[0].final && got[1].final);
    FC_CHECK_INT(got[0].output, 1);
    FC_CHECK_INT(got[1].output, 742);
    FC_CHECK_INT(got[1].cache_write_1h, 12000);
    FC_CHECK_INT(got[1].cache_write_5m, 0);
    FC_CHECK_INT(watch_usage_total(&got[1]), 4 + 742 + 12000);
    FC_CHECK_INT(got[0].ts_us, INT64_C(1795770003120000)); //  2026-11-27T09:00:03.120Z
    FC_CHECK_STR(got[2].cwd, "/srv/agents/acme/repo-api");
    FC_CHECK_INT(got[2].cache_read, 12000);
    FC_CHECK_INT(got[2].cache_write_5m, 850);
    //  The subagent line: sidechain, agentId, no cache split (none written).
    FC_CHECK(got[3].sidechain && !got[2].sidechain);
    FC_CHECK_STR(got[3].agent_id, "a7f3");
    FC_CHECK_STR(got[3].model, "claude-haiku-4-5-20251001");
    FC_CHECK_STR(got[3].session, "4f1c2d3e-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
}

static void s_test_lines(void)
{
    watch_usage_t u;
    char err[200];
    const char *base = "{\"type\":\"assistant\",\"sessionId\":\"s\",\"requestId\":\"r\","
                       "\"timestamp\":\"2026-11-27T09:00:00Z\",\"message\":{\"id\":\"m\","
                       "\"model\":\"claude-x\",\"usage\":%s}}";
    struct {
        const char *usage;
        watch_line_kind_t kind;
        int64_t w5, w1;
    } cases[] = {
        {"{\"input_tokens\":1,\"cache_creation_input_tokens\":30}", WATCH_LINE_USAGE, 30, 0},
        {"{\"cache_creation_input_tokens\":30,\"cache_creation\":{\"ephemeral_1h_input_tokens\":"
         "20}}",
         WATCH_LINE_USAGE, 10, 20},
        {"{\"input_tokens\":-1}", WATCH_LINE_BAD, 0, 0},
        {"{\"input_tokens\":1.5}", WATCH_LINE_BAD, 0, 0},
        {"{\"input_tokens\":\"7\"}", WATCH_LINE_BAD, 0, 0},
        {"{\"input_tokens\":100000000001}", WATCH_LINE_BAD, 0, 0},
        {"null", WATCH_LINE_OTHER, 0, 0},
        {"[1]", WATCH_LINE_BAD, 0, 0},
    };
    char line[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int n = snprintf(line, sizeof line, base, cases[i].usage);
        watch_line_kind_t k = watch_line_parse(line, (size_t)n, &u, err, sizeof err);
        FC_CHECK_INT(k, cases[i].kind);
        if (k == WATCH_LINE_USAGE) {
            FC_CHECK_INT(u.cache_write_5m, cases[i].w5);
            FC_CHECK_INT(u.cache_write_1h, cases[i].w1);
        }
    }
    const char *hostile[] = {
        "", "{", "not json", "{\"type\":\"assistant\",\"message\":{\"usage\":{}}}",
        ("{\"type\":\"assistant\",\"sessionId\":\"s\",\"timestamp\":\"yesterday\","
         "\"message\":{\"id\":\"m\",\"model\":\"x\",\"usage\":{}}}")};
    FC_CHECK_INT(watch_line_parse(hostile[0], 0, &u, err, sizeof err), WATCH_LINE_BAD);
    for (size_t i = 1; i < sizeof hostile / sizeof hostile[0]; i++)
        FC_CHECK_INT(watch_line_parse(hostile[i], strlen(hostile[i]), &u, err, sizeof err),
                     WATCH_LINE_BAD);
    //  How the request was billed: speed, inference_geo, server-tool web searches.
    const char *billed = "{\"input_tokens\":3,\"speed\":\"fast\",\"inference_geo\":\"us\","
                         "\"server_tool_use\":{\"web_search_requests\":2,"
                         "\"web_fetch_requests\":1}}";
    int n = snprintf(line, sizeof line, base, billed);
    FC_CHECK_INT(watch_line_parse(line, (size_t)n, &u, err, sizeof err), WATCH_LINE_USAGE);
    FC_CHECK_STR(u.speed, "fast");
    FC_CHECK_STR(u.geo, "us");
    FC_CHECK_INT(u.web_searches, 2);
    //  Absent: standard, global, none, said as nothing.
    n = snprintf(line, sizeof line, base, "{\"input_tokens\":3}");
    FC_CHECK_INT(watch_line_parse(line, (size_t)n, &u, err, sizeof err), WATCH_LINE_USAGE);
    FC_CHECK(!u.speed[0] && !u.geo[0] && u.web_searches == 0);
    //  A mode that is no name is kept as "unknown" (priced unpriced); a bad count is bad.
    n = snprintf(line, sizeof line, base, "{\"speed\":\"very fast!\"}");
    FC_CHECK_INT(watch_line_parse(line, (size_t)n, &u, err, sizeof err), WATCH_LINE_USAGE);
    FC_CHECK_STR(u.speed, "unknown");
    n = snprintf(line, sizeof line, base, "{\"speed\":7}");
    FC_CHECK_INT(watch_line_parse(line, (size_t)n, &u, err, sizeof err), WATCH_LINE_BAD);
    n = snprintf(line, sizeof line, base,
                 "{\"server_tool_use\":{\"web_search_requests\":10000000000}}");
    FC_CHECK_INT(watch_line_parse(line, (size_t)n, &u, err, sizeof err), WATCH_LINE_BAD);
    const char *user = "{\"type\":\"user\",\"message\":{\"content\":[[[[[[[[1]]]]]]]]}}";
    FC_CHECK_INT(watch_line_parse(user, strlen(user), &u, err, sizeof err), WATCH_LINE_OTHER);
    int64_t t;
    FC_CHECK_INT(watch_time_parse("2026-11-01", &t), 0);
    FC_CHECK_INT(t, INT64_C(1793491200000000));
    FC_CHECK_INT(watch_time_parse("2026-11-01T01:00:00+01:00", &t), 0);
    FC_CHECK_INT(t, INT64_C(1793491200000000));
    FC_CHECK_INT(watch_time_parse("2026-11-01T00:00:00", &t), -1);
}

static void s_test_map(void)
{
    char path[] = "/tmp/test_watch_map.XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(fd >= 0);
    const char *rules = "# tenant rules\n"
                        "/srv/agents/acme/* acme reviewer\n"
                        "*/projects/-srv-beta*  beta\n"
                        "* other -\n";
    FC_CHECK_INT(write(fd, rules, strlen(rules)), (int64_t)strlen(rules));
    close(fd);
    char err[200];
    watch_map_t *map = watch_map_load(path, err, sizeof err);
    FC_CHECK(map != NULL);
    const char *tenant = NULL, *type = NULL;
    FC_CHECK(watch_map_match(map, "/h/.claude/projects/x/s.jsonl", "/srv/agents/acme/api", &tenant,
                             &type));
    FC_CHECK_STR(tenant, "acme");
    FC_CHECK_STR(type, "reviewer");
    FC_CHECK(watch_map_match(map, "/h/.claude/projects/-srv-beta-x/s.jsonl", "/x", &tenant, &type));
    FC_CHECK_STR(tenant, "beta");
    FC_CHECK(type == NULL);
    FC_CHECK(watch_map_match(map, "/a", "", &tenant, &type));
    FC_CHECK_STR(tenant, "other");
    watch_map_destroy(&map);
    FC_CHECK(map == NULL);
    FILE *f = fopen(path, "w");
    fputs("/x Not-A-Tenant\n", f);
    fclose(f);
    FC_CHECK(watch_map_load(path, err, sizeof err) == NULL);
    unlink(path);
    FC_CHECK(watch_map_load(path, err, sizeof err) == NULL);
}

int main(void)
{
    s_test_sample();
    s_test_lines();
    s_test_map();
    return fc_test_done("test_watch");
}
