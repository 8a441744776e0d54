/*
 * callbacks.c - the libmilter callbacks.
 *
 * Per connection libmilter gets a struct cb_state (what was negotiated with
 * the MTA) holding the session's struct am_conn.  Steps we never reply to
 * early are negotiated as SMFIP_NR_* (no reply): the MTA does not wait for
 * us per header or body chunk, and every verdict is given at end of message.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "buf.h"
#include "callbacks.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "session.h"
#include "spf.h"

#define AM_MILTER_NAME	"authmilter"

/* the actions we need; ADDHDRS/CHGHDRS are required, the rest optional */
#define CB_ACTIONS_NEED	(SMFIF_ADDHDRS | SMFIF_CHGHDRS)
#define CB_ACTIONS_WANT	(CB_ACTIONS_NEED | SMFIF_QUARANTINE | SMFIF_SETSYMLIST)
/* steps we never answer early, and steps we do not need at all */
#define CB_STEPS_NR	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
			 SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY)
#define CB_STEPS_SKIP	(SMFIP_NORCPT | SMFIP_NOUNKNOWN | SMFIP_NODATA)

struct cb_state {
	int		 in_msg;	/* counted in busy */
	unsigned long	 actions;	/* negotiated SMFIF_* */
	unsigned long	 steps;		/* negotiated SMFIP_* */
	struct am_config *cfg;		/* snapshot taken when the MTA connected */
	struct am_conn	*conn;
};

static struct am_daemon	*daemon_ctx;	/* set once before smfi_main() */
static int		 active;	/* open connections; __atomic */
static int		 busy;		/* messages between MAIL and EOM; __atomic */

/* am_callbacks_init - remember the daemon */
void
am_callbacks_init(struct am_daemon *d)
{
	daemon_ctx = d;
}

/* am_callbacks_active - connections with state right now */
int
am_callbacks_active(void)
{
	return __atomic_load_n(&active, __ATOMIC_SEQ_CST);
}

/* am_callbacks_busy - messages in progress right now */
int
am_callbacks_busy(void)
{
	return __atomic_load_n(&busy, __ATOMIC_SEQ_CST);
}

/* msg_begin, msg_end - keep the busy count for a clean shutdown */
static void
msg_begin(struct cb_state *st)
{
	if (!st->in_msg) {
		st->in_msg = 1;
		__atomic_add_fetch(&busy, 1, __ATOMIC_SEQ_CST);
	}
}

static void
msg_end(struct cb_state *st)
{
	if (st != NULL && st->in_msg) {
		st->in_msg = 0;
		__atomic_sub_fetch(&busy, 1, __ATOMIC_SEQ_CST);
	}
}

/* state_get - our per-connection state, made on first use */
static struct cb_state *
state_get(SMFICTX *ctx)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st == NULL && (st = calloc(1, sizeof(*st))) != NULL) {
		/* an MTA that did not negotiate: assume it sends everything */
		st->actions = CB_ACTIONS_WANT;
		/* the connection's config is the one in force when it arrived */
		st->cfg = am_daemon_config(daemon_ctx);
		smfi_setpriv(ctx, st);
		__atomic_add_fetch(&active, 1, __ATOMIC_SEQ_CST);
	}
	return st;
}

