/*
 * iprev.h - the iprev check (RFC 8601 section 3, RFC 5451 3): the
 * client's PTR names, each confirmed by a forward look-up of the
 * client's address family.
 *
 * Two halves:
 *  - pure: the reverse name of an address, PTR rdata to a name, and the
 *    decision (am_iprev_decide) from fixed answers, for table tests;
 *  - the look-ups (am_iprev_start, am_iprev_finish) on the project's
 *    resolver (dns/, so its cache), under a budget of their own (below).
 *    The PTR query starts at MAIL FROM and is only waited for at end of
 *    message, so it overlaps the transfer of the message; the forward
 *    queries then start together (am_iprev_forward) and are waited for
 *    (am_iprev_finish) after the other end-of-message checks, so they
 *    overlap those.
 *
 * Results (RFC 8601 3):
 *	pass       one PTR name has an A/AAAA record equal to the address
 *	fail       no PTR record, or no name resolves back (reason says which)
 *	temperror  a DNS error (SERVFAIL, timeout, over budget) on the PTR
 *	           query, or on a forward query when no other name passed:
 *	           that name might have matched.  Never fail (issue 14:
 *	           authentication_milter says fail here)
 *	permerror  a PTR answer we cannot read, or a forward query that
 *	           cannot be asked (a PTR name that is no DNS name), when no
 *	           name passed and none had a temporary error
 *
 * Limits: AM_IPREV_NAMES_MAX PTR names are confirmed; more are ignored
 * (README "Limits").  The look-ups count against their own budget of
 * 1 + AM_IPREV_NAMES_MAX queries and AM_DNS_IPREV_SECS seconds at end of
 * message; a query past it is temperror, like a timeout.
 *
 * Ownership: an am_iprev holds its queries and answers until
 * am_iprev_free.  One thread at a time (the message's).
 */
#ifndef AM_IPREV_H
#define AM_IPREV_H

#include <stddef.h>
#include <sys/socket.h>

#include "common/results.h"
#include "dns/dns.h"

#define AM_IPREV_NAMES_MAX	10	/* PTR names confirmed (RFC 8601 3 leaves it open) */
#define AM_DNS_IPREV_SECS	20	/* waiting at end of message, all iprev queries */
#define AM_IPREV_REVNAME_MAX	80	/* "x.x. ... ip6.arpa" is 72 */

/* pure: the PTR question for an address ("1.2.0.192.in-addr.arpa"); 0, or -1 */
int	am_iprev_revname(const struct sockaddr *sa, char *out, size_t outlen);

/*
 * pure: a PTR rdata (an uncompressed wire-format domain name, as
 * libunbound hands it over) as lower-case text without the final dot.
 * 0, or -1 for rdata that is no name or no name we can ask (labels of
 * letters, digits, '-' and '_' only).
 */
int	am_iprev_ptr_name(const unsigned char *rdata, size_t len, char *out,
	    size_t outlen);

/* one PTR name and what its forward look-up found */
struct am_iprev_name {
	char			 name[AM_DOMAIN_MAX + 1];
	enum am_dns_status	 status;	/* of the A or AAAA query */
	int			 match;		/* an address equal to the client's */
	const char		*why;		/* the query's failure, static, or NULL */
};

/* what the look-ups found, for am_iprev_decide */
struct am_iprev_answers {
	const char		*addr;		/* client address as text */
	enum am_dns_status	 ptr_status;
	const char		*ptr_why;	/* "SERVFAIL", "timeout", ... or NULL */
	size_t			 nptr;		/* PTR records in the answer */
	size_t			 nbad;		/* of them, not usable names */
	size_t			 nnames;	/* <= AM_IPREV_NAMES_MAX */
	struct am_iprev_name	 names[AM_IPREV_NAMES_MAX];
};

/* pure: the iprev result of those answers (header comment), into *out */
void	am_iprev_decide(const struct am_iprev_answers *a,
	    struct am_iprev_res *out);

struct am_iprev;

/*
 * Start the check for client (AF_INET or AF_INET6; anything else: the
 * result is permerror at finish): its PTR query goes out now.  qid is
 * borrowed for debug lines and must outlive the handle.  NULL on ENOMEM.
 */
struct am_iprev	*am_iprev_start(struct am_dns *, const struct sockaddr *client,
		    const char *addr, const char *qid);

/*
 * Wait for the PTR answer and send the forward queries, without waiting
 * for them: the caller does other work (DKIM, DMARC) meanwhile.  Once;
 * am_iprev_finish calls it if the caller did not.
 */
void	am_iprev_forward(struct am_iprev *);

/*
 * Wait for the forward answers, decide: the result in *out.  Local
 * failures (dns.h) are left in the budget for the caller
 * (am_iprev_budget).
 */
void	am_iprev_finish(struct am_iprev *, struct am_iprev_res *out);

/* the check's budget: exhausted bits and local failures, for the caller */
const struct am_dns_budget *am_iprev_budget(const struct am_iprev *);

void	am_iprev_free(struct am_iprev *);	/* NULL is fine; cancels queries */

#endif /* AM_IPREV_H */
