/*  aggregator_map: open addressing over an insertion-ordered entry array. */
#include "aggregator_map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fc_money.h"

struct _aggregator_map_t {
    aggregator_entry_t *entries;
    size_t count, cap;
    uint32_t *slots; //  entry index + 1; 0 = empty
    size_t slot_cap; //  power of two, > 2 * cap
};

aggregator_map_t *aggregator_map_new(void)
{
    return calloc(1, sizeof(aggregator_map_t));
}

void aggregator_map_clear(aggregator_map_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->entries[i].key);
    self->count = 0;
    if (self->slots)
        memset(self->slots, 0, self->slot_cap * sizeof *self->slots);
}

void aggregator_map_destroy(aggregator_map_t **self_p)
{
    assert(self_p);
    aggregator_map_t *self = *self_p;
    if (!self)
        return;
    aggregator_map_clear(self);
    free(self->entries);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int s_grow(aggregator_map_t *self)
{
    size_t cap = self->cap ? self->cap * 2 : 32;
    aggregator_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
    if (!entries)
        return -1;
    self->entries = entries;
    self->cap = cap;
    uint32_t *slots = calloc(cap * 4, sizeof *slots);
    if (!slots)
        return -1;
    free(self->slots);
    self->slots = slots;
    self->slot_cap = cap * 4;
    for (size_t i = 0; i < self->count; i++) {
        size_t s = s_hash(self->entries[i].key) & (self->slot_cap - 1);
        while (self->slots[s])
            s = (s + 1) & (self->slot_cap - 1);
        self->slots[s] = (uint32_t)i + 1;
    }
    return 0;
}

int aggregator_map_add(aggregator_map_t *self, const char *key, int64_t delta)
{
    if (self->count == self->cap && s_grow(self) != 0)
        return -1;
    size_t s = s_hash(key) & (self->slot_cap - 1);
    while (self->slots[s]) {
        aggregator_entry_t *e = &self->entries[self->slots[s] - 1];
        if (strcmp(e->key, key) == 0) {
            int64_t sum;
            if (fc_money_add(e->value, delta, &sum) != 0)
                return -1;
            e->value = sum;
            return 0;
        }
        s = (s + 1) & (self->slot_cap - 1);
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    self->entries[self->count] = (aggregator_entry_t){copy, delta};
    self->slots[s] = (uint32_t)++self->count;
    return 0;
}

size_t aggregator_map_size(const aggregator_map_t *self)
{
    return self->count;
}

const aggregator_entry_t *aggregator_map_at(const aggregator_map_t *self, size_t index)
{
    return index < self->count ? &self->entries[index] : NULL;
}
