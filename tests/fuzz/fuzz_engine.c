/*
 * fuzz_engine.c - the engine's per-connection loop (milter/server/conn.c:
 * reading, framing, body streaming, dispatch, kept verdicts, replies) on
 * the byte stream an MTA sends.
 *
 * Input: the bytes an MTA writes on one milter connection.  They are
 * written into one end of a socketpair, whose write side is then shut
 * down; the other end goes to am_mctx_serve(), the function a worker runs
 * for an accepted connection, and the replies are read back to EOF by a
 * pump thread (so neither side blocks on a full socket buffer).
 *
 * The filter below uses the whole callback API: it takes every action and
 * step the MTA offers (so the input decides NR_* and SKIP modes), asks for
 * macro lists, reads macros, keeps a priv from connect to close, and
 * answers ACCEPT / REJECT / TEMPFAIL (with or without setreply) when an
 * argument starts with '+', '!' or '?'; at end of message it adds,
 * changes and deletes headers and quarantines.
 *
 * Properties: no sanitizer report or leak (a priv lost or freed twice,
 * a callback after close, a string not terminated); header changes are
 * refused outside end of message and when the action was not negotiated;
 * setreply refuses CR/LF and non-4xx/5xx codes; and every byte the engine
 * writes back is a well-framed reply packet of a kind the protocol knows.
 *
 * Only am_mctx_serve() and the engine fields it reads (cb, udata, the lock)
 * are used, so the harness does not depend on how engine.c runs workers.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "server/engine.h"
#include "server/engine_int.h"
#include "server/mproto.h"

#define REPLY_MAX	(8 * 1024 * 1024)	/* replies kept for checking */

/* one connection's state as the filter sees it */
struct fstate {
	uint32_t	 actions;	/* what negotiate asked for */
	int		 conns;		/* connect callbacks */
	int		 closes;	/* close callbacks */
	char		 eom_verdict;	/* from an "X-Fuzz-Eom" header */
};

static struct fstate	 st;

/* ------------------------------------------------------------ the filter */

