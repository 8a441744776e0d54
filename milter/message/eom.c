/*
 * eom.c - the end of a message: the verdict and the header edits that go
 * with it (struct am_outcome), our A-R text and the summary line.
 *
 * One path for the daemon and the offline checker: both call am_msg_end
 * and only apply or print its outcome.  Decisions are policy.c's; the
 * sticky error (session.c am_msg_set_err) is what turns a failure here
 * into OnInternalError.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc_trust.h"
#include "dkim/sign.h"
#include "message/authres.h"
#include "message/session.h"
#include "spf/spf.h"

/* policy_conf - what policy reads of the connection's config snapshot */
static void
policy_conf(const struct am_config *cfg, struct am_policy_conf *pc)
{
	pc->reject_failures = cfg->reject_failures;
	pc->hold_quarantined = cfg->hold_quarantined;
	pc->reject_string = cfg->reject_string;
	pc->on_temperror = cfg->on_temperror;
	pc->on_internal_error = cfg->on_internal_error;
	pc->on_malformed_from = cfg->on_malformed_from;
	pc->on_missing_from = cfg->on_missing_from;
	pc->reject_spf_fail = cfg->reject_spf_fail;
}

/* am_msg_decide - the verdict for a finished message */
void
am_msg_decide(const struct am_msg *m, struct am_verdict *v)
{
	struct am_policy_conf	 pc;

	policy_conf(m->conn->cfg, &pc);
	am_policy_decide(&pc, &m->facts, &m->res, m->err, v);
}

/*
 * am_msg_authres - our Authentication-Results value.  When it does not fit
 * AM_AUTHRES_MAX, DKIM entries are left out from the end until it does
 * (they still counted for DMARC; the summary line has them all).
 */
int
am_msg_authres(const struct am_msg *m, const struct am_verdict *v,
    struct am_buf *b)
{
	struct am_results	*r;
	const char		*id = m->conn->cfg->authserv_id;
	int			 rc;

	if (m->exempt != NULL)
		return am_authres_build_none(b, id, m->exempt);
	if (am_authres_build(b, id, &m->res, v->action) == 0)
		return 0;
	if ((r = malloc(sizeof(*r))) == NULL)
		return -1;
	*r = m->res;
	for (rc = -1; rc == -1 && r->ndkim > 0; ) {
		r->ndkim--;
		am_buf_reset(b);
		rc = am_authres_build(b, id, r, v->action);
	}
	free(r);
	return rc;
}

/*
 * The summary line (README "Reading the log"): key=value pairs, a value
 * either a token (no space, no '"') or "text" (no '"'), so it splits
 * without ambiguity, and common/log.c can turn it into JSON members.
 */

/* add_kv - " key=token", the value sanitised; "-" when empty */
static void
add_kv(struct am_buf *b, const char *key, const char *value)
{
	const char	*p;

	am_buf_addf(b, " %s=", key);
	if (value == NULL || *value == '\0') {
		am_buf_adds(b, "-");
		return;
	}
	for (p = value; *p != '\0'; p++)
		am_buf_addc(b, (*p > ' ' && *p < 127 && *p != '"') ? *p : '_');
}

/* add_text - the characters of a "text" value: no '"', no control */
static void
add_text(struct am_buf *b, const char *value)
{
	const char	*p;

	for (p = value; *p != '\0'; p++)
		am_buf_addc(b, *p == '"' ? '\'' :
		    ((unsigned char)*p < ' ' || *p == 127) ? '?' : *p);
}

/* add_reason - " key=\"text\"" when text is not empty */
static void
add_reason(struct am_buf *b, const char *key, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	am_buf_addf(b, " %s=\"", key);
	add_text(b, text);
	am_buf_adds(b, "\"");
}

/* spf_failed - a result whose reason the log line gives */
static int
spf_failed(const struct am_spf_check *c)
{
	return c->checked && c->result != AM_SPF_PASS &&
	    c->result != AM_SPF_NONE;
}

