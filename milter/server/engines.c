/*
 * engines.c - engine.h's calls, dispatched to the engine that runs (the
 * one am_engine_conf.kind chose) through its table (engine_ops.h).  No
 * logic of its own: what each call does is the engine's.
 */
#include <errno.h>
#include <signal.h>

#include "server/engine.h"
#include "server/engine_ops.h"

/* ops - the table an engine's or a connection's struct begins with */
#define OPS(p)	(*(const struct am_engine_ops *const *)(const void *)(p))

/* am_engine_sigwait - see engine.h */
int
am_engine_sigwait(const sigset_t *set)
{
	int	 sig;

	while ((sig = sigwaitinfo(set, NULL)) == -1 && errno == EINTR)
		continue;
	return sig;
}

/* am_engine_first_signal - see engine_ops.h */
int
am_engine_first_signal(const sigset_t *set)
{
	int	 sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			return sig;
	return 0;
}

/* am_engine_new - see engine.h */
struct am_engine *
am_engine_new(const struct am_engine_conf *conf, char *err, size_t errlen)
{
	const struct am_engine_ops	*ops = &am_builtin_ops;

	if (conf->kind == AM_ENGINE_LIBMILTER)
		ops = &am_libmilter_ops;
	return ops->create(conf, err, errlen);
}

int
am_engine_run(struct am_engine *e, const sigset_t *stop,
    unsigned int drain_secs)
{
	return OPS(e)->run(e, stop, drain_secs);
}

int
am_engine_stuck(const struct am_engine *e)
{
	return OPS(e)->stuck(e);
}

void
am_engine_free(struct am_engine *e)
{
	if (e != NULL)
		OPS(e)->destroy(e);
}

void *
am_mctx_udata(const struct am_mctx *c)
{
	return OPS(c)->udata(c);
}

void *
am_mctx_getpriv(const struct am_mctx *c)
{
	return OPS(c)->getpriv(c);
}

void
am_mctx_setpriv(struct am_mctx *c, void *p)
{
	OPS(c)->setpriv(c, p);
}

uint32_t
am_mctx_steps(const struct am_mctx *c)
{
	return OPS(c)->steps(c);
}

const char *
am_mctx_symval(const struct am_mctx *c, const char *name)
{
	return OPS(c)->symval(c, name);
}

int
am_mctx_setsymlist(struct am_mctx *c, enum am_mp_stage stage,
    const char *list)
{
	return OPS(c)->setsymlist(c, stage, list);
}

int
am_mctx_insheader(struct am_mctx *c, uint32_t idx, const char *name,
    const char *value)
{
	return OPS(c)->insheader(c, idx, name, value);
}

int
am_mctx_chgheader(struct am_mctx *c, const char *name, uint32_t idx,
    const char *value)
{
	return OPS(c)->chgheader(c, name, idx, value);
}

int
am_mctx_quarantine(struct am_mctx *c, const char *reason)
{
	return OPS(c)->quarantine(c, reason);
}

int
am_mctx_setreply(struct am_mctx *c, const char *code, const char *xcode,
    const char *text)
{
	return OPS(c)->setreply(c, code, xcode, text);
}
