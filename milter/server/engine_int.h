/*
 * engine_int.h - what engine.c (workers, watcher, life cycle), admit.c
 * (the cap, accept()'s back-off) and conn.c (one connection's protocol
 * loop) share: the two structs and the calls across the seam.  Private
 * to server/; the filter sees engine.h only.
 *
 * Locking: struct am_engine's fields from mu to the end are guarded by
 * it, except failed and bigbuf (atomic, like msgs); run_thread and
 * wake_sig are set by am_engine_run before the threads start, stuck after
 * they stopped; conn_cap, lfd and ep are set by am_engine_new (lfd is
 * closed only when no worker uses it: accepting).  A struct am_mctx belongs to
 * the worker serving it, except next/prev and evicted (the engine's list,
 * under mu), in_msg, nmsgs and idle_since (written by its worker, read by
 * the watcher: __atomic), and fd, which stop() or the watcher (closing
 * an idle connection at the cap) may shutdown() while the connection is
 * on that list.
 */
#ifndef AM_ENGINE_INT_H
#define AM_ENGINE_INT_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "server/engine.h"
#include "server/engine_ops.h"
#include "server/mproto.h"

#define AM_MCTX_STAGES	8	/* macro stages, "CHMRTNLE" (conn.c) */
#define ENGINE_THREADS_MAX	4096	/* workers, and connections open at once */

/* a problem logged once, then counted: one line per 10 s (admit.c) */
struct am_ratelog {
	long		 last_ms;	/* when the last line was written */
	unsigned long	 count;		/* since then, not logged */
};

struct am_mctx {
	const struct am_engine_ops *ops;	/* first: engine_ops.h */
	struct am_engine	*e;
	int			 fd;
	void			*priv;
	uint32_t		 actions, steps;
	int			 in_msg;	/* __atomic, see above */
	int			 nmsgs;		/* messages begun; __atomic */
	long			 idle_since;	/* ms (am_engine_now_ms) the worker
						   began waiting for the MTA, 0
						   while it works; __atomic */
	int			 evicted;	/* the watcher closed it (mu) */
	int			 negotiated;	/* OPTNEG done */
	int			 at_eom;	/* header changes allowed */
	enum am_mstat		 pending;	/* kept from a no-reply step */
	enum am_mstat		 body_st;	/* of the body packet's pieces */
	char			*symlist[AM_MPS_N];
	struct am_buf		 mac[AM_MCTX_STAGES];
	struct am_buf		 out;		/* replies not yet written */
	char			 reply[1024];	/* "code xcode text" or "" */
	char			 reply_code;	/* '4' or '5' */
	struct am_mctx		*next, *prev;	/* engine's list */
};

struct am_engine {
	const struct am_engine_ops *ops;	/* first: engine_ops.h */
	int			 lfd;
	int			 ep;		/* the workers' epoll set (engine.c) */
	int			 lfd_kept;	/* workers missed the stop: lfd is
						   left open (stop_accepting) */
	char			*unix_path;
	const struct am_milter	*cb;
	void			*udata;		/* am_mctx_udata() */
	int			 msgs;		/* connections in a message; __atomic */
	int			 stop_pipe[2];
	pthread_t		 watcher;
	int			 watcher_on;
	pthread_mutex_t		 mu;
	pthread_cond_t		 done_cv;	/* a worker exited, or left the
						   listening socket (accepting) */
	pthread_cond_t		 free_cv;	/* a worker finished a connection */
	pthread_cond_t		 spare_cv;	/* the watcher is needed */
	pthread_cond_t		 slot_cv;	/* below the cap again */
	int			 free_waits;	/* the watcher, on free_cv (at the cap) */
	int			 watcher_waits;	/* on spare_cv */
	int			 slot_waits;	/* workers on slot_cv */
	int			 spawn_wait_ok;	/* see watch_act */
	unsigned long		 finished;	/* connections ended, ever */
	int			 threads;	/* workers */
	int			 serving;	/* workers with a connection (from
						   just before accept() on) */
	int			 accepting;	/* workers in epoll_wait or accept()
						   on lfd; stop_accepting waits
						   for 0 before closing it */
	int			 nconns;	/* open: being accepted or served */
	int			 conn_cap;	/* most nconns; see conn_cap() */
	int			 evicting;	/* evicted, not yet closed */
	int			 accept_stop;	/* stop_accepting() began */
	int			 stopping;
	int			 failed;
	struct am_mctx		*conns;
	pthread_t		 run_thread;	/* in am_engine_run's sigwait */
	int			 wake_sig;	/* sent to it when accept() fails */
	int			 stuck;		/* workers left when run returned */
	size_t			 bigbuf;	/* read buffer bytes beyond the
						   start size, all connections;
						   __atomic (conn.c) */
	/* under mu (admit.c, and start_worker) */
	struct am_ratelog	 cap_log;	/* at the cap, none idle */
	struct am_ratelog	 short_log;	/* accept() short of fds */
	struct am_ratelog	 spawn_log;	/* a worker could not start */
	int			 backoff_ms;	/* after that, 0 when not */
};

/* am_engine_now_ms - CLOCK_MONOTONIC in ms, never 0 (admit.c) */
long	am_engine_now_ms(void);