/* summary_spf - both identities, and why one did not pass */
static void
summary_spf(const struct am_results *r, struct am_buf *b)
{
	am_buf_addf(b, " spf_helo=%s spf=%s",
	    r->spf_helo.checked ? am_spf_result_str(r->spf_helo.result) : "-",
	    r->spf_mailfrom.checked ?
	    am_spf_result_str(r->spf_mailfrom.result) : "-");
	if (spf_failed(&r->spf_helo))
		add_reason(b, "spf_helo.reason", r->spf_helo.reason);
	if (spf_failed(&r->spf_mailfrom))
		add_reason(b, "spf.reason", r->spf_mailfrom.reason);
}

/* summary_iprev - iprev=result, the name confirmed or why not (issue 14) */
static void
summary_iprev(const struct am_results *r, struct am_buf *b)
{
	if (r->iprev.result == AM_IPREV_NONE)	/* IPRev no, or no address */
		return;
	am_buf_addf(b, " iprev=%s", am_iprev_result_str(r->iprev.result));
	if (r->iprev.result == AM_IPREV_PASS)
		add_kv(b, "iprev.name", r->iprev.name);
	else
		add_reason(b, "iprev.reason", r->iprev.reason);
}

/* summary_dkim - "pass:d1,fail:d2" or "none"; "d2: why" of each non-pass */
static void
summary_dkim(const struct am_results *r, struct am_buf *b)
{
	size_t	 i, n = 0;

	am_buf_adds(b, " dkim=");
	if (r->ndkim == 0)
		am_buf_adds(b, "none");
	for (i = 0; i < r->ndkim; i++)
		am_buf_addf(b, "%s%s:%s", i ? "," : "",
		    am_dkim_result_str(r->dkim[i].result),
		    r->dkim[i].domain[0] ? r->dkim[i].domain : "-");
	for (i = 0; i < r->ndkim; i++) {
		if (r->dkim[i].result == AM_DKIM_PASS ||
		    r->dkim[i].reason[0] == '\0')
			continue;
		am_buf_adds(b, n++ ? "; " : " dkim.reason=\"");
		add_text(b, r->dkim[i].domain[0] ? r->dkim[i].domain : "-");
		am_buf_adds(b, ": ");
		add_text(b, r->dkim[i].reason);
	}
	if (n > 0)
		am_buf_adds(b, "\"");
}

/* summary_arc - " arc=none|pass|fail" and why it failed (issue 14) */
static void
summary_arc(const struct am_results *r, struct am_buf *b)
{
	static const char *const s[] = { "none", "pass", "fail" };

	am_buf_addf(b, " arc=%s", s[r->arc.result]);
	if (r->arc.result == AM_ARC_FAIL)
		add_reason(b, "arc.reason", r->arc.reason);
}

/* summary_dmarc - result, why if not pass, and the policy that applied */
static void
summary_dmarc(const struct am_msg *m, struct am_buf *b)
{
	const struct am_dmarc_res	*d = &m->res.dmarc;

	am_buf_addf(b, " dmarc=%s", am_dmarc_result_str(d->result));
	if (d->result != AM_DMARC_PASS && d->result != AM_DMARC_NONE)
		add_reason(b, "dmarc.reason", d->reason);
	if (m->nfrom_domains > 1)	/* whose result it is */
		add_kv(b, "dmarc.domain", d->from_domain);
	if (d->policy == AM_DMARC_P_UNSPEC)
		return;
	/* p, sp or np: which tag of the record applied */
	am_buf_addf(b, " dmarc.policy=%s dmarc.policy_tag=%s%s",
	    am_dmarc_policy_str(d->policy), d->policy_tag,
	    d->testing ? " dmarc.testing=y" : "");
	if (d->override == AM_OVR_NONE)
		return;
	am_buf_addf(b, " dmarc.override=%s dmarc.override_policy=%s",
	    am_override_str(d->override),
	    am_dmarc_policy_str(d->override_policy));
	add_reason(b, "dmarc.override_by", d->override_by);
}

/* domain_of - the part after the last '@', or the whole string */
static const char *
domain_of(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at ? at + 1 : addr;
}

