/*
 * rfc5322.h - the pieces of RFC 5322 (and RFC 2047 display names) that
 * authmilter parses itself: author addresses in From, and the first token
 * of an Authentication-Results value (RFC 8601 authserv-id).
 *
 * Pure functions: no I/O, thread-safe; no allocation but libidn2's own,
 * freed before they return.  One function per
 * ABNF rule, each returning a pointer past what it consumed or NULL.
 */
#ifndef AM_RFC5322_H
#define AM_RFC5322_H

#include <stddef.h>

#include "common/results.h"

#define AM_FROM_ADDRS_MAX	16	/* more author addresses than this: permerror */

/*
 * Author domains of one From field value (RFC 5322 3.6.2 mailbox-list,
 * with obsolete forms, comments, quoted strings, groups, encoded words in
 * display names).  Domains are lower-cased, without a final dot; a domain
 * with UTF-8 (SMTPUTF8, RFC 6532) or "xn--" labels goes through libidn2's
 * IDNA2008 lookup (RFC 5891 5) with the UTS #46 non-transitional mapping
 * and NFC, and is kept as A-labels (RFC 8616 4), so any case or form of a
 * U-label domain meets its own DNS records.  A domain libidn2 refuses
 * (invalid UTF-8, disallowed code point, bad A-label, too long) is no
 * usable domain.  Thread-safe (libidn2 is).
 * Writes up to max domains and returns the number of addresses found
 * (duplicates kept), or -1 if the value is not a mailbox-list or any
 * address has no usable domain (an empty group counts as no address).
 */
int	am_rfc5322_from_domains(const char *value, char domains[][AM_DOMAIN_MAX + 1],
	    size_t max);

/*
 * RFC 8601 2.2 authserv-id of an Authentication-Results value: skip CFWS,
 * take the value (token or quoted-string), unquoted, into out.  Returns 0,
 * or -1 when there is none or it does not fit.
 */
int	am_rfc5322_authserv_id(const char *value, char *out, size_t outlen);

/*
 * The text to put back in front of a header field value that an MTA sent
 * without SMFIP_HDR_LEADSPC (milter protocol 2 to 4, or an MTA that does
 * not offer it): Postfix (milter8.c milter8_header) and sendmail (milter.c
 * milter_headers) then drop one space, never a tab, right after the colon.
 * What was there cannot always be told from what is left, and DKIM's
 * "simple" header canonicalization (RFC 6376 3.4.1) needs it byte for
 * byte, so this returns the most common original:
 *	value starts with a space -> " " (there were at least two: exact)
 *	value starts with a tab   -> ""  ("Name:<tab>x"; "Name: <tab>x" is lost)
 *	anything else, or empty   -> " " ("Name: x"; "Name:x" is lost)
 * A header written "Name:x", "Name: <tab>x" or "Name:" (nothing after)
 * therefore cannot verify under c=simple without SMFIP_HDR_LEADSPC.
 */
const char *am_rfc5322_lost_space(const char *value);

#endif /* AM_RFC5322_H */
