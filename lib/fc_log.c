/*  fc_log: operator log lines on stderr. */
#include "fc_log.h"

#include "fc_escape.h"

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
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    //  Build the line first and write it once, so lines from threads do not interleave.
    char line[2048];
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(tv.tv_usec / 1000), module, s_names[level]);
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
