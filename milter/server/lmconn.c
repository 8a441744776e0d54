/*
 * lmconn.c - the libmilter engine's connections: the xxfi_* callbacks
 * libmilter calls, mapped one to one onto the filter's (engine.h), with
 * the pending-verdict rule libmilter lacks, and the am_mctx_* calls on
 * smfi_*.  See lmengine.c for the engine, lmengine_int.h for what the
 * files share.
 *
 * The pending-verdict rule (engine.h): a result other than CONTINUE at a
 * step negotiated as "no reply" is kept (libmilter would drop it: it sends
 * nothing at such a step, logging "milter claimed not to reply") and given
 * at the next step the MTA waits for; the message's callbacks are skipped
 * meanwhile, as conn.c does for the built-in engine.
 *
 * Threads: libmilter runs one connection's callbacks one at a time; the
 * QUIT_NC table (closed_keep) is shared, under its mutex.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "server/engine.h"
#include "server/lmengine_int.h"
#include "server/mproto.h"

#define LM_CLOSED_KEEP		64	/* negotiated steps kept after close */
#define LM_MACRO_NAME_MAX	64	/* a macro name tried in its other form */

/* the numbers are the protocol's: mproto.h and mfapi.h agree */
_Static_assert(AM_MPF_ADDHDRS == SMFIF_ADDHDRS &&
    AM_MPF_CHGHDRS == SMFIF_CHGHDRS && AM_MPF_QUARANTINE == SMFIF_QUARANTINE &&
    AM_MPF_SETSYMLIST == SMFIF_SETSYMLIST, "action flags");
_Static_assert(AM_MPP_NR_CONN == SMFIP_NR_CONN &&
    AM_MPP_NR_HDR == SMFIP_NR_HDR && AM_MPP_NR_BODY == SMFIP_NR_BODY &&
    AM_MPP_HDR_LEADSPC == SMFIP_HDR_LEADSPC, "protocol flags");
_Static_assert(AM_MPS_MAIL == SMFIM_ENVFROM && AM_MPS_EOM == SMFIM_EOM,
    "macro stages");

/* process-wide state: steps negotiated on connections closed lately,
 * for QUIT_NC (see lm_get) */
static struct {
	SMFICTX		*ctx;
	uint32_t	 actions, steps;
} lm_closed[LM_CLOSED_KEEP];
static unsigned int	 lm_closed_next;
static pthread_mutex_t	 lm_closed_mu = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------ connections */

/* lm_of - our state of a libmilter connection, or NULL */
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
	c->e = am_lm_the;
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

/* process-wide state: messages in progress, for am_lm_log_live */
static struct lm_mctx	*lm_live;
static pthread_mutex_t	 lm_live_mu = PTHREAD_MUTEX_INITIALIZER;

/* live_link, live_unlink - on and off the list; with lm_live_mu held */
static void
live_link(struct lm_mctx *c)
{
	c->live_prev = NULL;
	c->live_next = lm_live;
	if (lm_live != NULL)
		lm_live->live_prev = c;
	lm_live = c;
}

static void
live_unlink(struct lm_mctx *c)
{
	if (c->live_prev != NULL)
		c->live_prev->live_next = c->live_next;
	else
		lm_live = c->live_next;
	if (c->live_next != NULL)
		c->live_next->live_prev = c->live_prev;
	c->live_prev = c->live_next = NULL;
}

/*
 * note_qid - keep the message's queue id once the MTA has sent it (at
 * MAIL for Postfix and Sendmail): libmilter's macros may not be read from
 * another thread, so am_lm_log_live reads this copy
 */
static void
note_qid(struct lm_mctx *c)
{
	const char	*qid;

	if (c->qid[0] != '\0' || !c->in_msg ||
	    (qid = smfi_getsymval(c->ctx, "i")) == NULL || *qid == '\0')
		return;
	pthread_mutex_lock(&lm_live_mu);
	snprintf(c->qid, sizeof(c->qid), "%s", qid);
	pthread_mutex_unlock(&lm_live_mu);
}

