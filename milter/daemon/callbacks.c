/*
 * callbacks.c - the milter callbacks (engine.h).
 *
 * Per connection the engine holds a struct cb_state (the connection's
 * config snapshot) holding the session's struct am_conn.  Steps we never
 * reply to early are negotiated as AM_MPP_NR_* (no reply): the MTA does not
 * wait for us per header or body chunk, and every verdict is given at end
 * of message.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "daemon/callbacks.h"
#include "daemon/daemon.h"
#include "daemon/freport_q.h"
#include "server/engine.h"
#include "common/log.h"
#include "daemon/metrics.h"
#include "history/history.h"
#include "history/record.h"
#include "message/session.h"

/* the actions we need; ADDHDRS/CHGHDRS are required, the rest optional */
#define CB_ACTIONS_NEED	(AM_MPF_ADDHDRS | AM_MPF_CHGHDRS)
#define CB_ACTIONS_WANT	(CB_ACTIONS_NEED | AM_MPF_QUARANTINE | AM_MPF_SETSYMLIST)
/* steps we never answer early, and steps we do not need at all */
#define CB_STEPS_NR	(AM_MPP_NR_CONN | AM_MPP_NR_HELO | AM_MPP_NR_MAIL | \
			 AM_MPP_NR_RCPT | AM_MPP_NR_HDR | AM_MPP_NR_EOH | \
			 AM_MPP_NR_BODY)
/* RCPT is taken: the history's envelope_to (issue 13, RFC 9990) */
#define CB_STEPS_SKIP	(AM_MPP_NOUNKNOWN | AM_MPP_NODATA)

struct cb_state {
	struct am_config *cfg;		/* snapshot taken when the MTA connected */
	struct am_conn	*conn;
};

static enum am_mstat reply(struct am_mctx *, const char *,
    const struct am_outcome *);

/* process-wide state: see daemon/daemon.h */
static int		 active;	/* open connections; __atomic */

/* am_callbacks_active - connections with state right now */
int
am_callbacks_active(void)
{
	return __atomic_load_n(&active, __ATOMIC_SEQ_CST);
}

/* daemon_of - the daemon, handed to the engine as its user data */
static struct am_daemon *
daemon_of(const struct am_mctx *ctx)
{
	return am_mctx_udata(ctx);
}

/* state_get - our per-connection state, made on first use */
static struct cb_state *
state_get(struct am_mctx *ctx)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st == NULL && (st = calloc(1, sizeof(*st))) != NULL) {
		/* the connection's config is the one in force when it arrived */
		st->cfg = am_daemon_config(daemon_of(ctx));
		am_mctx_setpriv(ctx, st);
		__atomic_add_fetch(&active, 1, __ATOMIC_SEQ_CST);
	}
	return st;
}

/*
 * snapshot - the config the connection runs under: its own, the one taken
 * at negotiation, or (no state at all, out of memory) the current one
 */
static struct am_config *
snapshot(struct am_mctx *ctx, struct cb_state *st)
{
	if (st != NULL && st->conn != NULL)
		return am_config_ref(st->conn->cfg);
	if (st != NULL && st->cfg != NULL)
		return am_config_ref(st->cfg);
	return am_daemon_config(daemon_of(ctx));
}

/* internal - no usable message state: OnInternalError, never a crash */
static enum am_mstat
internal(struct am_mctx *ctx, struct cb_state *st, const char *why)
{
	struct am_config	*cfg = snapshot(ctx, st);
	struct am_outcome	 o;
	const char		*qid = am_mctx_symval(ctx, "i");
	enum am_mstat		 rc;

	am_outcome_internal(cfg, why, &o);
	am_config_unref(cfg);
	am_log_err(qid, "internal error: %s; action=%s", why,
	    am_action_str(o.verdict.action));
	/* accept before end of message: stop filtering, let it through */
	rc = o.verdict.action == AM_ACT_ACCEPT ? AM_MS_ACCEPT :
	    reply(ctx, qid, &o);
	am_outcome_clear(&o);
	return rc;
}

