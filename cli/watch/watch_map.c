/*  watch_map: glob -> tenant, agent type (see watch_map.h). */
#include "watch_map.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_proto.h"

typedef struct {
    char *glob, *tenant, *agent_type;
} s_rule_t;

struct _watch_map_t {
    s_rule_t *rules;
    size_t count;
};

void watch_map_destroy(watch_map_t **self_p)
{
    watch_map_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->count; i++) {
        free(self->rules[i].glob);
        free(self->rules[i].tenant);
        free(self->rules[i].agent_type);
    }
    free(self->rules);
    free(self);
    *self_p = NULL;
}

watch_map_t *watch_map_load(const char *path, char *err, size_t errsize)
{
    FILE *in = fopen(path, "r");
    if (!in) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        return NULL;
    }
    watch_map_t *self = calloc(1, sizeof *self);
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    bool ok = self != NULL;
    while (ok && getline(&line, &cap, in) > 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *save = NULL;
        char *glob = strtok_r(line, " \t\r\n", &save);
        if (!glob)
            continue;
        char *tenant = strtok_r(NULL, " \t\r\n", &save);
        char *type = strtok_r(NULL, " \t\r\n", &save);
        char *extra = strtok_r(NULL, " \t\r\n", &save);
        if (!tenant || extra || !fc_tenant_valid(tenant) || (type && strlen(type) > FC_MAX_NAME) ||
            self->count >= WATCH_MAP_MAX_RULES) {
            snprintf(err, errsize,
                     "%s:%zu: expected `<glob> <tenant> [<agent type>]` with a valid tenant "
                     "id (at most %d rules)",
                     path, lineno, WATCH_MAP_MAX_RULES);
            ok = false;
            break;
        }
        s_rule_t *grown = realloc(self->rules, (self->count + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errsize, "out of memory");
            ok = false;
            break;
        }
        self->rules = grown;
        s_rule_t *r = &self->rules[self->count++];
        r->glob = strdup(glob);
        r->tenant = strdup(tenant);
        r->agent_type = type && strcmp(type, "-") != 0 ? strdup(type) : NULL;
        ok = r->glob && r->tenant;
    }
    free(line);
    fclose(in);
    if (!ok)
        watch_map_destroy(&self);
    return self;
}

bool watch_map_match(watch_map_t *self, const char *path, const char *cwd, const char **tenant,
                     const char **agent_type)
{
    for (size_t i = 0; self && i < self->count; i++) {
        s_rule_t *r = &self->rules[i];
        if ((path && fnmatch(r->glob, path, 0) == 0) ||
            (cwd && *cwd && fnmatch(r->glob, cwd, 0) == 0)) {
            *tenant = r->tenant;
            *agent_type = r->agent_type;
            return true;
        }
    }
    return false;
}
