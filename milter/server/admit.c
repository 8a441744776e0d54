/*
 * admit.c - whether and when a worker takes the next connection: the
 * connection cap sized from the open files limit (raised to the hard
 * limit at start), the connection idle longest closed at the cap so that
 * silent connections cannot starve the MTA's (the watcher's job), and a
 * back-off with a rate-limited log line when accept() runs short of
 * descriptors or memory (the workers'), and when the watcher starts one
 * more worker (pure).  Called by engine.c with its lock held; see
 * engine.h.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/engine_int.h"

/*
 * The open files limit sizes the connection cap (conn_cap, below): descriptors
 * kept for the rest of the process (listening socket, stop pipe, metrics
 * server and its clients, reload, syslog, the resolver's pump, pipes and
 * event base), and per MTA connection its socket plus the resolver
 * sockets its checks may have open at once (SPF asks one query at a time,
 * DKIM keys are fetched in parallel).
 */
#define ENGINE_FDS_RESERVED	64
#define ENGINE_FDS_PER_CONN	3
#define ENGINE_EVICT_IDLE_MS	1000	/* at the cap: idle this long may be closed */
#define ENGINE_BACKOFF_MIN_MS	10	/* accept() short of fds/memory: wait, */
#define ENGINE_BACKOFF_MAX_MS	1000	/* doubling up to this */
#define ENGINE_LOG_EVERY_SECS	10	/* a repeated problem: one line per */

/* am_engine_now_ms - see engine_int.h */
long
am_engine_now_ms(void)
{
	struct timespec	 ts;
	long		 ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ms = (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return ms > 0 ? ms : 1;
}

/* am_engine_ratelog_due - see engine_int.h: ENGINE_LOG_EVERY_SECS apart */
int
am_engine_ratelog_due(struct am_ratelog *rl, unsigned long *count)
{
	long	 now = am_engine_now_ms();

	if (rl->last_ms != 0 &&
	    now - rl->last_ms < ENGINE_LOG_EVERY_SECS * 1000L) {
		rl->count++;
		return 0;
	}
	*count = rl->count;
	rl->count = 0;
	rl->last_ms = now;
	return 1;
}

/* ------------------------------------------------------------ the cap */

/*
 * idle_ms - how long c has waited for its MTA outside a message; -1 when
 * it is working, in a message, or already being closed.  e->mu held.
 */
static long
idle_ms(const struct am_mctx *c, long now)
{
	long	 since = __atomic_load_n(&c->idle_since, __ATOMIC_SEQ_CST);

	if (since == 0 || c->evicted ||
	    __atomic_load_n(&c->in_msg, __ATOMIC_SEQ_CST))
		return -1;
	return now - since;
}

/*
 * evict_better - is a a better connection to close than b (NULL)?  One
 * that never began a message (an MTA opens its connection to send one)
 * before one that did, then the one idle longer.
 */
static int
evict_better(const struct am_mctx *a, long a_idle, const struct am_mctx *b,
    long b_idle)
{
	int	 a_new, b_new;

	if (b == NULL)
		return 1;
	a_new = __atomic_load_n(&a->nmsgs, __ATOMIC_SEQ_CST) == 0;
	b_new = __atomic_load_n(&b->nmsgs, __ATOMIC_SEQ_CST) == 0;
	if (a_new != b_new)
		return a_new;
	return a_idle > b_idle;
}

/*
 * evict_idle - at the cap: close the connection idle longest (at least
 * ENGINE_EVICT_IDLE_MS) that holds no message, so that a new connection,
 * likely the MTA's, is served rather than starved by silent ones.  Its
 * worker sees the end of the connection and frees the slot.  1 when one
 * was closed, 0 when none may be.  e->mu held.
 */
static int
evict_idle(struct am_engine *e)
{
	struct am_mctx	*c, *victim = NULL;
	long		 now = am_engine_now_ms(), t, victim_idle = 0;

	for (c = e->conns; c != NULL; c = c->next) {
		t = idle_ms(c, now);
		if (t >= ENGINE_EVICT_IDLE_MS &&
		    evict_better(c, t, victim, victim_idle)) {
			victim = c;
			victim_idle = t;
		}
	}
	if (victim == NULL)
		return 0;
	victim->evicted = 1;
	e->evicting++;
	(void)shutdown(victim->fd, SHUT_RDWR);
	am_log_info(NULL, "milter: %d connections open, the most allowed: "
	    "closing one idle for %ld s (%s) for a new one", e->nconns,
	    victim_idle / 1000, __atomic_load_n(&victim->nmsgs,
	    __ATOMIC_SEQ_CST) == 0 ? "no message yet" : "between messages");
	return 1;
}

/* short_of - an accept() error that says the system is short of something */
static int
short_of(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM;
}

/*
 * am_engine_at_cap - see engine_int.h.  One connection is being closed at
 * a time (evicting); the wait is on free_cv, which its worker signals.
 */
void
am_engine_at_cap(struct am_engine *e)
{
	struct timespec	 until;
	unsigned long	 n;

	if (e->evicting == 0 && !evict_idle(e) &&
	    am_engine_ratelog_due(&e->cap_log, &n))
		am_log_warn(NULL, "milter: %d connections open, the most "
		    "allowed, none idle: new ones wait (%lu times since the "
		    "last report)", e->nconns, n + 1);
	am_engine_deadline(&until, ENGINE_RETRY_MS);
	e->free_waits = 1;
	(void)pthread_cond_timedwait(&e->free_cv, &e->mu, &until);
	e->free_waits = 0;
}

/* am_engine_accepted - see engine_int.h */
void
am_engine_accepted(struct am_engine *e)
{
	if (e->backoff_ms != 0)
		am_log_info(NULL, "milter: accepting again");
	e->backoff_ms = 0;
}

/*
 * am_engine_accept_short - see engine_int.h.  Logged once, then one line
 * with a count per ENGINE_LOG_EVERY_SECS; the back-off doubles up to
 * ENGINE_BACKOFF_MAX_MS and a stop ends it: no spinning on a listening
 * socket that stays readable.  The connection waits in the listen queue.
 */
int
am_engine_accept_short(struct am_engine *e, int err)
{
	unsigned long	 n;

	if (!short_of(err))
		return 0;
	if (!am_engine_ratelog_due(&e->short_log, &n))
		;			/* counted for the next line */
	else if (n == 0)
		am_log_err(NULL, "milter: accept: %s; backing off",
		    strerror(err));
	else
		am_log_err(NULL, "milter: accept: %s (%lu times since the "
		    "last report)", strerror(err), n + 1);
	e->backoff_ms = e->backoff_ms == 0 ? ENGINE_BACKOFF_MIN_MS :
	    e->backoff_ms * 2 > ENGINE_BACKOFF_MAX_MS ?
	    ENGINE_BACKOFF_MAX_MS : e->backoff_ms * 2;
	return e->backoff_ms;
}

/* ------------------------------------------------------------ fd limit */

/*
 * conn_cap - connections open at once that nofile descriptors allow
 * (ENGINE_FDS_* above), at most ENGINE_THREADS_MAX, at least 1.  Pure.
 */
static int
conn_cap(rlim_t nofile)
{
	rlim_t	 n;

	if (nofile == RLIM_INFINITY)
		return ENGINE_THREADS_MAX;
	n = nofile > ENGINE_FDS_RESERVED + ENGINE_FDS_PER_CONN ?
	    (nofile - ENGINE_FDS_RESERVED) / ENGINE_FDS_PER_CONN : 1;
	return n > ENGINE_THREADS_MAX ? ENGINE_THREADS_MAX : (int)n;
}

/*
 * am_engine_nofile_cap - see engine_int.h.  Linux starts services at
 * 1024, which 4096 connections would exhaust (the resolver then cannot
 * open a socket).
 */
int
am_engine_nofile_cap(void)
{
	struct rlimit	 rl;
	int		 cap;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return conn_cap(1024);
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t	 was = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
			am_log_warn(NULL, "milter: cannot raise the open files "
			    "limit from %lu to %lu: %s", (unsigned long)was,
			    (unsigned long)rl.rlim_max, strerror(errno));
			rl.rlim_cur = was;
		}
	}
	cap = conn_cap(rl.rlim_cur);
	if (cap < ENGINE_THREADS_MAX)
		am_log_warn(NULL, "milter: open files limit %lu: at most %d "
		    "MTA connections at once (%d needs %d; LimitNOFILE in the "
		    "systemd unit)", (unsigned long)rl.rlim_cur, cap,
		    ENGINE_THREADS_MAX, ENGINE_FDS_RESERVED +
		    ENGINE_FDS_PER_CONN * ENGINE_THREADS_MAX);
	return cap;
}


