/*
 * uri.h - the rua= and ruf= tag values of a DMARC record (RFC 9989 4.7,
 * dmarc-urilist; RFC 6068 mailto:) as a bounded list of mail addresses.
 *
 * Pure: no DNS, no configuration, no I/O, no state; thread-safe; the
 * caller owns every structure.  Used by the failure reports of the daemon
 * (report/freport*.c) and by authmilter-report (aggregate reports).
 *
 * What is kept: "mailto:" URIs only (RFC 9989 4.7: schemes a receiver
 * does not support MUST be ignored; mailto: is the one it MUST support).
 * The obsolete "!size" suffix (RFC 7489 6.2, RFC 9989 obs-dmarc-uri) is
 * accepted; its value is kept in ->size but nobody needs to honour it.
 * %-encoding (RFC 3986 2.1) is decoded; a "?hfields" part of the mailto:
 * URI (RFC 6068 2) is ignored.  WSP around the commas is skipped.
 *
 * The address must be a plain dot-atom "local@domain" of printable
 * ASCII with a letter-digit-hyphen domain: anything else (a quoted local
 * part, a comment, an address literal, UTF-8, a control, a leading '-')
 * is refused, so that what comes out can be handed to an MTA's command
 * line or SMTP envelope without quoting.  The domain is lower-cased.
 */
#ifndef AM_REPORT_URI_H
#define AM_REPORT_URI_H

#include <stddef.h>

/*
 * Limits.  A tag with more URIs keeps the first AM_REPORT_URI_MAX valid
 * ones (->over counts the rest); an address longer than AM_REPORT_ADDR_MAX
 * (RFC 5321 4.5.3.1.3: a path is 256 octets with its angle brackets) is
 * refused (->bad).  A tag value longer than AM_REPORT_URILIST_MAX is cut
 * there (->cut set): a DNS TXT record rarely holds more, and the parse
 * stays bounded whatever the input.
 */
#define AM_REPORT_URI_MAX	8
#define AM_REPORT_ADDR_MAX	254
#define AM_REPORT_URILIST_MAX	4096

struct am_report_addr {
	char			 addr[AM_REPORT_ADDR_MAX + 1];	/* "local@domain" */
	size_t			 at;		/* index of '@' in addr */
	unsigned long long	 size;		/* "!size" in bytes, 0 if none */
};

struct am_report_uris {
	struct am_report_addr	 a[AM_REPORT_URI_MAX];
	size_t			 n;		/* addresses in a[] */
	size_t			 other;		/* URIs of other schemes (ignored) */
	size_t			 bad;		/* mailto: URIs refused */
	size_t			 dup;		/* duplicates of an earlier address */
	size_t			 over;		/* valid ones past AM_REPORT_URI_MAX */
	int			 cut;		/* value longer than AM_REPORT_URILIST_MAX */
};

/*
 * am_report_uri_parse - parse a rua/ruf tag value (NULL or "" gives an
 * empty list).  Always fills *out; returns out->n.  The same address
 * given twice (local part exact, domain any case) is kept once.
 */
size_t	am_report_uri_parse(const char *value, struct am_report_uris *out);

/*
 * am_report_uri_one - parse one dmarc-uri (value[0..len), no commas).
 * Returns 1 and fills *a for a usable mailto: address, 0 for another
 * scheme, -1 for a malformed or refused one.
 */
int	am_report_uri_one(const char *value, size_t len, struct am_report_addr *a);

/* am_report_addr_domain - the domain of a parsed address */
const char *am_report_addr_domain(const struct am_report_addr *);

#endif /* AM_REPORT_URI_H */
