/*
 * finish.c - the end-of-message checks (am_msg_finish): what needs the
 * whole message.  DKIM results (verified at EOM under a fresh budget),
 * the ARC chain, the From domains and DMARC over each, the site's local
 * policy, and iprev's forward look-ups; then the one pct sample.  Each
 * DNS phase runs under its own budget (session_int.h am_msg_budgeted);
 * failures stick to the message (am_msg_set_err) and are decided in
 * eom.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc/arc.h"
#include "dkim/dkim.h"
#include "dkim/sign.h"
#include "dmarc/dmarc.h"
#include "message/iprev.h"
#include "message/local.h"
#include "message/overlap.h"
#include "message/rfc5322.h"
#include "message/session.h"
#include "message/session_int.h"
#include "message/trace.h"

/*
 * run_iprev - the forward look-ups and the result; its budget is the
 * check's own (iprev.h), noted like am_msg_budgeted() notes a phase's
 */
static void
run_iprev(struct am_msg *m)
{
	const struct am_dns_budget	*b;

	if (m->iprev == NULL)
		return;
	am_iprev_finish(m->iprev, &m->res.iprev);
	am_trace_iprev(m);
	b = am_iprev_budget(m->iprev);
	m->dns_over |= b->exhausted;
	am_msg_local_dns(m, b);
	am_iprev_free(m->iprev);
	m->iprev = NULL;
}

/* from_domains - author domains of every From field; -1 if any is unusable */
static int
from_domains(struct am_msg *m, char (*dom)[AM_DOMAIN_MAX + 1], size_t max,
    size_t *ndom)
{
	size_t	 i;
	int	 n, bad = m->from_bad;

	*ndom = 0;
	for (i = 0; i < m->nfrom && i < AM_FROM_HDRS_MAX; i++) {
		if (m->from[i] == NULL)
			continue;
		n = am_rfc5322_from_domains(m->from[i], dom + *ndom, max - *ndom);
		/* RFC 5322 3.6.2: a mailbox-list; an empty group is no author */
		if (n <= 0 || (size_t)n > max - *ndom) {
			bad = 1;
			continue;
		}
		*ndom += (size_t)n;
	}
	return bad ? -1 : 0;
}

/* from_list - the distinct From domains, comma-separated, for the log */
static void
from_list(struct am_msg *m, char (*dom)[AM_DOMAIN_MAX + 1], size_t ndom)
{
	size_t	 i, j, o = 0, n;
	char	*out = m->from_list;

	out[0] = '\0';
	m->nfrom_domains = 0;
	for (i = 0; i < ndom; i++) {
		for (j = 0; j < i && strcasecmp(dom[i], dom[j]) != 0; j++)
			continue;
		if (j < i)
			continue;
		m->nfrom_domains++;
		n = strlen(dom[i]) + (o > 0);
		if (o + n + 4 >= AM_FROM_LOG_MAX) {	/* room for "..." */
			if (o + 4 < AM_FROM_LOG_MAX)
				snprintf(out + o, AM_FROM_LOG_MAX - o, "...");
			o = AM_FROM_LOG_MAX;
			continue;
		}
		o += (size_t)snprintf(out + o, AM_FROM_LOG_MAX - o, "%s%s",
		    o > 0 ? "," : "", dom[i]);
	}
}

