/*  cli_http: HTTP client of the API workers (see cli_http.h). */
#include "cli_http.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fc_buf.h"
#include "fc_log.h"
#include "fc_signal.h"
#include "fc_time.h"

struct _cli_http_t {
    const char *module;
    CURL *curl;
    fc_buf_t body;
    size_t max_body;
    bool too_big; //  the last answer was cut off at max_body
    long timeout_ms;
    cli_http_limits_t limits;
};

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    cli_http_t *self = arg;
    if (self->body.len + size * n > self->max_body) {
        self->too_big = true;
        return 0; //  curl fails the transfer
    }
    fc_buf_add(&self->body, data, size * n);
    return size * n;
}

//  The value of header line h if its name is name (case-insensitive), else NULL.
static const char *s_value(const char *h, const char *name)
{
    size_t n = strlen(name);
    if (strncasecmp(h, name, n) != 0 || h[n] != ':')
        return NULL;
    h += n + 1;
    while (*h == ' ' || *h == '\t')
        h++;
    return h;
}

static size_t s_header(char *line, size_t size, size_t n, void *arg)
{
    cli_http_t *self = arg;
    size_t len = size * n;
    char h[160];
    snprintf(h, sizeof h, "%.*s", (int)(len < sizeof h - 1 ? len : sizeof h - 1), line);
    h[strcspn(h, "\r\n")] = 0;
    const char *v;
    int64_t us;
    if ((v = s_value(h, "x-ratelimit-remaining")))
        self->limits.remaining = strtol(v, NULL, 10);
    else if ((v = s_value(h, "x-ratelimit-reset")))
        self->limits.reset_s = strtoll(v, NULL, 10);
    else if ((v = s_value(h, "retry-after")))
        //  Only the delay form; an HTTP date is treated as absent (backoff instead).
        self->limits.retry_after_s = *v >= '0' && *v <= '9' ? strtol(v, NULL, 10) : -1;
    else if ((v = s_value(h, "anthropic-ratelimit-requests-reset")) && fc_time_parse(v, &us) == 0)
        self->limits.reset_s = us / 1000000;
    return len;
}

cli_http_t *cli_http_new(const char *module, size_t max_body, long timeout_ms)
{
    cli_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->module = module;
    self->max_body = max_body;
    self->timeout_ms = timeout_ms;
    fc_buf_init(&self->body);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    self->curl = curl_easy_init();
    if (!self->curl)
        cli_http_destroy(&self);
    return self;
}

void cli_http_destroy(cli_http_t **self_p)
{
    cli_http_t *self = *self_p;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    curl_global_cleanup();
    fc_buf_free(&self->body);
    free(self);
    *self_p = NULL;
}

long cli_http_request(cli_http_t *self, const char *method, const char *url,
                      const char *const *headers, const char *body, const char *log_what)
{
    fc_buf_reset(&self->body);
    self->too_big = false;
    self->limits = (cli_http_limits_t){.remaining = -1, .retry_after_s = -1, .reset_s = 0};
    struct curl_slist *hdr = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hdr = curl_slist_append(hdr, headers[i]);
    CURL *c = self->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, self);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, self);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, self->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (body) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    CURLcode rc = curl_easy_perform(c);
    //  The list holds copies of the caller's lines, credentials included: wipe them.
    for (struct curl_slist *h = hdr; h; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(hdr);
    fc_buf_add(&self->body, "", 1); //  NUL-terminate, not counted
    if (self->body.len)
        self->body.len--;
    long status = -1;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    else if (self->too_big) {
        fc_warn(self->module, "%s %s: answer over %zu bytes: refused", method, log_what,
                self->max_body);
        status = CLI_HTTP_TOO_BIG;
    } else
        fc_warn(self->module, "%s %s: %s", method, log_what, curl_easy_strerror(rc));
    return status;
}

const char *cli_http_body(cli_http_t *self, size_t *len)
{
    if (len)
        *len = self->body.failed ? 0 : self->body.len;
    return self->body.data && !self->body.failed ? (const char *)self->body.data : "";
}

const cli_http_limits_t *cli_http_limits(cli_http_t *self)
{
    return &self->limits;
}

long cli_http_wait_s(const cli_http_t *self, int64_t now_s, long fallback_s, long max_s)
{
    long wait = fallback_s;
    if (self->limits.retry_after_s >= 0)
        wait = self->limits.retry_after_s;
    else if (self->limits.reset_s > now_s)
        wait = (long)(self->limits.reset_s - now_s) + 1;
    if (wait < 1)
        wait = 1;
    return wait > max_s ? max_s : wait;
}

int64_t cli_http_pause(long seconds)
{
    int64_t t0 = fc_time_mono_ms();
    for (long i = 0; i < seconds * 10 && !fc_signal_stopping(); i++)
        usleep(100000);
    return fc_time_mono_ms() - t0;
}
