/*
 * fuzz_serve.h - the MTA side of the engine targets (fuzz_engine.c,
 * fuzz_engine_daemon.c): one milter connection served by the engine's
 * real per-connection loop, am_mctx_serve() (milter/server/conn.c), on
 * bytes the fuzzer made.
 *
 * The input is written into one end of a socketpair, whose write side is
 * then shut down; the other end goes to am_mctx_serve(), the function a
 * worker runs for an accepted connection, in the calling thread.  A pump
 * thread writes the input and reads the replies to EOF at the same time,
 * so neither side blocks on a full socket buffer.  Every byte the engine
 * writes back must be a well-framed reply packet of a kind the protocol
 * knows.  For one input length in FUZZ_HANGUP_MOD the MTA hangs up (both
 * directions) as soon as the first reply bytes arrive, so the engine's
 * failed writes and half-read streams are fuzzed too.
 *
 * The engine is made by am_engine_new(); besides am_mctx_serve() only its
 * lock, its counts of open connections and busy workers (raised as the
 * worker raises them before its accept(); am_engine_untrack lowers
 * them) and its connection list (empty after each connection) are
 * touched, so the harness does not depend on how engine.c runs its
 * workers and watcher.
 */
#ifndef AM_FUZZ_SERVE_H
#define AM_FUZZ_SERVE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "server/engine.h"
#include "server/engine_int.h"
#include "server/mproto.h"

#define REPLY_MAX	(8 * 1024 * 1024)	/* replies kept for checking */
#define FUZZ_HANGUP_MOD	7	/* size % 7 == 3: the MTA hangs up early */

struct pump {
	int			 fd;
	const uint8_t		*in;
	size_t			 inlen;
	unsigned char		*out;
	size_t			 outlen;
	int			 hangup;	/* after the first reply bytes */
};

/*
 * pump_run - write the input, shut down the write side, read the replies
 * to EOF; both at once, so a filter blocked on its replies never stalls us
 */
static inline void *
pump_run(void *arg)
{
	struct pump	*p = arg;
	size_t		 off = 0;
	int		 wdone = p->inlen == 0;
	ssize_t		 n;

	if (wdone)
		(void)shutdown(p->fd, SHUT_WR);
	for (;;) {
		struct pollfd	pfd = { p->fd, POLLIN, 0 };

		if (!wdone)
			pfd.events |= POLLOUT;
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		if (!wdone && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			n = send(p->fd, p->in + off, p->inlen - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
			/* the filter hung up: what is left cannot be sent */
			if (off == p->inlen || (n == -1 && errno != EAGAIN &&
			    errno != EINTR)) {
				wdone = 1;
				(void)shutdown(p->fd, SHUT_WR);
			}
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			if (p->outlen == REPLY_MAX)
				abort();	/* more replies than is sane */
			n = recv(p->fd, p->out + p->outlen,
			    REPLY_MAX - p->outlen, MSG_DONTWAIT);
			if (n > 0)
				p->outlen += (size_t)n;
			else if (n == 0 || (errno != EAGAIN && errno != EINTR))
				break;
			if (n > 0 && p->hangup) {
				(void)shutdown(p->fd, SHUT_RDWR);
				break;
			}
		}
	}
	return NULL;
}

/*
 * check_replies - every byte is a reply packet the protocol knows (the
 * last one may be cut short when the MTA hung up: cut)
 */
static inline void
check_replies(const unsigned char *b, size_t len, int cut)
{
	struct am_mp_packet	 pkt;
	size_t			 off = 0;
	ssize_t			 n;

	while (off < len) {
		n = am_mp_frame(b + off, len - off, REPLY_MAX, &pkt);
		if (n == 0 && cut)
			break;
		assert(n > 0);		/* whole packets only */
		assert(strchr("Ocartyhimq", pkt.cmd) != NULL && pkt.cmd != 0);
		if (pkt.cmd == AM_MPR_REPLYCODE) {
			assert(pkt.len >= 5 && pkt.data[pkt.len - 1] == '\0');
			assert(pkt.data[0] == '4' || pkt.data[0] == '5');
			assert(memchr(pkt.data, '\r', pkt.len) == NULL);
		}
		off += (size_t)n;
	}
}

static struct am_engine	*fuzz_engine;
static char		 fuzz_dir[] = "/tmp/fuzz-engine-XXXXXX";
static char		 fuzz_sock[sizeof(fuzz_dir) + 8];

/* fuzz_engine_gone - at exit: the engine and its socket file go */
static inline void
fuzz_engine_gone(void)
{
	am_engine_free(fuzz_engine);
	fuzz_engine = NULL;
	(void)unlink(fuzz_sock);
	(void)rmdir(fuzz_dir);
}

/*
 * fuzz_engine_new - an engine made by am_engine_new, as main() makes it
 * (so whatever defaults the engine gains are set), listening on a unix
 * socket nobody connects to; its watcher and workers never run: the
 * harness serves each input itself.  One per fuzzing process.
 */
static inline struct am_engine *
fuzz_engine_new(const struct am_milter *cb, void *udata)
{
	struct am_engine_conf	 conf;
	struct am_log_opts	 lo = { "fuzz", AM_LOG_TO_NONE, 0, NULL, 0 };
	char			 spec[sizeof(fuzz_sock) + 8], err[256];

	(void)am_log_open(&lo, err, sizeof(err));	/* nowhere: the engine logs bad input */
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(fuzz_sock, sizeof(fuzz_sock), "%s/sock", fuzz_dir);
	snprintf(spec, sizeof(spec), "unix:%s", fuzz_sock);
	memset(&conf, 0, sizeof(conf));
	conf.socket = spec;
	conf.milter = cb;
	conf.udata = udata;
	if ((fuzz_engine = am_engine_new(&conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_engine_new: %s\n", err);
		abort();
	}
	atexit(fuzz_engine_gone);
	return fuzz_engine;
}

/* fuzz_serve - one connection with data as the MTA's bytes */
static inline void
fuzz_serve(struct am_engine *e, const uint8_t *data, size_t size)
{
	static unsigned char	*replies, *spare;
	struct pump		 p = { -1, data, size, NULL, 0, 0 };
	pthread_t		 t;
	int			 sv[2];

	if (replies == NULL && (replies = malloc(REPLY_MAX)) == NULL)
		abort();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	p.fd = sv[0];
	p.out = replies;
	p.hangup = size % FUZZ_HANGUP_MOD == 3;
	if (pthread_create(&t, NULL, pump_run, &p) != 0)
		abort();
	/* counted as a worker counts one (try_accept); untrack uncounts */
	pthread_mutex_lock(&e->mu);
	e->nconns++;
	e->serving++;
	pthread_mutex_unlock(&e->mu);
	/* the read buffer a worker lends each of its connections in turn */
	am_mctx_serve(e, sv[1], &spare);	/* closes sv[1] */
	pthread_join(t, NULL);
	close(sv[0]);
	check_replies(p.out, p.outlen, p.hangup);
	assert(e->conns == NULL);	/* off the engine's list */
	assert(e->nconns == 0 && e->serving == 0);
}

#endif /* AM_FUZZ_SERVE_H */
