/*
 * engine_ops.h - how engines.c reaches the engine that runs: one table of
 * functions per engine, with the calls of engine.h.  Private to server/.
 *
 * Each engine has its own engine and connection structs behind the
 * opaque struct am_engine and struct am_mctx (the built-in one's in
 * engine_int.h, the libmilter adapter's struct lm_engine and lm_mctx in
 * lmengine_int.h); both begin with a pointer to their engine's table, which engines.c reads
 * to dispatch (C11 6.7.2.1p15: a pointer to a struct, converted, points to
 * its first member).  No engine includes another's headers.
 */
#ifndef AM_ENGINE_OPS_H
#define AM_ENGINE_OPS_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "server/engine.h"

struct am_engine_ops {
	const char	*name;			/* "builtin", "libmilter" */
	struct am_engine *(*create)(const struct am_engine_conf *, char *err,
			    size_t errlen);
	int		(*run)(struct am_engine *, const sigset_t *stop,
			    unsigned int drain_secs);
	int		(*stuck)(const struct am_engine *);
	void		(*destroy)(struct am_engine *);

	void		*(*udata)(const struct am_mctx *);
	void		*(*getpriv)(const struct am_mctx *);
	void		(*setpriv)(struct am_mctx *, void *);
	uint32_t	(*steps)(const struct am_mctx *);
	const char	*(*symval)(const struct am_mctx *, const char *);
	int		(*setsymlist)(struct am_mctx *, enum am_mp_stage,
			    const char *);
	int		(*insheader)(struct am_mctx *, uint32_t, const char *,
			    const char *);
	int		(*chgheader)(struct am_mctx *, const char *, uint32_t,
			    const char *);
	int		(*quarantine)(struct am_mctx *, const char *);
	int		(*setreply)(struct am_mctx *, const char *,
			    const char *, const char *);
};

/*
 * am_engine_first_signal - a member of a stop set (0 if empty): the signal
 * an engine sends its own waiting thread to wake it when the engine
 * fails, so am_engine_run returns (engines.c; both engines use it)
 */
int	am_engine_first_signal(const sigset_t *);

extern const struct am_engine_ops am_builtin_ops;	/* engine.c */
extern const struct am_engine_ops am_libmilter_ops;	/* lmengine.c */

#endif /* AM_ENGINE_OPS_H */
