/*
 * lmengine.c - the libmilter engine: engine.h on Sendmail's libmilter
 * (Debian's libmilter-dev), chosen with MilterEngine libmilter.  The
 * per-message callbacks and am_mctx_* map one to one onto xxfi_* and
 * smfi_*; what libmilter does not do the adapter does, so that the MTA
 * sees what the built-in engine would send:
 *
 *   - the pending-verdict rule for steps negotiated as "no reply"
 *     (lmconn.c, with the callbacks);
 *   - the socket rules: a stale unix socket is removed, a live one
 *     refused, before the spec goes to smfi_setconn (smfi_opensocket's
 *     own "remove" would also remove a live one);
 *   - the life cycle of am_engine_run: smfi_main runs in a thread of its
 *     own; the calling thread waits for the stop signals, then closes the
 *     listening socket under libmilter (stop_accepting: smfi_stop would
 *     stop the workers too), lets messages in flight finish (drain_secs)
 *     and returns (the process exits with libmilter's threads);
 *   - signals: libmilter's own signal thread would stop the milter on
 *     SIGHUP; it is parked for good (lmsignal.c, which says why that is
 *     sound), and am_engine_run refuses to serve if it did not park.
 *
 * Threads: libmilter's (a listener, a pool of workers handing sessions
 * between them; callbacks of one connection one at a time), the thread
 * running smfi_main, and the caller of am_engine_run.  libmilter's state
 * is process-wide, so there is at most one such engine per process.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "common/log.h"
#include "common/sockspec.h"
#include "server/engine.h"
#include "server/engine_ops.h"
#include "server/listen.h"
#include "server/lmengine_int.h"
#include "server/mproto.h"

/*
 * libmilter has one timeout for every read and write of a connection
 * (default 7210 s).  The MTA's own gaps are bounded by its timeouts
 * (Postfix: 300 s per SMTP command, milter_content_timeout 300 s), so a
 * connection silent for longer is gone; the built-in engine's limits
 * are finer (conn.c ENGINE_*_TIMEOUT).
 */
#define LM_TIMEOUT		600	/* s, smfi_settimeout */
/*
 * The largest payload libmilter reads (its default is 64 KB, less than a
 * header field Postfix may send: header_size_limit 102400); as conn.c's
 * ENGINE_PACKET_MAX, so both engines take the same packets.  Larger: the
 * connection is dropped (the MTA applies its milter default action).
 */
#define LM_PACKET_MAX		(1024 * 1024)
#define LM_PARK_WAIT_MS		5000	/* for libmilter's signal thread */
#define LM_FD_SCAN		1024	/* descriptors looked at for the listener */

/* process-wide state: libmilter's own is process-wide (one engine) */
struct lm_engine	*am_lm_the;

/* ------------------------------------------------------------ life cycle */


/*
 * lm_conn_spec - ss in libmilter's syntax (listener.c mi_milteropen):
 * an IPv6 address in brackets, a name resolved by libmilter
 */
static char *
lm_conn_spec(const struct am_sockspec *ss)
{
	char	*s = NULL;
	int	 r;

	if (ss->kind == AM_SOCKSPEC_UNIX)
		r = asprintf(&s, "unix:%s", ss->path);
	else if (ss->host[0] == '\0')
		r = asprintf(&s, "%s:%u", ss->kind == AM_SOCKSPEC_INET ?
		    "inet" : "inet6", ss->port);
	else if (ss->host_is_addr && ss->kind == AM_SOCKSPEC_INET6)
		r = asprintf(&s, "inet6:%u@[%s]", ss->port, ss->host);
	else
		r = asprintf(&s, "%s:%u@%s", ss->kind == AM_SOCKSPEC_INET ?
		    "inet" : "inet6", ss->port, ss->host);
	return r == -1 ? NULL : s;
}

/* is_ours - is sa the address ss names (its port, or its unix path)? */
static int
is_ours(const struct sockaddr_storage *sa, const struct am_sockspec *ss)
{
	if (sa->ss_family == AF_UNIX)
		return ss->kind == AM_SOCKSPEC_UNIX && strcmp(((const struct
		    sockaddr_un *)sa)->sun_path, ss->path) == 0;
	if (ss->kind == AM_SOCKSPEC_UNIX)
		return 0;
	if (sa->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port) ==
		    ss->port;
	if (sa->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port) ==
		    ss->port;
	return 0;
}

/*
 * find_listener - libmilter's listening descriptor, which it does not
 * hand out: the one listening socket on our address (just opened, before
 * any other); -1 if none is found
 */
static int
find_listener(const struct am_sockspec *ss)
{
	struct sockaddr_storage	 sa;
	socklen_t		 len;
	int			 fd, acc;

	for (fd = 0; fd < LM_FD_SCAN; fd++) {
		len = sizeof(acc);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len) == -1 ||
		    !acc)
			continue;
		len = sizeof(sa);
		memset(&sa, 0, sizeof(sa));
		if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
		    is_ours(&sa, ss))
			return fd;
	}
	return -1;
}

