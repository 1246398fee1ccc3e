/*  fc_escape: every escaper against hostile text, and the secret mask against every
    form of secret-bearing setting we take. */
#include "fc_config.h"
#include "fc_escape.h"
#include "fc_test.h"

#include <unistd.h>

typedef void (*s_esc_fn)(fc_buf_t *, const char *);

static const char *s_run(s_esc_fn fn, const char *in, char *out, size_t size)
{
    fc_buf_t b;
    fc_buf_init(&b);
    fn(&b, in);
    fc_buf_add(&b, "", 1);
    snprintf(out, size, "%s", b.failed ? "(failed)" : (const char *)b.data);
    fc_buf_free(&b);
    return out;
}

static const char *s_mask(const char *v, fc_secret_t kind)
{
    static char out[512];
    return fc_mask(v, kind, out, sizeof out);
}

static void s_test_text(void)
{
    char out[128];
    //  ESC, CR/LF, tab, DEL, C1 (U+009B CSI in UTF-8), invalid UTF-8: all visible.
    FC_CHECK_STR(fc_esc_text("a\x1b[2Jb", out, sizeof out), "a\\x1b[2Jb");
    FC_CHECK_STR(fc_esc_text("x\r\nSubject: y\t\x7f", out, sizeof out),
                 "x\\x0d\\x0aSubject: y\\x09\\x7f");
    FC_CHECK_STR(fc_esc_text("\xc2\x9b"
                             "31m",
                             out, sizeof out),
                 "\\u009b31m");
    FC_CHECK_STR(fc_esc_text("\x9b"
                             "31m\xff",
                             out, sizeof out),
                 "\\x9b31m\\xff");
    //  Overlong and surrogate encodings are not UTF-8 either.
    FC_CHECK_STR(fc_esc_text("\xc0\x9b", out, sizeof out), "\\xc0\\x9b");
    FC_CHECK_STR(fc_esc_text("\xed\xa0\x80", out, sizeof out), "\\xed\\xa0\\x80");
    //  Printable UTF-8 passes.
    FC_CHECK_STR(fc_esc_text("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", out, sizeof out),
                 "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    //  Truncation never cuts an escape or a character in half.
    char small[6];
    FC_CHECK_STR(fc_esc_text("ab\x1b", small, sizeof small), "ab");
    FC_CHECK_STR(fc_esc_text("a\xc3\xa9\xc3\xa9", small, sizeof small), "a\xc3\xa9\xc3\xa9");
    char tiny[4];
    FC_CHECK_STR(fc_esc_text("a\xc3\xa9\xc3\xa9", tiny, sizeof tiny), "a\xc3\xa9");
    FC_CHECK_STR(fc_esc_text(NULL, out, sizeof out), "");
    char big[256];
    FC_CHECK_STR(s_run(fc_esc_text_buf, "ok\x1b]0;t\x07 \xc2\x85.", big, sizeof big),
                 "ok\\x1b]0;t\\x07 \\u0085.");
}

static void s_test_slack(void)
{
    char out[256];
    FC_CHECK_STR(s_run(fc_esc_slack, "<!channel> <https://evil|click> & co", out, sizeof out),
                 "&lt;!channel&gt; &lt;https://evil|click&gt; &amp; co");
    FC_CHECK_STR(s_run(fc_esc_slack, "m\x1b[2J\n", out, sizeof out), "m\\x1b[2J\\x0a");
    //  Slack-escaped text then JSON-escaped, as the alerter sends it.
    FC_CHECK_STR(s_run(fc_esc_json, "&lt;!here&gt;", out, sizeof out),
                 "\"\\u0026lt;!here\\u0026gt;\"");
}

static void s_test_json(void)
{
    char out[256];
    FC_CHECK_STR(s_run(fc_esc_json, "a\"b\\c\nd\x01\x7f", out, sizeof out),
                 "\"a\\\"b\\\\c\\u000ad\\u0001\\u007f\"");
    FC_CHECK_STR(s_run(fc_esc_json, "</script><b>&", out, sizeof out),
                 "\"\\u003c/script\\u003e\\u003cb\\u003e\\u0026\"");
    FC_CHECK_STR(s_run(fc_esc_json, "caf\xc3\xa9", out, sizeof out), "\"caf\xc3\xa9\"");
}

static void s_test_html(void)
{
    char out[256];
    FC_CHECK_STR(s_run(fc_esc_html, "<img src=x onerror='a(\"b\")'>&\x1b", out, sizeof out),
                 "&lt;img src=x onerror=&#39;a(&quot;b&quot;)&#39;&gt;&amp;");
}

static void s_test_csv(void)
{
    char out[256];
    FC_CHECK_STR(s_run(fc_esc_csv, "plain", out, sizeof out), "plain");
    FC_CHECK_STR(s_run(fc_esc_csv, "=HYPERLINK(\"x\")", out, sizeof out),
                 "\"'=HYPERLINK(\"\"x\"\")\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "+1", out, sizeof out), "\"'+1\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "-1", out, sizeof out), "\"'-1\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "@SUM(A1)", out, sizeof out), "\"'@SUM(A1)\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "\t=1+2", out, sizeof out), "\"'\t=1+2\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "\r=1+2", out, sizeof out), "\"'\r=1+2\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "a,b", out, sizeof out), "\"a,b\"");
    FC_CHECK_STR(s_run(fc_esc_csv, "", out, sizeof out), "");
    FC_CHECK_STR(s_run(fc_esc_csv, "a=b", out, sizeof out), "a=b");
}

static void s_test_mask(void)
{
    //  Postgres URIs: password in the userinfo or in the query.
    FC_CHECK_STR(s_mask("postgresql://fc:s3cret@db:5432/fleetcost", FC_SECRET_URL),
                 "postgresql://fc:***@db:5432/fleetcost");
    FC_CHECK_STR(
        s_mask("postgresql://fc@db/fleetcost?sslmode=require&password=s3cret", FC_SECRET_URL),
        "postgresql://fc@db/fleetcost?sslmode=require&password=***");
    FC_CHECK_STR(s_mask("postgresql://db/x?sslpassword=s3cret&application_name=a", FC_SECRET_URL),
                 "postgresql://db/x?sslpassword=***&application_name=a");
    //  An '@' in the password: the userinfo ends at the last '@' of the authority.
    FC_CHECK_STR(s_mask("postgresql://fc:a@b@db/x", FC_SECRET_URL), "postgresql://fc:***@db/x");
    //  Keyword/value conninfo.
    FC_CHECK_STR(s_mask("host=db user=fc password=s3cret dbname=x", FC_SECRET_URL),
                 "host=db user=fc password=*** dbname=x");
    FC_CHECK_STR(s_mask("host=db password='a b\\' c' dbname=x", FC_SECRET_URL),
                 "host=db password=*** dbname=x");
    //  Redis with a password only, SMTP with user and password.
    FC_CHECK_STR(s_mask("redis://:s3cret@127.0.0.1:6379/0", FC_SECRET_URL),
                 "redis://:***@127.0.0.1:6379/0");
    FC_CHECK_STR(s_mask("smtps://alerts%40x.org:s3cret@mail.x.org:465", FC_SECRET_URL),
                 "smtps://alerts%40x.org:***@mail.x.org:465");
    FC_CHECK_STR(s_mask("https://api.x/?access_token=s3cret&page=2", FC_SECRET_URL),
                 "https://api.x/?access_token=***&page=2");
    //  Webhooks: the path is the secret (Slack, Teams), and so is every query value.
    FC_CHECK_STR(s_mask("https://hooks.slack.com/services/T000/B000/XXXXsecret", FC_SECRET_WEBHOOK),
                 "https://hooks.slack.com/***");
    FC_CHECK_STR(s_mask("https://x.webhook.office.com/webhookb2/abc@def/IncomingWebhook/s3cret",
                        FC_SECRET_WEBHOOK),
                 "https://x.webhook.office.com/***");
    FC_CHECK_STR(s_mask("https://u:p@h:8443/hook?sig=s3cret&v=1#frag", FC_SECRET_WEBHOOK),
                 "https://***@h:8443/***?sig=***&v=***#***");
    FC_CHECK_STR(s_mask("http://127.0.0.1:9/", FC_SECRET_WEBHOOK), "http://127.0.0.1:9/");
    //  Opaque secrets, empty values, nothing to hide.
    FC_CHECK_STR(s_mask("ghp_s3cret", FC_SECRET_VALUE), "***");
    FC_CHECK_STR(s_mask("", FC_SECRET_VALUE), "");
    FC_CHECK_STR(s_mask("redis://127.0.0.1:6379/0", FC_SECRET_URL), "redis://127.0.0.1:6379/0");
    FC_CHECK_STR(s_mask("tcp://*:7601", FC_SECRET_NONE), "tcp://*:7601");
    //  Never overruns, always terminated.
    char small[12];
    fc_mask("postgresql://fc:s3cret@db/x", FC_SECRET_URL, small, sizeof small);
    FC_CHECK_INT(strlen(small), sizeof small - 1);
    FC_CHECK(strstr(small, "s3c") == NULL);
}

//  The start-up line of a service masks every secret option by its kind.
static void s_test_config_log(void)
{
    static const fc_option_t opts[] = {{"hook", FC_OPT_STR, "", 0, 0, FC_SECRET_WEBHOOK, "webhook"},
                                       {"token", FC_OPT_STR, "", 0, 0, FC_SECRET_VALUE, "token"},
                                       {"name", FC_OPT_STR, "", 0, 0, FC_SECRET_NONE, "name"},
                                       FC_OPT_END};
    const fc_option_t *tables[] = {fc_config_common, opts, NULL};
    fc_config_t *c = fc_config_new("t", "test", tables);
    char *argv[] = {"t",
                    "--pg-url",
                    "postgresql://fc:pgs3cret@db/x?password=qs3cret",
                    "--redis-url",
                    "redis://:rs3cret@r:6379/0",
                    "--hook",
                    "https://hooks.slack.com/services/T0/B0/hs3cret",
                    "--token",
                    "ts3cret",
                    "--name",
                    "a\x1b[2Jb"};
    FC_CHECK_INT(fc_config_parse(c, 11, argv), 0);
    //  Capture stderr in a file and read the line back.
    char path[] = "/tmp/test_fc_escape_XXXXXX";
    int fd = mkstemp(path);
    FC_CHECK(fd >= 0);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fc_config_log(c, "t");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char line[4096] = "";
    ssize_t n = pread(fd, line, sizeof line - 1, 0);
    FC_CHECK(n > 0);
    line[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(path);
    FC_CHECK(strstr(line, "s3cret") == NULL);
    FC_CHECK(strstr(line, "pg-url=postgresql://fc:***@db/x?password=***") != NULL);
    FC_CHECK(strstr(line, "redis-url=redis://:***@r:6379/0") != NULL);
    FC_CHECK(strstr(line, "hook=https://hooks.slack.com/***") != NULL);
    FC_CHECK(strstr(line, "token=***") != NULL);
    FC_CHECK(strstr(line, "name=a\\x1b[2Jb") != NULL);
    FC_CHECK(strchr(line, 0x1b) == NULL);
    fc_config_destroy(&c);
}

int main(void)
{
    s_test_text();
    s_test_slack();
    s_test_json();
    s_test_html();
    s_test_csv();
    s_test_mask();
    s_test_config_log();
    return fc_test_done("test_fc_escape");
}
