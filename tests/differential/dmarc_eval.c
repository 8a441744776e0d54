/*
 * dmarc_eval.c - am_dmarc_eval on generated cases, for the DMARC
 * differential tests (dmarc_diff.py compares with mailauth@4 and
 * Mail::DMARC in RFC 7489 mode, walk_diff.py with mailauth@7.1.0 in RFC
 * 9989 tree-walk mode).
 *
 * Usage: dmarc_eval [--rfc7489] [--ns IP@PORT] CASES.lines
 * Lines (TAB-separated, no escaping needed):
 *	C name from-domain spf-result spf-domain dkim(result:domain,...|-)
 *	R zone-file line (local data; ignored with --ns)
 * Without --ns every case gets its own resolver answering from its R
 * lines (libunbound local data).  With --ns one resolver forwards every
 * query to that name server (nsd serving the whole corpus), as the
 * daemon's Nameservers key does.
 * Prints "name result policy tag policy-domain org-domain disposition"
 * for every case ("-" for an empty field); disposition is the policy
 * after t=y (policy.c's rule: one step milder), for a fail only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/dmarc.h"
#include "dns/dns.h"
#include "dmarc/psl.h"
#include "common/results.h"
#include "message/policy.h"

#define PSL_FILE	"/usr/share/publicsuffix/public_suffix_list.dat"
#define RR_MAX		16

static char	*cname, *cfrom, *cspf, *cspfdom, *cdkim;
static const char *nameserver;		/* --ns: NULL for local data */
static char	*rrs[RR_MAX];
static int	 nrr;

/* fill - SPF and DKIM results of the case */
static void
fill(struct am_results *r)
{
	char	*list, *tok, *save = NULL, *colon;

	memset(r, 0, sizeof(*r));
	r->spf_mailfrom.checked = 1;
	r->spf_mailfrom.result = strcmp(cspf, "pass") == 0 ? AM_SPF_PASS :
	    AM_SPF_FAIL;
	snprintf(r->spf_mailfrom.domain, sizeof(r->spf_mailfrom.domain), "%s",
	    cspfdom);
	if (strcmp(cdkim, "-") == 0)
		return;
	list = strdup(cdkim);
	for (tok = strtok_r(list, ",", &save); tok != NULL &&
	    r->ndkim < AM_DKIM_SIGS_MAX; tok = strtok_r(NULL, ",", &save)) {
		if ((colon = strchr(tok, ':')) == NULL)
			continue;
		*colon = '\0';
		r->dkim[r->ndkim].result = strcmp(tok, "pass") == 0 ?
		    AM_DKIM_PASS : AM_DKIM_FAIL;
		snprintf(r->dkim[r->ndkim].domain,
		    sizeof(r->dkim[r->ndkim].domain), "%s", colon + 1);
		r->ndkim++;
	}
	free(list);
}

/* resolver - a local-data resolver for the case, or the shared one */
static struct am_dns *
resolver(void)
{
	static struct am_dns	*shared;
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	struct am_dns		*dns;
	char			 err[256];
	int			 i;

	if (nameserver != NULL && shared != NULL)
		return shared;
	if (nameserver != NULL) {
		o.local_only = 0;
		o.nameservers = &nameserver;
		o.nnameservers = 1;
	}
	if ((dns = am_dns_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_dns_new: %s\n", err);
		exit(2);
	}
	if (nameserver != NULL)
		return shared = dns;
	for (i = 0; i < nrr; i++)
		if (am_dns_add_local(dns, rrs[i]) == -1)
			fprintf(stderr, "%s: bad rr %s\n", cname, rrs[i]);
	return dns;
}

/*
 * disposition - what the daemon does with a fail: am_policy_decide (t=y
 * one step milder; pct sample 0) with RejectFailures and
 * HoldQuarantinedMessages on, so its action names the policy applied.
 */
static const char *
disposition(const struct am_results *r, const struct am_dmarc_res *d)
{
	struct am_policy_conf	 pc = { .reject_failures = 1,
				    .hold_quarantined = 1 };
	struct am_facts		 f = { .pct_sample = 0 };
	struct am_results	 all = *r;
	struct am_verdict	 v;

	if (d->result != AM_DMARC_FAIL || d->policy_tag[0] == '\0')
		return "-";
	all.dmarc = *d;
	am_policy_decide(&pc, &f, &all, AM_ERR_NONE, &v);
	return v.action == AM_ACT_REJECT ? "reject" :
	    v.action == AM_ACT_QUARANTINE ? "quarantine" : "none";
}

/* dash - "-" for an empty string */
static const char *
dash(const char *s)
{
	return *s != '\0' ? s : "-";
}

/* run - evaluate the current case */
static void
run(const struct am_psl *psl)
{
	struct am_dns		*dns = resolver();
	struct am_results	 r;
	struct am_dmarc_res	 d;
	char			 from[1][AM_DOMAIN_MAX + 1];

	snprintf(from[0], sizeof(from[0]), "%s", cfrom);
	fill(&r);
	if (am_dmarc_eval(dns, NULL, psl, from, 1, &r, &d) == -1)
		printf("%s internal - - - - -\n", cname);
	else
		printf("%s %s %s %s %s %s %s\n", cname,
		    am_dmarc_result_str(d.result),
		    d.policy_tag[0] != '\0' ? am_dmarc_policy_str(d.policy) : "-",
		    dash(d.policy_tag), dash(d.policy_domain),
		    dash(d.org_domain), disposition(&r, &d));
	if (nameserver == NULL)
		am_dns_free(dns);
}

/* clear - forget the current case */
static void
clear(void)
{
	int	 i;

	free(cname);
	free(cfrom);
	free(cspf);
	free(cspfdom);
	free(cdkim);
	cname = cfrom = cspf = cspfdom = cdkim = NULL;
	for (i = 0; i < nrr; i++)
		free(rrs[i]);
	nrr = 0;
}

/* next - the next TAB field, copied */
static char *
next(char **save)
{
	char	*t = strtok_r(NULL, "\t\n", save);

	return strdup(t != NULL ? t : "-");
}

int
main(int argc, char **argv)
{
	struct am_psl	*psl = NULL;
	char		 line[4096], err[256], *save, *k;
	FILE		*fp;
	int		 i = 1;

	if (argc > i && strcmp(argv[i], "--rfc7489") == 0) {
		if ((psl = am_psl_load(PSL_FILE, err, sizeof(err))) == NULL) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		i++;
	}
	if (argc > i + 1 && strcmp(argv[i], "--ns") == 0) {
		nameserver = argv[i + 1];
		i += 2;
	}
	if (i >= argc || (fp = fopen(argv[i], "r")) == NULL) {
		fprintf(stderr, "usage: dmarc_eval [--rfc7489] [--ns IP@PORT] "
		    "CASES.lines\n");
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((k = strtok_r(line, "\t\n", &save)) == NULL)
			continue;
		if (*k == 'C') {
			if (cname != NULL)
				run(psl);
			clear();
			cname = next(&save);
			cfrom = next(&save);
			cspf = next(&save);
			cspfdom = next(&save);
			cdkim = next(&save);
		} else if (*k == 'R' && nrr < RR_MAX) {
			save[strcspn(save, "\n")] = '\0';
			rrs[nrr++] = strdup(save);
		}
	}
	if (cname != NULL)
		run(psl);
	clear();
	fclose(fp);
	if (nameserver != NULL)
		am_dns_free(resolver());
	am_psl_free(psl);
	return 0;
}
