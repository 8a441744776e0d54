/*
 * conn.c - one MTA connection: reading packets, dispatching them to the
 * filter's callbacks, verdicts kept from no-reply steps, replies; and the
 * am_mctx_* calls the callbacks make.  See engine.h for the design,
 * mproto.h for the wire, engine.c for the threads that run this.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "server/engine.h"
#include "server/engine_int.h"
#include "server/engine_ops.h"
#include "server/mproto.h"

#define ENGINE_PACKET_MAX	(1024 * 1024)	/* payload; header fields */
#define ENGINE_BUF_START	(16 * 1024)	/* body packets stream through */
/*
 * Read buffers grown beyond ENGINE_BUF_START (for a packet that does not
 * fit: a header field over 16 KB, Postfix's header_size_limit is 100 KB)
 * shrink back once that packet is handled, and all connections together
 * hold at most this much beyond their start size.
 */
#define ENGINE_BIGBUF_TOTAL	(64 * 1024 * 1024)
#define ENGINE_OUT_MAX		(1024 * 1024)	/* replies at end of message */
/*
 * One stage's macros: MTAs send a few names of a few hundred bytes at
 * most (Postfix's default milter_*_macros; an address is bounded by its
 * line_length_limit of 2048); more is dropped (store_macros).
 */
#define ENGINE_MACROS_MAX	(8 * 1024)
/*
 * Waiting for the MTA (defect: a silent connection held a worker for
 * libmilter's 7210 s).  An MTA sends OPTNEG as soon as it connects and
 * gives up after milter_connect_timeout (Postfix: 30 s).  Between
 * messages the gap is the SMTP client's pace plus the MTA's own work, and
 * commands that never reach us (NOOP, RSET, VRFY) keep the SMTP session
 * alive: Postfix's smtpd_timeout is 300 s per command and RFC 5321
 * 4.5.3.2.7 asks at least 5 minutes, so twice that.  Inside a message the
 * gap from RCPT to the first header is the whole DATA transfer, which
 * Postfix bounds only per read; Sendmail's Timeout.datablock is 1 h.
 * Silent connections cannot starve the MTA's: at the cap the idle ones
 * are closed first (admit.c); these only give the resources back.
 */
#define ENGINE_NEG_TIMEOUT	30	/* s, connect to OPTNEG */
#define ENGINE_CMD_TIMEOUT	600	/* s, between messages */
#define ENGINE_MSG_TIMEOUT	3600	/* s, within a message */
#define ENGINE_WRITE_TIMEOUT	60	/* s */
#define ENGINE_ARGV_MAX		256

/* macro stages as the MTA names them, oldest first */
static const char	 stages[] = "CHMRTNLE";
#define N_STAGES	 (sizeof(stages) - 1)
#define FIRST_MSG_STAGE	 2		/* 'M': cleared when a message ends */
_Static_assert(N_STAGES == AM_MCTX_STAGES, "one macro buffer per stage");

struct rbuf {				/* a connection's read buffer */
	struct am_engine *e;		/* its bigbuf budget */
	unsigned char	*buf;
	size_t		 cap, off, end;
	size_t		 body_left;	/* of a body packet handed on in pieces */
	long		 timeout_ms;	/* the socket's SO_RCVTIMEO; 0: none yet */
};

/* ------------------------------------------------------------ callbacks' API */

void *
am_bi_udata(const struct am_mctx *c)
{
	return c->e->udata;
}

void *
am_bi_getpriv(const struct am_mctx *c)
{
	return c->priv;
}

void
am_bi_setpriv(struct am_mctx *c, void *p)
{
	c->priv = p;
}

uint32_t
am_bi_steps(const struct am_mctx *c)
{
	return c->steps;
}

/* am_bi_symval - the newest stage that has the macro wins */
const char *
am_bi_symval(const struct am_mctx *c, const char *name)
{
	const char	*v;
	size_t		 i;

	for (i = N_STAGES; i > 0; i--) {
		const struct am_buf	*b = &c->mac[i - 1];

		if (b->len > 0 && (v = am_mp_macro_find(
		    (const unsigned char *)b->s, b->len, name)) != NULL)
			return v;
	}
	return NULL;
}

