/*
 * freport.h - DMARC failure reports (RFC 9991): which message calls for
 * one (the record's fo=, RFC 9989 4.7), the report itself (AFRF: RFC 5965
 * as RFC 6591 and RFC 9991 section 4 extend it), and the rate limiter
 * (RFC 9991 section 3: a rate limit is a MUST).
 *
 * Pure: no DNS, no configuration, no clock (the time is passed in), no
 * I/O; thread-safe except for a struct am_freport_rate, which its owner
 * guards (daemon/freport_q.c keeps it under its queue lock).  Sending (the
 * queue, the thread, the destination check, the MTA) is daemon/freport_q.c.
 */
#ifndef AM_REPORT_FREPORT_H
#define AM_REPORT_FREPORT_H

#include <stddef.h>
#include <time.h>

#include "common/buf.h"
#include "common/results.h"

/*
 * Limits.  AM_FREPORT_HEADERS_MAX: the header fields of a message kept
 * for its report; the fields past it are left out of the report (whole
 * fields, never a part of one) and the report says so.  AM_FREPORT_BODY_MAX:
 * the body kept when FailureReportsBody is on; past it the body is cut
 * and the report says so.  AM_FREPORT_RATE_DOMAINS: policy domains the
 * rate limiter tracks at once; a new one past that takes the slot whose
 * hour began first (that domain's count starts again).
 */
#define AM_FREPORT_HEADERS_MAX	(64 * 1024)
#define AM_FREPORT_BODY_MAX	(256 * 1024)
#define AM_FREPORT_RATE_DOMAINS	1024
#define AM_FREPORT_RATE_WINDOW	3600	/* seconds: "per hour" */

/* fo= values (RFC 9989 4.7), as bits */
#define AM_FREPORT_FO_0		0x1	/* all mechanisms failed to align a pass */
#define AM_FREPORT_FO_1		0x2	/* any mechanism failed to align a pass */
#define AM_FREPORT_FO_D		0x4	/* a DKIM signature failed */
#define AM_FREPORT_FO_S		0x8	/* SPF failed */

/*
 * am_freport_fo_parse - the fo= value as written ("" when absent): its
 * bits, or AM_FREPORT_FO_0 (the default) when absent or invalid (an
 * unknown option, a repeated one, or both 0 and 1: RFC 9989 dmarc-fo).
 */
unsigned int	am_freport_fo_parse(const char *fo);

/* what a report is about (RFC 6591 Auth-Failure; RFC 9991 4 adds dmarc) */
enum am_freport_kind {
	AM_FREPORT_NONE = 0,
	AM_FREPORT_DMARC,
	AM_FREPORT_DKIM,
	AM_FREPORT_SPF
};

const char	*am_freport_kind_str(enum am_freport_kind);	/* "dmarc"... */

/*
 * am_freport_decide - does this message call for a failure report, and
 * of which kind?  None unless DMARC found a record (pass or fail, policy
 * domain known) with a ruf= tag and without psd=y (RFC 9991 3: ruf of a
 * PSD record MUST NOT be considered).  Then, by fo= (one report per
 * message, of the first kind that applies): 0 - neither DKIM nor SPF
 * gave an aligned pass (dmarc); 1 - one of them did not (dmarc; also for
 * a message that passed DMARC); d - a DKIM signature's result is fail or
 * permerror, aligned or not (dkim); s - SPF (MAIL FROM) is fail or
 * permerror (spf).
 */
enum am_freport_kind am_freport_decide(const struct am_results *);

/*
 * am_freport_identity_alignment - RFC 9991 4 Identity-Alignment: "dkim",
 * "spf", "dkim, spf" (the mechanisms that failed to authenticate an
 * aligned identity) or "none".  Static string.
 */
const char	*am_freport_identity_alignment(const struct am_dmarc_res *);

/*
 * am_freport_keep_header - add one header field to the copy kept for the
 * report: "name:value" with CRLF folds turned into LF, then LF.  A field
 * that would take b past its cap is left out whole and *cut set.
 */
void	am_freport_keep_header(struct am_buf *b, const char *name,
	    const char *value, int *cut);

/* what a report says: copied from the message at its end */
struct am_freport_in {
	const char		*reporter;	/* AuthservID: Message-ID host */
	const char		*user_agent;	/* "authmilter/1.2" */
	const char		*sender;	/* From: and envelope sender */
	const char		*to;		/* the one recipient */
	const char		*message_id;	/* "<token@reporter>" */
	const char		*boundary;	/* MIME boundary token */
	time_t			 arrival;	/* Arrival-Date, and Date: */
	const char		*source_ip;
	const char		*mailfrom;	/* envelope sender, "" for <> */
	enum am_freport_kind	 kind;
	enum am_action		 action;	/* Delivery-Result */
	const struct am_results	*res;
	const char		*authres;	/* our A-R value, "" if none */
	const char		*spf_record;	/* SPF-DNS text, NULL: not known */
	const char		*headers;	/* kept by am_freport_keep_header */
	int			 headers_cut;
	const char		*body;		/* NULL: headers only */
	size_t			 body_len;
	int			 body_cut;
};

/*
 * am_freport_compose - the whole report mail (header and MIME body, LF
 * line ends, for sendmail -oi) into out: multipart/report;
 * report-type=feedback-report with a text/plain part, the
 * message/feedback-report part (Feedback-Type: auth-failure, Version,
 * User-Agent, Auth-Failure, Authentication-Results, Identity-Alignment,
 * DKIM-Domain/-Identity/-Selector for a failed aligned signature, SPF-DNS
 * for a failed aligned SPF, Original-Mail-From, Arrival-Date, Source-IP,
 * Reported-Domain, Delivery-Result), and text/rfc822-headers (or
 * message/rfc822 with the body).  0, or -1 when out failed (its cap).
 */
int	am_freport_compose(const struct am_freport_in *, struct am_buf *out);

/* am_freport_date - RFC 5322 3.3 date-time in UTC into out[40] */
void	am_freport_date(time_t t, char *out, size_t len);

/*
 * The rate limiter: per policy domain and overall, each a count in a
 * fixed window of AM_FREPORT_RATE_WINDOW seconds that starts with the
 * first report after the last window ended.  Plain data; zero it to
 * start (memset).
 */
struct am_freport_rate_dom {
	char		 domain[AM_DOMAIN_MAX + 1];
	long		 start;
	unsigned int	 n;
};

struct am_freport_rate {
	struct am_freport_rate_dom d[AM_FREPORT_RATE_DOMAINS];
	size_t		 nd;
	long		 start;		/* the overall window */
	unsigned int	 n;
};

/* outcomes of am_freport_rate_take */
#define AM_FREPORT_RATE_OK	0
#define AM_FREPORT_RATE_DOMAIN	1	/* over per_domain this hour */
#define AM_FREPORT_RATE_GLOBAL	2	/* over global this hour */

/*
 * am_freport_rate_take - may one more report for domain go out at now
 * (seconds)?  AM_FREPORT_RATE_OK counts it in both windows; a refusal
 * counts nothing.
 */
int	am_freport_rate_take(struct am_freport_rate *, const char *domain,
	    long now, unsigned int global, unsigned int per_domain);

#endif /* AM_REPORT_FREPORT_H */
