/*  fc_signal: SIGTERM and SIGINT are blocked in every thread and taken by one thread of
    our own with sigwaitinfo, so no other thread is ever interrupted by them (see
    fc_signal.h for why that matters), and that thread also keeps the stop deadline. */
#include "fc_signal.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fc_log.h"

static atomic_int s_signals;
static atomic_int s_deadline_ms;      //  0: no deadline
static _Atomic(const char *) s_stage; //  what the process is doing while it stops
static int s_pipe[2] = {-1, -1};
static sigset_t s_set;
static bool s_installed;

//  The second signal ends the process at once, whatever it is doing.
static void s_second(int sig)
{
    char line[160];
    const char *stage = atomic_load(&s_stage);
    int n = snprintf(line, sizeof line, "signal: second %s while stopping (%s): exiting now\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM", stage ? stage : "running");
    ssize_t rc = write(STDERR_FILENO, line, n > 0 ? (size_t)n : 0);
    (void)rc;
    _exit(128 + sig);
}

static void *s_thread(void *arg)
{
    (void)arg;
    //  First signal: raise the flag and wake the pollers.
    int sig;
    do
        sig = sigwaitinfo(&s_set, NULL);
    while (sig < 0);
    atomic_fetch_add(&s_signals, 1);
    if (s_pipe[1] >= 0) {
        char c = 1;
        ssize_t rc = write(s_pipe[1], &c, 1);
        (void)rc;
    }
    //  Then wait for a second signal, or for the deadline if one is set.
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int deadline_ms = atomic_load(&s_deadline_ms);
        if (deadline_ms <= 0) {
            int again = sigwaitinfo(&s_set, NULL);
            if (again > 0)
                s_second(again);
            continue;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left_ms = deadline_ms - ((now.tv_sec - start.tv_sec) * 1000 +
                                         (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left_ms <= 0)
            break;
        struct timespec wait = {left_ms / 1000, (left_ms % 1000) * 1000000};
        int again = sigtimedwait(&s_set, NULL, &wait);
        if (again > 0)
            s_second(again);
    }
    const char *stage = atomic_load(&s_stage);
    fc_error("signal",
             "shutdown did not finish within %d ms of the stop signal (stuck at: %s): exiting "
             "with status %d",
             atomic_load(&s_deadline_ms), stage ? stage : "running", FC_SIGNAL_EXIT_STUCK);
    _exit(FC_SIGNAL_EXIT_STUCK);
}

void fc_signal_install(void)
{
    if (s_installed)
        return;
    s_installed = true;
    //  czmq installs its own SIGINT/SIGTERM handlers when it starts; ours decide.
    zsys_handler_set(NULL);
    if (pipe(s_pipe) == 0) {
        for (int i = 0; i < 2; i++) {
            fcntl(s_pipe[i], F_SETFL, O_NONBLOCK);
            fcntl(s_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    signal(SIGPIPE, SIG_IGN);
    //  Blocked here, before any other thread starts, so every thread created later
    //  inherits the mask; only s_thread takes them.
    sigemptyset(&s_set);
    sigaddset(&s_set, SIGTERM);
    sigaddset(&s_set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s_set, NULL);
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&thread, &attr, s_thread, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        //  No thread: the signals keep their default action (the process ends at once).
        pthread_sigmask(SIG_UNBLOCK, &s_set, NULL);
        fc_error("signal", "cannot start the signal thread: %s", strerror(rc));
    }
}

bool fc_signal_stopping(void)
{
    return atomic_load(&s_signals) > 0;
}

int fc_signal_fd(void)
{
    return s_pipe[0];
}

void fc_signal_deadline(int ms)
{
    atomic_store(&s_deadline_ms, ms > 0 ? ms : 0);
}

void fc_signal_stage(const char *stage)
{
    atomic_store(&s_stage, stage);
}
