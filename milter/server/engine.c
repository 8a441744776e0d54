/*
 * engine.c - the milter server's threads and life cycle: the acceptor,
 * the worker pool, and am_engine_run (start, wait for a stop signal,
 * drain, stop).  One connection's
 * protocol loop is conn.c; see engine.h for the design.
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
#include "server/listen.h"

#define ENGINE_IDLE_KEEP	8	/* idle workers that never exit */
#define ENGINE_IDLE_SECS	60	/* others exit after idling this long */
#define ENGINE_THREADS_MAX	4096
#define ENGINE_SPAWN_WAIT_MS	2	/* for a finishing worker, see enqueue */
#define ENGINE_CLOSE_MS		2000	/* for workers after the connections close */

static void	*worker(void *);

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
	e->serving--;		/* free from here: see enqueue */
	if (e->acceptor_waits)
		pthread_cond_signal(&e->free_cv);
	pthread_mutex_unlock(&e->mu);
	/* off the list first: am_engine_stop never touches a closed fd */
	close(c->fd);
}

/* ------------------------------------------------------------ threads */

/* deadline - now + ms, for pthread_cond_timedwait */
static void
deadline(struct timespec *until, unsigned long ms)
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

/* wait_work - until a connection is queued (1) or this worker should exit (0) */
static int
wait_work(struct am_engine *e)
{
	struct timespec	 until;
	int		 r;

	while (e->qlen == 0 && !e->stopping) {
		deadline(&until, ENGINE_IDLE_SECS * 1000UL);
		e->idle++;
		r = pthread_cond_timedwait(&e->work_cv, &e->mu, &until);
		e->idle--;
		if (r == ETIMEDOUT && e->qlen == 0 && e->idle >= ENGINE_IDLE_KEEP)
			return 0;
	}
	return !e->stopping;
}

/* worker - serve queued connections one after the other */
static void *
worker(void *arg)
{
	struct am_engine	*e = arg;
	int			 fd;

	pthread_mutex_lock(&e->mu);
	while (wait_work(e)) {
		fd = e->queue[0];	/* first come, first served */
		memmove(e->queue, e->queue + 1, --e->qlen * sizeof(*e->queue));
		e->serving++;
		pthread_mutex_unlock(&e->mu);
		am_mctx_serve(e, fd);
		pthread_mutex_lock(&e->mu);
	}
	e->threads--;
	pthread_cond_broadcast(&e->done_cv);
	pthread_mutex_unlock(&e->mu);
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
 * as many threads as connections.  e->mu held.
 */
static void
wait_free_worker(struct am_engine *e)
{
	struct timespec	 until;

	deadline(&until, ENGINE_SPAWN_WAIT_MS);
	e->acceptor_waits = 1;
	while (no_free_worker(e) && !e->stopping &&
	    pthread_cond_timedwait(&e->free_cv, &e->mu, &until) != ETIMEDOUT)
		continue;
	e->acceptor_waits = 0;
}

/* enqueue - hand an accepted connection to a worker */
static void
enqueue(struct am_engine *e, int fd)
{
	int	*nq;

	pthread_mutex_lock(&e->mu);
	if (e->stopping) {
		pthread_mutex_unlock(&e->mu);
		close(fd);
		return;
	}
	if (e->qlen == e->qcap) {
		nq = reallocarray(e->queue, e->qcap * 2 + 16, sizeof(*nq));
		if (nq == NULL) {
			pthread_mutex_unlock(&e->mu);
			am_log_err(NULL, "milter: out of memory; connection dropped");
			close(fd);
			return;
		}
		e->queue = nq;
		e->qcap = e->qcap * 2 + 16;
	}
	e->queue[e->qlen++] = fd;
	if (no_free_worker(e))
		wait_free_worker(e);
	/* a worker per queued connection: nobody waits behind a slow one */
	if (no_free_worker(e))
		(void)start_worker(e);
	pthread_mutex_unlock(&e->mu);
	/* after the unlock: the worker woken does not block on the mutex */
	pthread_cond_signal(&e->work_cv);
}

/* transient - an accept() error that passes */
static int
transient(int err)
{
	return err == EINTR || err == EAGAIN || err == EWOULDBLOCK ||
	    err == ECONNABORTED || err == EPROTO || err == EPERM;
}

/* short_of - an accept() error that says the system is short of something */
static int
short_of(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

/* acceptor - accept until the stop pipe is written or a fatal error */
static void *
acceptor(void *arg)
{
	struct am_engine	*e = arg;
	struct pollfd		 pfd[2];
	int			 fd;

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
		fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd != -1) {
			enqueue(e, fd);
		} else if (short_of(errno)) {
			am_log_err(NULL, "milter: accept: %s", strerror(errno));
			usleep(100000);
		} else if (!transient(errno)) {
			break;
		}
	}
	am_log_err(NULL, "milter: listening socket failed: %s",
	    strerror(errno));
	__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
	/* ends am_engine_run's sigwait: the signal is blocked everywhere */
	pthread_kill(e->run_thread, e->wake_sig);
	return NULL;
}

