/*
 * dns_dkim_seam.h - the part of the libopendkim DNS hooks (dns_dkim.c)
 * that takes what libunbound returns, for the fuzz and unit tests
 * (tests/fuzz/fuzz_dns_answer.c).  The daemon reaches it only through
 * the wait hook.
 */
#ifndef AM_DNS_DKIM_SEAM_H
#define AM_DNS_DKIM_SEAM_H

#include <stddef.h>

#include "dns/dns.h"

struct ub_result;

/*
 * What the wait hook writes into libopendkim's reply buffer buf (buflen
 * bytes) for a key query of name and rrtype, given the am_dns outcome st
 * and, for AM_DNS_OK, libunbound's answer res (borrowed): its reply
 * packet, or a synthesised answerless reply (dns_dkim.h has the mapping).
 * Returns the DKIM_DNS_* status; *len is the reply length (0 unless
 * DKIM_DNS_SUCCESS), *dnssec a DKIM_DNSSEC_* value.  Never writes past
 * buflen.
 */
int	am_dns_dkim_reply(unsigned char *buf, size_t buflen, const char *name,
	    int rrtype, enum am_dns_status st, const struct ub_result *res,
	    size_t *len, int *dnssec);

#endif /* AM_DNS_DKIM_SEAM_H */
