/*
 * engine.c - the milter server's threads and life cycle: the acceptor,
 * the worker pool, and am_engine_run (start, wait for a stop signal,
 * drain, stop).  Whether the acceptor may take another connection is
 * admit.c, one connection's protocol loop conn.c; see engine.h for the
 * design.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "server/engine.h"
#include "server/engine_int.h"
#include "server/engine_ops.h"
#include "server/listen.h"

#define ENGINE_IDLE_KEEP	8	/* idle workers that never exit */
#define ENGINE_IDLE_SECS	60	/* others exit after idling this long */
#define ENGINE_SPAWN_WAIT_MS	2	/* for a finishing worker, see enqueue */
#define ENGINE_CLOSE_MS		2000	/* for workers after the connections close */
#define ENGINE_IDLERS_EXIT_MS	10000	/* then for idle ones, which only need the lock */
/* ENGINE_THREADS_MAX: engine_int.h; the connection cap: admit.c */

/* an idle worker, waiting on its own condition variable (see next_conn) */
struct engine_idler {
	pthread_cond_t		 cv;
	int			 fd;	/* handed over by enqueue, or -1 */
	struct engine_idler	*next;
};

static void	*worker(void *);
static void	 bi_free(struct am_engine *);

/* ------------------------------------------------------------ connections */

/* am_engine_track - see engine_int.h */
void
am_engine_track(struct am_engine *e, struct am_mctx *c)
{
	pthread_mutex_lock(&e->mu);
	c->next = e->conns;
	if (e->conns != NULL)
		e->conns->prev = c;
	e->conns = c;
	if (e->stopping)
		(void)shutdown(c->fd, SHUT_RDWR);
	pthread_mutex_unlock(&e->mu);
}

/* am_engine_untrack - see engine_int.h */
void
am_engine_untrack(struct am_engine *e, struct am_mctx *c)
{
	pthread_mutex_lock(&e->mu);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		e->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->evicted)
		e->evicting--;
	/* off the list first: am_engine_stop never touches a closed fd */
	close(c->fd);
	e->nconns--;
	e->serving--;		/* free from here: see enqueue */
	e->spawn_wait_ok = 1;
	if (e->acceptor_waits)
		pthread_cond_signal(&e->free_cv);
	pthread_mutex_unlock(&e->mu);
}

/* ------------------------------------------------------------ threads */

/* am_engine_deadline - see engine_int.h */
void
am_engine_deadline(struct timespec *until, unsigned long ms)
{
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_sec += (time_t)(ms / 1000);
	until->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until->tv_nsec >= 1000000000L) {
		until->tv_sec++;
		until->tv_nsec -= 1000000000L;
	}
}

/* start_worker - one more worker; e->mu held.  0 or -1 */
static int
start_worker(struct am_engine *e)
{
	pthread_t	 t;
	pthread_attr_t	 a;
	int		 r;

	if (e->threads >= ENGINE_THREADS_MAX)
		return -1;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, worker, e);
	pthread_attr_destroy(&a);
	if (r != 0) {
		am_log_err(NULL, "milter: cannot start a worker: %s",
		    strerror(r));
		return -1;
	}
	e->threads++;
	return 0;
}

/*
 * dequeue - the connection queued first, for the calling worker (counted
 * serving from here); e->qlen > 0, e->mu held
 */
static int
dequeue(struct am_engine *e)
{
	int	 fd = e->queue[0];	/* first come, first served */

	memmove(e->queue, e->queue + 1, --e->qlen * sizeof(*e->queue));
	e->serving++;
	return fd;
}

/* unlink_idler - take me off the idle stack if still there; e->mu held */
static void
unlink_idler(struct am_engine *e, struct engine_idler *me)
{
	struct engine_idler	**p;

	for (p = &e->idlers; *p != NULL; p = &(*p)->next)
		if (*p == me) {
			*p = me->next;
			e->idle--;
			return;
		}
}

/*
 * idle_wait - wait on the idle stack until enqueue hands me a connection
 * (its fd), the engine stops or ENGINE_IDLE_SECS pass (-1).  The stack
 * is LIFO: enqueue wakes the worker idle the shortest time, so under
 * steady traffic the same few workers serve and the others time out and
 * exit (pthread_cond_signal on one shared variable wakes the longest
 * waiter, resetting every idle timer in turn).  e->mu held.
 */