/*
 * why_not_bound - libmilter only says "failed" (and the reason to
 * syslog): binding the same spec as the built-in engine does gives the
 * reason ("Address already in use") for err
 */
static void
why_not_bound(const char *spec, const char *conn, char *err, size_t errlen)
{
	char	*path = NULL;
	int	 fd;

	if ((fd = am_listen_open(spec, &path, err, errlen)) == -1)
		return;
	close(fd);
	if (path != NULL)
		(void)unlink(path);
	free(path);
	snprintf(err, errlen, "libmilter could not listen on %s (its syslog "
	    "line says why)", conn);
}

/* lm_bind - register with libmilter and bind; 0 or -1 with err */
static int
lm_bind(struct lm_engine *e, const char *spec, char *err, size_t errlen)
{
	const char	*why;
	int		 one = 1;

	if ((why = am_sockspec_parse(spec, &e->ss)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (e->ss.kind == AM_SOCKSPEC_UNIX &&
	    am_listen_unix_clear(e->ss.path, err, errlen) == -1)
		return -1;
	if ((e->conn = lm_conn_spec(&e->ss)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (smfi_register(am_lm_desc) == MI_FAILURE ||
	    smfi_setconn(e->conn) == MI_FAILURE ||
	    smfi_settimeout(LM_TIMEOUT) == MI_FAILURE ||
	    smfi_setbacklog(SOMAXCONN) == MI_FAILURE) {
		snprintf(err, errlen, "libmilter refused the configuration");
		return -1;
	}
	(void)smfi_setmaxdatasize(LM_PACKET_MAX);
	if (smfi_opensocket(0) == MI_FAILURE) {
		why_not_bound(spec, e->conn, err, errlen);
		return -1;
	}
	if (e->ss.kind == AM_SOCKSPEC_UNIX &&
	    stat(e->ss.path, &e->unix_sb) == 0)
		e->unix_bound = 1;
	/*
	 * TCP_NODELAY (accepted connections inherit it), as listen.c sets it
	 * for the built-in engine: the reply after a header change at end of
	 * message would otherwise wait for the MTA's delayed ACK
	 */
	if ((e->lfd = find_listener(&e->ss)) == -1)
		am_log_warn(NULL, "milter: libmilter's listening socket not "
		    "found: a stop will not wait for messages in progress");
	else if (e->ss.kind != AM_SOCKSPEC_UNIX)
		(void)setsockopt(e->lfd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	return 0;
}

/* lm_create - am_engine_new (engine.h) for the libmilter engine */
static struct am_engine *
lm_create(const struct am_engine_conf *conf, char *err, size_t errlen)
{
	struct lm_engine	*e;

	if (am_lm_the != NULL) {
		snprintf(err, errlen, "libmilter engine: one per process");
		return NULL;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->ops = &am_libmilter_ops;
	e->lfd = -1;
	e->cb = conf->milter;
	e->udata = conf->udata;
	am_lm_the = e;
	if (lm_bind(e, conf->socket, err, errlen) == -1) {
		free(e->conn);
		free(e);
		am_lm_the = NULL;
		return NULL;
	}
	return (struct am_engine *)(void *)e;
}

static struct lm_engine *
le(struct am_engine *e)
{
	return (struct lm_engine *)(void *)e;
}

/* lm_main - the thread that runs smfi_main until it returns */
static void *
lm_main(void *arg)
{
	struct lm_engine	*e = arg;
	int			 r;

	r = smfi_main();
	__atomic_store_n(&e->main_done, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&e->stopping, __ATOMIC_SEQ_CST)) {
		am_log_err(NULL, "milter: libmilter stopped by itself (%s)",
		    r == MI_SUCCESS ? "no error" : "failure");
		__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
		/* ends lm_run's wait: the signal is blocked everywhere */
		pthread_kill(e->run_thread, e->wake_sig);
	}
	return NULL;
}

/* unlink_ours - the unix socket file, if it is still the one we made */
static void
unlink_ours(struct lm_engine *e)
{
	struct stat	 sb;

	if (!e->unix_bound)
		return;
	e->unix_bound = 0;
	if (stat(e->ss.path, &sb) == 0 && sb.st_dev == e->unix_sb.st_dev &&
	    sb.st_ino == e->unix_sb.st_ino && unlink(e->ss.path) == -1)
		am_log_warn(NULL, "unlink %s: %s", e->ss.path,
		    strerror(errno));
}

/*
 * stop_accepting - refuse new connections; connections open go on.
 * smfi_stop cannot do this: it stops libmilter's worker pool too (its
 * worker.c leaves its loops once the stop flag is set), which would cut
 * the messages in flight.  Instead the listening descriptor is replaced
 * (dup2) by a non-blocking listening socket nobody can reach (an unnamed
 * unix socket): the real one is closed, and libmilter's listener, polling
 * the new one, never accepts again.  The unix socket file is removed.
 * Without the descriptor (not found at start): smfi_stop, no drain.
 */
static void
stop_accepting(struct lm_engine *e)
{
	sa_family_t	 af = AF_UNIX;
	int		 fd;

	__atomic_store_n(&e->stopping, 1, __ATOMIC_SEQ_CST);
	if (e->lfd != -1) {
		/* bound to an address of the kernel's choosing (unix(7)
		 * autobind: an abstract name nobody knows) */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
		if (fd == -1 || bind(fd, (struct sockaddr *)(void *)&af,
		    sizeof(af)) == -1 || listen(fd, 1) == -1 ||
		    dup2(fd, e->lfd) == -1) {
			am_log_err(NULL, "milter: cannot close libmilter's "
			    "listener: %s; stopping it", strerror(errno));
			(void)smfi_stop();
		}
		if (fd != -1)
			close(fd);
		e->lfd = -1;
	} else
		(void)smfi_stop();
	unlink_ours(e);
}

/* wait_idle - until no message is in progress, at most secs (engine.c) */
static void
wait_idle(const struct lm_engine *e, unsigned int secs)
{
	unsigned int	 i;

	usleep(200000);		/* commands sent without waiting, unread */
	for (i = 0; i < secs * 10 &&
	    __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST) > 0; i++)
		usleep(100000);
	if (__atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST) > 0) {
		am_log_warn(NULL, "exiting with %d messages in progress",
		    __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST));
		am_lm_log_live();
	}
}

/* lm_start - smfi_main in its thread, and its signal thread parked */
static int
lm_start(struct lm_engine *e)
{
	int	 r;

	am_lm_park_arm();
	if ((r = pthread_create(&e->main_thread, NULL, lm_main, e)) != 0) {
		am_log_err(NULL, "milter: libmilter thread: %s", strerror(r));
		return -1;
	}
	e->main_on = 1;
	if (!am_lm_parked(LM_PARK_WAIT_MS)) {
		am_log_err(NULL, "milter: libmilter's signal thread did not "
		    "call sigwait(); not serving, since it would stop the "
		    "milter on SIGHUP");
		return -1;
	}
	return 0;
}

/* lm_run - am_engine_run (engine.h) for the libmilter engine */
static int
lm_run(struct am_engine *ae, const sigset_t *stop_set,
    unsigned int drain_secs)
{
	struct lm_engine	*e = le(ae);
	int			 sig = 0, msgs;

	e->run_thread = pthread_self();
	e->wake_sig = am_engine_first_signal(stop_set);
	if (lm_start(e) == -1) {
		__atomic_store_n(&e->failed, 1, __ATOMIC_SEQ_CST);
		stop_accepting(e);
		return -1;
	}
	sig = am_engine_sigwait(stop_set);
	if (!__atomic_load_n(&e->failed, __ATOMIC_SEQ_CST)) {
		msgs = __atomic_load_n(&e->msgs, __ATOMIC_SEQ_CST);
		am_log_info(NULL, "%s: no new connections; waiting up to %u s "
		    "for %d message%s in progress", strsignal(sig), drain_secs,
		    msgs, msgs == 1 ? "" : "s");
		stop_accepting(e);
		wait_idle(e, drain_secs);
	} else
		stop_accepting(e);
	return __atomic_load_n(&e->failed, __ATOMIC_SEQ_CST) ? -1 : 0;
}

/*
 * lm_stuck - libmilter cannot be asked whether its sessions have ended
 * (they end when the process does), so the engine and what the
 * callbacks use are never freed after a run
 */
static int
lm_stuck(const struct am_engine *e)
{
	return 1;
}

/* lm_destroy - only before lm_run (a start-up failure): the socket goes */
static void
lm_destroy(struct am_engine *ae)
{
	struct lm_engine	*e = le(ae);

	if (e->main_on)
		return;		/* libmilter's threads may use it */
	stop_accepting(e);
	free(e->conn);
	free(e);
	am_lm_the = NULL;
}

const struct am_engine_ops am_libmilter_ops = {
	.name = "libmilter",
	.create = lm_create,
	.run = lm_run,
	.stuck = lm_stuck,
	.destroy = lm_destroy,
	.udata = am_lm_udata,
	.getpriv = am_lm_getpriv,
	.setpriv = am_lm_setpriv,
	.steps = am_lm_steps,
	.symval = am_lm_symval,
	.setsymlist = am_lm_setsymlist,
	.insheader = am_lm_insheader,
	.chgheader = am_lm_chgheader,
	.quarantine = am_lm_quarantine,
	.setreply = am_lm_setreply,
};