/* ------------------------------------------------------------ life cycle */

/* am_engine_new - see engine.h */
struct am_engine *
am_engine_new(const struct am_engine_conf *conf, char *err, size_t errlen)
{
	struct am_engine	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->cb = conf->milter;
	e->udata = conf->udata;
	e->stop_pipe[0] = e->stop_pipe[1] = -1;
	if ((e->lfd = am_listen_open(conf->socket, &e->unix_path, err,
	    errlen)) == -1) {
		free(e);
		return NULL;
	}
	/* poll() says readable, accept() must not block if the peer left */
	(void)fcntl(e->lfd, F_SETFL, fcntl(e->lfd, F_GETFL) | O_NONBLOCK);
	if (pipe2(e->stop_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		am_engine_free(e);
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->work_cv, NULL);
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
	struct am_mctx	*c;
	struct timespec	 until;
	int		 left;

	stop_accepting(e);
	deadline(&until, grace_ms);
	pthread_mutex_lock(&e->mu);
	e->stopping = 1;
	for (c = e->conns; c != NULL; c = c->next)
		(void)shutdown(c->fd, SHUT_RDWR);	/* wakes its read() */
	while (e->qlen > 0)
		close(e->queue[--e->qlen]);
	pthread_cond_broadcast(&e->work_cv);
	while (e->threads > 0 &&
	    pthread_cond_timedwait(&e->done_cv, &e->mu, &until) != ETIMEDOUT)
		continue;
	left = e->threads;
	pthread_mutex_unlock(&e->mu);
	return left;
}

/* first_signal - a member of set, for the acceptor to wake the sigwait */
static int
first_signal(const sigset_t *set)
{
	int	 sig;

	for (sig = 1; sig < NSIG; sig++)
		if (sigismember(set, sig) == 1)
			return sig;
	return 0;
}

/* am_engine_run - see engine.h */
int
am_engine_run(struct am_engine *e, const sigset_t *stop_set,
    unsigned int drain_secs)
{
	int	 sig = 0;

	e->run_thread = pthread_self();
	e->wake_sig = first_signal(stop_set);
	if (start(e) == -1)
		return -1;
	while (sigwait(stop_set, &sig) != 0)
		continue;
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

/* am_engine_stuck - see engine.h */
int
am_engine_stuck(const struct am_engine *e)
{
	return e->stuck;
}

/* am_engine_free - see engine.h */
void
am_engine_free(struct am_engine *e)
{
	if (e == NULL)
		return;
	stop_accepting(e);
	if (e->stop_pipe[0] != -1) {
		close(e->stop_pipe[0]);
		close(e->stop_pipe[1]);
		pthread_mutex_destroy(&e->mu);
		pthread_cond_destroy(&e->work_cv);
		pthread_cond_destroy(&e->done_cv);
		pthread_cond_destroy(&e->free_cv);
	}
	free(e->queue);
	free(e);
}
