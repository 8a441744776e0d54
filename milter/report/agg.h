/*
 * agg.h - the rows of one aggregate report: history rows of one policy
 * domain and period grouped into report records (RFC 9990 section 2.1;
 * the draft-ietf-dmarc-aggregate-reporting-32 text at hand).
 *
 * "One record per (IP, result, authentication identifiers) tuple"
 * (2.1.1.8): messages with the same source IP, identifiers, evaluated
 * policy and authentication results become one record with a count.
 * The DKIM results of a row are put in the order of section 2.1.3
 * (aligned strict pass, aligned relaxed pass, other pass, the rest) and
 * cut at AM_AGG_SIGS_MAX.  Subdomains that inherit a policy are already
 * in their parent's rows: the caller selects by policy_domain (2.1.2).
 *
 * Pure functions: no I/O, no clock.  The strings of a message belong to
 * the caller and must outlive the records made from it.
 */
#ifndef AM_REPORT_AGG_H
#define AM_REPORT_AGG_H

#include <stddef.h>

/* RFC 9990 2.1.3: "no more than 100 signatures for a given row" */
#define AM_AGG_SIGS_MAX		100

/* one DKIM signature's result (d=, s=, result), NUL-terminated */
struct am_agg_sig {
	const char	*domain;
	const char	*selector;
	const char	*result;
};

/*
 * One history row (schema13 am_message), or a group of identical ones
 * (count > 1, e.g. from an SQL GROUP BY).  Empty strings where the
 * store has ''.
 */
struct am_agg_msg {
	long long	 t;		/* latest time of the group */
	unsigned long	 count;		/* messages it stands for, >= 1 */
	const char	*source_ip;
	const char	*env_from, *env_to, *header_from;
	const char	*policy_domain, *org_domain, *discovery;
	const char	*p, *sp, *np, *adkim, *aspf, *testing, *fo, *rua;
	const char	*policy_tag;	/* p | sp | np: which one applied */
	const char	*dmarc_result;	/* pass | fail | temperror | permerror */
	int		 dkim_aligned, spf_aligned;
	const char	*disposition;	/* none | pass | quarantine | reject */
	const char	*override, *override_comment;
	const char	*spf_domain, *spf_scope, *spf_result;
	struct am_agg_sig *sigs;	/* header order until am_agg_group */
	size_t		 nsigs;
};

/* one report record: a representative message and how many it stands for */
struct am_agg_record {
	const struct am_agg_msg *m;
	unsigned long	 count;
};

/*
 * am_agg_split_sigs - split the store's dkim text ("d s result\n" per
 * signature, header order) in place into at most max signatures; lines
 * that do not have three fields are skipped.  Returns how many.
 */
size_t	am_agg_split_sigs(char *text, struct am_agg_sig *out, size_t max);

/*
 * am_agg_order_sigs - put m->sigs in the order of RFC 9990 2.1.3 (stable
 * by class, then by domain, selector, result so that equal sets compare
 * equal) and cut them to AM_AGG_SIGS_MAX.
 */
void	am_agg_order_sigs(struct am_agg_msg *m);

/*
 * am_agg_group - group n messages (one policy domain) into records:
 * orders every message's signatures, merges identical ones, and writes
 * the records to out (room for n), most messages first.  Returns how
 * many records.  The messages are reordered.
 */
size_t	am_agg_group(struct am_agg_msg *msgs, size_t n,
	    struct am_agg_record *out);

/*
 * am_agg_latest - the message whose record to publish in
 * policy_published: the latest (RFC 9990 2.2: "SHOULD note only the
 * final configuration observed").  NULL when n is 0.
 */
const struct am_agg_msg *am_agg_latest(const struct am_agg_msg *msgs,
	    size_t n);

/*
 * am_agg_disposition - the ActionDispositionType of a message: the
 * stored one, except that a delivered message that passed DMARC under an
 * enforcing policy (quarantine or reject) is "pass" (the XSD's comment on
 * ActionDispositionType); anything unknown is "none".
 */
const char *am_agg_disposition(const struct am_agg_msg *m);

/*
 * am_agg_policy - a policy value for the XSD's DispositionType
 * (none | quarantine | reject); "" or anything else gives dflt.
 */
const char *am_agg_policy(const char *v, const char *dflt);

#endif /* AM_REPORT_AGG_H */