/* in_message - the MTA starts or ends a transaction (for the drain) */
static void
in_message(struct lm_mctx *c, int on)
{
	if (c->in_msg == on)
		return;
	pthread_mutex_lock(&lm_live_mu);
	c->in_msg = on;
	c->qid[0] = '\0';
	if (on)
		live_link(c);
	else
		live_unlink(c);
	pthread_mutex_unlock(&lm_live_mu);
	__atomic_add_fetch(&c->e->msgs, on ? 1 : -1, __ATOMIC_SEQ_CST);
	if (on)
		note_qid(c);
}

#define CUT_MSG	"connection closed before the end of the message: not " \
	"filtered (the MTA applies its default action)"

/* am_lm_log_live - see lmengine_int.h */
void
am_lm_log_live(void)
{
	struct lm_mctx	*c;

	pthread_mutex_lock(&lm_live_mu);
	for (c = lm_live; c != NULL; c = c->live_next)
		am_log_warn(c->qid[0] != '\0' ? c->qid : NULL, "%s", CUT_MSG);
	pthread_mutex_unlock(&lm_live_mu);
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

/* lm_envrcpt - one recipient, as conn.c */
static sfsistat
lm_envrcpt(SMFICTX *ctx, char **argv)
{
	struct lm_mctx	*c = lm_get(ctx);
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	if (go(c) && c->e->cb->rcpt != NULL)
		st = c->e->cb->rcpt(MC(c), (const char **)argv);
	return answer(c, SMFIP_NR_RCPT, st);
}

/* lm_data, lm_unknown - only a kept verdict, as conn.c */

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
	note_qid(c);
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
	if (c->in_msg) {
		/* the MTA gone mid-message: named as conn.c names it */
		note_qid(c);
		am_log_warn(c->qid[0] != '\0' ? c->qid : NULL, "%s", CUT_MSG);
		c->e->cb->abort(MC(c));
	}
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

void *
am_lm_udata(const struct am_mctx *m)
{
	return cc(m)->e->udata;
}

void *
am_lm_getpriv(const struct am_mctx *m)
{
	return cc(m)->priv;
}

void
am_lm_setpriv(struct am_mctx *m, void *p)
{
	mc(m)->priv = p;
}

uint32_t
am_lm_steps(const struct am_mctx *m)
{
	return cc(m)->steps;
}

/*
 * am_lm_symval - "x" and "{x}" name the same macro, either way round, as
 * for the built-in engine (mproto.h am_mp_macro_find); libmilter itself
 * tries the other form only for one-letter names
 */
const char *
am_lm_symval(const struct am_mctx *m, const char *name)
{
	const char	*v;
	char		 alt[LM_MACRO_NAME_MAX + 3];
	size_t		 n = strlen(name);

	if ((v = smfi_getsymval(cc(m)->ctx, (char *)name)) != NULL ||
	    n < 2 || n > LM_MACRO_NAME_MAX)
		return v;
	if (name[0] == '{' && name[n - 1] == '}')
		snprintf(alt, sizeof(alt), "%.*s", (int)(n - 2), name + 1);
	else
		snprintf(alt, sizeof(alt), "{%s}", name);
	return smfi_getsymval(cc(m)->ctx, alt);
}

int
am_lm_setsymlist(struct am_mctx *m, enum am_mp_stage stage, const char *list)
{
	return smfi_setsymlist(mc(m)->ctx, (int)stage, (char *)list) ==
	    MI_SUCCESS ? 0 : -1;
}

int
am_lm_insheader(struct am_mctx *m, uint32_t idx, const char *name,
    const char *value)
{
	return smfi_insheader(mc(m)->ctx, (int)idx, (char *)name,
	    (char *)value) == MI_SUCCESS ? 0 : -1;
}

int
am_lm_chgheader(struct am_mctx *m, const char *name, uint32_t idx,
    const char *value)
{
	return smfi_chgheader(mc(m)->ctx, (char *)name, (int)idx,
	    (char *)value) == MI_SUCCESS ? 0 : -1;
}

int
am_lm_quarantine(struct am_mctx *m, const char *reason)
{
	return smfi_quarantine(mc(m)->ctx, (char *)reason) == MI_SUCCESS ?
	    0 : -1;
}

int
am_lm_setreply(struct am_mctx *m, const char *code, const char *xcode,
    const char *text)
{
	return smfi_setreply(mc(m)->ctx, (char *)code, (char *)xcode,
	    (char *)text) == MI_SUCCESS ? 0 : -1;
}

struct smfiDesc am_lm_desc = {
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
