/*
 * engine.c - the milter server's threads and life cycle: the workers,
 * which accept their connections themselves, the watcher, which starts
 * workers when none is free, and am_engine_run (start, wait for a stop
 * signal, drain, stop).  The connection cap and accept()'s back-off are
 * admit.c, one connection's protocol loop conn.c; see engine.h for the
 * design.
 */
#include <sys/types.h>
#include <sys/epoll.h>
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
#define ENGINE_TICKS_QUIET	10	/* looks with nothing to do: it sleeps */
/* ENGINE_TICK_MS, ENGINE_RETRY_MS and the rules for one more worker:
   engine_int.h */
#define ENGINE_CLOSE_MS		2000	/* for workers after the connections close */
#define ENGINE_NUDGE_MS		100	/* at stop, wake waiting workers again */
#define ENGINE_IDLERS_EXIT_MS	10000	/* then for idle ones, which only need the lock */
/* ENGINE_THREADS_MAX: engine_int.h; the connection cap: admit.c */

static void	*worker(void *);
static void	 bi_free(struct am_engine *);

/* ------------------------------------------------------------ counts */

/* free_workers - workers not serving a connection; e->mu held */
static int
free_workers(const struct am_engine *e)
{
	return e->threads - e->serving;
}

/*
 * watch_needed - does the watcher have work: no worker left to accept
 * the next connection, or the cap reached (evicting is its job); e->mu
 * held
 */
static int
watch_needed(const struct am_engine *e)
{
	return free_workers(e) == 0 || e->nconns >= e->conn_cap;
}

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
	e->serving--;		/* free from here: see the watcher */
	e->finished++;
	e->spawn_wait_ok = 1;
	if (e->free_waits)		/* admit.c, at the cap */
		pthread_cond_signal(&e->free_cv);
	if (e->slot_waits)
		pthread_cond_signal(&e->slot_cv);
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

/* timed_wait - wait on cv at most ms; e->mu held */
static void
timed_wait(struct am_engine *e, pthread_cond_t *cv, unsigned long ms)
{
	struct timespec	 until;

	am_engine_deadline(&until, ms);
	(void)pthread_cond_timedwait(cv, &e->mu, &until);
}

/*
 * start_worker - one more worker; e->mu held.  0, or -1 (at
 * ENGINE_THREADS_MAX, or no thread: logged, rate-limited)
 */
static int
start_worker(struct am_engine *e)
{
	pthread_t	 t;
	pthread_attr_t	 a;
	unsigned long	 n;
	int		 r;

	if (e->threads >= ENGINE_THREADS_MAX)
		return -1;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, worker, e);
	pthread_attr_destroy(&a);
	if (r == 0) {
		e->threads++;
		return 0;
	}
	if (am_engine_ratelog_due(&e->spawn_log, &n))
		am_log_err(NULL, "milter: cannot start a worker: %s (%lu "
		    "times since the last report)", strerror(r), n + 1);
	return -1;
}

/*
 * rearm - let the next connection wake a worker: the listening socket is
 * in the epoll set EPOLLONESHOT, so exactly one waiting worker is woken
 * per arming and holds the socket until it calls this (see take).  0, or
 * -1 (errno): then no worker would ever be woken again.
 */
static int
rearm(const struct am_engine *e)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = e->lfd;
	return epoll_ctl(e->ep, EPOLL_CTL_MOD, e->lfd, &ev);
}

/* transient - an accept() error that passes */
static int
transient(int err)
{
	return err == EINTR || err == EAGAIN || err == EWOULDBLOCK ||
	    err == ECONNABORTED || err == EPROTO || err == EPERM;
}

/*
 * listen_failed - accept() or the rearming (what) failed for good:
 * logged; nobody accepts any more, and am_engine_run is woken to stop the
 * daemon (under systemd, Restart=on-failure starts it again).  e->mu held.
 */
static void
listen_failed(struct am_engine *e, const char *what, int err)
{
	if (__atomic_exchange_n(&e->failed, 1, __ATOMIC_SEQ_CST))
		return;
	am_log_err(NULL, "milter: listening socket failed: %s: %s", what,
	    strerror(err));
	e->accept_stop = 1;
	pthread_cond_broadcast(&e->slot_cv);
	pthread_cond_signal(&e->spare_cv);
	(void)write(e->stop_pipe[1], "x", 1);
	/* ends am_engine_run's wait: the signal is blocked everywhere */
	pthread_kill(e->run_thread, e->wake_sig);
}