/* noreply - the return value for a step that may be negotiated NR */
static sfsistat
noreply(const struct cb_state *st, unsigned long nrflag)
{
	return (st != NULL && (st->steps & nrflag)) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* internal - no usable state: the configured safe action, never a crash */
static sfsistat
internal(SMFICTX *ctx, const char *why)
{
	struct am_config	*cfg = am_daemon_config(daemon_ctx);
	enum am_action		 act = cfg->on_internal_error;

	am_config_unref(cfg);
	am_log_err(smfi_getsymval(ctx, "i"), "internal error: %s; action=%s",
	    why, am_action_str(act));
	if (act != AM_ACT_TEMPFAIL)
		return SMFIS_ACCEPT;
	smfi_setreply(ctx, "451", "4.3.0", "Temporary internal error, try again later");
	return SMFIS_TEMPFAIL;
}

/* cb_negotiate - ask for the actions, steps and macros we use */
static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0, unsigned long *pf1,
    unsigned long *pf2, unsigned long *pf3)
{
	struct cb_state	*st;

	if ((f0 & CB_ACTIONS_NEED) != CB_ACTIONS_NEED) {
		am_log_err(NULL, "MTA does not offer header changes; not filtering");
		return SMFIS_REJECT;
	}
	if ((st = state_get(ctx)) == NULL)
		return SMFIS_REJECT;
	st->actions = f0 & CB_ACTIONS_WANT;
	/* c=simple DKIM needs the header's leading whitespace as sent */
	st->steps = f1 & (CB_STEPS_NR | CB_STEPS_SKIP | SMFIP_HDR_LEADSPC);
	*pf0 = st->actions;
	*pf1 = st->steps;
	*pf2 = 0;
	*pf3 = 0;
	if (st->actions & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/* cb_connect - a new SMTP client */
static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *addr)
{
	struct cb_state		*st = state_get(ctx);
	struct am_config	*cfg;

	if (st == NULL)
		return internal(ctx, "out of memory at connect");
	/* taken at negotiation; a later connect on the same socket: current */
	cfg = st->cfg != NULL ? st->cfg : am_daemon_config(daemon_ctx);
	st->cfg = NULL;
	am_conn_free(st->conn);
	st->conn = am_conn_new(&daemon_ctx->env, cfg, hostname, addr);
	am_config_unref(cfg);
	if (st->conn == NULL)
		return internal(ctx, "out of memory at connect");
	return noreply(st, SMFIP_NR_CONN);
}

/* cb_helo - HELO/EHLO argument */
static sfsistat
cb_helo(SMFICTX *ctx, char *helo)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st == NULL || st->conn == NULL || am_conn_helo(st->conn, helo) == -1)
		return internal(ctx, "no connection state at HELO");
	return noreply(st, SMFIP_NR_HELO);
}

/* cb_envfrom - MAIL FROM: a new message; SPF runs here */
static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct cb_state	*st = smfi_getpriv(ctx);
	struct am_msg	*m;

	if (st == NULL || st->conn == NULL)
		return internal(ctx, "no connection state at MAIL");
	/* busy from here: the SPF look-ups below belong to the message too */
	msg_begin(st);
	m = am_msg_new(st->conn, argv != NULL ? argv[0] : NULL,
	    smfi_getsymval(ctx, "{auth_authen}"));
	if (m == NULL) {
		msg_end(st);
		return internal(ctx, "out of memory at MAIL");
	}
	am_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	return noreply(st, SMFIP_NR_MAIL);
}

/* cb_header - one header field */
static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct cb_state	*st = smfi_getpriv(ctx);
	char		*v = NULL;

	if (st == NULL || st->conn == NULL || st->conn->msg == NULL)
		return noreply(st, SMFIP_NR_HDR);	/* EOM reports it */
	/* without SMFIP_HDR_LEADSPC the MTA ate the usual single space */
	if (!(st->steps & SMFIP_HDR_LEADSPC) && value != NULL &&
	    asprintf(&v, " %s", value) == -1)
		v = NULL;
	am_msg_header(st->conn->msg, name, v != NULL ? v : value);
	free(v);
	return noreply(st, SMFIP_NR_HDR);
}

/* cb_eoh - end of headers */
static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st != NULL && st->conn != NULL && st->conn->msg != NULL)
		am_msg_eoh(st->conn->msg);
	return noreply(st, SMFIP_NR_EOH);
}

/* cb_body - one body chunk */
static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st != NULL && st->conn != NULL && st->conn->msg != NULL)
		am_msg_body(st->conn->msg, chunk, len);
	return noreply(st, SMFIP_NR_BODY);
}

/*
 * value_start - begin a header value we add.  With SMFIP_HDR_LEADSPC
 * negotiated, Postfix and sendmail take an added value as everything after
 * the colon and add no space of their own, so the space is ours to send.
 */
static void
value_start(const struct cb_state *st, struct am_buf *b)
{
	if (st->steps & SMFIP_HDR_LEADSPC)
		am_buf_addc(b, ' ');
}

/* edit_headers - delete forged A-R (reverse order), insert ours at the top */
static int
edit_headers(SMFICTX *ctx, const struct cb_state *st, struct am_msg *m,
    const struct am_verdict *v)
{
	struct am_buf	 b;
	size_t		 i;
	int		 rc = 0;

	/* RFC 8601 5: ours only; reverse so earlier indexes stay valid */
	for (i = m->nforged; i > 0; i--)
		if (smfi_chgheader(ctx, "Authentication-Results",
		    (int)m->forged[i - 1], NULL) != MI_SUCCESS)
			rc = -1;
	am_buf_init(&b, AM_AUTHRES_MAX + 1);
	value_start(st, &b);
	if (am_msg_authres(m, v, &b) == -1 ||
	    smfi_insheader(ctx, 0, "Authentication-Results",
	    (char *)am_buf_str(&b)) != MI_SUCCESS)
		rc = -1;
	am_buf_clear(&b);
	return rc;
}

