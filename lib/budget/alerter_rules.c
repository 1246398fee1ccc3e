/*  alerter_rules: alerting arithmetic (see alerter_rules.h). */
#include "alerter_rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_scopes[ALERTER_SCOPE_COUNT] = {"daily", "monthly", "agent_runaway",
                                                          "agent_type_daily"};

int alerter_scope_parse(const char *name)
{
    for (int i = 0; i < ALERTER_SCOPE_COUNT; i++)
        if (strcmp(name, s_scopes[i]) == 0)
            return i;
    return -1;
}

const char *alerter_scope_name(alerter_scope_t scope)
{
    return scope < ALERTER_SCOPE_COUNT ? s_scopes[scope] : "?";
}

bool alerter_reached(int64_t value_nusd, int64_t budget_nusd, int pct)
{
    if (budget_nusd <= 0)
        return false;
    return (__int128)value_nusd * 100 >= (__int128)budget_nusd * pct;
}

int64_t alerter_permille(int64_t value_nusd, int64_t budget_nusd)
{
    if (budget_nusd <= 0)
        return 0;
    __int128 p = (__int128)value_nusd * 1000 / budget_nusd;
    return p > INT64_MAX ? INT64_MAX : p < INT64_MIN ? INT64_MIN : (int64_t)p;
}

void alerter_percent_format(int64_t permille, char *buf, size_t size)
{
    const char *sign = permille < 0 ? "-" : "";
    uint64_t m = permille < 0 ? (uint64_t)0 - (uint64_t)permille : (uint64_t)permille;
    snprintf(buf, size, "%s%" PRIu64 ".%" PRIu64 "%%", sign, m / 10, m % 10);
}

int64_t alerter_budget_spend(const alerter_budget_t *b, int64_t list_nusd, int64_t billed_nusd)
{
    return b && b->list_basis ? list_nusd : billed_nusd;
}

const char *alerter_basis_name(const alerter_budget_t *b)
{
    return b && b->list_basis ? "list" : "billed";
}

int alerter_thresholds_parse(const char *text, int *out)
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        if (*p < '0' || *p > '9')
            return -1;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 1000 || n == ALERTER_MAX_THRESHOLDS ||
            (n > 0 && v <= out[n - 1]))
            return -1;
        out[n++] = (int)v;
        if (*end == ',' && end[1])
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return n > 0 ? n : -1;
}

int64_t alerter_duration_parse(const char *text)
{
    char *end;
    if (!text || *text < '0' || *text > '9')
        return -1;
    long long v = strtoll(text, &end, 10);
    long long unit = !*end || strcmp(end, "s") == 0 ? 1
                     : strcmp(end, "m") == 0        ? 60
                     : strcmp(end, "h") == 0        ? 3600
                     : strcmp(end, "d") == 0        ? 86400
                                                    : 0;
    if (!unit || v <= 0 || v > 31LL * 86400 / unit)
        return -1;
    return v * unit;
}

void alerter_duration_format(int64_t s, char *buf, size_t size)
{
    if (s > 0 && s % 86400 == 0)
        snprintf(buf, size, "%" PRId64 "d", s / 86400);
    else if (s > 0 && s % 3600 == 0)
        snprintf(buf, size, "%" PRId64 "h", s / 3600);
    else if (s > 0 && s % 60 == 0)
        snprintf(buf, size, "%" PRId64 "m", s / 60);
    else
        snprintf(buf, size, "%" PRId64 "s", s);
}

int alerter_forecast(int64_t mtd_nusd, int64_t month_start_us, int64_t month_end_us, int64_t now_us,
                     int64_t min_elapsed_us, int64_t min_spend_nusd, int64_t *projection_nusd)
{
    if (month_end_us <= month_start_us || now_us < month_start_us || mtd_nusd < 0)
        return -1;
    int64_t elapsed = (now_us < month_end_us ? now_us : month_end_us) - month_start_us;
    if (elapsed <= 0 || elapsed < min_elapsed_us || mtd_nusd < min_spend_nusd)
        return -1;
    __int128 p = (__int128)mtd_nusd * (month_end_us - month_start_us) / elapsed;
    *projection_nusd = p > INT64_MAX ? INT64_MAX : (int64_t)p;
    return 0;
}

const alerter_budget_t *alerter_budget_find(const alerter_budget_t *list, int n,
                                            alerter_scope_t scope, const char *subject)
{
    for (int i = 0; i < n; i++)
        if (list[i].scope == scope && strcmp(list[i].subject, subject) == 0)
            return &list[i];
    return NULL;
}