/* left_lfd - this worker no longer uses the listening socket; e->mu held */
static void
left_lfd(struct am_engine *e)
{
	if (--e->accepting == 0 && e->accept_stop)
		pthread_cond_broadcast(&e->done_cv);	/* stop_accepting */
}

/*
 * try_accept - accept the listening socket's next connection, counted in
 * nconns and serving before accept() (so the watcher sees at once that
 * this worker is no longer free), uncounted if none came.  holder: this
 * worker holds the socket (take) and rearms it, after a back-off if the
 * system is short of descriptors or memory (the connection waits in the
 * listen queue).  Otherwise it only looks (a worker just done with a
 * connection, before it sleeps): none waiting is no error, and the
 * holder, if any, rearms.  The connection, or -1 (none, or an error,
 * handled).  e->mu held on entry and return.
 */
static int
try_accept(struct am_engine *e, int holder)
{
	int	 fd, err, ms, r = 0, rerr = 0;

	e->nconns++;
	e->serving++;
	if (e->watcher_waits && watch_needed(e))
		pthread_cond_signal(&e->spare_cv);
	pthread_mutex_unlock(&e->mu);
	fd = accept4(e->lfd, NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	if (!holder && (fd != -1 || err == EAGAIN || err == EWOULDBLOCK)) {
		pthread_mutex_lock(&e->mu);
		if (fd != -1)
			return fd;
		e->nconns--;
		e->serving--;
		return -1;
	}
	if ((fd != -1 || transient(err)) && (r = rearm(e)) == -1)
		rerr = errno;
	pthread_mutex_lock(&e->mu);
	if (r == -1)
		listen_failed(e, "epoll_ctl", rerr);
	if (fd != -1) {
		am_engine_accepted(e);
		return fd;
	}
	e->nconns--;
	e->serving--;
	if (transient(err))
		return -1;
	if ((ms = am_engine_accept_short(e, err)) == 0) {
		listen_failed(e, "accept", err);
		return -1;
	}
	pthread_mutex_unlock(&e->mu);
	(void)poll(&(struct pollfd){ e->stop_pipe[0], POLLIN, 0 }, 1, ms);
	if ((r = rearm(e)) == -1)
		rerr = errno;
	pthread_mutex_lock(&e->mu);
	if (r == -1)
		listen_failed(e, "epoll_ctl", rerr);
	return -1;
}

/*
 * take - the next connection for this worker, accepted by itself: idle
 * workers wait in epoll_wait on the engine's one epoll set (bi_new), and
 * the kernel wakes the one that began waiting last, so under steady
 * traffic the same few serve and the others time out and exit.  There is
 * no hand-over from another thread (on this kind of machine a task
 * switch and the futex calls of a hand-over cost as much as a tenth of a
 * message's CPU).  The woken worker holds the listening socket until it
 * has accepted (try_accept rearms it); at the cap it waits for a slot
 * first (the watcher closes an idle connection).  -1 when the worker is
 * to exit: no more accepting, or idle ENGINE_IDLE_SECS while more than
 * ENGINE_IDLE_KEEP workers are free.  e->mu held on entry and return.
 */
static int
take(struct am_engine *e, int *just_served)
{
	struct epoll_event	 ev;
	int			 n, fd;

	while (!e->accept_stop) {
		e->accepting++;
		/*
		 * Just done with a connection: the MTA often has the next one
		 * waiting already (it opens it as soon as it has our reply),
		 * so take it without sleeping, as a queue would hand it over
		 */
		if (*just_served && e->nconns < e->conn_cap &&
		    (fd = try_accept(e, 0)) != -1) {
			left_lfd(e);
			return fd;
		}
		*just_served = 0;
		pthread_mutex_unlock(&e->mu);
		n = epoll_wait(e->ep, &ev, 1, ENGINE_IDLE_SECS * 1000);
		pthread_mutex_lock(&e->mu);
		fd = -1;
		if (n == 1 && ev.data.fd == e->lfd) {
			while (!e->accept_stop && e->nconns >= e->conn_cap) {
				e->slot_waits++;
				timed_wait(e, &e->slot_cv, ENGINE_RETRY_MS);
				e->slot_waits--;
			}
			if (!e->accept_stop)
				fd = try_accept(e, 1);
		}
		left_lfd(e);
		if (fd != -1)
			return fd;
		if (n == 0 && free_workers(e) > ENGINE_IDLE_KEEP)
			return -1;
	}
	return -1;
}

/* worker - accept and serve connections one after the other */
static void *
worker(void *arg)
{
	struct am_engine	*e = arg;
	unsigned char		*spare = NULL;	/* the read buffer it lends */
	int			 fd, served = 0;

	pthread_mutex_lock(&e->mu);
	while ((fd = take(e, &served)) != -1) {
		pthread_mutex_unlock(&e->mu);
		am_mctx_serve(e, fd, &spare);
		served = 1;
		pthread_mutex_lock(&e->mu);
	}
	e->threads--;
	pthread_cond_broadcast(&e->done_cv);
	pthread_mutex_unlock(&e->mu);
	free(spare);
	return NULL;
}

/*
 * pending - does a connection wait in the listen queue?  1, 0, or -1
 * (the stop pipe was written, or the socket failed: errno, 0 if poll
 * said so without one).  Waits at most ms (-1: until one does).
 */
static int
pending(const struct am_engine *e, int ms)
{
	struct pollfd	 pfd[2];
	int		 n;

	pfd[0].fd = e->lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = e->stop_pipe[0];
	pfd[1].events = POLLIN;
	pfd[0].revents = pfd[1].revents = 0;
	if ((n = poll(pfd, 2, ms)) == -1)
		return errno == EINTR ? 0 : -1;
	errno = 0;
	if (pfd[1].revents != 0 || (pfd[0].revents & (POLLERR | POLLNVAL)))
		return -1;
	return n > 0 && (pfd[0].revents & POLLIN);
}

/* what the watcher knows of the connection waiting now (see watch_act) */
struct watch {
	long		 since;		/* waiting with none free since, ms; 0 */
	long		 last;		/* when it last looked, ms */
	unsigned long	 was;		/* e->finished when it last looked */
	unsigned long	 was0;		/* e->finished at since */
	int		 looks;		/* since then */
	int		 spawned;	/* it started a worker in its last look */
	int		 statfd;	/* /proc/stat, or -1 */
	unsigned long long idle, total;	/* its CPU times at since */
};

/* cpu_idle - the machine's idle share since the last call, or -1 */
static int
cpu_idle(struct watch *w)
{
	char		 buf[256];
	ssize_t		 n;

	if (w->statfd == -1 ||
	    (n = pread(w->statfd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	return am_engine_cpu_idle(buf, &w->idle, &w->total);
}

/*
 * watch_act - a connection waits in the listen queue: at the cap close
 * the connection idle longest (admit.c); else, with no worker free, start
 * one when am_engine_watch_decide says so.  Under its backlog rule only
 * if the machine's CPU was not busy all along (ENGINE_BACKLOG_IDLE_PCT):
 * then the CPU is the limit, not the workers, and under a lasting
 * overload one more per ENGINE_BACKLOG_MS added up to a thread per
 * connection.  e->mu held.
 */
static void
watch_act(struct am_engine *e, struct watch *w)
{
	struct am_watch_look	 l;
	int			 pct;

	if (e->nconns >= e->conn_cap) {
		am_engine_at_cap(e);
		w->since = 0;
		return;
	}
	if (free_workers(e) > 0) {
		w->since = 0;			/* one came free: it accepts */
		return;
	}
	l.last = w->last;
	l.now = w->last = am_engine_now_ms();
	if ((l.first = w->since == 0)) {
		w->since = l.now;
		w->was = w->was0 = e->finished;
		w->looks = 0;
		(void)cpu_idle(w);		/* from here */
	}
	l.looks = ++w->looks;
	l.since = w->since;
	l.finished = e->finished;
	l.was = w->was;
	l.was0 = w->was0;
	l.spawn_wait_ok = e->spawn_wait_ok;
	w->was = e->finished;
	switch (am_engine_watch_decide(&l)) {
	case AM_WATCH_WAIT:
		return;
	case AM_WATCH_BACKLOG:
		if ((pct = cpu_idle(w)) >= 0 && pct < ENGINE_BACKLOG_IDLE_PCT) {
			w->since = l.now;	/* a new window */
			return;
		}
		break;
	case AM_WATCH_SPAWN:
		e->spawn_wait_ok = 0;
		break;
	}
	w->since = 0;
	if (start_worker(e) == -1)
		timed_wait(e, &e->free_cv, ENGINE_RETRY_MS);
	else
		w->spawned = 1;
}

/*
 * watcher - the one thread that is not a worker.  It sleeps while some
 * worker is free to accept (the common case: it costs nothing per
 * connection).  When none is, or at the connection cap, it waits for a
 * connection in the listen queue and acts (watch_act).  From then on it
 * looks every ENGINE_TICK_MS instead of being woken by each change:
 * under load the last free worker comes and goes with nearly every
 * connection, and a wake-up per connection was 1 task switch per message
 * and 3 % of the CPU (issue 17).  After ENGINE_TICKS_QUIET looks with
 * nothing to do it goes back to sleeping until it is needed.  Right after
 * it started a worker it is woken as soon as that worker has taken a
 * connection, so a burst starts workers one after the other at once.
 */
static void *
watcher(void *arg)
{
	struct am_engine	*e = arg;
	struct watch		 w;
	int			 quiet = ENGINE_TICKS_QUIET, r;

	memset(&w, 0, sizeof(w));
	w.statfd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
	pthread_mutex_lock(&e->mu);
	while (!e->accept_stop) {
		if (quiet >= ENGINE_TICKS_QUIET && !watch_needed(e)) {
			w.since = 0;
			e->watcher_waits = 1;
			pthread_cond_wait(&e->spare_cv, &e->mu);
			e->watcher_waits = 0;
			continue;
		}
		if (quiet < ENGINE_TICKS_QUIET) {
			e->watcher_waits = w.spawned;
			timed_wait(e, &e->spare_cv, ENGINE_TICK_MS);
			e->watcher_waits = w.spawned = 0;
			if (e->accept_stop)
				break;
			if (!watch_needed(e)) {
				quiet++;
				w.since = 0;
				continue;
			}
		}
		pthread_mutex_unlock(&e->mu);
		r = pending(e, quiet >= ENGINE_TICKS_QUIET ? -1 : 0);
		pthread_mutex_lock(&e->mu);
		if (r == -1 && !e->accept_stop)
			listen_failed(e, "poll", errno != 0 ? errno : EIO);
		if (r == -1 || e->accept_stop)
			break;
		if (r == 0) {
			quiet++;
			w.since = 0;
			continue;
		}
		quiet = 0;
		watch_act(e, &w);
	}
	pthread_mutex_unlock(&e->mu);
	if (w.statfd != -1)
		close(w.statfd);
	return NULL;
}

/* ------------------------------------------------------------ life cycle */

/*
 * epoll_set - the workers' epoll set: the listening socket, one-shot
 * (rearm), and the stop pipe, level-triggered: once written it wakes
 * every waiting worker, one after the other.  0 or -1 (errno).
 */
static int
epoll_set(struct am_engine *e)
{
	struct epoll_event	 ev;

	if ((e->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = e->lfd;
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, e->lfd, &ev) == -1)
		return -1;
	ev.events = EPOLLIN;
	ev.data.fd = e->stop_pipe[0];
	return epoll_ctl(e->ep, EPOLL_CTL_ADD, e->stop_pipe[0], &ev);
}

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
	e->stop_pipe[0] = e->stop_pipe[1] = e->ep = -1;
	e->spawn_wait_ok = 1;
	e->conn_cap = am_engine_nofile_cap();
	if ((e->lfd = am_listen_open(conf->socket, &e->unix_path, err,
	    errlen)) == -1) {
		free(e);
		return NULL;
	}
	/*
	 * epoll says readable, accept() must not block if the peer left or
	 * another worker took the connection
	 */
	(void)fcntl(e->lfd, F_SETFL, fcntl(e->lfd, F_GETFL) | O_NONBLOCK);
	if (pipe2(e->stop_pipe, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		bi_free(e);
		return NULL;
	}
	/* a full pipe (wake_all) must not block the stop */
	(void)fcntl(e->stop_pipe[1], F_SETFL, O_NONBLOCK);
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	pthread_cond_init(&e->free_cv, NULL);
	pthread_cond_init(&e->spare_cv, NULL);
	pthread_cond_init(&e->slot_cv, NULL);
	if (epoll_set(e) == -1) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		bi_free(e);
		return NULL;
	}
	return e;
}

/* failed - did the listening socket fail (listen_failed)? */
static int
failed(const struct am_engine *e)
{
	return __atomic_load_n(&e->failed, __ATOMIC_SEQ_CST);
}

/* start - the watcher thread and a first worker; 0 or -1 (logged) */
static int
start(struct am_engine *e)
{
	int	 r;

	if ((r = pthread_create(&e->watcher, NULL, watcher, e)) != 0) {
		am_log_err(NULL, "milter: watcher thread: %s", strerror(r));
		return -1;
	}
	e->watcher_on = 1;
	pthread_mutex_lock(&e->mu);
	(void)start_worker(e);		/* else the watcher starts one */
	pthread_mutex_unlock(&e->mu);
	return 0;
}

/*
 * wake_all - wake every worker waiting on the epoll set: one byte to the
 * stop pipe per worker that may wait there, each write a wake-up of its
 * own, rather than relying only on the level-triggered entry, through
 * which each woken worker wakes the next one after the other (a stop that
 * left 60 idle workers waiting past 2 s was seen under load, cause not
 * proven).  The pipe is never read; a full one (its write end does not
 * block) ends the round.  e->mu held.
 */
static void
wake_all(struct am_engine *e)
{
	int	 i;

	for (i = 0; i < e->accepting; i++)
		if (write(e->stop_pipe[1], "x", 1) != 1)
			break;
}

/*
 * wait_accepting - after the stop: wait until no worker uses the
 * listening socket (accepting), so that it can be closed; those still
 * waiting are woken again every ENGINE_NUDGE_MS, for at most
 * ENGINE_CLOSE_MS.  Returns how many still use it.
 */
static int
wait_accepting(struct am_engine *e)
{
	unsigned int	 waited;
	int		 left;

	pthread_mutex_lock(&e->mu);
	wake_all(e);
	for (waited = 0; e->accepting > 0 && waited < ENGINE_CLOSE_MS;
	    waited += ENGINE_NUDGE_MS) {
		timed_wait(e, &e->done_cv, ENGINE_NUDGE_MS);
		wake_all(e);
	}
	left = e->accepting;
	pthread_mutex_unlock(&e->mu);
	return left;
}

/*
 * stop_accepting - refuse new connections from now on (the unix socket
 * file is removed); connections already open go on
 */
static void
stop_accepting(struct am_engine *e)
{
	int	 left;

	if (e->watcher_on) {
		pthread_mutex_lock(&e->mu);
		e->accept_stop = 1;
		pthread_cond_signal(&e->free_cv);
		pthread_cond_signal(&e->spare_cv);
		pthread_cond_broadcast(&e->slot_cv);
		pthread_mutex_unlock(&e->mu);
		/* wakes the watcher's poll and every worker's epoll_wait */
		(void)write(e->stop_pipe[1], "x", 1);
		pthread_join(e->watcher, NULL);
		e->watcher_on = 0;
		if ((left = wait_accepting(e)) > 0) {
			am_log_warn(NULL, "milter: %d workers still wait on the "
			    "listening socket (%d in all, %d serving); it stays "
			    "open until exit", left, e->threads, e->serving);
			e->lfd_kept = 1;	/* never closed under them */
		}
	}
	if (e->lfd != -1 && !e->lfd_kept) {
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
	struct timespec		 until;
	int			 left;

	stop_accepting(e);
	am_engine_deadline(&until, grace_ms);
	pthread_mutex_lock(&e->mu);
	e->stopping = 1;
	for (c = e->conns; c != NULL; c = c->next)
		(void)shutdown(c->fd, SHUT_RDWR);	/* wakes its read() */
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
	if (e->ep != -1)
		close(e->ep);
	if (e->stop_pipe[0] != -1) {
		close(e->stop_pipe[0]);
		close(e->stop_pipe[1]);
		pthread_mutex_destroy(&e->mu);
		pthread_cond_destroy(&e->done_cv);
		pthread_cond_destroy(&e->free_cv);
		pthread_cond_destroy(&e->spare_cv);
		pthread_cond_destroy(&e->slot_cv);
	}
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