int
am_bi_setsymlist(struct am_mctx *c, enum am_mp_stage stage,
    const char *list)
{
	char	*dup;

	if ((unsigned)stage >= AM_MPS_N || (dup = strdup(list)) == NULL)
		return -1;
	free(c->symlist[stage]);
	c->symlist[stage] = dup;
	return 0;
}

int
am_bi_insheader(struct am_mctx *c, uint32_t idx, const char *name,
    const char *value)
{
	if (!c->at_eom || !(c->actions & AM_MPF_ADDHDRS))
		return -1;
	am_mp_put_header(&c->out, AM_MPR_INSHEADER, idx, name, value);
	return am_buf_failed(&c->out) ? -1 : 0;
}

int
am_bi_chgheader(struct am_mctx *c, const char *name, uint32_t idx,
    const char *value)
{
	if (!c->at_eom || !(c->actions & AM_MPF_CHGHDRS))
		return -1;
	am_mp_put_header(&c->out, AM_MPR_CHGHEADER, idx, name, value);
	return am_buf_failed(&c->out) ? -1 : 0;
}

int
am_bi_quarantine(struct am_mctx *c, const char *reason)
{
	if (!c->at_eom || !(c->actions & AM_MPF_QUARANTINE))
		return -1;
	am_mp_put(&c->out, AM_MPR_QUARANTINE, reason, strlen(reason) + 1);
	return am_buf_failed(&c->out) ? -1 : 0;
}

/* am_bi_setreply - RFC 5321 code 4xx/5xx, RFC 3463 xcode x.y.z */
int
am_bi_setreply(struct am_mctx *c, const char *code, const char *xcode,
    const char *text)
{
	int	 n;

	if (strlen(code) != 3 || (code[0] != '4' && code[0] != '5') ||
	    strchr(text, '\r') != NULL || strchr(text, '\n') != NULL)
		return -1;
	n = snprintf(c->reply, sizeof(c->reply), "%s %s %s", code, xcode, text);
	if (n < 0 || (size_t)n >= sizeof(c->reply)) {
		c->reply[0] = '\0';
		return -1;
	}
	c->reply_code = code[0];
	return 0;
}

/* ------------------------------------------------------------ replies */

