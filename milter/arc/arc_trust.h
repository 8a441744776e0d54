/*
 * arc_trust.h - ARCTrustedSealers: which ARC sealers a site trusts, and
 * the pure decision whether a failing DMARC result is overridden because
 * trusted sealers vouch for an aligned pass they saw (issue 14; RFC 8617
 * 7.2 leaves "which sealers to trust" to local policy).
 *
 * Pure except am_arc_sealers_load's file read; thread-safe (a list is
 * read-only once made).
 */
#ifndef AM_ARC_TRUST_H
#define AM_ARC_TRUST_H

#include <stddef.h>

#include "common/results.h"

#define AM_ARC_SEALERS_MAX	1000	/* domains in the list; more is an error */

struct am_arc_sealers;

/*
 * am_arc_sealers_load - "a.example, b.example" (commas or spaces) or
 * "file:/path" (one domain a line, '#' comments; relative to dir when
 * not absolute).  NULL with the problem in err.
 */
struct am_arc_sealers *am_arc_sealers_load(const char *val, const char *dir,
	    char *err, size_t errlen);
void	am_arc_sealers_free(struct am_arc_sealers *);	/* NULL is fine */
/* exact domain match, case-insensitive; list NULL: 0 */
int	am_arc_sealers_has(const struct am_arc_sealers *, const char *domain);

/*
 * am_arc_aligned - 1 if the AAR word ("dmarc:d", "dkim:d", "spf:d") is a
 * pass aligned with the From domain of dm: dmarc for that very domain;
 * dkim/spf by the record's adkim/aspf (strict: equal; relaxed: within
 * dm->org_domain, RFC 9989 4.4), else 0.
 */
int	am_arc_aligned(const char *word, const struct am_dmarc_res *dm);

/*
 * am_arc_trust - the override decision: 1 when DMARC failed, the chain
 * passed, and every sealer from the newest hop down to the first hop
 * (newest first) whose AAR shows an aligned pass is in the list; the
 * hop that shows it named in by ("sealer lists.example.org i=2").
 * Otherwise 0 (by untouched).  Hops past AM_ARC_KEEP are never trusted.
 */
int	am_arc_trust(const struct am_arc_sealers *, const struct am_arc_res *arc,
	    const struct am_dmarc_res *dm, char *by, size_t bylen);

#endif /* AM_ARC_TRUST_H */
