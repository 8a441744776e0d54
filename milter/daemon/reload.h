/*
 * reload.h - configuration reload on SIGHUP or SIGUSR1.
 *
 * One thread waits for SIGHUP and SIGUSR1.  main() must block both before
 * any thread exists (every thread inherits the mask, so only the sigwait
 * takes it).  A reload parses the file into a new snapshot; on success it
 * is swapped into the daemon (connections keep the snapshot they started
 * with), lists and files (IgnoreHosts files, the PSL) are read again by the
 * load, and keys that only take effect at start-up get a warning.  On
 * failure every problem is logged as "file:line: ..." and the old
 * snapshot stays.
 */
#ifndef AM_RELOAD_H
#define AM_RELOAD_H

#include <stddef.h>

struct am_daemon;
struct am_config;

/* start the SIGHUP/SIGUSR1 thread for the config file path (borrowed for good) */
int	am_reload_start(struct am_daemon *, const char *path, char *err,
	    size_t errlen);
/* stop and join it; a no-op when it was never started */
void	am_reload_stop(void);

/* one reload now (the thread's body; also for tests).  0, or -1 if kept */
int	am_reload_now(struct am_daemon *, const char *path);

/*
 * Names of the start-up-only keys whose values differ between two
 * snapshots, as "Key, Key" into out (empty when none).  Returns the count.
 */
int	am_reload_restart_keys(const struct am_config *old,
	    const struct am_config *new, char *out, size_t outlen);

#endif /* AM_RELOAD_H */
