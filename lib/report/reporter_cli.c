/*  reporter_cli: argument spelling and atomic output files for cron use. */
#include "reporter_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fc_config_t *reporter_cli_load(const char *program, const char *summary,
                               const fc_option_t *const *tables, int argc, char **argv,
                               int *exit_code)
{
    char **args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) {
        *exit_code = 1;
        return NULL;
    }
    for (int i = 0; i < argc; i++)
        args[i] = strcmp(argv[i], "-o") == 0 ? "--output" : argv[i];
    fc_config_t *config = fc_config_load(program, summary, tables, argc, args, 0, 0, exit_code);
    free(args);
    return config;
}

int reporter_cli_write(const char *path, const fc_buf_t *out)
{
    if (out->failed) {
        fprintf(stderr, "fleetcost: out of memory while rendering\n");
        return -1;
    }
    if (!path || !*path || strcmp(path, "-") == 0) {
        if (fc_write_all(1, out->data, out->len) != 0) {
            fprintf(stderr, "fleetcost: writing stdout: %s\n", strerror(errno));
            return -1;
        }
        return 0;
    }
    //  Anything that exists and is not a regular file (/dev/null, a FIFO, a terminal) is
    //  written in place: a rename would replace it with a file, and as root that turns
    //  /dev/null into a plain file for the whole machine.
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || fc_write_all(fd, out->data, out->len) != 0) {
            fprintf(stderr, "fleetcost: write %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        return 0;
    }
    //  A cron job's reader never sees a half-written report: write beside it, then rename.
    char tmp[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof tmp) {
        fprintf(stderr, "fleetcost: output path too long\n");
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "fleetcost: create %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    if (fc_write_all(fd, out->data, out->len) != 0 || fsync(fd) != 0) {
        fprintf(stderr, "fleetcost: write %s: %s\n", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "fleetcost: rename to %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
