/*
 * dns_work.c - the background pool of dns_work.h: one lock, one queue,
 * threads started on demand and kept until the resolver is freed.
 */
#include <pthread.h>
#include <stdlib.h>

#include "dns/dns.h"
#include "dns/dns_work.h"

struct am_dns_work {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 more;		/* a job queued, or stop */
	pthread_cond_t		 done;		/* a job finished */
	struct am_dns_job	*head, *tail;
	unsigned int		 nqueued;
	unsigned int		 nthreads;
	unsigned int		 idle;
	int			 stop;
	pthread_t		 th[AM_DNS_WORK_THREADS];
};

/* am_dns_work_new - an empty pool, no thread yet */
struct am_dns_work *
am_dns_work_new(void)
{
	struct am_dns_work	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	if (pthread_mutex_init(&w->mtx, NULL) != 0)
		goto fail;
	if (pthread_cond_init(&w->more, NULL) != 0) {
		pthread_mutex_destroy(&w->mtx);
		goto fail;
	}
	if (pthread_cond_init(&w->done, NULL) != 0) {
		pthread_cond_destroy(&w->more);
		pthread_mutex_destroy(&w->mtx);
		goto fail;
	}
	return w;
fail:
	free(w);
	return NULL;
}

/* worker - run queued jobs until stopped */
static void *
worker(void *arg)
{
	struct am_dns_work	*w = arg;
	struct am_dns_job	*j;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (w->head == NULL && !w->stop) {
			w->idle++;
			pthread_cond_wait(&w->more, &w->mtx);
			w->idle--;
		}
		if (w->head == NULL)	/* stop, and nothing left */
			break;
		j = w->head;
		if ((w->head = j->next) == NULL)
			w->tail = NULL;
		w->nqueued--;
		j->state = AM_JOB_RUNNING;
		pthread_mutex_unlock(&w->mtx);
		j->fn(j->arg);
		pthread_mutex_lock(&w->mtx);
		j->state = AM_JOB_DONE;
		pthread_cond_broadcast(&w->done);
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

/* am_dns_work_free - let the threads finish the queue, join them */
void
am_dns_work_free(struct am_dns_work *w)
{
	unsigned int	 i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mtx);
	w->stop = 1;
	pthread_cond_broadcast(&w->more);
	pthread_mutex_unlock(&w->mtx);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->th[i], NULL);
	pthread_cond_destroy(&w->done);
	pthread_cond_destroy(&w->more);
	pthread_mutex_destroy(&w->mtx);
	free(w);
}

/* more_threads - a thread for the new job if none is idle; under the lock */
static void
more_threads(struct am_dns_work *w)
{
	if (w->idle >= w->nqueued || w->nthreads >= AM_DNS_WORK_THREADS)
		return;
	if (pthread_create(&w->th[w->nthreads], NULL, worker, w) == 0)
		w->nthreads++;
}

/* am_dns_work_submit - queue a job; -1 when it cannot be */
int
am_dns_work_submit(struct am_dns *dns, struct am_dns_job *j)
{
	struct am_dns_work	*w = am_dns_work_of(dns);

	if (w == NULL)
		return -1;
	pthread_mutex_lock(&w->mtx);
	if (w->stop || w->nqueued >= AM_DNS_WORK_QUEUE_MAX) {
		pthread_mutex_unlock(&w->mtx);
		return -1;
	}
	j->next = NULL;
	j->state = AM_JOB_QUEUED;
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	w->nqueued++;
	more_threads(w);
	if (w->nthreads == 0) {		/* no thread at all: take it back */
		w->head = w->tail = NULL;
		w->nqueued = 0;
		j->state = AM_JOB_IDLE;
		pthread_mutex_unlock(&w->mtx);
		return -1;
	}
	pthread_cond_signal(&w->more);
	pthread_mutex_unlock(&w->mtx);
	return 0;
}

/* am_dns_work_cancel - take a job off the queue if it has not started */
int
am_dns_work_cancel(struct am_dns *dns, struct am_dns_job *j)
{
	struct am_dns_work	*w = am_dns_work_of(dns);
	struct am_dns_job	**pp, *prev = NULL;
	int			 taken = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->mtx);
	if (j->state == AM_JOB_QUEUED) {
		for (pp = &w->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
			if (*pp != j)
				continue;
			*pp = j->next;
			if (w->tail == j)
				w->tail = prev;
			w->nqueued--;
			j->state = AM_JOB_DONE;
			taken = 1;
			break;
		}
	}
	pthread_mutex_unlock(&w->mtx);
	return taken;
}

/* am_dns_work_join - wait for the job to be done */
void
am_dns_work_join(struct am_dns *dns, struct am_dns_job *j)
{
	struct am_dns_work	*w = am_dns_work_of(dns);

	if (w == NULL || j->state == AM_JOB_IDLE)
		return;
	pthread_mutex_lock(&w->mtx);
	while (j->state != AM_JOB_DONE)
		pthread_cond_wait(&w->done, &w->mtx);
	pthread_mutex_unlock(&w->mtx);
}