/* flush - write every queued reply; 0 or -1 (the connection is lost) */
static int
flush(struct am_mctx *c)
{
	const char	*p = c->out.s;
	size_t		 left = c->out.len;
	ssize_t		 n;

	if (am_buf_failed(&c->out)) {
		am_log_err(NULL, "milter: reply too large");
		return -1;
	}
	while (left > 0) {
		n = send(c->fd, p, left, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			am_log_warn(NULL, "milter: write to MTA: %s",
			    n == 0 ? "nothing written" : strerror(errno));
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (c->out.size > ENGINE_BUF_START) {	/* a large reply: not kept */
		am_buf_clear(&c->out);
		am_buf_init(&c->out, ENGINE_OUT_MAX);
	} else
		am_buf_reset(&c->out);
	return 0;
}

/* put_final - the verdict packet for st */
static void
put_final(struct am_mctx *c, enum am_mstat st)
{
	char	 cmd = AM_MPR_CONTINUE;

	switch (st) {
	case AM_MS_ACCEPT:
		cmd = AM_MPR_ACCEPT;
		break;
	case AM_MS_REJECT:
	case AM_MS_TEMPFAIL:
		if (c->reply[0] != '\0' &&
		    c->reply_code == (st == AM_MS_REJECT ? '5' : '4')) {
			am_mp_put(&c->out, AM_MPR_REPLYCODE, c->reply,
			    strlen(c->reply) + 1);
			return;
		}
		cmd = st == AM_MS_REJECT ? AM_MPR_REJECT : AM_MPR_TEMPFAIL;
		break;
	case AM_MS_CONTINUE:
	default:
		break;
	}
	am_mp_put(&c->out, cmd, NULL, 0);
}

/*
 * answer - the end of a step: keep a verdict given where the MTA does not
 * wait (nr negotiated), or send the kept or new verdict where it does
 */
static int
answer(struct am_mctx *c, uint32_t nr, enum am_mstat st)
{
	if (st != AM_MS_CONTINUE && c->pending == AM_MS_CONTINUE)
		c->pending = st;
	if (c->steps & nr)
		return 0;
	st = c->pending;
	c->pending = AM_MS_CONTINUE;
	put_final(c, st);
	return flush(c);
}

/* ------------------------------------------------------------ steps */

/* clear_macros - stages from first on */
static void
clear_macros(struct am_mctx *c, size_t first)
{
	size_t	 i;

	for (i = first; i < N_STAGES; i++)
		am_buf_reset(&c->mac[i]);
}

/*
 * in_message - the MTA starts or ends a transaction; the engine counts
 * them to drain at a stop (am_engine_run)
 */
static void
in_message(struct am_mctx *c, int on)
{
	if (c->in_msg == on)
		return;
	__atomic_store_n(&c->in_msg, on, __ATOMIC_SEQ_CST);
	if (on)
		__atomic_add_fetch(&c->nmsgs, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&c->e->msgs, on ? 1 : -1, __ATOMIC_SEQ_CST);
}

/* end_message - the transaction is over (end of message or abort) */
static void
end_message(struct am_mctx *c)
{
	in_message(c, 0);
	c->pending = AM_MS_CONTINUE;
	c->reply[0] = '\0';
	clear_macros(c, FIRST_MSG_STAGE);
}

/*
 * store_macros - 'D': stage letter, then pairs; unknown stages ignored.
 * More than ENGINE_MACROS_MAX for a stage is dropped (logged): that stage
 * then has no macros, which the filter sees as an MTA that sent none (for
 * authmilter: no queue id in the log, no {auth_authen} so no exemption).
 */
static void
store_macros(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	const char	*s;
	struct am_buf	*b;

	if (pkt->len < 1 || pkt->data[0] == '\0' ||
	    (s = strchr(stages, (char)pkt->data[0])) == NULL)
		return;
	b = &c->mac[s - stages];
	if (pkt->len - 1 > ENGINE_MACROS_MAX) {
		am_log_warn(NULL, "milter: %zu bytes of macros for stage %c, "
		    "more than %d: dropped", pkt->len - 1, *s,
		    ENGINE_MACROS_MAX);
		am_buf_clear(b);
		am_buf_init(b, ENGINE_MACROS_MAX);
		return;
	}
	am_buf_reset(b);
	am_buf_add(b, (const char *)pkt->data + 1, pkt->len - 1);
}

/* negotiate - 'O': the MTA's offer, the filter's choice, our symbol lists */
static int
negotiate(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	uint32_t	 version, actions, steps, want_a = 0, want_s = 0;

	if (am_mp_optneg_parse(pkt, &version, &actions, &steps) == -1 ||
	    version < 2) {
		am_log_err(NULL, "milter: bad option negotiation from MTA");
		return -1;
	}
	if (c->e->cb->negotiate(c, actions, steps, &want_a, &want_s) == -1)
		return -1;
	c->actions = want_a & actions;
	c->steps = want_s & steps;
	c->negotiated = 1;
	am_mp_put_optneg(&c->out, version < AM_MP_VERSION ? version :
	    AM_MP_VERSION, c->actions, c->steps,
	    (c->actions & AM_MPF_SETSYMLIST) ?
	    (const char *const *)c->symlist : NULL);
	return flush(c);
}

/* connect - 'C' */
static int
connect_step(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	struct sockaddr_storage	 ss;
	const char		*host;
	int			 has_addr;
	enum am_mstat		 st = AM_MS_CONTINUE;

	if (am_mp_connect_parse(pkt, &host, &ss, &has_addr) == -1) {
		am_log_err(NULL, "milter: malformed connect packet from MTA");
		return -1;
	}
	if (c->pending == AM_MS_CONTINUE)
		st = c->e->cb->connect(c, host,
		    has_addr ? (const struct sockaddr *)&ss : NULL);
	return answer(c, AM_MPP_NR_CONN, st);
}

/* mail - 'M': a new message */
static int
mail_step(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	const char	*argv[ENGINE_ARGV_MAX + 1];
	size_t		 n;
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (am_mp_strings(pkt->data, pkt->len, argv, ENGINE_ARGV_MAX,
	    &n) == -1) {
		am_log_err(NULL, "milter: malformed MAIL packet from MTA");
		return -1;
	}
	argv[n] = NULL;
	in_message(c, 1);
	if (c->pending == AM_MS_CONTINUE)
		st = c->e->cb->envfrom(c, argv);
	return answer(c, AM_MPP_NR_MAIL, st);
}

/* rcpt - 'R': one recipient (the message's verdict stays at EOM) */
static int
rcpt_step(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	const char	*argv[ENGINE_ARGV_MAX + 1];
	size_t		 n;
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (am_mp_strings(pkt->data, pkt->len, argv, ENGINE_ARGV_MAX,
	    &n) == -1) {
		am_log_err(NULL, "milter: malformed RCPT packet from MTA");
		return -1;
	}
	argv[n] = NULL;
	if (c->pending == AM_MS_CONTINUE && c->e->cb->rcpt != NULL)
		st = c->e->cb->rcpt(c, argv);
	return answer(c, AM_MPP_NR_RCPT, st);
}

/* one_string - the first NUL-terminated string of a packet, or NULL */
static const char *
one_string(const struct am_mp_packet *pkt)
{
	if (pkt->len == 0 || memchr(pkt->data, '\0', pkt->len) == NULL)
		return NULL;
	return (const char *)pkt->data;
}

/* header - 'L' */
static int
header_step(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	const char	*name, *value;
	enum am_mstat	 st = AM_MS_CONTINUE;

	if (am_mp_header_parse(pkt, &name, &value) == -1) {
		am_log_err(NULL, "milter: malformed header packet from MTA");
		return -1;
	}
	if (c->pending == AM_MS_CONTINUE)
		st = c->e->cb->header(c, name, value);
	return answer(c, AM_MPP_NR_HDR, st);
}

/* eom - 'E': the last chunk (if any), the verdict, the header changes */
static int
eom_step(struct am_mctx *c, const struct am_mp_packet *pkt)
{
	enum am_mstat	 st = c->pending;
	int		 rc;

	c->pending = AM_MS_CONTINUE;
	if (st == AM_MS_CONTINUE && pkt->len > 0)
		st = c->e->cb->body(c, pkt->data, pkt->len);
	if (st == AM_MS_CONTINUE) {
		c->at_eom = 1;
		st = c->e->cb->eom(c);
		c->at_eom = 0;
	} else {
		c->e->cb->abort(c);	/* end of message the filter never saw */
	}
	put_final(c, st);
	rc = flush(c);
	end_message(c);
	return rc;
}

/* body_step - 'B', whole or one piece of it (more: pieces follow) */
static int
body_step(struct am_mctx *c, const struct am_mp_packet *pkt, int more)
{
	enum am_mstat	 st;

	if (c->pending == AM_MS_CONTINUE && c->body_st == AM_MS_CONTINUE &&
	    pkt->len > 0)
		c->body_st = c->e->cb->body(c, pkt->data, pkt->len);
	if (more)
		return 0;
	st = c->body_st;
	c->body_st = AM_MS_CONTINUE;
	return answer(c, AM_MPP_NR_BODY, st);
}

/* quit_nc - 'K': this SMTP connection is over, another one follows */
static void
quit_nc(struct am_mctx *c)
{
	if (c->in_msg)
		c->e->cb->abort(c);
	c->e->cb->close(c);
	c->priv = NULL;
	end_message(c);
	clear_macros(c, 0);
}

/*
 * dispatch - one packet.  0: go on, 1: the MTA quit, -1: protocol or
 * connection error (the connection is dropped; the MTA then applies its
 * milter default action, so no mail is lost).
 */
static int
dispatch(struct am_mctx *c, const struct am_mp_packet *pkt, int more)
{
	const struct am_milter	*cb = c->e->cb;
	const char		*s;
	int			 go = c->pending == AM_MS_CONTINUE;

	switch (pkt->cmd) {
	case AM_MPC_OPTNEG:
		return negotiate(c, pkt);
	case AM_MPC_MACRO:
		store_macros(c, pkt);
		return 0;
	case AM_MPC_CONNECT:
		return connect_step(c, pkt);
	case AM_MPC_HELO:
		s = one_string(pkt);
		return answer(c, AM_MPP_NR_HELO, go ? cb->helo(c, s != NULL ?
		    s : "") : AM_MS_CONTINUE);
	case AM_MPC_MAIL:
		return mail_step(c, pkt);
	case AM_MPC_RCPT:
		return rcpt_step(c, pkt);
	case AM_MPC_DATA:
		return answer(c, AM_MPP_NR_DATA, AM_MS_CONTINUE);
	case AM_MPC_UNKNOWN:
		return answer(c, AM_MPP_NR_UNKN, AM_MS_CONTINUE);
	case AM_MPC_HEADER:
		return header_step(c, pkt);
	case AM_MPC_EOH:
		return answer(c, AM_MPP_NR_EOH, go ? cb->eoh(c) :
		    AM_MS_CONTINUE);
	case AM_MPC_BODY:
		return body_step(c, pkt, more);
	case AM_MPC_BODYEOB:
		return eom_step(c, pkt);
	case AM_MPC_ABORT:
		cb->abort(c);
		end_message(c);
		return 0;
	case AM_MPC_QUIT_NC:
		quit_nc(c);
		return 0;
	case AM_MPC_QUIT:
		return 1;
	default:
		am_log_err(NULL, "milter: unknown command 0x%02x from MTA",
		    (unsigned char)pkt->cmd);
		return -1;
	}
}

/* ------------------------------------------------------------ reading */

/*
 * grow - the buffer to ncap bytes, beyond ENGINE_BUF_START only within
 * the engine's ENGINE_BIGBUF_TOTAL for all connections; 0 or -1 (logged)
 */
static int
grow(struct rbuf *rb, size_t ncap)
{
	unsigned char	*nb;
	size_t		 more = 0, was;

	if (ncap > ENGINE_BUF_START) {
		more = ncap - (rb->cap > ENGINE_BUF_START ? rb->cap :
		    ENGINE_BUF_START);
		was = __atomic_fetch_add(&rb->e->bigbuf, more,
		    __ATOMIC_SEQ_CST);
		if (was + more > ENGINE_BIGBUF_TOTAL) {
			__atomic_sub_fetch(&rb->e->bigbuf, more,
			    __ATOMIC_SEQ_CST);
			am_log_err(NULL, "milter: a packet of %zu bytes, but "
			    "other connections' large packets use %zu of the "
			    "%d bytes for them; closing", ncap - AM_MP_HDRLEN,
			    was, ENGINE_BIGBUF_TOTAL);
			return -1;
		}
	}
	if ((nb = realloc(rb->buf, ncap)) == NULL) {
		__atomic_sub_fetch(&rb->e->bigbuf, more, __ATOMIC_SEQ_CST);
		am_log_err(NULL, "milter: out of memory reading packet");
		return -1;
	}
	rb->buf = nb;
	rb->cap = ncap;
	return 0;
}

/*
 * shrink - back to ENGINE_BUF_START once a large packet is handled (the
 * buffer is empty), so a connection holds a large buffer only while it
 * reads a large packet
 */
static void
shrink(struct rbuf *rb)
{
	unsigned char	*nb;

	if (rb->cap <= ENGINE_BUF_START || rb->off != rb->end)
		return;
	if ((nb = realloc(rb->buf, ENGINE_BUF_START)) == NULL)
		return;		/* keeps the larger one, still counted */
	__atomic_sub_fetch(&rb->e->bigbuf, rb->cap - ENGINE_BUF_START,
	    __ATOMIC_SEQ_CST);
	rb->buf = nb;
	rb->cap = ENGINE_BUF_START;
	rb->off = rb->end = 0;
}

/* rbuf_free - the buffer and its share of the budget */
static void
rbuf_free(struct rbuf *rb)
{
	if (rb->cap > ENGINE_BUF_START)
		__atomic_sub_fetch(&rb->e->bigbuf, rb->cap - ENGINE_BUF_START,
		    __ATOMIC_SEQ_CST);
	free(rb->buf);
	rb->buf = NULL;
	rb->cap = 0;
}

/* room - make space for need bytes from rb->off; 0 or -1 (logged) */
static int
room(struct rbuf *rb, size_t need)
{
	if (rb->off == rb->end) {
		rb->off = rb->end = 0;
		if (need <= ENGINE_BUF_START)
			shrink(rb);
	}
	if (rb->cap - rb->off >= need)
		return 0;
	if (rb->off > 0) {
		memmove(rb->buf, rb->buf + rb->off, rb->end - rb->off);
		rb->end -= rb->off;
		rb->off = 0;
	}
	if (rb->cap >= need)
		return 0;
	/* a large packet's exact size: no doubling past what it needs */
	return grow(rb, need > ENGINE_BUF_START ? need : ENGINE_BUF_START);
}

/* body_piece - up to body_left bytes of the body packet being streamed */
static void
body_piece(struct rbuf *rb, struct am_mp_packet *pkt, int *more)
{
	size_t	 n = rb->end - rb->off;

	if (n > rb->body_left)
		n = rb->body_left;
	pkt->cmd = AM_MPC_BODY;
	pkt->data = rb->buf + rb->off;
	pkt->len = n;
	rb->off += n;
	rb->body_left -= n;
	*more = rb->body_left > 0;
}

/* packet_len - the length field of the packet at rb->off (4 bytes there) */
static size_t
packet_len(const struct rbuf *rb)
{
	const unsigned char	*p = rb->buf + rb->off;

	return (size_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

/*
 * body_start - the packet at rb->off is a body packet (its header is
 * there) that has not fully arrived: it is handed on in pieces as its
 * bytes come, whatever its length (over ENGINE_PACKET_MAX too), so the
 * body needs no buffer of its own and no bytes are moved
 */
static int
body_start(const struct rbuf *rb)
{
	size_t	 have = rb->end - rb->off;

	return rb->body_left == 0 && have >= AM_MP_HDRLEN &&
	    rb->buf[rb->off + 4] == AM_MPC_BODY && packet_len(rb) > 1 &&
	    have < 4 + packet_len(rb);
}

/*
 * want_timeout - s the MTA may stay silent now: before OPTNEG, between
 * messages, or within one (ENGINE_*_TIMEOUT)
 */
static int
want_timeout(const struct am_mctx *c)
{
	return !c->negotiated ? ENGINE_NEG_TIMEOUT :
	    __atomic_load_n(&c->in_msg, __ATOMIC_SEQ_CST) ?
	    ENGINE_MSG_TIMEOUT : ENGINE_CMD_TIMEOUT;
}

/* set_rcvtimeo - the socket's SO_RCVTIMEO to ms; 0 or -1 */
static int
set_rcvtimeo(struct am_mctx *c, struct rbuf *rb, long ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1)
		return -1;
	rb->timeout_ms = ms;
	return 0;
}

/*
 * read_more - one read() from the MTA into the buffer, marking the
 * connection idle meanwhile (evict_idle in engine.c), given up after
 * want_timeout() s of silence.  The socket's SO_RCVTIMEO is only lowered
 * ahead of a read, never raised: the wanted time changes three or four
 * times a message (OPTNEG, in and out of each message) and a setsockopt()
 * costs a system call each time, while a read that times out before the
 * wanted time is rare (an MTA silent for 30 s and more); that read raises
 * the socket's timeout to the time left and reads on.  As read().
 */
static ssize_t
read_more(struct am_mctx *c, struct rbuf *rb)
{
	long	 want = want_timeout(c) * 1000L, start = am_engine_now_ms();
	long	 left;
	ssize_t	 n;

	if (rb->timeout_ms == 0 || rb->timeout_ms > want)
		(void)set_rcvtimeo(c, rb, want);	/* failed: as it was */
	__atomic_store_n(&c->idle_since, start, __ATOMIC_SEQ_CST);
	for (;;) {
		n = read(c->fd, rb->buf + rb->end, rb->cap - rb->end);
		if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			break;
		left = want - (am_engine_now_ms() - start);
		if (left <= 0 || set_rcvtimeo(c, rb, left) == -1) {
			errno = EAGAIN;		/* silent for want: read_failed */
			break;
		}
	}
	__atomic_store_n(&c->idle_since, 0, __ATOMIC_SEQ_CST);
	return n;
}

/* read_failed - log why a read() ended the connection; -1 */
static int
read_failed(const struct am_mctx *c)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		am_log_warn(NULL, "milter: MTA silent for %d s %s; closing",
		    want_timeout(c), !c->negotiated ?
		    "before option negotiation" : c->in_msg ?
		    "within a message" : "between messages");
	else if (errno != ECONNRESET)
		am_log_warn(NULL, "milter: read from MTA: %s",
		    strerror(errno));
	return -1;
}

/*
 * next_packet - the next packet, reading as much as the MTA has sent in
 * one read().  A body packet that has not fully arrived is handed on in
 * pieces as its bytes come (*more set on all but the last piece; see
 * body_start).  Every other packet comes whole.  1: *pkt set (valid until
 * the next call), 0: the MTA closed the connection, -1: error (logged).
 */
static int
next_packet(struct am_mctx *c, struct rbuf *rb, struct am_mp_packet *pkt,
    int *more)
{
	ssize_t	 n;
	size_t	 have, need;

	*more = 0;
	for (;;) {
		have = rb->end - rb->off;
		if (rb->body_left > 0 && have > 0) {
			body_piece(rb, pkt, more);
			return 1;
		}
		if (body_start(rb)) {
			rb->body_left = packet_len(rb) - 1;
			rb->off += AM_MP_HDRLEN;
			body_piece(rb, pkt, more);
			return 1;
		}
		/* the command byte too: a body packet may be of any length */
		if (rb->body_left == 0 && have >= AM_MP_HDRLEN) {
			n = am_mp_frame(rb->buf + rb->off, have,
			    ENGINE_PACKET_MAX, pkt);
			if (n > 0) {
				rb->off += (size_t)n;
				return 1;
			}
			if (n < 0) {
				am_log_err(NULL,
				    "milter: bad packet length from MTA");
				return -1;
			}
		}
		need = rb->body_left > 0 || have < AM_MP_HDRLEN ? AM_MP_HDRLEN :
		    4 + packet_len(rb);
		if (room(rb, need) == -1)
			return -1;
		n = read_more(c, rb);
		if (n > 0) {
			rb->end += (size_t)n;
			continue;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		return read_failed(c);
	}
}

/* ------------------------------------------------------------ connections */

/* send_timeout - a stuck write must not hold a worker forever */
static void
send_timeout(int fd)
{
	struct timeval	 w = { ENGINE_WRITE_TIMEOUT, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof(w));
}

/*
 * am_mctx_serve - one MTA connection, from accept to close.  The worker's
 * read buffer (*spare: ENGINE_BUF_START bytes, or NULL) is lent to the
 * connection and handed back at its end, unless it grew: allocating and
 * freeing 16 KB per connection cost 1 % of the CPU (issue 17's profile).
 * An idle worker keeps that one buffer until it exits.
 */
void
am_mctx_serve(struct am_engine *e, int fd, unsigned char **spare)
{
	struct am_mctx		 c;
	struct am_mp_packet	 pkt;
	struct rbuf		 rb;
	size_t			 i;
	int			 r = 0, more;

	memset(&c, 0, sizeof(c));
	memset(&rb, 0, sizeof(rb));
	rb.e = e;
	if (*spare != NULL) {
		rb.buf = *spare;
		rb.cap = ENGINE_BUF_START;
		*spare = NULL;
	}
	c.ops = &am_builtin_ops;
	c.e = e;
	c.fd = fd;
	for (i = 0; i < N_STAGES; i++)
		am_buf_init(&c.mac[i], ENGINE_MACROS_MAX);
	am_buf_init(&c.out, ENGINE_OUT_MAX);
	send_timeout(fd);
	am_engine_track(e, &c);
	if (room(&rb, ENGINE_BUF_START) == -1)
		r = -1;
	while (r == 0 && next_packet(&c, &rb, &pkt, &more) == 1)
		r = dispatch(&c, &pkt, more);
	if (c.in_msg) {
		/* at shutdown, or the MTA gone: name the message (issue 16) */
		am_log_warn(am_mctx_symval(&c, "i"), "connection closed before "
		    "the end of the message: not filtered (the MTA applies its "
		    "default action)");
		e->cb->abort(&c);
	}
	in_message(&c, 0);
	e->cb->close(&c);
	am_engine_untrack(e, &c);
	for (i = 0; i < N_STAGES; i++)
		am_buf_clear(&c.mac[i]);
	am_buf_clear(&c.out);
	for (i = 0; i < AM_MPS_N; i++)
		free(c.symlist[i]);
	if (rb.cap == ENGINE_BUF_START) {
		*spare = rb.buf;
		rb.buf = NULL;
	}
	rbuf_free(&rb);
}
