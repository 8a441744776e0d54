/*
 * dns_query.c - one query on the resolver of dns.c, from start to done.
 *
 * libunbound resolves in its own background thread and our pump thread
 * (dns.c) runs the query callbacks.  Each query is a small refcounted
 * struct with its own mutex and condition variable (CLOCK_MONOTONIC):
 *
 *	refs = 1 for the owner (until am_dns_query_done)
 *	     + 1 for the libunbound callback while it may still run.
 *
 * ub_cancel() succeeding means the callback will never run (libunbound
 * marks the query cancelled under its cfglock and ub_process skips it), so
 * done() drops the callback's reference itself; UB_NOID means the callback
 * has run or is about to run, and the callback drops its own reference.
 * Whoever drops the last reference frees the struct.
 *
 * A question is answered, in this order, by the message's prefetch
 * (dns_prefetch.h: the handle is taken over), by the answer cache
 * (dns_cache.h, in the caller's thread), or asked of libunbound; the
 * budget (dns_budget.c) counts it and cuts its wait.
 *
 * Query names are checked before asking (RFC 1035 2.3.4: at most 253
 * characters without the final dot, labels 1..63 characters).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "common/fmt.h"
#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "dns/dns_int.h"
#include "dns/dns_log.h"
#include "dns/dns_prefetch.h"
#include "dns/dns_seam.h"

#define DNS_CLASS_IN		1
#define DNS_LABEL_MAX		63

/* name_ok - RFC 1035 2.3.4 lengths; no empty label; one final dot allowed */
static int
name_ok(const char *name)
{
	size_t	 len, lab = 0;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (; len > 0; name++, len--) {
		if (*name != '.') {
			if (++lab > DNS_LABEL_MAX)
				return 0;
			continue;
		}
		if (lab == 0)
			return 0;
		lab = 0;
	}
	return lab > 0;
}

/*
 * query_unref - drop one reference, mutex NOT held; the last one frees.
 * The count is atomic and dropped after unlocking, so the mutex is
 * destroyed only once the other side has entirely left it.
 */
static void
query_unref(struct am_dns_query *q)
{
	if (__atomic_sub_fetch(&q->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	ub_resolve_free(q->res);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mtx);
	free(q);
}

/* temp_why - the cause of a TEMP answer, for reasons and the log */
static const char *
temp_why(int err, const struct ub_result *r)
{
	if (err != 0)
		return ub_strerror(err);
	if (r == NULL)
		return "no answer";
	if (r->bogus)
		return "DNSSEC bogus";
	return am_dns_rcode_str(r->rcode);
}

/* query_cb - libunbound callback (pump thread): store, signal, unref */
static void
query_cb(void *arg, int err, struct ub_result *r)
{
	struct am_dns_query	*q = arg;

	pthread_mutex_lock(&q->mtx);
	q->status = am_dns_classify(err, r);
	if (q->status == AM_DNS_TEMP) {
		q->tempwhy = temp_why(err, r);
		am_dns_query_local(q, err, r);
	}
	if (err == 0)
		am_dns_cache_put(q->dns->cache, q->name, q->rrtype, q->status,
		    r);
	if (q->status == AM_DNS_OK)
		q->res = r;
	else
		ub_resolve_free(r);
	q->done = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	query_unref(q);
}

/* query_new - zeroed query with a monotonic condvar; NULL on failure */
static struct am_dns_query *
query_new(struct am_dns *dns)
{
	struct am_dns_query	*q;
	pthread_condattr_t	 ca;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&q->mtx, NULL) != 0) {
		pthread_cond_destroy(&q->cond);
		goto fail;
	}
	q->dns = dns;
	q->refs = 1;
	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline.tv_sec += dns->timeout;
	return q;
fail:
	free(q);
	return NULL;
}

