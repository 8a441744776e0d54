/*
 * fuzz_engine.c - the engine's per-connection loop (milter/server/conn.c:
 * reading, framing, body streaming, dispatch, kept verdicts, replies) on
 * the byte stream an MTA sends.
 *
 * Input: the bytes an MTA writes on one milter connection, served by
 * am_mctx_serve() over a socketpair (fuzz_serve.h).
 *
 * The filter below uses the whole callback API: it takes every action and
 * step the MTA offers (so the input decides NR_* and SKIP modes), asks for
 * macro lists, reads macros, keeps a priv from connect to close, and
 * answers ACCEPT / REJECT / TEMPFAIL (with or without setreply) when an
 * argument starts with '+', '!', '?' or '*'; at end of message it adds,
 * changes and deletes headers and quarantines.
 *
 * Properties: no sanitizer report or leak (a priv lost or freed twice,
 * a callback after close, a string not terminated); header changes are
 * refused outside end of message and when the action was not negotiated;
 * setreply refuses CR/LF and non-4xx/5xx codes; and every byte the engine
 * writes back is a well-framed reply packet of a kind the protocol knows.
 *
 * fuzz_engine_daemon.c runs the same stream through authmilter's own
 * callbacks instead.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_serve.h"
#include "server/engine.h"
#include "server/mproto.h"

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

/* f_rcpt - every recipient's strings read; no verdict (as the daemon's) */
static enum am_mstat
f_rcpt(struct am_mctx *c, const char **argv)
{
	size_t	 i;

	priv(c);
	macros(c);
	no_changes(c);
	for (i = 0; argv[i] != NULL; i++)
		touch(argv[i]);
	return AM_MS_CONTINUE;
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
	.negotiate = f_negotiate, .connect = f_connect, .helo = f_helo,
	.envfrom = f_envfrom, .rcpt = f_rcpt, .header = f_header, .eoh = f_eoh,
	.body = f_body, .eom = f_eom, .abort = f_abort, .close = f_close
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct am_engine	*eng;

	if (eng == NULL)
		eng = fuzz_engine_new(&fuzz_milter, NULL);
	memset(&st, 0, sizeof(st));
	fuzz_serve(eng, data, size);
	/* close comes once per connection: at the end, and at each QUIT_NC */
	assert(st.closes >= 1);
	return 0;
}
