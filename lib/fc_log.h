/*  fc_log: one line per event of note, to stderr, module name first. */
#ifndef FC_LOG_H
#define FC_LOG_H

#include <stdarg.h>

typedef enum {
    FC_LOG_ERROR = 0,
    FC_LOG_WARN = 1,
    FC_LOG_INFO = 2,
    FC_LOG_DEBUG = 3
} fc_log_level_t;

//  Set the most verbose level that is printed (default FC_LOG_INFO).
void fc_log_set_level(fc_log_level_t level);

//  Log one line: "<UTC time> <module> <level>: <message>".
void fc_log(fc_log_level_t level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define fc_error(mod, ...) fc_log(FC_LOG_ERROR, mod, __VA_ARGS__)
#define fc_warn(mod, ...)  fc_log(FC_LOG_WARN, mod, __VA_ARGS__)
#define fc_info(mod, ...)  fc_log(FC_LOG_INFO, mod, __VA_ARGS__)
#define fc_debug(mod, ...) fc_log(FC_LOG_DEBUG, mod, __VA_ARGS__)

#endif
