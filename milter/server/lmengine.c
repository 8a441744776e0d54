/*
 * lmengine.c - the libmilter engine: engine.h on Sendmail's libmilter
 * (Debian's libmilter-dev), chosen with MilterEngine libmilter.  The
 * per-message callbacks and am_mctx_* map one to one onto xxfi_* and
 * smfi_*; what libmilter does not do the adapter does, so that the MTA
 * sees what the built-in engine would send:
 *
 *   - the pending-verdict rule (engine.h): a result other than CONTINUE
 *     at a step negotiated as "no reply" is kept (libmilter would drop it:
 *     it sends nothing at such a step) and given at the next step the MTA
 *     waits for; the message's callbacks are skipped meanwhile;
 *   - the socket rules: a stale unix socket is removed, a live one
 *     refused, before the spec goes to smfi_setconn (smfi_opensocket's
 *     own "remove" would also remove a live one);
 *   - the life cycle of am_engine_run: smfi_main runs in a thread of its
 *     own; the calling thread waits for the stop signals, then stops the
 *     listener (smfi_stop), lets messages in flight finish (drain_secs)
 *     and returns;
 *   - signals: libmilter starts a thread that sigwait()s for SIGHUP,
 *     SIGTERM and SIGINT and stops the milter on any of them (its
 *     signal.c), so a SIGHUP meant as "reload" would stop it.  This file
 *     defines sigwait() itself, which the dynamic linker binds
 *     libmilter's call to (the executable's definition comes first, ELF
 *     symbol interposition); while this engine runs, a sigwait() caller
 *     is parked for good with every signal blocked (park below).  A
 *     process-directed signal is delivered only to a thread that has it
 *     unblocked or waits for it (sigwait, sigwaitinfo, signalfd): the
 *     parked thread does neither, so every signal goes to authmilter's
 *     own waiters (am_engine_sigwait, which uses sigwaitinfo, never
 *     sigwait).  am_engine_run checks that libmilter's thread did park
 *     before it serves, and refuses to run otherwise (a libmilter that
 *     waits some other way would again stop on SIGHUP).
 *
 * Threads: libmilter's (a listener, a pool of workers handing sessions
 * between them; callbacks of one connection one at a time), the thread
 * running smfi_main, and the caller of am_engine_run.  libmilter's state
 * is process-wide, so there is at most one such engine per process.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "common/sockspec.h"
#include "server/engine.h"
#include "server/engine_ops.h"
#include "server/listen.h"
#include "server/mproto.h"

/*
 * libmilter has one timeout for every read and write of a connection
 * (default 7210 s).  The MTA's own gaps are bounded by its timeouts
 * (Postfix: 300 s per SMTP command, milter_content_timeout 300 s), so a
 * connection silent for longer is gone; the built-in engine's limits
 * are finer (conn.c ENGINE_*_TIMEOUT).
 */
#define LM_TIMEOUT		600	/* s, smfi_settimeout */
#define LM_PARK_WAIT_MS		5000	/* for libmilter's signal thread */
#define LM_WAKE_MS		50	/* between connects that wake the listener */
#define LM_CLOSED_KEEP		64	/* negotiated steps kept after close */

/* the numbers are the protocol's: mproto.h and mfapi.h agree */
_Static_assert(AM_MPF_ADDHDRS == SMFIF_ADDHDRS &&
    AM_MPF_CHGHDRS == SMFIF_CHGHDRS && AM_MPF_QUARANTINE == SMFIF_QUARANTINE &&
    AM_MPF_SETSYMLIST == SMFIF_SETSYMLIST, "action flags");
_Static_assert(AM_MPP_NR_CONN == SMFIP_NR_CONN &&
    AM_MPP_NR_HDR == SMFIP_NR_HDR && AM_MPP_NR_BODY == SMFIP_NR_BODY &&
    AM_MPP_HDR_LEADSPC == SMFIP_HDR_LEADSPC, "protocol flags");
_Static_assert(AM_MPS_MAIL == SMFIM_ENVFROM && AM_MPS_EOM == SMFIM_EOM,
    "macro stages");

