/*  fuzz_otlp_logs: libFuzzer target for the OTLP/HTTP JSON logs decoder (otlp_logs_map),
    the first code that reads what an OTLP sender posts.

    Each input is mapped three ways: for a tenant's token ("acme"), for an operator
    token with a default tenant, and for an operator token without one. Besides the
    sanitizers, it aborts when the decoder breaks its promises: an emitted event that
    does not validate, an event for a tenant's token that names another tenant, counts
    that do not add up, or a message that is not NUL-terminated within its buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otlp_logs.h"

typedef struct {
    const char *must_tenant; //  every event must be this tenant's, when set
    int events;
} s_sink_t;

static int s_emit(void *arg, fc_event_t *ev, fc_proto_error_t *err)
{
    s_sink_t *s = arg;
    fc_proto_error_t check;
    if (fc_event_validate(ev, &check) != FC_OK || !ev->tenant[0] ||
        (s->must_tenant && strcmp(ev->tenant, s->must_tenant) != 0))
        abort();
    s->events++;
    //  Every third event is refused, so the rejection paths are fuzzed too.
    if (s->events % 3 == 0) {
        err->code = FC_E_RANGE;
        snprintf(err->field, sizeof err->field, "fuzz");
        snprintf(err->reason, sizeof err->reason, "refused by the fuzzer");
        return -1;
    }
    return 0;
}

static void s_map(const char *body, size_t len, const char *token_tenant, const char *def)
{
    s_sink_t sink = {token_tenant && *token_tenant ? token_tenant : NULL, 0};
    otlp_result_t res;
    otlp_status_t st = otlp_logs_map(body, len, token_tenant, def, s_emit, &sink, &res);
    if (memchr(res.message, 0, sizeof res.message) == NULL)
        abort();
    if (st == OTLP_MALFORMED && sink.events != 0)
        abort(); //  a malformed request emits nothing
    if (st == OTLP_OK && (res.events < 0 || res.rejected < 0 || res.foreign > res.rejected ||
                          res.events + res.rejected + res.ignored > res.records))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    //  A copy of exactly size bytes, so reading past the end is caught by ASan.
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    s_map(body, size, "acme", "beta");
    s_map(body, size, NULL, "beta");
    s_map(body, size, "", NULL);
    free(body);
    return 0;
}
