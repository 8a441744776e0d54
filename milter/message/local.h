/*
 * local.h - local policy (issue 14): the site's own rules that change
 * what is enforced when DMARC fails.  They never change the DMARC result
 * (the A-R still says what DMARC found); they set the override of
 * results.h (dmarc.override, override_policy, override_by), which
 * policy.c then enforces as it is, and the A-R comment, the log line and
 * authmilter_dmarc_overrides_total show.
 *
 * The rules and their precedence, in this one place (README "Local
 * policy" has the same table).  Only a DMARC fail is considered, of a
 * message with no override yet (one set before, e.g. by a trusted ARC
 * sealer, stays); the first rule that matches decides:
 *
 *  1. TrustedDKIMDomains: a DKIM signature that passes, whose d= is one
 *     of the domains (exactly) -> local_policy, policy none.  Only when
 *     the policy that applies is not none already.
 *  2. TrustedSenders: the envelope sender ("user@domain", exactly) or its
 *     domain is listed, and SPF for MAIL FROM passed for that domain (a
 *     forged envelope fails SPF) -> local_policy, policy none.  Only
 *     when the policy that applies is not none already.
 *  3. DomainPolicy: the From domain (exactly) has a rule -> local_policy,
 *     its policy (reject, quarantine or none: even when stricter than
 *     the record's); dryrun: policy none, and override_by says what the
 *     record would have done.
 *  4. Mailing list: the message has a List-Id field (RFC 2919) and a DKIM
 *     signature that failed (it broke in transit) whose d= is aligned with
 *     the From domain (relaxed: the same organizational domain) ->
 *     mailing_list, MailingListAction when that is milder than the policy
 *     that applies.  A From-domain signature that is absent, not broken,
 *     is no evidence of a list: no override.
 *
 * RejectSPFFail is not here: it is about messages without DMARC policy
 * (policy.c), where none of these rules apply.
 *
 * Pure: values in, values out; no I/O, no config/ (the session fills
 * struct am_local_conf from its snapshot); thread-safe.
 */
#ifndef AM_LOCAL_H
#define AM_LOCAL_H

#include <stddef.h>

#include "common/results.h"

struct am_domain_rule;		/* config/config.h */

/* the local policy keys, every pointer borrowed for the call */
struct am_local_conf {
	const char *const	*trusted_dkim;		/* lower case domains */
	size_t			 ntrusted_dkim;
	const char *const	*trusted_senders;	/* "user@domain" or "domain" */
	size_t			 ntrusted_senders;
	const struct am_domain_rule *rules;		/* sorted by domain */
	size_t			 nrules;
	enum am_dmarc_policy	 mlist_action;		/* MailingListAction */
};

/* what the rules read besides the results */
struct am_local_facts {
	const char	*mailfrom;	/* envelope sender without <>, "" for null */
	int		 list_id;	/* a List-Id field was seen */
};

/*
 * Apply the rules above to r (its DMARC result and the SPF and DKIM
 * results it rests on); sets r->dmarc.override* when one matches.
 * Returns the rule that matched (1..4 as above), or 0.
 */
int	am_local_decide(const struct am_local_conf *,
	    const struct am_local_facts *, struct am_results *r);

#endif /* AM_LOCAL_H */
