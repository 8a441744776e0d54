/*
 * spf.h - SPF checks (RFC 7208) of the HELO and MAIL FROM identities,
 * through libspf2 with its DNS going through dns.c (dns_spf.c).
 *
 * Threads: one struct am_spf per connection (libspf2's SPF_server_t is not
 * shared between threads).  Results are plain values the caller owns.
 * This module never talks to the MTA and never decides policy.
 */
#ifndef AM_SPF_H
#define AM_SPF_H

#include "common/results.h"

struct am_dns;
struct am_dns_budget;
struct sockaddr;
struct am_buf;
struct am_spf;

/* receiver: our host name / authserv-id, used for %{r} in explanations */
struct am_spf	*am_spf_new(struct am_dns *, const char *receiver);
void		 am_spf_free(struct am_spf *);		/* NULL is fine */

/*
 * Fill *out for one identity.  client is AF_INET or AF_INET6 (an
 * IPv4-mapped IPv6 address is checked as IPv4, RFC 7208 5); NULL or
 * another family gives none ("no usable client address").
 * A DNS failure is a result (TEMPERROR), not an error.  Returns -1 only for an
 * internal failure; *out is then TEMPERROR with the reason filled in.
 * RFC 7208 2.3: helo is checked as "postmaster@helo".
 * mailfrom is the reverse-path without its <> (RFC 5321 4.1.2; the
 * session strips them once).  RFC 7208 2.4: an empty one (null sender)
 * is checked as "postmaster@helo"; out->identity then says so.
 * A fail result carries the domain's exp= explanation in out->explanation
 * (empty when there is none or it does not resolve, RFC 7208 6.2).
 * Every DNS lookup of the check counts against b (dns.h; NULL: none):
 * one over its cap or past its deadline is a temperror, like a timeout.
 */
int	am_spf_check_helo(struct am_spf *, struct am_dns_budget *b,
	    const struct sockaddr *client, const char *helo,
	    struct am_spf_check *out);
int	am_spf_check_mailfrom(struct am_spf *, struct am_dns_budget *b,
	    const struct sockaddr *client, const char *helo,
	    const char *mailfrom, struct am_spf_check *out);

/*
 * RFC 7208 section 9.1 Received-SPF field value (without the name) for one
 * check.  Appends to b.
 */
void	am_spf_received(const struct am_spf_check *, const char *client_ip,
	    const char *helo, const char *receiver, struct am_buf *b);

#endif /* AM_SPF_H */
