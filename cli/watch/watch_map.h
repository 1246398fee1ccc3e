/*  watch_map: attribution rules for `fleetcost watch --map FILE`.

    One rule a line: `<glob> <tenant> [<agent type>]`, fields separated by blanks,
    '#' starting a comment. The glob (fnmatch(3), '*' also matching '/') is tried
    against the transcript's path and against the session's working directory (cwd);
    the first rule that matches either wins. An agent type of "-" or none keeps the
    default (--agent-type). */
#ifndef WATCH_MAP_H
#define WATCH_MAP_H

#include <stdbool.h>
#include <stddef.h>

#define WATCH_MAP_MAX_RULES 10000

typedef struct _watch_map_t watch_map_t;

//  Reads a rules file. NULL with the reason (and line number) in err.
watch_map_t *watch_map_load(const char *path, char *err, size_t errsize);
void watch_map_destroy(watch_map_t **self_p);

//  The first rule matching path or cwd: sets *tenant and *agent_type (NULL when the
//  rule names none) and returns true; false if no rule matches.
bool watch_map_match(watch_map_t *self, const char *path, const char *cwd, const char **tenant,
                     const char **agent_type);

#endif
