/*
 * dns_cache.h - a small answer cache in front of libunbound (dns.c).
 *
 * libunbound caches too, but a cached answer still travels through its
 * threaded async machinery: a pipe write, its background thread, a pipe
 * read by our pump thread, a condition variable: ~30 system calls and two
 * thread switches per look-up, six to ten look-ups per message (SPF HELO
 * and MAIL FROM with includes, DKIM keys, DMARC).  Measured with bench/:
 * most of authmilter's kernel time.  This cache answers repeated questions
 * in the calling thread.
 *
 * What is cached: final answers only (records, NXDOMAIN, NODATA), for the
 * TTL libunbound reports with the answer (ub_result->ttl, the smallest TTL
 * of the RRset, or the negative TTL), capped at AM_DNS_CACHE_TTL_MAX.  A
 * temporary failure, a bogus answer or a TTL of 0 is never cached.  Keys
 * are (lower-cased name without the final dot, type).  Bounded: at most
 * AM_DNS_CACHE_MAX entries (expired ones included: an expired entry is
 * a miss, replaced by the next answer put); when full it is emptied.
 * Thread-safe: one read-write lock, look-ups share it.  Answers handed out are deep copies the caller frees with
 * ub_resolve_free() (am_dns_result_free), like libunbound's own, with
 * ttl set to what is left of it.
 */
#ifndef AM_DNS_CACHE_H
#define AM_DNS_CACHE_H

#include "dns/dns.h"

#define AM_DNS_CACHE_MAX	2048	/* entries */
#define AM_DNS_CACHE_TTL_MAX	3600	/* seconds */

struct ub_result;
struct am_dns_cache;

struct am_dns_cache *am_dns_cache_new(void);		/* NULL on ENOMEM */
void	am_dns_cache_free(struct am_dns_cache *);	/* NULL is fine */

/*
 * 1 and *st (and for AM_DNS_OK a copy in *res, if res is not NULL) when a
 * live answer is cached; 0 otherwise (also when a copy cannot be made).
 */
int	am_dns_cache_get(struct am_dns_cache *, const char *name, int rrtype,
	    enum am_dns_status *st, struct ub_result **res);
/* remember an answer (r is copied, not kept); no-op for what is not cached */
void	am_dns_cache_put(struct am_dns_cache *, const char *name, int rrtype,
	    enum am_dns_status st, const struct ub_result *r);

#endif /* AM_DNS_CACHE_H */