/* summary_sign - " sign=auth:rsa-sha256:d:s,..." or why not (issue 18) */
static void
summary_sign(const struct am_msg *m, struct am_buf *b)
{
	am_buf_addf(b, " sign=%s", am_sign_mode_str(m->sign_mode));
	if (m->signer == NULL)
		return;
	am_buf_addc(b, ':');
	am_signer_describe(m->signer, b);
	add_reason(b, "sign.reason", am_signer_skipped(m->signer));
}

/* am_msg_summary - the one log line per message */
void
am_msg_summary(const struct am_msg *m, const struct am_verdict *v,
    struct am_buf *b)
{
	const struct am_results	*r = &m->res;

	am_buf_addf(b, "client=%s", m->conn->client_ip);
	add_kv(b, "helo", m->conn->helo);
	add_kv(b, "mailfrom", domain_of(m->mailfrom));
	/* every From domain (RFC 5322 3.6.2 allows a list) */
	add_kv(b, "from", m->from_list[0] ? m->from_list :
	    r->dmarc.from_domain);
	add_kv(b, "msgid", m->msgid);
	if (m->exempt != NULL) {
		am_buf_adds(b, " exempt=yes");	/* why: in reason= */
	} else {
		summary_iprev(r, b);
		summary_spf(r, b);
		summary_dkim(r, b);
		summary_arc(r, b);
		summary_dmarc(m, b);
	}
	if (m->sign_mode != AM_SIGN_OFF)
		summary_sign(m, b);
	if (m->conn->hdr_space_lost)		/* session.h am_msg_header */
		am_buf_adds(b, " leadspc=no");
	if (m->nforged > 0)
		am_buf_addf(b, " removed_ar=%zu", m->nforged);
	if (m->limit != NULL)
		add_kv(b, "limit", m->limit);
	if (m->dns_over != 0)
		am_buf_addf(b, " dns_budget=%s%s",
		    m->dns_over & AM_DNS_BUDGET_LOOKUPS ? "lookups" : "",
		    m->dns_over == (AM_DNS_BUDGET_LOOKUPS | AM_DNS_BUDGET_TIME) ?
		    ",time" : m->dns_over & AM_DNS_BUDGET_TIME ? "time" : "");
	if (m->err != AM_ERR_NONE)
		am_buf_addf(b, " error=%s", am_err_str(m->err));
	am_buf_addf(b, " action=%s reason=\"", am_action_str(v->action));
	add_text(b, v->why);
	if (m->err != AM_ERR_NONE) {
		am_buf_adds(b, ": ");
		add_text(b, m->errwhy);
	}
	am_buf_adds(b, "\"");
}

/* outcome_copy - what the outcome carries besides the edits (the
   results by reference: copying their 28 KB, and clearing them in
   am_outcome_init, was 0.9 % of the CPU) */
static void
outcome_copy(const struct am_msg *m, struct am_outcome *o)
{
	o->res = &m->res;
	o->exempt = m->exempt;
	o->err = m->err;
	memcpy(o->errwhy, m->errwhy, sizeof(o->errwhy));
	o->nforged = m->nforged;
}

/* received_spf - RFC 7208 9.1 field value, when configured and checked */
static void
received_spf(const struct am_msg *m, struct am_buf *b)
{
	const struct am_conn	*c = m->conn;

	if (!c->cfg->add_received_spf || m->exempt != NULL ||
	    !m->res.spf_mailfrom.checked)
		return;
	am_spf_received(&m->res.spf_mailfrom, c->client_ip,
	    c->helo ? c->helo : "", c->cfg->authserv_id, b);
}

/*
 * add_signatures - our DKIM-Signature fields (issue 18), copied into the
 * outcome; at the top (RFC 6376 5.6: prepended), under our A-R.  A copy
 * that fails is an internal error, decided as such.
 */
