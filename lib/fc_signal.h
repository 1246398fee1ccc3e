/*  fc_signal: SIGTERM/SIGINT set a flag; a second signal exits at once; an optional
    deadline ends a stop that does not finish.

    The signals are blocked in every thread and taken by one thread of fc_signal's own
    (sigwaitinfo). A handler would run on whichever thread the kernel picks, and every
    blocking call on that thread would return EINTR: a czmq actor (zauth, ingest's
    writers) takes a failed receive for "terminate" and quits on its own, so the
    process stops half-way. With the signals blocked nothing but that thread sees them,
    and the stop is driven from the main loop (fc_signal_fd) only. */
#ifndef FC_SIGNAL_H
#define FC_SIGNAL_H

#include <stdbool.h>

//  The exit status when the stop deadline passes (fc_signal_deadline).
#define FC_SIGNAL_EXIT_STUCK 3

//  Blocks SIGTERM and SIGINT, starts the signal thread and ignores SIGPIPE. Call once,
//  before starting threads (they inherit the mask; a thread started earlier could
//  still be interrupted). Child processes would inherit the mask too: none is started.
void fc_signal_install(void);

//  True once SIGTERM or SIGINT has arrived.
bool fc_signal_stopping(void);

//  File descriptor that becomes readable when a stop signal arrives (for pollers).
int fc_signal_fd(void);

//  After the first signal, if the process is still running ms later, the signal thread
//  logs the stage (fc_signal_stage) and exits with FC_SIGNAL_EXIT_STUCK: the backstop
//  that bounds every stop, whatever is stuck. 0: no deadline. Set it before the signal.
void fc_signal_deadline(int ms);

//  Names what the process is doing (a string literal), for that log line.
void fc_signal_stage(const char *stage);

#endif