/* cb_negotiate - ask for the actions, steps and macros we use */
static int
cb_negotiate(struct am_mctx *ctx, uint32_t actions, uint32_t steps,
    uint32_t *want_actions, uint32_t *want_steps)
{
	if ((actions & CB_ACTIONS_NEED) != CB_ACTIONS_NEED) {
		am_log_err(NULL, "MTA does not offer header changes; not filtering");
		return -1;
	}
	if (state_get(ctx) == NULL)
		return -1;
	*want_actions = actions & CB_ACTIONS_WANT;
	/*
	 * c=simple DKIM needs the header's leading whitespace as sent: take
	 * HDR_LEADSPC whenever offered (Postfix offers it from milter_protocol
	 * 6, sendmail 8.14 always).  Not asked for when not offered: sendmail
	 * drops a filter that asks for more than the MTA offered.
	 */
	*want_steps = steps & (CB_STEPS_NR | CB_STEPS_SKIP | AM_MPP_HDR_LEADSPC);
	if (!(steps & AM_MPP_HDR_LEADSPC))
		am_log_debug(NULL, "MTA offers no HDR_LEADSPC: header whitespace "
		    "after the colon is reconstructed");
	if ((*want_actions & AM_MPF_SETSYMLIST) &&
	    (am_mctx_setsymlist(ctx, AM_MPS_MAIL, "i {auth_authen}") == -1 ||
	    am_mctx_setsymlist(ctx, AM_MPS_EOM, "i") == -1))
		return -1;
	return 0;
}

/* cb_connect - a new SMTP client */
static enum am_mstat
cb_connect(struct am_mctx *ctx, const char *hostname,
    const struct sockaddr *addr)
{
	struct cb_state		*st = state_get(ctx);

	if (st == NULL)
		return internal(ctx, NULL, "out of memory at connect");
	/* taken at negotiation; a later connect on the same socket: current */
	if (st->cfg == NULL)
		st->cfg = am_daemon_config(daemon_of(ctx));
	am_conn_free(st->conn);
	st->conn = am_conn_new(&daemon_of(ctx)->env, st->cfg, hostname, addr);
	if (st->conn == NULL)
		return internal(ctx, st, "out of memory at connect");
	/*
	 * Without HDR_LEADSPC (milter protocol 2-4, or not offered) Postfix
	 * and sendmail drop one space after each header's colon: the session
	 * puts it back (session.h am_msg_header)
	 */
	st->conn->hdr_space_lost =
	    !(am_mctx_steps(ctx) & AM_MPP_HDR_LEADSPC);
	am_config_unref(st->cfg);	/* the connection holds its own */
	st->cfg = NULL;
	return AM_MS_CONTINUE;
}

/* cb_helo - HELO/EHLO argument */
static enum am_mstat
cb_helo(struct am_mctx *ctx, const char *helo)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st == NULL || st->conn == NULL || am_conn_helo(st->conn, helo) == -1)
		return internal(ctx, st, "no connection state at HELO");
	return AM_MS_CONTINUE;
}

/* cb_envfrom - MAIL FROM: a new message; SPF runs here */
static enum am_mstat
cb_envfrom(struct am_mctx *ctx, const char **argv)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);
	struct am_msg	*m;

	if (st == NULL || st->conn == NULL)
		return internal(ctx, st, "no connection state at MAIL");
	m = am_msg_begin(st->conn, am_mctx_symval(ctx, "i"),
	    argv != NULL ? argv[0] : NULL, am_mctx_symval(ctx, "{auth_authen}"));
	if (m == NULL)
		return internal(ctx, st, "out of memory at MAIL");
	return AM_MS_CONTINUE;
}

/*
 * cb_rcpt - RCPT TO: the first recipient's domain is the message's
 * envelope_to (RFC 9990 2.1 identifiers; one per record, so the first);
 * later recipients are not looked at.  Never a verdict here.
 */
static enum am_mstat
cb_rcpt(struct am_mctx *ctx, const char **argv)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);
	struct am_msg	*m;

	if (st == NULL || st->conn == NULL || (m = st->conn->msg) == NULL)
		return AM_MS_CONTINUE;	/* EOM reports it */
	if (!m->rcpt_seen) {
		m->rcpt_seen = 1;
		am_hist_rcpt_domain(argv != NULL ? argv[0] : NULL,
		    m->rcpt_domain, sizeof(m->rcpt_domain));
	}
	return AM_MS_CONTINUE;
}