/* am_engine_deadline - now + ms, for pthread_cond_timedwait (engine.c) */
void	am_engine_deadline(struct timespec *, unsigned long ms);

/*
 * admit.c, the connection cap and accept()'s troubles; all but the first
 * with e->mu held:
 * am_engine_nofile_cap - raise the soft RLIMIT_NOFILE to the hard one and
 *	return the connections it allows (ENGINE_FDS_*), at most
 *	ENGINE_THREADS_MAX; a lower cap is logged.  At start only.
 * am_engine_at_cap - the watcher, at the cap with a connection waiting:
 *	close the one idle longest (no message in progress) to make room,
 *	or log (rate-limited) that new ones wait in the listen queue; then
 *	wait a moment for a slot.
 * am_engine_accepted - accept() worked (ends a back-off, logged).
 * am_engine_accept_short - accept() failed with err: when it says the
 *	system is short of descriptors or memory, logged (rate-limited) and
 *	the ms to back off before the next try; 0 for any other error.
 * am_engine_ratelog_due - a problem happened now: 1 when a line is due
 *	(*count: how many went unlogged since the last), 0 when only counted.
 */
int	am_engine_nofile_cap(void);
void	am_engine_at_cap(struct am_engine *);
void	am_engine_accepted(struct am_engine *);
int	am_engine_accept_short(struct am_engine *, int err);
int	am_engine_ratelog_due(struct am_ratelog *, unsigned long *count);

#define ENGINE_RETRY_MS		100	/* no worker could start, or at the
					   connection cap: look again this
					   often (engine.c, admit.c) */

/*
 * When the watcher starts a worker (admit.c; pure, unit-tested by
 * check_engine_watch).  A look: a connection waits and no worker is
 * free.  The watcher looks every ENGINE_TICK_MS while it has work.
 */
#define ENGINE_TICK_MS		2	/* the watcher's look under load, and its
					   wait for a finishing worker */
#define ENGINE_TICK_LATE	3	/* a look this many ticks late: look again */
#define ENGINE_STUCK_LOOKS	10	/* late looks: none finished in this many
					   and ENGINE_BACKLOG_MS: stuck */
#define ENGINE_BACKLOG_MS	100	/* none free this long: one more anyway, */
#define ENGINE_BACKLOG_IDLE_PCT	10	/* unless less CPU than this was idle */

struct am_watch_look {
	long		 now, last;	/* this look and the one before, ms */
	long		 since;		/* the wait began (its first look), ms */
	unsigned long	 finished;	/* connections ended, ever: now, */
	unsigned long	 was;		/* at the last look, */
	unsigned long	 was0;		/* and when the wait began */
	int		 first;		/* this is the wait's first look */
	int		 looks;		/* looks in this wait, this one too */
	int		 spawn_wait_ok;	/* one ended since a worker was started */
};

enum am_watch_do {
	AM_WATCH_WAIT,		/* look again a tick later */
	AM_WATCH_SPAWN,		/* start a worker */
	AM_WATCH_BACKLOG	/* start one unless the CPU was busy
				   (am_engine_cpu_idle below
				   ENGINE_BACKLOG_IDLE_PCT) */
};

/* am_engine_watch_decide - what to do at this look (admit.c) */
enum am_watch_do am_engine_watch_decide(const struct am_watch_look *);

/*
 * am_engine_cpu_idle - from the text of /proc/stat: the machine's idle
 * share of CPU time in percent since the times in *idle and *total (0:
 * none yet), which are updated; -1 when not known (first call, text not
 * understood, times going back)
 */
int	am_engine_cpu_idle(const char *stat, unsigned long long *idle,
	    unsigned long long *total);

/* the built-in engine's am_mctx_* (engine.h), conn.c; its table: engine.c */
void	*am_bi_udata(const struct am_mctx *);
void	*am_bi_getpriv(const struct am_mctx *);
void	 am_bi_setpriv(struct am_mctx *, void *);
uint32_t am_bi_steps(const struct am_mctx *);
const char *am_bi_symval(const struct am_mctx *, const char *);
int	 am_bi_setsymlist(struct am_mctx *, enum am_mp_stage, const char *);
int	 am_bi_insheader(struct am_mctx *, uint32_t, const char *,
	    const char *);
int	 am_bi_chgheader(struct am_mctx *, const char *, uint32_t,
	    const char *);
int	 am_bi_quarantine(struct am_mctx *, const char *);
int	 am_bi_setreply(struct am_mctx *, const char *, const char *,
	    const char *);

/* am_mctx_serve - conn.c: one MTA connection on fd, from accept to close;
   *spare is the worker's read buffer, lent and handed back (see conn.c) */
void	am_mctx_serve(struct am_engine *, int fd, unsigned char **spare);

/*
 * am_engine_track, am_engine_untrack - engine.c: put a connection on the
 * engine's list (so am_engine_stop can wake it) and take it off again;
 * untrack also closes its descriptor and frees its worker and its slot.
 */
void	am_engine_track(struct am_engine *, struct am_mctx *);
void	am_engine_untrack(struct am_engine *, struct am_mctx *);

#endif /* AM_ENGINE_INT_H */
