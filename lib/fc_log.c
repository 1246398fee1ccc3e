/*  fc_log: operator log lines on stderr. */
#include "fc_log.h"

#include "fc_escape.h"
#include "fc_time.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static fc_log_level_t s_level = FC_LOG_INFO;
static const char *s_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void fc_log_set_level(fc_log_level_t level)
{
    s_level = level;
}

void fc_log(fc_log_level_t level, const char *module, const char *fmt, ...)
{
    if (level > s_level)
        return;
    char now[FC_TIME_SIZE];
    fc_time_format(fc_time_now_us(), 3, now, sizeof now);
    //  Build the line first and write it once, so lines from threads do not interleave.
    char line[2048];
    int n = snprintf(line, sizeof line, "%s %s %s: ", now, module, s_names[level]);
    //  Messages carry tenant text (agent ids, paths, Postgres errors quoting values): a
    //  control character must not forge a second line or drive the operator's terminal.
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2 || m < 0)
        return;
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    fc_esc_text(msg, line + n, sizeof line - 1 - (size_t)n);
    n += (int)strlen(line + n);
    line[n++] = '\n';
    fwrite(line, 1, (size_t)n, stderr);
}
