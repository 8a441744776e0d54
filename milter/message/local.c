/*
 * local.c - local policy (issue 14): which of the site's rules changes
 * what a DMARC failure enforces.  The rules and their order are in
 * local.h; each rule is one function here, tried in that order.
 *
 * Pure: no I/O, no allocation; thread-safe.  config/config.h is included
 * for struct am_domain_rule alone (a plain value type).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "message/local.h"

/* lower_copy - s in lower case, without one final dot, into out */
static void
lower_copy(const char *s, char *out, size_t outlen)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < outlen; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	if (i > 1 && out[i - 1] == '.')
		i--;
	out[i] = '\0';
}

/* in_list - is s (any case) one of the lower-case entries? */
static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcasecmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* set_override - record the override and who made it */
static void
set_override(struct am_dmarc_res *d, enum am_override o,
    enum am_dmarc_policy p, const char *by)
{
	d->override = o;
	d->override_policy = p;
	snprintf(d->override_by, sizeof(d->override_by), "%s", by);
}

/* rule_trusted_dkim - 1: a passing signature of a listed domain */
static int
rule_trusted_dkim(const struct am_local_conf *lc, struct am_results *r)
{
	char	 by[AM_REASON_MAX];
	size_t	 i;

	if (lc->ntrusted_dkim == 0 || r->dmarc.policy == AM_DMARC_P_NONE)
		return 0;
	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX; i++) {
		if (r->dkim[i].result != AM_DKIM_PASS ||
		    !in_list(r->dkim[i].domain, lc->trusted_dkim,
		    lc->ntrusted_dkim))
			continue;
		snprintf(by, sizeof(by), "TrustedDKIMDomains %.100s",
		    r->dkim[i].domain);
		set_override(&r->dmarc, AM_OVR_LOCAL_POLICY, AM_DMARC_P_NONE,
		    by);
		return 1;
	}
	return 0;
}

/*
 * rule_trusted_sender - 2: a listed envelope sender or domain, and SPF
 * passed for that very domain (RFC 7208 2.4: the MAIL FROM identity)
 */
static int
rule_trusted_sender(const struct am_local_conf *lc,
    const struct am_local_facts *lf, struct am_results *r)
{
	const struct am_spf_check	*spf = &r->spf_mailfrom;
	const char			*at, *dom, *hit;
	char				 by[AM_REASON_MAX];

	if (lc->ntrusted_senders == 0 || r->dmarc.policy == AM_DMARC_P_NONE ||
	    lf->mailfrom == NULL || (at = strrchr(lf->mailfrom, '@')) == NULL)
		return 0;
	dom = at + 1;
	if (!spf->checked || spf->result != AM_SPF_PASS ||
	    strcasecmp(spf->domain, dom) != 0)
		return 0;
	if (in_list(lf->mailfrom, lc->trusted_senders, lc->ntrusted_senders))
		hit = lf->mailfrom;
	else if (in_list(dom, lc->trusted_senders, lc->ntrusted_senders))
		hit = dom;
	else
		return 0;
	snprintf(by, sizeof(by), "TrustedSenders %.120s (spf pass)", hit);
	set_override(&r->dmarc, AM_OVR_LOCAL_POLICY, AM_DMARC_P_NONE, by);
	return 1;
}

/* rule_cmp - struct am_domain_rule by domain (config/local.c sorts so) */
static int
rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct am_domain_rule *)a)->domain,
	    ((const struct am_domain_rule *)b)->domain);
}

/* rule_domain_policy - 3: the From domain's own rule */
static int
rule_domain_policy(const struct am_local_conf *lc, struct am_results *r)
{
	struct am_domain_rule		 key;
	const struct am_domain_rule	*hit;
	char				 dom[AM_DOMAIN_MAX + 1], by[AM_REASON_MAX];

	if (lc->nrules == 0 || r->dmarc.from_domain[0] == '\0')
		return 0;
	lower_copy(r->dmarc.from_domain, dom, sizeof(dom));
	key.domain = dom;
	if ((hit = bsearch(&key, lc->rules, lc->nrules, sizeof(*lc->rules),
	    rule_cmp)) == NULL)
		return 0;
	if (hit->dryrun)	/* what would have happened, for the log */
		snprintf(by, sizeof(by), "DomainPolicy %.100s dryrun (would "
		    "enforce p=%s)", dom, am_dmarc_policy_str(r->dmarc.policy));
	else
		snprintf(by, sizeof(by), "DomainPolicy %.100s %s", dom,
		    am_dmarc_policy_str(hit->policy));
	set_override(&r->dmarc, AM_OVR_LOCAL_POLICY, hit->policy, by);
	return 1;
}

/*
 * aligned - RFC 7489 3.1.1 relaxed alignment of a d= with the From
 * domain: the same organizational domain (dmarc.c found the From's);
 * without one, the same domain
 */
static int
aligned(const char *d, const struct am_dmarc_res *dm)
{
	const char	*org = dm->org_domain;
	size_t		 ld = strlen(d), lo = strlen(org);

	if (strcasecmp(d, dm->from_domain) == 0)
		return 1;
	if (lo == 0)
		return 0;
	if (strcasecmp(d, org) == 0)
		return 1;
	return ld > lo + 1 && d[ld - lo - 1] == '.' &&
	    strcasecmp(d + ld - lo, org) == 0;
}

/* rule_mailing_list - 4: a list broke the From domain's signature */
static int
rule_mailing_list(const struct am_local_conf *lc,
    const struct am_local_facts *lf, struct am_results *r)
{
	char	 by[AM_REASON_MAX];
	size_t	 i;

	if (!lf->list_id || lc->mlist_action == AM_DMARC_P_UNSPEC ||
	    lc->mlist_action >= r->dmarc.policy)
		return 0;
	for (i = 0; i < r->ndkim && i < AM_DKIM_SIGS_MAX; i++) {
		if (r->dkim[i].result != AM_DKIM_FAIL ||
		    !aligned(r->dkim[i].domain, &r->dmarc))
			continue;
		snprintf(by, sizeof(by), "MailingListAction (List-Id, broken "
		    "signature of %.100s)", r->dkim[i].domain);
		set_override(&r->dmarc, AM_OVR_MAILING_LIST, lc->mlist_action,
		    by);
		return 4;
	}
	return 0;
}

/* am_local_decide - the first rule of local.h's list that matches */
int
am_local_decide(const struct am_local_conf *lc,
    const struct am_local_facts *lf, struct am_results *r)
{
	if (r->dmarc.result != AM_DMARC_FAIL ||
	    r->dmarc.override != AM_OVR_NONE)
		return 0;
	if (rule_trusted_dkim(lc, r))
		return 1;
	if (rule_trusted_sender(lc, lf, r))
		return 2;
	if (rule_domain_policy(lc, r))
		return 3;
	return rule_mailing_list(lc, lf, r);
}
