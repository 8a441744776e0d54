/*
 * check_local.c - issue 14's decisions with fixed answers:
 *  - message/local.c: a table over the four local policy rules, their
 *    precedence, and the variants that must not match (forged envelope,
 *    broken trusted signature, List-Id without a broken From signature);
 *  - message/policy.c RejectSPFFail;
 *  - message/iprev.c: the reverse name, PTR rdata, and a table of the
 *    iprev decision (pass, fail with why, temperror, permerror);
 *  - config/local.c: the keys and DomainPolicy file errors as file:line.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "config/keys.h"
#include "message/iprev.h"
#include "message/local.h"
#include "message/policy.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

#define P_NO	AM_DMARC_P_NONE
#define P_QU	AM_DMARC_P_QUARANTINE
#define P_RE	AM_DMARC_P_REJECT

/* ------------------------------------------------------------ local.c */

static const char *const tdkim[] = { "lists.example.net" };
static const char *const tsend[] = { "bounce@partner.example", "esp.example" };
/* sorted by domain, as config/local.c leaves them */
static const struct am_domain_rule rules[] = {
	{ (char *)"dry.example", P_NO, 1 },
	{ (char *)"example.org", P_QU, 0 },
	{ (char *)"strict.example", P_RE, 0 },
};

struct lcase {
	const char		*label;
	const char		*from;		/* From domain */
	enum am_dmarc_policy	 pol;		/* the policy that applies */
	const char		*mailfrom;
	enum am_spf_result	 spf;
	const char		*spfdom;	/* domain SPF ran for */
	const char		*sigd;		/* one DKIM signature's d=, or NULL */
	enum am_dkim_result	 sigr;
	int			 list_id;
	int			 want_rule;
	enum am_override	 ovr;
	enum am_dmarc_policy	 ovr_pol;
	const char		*by;		/* start of override_by */
};