static int
idle_wait(struct am_engine *e, struct engine_idler *me, int *timed_out)
{
	struct timespec	 until;
	int		 r = 0;

	me->fd = -1;
	me->next = e->idlers;
	e->idlers = me;
	e->idle++;
	am_engine_deadline(&until, ENGINE_IDLE_SECS * 1000UL);
	while (me->fd == -1 && !e->stopping && r != ETIMEDOUT)
		r = pthread_cond_timedwait(&me->cv, &e->mu, &until);
	if (me->fd != -1)
		return me->fd;		/* enqueue took me off the stack */
	unlink_idler(e, me);
	*timed_out = r == ETIMEDOUT;
	return -1;
}

/*
 * next_conn - the next connection for this worker: a queued one, or one
 * handed over while idle; -1 when the worker should exit (the engine
 * stops, or it idled ENGINE_IDLE_SECS while ENGINE_IDLE_KEEP others idle
 * too).  e->mu held.
 */
static int
next_conn(struct am_engine *e, struct engine_idler *me)
{
	int	 fd, timed_out;

	while (!e->stopping) {
		if (e->qlen > 0)
			return dequeue(e);
		timed_out = 0;
		if ((fd = idle_wait(e, me, &timed_out)) != -1)
			return fd;
		if (timed_out && e->qlen == 0 && e->idle >= ENGINE_IDLE_KEEP)
			return -1;
	}
	return -1;
}

/* worker - serve connections one after the other */
static void *
worker(void *arg)
{
	struct am_engine	*e = arg;
	struct engine_idler	 me;
	int			 fd;

	pthread_cond_init(&me.cv, NULL);
	pthread_mutex_lock(&e->mu);
	while ((fd = next_conn(e, &me)) != -1) {
		pthread_mutex_unlock(&e->mu);
		am_mctx_serve(e, fd);
		pthread_mutex_lock(&e->mu);
	}
	e->threads--;
	pthread_cond_broadcast(&e->done_cv);
	pthread_mutex_unlock(&e->mu);
	pthread_cond_destroy(&me.cv);
	return NULL;
}

/* no_free_worker - every worker serves a connection; e->mu held */
static int
no_free_worker(const struct am_engine *e)
{
	return (size_t)(e->threads - e->serving) < e->qlen;
}

/*
 * wait_free_worker - all workers busy: a connection often ends right now
 * (the MTA opens the next one as soon as it has our reply, while the
 * worker is still reading its QUIT), so wait a moment for that worker
 * before starting another: under connection churn that kept about twice
 * as many threads as connections.  Only while that pays: after a wait in
 * which no worker came free, not again until one does, so a burst of
 * connections does not wait ENGINE_SPAWN_WAIT_MS each, one after the
 * other.  e->mu held.
 */
static void
wait_free_worker(struct am_engine *e)
{
	struct timespec	 until;

	if (!e->spawn_wait_ok)
		return;
	am_engine_deadline(&until, ENGINE_SPAWN_WAIT_MS);
	e->acceptor_waits = 1;
	while (no_free_worker(e) && !e->stopping &&
	    pthread_cond_timedwait(&e->free_cv, &e->mu, &until) != ETIMEDOUT)
		continue;
	e->acceptor_waits = 0;
	if (no_free_worker(e))
		e->spawn_wait_ok = 0;
}

/*
 * hand_idle - give fd to the worker idle the shortest time, counted
 * serving at once (not when it wakes up: no_free_worker would count it
 * free meanwhile).  0, or -1 when none is idle.  e->mu held.
 */
static int
hand_idle(struct am_engine *e, int fd)
{
	struct engine_idler	*w = e->idlers;

	if (w == NULL)
		return -1;
	e->idlers = w->next;
	e->idle--;
	e->serving++;
	w->fd = fd;
	pthread_cond_signal(&w->cv);
	return 0;
}

/* queue_conn - put fd in the queue; 0 or -1 (no memory).  e->mu held */
static int
queue_conn(struct am_engine *e, int fd)
{
	int	*nq;

	if (e->qlen == e->qcap) {
		nq = reallocarray(e->queue, e->qcap * 2 + 16, sizeof(*nq));
		if (nq == NULL)
			return -1;
		e->queue = nq;
		e->qcap = e->qcap * 2 + 16;
	}
	e->queue[e->qlen++] = fd;
	return 0;
}

/*
 * enqueue - hand an accepted connection (counted in nconns) to a worker:
 * an idle one, else the queue and a worker per queued connection, so
 * nobody waits behind a slow one
 */