/*
 * am_engine_watch_decide - see engine_int.h.  The first look of a wait
 * waits a tick for a worker to finish a connection only while that pays
 * (spawn_wait_ok: one finished since the last worker was started), so a
 * burst does not wait a tick per connection.  Then one more unless a
 * worker finished one since the last look (the MTA opens the next
 * connection as soon as it has our reply, while the worker still reads
 * its QUIT, and under full load workers finish all the time and take
 * what waits: counting only free workers kept nearly twice as many
 * threads as connections).  After ENGINE_BACKLOG_MS with the queue never
 * empty: the backlog rule (the CPU decides, engine.c).  A look that comes
 * late (the machine stalled, or the watcher did not get the CPU) says
 * nothing about the workers and only looks again, unless none finished
 * since the wait began ENGINE_BACKLOG_MS and ENGINE_STUCK_LOOKS looks ago:
 * the workers are stuck, and a busy machine may make every look late (a
 * single stall of the VM is one late look: it grew the pool at c=128).
 */
enum am_watch_do
am_engine_watch_decide(const struct am_watch_look *l)
{
	long	 waited = l->now - l->since;

	if (l->first)
		return l->spawn_wait_ok ? AM_WATCH_WAIT : AM_WATCH_SPAWN;
	if (l->now - l->last > ENGINE_TICK_LATE * ENGINE_TICK_MS &&
	    (waited < ENGINE_BACKLOG_MS || l->looks < ENGINE_STUCK_LOOKS ||
	    l->finished != l->was0))
		return AM_WATCH_WAIT;
	if (l->finished == l->was)
		return AM_WATCH_SPAWN;
	return waited < ENGINE_BACKLOG_MS ? AM_WATCH_WAIT : AM_WATCH_BACKLOG;
}

/* am_engine_cpu_idle - see engine_int.h; idle is idle + iowait (proc(5)) */
int
am_engine_cpu_idle(const char *stat, unsigned long long *idle,
    unsigned long long *total)
{
	unsigned long long	 v[8] = { 0 }, i_now, t_now = 0;
	int			 k, pct = -1;

	if (sscanf(stat, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5)
		return -1;
	for (k = 0; k < 8; k++)
		t_now += v[k];
	i_now = v[3] + v[4];
	if (*total != 0 && t_now > *total && i_now >= *idle &&
	    i_now - *idle <= t_now - *total)
		pct = (int)(100 * (i_now - *idle) / (t_now - *total));
	*idle = i_now;
	*total = t_now;
	return pct;
}
