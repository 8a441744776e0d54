/*
 * lmengine_int.h - what the libmilter engine's files share: lmengine.c
 * (life cycle: bind, run, drain), lmconn.c (the xxfi_* callbacks, the
 * pending-verdict rule, am_mctx_* on smfi_*), lmsignal.c (libmilter's
 * signal thread parked).  Private to server/.
 *
 * Locking: struct lm_engine is set up before smfi_main; afterwards only
 * msgs (connections in a message), main_done, stopping and failed change
 * (__atomic).  A struct lm_mctx belongs to its connection, whose
 * callbacks libmilter runs one at a time.
 */
#ifndef AM_LMENGINE_INT_H
#define AM_LMENGINE_INT_H

#include <sys/types.h>
#include <sys/stat.h>

#include <pthread.h>
#include <stdint.h>

#include <libmilter/mfapi.h>

#include "common/sockspec.h"
#include "server/engine.h"
#include "server/engine_ops.h"

struct lm_engine {
	const struct am_engine_ops *ops;	/* first: engine_ops.h */
	const struct am_milter	*cb;
	void			*udata;
	struct am_sockspec	 ss;
	char			*conn;		/* the spec as libmilter reads it */
	int			 unix_bound;	/* we made ss.path: remove it */
	struct stat		 unix_sb;	/* the socket file we made */
	int			 lfd;		/* libmilter's listening socket */
	pthread_t		 main_thread;	/* runs smfi_main */
	int			 main_on;
	int			 main_done;	/* __atomic */
	int			 stopping;	/* __atomic: we stop it */
	int			 failed;	/* __atomic */
	pthread_t		 run_thread;
	int			 wake_sig;
	int			 msgs;		/* in a message; __atomic */
};

/* one MTA connection (libmilter's SMFICTX), from negotiate to close */
struct lm_mctx {
	const struct am_engine_ops *ops;	/* first: engine_ops.h */
	struct lm_engine	*e;
	SMFICTX			*ctx;
	void			*priv;
	uint32_t		 actions, steps;
	int			 in_msg;
	enum am_mstat		 pending;	/* kept from a no-reply step */
	/* while in a message: on the live list (lmconn.c, lm_live_mu) */
	struct lm_mctx		*live_prev, *live_next;
	char			 qid[64];	/* "" until the MTA sent {i} */
};

/* process-wide state: libmilter's own is process-wide (one engine) */
extern struct lm_engine	*am_lm_the;	/* lmengine.c */
extern struct smfiDesc	 am_lm_desc;	/* lmconn.c: the callbacks */

/*
 * lmconn.c: am_lm_log_live - at a stop that leaves messages unfinished:
 * one line per message in progress, with its queue id, as the built-in
 * engine logs when it closes such a connection (issue 16)
 */
void	 am_lm_log_live(void);

/* lmconn.c: the engine's am_mctx_* (engine.h), for its table */
void	*am_lm_udata(const struct am_mctx *);
void	*am_lm_getpriv(const struct am_mctx *);
void	 am_lm_setpriv(struct am_mctx *, void *);
uint32_t am_lm_steps(const struct am_mctx *);
const char *am_lm_symval(const struct am_mctx *, const char *);
int	 am_lm_setsymlist(struct am_mctx *, enum am_mp_stage, const char *);
int	 am_lm_insheader(struct am_mctx *, uint32_t, const char *,
	    const char *);
int	 am_lm_chgheader(struct am_mctx *, const char *, uint32_t,
	    const char *);
int	 am_lm_quarantine(struct am_mctx *, const char *);
int	 am_lm_setreply(struct am_mctx *, const char *, const char *,
	    const char *);

/*
 * lmsignal.c: am_lm_park_arm - from now on libmilter's signal thread
 * parks when it calls sigwait() (before smfi_main); am_lm_parked - did
 * it, within ms?
 */
void	am_lm_park_arm(void);
int	am_lm_parked(unsigned int ms);

#endif /* AM_LMENGINE_INT_H */
