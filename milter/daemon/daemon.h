/*
 * daemon.h - the only process-wide state: the current config snapshot, the
 * resolver and the DKIM library handle.
 *
 * Made once in main() before the engine starts threads.  The config pointer
 * is swapped under a mutex (am_daemon_swap_config, for reload); every
 * connection takes its own reference with am_daemon_config and keeps that
 * snapshot until it closes.  env is read-only after start-up.
 */
#ifndef AM_DAEMON_H
#define AM_DAEMON_H

#include <pthread.h>

#include "config/config.h"
#include "message/session.h"

struct am_daemon {
	pthread_mutex_t		 lock;		/* guards cfg */
	struct am_config	*cfg;		/* one reference held */
	struct am_env		 env;		/* resolver, DKIM library */
};

/*
 * Create the resolver and DKIM library for cfg (takes a reference).
 * Returns 0, or -1 with a message in err.
 */
int	am_daemon_init(struct am_daemon *, struct am_config *cfg, char *err, size_t errlen);
void	am_daemon_clear(struct am_daemon *);

/* a new reference on the current snapshot; the caller unrefs it */
struct am_config *am_daemon_config(struct am_daemon *);

/* install a new snapshot (takes the caller's reference); the old one is unref'd */
void	am_daemon_swap_config(struct am_daemon *, struct am_config *);

#endif /* AM_DAEMON_H */