/* dmarc_eval - DMARC over every author domain (policy discovery) */
static void
dmarc_eval(struct am_msg *m, struct am_dns_budget *b)
{
	char			 dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	size_t			 ndom;

	m->from_bad |= from_domains(m, dom, AM_FROM_ADDRS_MAX, &ndom) == -1;
	from_list(m, dom, ndom);
	if (am_dmarc_eval(m->conn->env->dns, b, m->conn->cfg->psl, dom, ndom,
	    &m->res, &m->res.dmarc) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DMARC evaluation failed");
}

/* run_dmarc - the DMARC phase; an unusable From never passes */
static void
run_dmarc(struct am_msg *m)
{
	struct am_dmarc_res	*d = &m->res.dmarc;
	int			 bad;

	/* session.h AM_DNS_*: over budget here is an internal error */
	if (am_msg_budgeted(m, &am_msg_phase_dmarc, dmarc_eval) != 0)
		am_msg_set_err(m, AM_ERR_RESOURCE,
		    "DNS budget exhausted in DMARC policy discovery");
	bad = m->from_bad;
	/* RFC 5322 3.6: OnMissingFrom, OnMalformedFrom (policy.c) */
	m->facts.from = m->nfrom == 0 ? AM_FROM_MISSING :
	    bad ? AM_FROM_UNUSABLE : AM_FROM_OK;
	if (m->nfrom == 0) {
		d->result = AM_DMARC_PERMERROR;
		snprintf(d->reason, sizeof(d->reason), "no From header");
	} else if (bad && d->result != AM_DMARC_FAIL &&
	    d->result != AM_DMARC_TEMPERROR) {
		/* a From we could not read may hide a failing domain */
		d->result = AM_DMARC_PERMERROR;
		snprintf(d->reason, sizeof(d->reason),
		    "unusable From header (%zu From fields)", m->nfrom);
	}
	am_trace_dmarc(m);
}

/* dkim_eom - verify, one result per signature */
static void
dkim_eom(struct am_msg *m, struct am_dns_budget *b)
{
	if (am_dkim_eom(m->dkim, b, m->res.dkim, AM_DKIM_SIGS_MAX,
	    &m->res.ndkim) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM verification failed");
}

/* run_dkim - DKIM results; a header limit leaves one permerror entry */
static void
run_dkim(struct am_msg *m)
{
	struct am_dkim_sig	*s = &m->res.dkim[0];

	if (m->limit != NULL) {
		memset(s, 0, sizeof(*s));
		s->result = AM_DKIM_PERMERROR;
		snprintf(s->reason, sizeof(s->reason), "not verified: %s",
		    m->limit);
		m->res.ndkim = 1;
		return;
	}
	if (m->dkim == NULL)
		return;
	/* a fresh deadline: the body took its own time since EOH */
	am_msg_budgeted(m, &am_msg_phase_dkim, dkim_eom);
}

/* local_policy - the site's overrides of a DMARC failure (local.h) */
static void
local_policy(struct am_msg *m)
{
	const struct am_config	*cfg = m->conn->cfg;
	struct am_local_conf	 lc = {
		.trusted_dkim = (const char *const *)cfg->trusted_dkim,
		.ntrusted_dkim = cfg->ntrusted_dkim,
		.trusted_senders = (const char *const *)cfg->trusted_senders,
		.ntrusted_senders = cfg->ntrusted_senders,
		.rules = cfg->domain_rules,
		.nrules = cfg->ndomain_rules,
		.mlist_action = cfg->mlist_action,
	};
	struct am_local_facts	 lf = { m->mailfrom, m->list_id };

	am_trace_local(m, am_local_decide(&lc, &lf, &m->res));
}

/* arc_eom - the ARC chain (issue 14): a phase of its own DNS budget */
static void
arc_eom(struct am_msg *m, struct am_dns_budget *b)
{
	am_arc_eom(m->arc, m->conn->env->dns, b, &m->res.arc);
}

/* run_arc - the chain result; none without ARC fields */
static void
run_arc(struct am_msg *m)
{
	if (m->arc == NULL || !am_arc_present(m->arc))
		return;
	am_msg_budgeted(m, &am_msg_phase_arc, arc_eom);
}

/* am_msg_finish - end of message: DKIM results, then DMARC */
void
am_msg_finish(struct am_msg *m)
{
	am_overlap_join(m);		/* SPF, started at MAIL */
	/* a message that should be signed and cannot be: OnInternalError */
	if (m->signer != NULL && am_signer_eom(m->signer) == -1)
		am_msg_set_err(m, AM_ERR_LIBRARY, "DKIM signing failed");
	if (m->exempt != NULL)
		return;
	if (m->iprev != NULL)		/* forward look-ups overlap DKIM, DMARC */
		am_iprev_forward(m->iprev);
	run_dkim(m);
	am_trace_dkim(m);
	run_arc(m);
	run_dmarc(m);
	local_policy(m);
	run_iprev(m);
	/*
	 * RFC 7489 6.6.4: one sample per message, drawn here, not in policy,
	 * and only when the policy found has pct= below 100 (RFC 9989 mode
	 * has none): drawing costs a getrandom() call
	 */
	m->facts.pct_sample = m->res.dmarc.pct < 100 ?
	    (int)arc4random_uniform(100) : 0;
}