static void
enqueue(struct am_engine *e, int fd)
{
	pthread_mutex_lock(&e->mu);
	if (e->stopping || (hand_idle(e, fd) == -1 &&
	    queue_conn(e, fd) == -1)) {
		if (!e->stopping)
			am_log_err(NULL, "milter: out of memory; connection "
			    "dropped");
		e->nconns--;
		pthread_mutex_unlock(&e->mu);
		close(fd);
		return;
	}
	if (no_free_worker(e))
		wait_free_worker(e);
	if (no_free_worker(e))
		(void)start_worker(e);
	pthread_mutex_unlock(&e->mu);
}

/* transient - an accept() error that passes */
static int
transient(int err)
{
	return err == EINTR || err == EAGAIN || err == EWOULDBLOCK ||
	    err == ECONNABORTED || err == EPROTO || err == EPERM;
}

/* acceptor - accept until the stop pipe is written or a fatal error */
static void *
acceptor(void *arg)
{
	struct am_engine	*e = arg;
	struct pollfd		 pfd[2];
	int			 fd, err;

	pfd[0].fd = e->lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = e->stop_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			return NULL;
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			break;
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (am_engine_admit(e) == -1)
			return NULL;
		fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1) {
			am_engine_accepted(e);
			enqueue(e, fd);
			continue;
		}
		err = errno;
		am_engine_unadmit(e);
		if (!am_engine_accept_short(e, err) && !transient(err)) {
			errno = err;
			break;
		}
	}
	am_log_err(NULL, "milter: listening socket failed: %s",
	    strerror(errno));
	__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
	/* ends am_engine_run's wait: the signal is blocked everywhere */
	pthread_kill(e->run_thread, e->wake_sig);
	return NULL;
}

/* ------------------------------------------------------------ life cycle */

