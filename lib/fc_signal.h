/*  fc_signal: SIGTERM/SIGINT set a flag; a second signal exits at once. */
#ifndef FC_SIGNAL_H
#define FC_SIGNAL_H

#include <stdbool.h>

//  Install the handlers (and ignore SIGPIPE). Call once, before starting threads.
void fc_signal_install(void);

//  True once SIGTERM or SIGINT has arrived.
bool fc_signal_stopping(void);

//  File descriptor that becomes readable when a stop signal arrives (for pollers).
int fc_signal_fd(void);

#endif