static const struct lcase lcases[] = {
	{ "trusted DKIM passes", "victim.example", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", "lists.example.net", AM_DKIM_PASS, 0,
	    1, AM_OVR_LOCAL_POLICY, P_NO, "TrustedDKIMDomains lists.example.net" },
	{ "trusted DKIM, case", "victim.example", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", "Lists.Example.NET", AM_DKIM_PASS, 0,
	    1, AM_OVR_LOCAL_POLICY, P_NO, "TrustedDKIMDomains" },
	{ "trusted DKIM broken: nothing", "victim.example", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", "lists.example.net", AM_DKIM_FAIL, 0,
	    0, AM_OVR_NONE, 0, "" },
	{ "trusted DKIM subdomain: nothing", "victim.example", P_RE,
	    "a@x.example", AM_SPF_FAIL, "x.example", "a.lists.example.net",
	    AM_DKIM_PASS, 0, 0, AM_OVR_NONE, 0, "" },
	{ "trusted DKIM, p=none: nothing to exempt", "victim.example", P_NO,
	    "a@x.example", AM_SPF_FAIL, "x.example", "lists.example.net",
	    AM_DKIM_PASS, 0, 0, AM_OVR_NONE, 0, "" },
	{ "trusted sender, spf pass", "victim.example", P_RE,
	    "bounce@partner.example", AM_SPF_PASS, "partner.example", NULL, 0,
	    0, 2, AM_OVR_LOCAL_POLICY, P_NO,
	    "TrustedSenders bounce@partner.example" },
	{ "trusted sender domain, spf pass", "victim.example", P_RE,
	    "x123@esp.example", AM_SPF_PASS, "esp.example", NULL, 0, 0,
	    2, AM_OVR_LOCAL_POLICY, P_NO, "TrustedSenders esp.example" },
	{ "trusted sender forged: spf fail", "victim.example", P_RE,
	    "bounce@partner.example", AM_SPF_FAIL, "partner.example", NULL, 0,
	    0, 0, AM_OVR_NONE, 0, "" },
	{ "trusted sender, spf softfail", "victim.example", P_RE,
	    "x@esp.example", AM_SPF_SOFTFAIL, "esp.example", NULL, 0, 0,
	    0, AM_OVR_NONE, 0, "" },
	{ "other user of a listed address's domain", "victim.example", P_RE,
	    "other@partner.example", AM_SPF_PASS, "partner.example", NULL, 0,
	    0, 0, AM_OVR_NONE, 0, "" },
	{ "spf passed for another domain", "victim.example", P_RE,
	    "x@esp.example", AM_SPF_PASS, "helo.example", NULL, 0, 0,
	    0, AM_OVR_NONE, 0, "" },
	{ "DomainPolicy quarantine", "example.org", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", NULL, 0, 0,
	    3, AM_OVR_LOCAL_POLICY, P_QU, "DomainPolicy example.org quarantine" },
	{ "DomainPolicy case", "EXAMPLE.ORG", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", NULL, 0, 0,
	    3, AM_OVR_LOCAL_POLICY, P_QU, "DomainPolicy example.org" },
	{ "DomainPolicy stricter", "strict.example", P_NO, "a@x.example",
	    AM_SPF_FAIL, "x.example", NULL, 0, 0,
	    3, AM_OVR_LOCAL_POLICY, P_RE, "DomainPolicy strict.example reject" },
	{ "DomainPolicy dryrun", "dry.example", P_RE, "a@x.example",
	    AM_SPF_FAIL, "x.example", NULL, 0, 0, 3, AM_OVR_LOCAL_POLICY, P_NO,
	    "DomainPolicy dry.example dryrun (would enforce p=reject)" },
	{ "DomainPolicy: parent not matched", "sub.example.org", P_RE,
	    "a@x.example", AM_SPF_FAIL, "x.example", NULL, 0, 0,
	    0, AM_OVR_NONE, 0, "" },
	{ "list broke the From signature", "victim.example", P_RE,
	    "l@list.example", AM_SPF_PASS, "list.example", "victim.example",
	    AM_DKIM_FAIL, 1, 4, AM_OVR_MAILING_LIST, P_QU,
	    "MailingListAction (List-Id, broken signature of victim.example)" },
	{ "list broke an aligned (parent) signature", "mail.victim.example",
	    P_RE, "l@list.example", AM_SPF_PASS, "list.example",
	    "victim.example", AM_DKIM_FAIL, 1, 4, AM_OVR_MAILING_LIST, P_QU,
	    "MailingListAction" },
	{ "list, no From signature at all", "victim.example", P_RE,
	    "l@list.example", AM_SPF_PASS, "list.example", NULL, 0, 1,
	    0, AM_OVR_NONE, 0, "" },
	{ "list, broken signature of another domain", "victim.example", P_RE,
	    "l@list.example", AM_SPF_PASS, "list.example", "list.example",
	    AM_DKIM_FAIL, 1, 0, AM_OVR_NONE, 0, "" },
	{ "broken From signature without List-Id", "victim.example", P_RE,
	    "l@list.example", AM_SPF_PASS, "list.example", "victim.example",
	    AM_DKIM_FAIL, 0, 0, AM_OVR_NONE, 0, "" },
	{ "list, p=quarantine: action not milder", "victim.example", P_QU,
	    "l@list.example", AM_SPF_PASS, "list.example", "victim.example",
	    AM_DKIM_FAIL, 1, 0, AM_OVR_NONE, 0, "" },
	/* precedence: 1 before 3 before 4 */
	{ "trusted DKIM before DomainPolicy", "strict.example", P_RE,
	    "a@x.example", AM_SPF_FAIL, "x.example", "lists.example.net",
	    AM_DKIM_PASS, 1, 1, AM_OVR_LOCAL_POLICY, P_NO, "TrustedDKIMDomains" },
	{ "trusted sender before DomainPolicy", "strict.example", P_RE,
	    "x@esp.example", AM_SPF_PASS, "esp.example", NULL, 0, 0,
	    2, AM_OVR_LOCAL_POLICY, P_NO, "TrustedSenders" },
	{ "DomainPolicy before mailing list", "example.org", P_RE,
	    "l@list.example", AM_SPF_PASS, "list.example", "example.org",
	    AM_DKIM_FAIL, 1, 3, AM_OVR_LOCAL_POLICY, P_QU, "DomainPolicy" },
};

