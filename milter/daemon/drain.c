/*
 * drain.c - the engine from start to a clean stop.  See drain.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "daemon/callbacks.h"
#include "daemon/drain.h"
#include "server/engine.h"
#include "common/log.h"

#define AM_DRAIN_CLOSE_MS	2000	/* for workers after the connections close */

/* process-wide state: see daemon/daemon.h */
static pthread_t	 main_thread;

/* wake_main - the engine failed: end the sigwait below */
static void
wake_main(void *arg)
{
	(void)arg;
	pthread_kill(main_thread, SIGTERM);	/* blocked: taken by sigwait */
}

/* wait_idle - until no message is in progress, at most secs */
static void
wait_idle(unsigned int secs)
{
	unsigned int	 i;

	/* commands the MTA sent without waiting (NR steps) may be unread */
	usleep(200000);
	for (i = 0; i < secs * 10 && am_callbacks_busy() > 0; i++)
		usleep(100000);
	if (am_callbacks_busy() > 0)
		am_log_warn(NULL, "exiting with %d messages in progress",
		    am_callbacks_busy());
}

/* am_drain_run - see drain.h */
int
am_drain_run(struct am_engine *e, unsigned int drain_secs, int *busy_workers)
{
	sigset_t	 set;
	char		 err[256];
	int		 sig = 0;

	main_thread = pthread_self();
	am_engine_set_notify(e, wake_main, NULL);
	if (am_engine_start(e, err, sizeof(err)) == -1) {
		am_log_err(NULL, "%s", err);
		*busy_workers = 0;
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	while (sigwait(&set, &sig) != 0)
		continue;
	if (!am_engine_failed(e)) {
		am_log_info(NULL, "%s: no new connections; waiting up to %u s "
		    "for %d message%s in progress", strsignal(sig), drain_secs,
		    am_callbacks_busy(), am_callbacks_busy() == 1 ? "" : "s");
		am_engine_stop_accepting(e);
		wait_idle(drain_secs);
	}
	*busy_workers = am_engine_stop(e, AM_DRAIN_CLOSE_MS);
	if (*busy_workers > 0)
		am_log_warn(NULL, "%d connection%s still busy at exit",
		    *busy_workers, *busy_workers == 1 ? "" : "s");
	return am_engine_failed(e) ? -1 : 0;
}
