/*
 * dns_prefetch.h - look-ups started before the check that needs them
 * (issue 17), so the DNS round trips overlap the time the MTA spends
 * sending the message: a DKIM key as its DKIM-Signature field arrives,
 * the DMARC discovery names when the From field does.
 *
 * A prefetch changes no result and no budget.  It only starts a query
 * (am_dns_query_start without a budget) and keeps its handle in the
 * message's set.  The check that needs the answer later asks exactly as
 * before; when its budget names this set (am_dns_budget.prefetch),
 * dns_query.c takes the handle for the same name and type out of the
 * set instead of asking again, counts it as one lookup of the budget
 * (as if it had asked; over the cap or the deadline it is not used, as
 * it would not have been asked), and waits on it with a fresh resolver
 * timeout.  A prefetch that ended in a temporary failure is dropped and
 * the question asked again, as it would have been.  Names never needed
 * are cancelled (ub_cancel) when the set is freed: at the end of the
 * message, or when it is aborted or rejected early.
 *
 * Limits: at most AM_DNS_PREFETCH_MSG_MAX outstanding per message and
 * AM_DNS_PREFETCH_PROC_MAX in the process; past either, nothing is
 * started (the check asks for itself, as before).  A name already in the
 * answer cache (dns_cache.h) or already in the set is not started.
 *
 * A set belongs to one message and is used by one thread at a time (the
 * one running the message's callbacks); not thread-safe.
 */
#ifndef AM_DNS_PREFETCH_H
#define AM_DNS_PREFETCH_H

#include "dns/dns.h"

#define AM_DNS_PREFETCH_MSG_MAX		16	/* outstanding per message */
#define AM_DNS_PREFETCH_PROC_MAX	2048	/* outstanding per process */

struct am_dns_query;
struct am_dns_prefetch;

/* a set for one message; NULL on ENOMEM (the message runs without one) */
struct am_dns_prefetch	*am_dns_prefetch_new(struct am_dns *);
/* cancel what was never taken and free; NULL is fine */
void	am_dns_prefetch_free(struct am_dns_prefetch *);

/*
 * Start a query for (name, rrtype) in the background: 1 started; 0 not
 * needed (cached, already in the set, a name that cannot be asked); -1
 * not started (a limit above, or out of memory).
 */
int	am_dns_prefetch_add(struct am_dns_prefetch *, const char *name,
	    int rrtype);

/* queries started and not yet taken or cancelled, in this set */
unsigned int	am_dns_prefetch_count(const struct am_dns_prefetch *);

/*
 * For dns_query.c: take the handle for (name, rrtype) out of the set (the
 * caller owns it: it ends in am_dns_query_done), or NULL if none.
 */
struct am_dns_query *am_dns_prefetch_take(struct am_dns_prefetch *,
	    const char *name, int rrtype);

/*
 * Provided by dns.c: the process-wide count of outstanding prefetches
 * (kept in struct am_dns).  slot_take: 1 and counted if below max, else
 * 0; slot_give: one fewer.
 */
int		am_dns_slot_take(struct am_dns *, unsigned int max);
void		am_dns_slot_give(struct am_dns *);
unsigned int	am_dns_slots(struct am_dns *);
/* provided by dns.c: 1 if an answer for (name, rrtype) is cached */
int		am_dns_cached(struct am_dns *, const char *name, int rrtype);

#endif /* AM_DNS_PREFETCH_H */
