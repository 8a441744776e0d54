/*
 * record.h - one history record: the am_message row (README "History",
 * the schema in milter/db/schema.c) of one message, built from its results
 * and verdict, and the rule that says which messages get one.
 *
 * Pure: no I/O, no clock (the caller passes the time), no configuration
 * (the caller passes the values); thread-safe.  Every text is a private
 * copy, printable ASCII only (a byte outside it becomes '?': an envelope
 * is the client's to fill, and PostgreSQL refuses text that is not valid
 * in its encoding).
 */
#ifndef AM_HISTORY_RECORD_H
#define AM_HISTORY_RECORD_H

#include <stddef.h>

#include "common/results.h"

/*
 * AM_HIST_DKIM_MAX: the record's DKIM column, one line per signature
 * ("<domain> <selector> <result>\n"); signatures that do not fit are left
 * out of the record (whole lines only; they still counted for DMARC).
 */
#define AM_HIST_DKIM_MAX	2048

/* what the caller knows besides the results */
struct am_hist_in {
	long long		 t;		/* end of message, Unix seconds */
	const char		*reporter;	/* AuthservID */
	const char		*source_ip;	/* the client */
	const char		*mailfrom;	/* envelope sender, without <>; "" null */
	const char		*rcpt;		/* first recipient's domain
						   (am_hist_rcpt_domain), "" or
						   NULL: unknown */
	int			 exempt;	/* no checks ran (IgnoreHosts, ...) */
	enum am_action		 action;	/* the verdict */
	const char		*why;		/* the verdict's reason (policy.h), or NULL */
	const struct am_results	*res;
};

struct am_hist_rec {
	struct am_hist_rec	*next;		/* the queue's link */
	long long		 t;
	char			 reporter[AM_DOMAIN_MAX + 1];
	char			 source_ip[64];
	char			 env_from[AM_DOMAIN_MAX + 1];
	char			 env_to[AM_DOMAIN_MAX + 1];
	char			 header_from[AM_DOMAIN_MAX + 1];
	char			 policy_domain[AM_DOMAIN_MAX + 1];
	char			 org_domain[AM_DOMAIN_MAX + 1];
	struct am_dmarc_published pub;		/* p .. discovery */
	char			 testing;	/* 'y' | 'n' */
	int			 pct;
	char			 policy_tag[4];
	const char		*dmarc_result;	/* static */
	int			 dkim_aligned, spf_aligned;
	const char		*disposition;	/* static: none|quarantine|reject */
	const char		*override;	/* static: "" or RFC 9990 name */
	char			 override_comment[AM_REASON_MAX];
	char			 spf_domain[AM_DOMAIN_MAX + 1];
	const char		*spf_scope;	/* static: "mfrom" | "helo" */
	const char		*spf_result;	/* static */
	char			 dkim[AM_HIST_DKIM_MAX];
};

/*
 * struct am_hist_packed - the queue's form of a record (issue 17).  A
 * struct am_hist_rec is ~5.2 KB because every text has room for its
 * longest value; a packed record holds the same values in
 * AM_HIST_PACKED_HEAD bytes plus its texts, each NUL-terminated, back to
 * back in text[] (~300-500 bytes for usual mail), so a queue that grows
 * under a burst takes a tenth of the memory.  The texts, in this order:
 */
enum am_hist_text {
	AM_HT_REPORTER, AM_HT_SOURCE_IP, AM_HT_ENV_FROM, AM_HT_ENV_TO,
	AM_HT_HEADER_FROM, AM_HT_POLICY_DOMAIN, AM_HT_ORG_DOMAIN,
	AM_HT_DISCOVERY, AM_HT_P, AM_HT_SP, AM_HT_NP, AM_HT_FO, AM_HT_RUA,
	AM_HT_RUF, AM_HT_POLICY_TAG, AM_HT_OVERRIDE_COMMENT, AM_HT_SPF_DOMAIN,
	AM_HT_DKIM,
	AM_HT_N
};

struct am_hist_packed {
	struct am_hist_packed	*next;		/* the queue's link */
	long long		 t;
	int			 pct, dkim_aligned, spf_aligned;
	char			 adkim, aspf;	/* as in struct am_dmarc_published */
	char			 psd, testing;
	const char		*dmarc_result;	/* the static texts, as in */
	const char		*disposition;	/* struct am_hist_rec */
	const char		*override;
	const char		*spf_scope;
	const char		*spf_result;
	unsigned short		 off[AM_HT_N];	/* where each text starts in text[] */
	char			 text[];
};

#define AM_HIST_PACKED_HEAD	offsetof(struct am_hist_packed, text)

/*
 * am_hist_pack - r packed into out (outlen bytes, next = NULL) if it fits;
 * returns the bytes it needs, so a caller may ask with outlen 0 first.
 */
size_t	am_hist_pack(const struct am_hist_rec *r, struct am_hist_packed *out,
	    size_t outlen);

/* am_hist_text - one text of a packed record */
const char *am_hist_text(const struct am_hist_packed *, enum am_hist_text);

/*
 * am_hist_wanted - whether a message is recorded (README "History"):
 * DMARC evaluated it with a record found (pass, fail, or temperror or
 * permerror with the policy domain known), the client is not exempt, and
 * the verdict is final (accept, quarantine, reject; a 4xx would be
 * retried by the MTA and counted twice).
 */
int	am_hist_wanted(const struct am_hist_in *);

/*
 * am_hist_build - fill *out (next = NULL) for a wanted message.  The
 * disposition is what was done (reject, quarantine, else none); override
 * says why that is not what the record asked for: the results' own
 * override (override_comment: who), else policy_test_mode for t=y, else
 * other ("pct=N sampling", RFC 7489 mode) or local_policy (our
 * configuration enforced something else: RejectFailures off,
 * HoldQuarantinedMessages off; the comment is the verdict's reason).
 * A message delivered with our header only is disposition none (issue 13's
 * schema), its override says why.
 */
void	am_hist_build(const struct am_hist_in *, struct am_hist_rec *out);

/*
 * am_hist_rcpt_domain - the domain of an RCPT TO address as the MTA hands
 * it to the milter ("<user@Example.COM>", with or without <>), into out
 * (outlen at least AM_DOMAIN_MAX + 1): RFC 9990's envelope_to.  The
 * domain is what follows the last '@' (a source route "@a,@b:u@c" or a
 * quoted local part with '@' gives the mailbox's domain), lower-cased.
 * "" when there is none (RFC 5321 4.1.1.3 "<postmaster>", "<>") or it is
 * longer than AM_DOMAIN_MAX (not a domain; never cut into another one).
 */
void	am_hist_rcpt_domain(const char *addr, char *out, size_t outlen);

#endif /* AM_HISTORY_RECORD_H */