/* lresults - the results of one case (heap: struct am_results is large) */
static struct am_results *
lresults(const struct lcase *c, enum am_dmarc_result dres)
{
	struct am_results	*r = calloc(1, sizeof(*r));

	ck_assert_ptr_nonnull(r);
	r->dmarc.result = dres;
	r->dmarc.policy = r->dmarc.p = c->pol;
	snprintf(r->dmarc.from_domain, sizeof(r->dmarc.from_domain), "%s",
	    c->from);
	/* the org domain the DMARC module found: the last two labels here */
	{
		const char	*p = c->from + strlen(c->from);
		int		 dots = 0;

		while (p > c->from && !(p[-1] == '.' && ++dots == 2))
			p--;
		snprintf(r->dmarc.org_domain, sizeof(r->dmarc.org_domain),
		    "%s", p);
	}
	r->spf_mailfrom.checked = 1;
	r->spf_mailfrom.result = c->spf;
	snprintf(r->spf_mailfrom.domain, sizeof(r->spf_mailfrom.domain), "%s",
	    c->spfdom);
	if (c->sigd != NULL) {
		r->ndkim = 1;
		r->dkim[0].result = c->sigr;
		snprintf(r->dkim[0].domain, sizeof(r->dkim[0].domain), "%s",
		    c->sigd);
	}
	return r;
}

static const struct am_local_conf lconf = {
	tdkim, nitems(tdkim), tsend, nitems(tsend), rules, nitems(rules), P_QU
};

/* test_local - one rule matches (or none), with its override */
START_TEST(test_local)
{
	const struct lcase	*c = &lcases[_i];
	struct am_local_facts	 lf = { c->mailfrom, c->list_id };
	struct am_results	*r = lresults(c, AM_DMARC_FAIL);
	int			 rule;

	rule = am_local_decide(&lconf, &lf, r);
	ck_assert_msg(rule == c->want_rule, "%s: rule %d, want %d", c->label,
	    rule, c->want_rule);
	ck_assert_msg(r->dmarc.override == c->ovr, "%s: override %d",
	    c->label, r->dmarc.override);
	if (c->ovr != AM_OVR_NONE) {
		ck_assert_msg(r->dmarc.override_policy == c->ovr_pol,
		    "%s: override_policy %d", c->label,
		    r->dmarc.override_policy);
		ck_assert_msg(strncmp(r->dmarc.override_by, c->by,
		    strlen(c->by)) == 0, "%s: override_by \"%s\"", c->label,
		    r->dmarc.override_by);
	}
	ck_assert_int_eq(r->dmarc.result, AM_DMARC_FAIL);	/* unchanged */
	free(r);
}
END_TEST

/* test_local_not_fail - no rule touches a pass, none, or temperror */
START_TEST(test_local_not_fail)
{
	static const enum am_dmarc_result other[] = { AM_DMARC_PASS,
	    AM_DMARC_NONE, AM_DMARC_TEMPERROR, AM_DMARC_PERMERROR };
	const struct lcase	*c = &lcases[_i];
	struct am_local_facts	 lf = { c->mailfrom, c->list_id };
	struct am_results	*r;
	size_t			 k;

	for (k = 0; k < nitems(other); k++) {
		r = lresults(c, other[k]);
		ck_assert_int_eq(am_local_decide(&lconf, &lf, r), 0);
		ck_assert_int_eq(r->dmarc.override, AM_OVR_NONE);
		free(r);
	}
}
END_TEST

/* test_local_keeps_override - an override set before (ARC) stays */
START_TEST(test_local_keeps_override)
{
	struct am_local_facts	 lf = { "a@x.example", 0 };
	struct am_results	*r = lresults(&lcases[0], AM_DMARC_FAIL);

	r->dmarc.override = AM_OVR_TRUSTED_FORWARDER;
	r->dmarc.override_policy = P_QU;
	ck_assert_int_eq(am_local_decide(&lconf, &lf, r), 0);
	ck_assert_int_eq(r->dmarc.override, AM_OVR_TRUSTED_FORWARDER);
	ck_assert_int_eq(r->dmarc.override_policy, P_QU);
	free(r);
}
END_TEST

