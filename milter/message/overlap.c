/*
 * overlap.c - look-ups started while the message streams in (overlap.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fmt.h"
#include "dkim/dkim.h"
#include "dmarc/dmarc.h"
#include "dns/dns.h"
#include "dns/dns_prefetch.h"
#include "dns/dns_work.h"
#include "message/overlap.h"
#include "message/rfc5322.h"
#include "message/session.h"
#include "message/session_int.h"
#include "message/trace.h"
#include "spf/spf.h"

#define RR_TXT		16

struct am_overlap {
	struct am_msg		*m;
	struct am_dns_prefetch	*pf;		/* DKIM keys, DMARC names */
	struct am_dns_prefetch	*spf_pf;	/* the job's: its MAIL FROM record */
	struct am_dns_job	 job;		/* SPF in the background */
	int			 running;	/* job submitted, not joined */
	struct am_dns_budget	 spfb;		/* the SPF phase's budget */
	char			 qid[64];	/* for the job's debug lines */
	char			*helo;		/* the job's copy */
	int			 err_helo;	/* am_spf_check_helo failed */
	int			 err_mailfrom;	/* am_spf_check_mailfrom failed */
};

/* spf_job - session.c's SPF phase, in a pool thread; results into m->res */
static void
spf_job(void *arg)
{
	struct am_overlap	*ov = arg;
	struct am_msg		*m = ov->m;
	struct am_conn		*c = m->conn;

	/* RFC 7208 2.3: no HELO name, no HELO identity to report */
	if (*ov->helo != '\0' && am_spf_check_helo(c->spf, &ov->spfb,
	    am_conn_client(c), ov->helo, &m->res.spf_helo) == -1)
		ov->err_helo = 1;
	if (am_spf_check_mailfrom(c->spf, &ov->spfb, am_conn_client(c),
	    ov->helo, m->mailfrom, &m->res.spf_mailfrom) == -1)
		ov->err_mailfrom = 1;
}

/* overlap_new - the message's state, with its prefetch set */
static struct am_overlap *
overlap_new(struct am_msg *m)
{
	struct am_overlap	*ov;

	if ((ov = calloc(1, sizeof(*ov))) == NULL)
		return NULL;
	ov->m = m;
	/* NULL (no memory): the checks ask for themselves */
	ov->pf = am_dns_prefetch_new(m->conn->env->dns);
	m->dnsb.prefetch = ov->pf;
	m->ov = ov;
	return ov;
}

/*
 * spf_prefetch - the job checks HELO first, then MAIL FROM: the MAIL FROM
 * domain's record (RFC 7208 4.4) is asked now, in parallel, in a set of
 * the job's own (only the job uses it once submitted: not shared)
 */
static void
spf_prefetch(struct am_overlap *ov, const char *mailfrom)
{
	const char	*at = strrchr(mailfrom, '@');

	if (at == NULL || at[1] == '\0' ||
	    (ov->spf_pf = am_dns_prefetch_new(ov->m->conn->env->dns)) == NULL)
		return;
	(void)am_dns_prefetch_add(ov->spf_pf, at + 1, RR_TXT);
	ov->spfb.prefetch = ov->spf_pf;
}

/*
 * spf_cached - are the HELO's and the MAIL FROM domain's records in the
 * answer cache?  Then SPF most likely needs no round trip (includes share
 * the TTLs) and runs at MAIL, in this thread: a hand-over to the pool
 * costs more CPU than such a check (two thread switches).
 */
static int
spf_cached(struct am_dns *dns, const char *helo, const char *mailfrom)
{
	const char	*at = strrchr(mailfrom, '@');

	if (*helo != '\0' && !am_dns_cached(dns, helo, RR_TXT))
		return 0;
	return at == NULL || at[1] == '\0' || am_dns_cached(dns, at + 1, RR_TXT);
}

