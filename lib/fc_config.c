/*  fc_config: settings from defaults, FLEETCOST_* environment and --flags. */
#include "fc_config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc_log.h"

#define FC_CONFIG_MAX_OPTIONS 128

const fc_option_t fc_config_common[] = {
    {"pg-url", FC_OPT_STR, "postgresql://fleetcost@127.0.0.1:5432/fleetcost", 0, 0, FC_SECRET_URL,
     "PostgreSQL conninfo or URI"},
    {"redis-url", FC_OPT_STR, "redis://127.0.0.1:6379/0", 0, 0, FC_SECRET_URL, "Redis URL"},
    {"redis-sentinels", FC_OPT_STR, "", 0, 0, FC_SECRET_NONE,
     "Redis Sentinel host:port list: find the master through them (redis-url then gives "
     "only the password and db)"},
    {"redis-master-name", FC_OPT_STR, "fleetcost", 0, 0, FC_SECRET_NONE,
     "the master's name in the sentinels' configuration"},
    {"verbose", FC_OPT_BOOL, "false", 0, 0, false, "log debug lines"},
    FC_OPT_END};

typedef struct {
    const fc_option_t *opt;
    char *value;
    const char *source; //  "default", "env" or "flag"
} s_entry_t;

struct _fc_config_t {
    char *program;
    char *summary;
    s_entry_t entries[FC_CONFIG_MAX_OPTIONS];
    int count;
    int argc;
    char **argv;
};

fc_config_t *fc_config_new(const char *program, const char *summary,
                           const fc_option_t *const *tables)
{
    fc_config_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->program = strdup(program);
    self->summary = strdup(summary ? summary : "");
    for (int t = 0; tables[t]; t++)
        for (const fc_option_t *o = tables[t]; o->name; o++) {
            assert(self->count < FC_CONFIG_MAX_OPTIONS);
            self->entries[self->count].opt = o;
            self->entries[self->count].value = o->def ? strdup(o->def) : strdup("");
            self->entries[self->count].source = "default";
            self->count++;
        }
    return self;
}

void fc_config_destroy(fc_config_t **self_p)
{
    assert(self_p);
    fc_config_t *self = *self_p;
    if (!self)
        return;
    for (int i = 0; i < self->count; i++)
        free(self->entries[i].value);
    free(self->argv);
    free(self->program);
    free(self->summary);
    free(self);
    *self_p = NULL;
}

static s_entry_t *s_find(fc_config_t *self, const char *name, size_t len)
{
    for (int i = 0; i < self->count; i++)
        if (strlen(self->entries[i].opt->name) == len &&
            memcmp(self->entries[i].opt->name, name, len) == 0)
            return &self->entries[i];
    return NULL;
}

//  Checks a value against its option's type and bounds; NULL if fine, else why not.
static const char *s_check(const fc_option_t *opt, const char *value)
{
    if (opt->type == FC_OPT_INT) {
        errno = 0;
        char *end;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end)
            return "is not an integer";
        if (v < opt->min || v > opt->max)
            return "is out of range";
    } else if (opt->type == FC_OPT_BOOL) {
        if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") &&
            strcmp(value, "0") && strcmp(value, "yes") && strcmp(value, "no") &&
            strcmp(value, "on") && strcmp(value, "off"))
            return "is not a boolean (true/false)";
    }
    return NULL;
}

static int s_assign(s_entry_t *e, const char *value, const char *source)
{
    const char *why = s_check(e->opt, value);
    if (why) {
        if (e->opt->type == FC_OPT_INT)
            fprintf(stderr, "fleetcost: --%s '%s' %s (allowed %lld..%lld)\n", e->opt->name, value,
                    why, (long long)e->opt->min, (long long)e->opt->max);
        else
            fprintf(stderr, "fleetcost: --%s '%s' %s\n", e->opt->name, value, why);
        return -1;
    }
    char *copy = strdup(value);
    if (!copy)
        return -1;
    free(e->value);
    e->value = copy;
    e->source = source;
    return 0;
}

int fc_config_set(fc_config_t *self, const char *name, const char *value)
{
    s_entry_t *e = s_find(self, name, strlen(name));
    assert(e);
    return s_assign(e, value, "flag");
}

//  The environment variable of an option: FLEETCOST_ + upper-cased name, '-' to '_'.
static void s_env_name(const fc_option_t *opt, char *env, size_t size)
{
    size_t n = (size_t)snprintf(env, size, "FLEETCOST_");
    for (const char *c = opt->name; *c && n < size - 1; c++)
        env[n++] = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    env[n] = 0;
}