/* touch - read a callback's string to its end (ASan checks the bytes) */
static size_t
touch(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

/* macros - what every callback may read */
static void
macros(struct am_mctx *c)
{
	touch(am_mctx_symval(c, "i"));
	touch(am_mctx_symval(c, "{i}"));
	touch(am_mctx_symval(c, "j"));
	touch(am_mctx_symval(c, "{auth_authen}"));
	touch(am_mctx_symval(c, "{daemon_name}"));
}

/* priv - the connection's priv, made on first use; freed by close */
static char *
priv(struct am_mctx *c)
{
	char	*p = am_mctx_getpriv(c);

	if (p == NULL) {
		if ((p = strdup("priv")) == NULL)
			abort();
		am_mctx_setpriv(c, p);
	}
	assert(strcmp(p, "priv") == 0);
	return p;
}

/* no_changes - outside end of message every change is refused */
static void
no_changes(struct am_mctx *c)
{
	assert(am_mctx_insheader(c, 0, "X-Fuzz", "no") == -1);
	assert(am_mctx_chgheader(c, "Subject", 1, NULL) == -1);
	assert(am_mctx_quarantine(c, "no") == -1);
}

/*
 * reply - setreply with code class want ('4'/'5'), or the class the text
 * names when it starts with a digit; text may be long or hold CR/LF
 */
static void
reply(struct am_mctx *c, const char *text, char want)
{
	char	 code[4] = { want, '5', '0', '\0' };
	int	 rc, bad;

	if (text[0] >= '0' && text[0] <= '9')
		code[0] = text[0];
	bad = (code[0] != '4' && code[0] != '5') ||
	    strpbrk(text, "\r\n") != NULL;
	rc = am_mctx_setreply(c, code, "5.7.0", text);
	if (bad)
		assert(rc == -1);
}

/* verdict - '+' accept, '!' reject, '?' tempfail, '*' reject with a reply */
static enum am_mstat
verdict(struct am_mctx *c, const char *s)
{
	if (s == NULL)
		return AM_MS_CONTINUE;
	switch (s[0]) {
	case '+':
		return AM_MS_ACCEPT;
	case '!':
		return AM_MS_REJECT;
	case '?':
		reply(c, s + 1, '4');
		return AM_MS_TEMPFAIL;
	case '*':
		reply(c, s + 1, '5');
		return AM_MS_REJECT;
	default:
		return AM_MS_CONTINUE;
	}
}

static int
f_negotiate(struct am_mctx *c, uint32_t actions, uint32_t steps,
    uint32_t *want_a, uint32_t *want_s)
{
	/* an MTA that offers no action at all is refused */
	if (actions == 0)
		return -1;
	*want_a = actions;
	*want_s = steps;
	st.actions = actions;
	if (actions & AM_MPF_SETSYMLIST) {
		assert(am_mctx_setsymlist(c, AM_MPS_CONNECT, "j {daemon_name}")
		    == 0);
		assert(am_mctx_setsymlist(c, AM_MPS_MAIL,
		    "i {auth_authen}") == 0);
		assert(am_mctx_setsymlist(c, AM_MPS_EOM, "i") == 0);
		assert(am_mctx_setsymlist(c, (enum am_mp_stage)AM_MPS_N, "x")
		    == -1);
	}
	return 0;
}

static enum am_mstat
f_connect(struct am_mctx *c, const char *host, const struct sockaddr *sa)
{
	st.conns++;
	priv(c);
	macros(c);
	no_changes(c);
	if (sa != NULL)
		assert(sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ||
		    sa->sa_family == AF_UNIX);
	touch(host);
	return verdict(c, host);
}

static enum am_mstat
f_helo(struct am_mctx *c, const char *name)
{
	priv(c);
	macros(c);
	touch(name);
	return verdict(c, name);
}

static enum am_mstat
f_envfrom(struct am_mctx *c, const char **argv)
{
	size_t	 i;

	priv(c);
	macros(c);
	no_changes(c);
	st.eom_verdict = 0;
	for (i = 0; argv[i] != NULL; i++)
		touch(argv[i]);
	if (argv[0] == NULL)
		return AM_MS_CONTINUE;
	return verdict(c, argv[0][0] == '<' ? argv[0] + 1 : argv[0]);
}

static enum am_mstat
f_header(struct am_mctx *c, const char *name, const char *value)
{
	priv(c);
	touch(name);
	touch(value);
	no_changes(c);
	if (strcasecmp(name, "X-Fuzz-Eom") == 0) {
		st.eom_verdict = value[0];
		return AM_MS_CONTINUE;
	}
	return verdict(c, value);
}

static enum am_mstat
f_eoh(struct am_mctx *c)
{
	priv(c);
	macros(c);
	return AM_MS_CONTINUE;
}

static enum am_mstat
f_body(struct am_mctx *c, const unsigned char *b, size_t n)
{
	char		 first[2] = { 0, 0 };
	unsigned	 sum = 0;
	size_t		 i;

	priv(c);
	assert(n > 0);
	for (i = 0; i < n; i++)		/* every byte readable (ASan) */
		sum += b[i];
	/* a chunk starting with '!' rejects, and so on */
	first[0] = (char)b[0];
	return verdict(c, sum != 0 ? first : "");
}

static enum am_mstat
f_eom(struct am_mctx *c)
{
	char	 v[2] = { st.eom_verdict, '\0' };
	int	 add, chg;

	priv(c);
	macros(c);
	add = am_mctx_insheader(c, 0, "X-Fuzz", "added");
	chg = am_mctx_chgheader(c, "Subject", 1, "changed");
	if (!(st.actions & AM_MPF_ADDHDRS))
		assert(add == -1);
	if (!(st.actions & AM_MPF_CHGHDRS))
		assert(chg == -1);
	(void)am_mctx_chgheader(c, "X-Del", 2, NULL);
	if (am_mctx_quarantine(c, "fuzz") == 0)
		assert(st.actions & AM_MPF_QUARANTINE);
	return verdict(c, v);
}

static void
f_abort(struct am_mctx *c)
{
	macros(c);
	(void)am_mctx_getpriv(c);
}

static void
f_close(struct am_mctx *c)
{
	st.closes++;
	free(am_mctx_getpriv(c));
	am_mctx_setpriv(c, NULL);
}

static const struct am_milter fuzz_milter = {
	f_negotiate, f_connect, f_helo, f_envfrom, f_header, f_eoh, f_body,
	f_eom, f_abort, f_close
};

/* ------------------------------------------------------------ the MTA side */

struct pump {
	int			 fd;
	const uint8_t		*in;
	size_t			 inlen;
	unsigned char		*out;
	size_t			 outlen;
};

/*
 * pump_run - write the input, shut down the write side, read the replies
 * to EOF; both at once, so a filter blocked on its replies never stalls us
 */
static void *
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
		}
	}
	return NULL;
}

/* check_replies - every byte is a reply packet the protocol knows */
static void
check_replies(const unsigned char *b, size_t len)
{
	struct am_mp_packet	 pkt;
	size_t			 off = 0;
	ssize_t			 n;

	while (off < len) {
		n = am_mp_frame(b + off, len - off, REPLY_MAX, &pkt);
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

static struct am_engine	*eng;
static unsigned char	*replies;

/* setup - an engine with only what am_mctx_serve uses; no socket, no thread */
static void
setup(void)
{
	if ((eng = calloc(1, sizeof(*eng))) == NULL ||
	    (replies = malloc(REPLY_MAX)) == NULL)
		abort();
	eng->lfd = -1;
	eng->cb = &fuzz_milter;
	pthread_mutex_init(&eng->mu, NULL);
	am_log_open("fuzz_engine", 0, 0, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pump	 p = { -1, data, size, NULL, 0 };
	pthread_t	 t;
	int		 sv[2];

	if (eng == NULL)
		setup();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	p.fd = sv[0];
	p.out = replies;
	memset(&st, 0, sizeof(st));
	if (pthread_create(&t, NULL, pump_run, &p) != 0)
		abort();
	pthread_mutex_lock(&eng->mu);
	eng->serving++;		/* as the acceptor does; untrack takes it */
	pthread_mutex_unlock(&eng->mu);
	am_mctx_serve(eng, sv[1]);	/* closes sv[1] */
	pthread_join(t, NULL);
	close(sv[0]);
	check_replies(p.out, p.outlen);
	/* close comes once per connection: at the end, and at each QUIT_NC */
	assert(st.closes >= 1);
	assert(eng->conns == NULL);
	return 0;
}
