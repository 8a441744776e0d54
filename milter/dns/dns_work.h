/*
 * dns_work.h - a small pool of threads for checks that wait on DNS and
 * may run in the background while the message streams in (issue 17): SPF
 * is started at MAIL (RFC 7208 needs only the client, HELO and MAIL FROM)
 * and joined at the end of the message, so its round trips overlap RCPT,
 * DATA and the content instead of holding the reply to MAIL.
 *
 * The pool belongs to the resolver (struct am_dns, process-wide): threads
 * are started on demand, at most AM_DNS_WORK_THREADS; at most
 * AM_DNS_WORK_QUEUE_MAX jobs wait for a thread.  Past that a submit fails
 * and the caller runs the job itself, at once (the old, synchronous way).
 * A job's function must end on its own; a job is cancelled by making it
 * end sooner (am_dns_budget_cancel on the budget it queries with), or,
 * while it still waits for a thread, by am_dns_work_cancel (then it never
 * runs).  Thread-safe.
 */
#ifndef AM_DNS_WORK_H
#define AM_DNS_WORK_H

#include "dns/dns.h"

#define AM_DNS_WORK_THREADS	32	/* background checks running at once */
#define AM_DNS_WORK_QUEUE_MAX	1024	/* waiting for a thread */

enum am_dns_job_state { AM_JOB_IDLE = 0, AM_JOB_QUEUED, AM_JOB_RUNNING,
	AM_JOB_DONE };

/* owned by the caller, who must keep it until am_dns_work_join returns */
struct am_dns_job {
	void			(*fn)(void *);
	void			*arg;
	enum am_dns_job_state	 state;		/* under the pool's lock */
	struct am_dns_job	*next;		/* queue link */
};

/* queue job (fn, arg set); 0, or -1 (pool full, no thread): run it yourself */
int	am_dns_work_submit(struct am_dns *, struct am_dns_job *);
/* a job still queued is taken off (never runs): 1; otherwise 0 */
int	am_dns_work_cancel(struct am_dns *, struct am_dns_job *);
/* wait until a submitted job is done (or was cancelled while queued) */
void	am_dns_work_join(struct am_dns *, struct am_dns_job *);

/* for dns.c: the pool of a resolver, stopped and freed with it */
struct am_dns_work;
struct am_dns_work *am_dns_work_new(void);
void	am_dns_work_free(struct am_dns_work *);	/* NULL is fine; joins threads */
/* for dns.c */
struct am_dns_work *am_dns_work_of(struct am_dns *);

#endif /* AM_DNS_WORK_H */
