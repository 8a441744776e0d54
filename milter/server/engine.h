/*
 * engine.h - the milter server: authmilter's own implementation of the
 * filter side of the milter protocol (mproto.h), in place of libmilter.
 *
 * Why not libmilter: Debian's libmilter runs connections in a worker pool
 * that hands every packet from a controller thread (poll) to a worker
 * (poll, read the length, poll, read the rest) and back.  Measured with
 * bench/ at c=8, a filter that does nothing cost 0.45 ms of CPU per
 * message that way, more than all of authmilter's checks.  Here one
 * thread serves one MTA connection from accept to close and reads as many
 * packets per read() as the MTA has sent (SMFIP_NR_* lets it stream the
 * headers and body without waiting), so a message costs a handful of
 * system calls.
 *
 * Threads: workers that each accept and serve one connection at a time
 * (an idle worker waits on the listening socket itself: no hand-over from
 * another thread), and a watcher that sleeps while a worker is free;
 * when none is and a connection waits, it gives the workers 2 ms (once
 * per burst) to finish one, then starts another; under load it looks
 * every 2 ms instead of being woken by each connection.  The worker
 * started first is woken first, so idle workers beyond a few exit after a
 * while.  Callbacks of one connection run in one thread, one at a time;
 * callbacks of different connections run concurrently.
 *
 * Resources: connections open at once are capped by the open files limit
 * (raised to the hard limit by am_engine_new); at the cap the connection
 * idle longest outside a message is closed for a new one.  A silent MTA,
 * macros, packets and read buffers are bounded (conn.c, README "Limits").
 *
 * Ownership: the engine owns the listening socket, the connections and
 * their struct am_mctx; the filter owns what it hangs on a connection
 * with am_mctx_setpriv and frees it in its close callback, and the
 * process-wide state it hands in as udata.
 *
 * The interface is the engine's, not one implementation's: two engines
 * provide it, chosen at run time by am_engine_conf.kind (MilterEngine):
 * the built-in one (engine.c, conn.c, admit.c; described above) and an
 * adapter on Sendmail's libmilter (lmengine.c).  engines.c dispatches
 * every call below through the chosen engine's table (engine_ops.h), so
 * neither the callbacks nor the session know which one runs them.  What
 * differs between them (limits, timeouts, threads) is in server/README.
 */
#ifndef AM_ENGINE_H
#define AM_ENGINE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "server/mproto.h"

struct am_engine;
struct am_mctx;			/* one MTA connection */

enum am_mstat {
	AM_MS_CONTINUE = 0,
	AM_MS_ACCEPT,		/* accept the message, no more callbacks */
	AM_MS_REJECT,		/* 5xx (text from am_mctx_setreply) */
	AM_MS_TEMPFAIL		/* 4xx (text from am_mctx_setreply) */
};

/*
 * The filter.  A step the filter negotiated as "no reply" (AM_MPP_NR_*)
 * gets none; a result other than CONTINUE returned there is kept and given
 * at the next step the MTA waits for (at the latest end of message), and
 * the message's other callbacks are skipped until then.
 */
struct am_milter {
	/* the MTA's offer in, the filter's choice out; -1 refuses the MTA */
	int		(*negotiate)(struct am_mctx *, uint32_t actions,
			    uint32_t steps, uint32_t *want_actions,
			    uint32_t *want_steps);
	/* addr NULL when the MTA gave none (family 'U') */
	enum am_mstat	(*connect)(struct am_mctx *, const char *host,
			    const struct sockaddr *addr);
	enum am_mstat	(*helo)(struct am_mctx *, const char *);
	/* argv: the address then ESMTP parameters, NULL-terminated */
	enum am_mstat	(*envfrom)(struct am_mctx *, const char **argv);
	/* one RCPT TO, argv as envfrom; NULL: the filter asks NORCPT */
	enum am_mstat	(*rcpt)(struct am_mctx *, const char **argv);
	enum am_mstat	(*header)(struct am_mctx *, const char *name,
			    const char *value);
	enum am_mstat	(*eoh)(struct am_mctx *);
	enum am_mstat	(*body)(struct am_mctx *, const unsigned char *,
			    size_t);
	/* header changes (am_mctx_insheader, ...) only here */
	enum am_mstat	(*eom)(struct am_mctx *);
	void		(*abort)(struct am_mctx *);	/* message ended early */
	void		(*close)(struct am_mctx *);	/* connection ends */
};

