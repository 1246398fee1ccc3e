/*  fc_signal: the handler only sets a flag and writes to a self-pipe. */
#include "fc_signal.h"

#include <czmq.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int s_signals;
static int s_pipe[2] = {-1, -1};

static void s_handler(int sig)
{
    if (atomic_fetch_add(&s_signals, 1) >= 1)
        _exit(128 + sig); //  second signal: the operator wants out now
    if (s_pipe[1] >= 0) {
        char c = 1;
        ssize_t rc = write(s_pipe[1], &c, 1);
        (void)rc;
    }
}

void fc_signal_install(void)
{
    //  czmq installs its own SIGINT/SIGTERM handlers when it starts; ours decide.
    zsys_handler_set(NULL);
    if (s_pipe[0] < 0 && pipe(s_pipe) == 0) {
        fcntl(s_pipe[0], F_SETFL, O_NONBLOCK);
        fcntl(s_pipe[1], F_SETFL, O_NONBLOCK);
        fcntl(s_pipe[0], F_SETFD, FD_CLOEXEC);
        fcntl(s_pipe[1], F_SETFD, FD_CLOEXEC);
    }
    struct sigaction sa = {0};
    sa.sa_handler = s_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool fc_signal_stopping(void)
{
    return atomic_load(&s_signals) > 0;
}

int fc_signal_fd(void)
{
    return s_pipe[0];
}
