/*
 * drain.h - run the milter engine until SIGTERM, SIGINT or SIGHUP, then
 * stop without cutting messages in flight:
 *   1. stop accepting (the unix socket file is removed): new connections
 *      are refused, so the MTA applies its milter default action to them;
 *   2. wait, at most a bound, until no message is between MAIL and the
 *      end of message (am_callbacks_busy);
 *   3. close the remaining (idle) connections and wait for the workers.
 * The stop signals are taken with sigwait() in the calling thread (main,
 * the thread group leader, which Linux picks first for a process-directed
 * signal when it waits for it); they must be blocked in every thread
 * beforehand.  main() only; not thread-safe.
 */
#ifndef AM_DRAIN_H
#define AM_DRAIN_H

struct am_engine;

/*
 * Start the engine and wait for a stop signal (or the engine's failure),
 * then stop as above, giving messages in progress up to drain_secs.
 * Returns 0 after a signal, -1 when the engine failed.  *busy_workers:
 * workers still inside a callback at the end (the daemon's state must
 * then not be freed).
 */
int	am_drain_run(struct am_engine *, unsigned int drain_secs,
	    int *busy_workers);

#endif /* AM_DRAIN_H */