/*
 * What an engine is given.  Later limits (workers, idle time) go here as
 * fields where 0 means the engine's default, so callers need not change.
 */
enum am_engine_kind {
	AM_ENGINE_BUILTIN = 0,	/* authmilter's own (the default) */
	AM_ENGINE_LIBMILTER	/* Sendmail's libmilter (lmengine.c) */
};

struct am_engine_conf {
	const char		*socket;	/* sockspec.h; milter Socket rules */
	const struct am_milter	*milter;	/* borrowed; outlives the engine */
	void			*udata;		/* handed back by am_mctx_udata() */
	enum am_engine_kind	 kind;		/* which engine; 0: built-in */
};

/*
 * am_engine_new - the engine conf->kind names.  Raise the soft
 * RLIMIT_NOFILE to the hard limit and size the connection cap from it
 * (logged when below the most; built-in engine), then bind and listen on
 * conf->socket.  A stale unix socket file is removed, a live
 * one (something answers) is an error.  No thread yet (call before fork,
 * before dropping privileges).  NULL with err filled on failure.
 */
struct am_engine *am_engine_new(const struct am_engine_conf *, char *err,
	    size_t errlen);

/*
 * am_engine_run - serve until one of the signals in stop arrives or the
 * engine fails, then stop without cutting messages in flight:
 *   1. stop accepting (the unix socket file is removed): new connections
 *      are refused, so the MTA applies its milter default action to them;
 *   2. wait, at most drain_secs, until no MTA connection is between MAIL
 *      and the end of its message;
 *   3. close the remaining connections and wait briefly for the workers.
 * The signals are taken with am_engine_sigwait() in the calling thread;
 * they must be blocked in every thread beforehand, no other thread may
 * wait for them, and stop must not be empty.  (The libmilter engine parks
 * libmilter's own signal thread for good, so that it never takes one:
 * lmsignal.c.)  Returns 0 after a signal, -1
 * when the engine failed (logged).  main() only, once.
 */
int	am_engine_run(struct am_engine *, const sigset_t *stop,
	    unsigned int drain_secs);

/*
 * am_engine_stuck - after am_engine_run: workers still inside a callback.
 * When not 0, neither the engine nor what the callbacks use (udata) may be
 * freed.
 */
int	am_engine_stuck(const struct am_engine *);

/* am_engine_free - NULL is fine; only when am_engine_stuck() is 0 */
void	am_engine_free(struct am_engine *);

/*
 * am_engine_sigwait - wait for one of the signals in set (blocked in
 * every thread) and return it; EINTR is retried.  authmilter's threads
 * wait for signals with this (sigwaitinfo), never with sigwait(), which
 * the libmilter engine takes over (lmsignal.c).  A cancellation point.
 */
int	am_engine_sigwait(const sigset_t *set);

/* per connection, from the callbacks */
void	*am_mctx_udata(const struct am_mctx *);	/* am_engine_conf's */
void	*am_mctx_getpriv(const struct am_mctx *);
void	 am_mctx_setpriv(struct am_mctx *, void *);
uint32_t am_mctx_steps(const struct am_mctx *);		/* negotiated */
/* a macro the MTA sent for this connection or message; "i" or "{i}" */
const char *am_mctx_symval(const struct am_mctx *, const char *name);
/* from negotiate: the macros wanted at a stage (needs AM_MPF_SETSYMLIST) */
int	 am_mctx_setsymlist(struct am_mctx *, enum am_mp_stage,
	    const char *list);
/* from eom: header changes and the quarantine; 0, or -1 if not allowed */
int	 am_mctx_insheader(struct am_mctx *, uint32_t idx, const char *name,
	    const char *value);
int	 am_mctx_chgheader(struct am_mctx *, const char *name, uint32_t idx,
	    const char *value);			/* value NULL: delete */
int	 am_mctx_quarantine(struct am_mctx *, const char *reason);
/* the SMTP reply for REJECT / TEMPFAIL: code must match (5xx / 4xx) */
int	 am_mctx_setreply(struct am_mctx *, const char *code,
	    const char *xcode, const char *text);

#endif /* AM_ENGINE_H */
