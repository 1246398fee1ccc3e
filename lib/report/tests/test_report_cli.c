/*  test_report_cli: where `-o FILE` puts a report. A regular file is replaced whole (write
    beside, rename); anything else that exists (a FIFO here, /dev/null in real use) is
    written in place and stays what it was. Renaming over /dev/null as root once turned it
    into a plain file for the whole machine. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fc_test.h"
#include "reporter_cli.h"

static size_t s_slurp(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    size_t len = 0;
    ssize_t n;
    while (len < cap && (n = read(fd, buf + len, cap - len)) > 0)
        len += (size_t)n;
    close(fd);
    return len;
}

int main(void)
{
    char dir[] = "/tmp/test_report_cli.XXXXXX";
    FC_CHECK(mkdtemp(dir) != NULL);
    char file[512], fifo[512], got[256];
    snprintf(file, sizeof file, "%s/report.txt", dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);

    fc_buf_t out;
    fc_buf_init(&out);
    fc_buf_add_str(&out, "total 42\n");

    //  A regular file: created, then replaced whole by a shorter report.
    fc_buf_t old;
    fc_buf_init(&old);
    fc_buf_add_str(&old, "an older, longer report\n");
    FC_CHECK_INT(reporter_cli_write(file, &old), 0);
    fc_buf_free(&old);
    FC_CHECK_INT(reporter_cli_write(file, &out), 0);
    FC_CHECK_INT((int)s_slurp(file, got, sizeof got), 9);
    FC_CHECK(memcmp(got, "total 42\n", 9) == 0);
    struct stat st;
    FC_CHECK_INT(stat(file, &st), 0);
    FC_CHECK(S_ISREG(st.st_mode));

    //  A FIFO: a reader gets the bytes and the FIFO is still a FIFO afterwards.
    FC_CHECK_INT(mkfifo(fifo, 0600), 0);
    int fds[2];
    FC_CHECK_INT(pipe(fds), 0);
    pid_t child = fork();
    if (child == 0) {
        close(fds[0]);
        char b[256];
        size_t n = s_slurp(fifo, b, sizeof b);
        _exit(write(fds[1], b, n) == (ssize_t)n ? 0 : 1);
    }
    close(fds[1]);
    FC_CHECK_INT(reporter_cli_write(fifo, &out), 0);
    ssize_t n = read(fds[0], got, sizeof got);
    close(fds[0]);
    FC_CHECK_INT((int)n, 9);
    FC_CHECK(n == 9 && memcmp(got, "total 42\n", 9) == 0);
    int status = -1;
    FC_CHECK_INT(waitpid(child, &status, 0), child);
    FC_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    FC_CHECK_INT(stat(fifo, &st), 0);
    FC_CHECK(S_ISFIFO(st.st_mode));

    //  The temporary file beside a too-long path cannot be named: refused, not truncated.
    char *longp = malloc(5000);
    FC_CHECK(longp != NULL);
    memset(longp, 'a', 4999);
    longp[0] = '/';
    longp[4999] = '\0';
    FC_CHECK_INT(reporter_cli_write(longp, &out), -1);
    free(longp);

    unlink(file);
    unlink(fifo);
    rmdir(dir);
    fc_buf_free(&out);
    return fc_test_done("test_report_cli");
}
