/*  aggregator_map: fc_strmap's keys and an entry array indexed alike. */
#include "aggregator_map.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fc_money.h"
#include "fc_strmap.h"

struct _aggregator_map_t {
    fc_strmap_t *keys;
    aggregator_entry_t *entries; //  key points into keys
    size_t cap;
};

aggregator_map_t *aggregator_map_new(void)
{
    aggregator_map_t *self = calloc(1, sizeof *self);
    if (self && !(self->keys = fc_strmap_new())) {
        free(self);
        return NULL;
    }
    return self;
}

void aggregator_map_clear(aggregator_map_t *self)
{
    fc_strmap_clear(self->keys);
}

void aggregator_map_destroy(aggregator_map_t **self_p)
{
    assert(self_p);
    aggregator_map_t *self = *self_p;
    if (!self)
        return;
    fc_strmap_destroy(&self->keys);
    free(self->entries);
    free(self);
    *self_p = NULL;
}

int aggregator_map_add(aggregator_map_t *self, const char *key, int64_t delta)
{
    size_t len = strlen(key), n = fc_strmap_size(self->keys);
    long at = fc_strmap_find(self->keys, key, len);
    if (at >= 0) {
        aggregator_entry_t *e = &self->entries[at];
        return fc_money_add(e->value, delta, &e->value) != 0 ? -1 : 0;
    }
    if (n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 32;
        aggregator_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
        if (!entries)
            return -1;
        self->entries = entries;
        self->cap = cap;
    }
    size_t index;
    if (fc_strmap_intern(self->keys, key, len, &index) != 1)
        return -1;
    self->entries[index] =
        (aggregator_entry_t){(char *)fc_strmap_key(self->keys, index, NULL), delta};
    return 0;
}

size_t aggregator_map_size(const aggregator_map_t *self)
{
    return fc_strmap_size(self->keys);
}

const aggregator_entry_t *aggregator_map_at(const aggregator_map_t *self, size_t index)
{
    return index < fc_strmap_size(self->keys) ? &self->entries[index] : NULL;
}
