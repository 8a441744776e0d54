/*
 * dmarc.h - DMARC evaluation of the RFC5322.From domain(s): policy discovery
 * by the RFC 9989 DNS tree walk (or RFC 7489 with a Public Suffix List),
 * organizational domains, identifier alignment (RFC 9989 section 4.4) of
 * the SPF identity and of every DKIM signature, and the applicable policy
 * (p, sp, np; psd, t; pct in RFC 7489 mode).
 *
 * DNS goes through dns.c; records are parsed by record.c (pure).
 * Thread-safe: no shared state.
 */
#ifndef AM_DMARC_H
#define AM_DMARC_H

#include <stddef.h>

#include "common/results.h"

struct am_dns;
struct am_dns_budget;
struct am_psl;

/*
 * Evaluate DMARC for the author domains of a message (from[0..nfrom-1], as
 * am_rfc5322_from_domains gave them) given the SPF and DKIM results in r
 * (r->spf_mailfrom is the SPF identity; r->dkim[0..ndkim-1] the signatures).
 * With several distinct domains each is evaluated and the strictest outcome
 * is kept (fail under reject > fail under quarantine > fail under none >
 * temperror > permerror > none > pass).  nfrom == 0 gives permerror.
 * psl NULL: RFC 9989 mode; non-NULL: RFC 7489 mode.
 *
 * RFC 9989 mode: the record is the author domain's, else its
 * Organizational Domain's, else its PSD's (4.10.1); sp/np apply to a
 * record found above the author domain, np when an A (then AAAA, MX)
 * query for the author domain says NXDOMAIN and a CNAME query confirms
 * it (3.2.13, A.4: a dangling CNAME exists); t=y is recorded in
 * out->testing (policy.c downgrades); out->pct is 100.  RFC 7489 mode:
 * author domain then PSL org domain, pct recorded, np/psd/t ignored.
 * Several DMARC records at one name: RFC 9989 4.10 steps 2 and 6 discard
 * them and the walk goes on (the org domain's or PSD's record applies);
 * RFC 7489 6.6.3 asks the org domain only when the author domain has no
 * record (step 3), so several there give none (step 5).
 * A DNS TEMP in discovery is temperror (never a parent's policy instead)
 * unless an identifier identical to the author domain passed; a
 * temperror of SPF/DKIM on an identifier that would align, with no pass,
 * is temperror too.  Every DKIM pass is considered, in any order.
 * The DNS look-ups of one call are cached: no name is asked twice; each
 * one asked counts against b (dns.h; NULL: none).
 * All pointers are borrowed; thread-safe (no shared state).
 * Writes *out; returns 0, or -1 on an internal failure (then *out is
 * temperror with a reason).
 */
int	am_dmarc_eval(struct am_dns *, struct am_dns_budget *b,
	    const struct am_psl *, char (*from)[AM_DOMAIN_MAX + 1], size_t nfrom,
	    const struct am_results *r, struct am_dmarc_res *out);

/*
 * The pure parts of discovery, exposed for tests (the record parser is
 * record.h's).
 */

/*
 * RFC 9989 3.2.13, A.4: the existence test of an author domain (for np)
 * asks at most this many queries (A; AAAA and MX if it fails; a CNAME
 * query to confirm an NXDOMAIN).  Three is what session.h's DMARC DNS
 * budget counts per From domain.
 */
#define AM_DMARC_EXIST_QUERIES	3

/*
 * RFC 9989 4.10: Author Domains with more than eight labels take no more
 * than eight queries: after the first, a walk jumps to the last seven.
 */
#define AM_DMARC_WALK_MAX	8

/*
 * RFC 9989 4.10 steps 3-7: the domains a full DNS Tree Walk starting at
 * domain queries (without the "_dmarc." prefix), in order, the start
 * first.  Writes at most max (AM_DMARC_WALK_MAX is always enough) and
 * returns how many.
 */
size_t	am_dmarc_walk_names(const char *domain,
	    char names[][AM_DOMAIN_MAX + 1], size_t max);

/* A DMARC record found by a walk: where, and its psd tag. */
struct am_dmarc_found {
	const char	*domain;
	char		 psd;			/* 'y', 'n', 'u' */
};

/*
 * RFC 9989 4.10.2: the Organizational Domain of start, given the records
 * a walk from start found (found[0..n-1], in walk order, longest first).
 * Returns 0, or -1 if it does not fit in out.
 */
int	am_dmarc_org_select(const char *start, const struct am_dmarc_found *,
	    size_t n, char *out, size_t outlen);

#endif /* AM_DMARC_H */
