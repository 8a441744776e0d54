/*
 * dns_dkim.h - libopendkim DNS hooks that send key queries through dns.c.
 *
 * libopendkim fetches a signature's key record (RFC 6376 section 3.6.2,
 * "<selector>._domainkey.<domain>" TXT) through five hooks: start a query,
 * wait for its reply, cancel (called exactly once per query, also after a
 * reply, to release it), and service init/close.  am_dns_dkim_install()
 * points every hook of one DKIM_LIB at the process-wide struct am_dns, so
 * DKIM shares the resolver and cache with SPF and DMARC.
 *
 * Outcome mapping (RFC 6376 section 6.1.2), as libopendkim then reports it:
 *   AM_DNS_OK        the raw reply is handed over      -> key parsed
 *   AM_DNS_NXDOMAIN  an NXDOMAIN reply is synthesised  -> DKIM_SIGERROR_NOKEY
 *   AM_DNS_NODATA    an empty reply is synthesised     -> DKIM_SIGERROR_NOKEY
 *   AM_DNS_PERM      an empty reply is synthesised     -> DKIM_SIGERROR_NOKEY
 *                    (a name that cannot be asked or a broken answer: the
 *                    key is unusable, a permanent failure)
 *   AM_DNS_TEMP      DKIM_DNS_EXPIRED at the deadline ("query timed out"),
 *                    DKIM_DNS_ERROR before it ("query failed")
 *                                                      -> DKIM_SIGERROR_KEYFAIL
 * so dkim.c can map NOKEY to permerror and KEYFAIL to temperror.  A reply
 * larger than libopendkim's buffer is DKIM_DNS_ERROR.  The wait hook honours
 * libopendkim's timeout (DKIM_OPTS_TIMEOUT) and never answers
 * DKIM_DNS_NOREPLY: libopendkim 2.11 would parse an empty buffer after it.
 *
 * The close, init, nslist, config and trust-anchor hooks are no-ops: the
 * resolver belongs to the caller, and libopendkim's default close hook
 * would free it (a double free at dkim_close()).
 *
 * Ownership and threads: the struct am_dns is borrowed and must outlive the
 * DKIM_LIB.  Each query's state is private to the thread that started it,
 * and dns.c is thread-safe, so one DKIM_LIB can verify in many threads.
 */
#ifndef AM_DNS_DKIM_H
#define AM_DNS_DKIM_H

struct am_dns;
struct am_dns_budget;
struct dkim_lib;				/* libopendkim's DKIM_LIB */

/*
 * Install the hooks on lib.  dns may be NULL: every key query then fails
 * as DKIM_DNS_ERROR (temperror), which suits DKIM_QUERY_FILE unit tests.
 * Call before the first dkim_verify().  Returns 0, or -1 if lib already
 * had a resolver handle (it is left in place, untouched).
 */
int	am_dns_dkim_install(struct dkim_lib *lib, struct am_dns *dns);

/*
 * The key queries this thread starts from now on count against b (dns.h);
 * NULL: none.  libopendkim's hooks carry no per-message pointer, so dkim.c
 * sets b just before a dkim_eoh()/dkim_eom() call and NULL right after.
 */
void	am_dns_dkim_budget(struct am_dns_budget *b);

#endif /* AM_DNS_DKIM_H */