/*
 * prefetched - the caller's question was started early (dns_prefetch.h):
 * its handle becomes the caller's query, counted on b like one it asks,
 * waited on from now.  Returns the query to hand back (the prefetched
 * one, or q refused by the budget), or NULL to ask as usual: none was
 * prefetched, or it failed temporarily (asked again, as it would be).
 */
static struct am_dns_query *
prefetched(struct am_dns_query *q, struct am_dns_budget *b)
{
	struct am_dns_query	*p;
	int			 failed;

	if (b == NULL || b->prefetch == NULL ||
	    (p = am_dns_prefetch_take(b->prefetch, q->name, q->rrtype)) == NULL)
		return NULL;
	pthread_mutex_lock(&p->mtx);
	failed = p->done && p->status == AM_DNS_TEMP;
	pthread_mutex_unlock(&p->mtx);
	if (failed) {
		am_dns_query_done(p);
		return NULL;
	}
	if (!am_dns_budget_take(b)) {
		/* it would not have been asked: not used either */
		am_dns_query_done(p);
		q->status = AM_DNS_TEMP;
		q->tempwhy = am_dns_budget_why(b);
		q->done = 1;
		return q;
	}
	query_unref(q);
	clock_gettime(CLOCK_MONOTONIC, &p->deadline);
	p->deadline.tv_sec += p->dns->timeout;
	p->budget = b;
	return p;
}

/* am_dns_query_start - begin one query; the handle ends in query_done */
struct am_dns_query *
am_dns_query_start(struct am_dns *dns, struct am_dns_budget *b,
    const char *name, int rrtype)
{
	struct am_dns_query	*q, *p;
	int			 r;

	if ((q = query_new(dns)) == NULL)
		return NULL;
	am_fmt(q->name, sizeof(q->name), "%s", name ? name : "");
	q->rrtype = rrtype;
	q->budget = b;		/* for am_dns_note, whatever the outcome */
	if (name == NULL || !name_ok(name)) {
		q->status = AM_DNS_PERM;	/* never asked */
		q->done = 1;
		return q;
	}
	/* started early for this message: taken over, not asked again */
	if ((p = prefetched(q, b)) != NULL)
		return p;
	/* a repeated question is answered here, in the caller's thread */
	if (am_dns_cache_get(dns->cache, name, rrtype, &q->status, &q->res)) {
		q->done = q->cached = 1;
		return q;
	}
	if (!am_dns_budget_take(b)) {
		q->status = AM_DNS_TEMP;	/* over the message's budget */
		q->tempwhy = am_dns_budget_why(b);
		q->done = 1;
		return q;
	}
	__atomic_store_n(&q->refs, 2, __ATOMIC_RELEASE); /* owner + callback */
	r = ub_resolve_async(dns->ctx, name, rrtype, DNS_CLASS_IN, q,
	    query_cb, &q->async_id);
	if (r == 0)
		__atomic_add_fetch(&dns->nqueries, 1, __ATOMIC_RELAXED);
	if (r != 0) {
		/* the callback will never run */
		__atomic_store_n(&q->refs, 1, __ATOMIC_RELEASE);
		q->status = AM_DNS_TEMP;
		q->tempwhy = ub_strerror(r);
		q->done = 1;
		am_dns_query_local(q, r, NULL);
	}
	return q;
}

/* before - a earlier than b */
static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * wait_slice - how long one condition wait may sleep: until *dl, or for
 * a budget that can be cancelled (one run in the background, dns_work.h)
 * at most AM_DNS_CANCEL_POLL_MS, so a cancel is seen soon.  Into *slice.
 */
static const struct timespec *
wait_slice(const struct am_dns_budget *b, const struct timespec *dl,
    struct timespec *slice)
{
	*slice = *dl;
	if (b == NULL || !b->cancellable)
		return slice;
	clock_gettime(CLOCK_MONOTONIC, slice);
	slice->tv_nsec += AM_DNS_CANCEL_POLL_MS * 1000000L;
	if (slice->tv_nsec >= 1000000000L) {
		slice->tv_sec++;
		slice->tv_nsec -= 1000000000L;
	}
	if (!before(slice, dl))
		*slice = *dl;
	return slice;
}