int fc_config_parse(fc_config_t *self, int argc, char **argv)
{
    //  Environment first, so flags override it.
    for (int i = 0; i < self->count; i++) {
        char env[160];
        s_env_name(self->entries[i].opt, env, sizeof env);
        const char *v = getenv(env);
        if (v && s_assign(&self->entries[i], v, "env"))
            return -1;
    }
    free(self->argv);
    self->argv = calloc((size_t)argc + 1, sizeof(char *));
    self->argc = 0;
    if (!self->argv)
        return -1;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] != '-' || a[2] == 0) {
            if (!options_done && strcmp(a, "--") == 0) {
                options_done = true;
                continue;
            }
            if (!options_done && (strcmp(a, "-h") == 0)) {
                fc_config_help(self);
                return 1;
            }
            self->argv[self->argc++] = a;
            continue;
        }
        a += 2;
        if (strcmp(a, "help") == 0) {
            fc_config_help(self);
            return 1;
        }
        char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        s_entry_t *e = s_find(self, a, len);
        bool negated = false;
        if (!e && !eq && len > 3 && memcmp(a, "no-", 3) == 0) {
            e = s_find(self, a + 3, len - 3);
            negated = e && e->opt->type == FC_OPT_BOOL;
            if (!negated)
                e = NULL;
        }
        if (!e) {
            fprintf(stderr, "%s: unknown option --%.*s (see --help)\n", self->program, (int)len, a);
            return -1;
        }
        const char *value;
        if (eq)
            value = eq + 1;
        else if (e->opt->type == FC_OPT_BOOL)
            value = negated ? "false" : "true";
        else if (i + 1 < argc)
            value = argv[++i];
        else {
            fprintf(stderr, "%s: --%s needs a value\n", self->program, e->opt->name);
            return -1;
        }
        if (s_assign(e, value, "flag"))
            return -1;
    }
    return 0;
}

static s_entry_t *s_get(fc_config_t *self, const char *name)
{
    s_entry_t *e = s_find(self, name, strlen(name));
    assert(e);
    return e;
}

const char *fc_config_str(fc_config_t *self, const char *name)
{
    return s_get(self, name)->value;
}

int64_t fc_config_int(fc_config_t *self, const char *name)
{
    s_entry_t *e = s_get(self, name);
    assert(e->opt->type == FC_OPT_INT);
    return strtoll(e->value, NULL, 10);
}

bool fc_config_bool(fc_config_t *self, const char *name)
{
    const char *v = s_get(self, name)->value;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0 ||
           strcmp(v, "on") == 0;
}

fc_config_t *fc_config_load(const char *program, const char *summary,
                            const fc_option_t *const *tables, int argc, char **argv, int min_args,
                            int max_args, int *exit_code)
{
    fc_config_t *self = fc_config_new(program, summary, tables);
    if (!self) {
        *exit_code = 1;
        return NULL;
    }
    int rc = fc_config_parse(self, argc, argv);
    if (rc != 0) {
        fc_config_destroy(&self);
        *exit_code = rc > 0 ? 0 : 2;
        return NULL;
    }
    if (max_args >= 0 && self->argc > max_args) {
        fc_error(program, "unexpected argument '%s' (see --help)", self->argv[max_args]);
        fc_config_destroy(&self);
        *exit_code = 2;
        return NULL;
    }
    if (self->argc < min_args) {
        fc_error(program, "missing argument (see --help)");
        fc_config_destroy(&self);
        *exit_code = 2;
        return NULL;
    }
    s_entry_t *verbose = s_find(self, "verbose", strlen("verbose"));
    if (verbose && fc_config_bool(self, "verbose"))
        fc_log_set_level(FC_LOG_DEBUG);
    *exit_code = 0;
    return self;
}

int fc_config_argc(fc_config_t *self)
{
    return self->argc;
}

char **fc_config_argv(fc_config_t *self)
{
    return self->argv;
}

void fc_config_log(fc_config_t *self, const char *module)
{
    char line[1800] = "";
    size_t n = 0;
    for (int i = 0; i < self->count && n < sizeof line; i++) {
        char shown[512];
        fc_mask(self->entries[i].value, self->entries[i].opt->secret, shown, sizeof shown);
        int w = snprintf(line + n, sizeof line - n, "%s%s=%s", i ? " " : "",
                         self->entries[i].opt->name, shown);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    fc_info(module, "config: %s", line);
}

void fc_config_help(fc_config_t *self)
{
    printf("%s - %s\n\noptions (flag, environment, default):\n", self->program, self->summary);
    for (int i = 0; i < self->count; i++) {
        const fc_option_t *o = self->entries[i].opt;
        char env[160];
        s_env_name(o, env, sizeof env);
        printf("  --%-22s %s\n  %-24s env %s, default '%s'", o->name, o->help, "", env,
               o->def ? o->def : "");
        if (o->type == FC_OPT_INT)
            printf(", %lld..%lld", (long long)o->min, (long long)o->max);
        printf("\n");
    }
}