/* test_local_empty - no keys set: nothing, whatever the message */
START_TEST(test_local_empty)
{
	struct am_local_conf	 none = { NULL, 0, NULL, 0, NULL, 0,
				    AM_DMARC_P_REJECT };
	const struct lcase	*c = &lcases[_i];
	struct am_local_facts	 lf = { c->mailfrom, c->list_id };
	struct am_results	*r = lresults(c, AM_DMARC_FAIL);

	ck_assert_int_eq(am_local_decide(&none, &lf, r), 0);
	ck_assert_int_eq(r->dmarc.override, AM_OVR_NONE);
	free(r);
}
END_TEST

/* ------------------------------------------------------------ RejectSPFFail */

struct scase {
	const char		*label;
	int			 on;
	enum am_dmarc_result	 dres;
	enum am_spf_result	 spf;
	enum am_action		 want;
	const char		*why;
};

static const struct scase scases[] = {
	{ "on, no dmarc, spf fail", 1, AM_DMARC_NONE, AM_SPF_FAIL,
	    AM_ACT_REJECT, "spf fail, no dmarc policy, RejectSPFFail" },
	{ "off (default)", 0, AM_DMARC_NONE, AM_SPF_FAIL, AM_ACT_ACCEPT,
	    "no dmarc policy" },
	{ "on, softfail", 1, AM_DMARC_NONE, AM_SPF_SOFTFAIL, AM_ACT_ACCEPT,
	    "no dmarc policy" },
	{ "on, spf pass", 1, AM_DMARC_NONE, AM_SPF_PASS, AM_ACT_ACCEPT,
	    "no dmarc policy" },
	{ "on, dmarc pass: DMARC speaks", 1, AM_DMARC_PASS, AM_SPF_FAIL,
	    AM_ACT_ACCEPT, "dmarc pass" },
	{ "on, dmarc permerror", 1, AM_DMARC_PERMERROR, AM_SPF_FAIL,
	    AM_ACT_ACCEPT, "dmarc permerror" },
};

/* test_reject_spf_fail - policy.c's RejectSPFFail, 550 5.7.23 */
START_TEST(test_reject_spf_fail)
{
	const struct scase	*c = &scases[_i];
	struct am_policy_conf	 pc;
	struct am_facts		 f;
	struct am_results	*r = calloc(1, sizeof(*r));
	struct am_verdict	 v;

	ck_assert_ptr_nonnull(r);
	memset(&pc, 0, sizeof(pc));
	memset(&f, 0, sizeof(f));
	pc.reject_failures = 1;
	pc.reject_spf_fail = c->on;
	r->dmarc.result = c->dres;
	r->spf_mailfrom.checked = 1;
	r->spf_mailfrom.result = c->spf;
	strcpy(r->spf_mailfrom.domain, "fail.example");
	am_policy_decide(&pc, &f, r, AM_ERR_NONE, &v);
	ck_assert_msg(v.action == c->want, "%s: action %d", c->label, v.action);
	ck_assert_msg(strcmp(v.why, c->why) == 0, "%s: why \"%s\"", c->label,
	    v.why);
	if (c->want == AM_ACT_REJECT) {
		ck_assert_str_eq(v.code, "550");
		ck_assert_str_eq(v.xcode, "5.7.23");
		ck_assert_str_eq(v.text, "SPF validation failed for fail.example");
	}
	free(r);
}
END_TEST

/* ------------------------------------------------------------ iprev */