/* am_overlap_spf - SPF at MAIL, in the background */
int
am_overlap_spf(struct am_msg *m)
{
	struct am_conn		*c = m->conn;
	struct am_overlap	*ov = m->ov;

	if (ov == NULL && (ov = overlap_new(m)) == NULL)
		return -1;
	if (spf_cached(c->env->dns, c->helo ? c->helo : "", m->mailfrom))
		return -1;	/* the caller runs it now, as before */
	/* the SPF server is the connection's: made here, as run_spf does */
	if (c->spf == NULL &&
	    (c->spf = am_spf_new(c->env->dns, c->cfg->authserv_id)) == NULL)
		return -1;
	if ((ov->helo = strdup(c->helo ? c->helo : "")) == NULL)
		return -1;
	am_fmt(ov->qid, sizeof(ov->qid), "%s", m->qid);
	ov->spfb.qid = ov->qid;
	ov->spfb.cancellable = 1;
	spf_prefetch(ov, m->mailfrom);
	am_dns_budget_arm(&ov->spfb, AM_DNS_SPF_SECS, AM_DNS_SPF_LOOKUPS);
	ov->job.fn = spf_job;
	ov->job.arg = ov;
	if (am_dns_work_submit(c->env->dns, &ov->job) == -1)
		return -1;
	ov->running = 1;
	return 0;
}

/* name_char - a character of a plain host name (RFC 1035 2.3.1, and _) */
static int
name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_';
}

