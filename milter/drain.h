/*
 * drain.h - a clean stop on SIGTERM, SIGINT or SIGHUP.
 *
 * Debian's libmilter runs connections in a worker pool: once smfi_stop()
 * (or libmilter's own signal thread) sets its stop flag, the pool stops
 * reading from connections that wait for their next command, so a message
 * in flight would never get its reply.  So authmilter handles the stop
 * signals itself and stops in this order:
 *   1. stop accepting: the listening socket is replaced (dup2) by a quiet
 *      one (abstract unix namespace, random name) and shut down, so new
 *      connections are refused while libmilter's listener keeps running;
 *      a unix socket file is removed;
 *   2. wait, at most a bound, until no message is between MAIL and the
 *      end of message (am_callbacks_busy);
 *   3. smfi_stop(): smfi_main() returns.
 * The stop signals are taken with sigwait() in the main thread (the thread
 * group leader, which Linux picks first for a process-directed signal when
 * it waits for it), while smfi_main() runs in a thread of its own.
 * main() only; not thread-safe.
 */
#ifndef AM_DRAIN_H
#define AM_DRAIN_H

/* around smfi_opensocket(): note the listening descriptors before and find
 * the one it made after; -1 from attach if none was found */
void	am_drain_before_listen(void);
int	am_drain_attach(void);

/*
 * Run smfi_main() in a thread and wait in this one for SIGTERM, SIGINT or
 * SIGHUP (blocked in every thread beforehand), then stop as above, giving
 * messages in progress up to drain_secs.  unix_path: the socket file to
 * remove, or NULL.  Returns smfi_main()'s result (MI_SUCCESS/MI_FAILURE).
 */
int	am_drain_run(unsigned int drain_secs, const char *unix_path);

#endif /* AM_DRAIN_H */
