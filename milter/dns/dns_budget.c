/*
 * dns_budget.c - the per-message DNS budget of dns.h: a phase's deadline
 * and lookup cap, checked before each query is asked (am_dns_budget_take)
 * and applied to each wait (am_dns_budget_clamp), and the cancel of a
 * budget whose check runs in the background (dns_work.h).  The record of
 * failed queries on a budget is dns_log.c's; its local failure
 * dns_local.c's.
 */
#include <stddef.h>
#include <time.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* am_dns_now_ms - CLOCK_MONOTONIC in milliseconds */
long
am_dns_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* am_dns_budget_arm - a new phase: deadline from now and a lookup cap */
void
am_dns_budget_arm(struct am_dns_budget *b, unsigned int seconds,
    unsigned int max_lookups)
{
	b->deadline_ms = seconds > 0 ?
	    am_dns_now_ms() + (long)seconds * 1000 : 0;
	b->lookups = 0;
	b->max_lookups = max_lookups;
	b->exhausted = 0;
	b->local_what = NULL;
	b->local_err = 0;
	b->cancel = 0;
}

/* am_dns_budget_take - may the budget's owner start one more query? */
int
am_dns_budget_take(struct am_dns_budget *b)
{
	if (b == NULL)
		return 1;
	if (__atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE))
		return 0;
	if (b->max_lookups > 0 && b->lookups >= b->max_lookups) {
		b->exhausted |= AM_DNS_BUDGET_LOOKUPS;
		return 0;
	}
	if (b->deadline_ms > 0 && am_dns_now_ms() >= b->deadline_ms) {
		b->exhausted |= AM_DNS_BUDGET_TIME;
		return 0;
	}
	b->lookups++;
	return 1;
}

/* am_dns_budget_why - why am_dns_budget_take refused */
const char *
am_dns_budget_why(const struct am_dns_budget *b)
{
	if (b != NULL && __atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE))
		return AM_DNS_CANCELLED;
	return "not asked: DNS budget exhausted";
}

/* am_dns_budget_clamp - bring *dl forward to the budget's deadline */
int
am_dns_budget_clamp(const struct am_dns_budget *b, struct timespec *dl)
{
	long			 ms;

	if (b == NULL || b->deadline_ms == 0)
		return 0;
	ms = (long)dl->tv_sec * 1000 + dl->tv_nsec / 1000000;
	if (ms <= b->deadline_ms)
		return 0;
	dl->tv_sec = b->deadline_ms / 1000;
	dl->tv_nsec = (b->deadline_ms % 1000) * 1000000;
	return 1;
}

/* am_dns_budget_cancelled - has the budget's owner been cancelled (dns.h)? */
int
am_dns_budget_cancelled(struct am_dns_budget *b)
{
	return b != NULL && __atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE);
}

/* am_dns_budget_cancel - see dns.h */
void
am_dns_budget_cancel(struct am_dns_budget *b)
{
	if (b != NULL)
		__atomic_store_n(&b->cancel, 1, __ATOMIC_RELEASE);
}