/* tag_value - copy one tag's value without FWS; -1 if not a plain name */
static int
tag_value(const char *p, const char *end, char *out, size_t outlen)
{
	size_t	 n = 0;

	for (; p < end; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;	/* RFC 6376 3.2: FWS around values */
		if (!name_char(*p) || n + 1 >= outlen)
			return -1;
		out[n++] = *p;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

/* am_overlap_dkim_name - "s._domainkey.d" of a DKIM-Signature value */
int
am_overlap_dkim_name(const char *value, char *out, size_t outlen)
{
	char		 d[256], s[256], *dst;
	const char	*p = value, *eq, *semi, *t;
	int		 have_d = 0, have_s = 0, *have;

	while (*p != '\0') {
		if ((semi = strchr(p, ';')) == NULL)
			semi = p + strlen(p);
		if ((eq = memchr(p, '=', (size_t)(semi - p))) != NULL) {
			for (t = p; t < eq && strchr(" \t\r\n", *t); t++)
				continue;
			dst = NULL;
			if (eq - t >= 1 && (*t == 'd' || *t == 's') &&
			    strspn(t + 1, " \t\r\n") >= (size_t)(eq - t - 1)) {
				dst = *t == 'd' ? d : s;
				have = *t == 'd' ? &have_d : &have_s;
				/* RFC 6376 3.2: a repeated tag: invalid */
				if ((*have)++ > 0 || tag_value(eq + 1, semi, dst,
				    sizeof(d)) == -1)
					return -1;
			}
		}
		p = *semi == ';' ? semi + 1 : semi;
	}
	if (!have_d || !have_s ||
	    (size_t)am_fmt(out, outlen, "%s._domainkey.%s", s, d) >= outlen)
		return -1;
	return 0;
}

/* prefetch_dmarc - _dmarc.<d> TXT; -1 at a limit */
static int
prefetch_dmarc(struct am_msg *m, const char *d)
{
	char	 q[AM_DNS_TEMP_NAME_MAX];
	size_t	 len = strlen(d);

	if (len + sizeof("_dmarc.") > sizeof(q))
		return 0;
	memcpy(q, "_dmarc.", 7);
	memcpy(q + 7, d, len + 1);
	return am_dns_prefetch_add(m->ov->pf, q, RR_TXT) == -1 ? -1 : 0;
}

/* from_names - _dmarc. of every name the discovery may ask (RFC 9989 4.10) */
static void
from_names(struct am_msg *m, const char *value)
{
	char	 dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	char	 walk[AM_DMARC_WALK_MAX][AM_DOMAIN_MAX + 1];
	int	 n, i;
	size_t	 k, nw;

	if ((n = am_rfc5322_from_domains(value, dom, AM_FROM_ADDRS_MAX)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		/* a PSL: the author domain, then the org domain (not known here) */
		if (m->conn->cfg->psl != NULL) {
			if (prefetch_dmarc(m, dom[i]) == -1)
				return;
			continue;
		}
		nw = am_dmarc_walk_names(dom[i], walk, AM_DMARC_WALK_MAX);
		for (k = 0; k < nw; k++)
			if (prefetch_dmarc(m, walk[k]) == -1)
				return;	/* a limit: the rest is asked later */
	}
}

/* am_overlap_header - a DKIM key or DMARC names to start */
void
am_overlap_header(struct am_msg *m, const char *name, const char *value)
{
	char	 q[AM_DNS_TEMP_NAME_MAX];

	if (m->ov == NULL || m->ov->pf == NULL)
		return;
	if (m->dkim != NULL && strcasecmp(name, "DKIM-Signature") == 0 &&
	    am_overlap_dkim_name(value, q, sizeof(q)) == 0)
		(void)am_dns_prefetch_add(m->ov->pf, q, RR_TXT);
	else if (strcasecmp(name, "From") == 0 && m->nfrom == 1)
		from_names(m, value);	/* several From: no DMARC pass anyway */
}

/*
 * apply_errors - what session.c's budgeted SPF phase records at MAIL: the
 * first internal error of the message, so it goes before any error
 * recorded since (the checks after MAIL saw none then).  1 if one was.
 */
static int
apply_errors(struct am_msg *m, struct am_overlap *ov)
{
	enum am_err	 err = m->err;
	char		 why[sizeof(m->errwhy)];

	memcpy(why, m->errwhy, sizeof(why));
	m->err = AM_ERR_NONE;
	if (ov->err_helo)
		am_msg_set_err(m, AM_ERR_LIBRARY, "SPF HELO check failed");
	if (ov->err_mailfrom)
		am_msg_set_err(m, AM_ERR_LIBRARY, "SPF MAIL FROM check failed");
	am_msg_local_dns(m, &ov->spfb);
	if (m->err != AM_ERR_NONE)
		return 1;
	m->err = err;
	memcpy(m->errwhy, why, sizeof(why));
	return 0;
}

/* am_overlap_join - the SPF phase's outcome, as if it had run at MAIL */
void
am_overlap_join(struct am_msg *m)
{
	struct am_overlap	*ov = m->ov;

	if (ov == NULL || !ov->running)
		return;
	am_dns_work_join(m->conn->env->dns, &ov->job);
	ov->running = 0;
	m->dns_over |= ov->spfb.exhausted;
	if (apply_errors(m, ov) && m->dkim != NULL) {
		/*
		 * An error at MAIL kept DKIM from starting (session.c header):
		 * the message is decided by OnInternalError, without it.
		 */
		am_dkim_free(m->dkim);
		m->dkim = NULL;
		m->dnsb.ntemp = 0;
		m->dnsb.temp_name[0] = '\0';
	}
	am_dns_budget_merge_temp(&m->dnsb, &ov->spfb);
	am_trace_spf(m);
}

/* am_overlap_free - cancel, join, free */
void
am_overlap_free(struct am_msg *m)
{
	struct am_overlap	*ov = m->ov;
	struct am_dns		*dns;

	if (ov == NULL)
		return;
	dns = m->conn->env->dns;
	if (ov->running) {
		am_dns_budget_cancel(&ov->spfb);
		if (!am_dns_work_cancel(dns, &ov->job))
			am_dns_work_join(dns, &ov->job);
	}
	am_dns_prefetch_free(ov->pf);
	am_dns_prefetch_free(ov->spf_pf);	/* the job is done */
	m->dnsb.prefetch = NULL;
	free(ov->helo);
	free(ov);
	m->ov = NULL;
}