static int
add_signatures(struct am_msg *m, struct am_outcome *o)
{
	size_t	 i, n;

	if (m->signer == NULL || m->err != AM_ERR_NONE)
		return 0;
	n = am_signer_count(m->signer);
	for (i = 0; i < n && i < AM_SIGN_PER_MSG_MAX; i++) {
		if ((o->dkim_sig[i] = strdup(am_signer_value(m->signer,
		    i))) == NULL) {
			am_msg_set_err(m, AM_ERR_RESOURCE,
			    "out of memory (signature)");
			am_msg_edits_failed(m, o);	/* decided again, no edits */
			return -1;
		}
		am_outcome_add(o, AM_EDIT_INSERT, "DKIM-Signature",
		    o->dkim_sig[i], 0);
	}
	return 0;
}

/*
 * add_edits - the header edits of a delivered message, in the order to
 * apply them (outcome.h).  A Received-SPF value over AM_AUTHRES_MAX is left
 * out, as before: it only repeats the A-R's spf entry.
 */
static void
add_edits(struct am_msg *m, struct am_outcome *o)
{
	size_t	 i;

	received_spf(m, &o->received_spf);
	if (o->received_spf.len > 0 && !am_buf_failed(&o->received_spf))
		am_outcome_add(o, AM_EDIT_INSERT, "Received-SPF",
		    am_buf_str(&o->received_spf), 0);
	if (add_signatures(m, o) == -1)
		return;
	/* RFC 8601 5: ours only; reverse so earlier indexes stay valid */
	for (i = m->nforged; i > 0; i--)
		am_outcome_add(o, AM_EDIT_DELETE, "Authentication-Results",
		    NULL, m->forged[i - 1]);
	if (o->authres.len > 0)
		am_outcome_add(o, AM_EDIT_INSERT, "Authentication-Results",
		    am_buf_str(&o->authres), 0);
}

/*
 * arc_trust - ARCTrustedSealers (issue 14): a failing DMARC result that
 * trusted sealers vouch for is not enforced (arc_trust.h decides); the
 * result stays fail, policy.c enforces override_policy
 */
static void
arc_trust(struct am_msg *m)
{
	struct am_dmarc_res	*d = &m->res.dmarc;
	char			 by[AM_REASON_MAX];

	if (m->exempt != NULL || d->override != AM_OVR_NONE ||
	    !am_arc_trust(m->conn->cfg->arc_sealers, &m->res.arc, d, by,
	    sizeof(by)))
		return;
	d->override = AM_OVR_TRUSTED_FORWARDER;
	d->override_policy = AM_DMARC_P_NONE;
	snprintf(d->override_by, sizeof(d->override_by), "%s", by);
}

/* am_msg_end - finish the checks, decide, and list the header edits */
void
am_msg_end(struct am_msg *m, struct am_outcome *o)
{
	am_outcome_init(o);
	am_msg_finish(m);
	arc_trust(m);
	am_msg_decide(m, &o->verdict);
	if (am_msg_authres(m, &o->verdict, &o->authres) == -1) {
		am_buf_reset(&o->authres);
		/* delivered without our A-R would hide the results */
		if (am_outcome_delivers(o)) {
			am_msg_set_err(m, AM_ERR_RESOURCE,
			    "Authentication-Results value too large");
			am_msg_decide(m, &o->verdict);
		}
	}
	outcome_copy(m, o);
	if (am_outcome_delivers(o))
		add_edits(m, o);
}

/* am_msg_edits_failed - the MTA refused an edit: decide again */
void
am_msg_edits_failed(struct am_msg *m, struct am_outcome *o)
{
	am_msg_set_err(m, AM_ERR_MILTER, "header edit failed");
	am_msg_decide(m, &o->verdict);
	outcome_copy(m, o);
	o->nedits = 0;
}

/* am_outcome_internal - OnInternalError of the connection's snapshot */
void
am_outcome_internal(const struct am_config *cfg, const char *why,
    struct am_outcome *o)
{
	struct am_policy_conf	 pc;

	am_outcome_init(o);
	o->err = AM_ERR_INTERNAL;
	snprintf(o->errwhy, sizeof(o->errwhy), "%s", why);
	policy_conf(cfg, &pc);
	am_policy_decide(&pc, NULL, NULL, o->err, &o->verdict);
}
