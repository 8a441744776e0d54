/*
 * dns_spf_seam.h - the part of the libspf2 DNS layer (dns_spf.c) that
 * takes what libunbound returns, for the fuzz and unit tests
 * (tests/fuzz/fuzz_dns_answer.c).  The daemon reaches it only through the
 * layer's lookup hook.
 *
 * Needs <spf2/spf.h>, <spf2/spf_dns.h> and <arpa/nameser.h> first.
 */
#ifndef AM_DNS_SPF_SEAM_H
#define AM_DNS_SPF_SEAM_H

#include "dns/dns.h"

struct ub_result;

/*
 * The record libspf2 gets for one lookup of domain (which may carry an
 * AM_SPF_ANY* marker label) and type, given the am_dns outcome st and,
 * for AM_DNS_OK, libunbound's answer res (borrowed; NULL is fine).  Each
 * rdata is copied by type: A and AAAA of their exact size, MX and PTR
 * names, TXT strings joined; a malformed one is skipped.  TXT SPF records
 * are checked and rewritten, MX and PTR names noted for the term count,
 * as in a real lookup.  srv is a layer from am_dns_spf_new (after
 * am_dns_spf_reset).  Never NULL: out of memory gives a TRY_AGAIN record
 * (and a local failure on the layer's budget).  Free with SPF_dns_rr_free.
 */
SPF_dns_rr_t	*am_dns_spf_answer(SPF_dns_server_t *srv, const char *domain,
		    ns_type type, enum am_dns_status st,
		    const struct ub_result *res);

#endif /* AM_DNS_SPF_SEAM_H */
