/*
 * trace.c - debug lines of each check's outcome (trace.h).
 */
#include <stdio.h>

#include "common/log.h"
#include "message/session.h"
#include "message/trace.h"

/* spf_line - one identity: "spf: mailfrom user@example.org: fail (why)" */
static void
spf_line(const struct am_msg *m, const char *which,
    const struct am_spf_check *c)
{
	if (!c->checked)
		return;
	am_log_debug(m->qid, "spf: %s %s (domain %s): %s%s%s%s%s%s", which,
	    c->identity[0] != '\0' ? c->identity : "<>",
	    c->domain[0] != '\0' ? c->domain : "-",
	    am_spf_result_str(c->result),
	    c->reason[0] != '\0' ? " (" : "", c->reason,
	    c->reason[0] != '\0' ? ")" : "",
	    c->explanation[0] != '\0' ? "; explanation: " : "",
	    c->explanation);
}

/* am_trace_spf - both identities */
void
am_trace_spf(const struct am_msg *m)
{
	if (!am_log_enabled(AM_LOG_DEBUG))
		return;
	spf_line(m, "helo", &m->res.spf_helo);
	spf_line(m, "mailfrom", &m->res.spf_mailfrom);
}

/* am_trace_dkim - one line per signature, in the message's order */
void
am_trace_dkim(const struct am_msg *m)
{
	const struct am_dkim_sig	*s;
	size_t				 i;

	if (!am_log_enabled(AM_LOG_DEBUG))
		return;
	if (m->res.ndkim == 0)
		am_log_debug(m->qid, "dkim: no signature");
	for (i = 0; i < m->res.ndkim; i++) {
		s = &m->res.dkim[i];
		am_log_debug(m->qid, "dkim: signature %zu d=%s s=%s a=%s b=%s "
		    "key=%u bits: %s%s%s%s", i + 1, s->domain[0] ? s->domain :
		    "-", s->selector[0] ? s->selector : "-",
		    s->algorithm[0] ? s->algorithm : "-",
		    s->bprefix[0] ? s->bprefix : "-", s->keybits,
		    am_dkim_result_str(s->result), s->reason[0] ? " (" : "",
		    s->reason, s->reason[0] ? ")" : "");
	}
}

/* am_trace_dmarc - the outcome that counts (the strictest of the domains) */
void
am_trace_dmarc(const struct am_msg *m)
{
	const struct am_dmarc_res	*d = &m->res.dmarc;

	if (!am_log_enabled(AM_LOG_DEBUG))
		return;
	am_log_debug(m->qid, "dmarc: From domains %s: result %s for %s "
	    "(record at %s, organizational domain %s): policy %s%s%s%s, "
	    "SPF %saligned, DKIM %saligned: %s",
	    m->from_list[0] ? m->from_list : "none",
	    am_dmarc_result_str(d->result),
	    d->from_domain[0] ? d->from_domain : "-",
	    d->policy_domain[0] ? d->policy_domain : "-",
	    d->org_domain[0] ? d->org_domain : "-",
	    d->policy != AM_DMARC_P_UNSPEC ? d->policy_tag : "",
	    d->policy != AM_DMARC_P_UNSPEC ? "=" : "none applies",
	    am_dmarc_policy_str(d->policy), d->testing ? " (t=y)" : "",
	    d->spf_aligned ? "" : "not ", d->dkim_aligned ? "" : "not ",
	    d->reason);
}

/* am_trace_iprev - "iprev: 192.0.2.10: pass (mail.example.org)" */
void
am_trace_iprev(const struct am_msg *m)
{
	const struct am_iprev_res	*ip = &m->res.iprev;

	if (!am_log_enabled(AM_LOG_DEBUG) || ip->result == AM_IPREV_NONE)
		return;
	am_log_debug(m->qid, "iprev: %s: %s (%s)", ip->addr,
	    am_iprev_result_str(ip->result),
	    ip->result == AM_IPREV_PASS ? ip->name : ip->reason);
}

/* am_trace_local - which local policy rule changed the enforcement */
void
am_trace_local(const struct am_msg *m, int rule)
{
	const struct am_dmarc_res	*d = &m->res.dmarc;

	if (!am_log_enabled(AM_LOG_DEBUG) || d->result != AM_DMARC_FAIL)
		return;
	if (rule == 0) {
		am_log_debug(m->qid, "local: no local policy rule applies");
		return;
	}
	am_log_debug(m->qid, "local: rule %d: %s: override %s, policy %s "
	    "instead of %s", rule, d->override_by, am_override_str(d->override),
	    am_dmarc_policy_str(d->override_policy),
	    am_dmarc_policy_str(d->policy));
}