/* cb_header - one header field */
static enum am_mstat
cb_header(struct am_mctx *ctx, const char *name, const char *value)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st == NULL || st->conn == NULL || st->conn->msg == NULL)
		return AM_MS_CONTINUE;	/* EOM reports it */
	am_msg_header(st->conn->msg, name, value);
	return AM_MS_CONTINUE;
}

/* cb_eoh - end of headers */
static enum am_mstat
cb_eoh(struct am_mctx *ctx)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st != NULL && st->conn != NULL && st->conn->msg != NULL)
		am_msg_eoh(st->conn->msg);
	return AM_MS_CONTINUE;
}

/* cb_body - one body chunk */
static enum am_mstat
cb_body(struct am_mctx *ctx, const unsigned char *chunk, size_t len)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st != NULL && st->conn != NULL && st->conn->msg != NULL)
		am_msg_body(st->conn->msg, chunk, len);
	return AM_MS_CONTINUE;
}

/* join - a + b in new storage (asprintf's vfprintf was 0.6 % of the CPU) */
static char *
join(const char *a, const char *b)
{
	size_t	 na = strlen(a), nb = strlen(b);
	char	*v;

	if ((v = malloc(na + nb + 1)) == NULL)
		return NULL;
	memcpy(v, a, na);
	memcpy(v + na, b, nb + 1);
	return v;
}

/*
 * apply_edits - the outcome's header edits, in its order.  With
 * HDR_LEADSPC negotiated, Postfix and sendmail take an added value as
 * everything after the colon and add no space of their own, so the space
 * is ours to send.  -1 if the MTA refused any.
 */
static int
apply_edits(struct am_mctx *ctx, const struct am_outcome *o)
{
	const struct am_edit	*e;
	const char		*sp;
	char			*v;
	size_t			 i;
	int			 rc = 0;

	sp = (am_mctx_steps(ctx) & AM_MPP_HDR_LEADSPC) ? " " : "";
	for (i = 0; i < o->nedits; i++) {
		e = &o->edits[i];
		if (e->kind == AM_EDIT_DELETE) {
			if (am_mctx_chgheader(ctx, e->name,
			    (uint32_t)e->index, NULL) == -1)
				rc = -1;
			continue;
		}
		if ((v = join(sp, e->value)) == NULL)
			return -1;
		if (am_mctx_insheader(ctx, (uint32_t)e->index, e->name,
		    v) == -1)
			rc = -1;
		free(v);
	}
	return rc;
}

/*
 * reply_text - copy text for the SMTP reply, '%' doubled: sendmail reads
 * the text as a format (libmilter's smfi_setreply demanded the same)
 */
static void
reply_text(const char *in, char *out, size_t outlen)
{
	size_t	 o = 0;

	for (; *in != '\0' && o + 2 < outlen; in++) {
		if (*in == '%')
			out[o++] = '%';
		out[o++] = *in;
	}
	out[o] = '\0';
}

/* reply - the outcome's verdict to the engine */
static enum am_mstat
reply(struct am_mctx *ctx, const char *qid, const struct am_outcome *o)
{
	const struct am_verdict	*v = &o->verdict;
	char			 text[sizeof(v->text) * 2];

	switch (v->action) {
	case AM_ACT_QUARANTINE:
		if (v->text[0] != '\0')	/* OnMalformedFrom, OnMissingFrom */
			snprintf(text, sizeof(text), "%s", v->text);
		else
			snprintf(text, sizeof(text),
			    "DMARC policy quarantine for %s",
			    o->res->dmarc.from_domain);
		if (am_mctx_quarantine(ctx, text) == -1)
			am_log_warn(qid, "MTA refused quarantine; delivering");
		return AM_MS_CONTINUE;
	case AM_ACT_REJECT:
	case AM_ACT_TEMPFAIL:
		reply_text(v->text, text, sizeof(text));
		if (am_mctx_setreply(ctx, v->code, v->xcode, text) == -1)
			am_log_warn(qid, "could not set reply text");
		return v->action == AM_ACT_REJECT ? AM_MS_REJECT : AM_MS_TEMPFAIL;
	case AM_ACT_ACCEPT:
	default:
		return AM_MS_CONTINUE;
	}
}