/* test_revname - RFC 1035 3.5 and RFC 3596 2.5 question names */
START_TEST(test_revname)
{
	struct sockaddr_in	 s4;
	struct sockaddr_in6	 s6;
	char			 out[AM_IPREV_REVNAME_MAX];

	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.10", &s4.sin_addr);
	ck_assert_int_eq(am_iprev_revname((struct sockaddr *)&s4, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "10.2.0.192.in-addr.arpa");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::10", &s6.sin6_addr);
	ck_assert_int_eq(am_iprev_revname((struct sockaddr *)&s6, out,
	    sizeof(out)), 0);
	ck_assert_str_eq(out, "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.8.b.d.0.1.0.0.2.ip6.arpa");
	ck_assert_int_eq(am_iprev_revname(NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(am_iprev_revname((struct sockaddr *)&s4, out, 10), -1);
}
END_TEST

/* test_ptr_name - PTRDNAME wire form to text, and what is refused */
START_TEST(test_ptr_name)
{
	static const unsigned char ok[] = "\4Mail\7example\3org";	/* + root 0 */
	static const unsigned char ptr[] = { 0xc0, 0x0c };
	static const unsigned char sp[] = "\3a b\7example\0";
	static const unsigned char root[] = { 0 };
	static const unsigned char trunc[] = { 5, 'a', 'b' };
	char	 out[AM_DOMAIN_MAX + 1];

	ck_assert_int_eq(am_iprev_ptr_name(ok, sizeof(ok), out, sizeof(out)), 0);
	ck_assert_str_eq(out, "mail.example.org");
	ck_assert_int_eq(am_iprev_ptr_name(ptr, sizeof(ptr), out, sizeof(out)),
	    -1);
	ck_assert_int_eq(am_iprev_ptr_name(sp, sizeof(sp), out, sizeof(out)),
	    -1);
	ck_assert_int_eq(am_iprev_ptr_name(root, sizeof(root), out,
	    sizeof(out)), -1);
	ck_assert_int_eq(am_iprev_ptr_name(trunc, sizeof(trunc), out,
	    sizeof(out)), -1);
	ck_assert_int_eq(am_iprev_ptr_name(ok, sizeof(ok), out, 5), -1);
}
END_TEST

struct icase {
	const char		*label;
	enum am_dns_status	 ptr;
	size_t			 nptr;
	size_t			 nnames;
	enum am_dns_status	 fwd[3];
	int			 match[3];
	enum am_iprev_result	 want;
	const char		*name;
	const char		*reason;
};

#define OK	AM_DNS_OK
#define NX	AM_DNS_NXDOMAIN
#define ND	AM_DNS_NODATA
#define TE	AM_DNS_TEMP
#define PE	AM_DNS_PERM

static const struct icase icases[] = {
	{ "one name matches", OK, 1, 1, { OK }, { 1 }, AM_IPREV_PASS,
	    "n0.example", "" },
	{ "second name matches, first failed", OK, 2, 2, { TE, OK }, { 0, 1 },
	    AM_IPREV_PASS, "n1.example", "" },
	{ "no PTR (NXDOMAIN)", NX, 0, 0, { 0 }, { 0 }, AM_IPREV_FAIL, "",
	    "no PTR record for 192.0.2.10" },
	{ "no PTR (NODATA)", ND, 0, 0, { 0 }, { 0 }, AM_IPREV_FAIL, "",
	    "no PTR record for 192.0.2.10" },
	{ "PTR SERVFAIL", TE, 0, 0, { 0 }, { 0 }, AM_IPREV_TEMPERROR, "",
	    "PTR look-up for 192.0.2.10: SERVFAIL" },
	{ "PTR bad answer", PE, 0, 0, { 0 }, { 0 }, AM_IPREV_PERMERROR, "",
	    "PTR look-up for 192.0.2.10: bad answer" },
	{ "PTR names unusable", OK, 2, 0, { 0 }, { 0 }, AM_IPREV_PERMERROR, "",
	    "PTR record for 192.0.2.10 is no host name" },
	{ "name has another address", OK, 1, 1, { OK }, { 0 }, AM_IPREV_FAIL,
	    "n0.example", "n0.example does not resolve to 192.0.2.10" },
	{ "name has no address", OK, 1, 1, { NX }, { 0 }, AM_IPREV_FAIL,
	    "n0.example", "n0.example does not resolve to 192.0.2.10" },
	{ "two names, neither", OK, 2, 2, { OK, ND }, { 0, 0 }, AM_IPREV_FAIL,
	    "n0.example", "n0.example does not resolve to 192.0.2.10 (nor do "
	    "the other PTR names)" },
	{ "forward SERVFAIL is temperror, not fail", OK, 2, 2, { OK, TE },
	    { 0, 0 }, AM_IPREV_TEMPERROR, "n1.example",
	    "look-up of n1.example: SERVFAIL" },
	{ "forward perm", OK, 1, 1, { PE }, { 0 }, AM_IPREV_PERMERROR,
	    "n0.example", "look-up of n0.example: bad answer" },
	{ "temp wins over perm", OK, 2, 2, { PE, TE }, { 0, 0 },
	    AM_IPREV_TEMPERROR, "n1.example", "look-up of n1.example" },
};

/* test_iprev_decide - the decision from fixed answers */
START_TEST(test_iprev_decide)
{
	const struct icase	*c = &icases[_i];
	struct am_iprev_answers	 a;
	struct am_iprev_res	 out;
	size_t			 i;

	memset(&a, 0, sizeof(a));
	a.addr = "192.0.2.10";
	a.ptr_status = c->ptr;
	a.ptr_why = c->ptr == TE ? "SERVFAIL" : NULL;
	a.nptr = c->nptr;
	a.nnames = c->nnames;
	for (i = 0; i < c->nnames; i++) {
		snprintf(a.names[i].name, sizeof(a.names[i].name),
		    "n%zu.example", i);
		a.names[i].status = c->fwd[i];
		a.names[i].match = c->match[i];
		a.names[i].why = c->fwd[i] == TE ? "SERVFAIL" : NULL;
	}
	am_iprev_decide(&a, &out);
	ck_assert_msg(out.result == c->want, "%s: %s", c->label,
	    am_iprev_result_str(out.result));
	ck_assert_msg(strcmp(out.name, c->name) == 0, "%s: name \"%s\"",
	    c->label, out.name);
	ck_assert_msg(strncmp(out.reason, c->reason, strlen(c->reason)) == 0,
	    "%s: reason \"%s\"", c->label, out.reason);
	if (c->want == AM_IPREV_PASS)
		ck_assert_str_eq(out.reason, "");
}
END_TEST

/* ------------------------------------------------------------ config */

/* set - key name to val on cfg; 0 or -1 with err */
static int
set(struct am_config *cfg, const char *name, const char *val, char *err)
{
	int	 i = am_config_key_find(name);

	ck_assert_int_ge(i, 0);
	return am_config_key_set((size_t)i, cfg, NULL, val, err,
	    AM_CONFIG_ERR_MAX);
}

/* test_config_keys - defaults, lists, MailingListAction */
START_TEST(test_config_keys)
{
	struct am_config	*cfg = am_config_base();
	char			 err[AM_CONFIG_ERR_MAX];

	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->iprev, 1);
	ck_assert_int_eq(cfg->reject_spf_fail, 0);
	ck_assert_int_eq(cfg->mlist_action, P_QU);
	ck_assert_uint_eq(cfg->ntrusted_dkim, 0);
	ck_assert_int_eq(set(cfg, "TrustedDKIMDomains",
	    "Lists.Example.NET., b.example  c.example", err), 0);
	ck_assert_uint_eq(cfg->ntrusted_dkim, 3);
	ck_assert_str_eq(cfg->trusted_dkim[0], "lists.example.net");
	ck_assert_int_eq(set(cfg, "TrustedDKIMDomains", "a@b.example", err),
	    -1);
	ck_assert_str_eq(err, "\"a@b.example\" is not a domain");
	ck_assert_uint_eq(cfg->ntrusted_dkim, 3);	/* unchanged */
	ck_assert_int_eq(set(cfg, "TrustedSenders",
	    "Bounce@Partner.example, esp.example", err), 0);
	ck_assert_uint_eq(cfg->ntrusted_senders, 2);
	ck_assert_str_eq(cfg->trusted_senders[0], "bounce@partner.example");
	ck_assert_int_eq(set(cfg, "TrustedSenders", "@x.example", err), -1);
	ck_assert_int_eq(set(cfg, "MailingListAction", "none", err), 0);
	ck_assert_int_eq(cfg->mlist_action, P_NO);
	ck_assert_int_eq(set(cfg, "MailingListAction", "dryrun", err), -1);
	ck_assert_int_eq(set(cfg, "IPRev", "no", err), 0);
	ck_assert_int_eq(cfg->iprev, 0);
	ck_assert_int_eq(set(cfg, "RejectSPFFail", "yes", err), 0);
	ck_assert_int_eq(cfg->reject_spf_fail, 1);
	am_config_unref(cfg);
}
END_TEST

/* write_file - a temporary file with text; its name into path */
static void
write_file(char *path, size_t len, const char *text)
{
	FILE	*f;
	int	 fd;

	snprintf(path, len, "/tmp/check_local.XXXXXX");
	ck_assert_int_ge(fd = mkstemp(path), 0);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(text, f);
	fclose(f);
}

/* test_domain_policy_file - sorted rules, dryrun, errors with file:line */
START_TEST(test_domain_policy_file)
{
	struct am_config	*cfg = am_config_base();
	char			 err[AM_CONFIG_ERR_MAX], path[64], want[128];

	ck_assert_ptr_nonnull(cfg);
	write_file(path, sizeof(path), "# partners\n\nZ.example reject\n"
	    "a.example   dryrun  # watch first\nm.example none\n");
	ck_assert_int_eq(set(cfg, "DomainPolicy", path, err), 0);
	unlink(path);
	ck_assert_uint_eq(cfg->ndomain_rules, 3);
	ck_assert_str_eq(cfg->domain_rules[0].domain, "a.example");
	ck_assert_int_eq(cfg->domain_rules[0].dryrun, 1);
	ck_assert_str_eq(cfg->domain_rules[2].domain, "z.example");
	ck_assert_int_eq(cfg->domain_rules[2].policy, P_RE);

	write_file(path, sizeof(path), "a.example reject\nb.example maybe\n");
	ck_assert_int_eq(set(cfg, "DomainPolicy", path, err), -1);
	snprintf(want, sizeof(want), "%s:2: expected \"domain reject|"
	    "quarantine|none|dryrun\"", path);
	ck_assert_str_eq(err, want);
	unlink(path);
	ck_assert_uint_eq(cfg->ndomain_rules, 3);	/* unchanged */

	write_file(path, sizeof(path), "a.example reject\nA.example none\n");
	ck_assert_int_eq(set(cfg, "DomainPolicy", path, err), -1);
	snprintf(want, sizeof(want), "%s:2: a.example given twice", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	unlink(path);

	write_file(path, sizeof(path), "not_a domain!\n");
	ck_assert_int_eq(set(cfg, "DomainPolicy", path, err), -1);
	snprintf(want, sizeof(want), "%s:1: ", path);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
	unlink(path);

	ck_assert_int_eq(set(cfg, "DomainPolicy", "/nonexistent/dp", err), -1);
	ck_assert_msg(strncmp(err, "/nonexistent/dp: ", 17) == 0, "%s", err);
	am_config_unref(cfg);
}
END_TEST

/* local_suite - all of the above */
static Suite *
local_suite(void)
{
	Suite	*s = suite_create("local");
	TCase	*tc = tcase_create("core");

	tcase_add_loop_test(tc, test_local, 0, nitems(lcases));
	tcase_add_loop_test(tc, test_local_not_fail, 0, nitems(lcases));
	tcase_add_loop_test(tc, test_local_empty, 0, nitems(lcases));
	tcase_add_test(tc, test_local_keeps_override);
	tcase_add_loop_test(tc, test_reject_spf_fail, 0, nitems(scases));
	tcase_add_test(tc, test_revname);
	tcase_add_test(tc, test_ptr_name);
	tcase_add_loop_test(tc, test_iprev_decide, 0, nitems(icases));
	tcase_add_test(tc, test_config_keys);
	tcase_add_test(tc, test_domain_policy_file);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(local_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