/* add_received_spf - RFC 7208 9.1 header, when configured */
static void
add_received_spf(SMFICTX *ctx, const struct cb_state *st, struct am_msg *m)
{
	struct am_buf	 b;
	struct am_conn	*c = m->conn;

	if (!c->cfg->add_received_spf || m->exempt != NULL ||
	    !m->res.spf_mailfrom.checked)
		return;
	am_buf_init(&b, AM_AUTHRES_MAX + 1);
	value_start(st, &b);
	am_spf_received(&m->res.spf_mailfrom, c->client_ip, c->helo ? c->helo : "",
	    c->cfg->authserv_id, &b);
	if (am_buf_failed(&b) ||
	    smfi_insheader(ctx, 0, "Received-SPF", (char *)am_buf_str(&b)) != MI_SUCCESS)
		am_log_warn(m->qid, "could not add Received-SPF");
	am_buf_clear(&b);
}

/* reply_text - copy text for smfi_setreply, escaping '%' as it requires */
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

/* reply - verdict to libmilter */
static sfsistat
reply(SMFICTX *ctx, struct am_msg *m, const struct am_verdict *v)
{
	char	 text[sizeof(v->text) * 2];

	switch (v->action) {
	case AM_ACT_QUARANTINE:
		snprintf(text, sizeof(text), "DMARC policy quarantine for %s",
		    m->res.dmarc.from_domain);
		if (smfi_quarantine(ctx, text) != MI_SUCCESS)
			am_log_warn(m->qid, "MTA refused quarantine; delivering");
		return SMFIS_CONTINUE;
	case AM_ACT_REJECT:
	case AM_ACT_TEMPFAIL:
		reply_text(v->text, text, sizeof(text));
		if (smfi_setreply(ctx, (char *)v->code, (char *)v->xcode,
		    text) != MI_SUCCESS)
			am_log_warn(m->qid, "could not set reply text");
		return v->action == AM_ACT_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	case AM_ACT_ACCEPT:
	default:
		return SMFIS_CONTINUE;
	}
}

/* log_summary - the one INFO line per message */
static void
log_summary(const struct am_msg *m, const struct am_verdict *v)
{
	struct am_buf	 b;

	am_buf_init(&b, 4096);
	am_msg_summary(m, v, &b);
	am_log_info(m->qid, "%s%s", am_buf_str(&b),
	    am_buf_failed(&b) ? " (truncated)" : "");
	am_buf_clear(&b);
}

/* cb_eom - end of message: finish checks, edit headers, decide, reply */
static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct cb_state		*st = smfi_getpriv(ctx);
	struct am_msg		*m;
	struct am_verdict	 v;
	struct timespec		 t0, t1;
	sfsistat		 rc;

	if (st == NULL || st->conn == NULL || st->conn->msg == NULL)
		return internal(ctx, "no message state at end of message");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = st->conn->msg;
	am_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	am_msg_finish(m);
	am_msg_decide(m, &v);
	if (v.action == AM_ACT_ACCEPT || v.action == AM_ACT_QUARANTINE) {
		/* Received-SPF first: A-R, inserted last at index 0, ends on top */
		add_received_spf(ctx, st, m);
		if (edit_headers(ctx, st, m, &v) == -1) {
			am_msg_set_err(m, AM_ERR_MILTER, "header edit failed");
			am_msg_decide(m, &v);
		}
	}
	log_summary(m, &v);
	rc = reply(ctx, m, &v);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	am_metrics_message(&m->res, m->exempt != NULL, v.action,
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	am_msg_free(m);
	msg_end(st);
	return rc;
}

/* cb_abort - the transaction ended without end of message */
static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st != NULL && st->conn != NULL)
		am_msg_free(st->conn->msg);
	msg_end(st);
	return SMFIS_CONTINUE;
}

/* cb_close - the connection is gone */
static sfsistat
cb_close(SMFICTX *ctx)
{
	struct cb_state	*st = smfi_getpriv(ctx);

	if (st != NULL) {
		msg_end(st);
		am_conn_free(st->conn);
		am_config_unref(st->cfg);
		free(st);
		smfi_setpriv(ctx, NULL);
		__atomic_sub_fetch(&active, 1, __ATOMIC_SEQ_CST);
	}
	return SMFIS_CONTINUE;
}

static struct smfiDesc cb_desc = {
	.xxfi_name = AM_MILTER_NAME,
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
	    SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = NULL,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = cb_negotiate,
};

/* am_callbacks_desc - the table for smfi_register */
struct smfiDesc *
am_callbacks_desc(void)
{
	return &cb_desc;
}