/* log_summary - the one INFO line per message */
static void
log_summary(const struct am_msg *m, const struct am_verdict *v)
{
	struct am_buf	 b;
	char		*cut = NULL;

	if (!am_log_enabled(AM_LOG_INFO))
		return;			/* LogLevel below info: not built */
	am_buf_init(&b, 4096);
	am_msg_summary(m, v, &b);
	if (am_buf_failed(&b) && asprintf(&cut, "%s truncated=yes",
	    am_buf_str(&b)) == -1)
		cut = NULL;
	am_log_fields(AM_LOG_INFO, m->qid, cut ? cut : am_buf_str(&b));
	free(cut);
	am_buf_clear(&b);
}

/*
 * record_history - the message's history record into the queue (issue 13;
 * record.h says which messages get one).  Never waits for the store.
 * Not inlined (issue 17): its 5.2 KB record would sit in cb_eom's frame
 * under the checks' deepest calls, a page more of resident stack in every
 * worker thread (64 KB -> 60 KB each, measured at c=128).
 */
static void __attribute__((noinline))
record_history(struct am_daemon *d, const struct am_msg *m,
    const struct am_outcome *o)
{
	struct am_hist_in	 in;
	struct am_hist_rec	 r;

	if (!am_history_enabled(d->history))
		return;
	memset(&in, 0, sizeof(in));
	in.t = (long long)time(NULL);
	in.reporter = m->conn->cfg->authserv_id;
	in.source_ip = m->conn->client_ip;
	in.mailfrom = m->mailfrom != NULL ? m->mailfrom : "";
	in.rcpt = m->rcpt_domain;	/* "" when no RCPT came (cb_rcpt) */
	in.exempt = o->exempt != NULL;
	in.action = o->verdict.action;
	in.why = o->verdict.why;
	in.res = o->res;
	if (!am_hist_wanted(&in))
		return;
	am_hist_build(&in, &r);
	am_history_put(d->history, &r);
}

/* cb_eom - end of message: the session's outcome, applied */
static enum am_mstat
cb_eom(struct am_mctx *ctx)
{
	struct cb_state		*st = am_mctx_getpriv(ctx);
	struct am_msg		*m;
	struct am_outcome	 o;
	struct timespec		 t0, t1;
	enum am_mstat		 rc;

	if (st == NULL || st->conn == NULL || st->conn->msg == NULL)
		return internal(ctx, st, "no message state at end of message");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = st->conn->msg;
	am_msg_set_qid(m, am_mctx_symval(ctx, "i"));
	am_msg_end(m, &o);
	if (apply_edits(ctx, &o) == -1)
		am_msg_edits_failed(m, &o);
	log_summary(m, &o.verdict);
	am_freport_offer(m, &o);	/* issue 13: queued, never waited for */
	rc = reply(ctx, m->qid, &o);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	am_metrics_message(o.res, o.exempt != NULL, o.verdict.action,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	record_history(daemon_of(ctx), m, &o);
	am_outcome_clear(&o);
	am_msg_free(m);
	return rc;
}

/* cb_abort - the transaction ended without end of message */
static void
cb_abort(struct am_mctx *ctx)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st != NULL && st->conn != NULL)
		am_msg_free(st->conn->msg);
}

/* cb_close - the connection is gone */
static void
cb_close(struct am_mctx *ctx)
{
	struct cb_state	*st = am_mctx_getpriv(ctx);

	if (st != NULL) {
		am_conn_free(st->conn);
		am_config_unref(st->cfg);
		free(st);
		am_mctx_setpriv(ctx, NULL);
		__atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
	}
}

static const struct am_milter cb_milter = {
	.negotiate = cb_negotiate,
	.connect = cb_connect,
	.helo = cb_helo,
	.envfrom = cb_envfrom,
	.rcpt = cb_rcpt,
	.header = cb_header,
	.eoh = cb_eoh,
	.body = cb_body,
	.eom = cb_eom,
	.abort = cb_abort,
	.close = cb_close,
};

/* am_callbacks_milter - the table for am_engine_new */
const struct am_milter *
am_callbacks_milter(void)
{
	return &cb_milter;
}
