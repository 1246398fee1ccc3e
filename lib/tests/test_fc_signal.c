/*  fc_signal (issue 23): a SIGTERM raises the flag and wakes the poller without
    interrupting any other thread (a czmq actor blocked in a receive stays there: it used
    to take the EINTR for "terminate" and quit), a second signal exits at once, and the
    stop deadline ends a stop that does not finish, with status 3. */
#include <czmq.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fc_log.h"
#include "fc_signal.h"
#include "fc_test.h"

//  An actor that counts what its pipe receives, and says why it stopped.
static void s_actor(zsock_t *pipe, void *arg)
{
    int *how = arg;
    zsock_signal(pipe, 0);
    while (true) {
        char *cmd = zstr_recv(pipe);
        if (!cmd) { //  interrupted (EINTR) or terminated
            *how = 1;
            return;
        }
        bool term = streq(cmd, "$TERM");
        zstr_free(&cmd);
        if (term) {
            *how = 2;
            return;
        }
    }
}

//  In a child process: install, set a deadline, signal ourselves, then hang (or, with
//  twice, signal again). Returns the child's wait status.
static int s_child(int deadline_ms, bool twice)
{
    pid_t pid = fork();
    if (pid == 0) {
        fc_log_set_level(FC_LOG_ERROR);
        fc_signal_install();
        fc_signal_deadline(deadline_ms);
        fc_signal_stage("test: hanging on purpose");
        kill(getpid(), SIGTERM);
        if (twice) {
            while (!fc_signal_stopping())
                usleep(1000);
            kill(getpid(), SIGTERM);
        }
        for (int i = 0; i < 100; i++) //  10 s: the parent's wait fails if nothing ends us
            usleep(100 * 1000);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

int main(void)
{
    fc_log_set_level(FC_LOG_ERROR);
    //  Children first: fork before this process has threads.
    int64_t t0 = zclock_mono();
    int status = s_child(300, false);
    int64_t took = zclock_mono() - t0;
    FC_CHECK(WIFEXITED(status));
    FC_CHECK_INT(WEXITSTATUS(status), FC_SIGNAL_EXIT_STUCK);
    FC_CHECK(took >= 300 && took < 5000);
    status = s_child(0, true);
    FC_CHECK(WIFEXITED(status));
    FC_CHECK_INT(WEXITSTATUS(status), 128 + SIGTERM);

    fc_signal_install();
    FC_CHECK(!fc_signal_stopping());
    int how = 0;
    zactor_t *actor = zactor_new(s_actor, &how);
    FC_CHECK(actor != NULL);
    //  Process-directed, like `kill`: the kernel may pick any thread that does not
    //  block it; only the signal thread takes it.
    kill(getpid(), SIGTERM);
    struct pollfd p = {fc_signal_fd(), POLLIN, 0};
    FC_CHECK_INT(poll(&p, 1, 5000), 1);
    FC_CHECK(fc_signal_stopping());
    zclock_sleep(100);
    FC_CHECK_INT(how, 0); //  the actor is still waiting for its command
    zactor_destroy(&actor);
    FC_CHECK_INT(how, 2); //  and ends on $TERM only
    return fc_test_done("test_fc_signal");
}
