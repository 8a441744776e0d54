/*
 * mail.h - an aggregate report as a mail (RFC 9990 section 2.5.3, the
 * draft -32 text at hand): the unique id and Report-ID, the file name
 * receiver!policy-domain!begin!end!unique-id.xml.gz, the gzip (RFC 1952,
 * zlib) of the XML, and the RFC 5322/MIME message with the Subject
 * "Report Domain: ... Submitter: ... Report-ID: ..." and the report as an
 * application/gzip attachment (RFC 6713).
 *
 * The same inputs give the same id, name and message bytes: a report
 * sent again by a later run (a failed submission) carries the Report-ID
 * and file name of the first attempt, as 2.5.3 requires.
 *
 * Pure (memory only; the date is passed in).
 */
#ifndef AM_REPORT_MAIL_H
#define AM_REPORT_MAIL_H

#include <stddef.h>

#include "common/buf.h"

#define AM_MAIL_DOMAIN_MAX	254	/* a domain name and its NUL */
#define AM_MAIL_UID_LEN		17	/* 16 hex digits and NUL */
#define AM_MAIL_RID_MAX		(AM_MAIL_UID_LEN + AM_MAIL_DOMAIN_MAX)
#define AM_MAIL_NAME_MAX	(2 * AM_MAIL_DOMAIN_MAX + 3 * 21 + AM_MAIL_UID_LEN + 8)

/*
 * am_mail_safe_domain - a domain for a file name and a header: lower
 * case, and every byte but letters, digits, '-', '.' and '_' made '_'
 * (no '/', no CR/LF, nothing a sender could use); cut to fit out.
 */
void	am_mail_safe_domain(const char *in, char *out, size_t len);

/*
 * am_mail_uid - the report's unique-id (1*(ALPHA / DIGIT)): 16 hex
 * digits of a 64-bit FNV-1a hash of receiver, policy domain and period.
 */
void	am_mail_uid(const char *receiver, const char *policy_domain,
	    long long begin, long long end, char out[AM_MAIL_UID_LEN]);

/* am_mail_report_id - "uid@receiver" (2.5.1 ridfmt; receiver made safe) */
void	am_mail_report_id(const char *uid, const char *receiver, char *out,
	    size_t len);

/* am_mail_filename - receiver!policy-domain!begin!end!uid.xml.gz (2.5.3) */
void	am_mail_filename(const char *receiver, const char *policy_domain,
	    long long begin, long long end, const char *uid, char *out,
	    size_t len);

/*
 * am_mail_gzip - gzip (RFC 1952, modification time 0) of in[0..n-1]
 * appended to out; 0, or -1 (zlib failed, or out's cap)
 */
int	am_mail_gzip(const char *in, size_t n, struct am_buf *out);

/* what the message says */
struct am_mail_info {
	const char	*from;		/* ReportEmail: From and envelope sender */
	const char *const *to;		/* the destinations, mailbox addresses */
	size_t		 nto;
	const char	*policy_domain;
	const char	*receiver;	/* Submitter: the reporting domain */
	const char	*org_name;
	const char	*report_id;
	const char	*filename;
	long long	 begin, end;
	long long	 now;		/* Date: */
};

/*
 * am_mail_message - the whole message (CRLF-free, LF line ends as a
 * local sendmail takes them): headers, a short text part and the gzip as
 * a base64 attachment.  Addresses with bytes outside printable ASCII are
 * left out of To:.  Check am_buf_failed afterwards.
 */
void	am_mail_message(struct am_buf *b, const struct am_mail_info *info,
	    const char *gz, size_t gzlen);

#endif /* AM_REPORT_MAIL_H */
