/*  aggregator_keys: the Redis key names (see aggregator_keys.h). */
#include "aggregator_keys.h"

#include <stdio.h>

static const char *const s_part_suffix[AGGREGATOR_PARTS] = {"", ":agents", ":tasks", ":taskcost"};

void aggregator_key_period(char key[AGGREGATOR_KEY_MAX], const char *tenant, bool month,
                           const char *period, aggregator_part_t part)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:{%s}:%s:%s%s", tenant, month ? "month" : "day", period,
             s_part_suffix[part]);
}

void aggregator_keys_period_set(char keys[AGGREGATOR_PARTS][AGGREGATOR_KEY_MAX], const char *tenant,
                                bool month, const char *period)
{
    for (int p = 0; p < AGGREGATOR_PARTS; p++)
        aggregator_key_period(keys[p], tenant, month, period, (aggregator_part_t)p);
}

void aggregator_key_applied(char key[AGGREGATOR_KEY_MAX], const char *tenant)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:{%s}:applied", tenant);
}

void aggregator_key_rev(char key[AGGREGATOR_KEY_MAX], const char *tenant)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:{%s}:rev", tenant);
}

void aggregator_key_ready(char key[AGGREGATOR_KEY_MAX], const char *shard_tag)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:agg:%s:ready", shard_tag);
}

void aggregator_key_progress(char key[AGGREGATOR_KEY_MAX], const char *shard_tag)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:agg:%s:progress", shard_tag);
}

void aggregator_key_rebuilding(char key[AGGREGATOR_KEY_MAX], const char *shard_tag)
{
    snprintf(key, AGGREGATOR_KEY_MAX, "fc:agg:%s:rebuilding", shard_tag);
}