struct lm_engine {
	const struct am_engine_ops *ops;	/* first: engine_ops.h */
	const struct am_milter	*cb;
	void			*udata;
	struct am_sockspec	 ss;
	char			*conn;		/* the spec as libmilter reads it */
	int			 unix_bound;	/* we made ss.path: remove it */
	struct stat		 unix_sb;	/* the socket file we made */
	pthread_t		 main_thread;	/* runs smfi_main */
	int			 main_on;
	int			 main_done;	/* __atomic */
	int			 stopping;	/* __atomic: smfi_stop asked */
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
};

/* process-wide state: libmilter's own is process-wide (one engine) */
static struct lm_engine	*lm_the;
static int		 lm_park_armed;		/* __atomic */
static int		 lm_parked;		/* __atomic */
/* steps negotiated on connections closed lately: QUIT_NC (see lm_get) */
static struct {
	SMFICTX		*ctx;
	uint32_t	 actions, steps;
} lm_closed[LM_CLOSED_KEEP];
static unsigned int	 lm_closed_next;
static pthread_mutex_t	 lm_closed_mu = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------ signals */

/* park - libmilter's signal thread ends here, taking no signal ever */
static void __attribute__((noreturn))
park(void)
{
	sigset_t	 all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	__atomic_add_fetch(&lm_parked, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

/*
 * sigwait - libmilter's signal thread calls this one (see the top of the
 * file).  Parked while the libmilter engine runs; otherwise sigwait()'s
 * meaning, on sigwaitinfo.
 */
int
sigwait(const sigset_t *set, int *sig)
{
	int	 s;

	if (__atomic_load_n(&lm_park_armed, __ATOMIC_SEQ_CST))
		park();
	if ((s = am_engine_sigwait(set)) == -1)
		return errno;
	*sig = s;
	return 0;
}

/* wait_parked - did libmilter's signal thread park within ms? */
static int
wait_parked(unsigned int ms)
{
	unsigned int	 i;

	for (i = 0; i < ms / 10; i++) {
		if (__atomic_load_n(&lm_parked, __ATOMIC_SEQ_CST) > 0)
			return 1;
		usleep(10000);
	}
	return __atomic_load_n(&lm_parked, __ATOMIC_SEQ_CST) > 0;
}

/* ------------------------------------------------------------ connections */

static struct lm_mctx *
lm_of(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

/* closed_keep - remember a closed connection's negotiation (QUIT_NC) */
static void
closed_keep(const struct lm_mctx *c)
{
	pthread_mutex_lock(&lm_closed_mu);
	lm_closed[lm_closed_next].ctx = c->ctx;
	lm_closed[lm_closed_next].actions = c->actions;
	lm_closed[lm_closed_next].steps = c->steps;
	lm_closed_next = (lm_closed_next + 1) % LM_CLOSED_KEEP;
	pthread_mutex_unlock(&lm_closed_mu);
}

/*
 * closed_find - the negotiation of a connection closed by QUIT_NC (the
 * MTA goes on with a new SMTP session on it: no new negotiation).  Only
 * such a connection gets here without state: a new one negotiates first,
 * so an old entry for a context address that libmilter reused is never
 * looked up.  0, or -1 when it has gone from the table.
 */
static int
closed_find(SMFICTX *ctx, uint32_t *actions, uint32_t *steps)
{
	unsigned int	 i, k;
	int		 rc = -1;

	pthread_mutex_lock(&lm_closed_mu);
	for (i = 0; i < LM_CLOSED_KEEP && rc == -1; i++) {
		k = (lm_closed_next + LM_CLOSED_KEEP - 1 - i) % LM_CLOSED_KEEP;
		if (lm_closed[k].ctx == ctx) {
			*actions = lm_closed[k].actions;
			*steps = lm_closed[k].steps;
			rc = 0;
		}
	}
	pthread_mutex_unlock(&lm_closed_mu);
	return rc;
}

/* lm_new_conn - our state for ctx, set as its private data; NULL: ENOMEM */
static struct lm_mctx *
lm_new_conn(SMFICTX *ctx)
{
	struct lm_mctx	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = &am_libmilter_ops;
	c->e = lm_the;
	c->ctx = ctx;
	c->pending = AM_MS_CONTINUE;
	smfi_setpriv(ctx, c);
	return c;
}

/*
 * lm_get - the connection's state; after QUIT_NC made anew with the
 * negotiation kept by closed_keep (none left: no steps, logged)
 */
static struct lm_mctx *
lm_get(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_of(ctx);

	if (c != NULL || (c = lm_new_conn(ctx)) == NULL)
		return c;
	if (closed_find(ctx, &c->actions, &c->steps) == -1)
		am_log_warn(NULL, "milter: libmilter connection without "
		    "negotiation state; no-reply steps off");
	return c;
}

#define MC(c)	((struct am_mctx *)(void *)(c))

/* in_message - the MTA starts or ends a transaction (for the drain) */
static void
in_message(struct lm_mctx *c, int on)
{
	if (c->in_msg == on)
		return;
	c->in_msg = on;
	__atomic_add_fetch(&c->e->msgs, on ? 1 : -1, __ATOMIC_SEQ_CST);
}

/* end_message - the transaction is over */
static void
end_message(struct lm_mctx *c)
{
	in_message(c, 0);
	c->pending = AM_MS_CONTINUE;
}

/* sfsi - our result as libmilter's */
static sfsistat
sfsi(enum am_mstat st)
{
	switch (st) {
	case AM_MS_ACCEPT:
		return SMFIS_ACCEPT;
	case AM_MS_REJECT:
		return SMFIS_REJECT;
	case AM_MS_TEMPFAIL:
		return SMFIS_TEMPFAIL;
	case AM_MS_CONTINUE:
	default:
		return SMFIS_CONTINUE;
	}
}

/*
 * answer - the end of a step, as the built-in engine's conn.c: keep a
 * result given where the MTA does not wait (nr negotiated), or give the
 * kept or new one where it does
 */
static sfsistat
answer(struct lm_mctx *c, uint32_t nr, enum am_mstat st)
{
	if (st != AM_MS_CONTINUE && c->pending == AM_MS_CONTINUE)
		c->pending = st;
	if (c->steps & nr)
		return SMFIS_NOREPLY;
	st = c->pending;
	c->pending = AM_MS_CONTINUE;
	return sfsi(st);
}

/* go - may the filter see this step (no verdict kept)? */
static int
go(const struct lm_mctx *c)
{
	return c->pending == AM_MS_CONTINUE;
}

/* ------------------------------------------------------------ xxfi_* */

static sfsistat
lm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct lm_mctx	*c = lm_of(ctx);
	uint32_t	 want_a = 0, want_s = 0;

	if (c == NULL && (c = lm_new_conn(ctx)) == NULL) {
		am_log_err(NULL, "milter: out of memory at negotiation");
		return SMFIS_REJECT;
	}
	/*
	 * f1 is the MTA's offer plus every SMFIP_NR_* bit: libmilter answers
	 * CONTINUE itself at a no-reply step the MTA does not know
	 */
	if (c->e->cb->negotiate(MC(c), (uint32_t)f0, (uint32_t)f1, &want_a,
	    &want_s) == -1)
		return SMFIS_REJECT;	/* libmilter drops the connection */
	c->actions = want_a & (uint32_t)f0;
	c->steps = want_s & (uint32_t)f1;
	*pf0 = c->actions;
	*pf1 = c->steps;
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat
lm_connect(SMFICTX *ctx, char *host, struct sockaddr *addr)
{
	struct lm_mctx	*c = lm_get(ctx);
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (go(c))
		st = c->e->cb->connect(MC(c), host, addr);
	return answer(c, SMFIP_NR_CONN, st);
}

static sfsistat
lm_helo(SMFICTX *ctx, char *helo)
{
	struct lm_mctx	*c = lm_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	return answer(c, SMFIP_NR_HELO, go(c) ? c->e->cb->helo(MC(c),
	    helo != NULL ? helo : "") : AM_MS_CONTINUE);
}

static sfsistat
lm_envfrom(SMFICTX *ctx, char **argv)
{
	struct lm_mctx	*c = lm_get(ctx);
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	in_message(c, 1);
	if (go(c))
		st = c->e->cb->envfrom(MC(c), (const char **)argv);
	return answer(c, SMFIP_NR_MAIL, st);
}

/* lm_envrcpt, lm_data, lm_unknown - only a kept verdict, as conn.c */
static sfsistat
lm_envrcpt(SMFICTX *ctx, char **argv)
{
	struct lm_mctx	*c = lm_get(ctx);

	return c == NULL ? SMFIS_TEMPFAIL :
	    answer(c, SMFIP_NR_RCPT, AM_MS_CONTINUE);
}

static sfsistat
lm_data(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_get(ctx);

	return c == NULL ? SMFIS_TEMPFAIL :
	    answer(c, SMFIP_NR_DATA, AM_MS_CONTINUE);
}

static sfsistat
lm_unknown(SMFICTX *ctx, const char *cmd)
{
	struct lm_mctx	*c = lm_get(ctx);

	return c == NULL ? SMFIS_TEMPFAIL :
	    answer(c, SMFIP_NR_UNKN, AM_MS_CONTINUE);
}

static sfsistat
lm_header(SMFICTX *ctx, char *name, char *value)
{
	struct lm_mctx	*c = lm_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	return answer(c, SMFIP_NR_HDR, go(c) ? c->e->cb->header(MC(c), name,
	    value) : AM_MS_CONTINUE);
}

static sfsistat
lm_eoh(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	return answer(c, SMFIP_NR_EOH, go(c) ? c->e->cb->eoh(MC(c)) :
	    AM_MS_CONTINUE);
}

/*
 * lm_body - a body chunk.  (Body bytes in the end-of-message packet,
 * which neither Postfix nor Sendmail sends, reach libmilter's body call
 * too; with NR_BODY negotiated its answer there is "no reply" and
 * libmilter then skips the end of message: see server/README.)
 */
static sfsistat
lm_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct lm_mctx	*c = lm_get(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	return answer(c, SMFIP_NR_BODY, go(c) && len > 0 ?
	    c->e->cb->body(MC(c), chunk, len) : AM_MS_CONTINUE);
}

/* lm_eom - the kept verdict, or the filter's end of message */
static sfsistat
lm_eom(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_get(ctx);
	enum am_mstat	 st;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	st = c->pending;
	c->pending = AM_MS_CONTINUE;
	if (st == AM_MS_CONTINUE)
		st = c->e->cb->eom(MC(c));
	else
		c->e->cb->abort(MC(c));	/* an end the filter never saw */
	end_message(c);
	return sfsi(st);
}

static sfsistat
lm_abort(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_of(ctx);

	if (c != NULL) {
		c->e->cb->abort(MC(c));
		end_message(c);
	}
	return SMFIS_CONTINUE;
}

/*
 * lm_close - the connection ends (or QUIT_NC: a new SMTP session follows
 * on it, lm_get).  Our state goes with it: libmilter warns at the end of
 * a session whose private data is still set.
 */
static sfsistat
lm_close(SMFICTX *ctx)
{
	struct lm_mctx	*c = lm_of(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	if (c->in_msg)
		c->e->cb->abort(MC(c));
	end_message(c);
	c->e->cb->close(MC(c));
	closed_keep(c);
	smfi_setpriv(ctx, NULL);
	free(c);
	return SMFIS_CONTINUE;
}

/* ------------------------------------------------------------ am_mctx_* */

static const struct lm_mctx *
cc(const struct am_mctx *m)
{
	return (const struct lm_mctx *)(const void *)m;
}

static struct lm_mctx *
mc(struct am_mctx *m)
{
	return (struct lm_mctx *)(void *)m;
}

static void *
lm_udata(const struct am_mctx *m)
{
	return cc(m)->e->udata;
}

static void *
lm_getpriv(const struct am_mctx *m)
{
	return cc(m)->priv;
}

static void
lm_setpriv(struct am_mctx *m, void *p)
{
	mc(m)->priv = p;
}

static uint32_t
lm_steps(const struct am_mctx *m)
{
	return cc(m)->steps;
}

static const char *
lm_symval(const struct am_mctx *m, const char *name)
{
	return smfi_getsymval(cc(m)->ctx, (char *)name);
}

static int
lm_setsymlist(struct am_mctx *m, enum am_mp_stage stage, const char *list)
{
	return smfi_setsymlist(mc(m)->ctx, (int)stage, (char *)list) ==
	    MI_SUCCESS ? 0 : -1;
}

static int
lm_insheader(struct am_mctx *m, uint32_t idx, const char *name,
    const char *value)
{
	return smfi_insheader(mc(m)->ctx, (int)idx, (char *)name,
	    (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
lm_chgheader(struct am_mctx *m, const char *name, uint32_t idx,
    const char *value)
{
	return smfi_chgheader(mc(m)->ctx, (char *)name, (int)idx,
	    (char *)value) == MI_SUCCESS ? 0 : -1;
}

static int
lm_quarantine(struct am_mctx *m, const char *reason)
{
	return smfi_quarantine(mc(m)->ctx, (char *)reason) == MI_SUCCESS ?
	    0 : -1;
}

static int
lm_setreply(struct am_mctx *m, const char *code, const char *xcode,
    const char *text)
{
	return smfi_setreply(mc(m)->ctx, (char *)code, (char *)xcode,
	    (char *)text) == MI_SUCCESS ? 0 : -1;
}

/* ------------------------------------------------------------ life cycle */

static struct smfiDesc lm_desc = {
	.xxfi_name = "authmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = lm_connect,
	.xxfi_helo = lm_helo,
	.xxfi_envfrom = lm_envfrom,
	.xxfi_envrcpt = lm_envrcpt,
	.xxfi_header = lm_header,
	.xxfi_eoh = lm_eoh,
	.xxfi_body = lm_body,
	.xxfi_eom = lm_eom,
	.xxfi_abort = lm_abort,
	.xxfi_close = lm_close,
	.xxfi_unknown = lm_unknown,
	.xxfi_data = lm_data,
	.xxfi_negotiate = lm_negotiate,
};

/*
 * lm_conn_spec - ss in libmilter's syntax (listener.c mi_milteropen):
 * an IPv6 address in brackets, a name resolved by libmilter
 */
static char *
lm_conn_spec(const struct am_sockspec *ss)
{
	char	*s = NULL;
	int	 r;

	if (ss->kind == AM_SOCKSPEC_UNIX)
		r = asprintf(&s, "unix:%s", ss->path);
	else if (ss->host[0] == '\0')
		r = asprintf(&s, "%s:%u", ss->kind == AM_SOCKSPEC_INET ?
		    "inet" : "inet6", ss->port);
	else if (ss->host_is_addr && ss->kind == AM_SOCKSPEC_INET6)
		r = asprintf(&s, "inet6:%u@[%s]", ss->port, ss->host);
	else
		r = asprintf(&s, "%s:%u@%s", ss->kind == AM_SOCKSPEC_INET ?
		    "inet" : "inet6", ss->port, ss->host);
	return r == -1 ? NULL : s;
}

/* lm_bind - register with libmilter and bind; 0 or -1 with err */
static int
lm_bind(struct lm_engine *e, const char *spec, char *err, size_t errlen)
{
	const char	*why;

	if ((why = am_sockspec_parse(spec, &e->ss)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (e->ss.kind == AM_SOCKSPEC_UNIX &&
	    am_listen_unix_clear(e->ss.path, err, errlen) == -1)
		return -1;
	if ((e->conn = lm_conn_spec(&e->ss)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (smfi_register(lm_desc) == MI_FAILURE ||
	    smfi_setconn(e->conn) == MI_FAILURE ||
	    smfi_settimeout(LM_TIMEOUT) == MI_FAILURE ||
	    smfi_setbacklog(SOMAXCONN) == MI_FAILURE) {
		snprintf(err, errlen, "libmilter refused the configuration");
		return -1;
	}
	if (smfi_opensocket(0) == MI_FAILURE) {
		snprintf(err, errlen, "libmilter could not listen on %s "
		    "(its syslog line says why)", e->conn);
		return -1;
	}
	if (e->ss.kind == AM_SOCKSPEC_UNIX &&
	    stat(e->ss.path, &e->unix_sb) == 0)
		e->unix_bound = 1;
	return 0;
}

/* lm_create - am_engine_new (engine.h) for the libmilter engine */
static struct am_engine *
lm_create(const struct am_engine_conf *conf, char *err, size_t errlen)
{
	struct lm_engine	*e;

	if (lm_the != NULL) {
		snprintf(err, errlen, "libmilter engine: one per process");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ops = &am_libmilter_ops;
	e->cb = conf->milter;
	e->udata = conf->udata;
	lm_the = e;
	if (lm_bind(e, conf->socket, err, errlen) == -1) {
		free(e->conn);
		free(e);
		lm_the = NULL;
		return NULL;
	}
	return (struct am_engine *)(void *)e;
}

static struct lm_engine *
le(struct am_engine *e)
{
	return (struct lm_engine *)(void *)e;
}

/* lm_main - the thread that runs smfi_main until it returns */
static void *
lm_main(void *arg)
{
	struct lm_engine	*e = arg;
	int			 r;

	r = smfi_main();
	__atomic_store_n(&e->main_done, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&e->stopping, __ATOMIC_SEQ_CST)) {
		am_log_err(NULL, "milter: libmilter stopped by itself (%s)",
		    r == MI_SUCCESS ? "no error" : "failure");
		__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
		/* ends lm_run's wait: the signal is blocked everywhere */
		pthread_kill(e->run_thread, e->wake_sig);
	}
	return NULL;
}

/* unlink_ours - the unix socket file, if it is still the one we made */
static void
unlink_ours(struct lm_engine *e)
{
	struct stat	 sb;

	if (!e->unix_bound)
		return;
	e->unix_bound = 0;
	if (stat(e->ss.path, &sb) == 0 && sb.st_dev == e->unix_sb.st_dev &&
	    sb.st_ino == e->unix_sb.st_ino && unlink(e->ss.path) == -1)
		am_log_warn(NULL, "unlink %s: %s", e->ss.path,
		    strerror(errno));
}

/*
 * wake_connect - one connection to our own socket: libmilter's listener
 * holds a lock in poll() for up to 5 s (MI_CHK_TIME) and looks at the
 * stop flag only after that or a connection; the connection it accepts
 * is closed at once (a session with no command: no callback of ours).
 */
static void
wake_connect(const struct lm_engine *e)
{
	struct addrinfo		 hints, *res = NULL;
	struct sockaddr_un	 sun;
	char			 port[8];
	const char		*host;
	int			 fd;

	if (e->ss.kind == AM_SOCKSPEC_UNIX) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, e->ss.path, strlen(e->ss.path));
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			return;
		(void)connect(fd, (struct sockaddr *)&sun, sizeof(sun));
		close(fd);
		return;
	}
	host = e->ss.host[0] != '\0' ? e->ss.host :
	    e->ss.kind == AM_SOCKSPEC_INET ? "127.0.0.1" : "::1";
	snprintf(port, sizeof(port), "%u", e->ss.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = e->ss.family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		(void)connect(fd, res->ai_addr, res->ai_addrlen);
		close(fd);
	}
	freeaddrinfo(res);
}

/* stop_helper - smfi_stop, which waits for the listener's lock */
static void *
stop_helper(void *arg)
{
	(void)smfi_stop();
	return NULL;
}

/*
 * stop_accepting - libmilter's listener stops (it closes the socket) and
 * smfi_main returns; the unix socket file is removed.  Connections open
 * go on.
 */
static void
stop_accepting(struct lm_engine *e)
{
	pthread_t	 t;
	int		 helper;

	__atomic_store_n(&e->stopping, 1, __ATOMIC_SEQ_CST);
	if (e->main_on) {
		helper = pthread_create(&t, NULL, stop_helper, NULL) == 0;
		if (!helper)
			(void)smfi_stop();
		while (!__atomic_load_n(&e->main_done, __ATOMIC_SEQ_CST)) {
			wake_connect(e);
			usleep(LM_WAKE_MS * 1000);
		}
		pthread_join(e->main_thread, NULL);
		if (helper)
			pthread_join(t, NULL);
		e->main_on = 0;
	} else
		(void)smfi_stop();	/* never ran: closes the socket */
	unlink_ours(e);
}

/* wait_idle - until no message is in progress, at most secs (engine.c) */
static void
wait_idle(const struct lm_engine *e, unsigned int secs)
{
	unsigned int	 i;

	usleep(200000);		/* commands sent without waiting, unread */
	for (i = 0; i < secs * 10 &&
	    __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST) > 0; i++)
		usleep(100000);
	if (__atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST) > 0)
		am_log_warn(NULL, "exiting with %d messages in progress",
		    __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST));
}

/* first_signal - a member of set, for lm_main to wake lm_run */
static int
first_signal(const sigset_t *set)
{
	int	 sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			return sig;
	return 0;
}

/* lm_start - smfi_main in its thread, and its signal thread parked */
static int
lm_start(struct lm_engine *e)
{
	int	 r;

	__atomic_store_n(&lm_park_armed, 1, __ATOMIC_SEQ_CST);
	if ((r = pthread_create(&e->main_thread, NULL, lm_main, e)) != 0) {
		am_log_err(NULL, "milter: libmilter thread: %s", strerror(r));
		return -1;
	}
	e->main_on = 1;
	if (!wait_parked(LM_PARK_WAIT_MS)) {
		am_log_err(NULL, "milter: libmilter's signal thread did not "
		    "call sigwait(); not serving, since it would stop the "
		    "milter on SIGHUP");
		return -1;
	}
	return 0;
}

/* lm_run - am_engine_run (engine.h) for the libmilter engine */
static int
lm_run(struct am_engine *ae, const sigset_t *stop_set,
    unsigned int drain_secs)
{
	struct lm_engine	*e = le(ae);
	int			 sig = 0, msgs;

	e->run_thread = pthread_self();
	e->wake_sig = first_signal(stop_set);
	if (lm_start(e) == -1) {
		__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
		stop_accepting(e);
		return -1;
	}
	sig = am_engine_sigwait(stop_set);
	if (!__atomic_load_n(&e->failed, __ATOMIC_SEQ_CST)) {
		msgs = __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST);
		am_log_info(NULL, "%s: no new connections; waiting up to %u s "
		    "for %d message%s in progress", strsignal(sig), drain_secs,
		    msgs, msgs == 1 ? "" : "s");
		stop_accepting(e);
		wait_idle(e, drain_secs);
	} else
		stop_accepting(e);
	return __atomic_load_n(&e->failed, __ATOMIC_SEQ_CST) ? -1 : 0;
}

/*
 * lm_stuck - libmilter cannot be asked whether its sessions have ended
 * (they end when the process does), so the engine and what the
 * callbacks use are never freed after a run
 */
static int
lm_stuck(const struct am_engine *e)
{
	return 1;
}

/* lm_destroy - only before lm_run (a start-up failure): the socket goes */
static void
lm_destroy(struct am_engine *ae)
{
	struct lm_engine	*e = le(ae);

	if (e->main_on)
		return;		/* libmilter's threads may use it */
	stop_accepting(e);
	free(e->conn);
	free(e);
	lm_the = NULL;
}

const struct am_engine_ops am_libmilter_ops = {
	.name = "libmilter",
	.create = lm_create,
	.run = lm_run,
	.stuck = lm_stuck,
	.destroy = lm_destroy,
	.udata = lm_udata,
	.getpriv = lm_getpriv,
	.setpriv = lm_setpriv,
	.steps = lm_steps,
	.symval = lm_symval,
	.setsymlist = lm_setsymlist,
	.insheader = lm_insheader,
	.chgheader = lm_chgheader,
	.quarantine = lm_quarantine,
	.setreply = lm_setreply,
};