/*
 * am_dns_query_wait - wait for the answer until the deadline: deadline_sec
 * (absolute CLOCK_MONOTONIC seconds) if set, else the query's own (start
 * plus the resolver timeout), so a second wait after a timeout returns at
 * once unless the answer has come in meanwhile.
 */
enum am_dns_status
am_dns_query_wait(struct am_dns_query *q, long deadline_sec,
    struct ub_result **res)
{
	struct timespec		 dl = q->deadline, slice;
	enum am_dns_status	 st;
	int			 clamped;

	if (res != NULL)
		*res = NULL;
	if (deadline_sec != 0) {
		dl.tv_sec = deadline_sec;
		dl.tv_nsec = 0;
	}
	clamped = am_dns_budget_clamp(q->budget, &dl);
	pthread_mutex_lock(&q->mtx);
	while (!q->done && !am_dns_budget_cancelled(q->budget))
		if (pthread_cond_timedwait(&q->cond, &q->mtx,
		    wait_slice(q->budget, &dl, &slice)) == ETIMEDOUT &&
		    !before(&slice, &dl))
			break;
	if (!q->done && am_dns_budget_cancelled(q->budget)) {
		pthread_mutex_unlock(&q->mtx);
		am_dns_note(q->budget, q->name, q->rrtype, AM_DNS_TEMP,
		    AM_DNS_CANCELLED, NULL, 0);
		return AM_DNS_TEMP;
	}
	if (!q->done) {
		if (!q->timed_out++)
			__atomic_add_fetch(&q->dns->ntimeouts, 1,
			    __ATOMIC_RELAXED);
		pthread_mutex_unlock(&q->mtx);
		if (clamped)
			q->budget->exhausted |= AM_DNS_BUDGET_TIME;
		else
			am_dns_timeout_local(q);
		am_dns_note(q->budget, q->name, q->rrtype, AM_DNS_TEMP,
		    clamped ? "DNS budget deadline" : "timeout", NULL, 0);
		return AM_DNS_TEMP;	/* timed out; may wait again */
	}
	st = q->status;
	if (st == AM_DNS_TEMP && q->local_what != NULL)
		am_dns_budget_local(q->budget, q->local_what, q->local_err);
	am_dns_note(q->budget, q->name, q->rrtype, st, st == AM_DNS_TEMP ?
	    q->tempwhy : NULL, q->res, q->cached);
	if (st == AM_DNS_OK && res != NULL) {
		*res = q->res;		/* handed over once */
		q->res = NULL;
	}
	pthread_mutex_unlock(&q->mtx);
	return st;
}

/* am_dns_query_done - cancel if still running, drop the owner's reference */
void
am_dns_query_done(struct am_dns_query *q)
{
	int	 done;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mtx);
	done = q->done;
	pthread_mutex_unlock(&q->mtx);
	/*
	 * Cancel without holding our mutex: the callback takes it, and
	 * libunbound may be inside ub_process() holding its own lock.
	 */
	if (!done && ub_cancel(q->dns->ctx, q->async_id) == 0)
		query_unref(q);		/* the callback will never run */
	query_unref(q);
}

/* am_dns_query - blocking query: start, wait, done */
enum am_dns_status
am_dns_query(struct am_dns *dns, struct am_dns_budget *b, const char *name,
    int rrtype, struct ub_result **res)
{
	struct am_dns_query	*q;
	enum am_dns_status	 st;

	if (res != NULL)
		*res = NULL;
	if ((q = am_dns_query_start(dns, b, name, rrtype)) == NULL) {
		am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		return AM_DNS_TEMP;
	}
	st = am_dns_query_wait(q, 0, res);
	am_dns_query_done(q);
	return st;
}