/* bi_new - am_engine_new (engine.h) for the built-in engine */
static struct am_engine *
bi_new(const struct am_engine_conf *conf, char *err, size_t errlen)
{
	struct am_engine	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ops = &am_builtin_ops;
	e->cb = conf->milter;
	e->udata = conf->udata;
	e->stop_pipe[0] = e->stop_pipe[1] = -1;
	e->spawn_wait_ok = 1;
	e->conn_cap = am_engine_nofile_cap();
	if ((e->lfd = am_listen_open(conf->socket, &e->unix_path, err,
	    errlen)) == -1) {
		free(e);
		return NULL;
	}
	/* poll() says readable, accept() must not block if the peer left */
	(void)fcntl(e->lfd, F_SETFL, fcntl(e->lfd, F_GETFL) | O_NONBLOCK);
	if (pipe2(e->stop_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		bi_free(e);
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	pthread_cond_init(&e->free_cv, NULL);
	return e;
}

/* failed - did the acceptor stop on a fatal error? */
static int
failed(const struct am_engine *e)
{
	return __atomic_load_n(&e->failed, __ATOMIC_SEQ_CST);
}

/* start - the acceptor thread; 0 or -1 (logged) */
static int
start(struct am_engine *e)
{
	int	 r;

	if ((r = pthread_create(&e->acceptor, NULL, acceptor, e)) != 0) {
		am_log_err(NULL, "milter: acceptor thread: %s", strerror(r));
		return -1;
	}
	e->acceptor_on = 1;
	return 0;
}

/*
 * stop_accepting - refuse new connections from now on (the unix socket
 * file is removed); connections already open go on
 */
static void
stop_accepting(struct am_engine *e)
{
	if (e->acceptor_on) {
		pthread_mutex_lock(&e->mu);	/* wait_slot */
		e->accept_stop = 1;
		pthread_cond_signal(&e->free_cv);
		pthread_mutex_unlock(&e->mu);
		(void)write(e->stop_pipe[1], "x", 1);
		pthread_join(e->acceptor, NULL);
		e->acceptor_on = 0;
	}
	if (e->lfd != -1) {
		close(e->lfd);
		e->lfd = -1;
	}
	if (e->unix_path != NULL) {
		if (unlink(e->unix_path) == -1 && errno != ENOENT)
			am_log_warn(NULL, "unlink %s: %s", e->unix_path,
			    strerror(errno));
		free(e->unix_path);
		e->unix_path = NULL;
	}
}

/* messages - MTA connections between MAIL and the end of their message */
static int
messages(const struct am_engine *e)
{
	return __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST);
}

/* wait_idle - until no message is in progress, at most secs */
static void
wait_idle(const struct am_engine *e, unsigned int secs)
{
	unsigned int	 i;

	/* commands the MTA sent without waiting (NR steps) may be unread */
	usleep(200000);
	for (i = 0; i < secs * 10 && messages(e) > 0; i++)
		usleep(100000);
	if (messages(e) > 0)
		am_log_warn(NULL, "exiting with %d messages in progress",
		    messages(e));
}

/*
 * stop - close every connection (a message in progress is cut: the MTA
 * applies its own default action) and wait up to grace_ms for the
 * workers to finish their callbacks.  Returns how many are still running.
 */
static int
stop(struct am_engine *e, unsigned int grace_ms)
{
	struct am_mctx		*c;
	struct engine_idler	*w;
	struct timespec		 until;
	int			 left;

	stop_accepting(e);
	am_engine_deadline(&until, grace_ms);
	pthread_mutex_lock(&e->mu);
	e->stopping = 1;
	for (c = e->conns; c != NULL; c = c->next)
		(void)shutdown(c->fd, SHUT_RDWR);	/* wakes its read() */
	while (e->qlen > 0) {
		close(e->queue[--e->qlen]);
		e->nconns--;
	}
	for (w = e->idlers; w != NULL; w = w->next)
		pthread_cond_signal(&w->cv);
	while (e->threads > 0 &&
	    pthread_cond_timedwait(&e->done_cv, &e->mu, &until) != ETIMEDOUT)
		continue;
	/*
	 * No worker in a callback any more, but some not gone yet: idle ones
	 * that only need the lock and a CPU to exit.  After a burst of a
	 * thousand (slower still under a sanitizer) that can take longer than
	 * the grace; leaving then would leave the engine unfreed for them.
	 */
	am_engine_deadline(&until, ENGINE_IDLERS_EXIT_MS);
	while (e->threads > 0 && e->serving == 0 &&
	    pthread_cond_timedwait(&e->done_cv, &e->mu, &until) != ETIMEDOUT)
		continue;
	left = e->threads;
	pthread_mutex_unlock(&e->mu);
	return left;
}

/* bi_run - am_engine_run (engine.h) for the built-in engine */
static int
bi_run(struct am_engine *e, const sigset_t *stop_set,
    unsigned int drain_secs)
{
	int	 sig = 0;

	e->run_thread = pthread_self();
	e->wake_sig = am_engine_first_signal(stop_set);
	if (start(e) == -1)
		return -1;
	sig = am_engine_sigwait(stop_set);
	if (!failed(e)) {
		am_log_info(NULL, "%s: no new connections; waiting up to %u s "
		    "for %d message%s in progress", strsignal(sig), drain_secs,
		    messages(e), messages(e) == 1 ? "" : "s");
		stop_accepting(e);
		wait_idle(e, drain_secs);
	}
	e->stuck = stop(e, ENGINE_CLOSE_MS);
	if (e->stuck > 0)
		am_log_warn(NULL, "%d connection%s still busy at exit",
		    e->stuck, e->stuck == 1 ? "" : "s");
	return failed(e) ? -1 : 0;
}

/* bi_stuck - am_engine_stuck (engine.h) */
static int
bi_stuck(const struct am_engine *e)
{
	return e->stuck;
}

/* bi_free - am_engine_free (engine.h) */
static void
bi_free(struct am_engine *e)
{
	if (e == NULL)
		return;
	stop_accepting(e);
	if (e->stop_pipe[0] != -1) {
		close(e->stop_pipe[0]);
		close(e->stop_pipe[1]);
		pthread_mutex_destroy(&e->mu);
		pthread_cond_destroy(&e->done_cv);
		pthread_cond_destroy(&e->free_cv);
	}
	free(e->queue);
	free(e);
}

const struct am_engine_ops am_builtin_ops = {
	.name = "builtin",
	.create = bi_new,
	.run = bi_run,
	.stuck = bi_stuck,
	.destroy = bi_free,
	.udata = am_bi_udata,
	.getpriv = am_bi_getpriv,
	.setpriv = am_bi_setpriv,
	.steps = am_bi_steps,
	.symval = am_bi_symval,
	.setsymlist = am_bi_setsymlist,
	.insheader = am_bi_insheader,
	.chgheader = am_bi_chgheader,
	.quarantine = am_bi_quarantine,
	.setreply = am_bi_setreply,
};
