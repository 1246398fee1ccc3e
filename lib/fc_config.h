/*  fc_config: one table of settings per program.

    Every setting has a default, an environment variable FLEETCOST_<NAME> (upper case,
    dashes become underscores) and a flag --<name>; flags win over the environment,
    the environment over the default. --help prints the table. */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fc_escape.h"

typedef enum { FC_OPT_STR, FC_OPT_INT, FC_OPT_BOOL } fc_opt_type_t;

typedef struct {
    const char *name; //  flag name without dashes, e.g. "pg-url"
    fc_opt_type_t type;
    const char *def;    //  default, as it would be written on the command line
    int64_t min, max;   //  bounds for FC_OPT_INT
    fc_secret_t secret; //  what fc_config_log masks (fc_mask)
    const char *help;
} fc_option_t;

//  Ends every option table.
#define FC_OPT_END                                                                                 \
    {                                                                                              \
        NULL, FC_OPT_STR, NULL, 0, 0, FC_SECRET_NONE, NULL                                         \
    }

//  Settings every service shares: pg-url, redis-url, redis-sentinels, redis-master-name,
//  verbose.
extern const fc_option_t fc_config_common[];

typedef struct _fc_config_t fc_config_t;

//  Create a configuration from a NULL-terminated list of option tables.
fc_config_t *fc_config_new(const char *program, const char *summary,
                           const fc_option_t *const *tables);

//  Destroy and NULL the pointer.
void fc_config_destroy(fc_config_t **self_p);

//  Apply defaults, environment and argv. Returns 0 on success, 1 if --help was
//  printed, -1 on an error (already reported on stderr). Non-option arguments are
//  kept and available through fc_config_argc/argv. Parsing stops at "--".
int fc_config_parse(fc_config_t *self, int argc, char **argv);

//  The start every command and service shares: creates the configuration from tables,
//  parses argv, checks the number of positional arguments against min_args..max_args
//  (max_args < 0: no limit) and says why when it is wrong, and turns on debug logging
//  when the tables have --verbose and it is set. Returns the configuration, or NULL with
//  *exit_code set: 0 after --help, 2 on a usage error, 1 when out of memory.
fc_config_t *fc_config_load(const char *program, const char *summary,
                            const fc_option_t *const *tables, int argc, char **argv, int min_args,
                            int max_args, int *exit_code);

//  Typed accessors; asking for a name not in the tables is a programming error.
const char *fc_config_str(fc_config_t *self, const char *name);
int64_t fc_config_int(fc_config_t *self, const char *name);
bool fc_config_bool(fc_config_t *self, const char *name);

//  Set a value as if given on the command line; returns -1 if invalid.
int fc_config_set(fc_config_t *self, const char *name, const char *value);

//  Positional arguments left after parsing.
int fc_config_argc(fc_config_t *self);
char **fc_config_argv(fc_config_t *self);

//  Log the effective configuration, one line, each secret option masked by fc_mask
//  according to its secret kind, every value escaped for a log line.
void fc_config_log(fc_config_t *self, const char *module);

//  Print the option table as --help text to stdout.
void fc_config_help(fc_config_t *self);

#endif
