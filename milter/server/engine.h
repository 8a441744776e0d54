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
 * Threads: one acceptor, and workers that each serve one connection at a
 * time; when none is free the acceptor waits up to 2 ms for one that is
 * finishing, then starts another; idle workers beyond a few exit after a
 * while.  Callbacks of one connection run in one thread, one
 * at a time; callbacks of different connections run concurrently.
 *
 * Ownership: the engine owns the listening socket, the connections and
 * their struct am_mctx; the filter owns what it hangs on a connection
 * with am_mctx_setpriv and frees it in its close callback.
 */
#ifndef AM_ENGINE_H
#define AM_ENGINE_H

#include <sys/types.h>
#include <sys/socket.h>

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
 * am_engine_new - parse the socket spec (unix:/path, local:/path,
 * inet:port[@host], inet6:port[@host]), bind and listen.  A stale unix
 * socket file is removed, a live one (something answers) is an error.
 * No thread yet (call before fork).  NULL with err filled on failure.
 */
struct am_engine *am_engine_new(const char *spec, const struct am_milter *,
	    char *err, size_t errlen);

/* am_engine_start - start accepting (the acceptor thread); 0 or -1 */
int	am_engine_start(struct am_engine *, char *err, size_t errlen);

/* am_engine_set_notify - on a fatal acceptor error, fn(arg) is called */
void	am_engine_set_notify(struct am_engine *, void (*fn)(void *),
	    void *arg);

/* am_engine_failed - did the acceptor stop on a fatal error? */
int	am_engine_failed(const struct am_engine *);

/*
 * am_engine_stop_accepting - refuse new connections from now on (the
 * unix socket file is removed); connections already open go on.
 */
void	am_engine_stop_accepting(struct am_engine *);

/*
 * am_engine_stop - close every connection (a message in progress is cut:
 * the MTA applies its own default action) and wait up to grace_ms for the
 * workers to finish their callbacks.  Returns how many workers are still
 * running (their callbacks are stuck; the caller should not free what
 * they use).
 */
int	am_engine_stop(struct am_engine *, unsigned int grace_ms);

/* am_engine_free - after am_engine_stop returned 0 */
void	am_engine_free(struct am_engine *);

/* per connection, from the callbacks */
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
