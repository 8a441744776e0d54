/*
 * dns_seam.h - the parts of dns_answer.c that take what libunbound returns,
 * for the fuzz and unit tests (tests/fuzz/fuzz_dns_answer.c): the daemon
 * reaches them only through dns.h.
 *
 * Each takes a struct ub_result as libunbound fills it: data[] a
 * NULL-terminated array of rdata, len[] their lengths.  Nothing here
 * trusts the rdata: a string that runs past its record is malformed.
 */
#ifndef AM_DNS_SEAM_H
#define AM_DNS_SEAM_H

#include <stddef.h>

#include "dns/dns.h"

/*
 * The status of a libunbound callback's (err, r): err != 0, no result or
 * a bogus one, or an rcode other than NOERROR/NXDOMAIN: TEMP; NXDOMAIN;
 * NOERROR with data: OK, without: NODATA.
 */
enum am_dns_status am_dns_classify(int err, const struct ub_result *r);

/*
 * Every TXT record of r, its character-strings joined (am_dns_txt_rdata),
 * as NUL-terminated malloc'd strings: AM_DNS_OK with *txt and *ntxt set (free
 * with am_dns_txt_free); AM_DNS_PERM if a record is malformed; AM_DNS_TEMP
 * when memory runs out (a local failure, noted on b).  Otherwise *txt is
 * NULL and *ntxt 0.
 */
enum am_dns_status am_dns_txt_split(const struct ub_result *r,
	    struct am_dns_budget *b, char ***txt, size_t *ntxt);

#endif /* AM_DNS_SEAM_H */
