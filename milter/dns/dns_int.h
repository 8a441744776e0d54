/*
 * dns_int.h - what the files of the resolver share: the resolver and
 * query structs and the helpers one file lends another.  Not for use
 * outside milter/dns/ (the checks see only dns.h).
 *
 *	dns.c		the libunbound context: start-up, upstream, local
 *			data, the pump thread, counters
 *	dns_query.c	one query: start (prefetch take-over, cache, budget),
 *			callback, wait, done
 *	dns_budget.c	the per-message budget: lookups, deadline, cancel
 *	dns_local.c	local failures (issue 15): this process's fault or DNS's
 *	dns_answer.c	what libunbound answers: status, TXT strings
 */
#ifndef AM_DNS_INT_H
#define AM_DNS_INT_H

#include <pthread.h>
#include <time.h>

#include "dns/dns.h"

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_NAME_MAX		255	/* with the final dot, some slack */

struct ub_ctx;
struct ub_result;
struct am_dns_cache;
struct am_dns_work;

struct am_dns {
	struct ub_ctx	*ctx;
	struct ub_ctx	*scratch;	/* checks local data: add_data */
	pthread_t	 pump;
	int		 pump_running;
	int		 wake[2];	/* self-pipe: pump stops if readable */
	unsigned int	 timeout;	/* seconds per query */
	int		 local_only;	/* "." is a static zone */
	unsigned long	 nqueries;	/* atomic: queries sent, for metrics */
	unsigned long	 ntimeouts;	/* atomic: queries that timed out */
	long		 local_until;	/* atomic: CLOCK_MONOTONIC ms; local_cause */
	int		 local_errno;	/* atomic: errno of that local failure */
	struct am_dns_cache *cache;	/* answers in front of libunbound */
	unsigned int	 nslots;	/* atomic: outstanding prefetches */
	struct am_dns_work *work;	/* background checks (dns_work.h) */
};

/* one query; its life cycle (references, mutex) is told in dns_query.c */
struct am_dns_query {
	struct am_dns		*dns;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 refs;		/* atomic; see dns_query.c */
	int			 done;		/* status (and res) are final */
	int			 async_id;
	enum am_dns_status	 status;
	struct ub_result	*res;		/* only when status is OK */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	int			 timed_out;	/* counted in ntimeouts */
	const char		*local_what;	/* a local failure (dns.h), static */
	int			 local_err;	/* its errno, or 0 */
	int			 rrtype;
	const char		*tempwhy;	/* cause of a TEMP (dns_log.h), static */
	int			 cached;	/* answered by dns_cache.c */
	char			 name[DNS_NAME_MAX + 1];	/* for the cache, the log */
	struct am_dns_budget	*budget;	/* the caller's, or NULL; borrowed */
};

/* dns_budget.c: CLOCK_MONOTONIC in milliseconds */
long	am_dns_now_ms(void);
/* dns_budget.c: may b's owner start one more query (counted if so)? */
int	am_dns_budget_take(struct am_dns_budget *b);
/* dns_budget.c: the TEMP reason when am_dns_budget_take refused */
const char *am_dns_budget_why(const struct am_dns_budget *b);
/* dns_budget.c: bring *dl forward to b's deadline; 1 if it did */
int	am_dns_budget_clamp(const struct am_dns_budget *b, struct timespec *dl);
/* dns_budget.c: has am_dns_budget_cancel been called on b? */
int	am_dns_budget_cancelled(struct am_dns_budget *b);

/* dns_local.c: a TEMP outcome of q, local or not; mutex held or unshared */
void	am_dns_query_local(struct am_dns_query *q, int err,
	    const struct ub_result *r);
/* dns_local.c: q timed out; a local cause is noted on its budget */
void	am_dns_timeout_local(struct am_dns_query *q);

#endif /* AM_DNS_INT_H */
