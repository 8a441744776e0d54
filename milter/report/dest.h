/*
 * dest.h - the external destination rule for DMARC reports (RFC 9990
 * section 4 "Verifying External Destinations"; RFC 9991 section 5 applies
 * the same procedure to "ruf").
 *
 * A report address whose domain is outside the Organizational Domain of
 * the policy domain may receive reports only if
 * "<policy-domain>._report._dmarc.<address domain>" has a TXT record that
 * begins with "v=DMARC1".  That record may override the destination with
 * its own rua=/ruf= tag, but only to the same host (step 9); an override
 * that names another host forbids reporting to either.
 *
 * The decisions (am_report_dest_same_org, _qname, _txt_ok, _decide,
 * _override) are pure and thread-safe.  am_report_dest_check asks the
 * project's resolver (dns/dns.h; thread-safe, blocking up to its timeout)
 * and is what the daemon's failure-report thread and authmilter-report
 * call.
 */
#ifndef AM_REPORT_DEST_H
#define AM_REPORT_DEST_H

#include <stddef.h>

#include "dns/dns.h"
#include "report/uri.h"

enum am_report_dest {
	AM_REPORT_DEST_SAME_ORG = 0,	/* inside the policy's org domain: no check */
	AM_REPORT_DEST_AUTHORIZED,	/* external, _report._dmarc says v=DMARC1 */
	AM_REPORT_DEST_NOT_AUTHORIZED,	/* external, no such record (or too long) */
	AM_REPORT_DEST_TEMPERROR	/* external, the DNS did not answer: try later */
};

/* "same-org", "authorized", "not-authorized", "temperror" (for logs) */
const char *am_report_dest_name(enum am_report_dest);

/*
 * am_report_dest_same_org - is host inside the Organizational Domain
 * org_domain (equal to it or a subdomain of it, case-insensitively)?
 *
 * Conservative where RFC 9990 compares two org domains: a host under
 * org_domain has org_domain as its org domain unless a deeper record says
 * psd=n, and then both belong to the same owner anyway; every other host
 * is treated as external and checked, which is never less safe.  An empty
 * org_domain makes every host external.
 */
int	am_report_dest_same_org(const char *org_domain, const char *host);

/*
 * am_report_dest_qname - "<policy_domain>._report._dmarc.<host>" into
 * out[len].  Returns 0, or -1 when the name exceeds the DNS limits
 * (AM_DOMAIN_MAX, 63-octet labels: step 4, no positive determination) or
 * does not fit out.
 */
int	am_report_dest_qname(const char *policy_domain, const char *host,
	    char *out, size_t len);

/*
 * am_report_dest_txt_ok - step 6: the record is tag=value pairs whose
 * first is v=DMARC1 (the DMARC record grammar of RFC 9989 4.7).
 */
int	am_report_dest_txt_ok(const char *txt);

/*
 * am_report_dest_decide - steps 5-8 from the TXT look-up's outcome:
 * AM_DNS_OK with at least one record passing _txt_ok: AUTHORIZED;
 * AM_DNS_TEMP: TEMPERROR; anything else: NOT_AUTHORIZED.  *which (may be
 * NULL) is set to the index of the first passing record, or -1.
 */
enum am_report_dest am_report_dest_decide(enum am_dns_status st,
	    char *const *txt, size_t ntxt, int *which);

/*
 * am_report_dest_override - step 9 for tag ("rua" or "ruf") of the
 * authorizing record txt, for destination host.  Returns 0 when the
 * record has no such tag (keep the original address), 1 when it names
 * addresses all on host (*out holds them: send there instead), -1 when
 * it names any other host or nothing usable (send to neither).
 */
int	am_report_dest_override(const char *txt, const char *tag,
	    const char *host, struct am_report_uris *out);

/*
 * am_report_dest_check - the whole rule for one address: SAME_ORG
 * without a query when am_report_dest_same_org(policy_org, its domain);
 * otherwise the TXT query through dns (budget NULL: the report paths are
 * off the mail path) and _decide.  When AUTHORIZED and override is not
 * NULL, *override is filled as by _override with tag (its return value
 * in *override_rc, 0 when not authorized).
 */
enum am_report_dest am_report_dest_check(struct am_dns *dns,
	    const char *policy_domain, const char *policy_org,
	    const struct am_report_addr *addr, const char *tag,
	    struct am_report_uris *override, int *override_rc);

#endif /* AM_REPORT_DEST_H */
