#define _GNU_SOURCE
/*
 * mload.c - milter load generator: plays the MTA's side of the milter
 * protocol (version 6) against one filter, or several chained the way
 * Postfix chains smtpd_milters (every event goes to each filter in turn;
 * a final reply from one ends the transaction), with N concurrent
 * sessions, and measures per-message latency.
 *
 *	mload -x CORPUSDIR -s SOCKET [-s SOCKET ...] [-c CONC] [-n MSGS]
 *	    [-m MSGS_PER_CONN] [-p PID ...] [-A AUTHSERV] [-V METHODS] [-q]
 *
 * CORPUSDIR/index.tsv (bench/gencorpus.py): file ip helo mailfrom rcpt
 * expected [extra].  Messages are sent in index order, round robin, MSGS in all
 * (default: the corpus once).  SOCKET: inet:PORT@HOST or unix:PATH.
 * -p PID (repeatable): report the CPU time (utime+stime from
 * /proc/PID/stat) used during the run and the peak RSS (VmHWM).
 * -A: count only A-R headers with this authserv-id (default: all).
 * -a USER: send {auth_authen}=USER at MAIL, as for an SMTP-authenticated
 * client (authmilter then signs instead of verifying: scripts/bench -K).
 * gen_cpu_ms_msg is mload's own CPU (it shares the machine with the
 * milter).  -q: no line per mismatch; -k: report speed even when verdicts differ
 * (for peers whose semantics differ from the corpus's, e.g. RFC 7489).
 *
 * The verdict of a message is taken from what the filters return: the
 * Authentication-Results header(s) they add (spf= of smtp.mailfrom,
 * every dkim=, dmarc=) and the final action (accept, quarantine, reject,
 * tempfail).  -V "arc,iprev" (issue 14) checks those methods too: the
 * verdict gains " arc=R iprev=R" (in -V's order; "none" when the A-R has
 * no such entry) and the expected one the same words from the index's
 * extra column (missing there: none).  It is compared with the corpus's
 * expected verdict.  Output:
 * one "key=value" summary line on stdout, mismatches on stderr.  Exit 0,
 * or 1 when any verdict differs, 2 on a protocol or connection error.
 *
 * OPTNEG: we offer every step and every SMFIP_NR_* / SMFIP_NO* flag and
 * honour what the filter picks (no reply read for NR steps, no packet for
 * NO steps, header leading space kept only with SMFIP_HDR_LEADSPC).
 * Folded header values are sent with "\n" line breaks, body chunks with
 * CRLF lines, at most 65535 bytes each, as Postfix does.
 *
 * WAN mode (scripts/bench -C): -W MS makes each session send like an MTA
 * relaying a client over a slow link: a pause of MS ms after the reply to
 * MAIL, to RCPT and to DATA (one client round trip each), and the content
 * cut into packets of -B BYTES (default 4096: headers and body alike, a
 * body chunk never spans two packets) with a pause of MS ms before every
 * packet but the first.  The end-of-data packet follows the last one at
 * once.  -Z (with -W): as Postfix and Sendmail do, the content reaches
 * the filters in one burst once the whole message is in: the same pauses
 * are all taken before the first header, none between packets, and the
 * end of data is the end of those pauses (the client's final dot).  Then two
 * more latencies are reported, per message: from sending
 * MAIL to the final reply (mail_p50/p90/p99), and from sending the first
 * end-of-message packet to the final reply (eod_p50/p90/p99; with a
 * chain of filters, the content of the later ones is part of it).
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define MAX_MILTERS	4
#define MAX_PIDS	4
#define CHUNK		65535
#define VERDICT_MAX	256
#define EXTRA_MAX	4	/* -V methods */

/* SMFIP_* protocol flags, mfdef.h */
#define P_NOCONNECT	0x00000001
#define P_NOHELO	0x00000002
#define P_NOMAIL	0x00000004
#define P_NORCPT	0x00000008
#define P_NOBODY	0x00000010
#define P_NOHDRS	0x00000020
#define P_NOEOH		0x00000040
#define P_NR_HDR	0x00000080
#define P_NOUNKNOWN	0x00000100
#define P_NODATA	0x00000200
#define P_NR_CONN	0x00001000
#define P_NR_HELO	0x00002000
#define P_NR_MAIL	0x00004000
#define P_NR_RCPT	0x00008000
#define P_NR_DATA	0x00010000
#define P_NR_EOH	0x00040000
#define P_NR_BODY	0x00080000
#define P_HDR_LEADSPC	0x00100000
#define P_OFFER		0x001FF3FF
#define A_OFFER		0x000001FF

struct msg {
	char		*data;		/* whole message, CRLF */
	size_t		 len;
	size_t		 hdrlen;	/* up to and including the blank line */
	char		*ip, *helo, *from, *rcpt, *expected, *file;
};

#define INBUF	4096	/* Postfix's VSTREAM buffer (VSTREAM_BUFSIZE) */

struct milter {
	int		 fd;
	uint32_t	 pflags;	/* what the filter negotiated */
	unsigned char	*rbuf;		/* last reply */
	size_t		 rcap, rlen;
	unsigned char	 in[INBUF];	/* read ahead: in[ioff..ilen) */
	size_t		 ioff, ilen;
};

struct outcome {
	char		 action[16];
	char		 spf[32], dmarc[32];
	char		 extra[EXTRA_MAX][32];	/* results of -V's methods */
	char		 dkim[VERDICT_MAX];
	int		 ndkim;
	char		 added[MAX_MILTERS][2048];	/* A-R values added */
	int		 nadded;
};

static struct msg	*msgs;
static size_t		 nmsgs;
static const char	*socks[MAX_MILTERS];
static int		 nsocks;
static long		 total = -1;
static int		 conc = 1, per_conn = 1, quiet, keep_going;
static const char	*authserv;
static char		*extra_m[EXTRA_MAX];	/* -V: more methods checked */
static int		 nextra;
static const char	*auth_user;	/* -a: {auth_authen} at MAIL (signing) */
static int		 wan_ms;	/* -W: pause between packets, ms */
static size_t		 wan_bytes = 4096;	/* -B: content packet size */
static int		 wan_burst;	/* -Z: content after the transfer, at once */
static pid_t		 pids[MAX_PIDS];
static int		 npids;

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static long		 next_msg;
static double		*lat;		/* per sent message, ms */
static double		*lat_mail;	/* MAIL sent -> final reply, ms */
static double		*lat_eod;	/* first EOM sent -> final reply, ms */
static __thread double	 t_mail, t_eod;	/* this worker's message */
static __thread size_t	 wan_acc;	/* content bytes since the last pause */
static int		*bad;		/* per sent message: verdict differs */
static long		 nerrors;
static char		 tally_keys[64][VERDICT_MAX];
static long		 tally_n[64];
static int		 ntally;

/* die - fatal set-up error */
static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "mload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* now_ms - monotonic clock in milliseconds */
static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* wan_pause - -W: the client's link, MS ms */
static void
wan_pause(void)
{
	struct timespec	ts;

	if (wan_ms <= 0)
		return;
	ts.tv_sec = wan_ms / 1000;
	ts.tv_nsec = (long)(wan_ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* wan_content - n more content bytes: a pause when a packet is full */
static void
wan_content(size_t n)
{
	if (wan_ms <= 0 || wan_burst)
		return;
	if (wan_acc > 0 && wan_acc + n > wan_bytes) {
		wan_pause();
		wan_acc = 0;
	}
	wan_acc += n;
}

/* slurp - a whole file, NUL-terminated */
static char *
slurp(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p;
	int		 fd;
	ssize_t		 n;
	size_t		 off = 0;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		die("%s: %s", path, strerror(errno));
	if ((p = malloc((size_t)st.st_size + 1)) == NULL)
		die("out of memory");
	while (off < (size_t)st.st_size &&
	    (n = read(fd, p + off, (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	p[off] = '\0';
	*len = off;
	return p;
}

/*
 * expected_with_extra - the expected verdict, then " m=R" for each -V
 * method m, R from the extra column ("arc=pass iprev=fail"; none if absent)
 */
static char *
expected_with_extra(const char *base, const char *extra)
{
	char	 buf[VERDICT_MAX], key[40];
	size_t	 l;
	int	 i, n;
	const char *p;

	l = (size_t)snprintf(buf, sizeof(buf), "%s", base);
	for (i = 0; i < nextra && l < sizeof(buf); i++) {
		snprintf(key, sizeof(key), "%s=", extra_m[i]);
		for (p = extra; (p = strstr(p, key)) != NULL; p++)
			if (p == extra || p[-1] == ' ')
				break;
		if (p != NULL) {
			p += strlen(key);
			n = (int)strcspn(p, " ");
		} else {
			p = "none";
			n = 4;
		}
		l += (size_t)snprintf(buf + l, sizeof(buf) - l, " %s=%.*s",
		    extra_m[i], n, p);
	}
	if ((p = strdup(buf)) == NULL)
		die("out of memory");
	return (char *)p;
}

/* load_corpus - read index.tsv and every message into memory */
static void
load_corpus(const char *dir)
{
	char	 path[4096], *idx, *line, *save, *f[7], *e;
	size_t	 len, cap = 0;
	int	 i;

	snprintf(path, sizeof(path), "%s/index.tsv", dir);
	idx = slurp(path, &len);
	for (line = strtok_r(idx, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		f[6] = "";
		for (i = 0; i < 7; i++) {
			f[i] = line;
			if ((line = strchr(line, '\t')) != NULL)
				*line++ = '\0';
			else if (i < 5)
				die("index.tsv: short line");
			else
				break;
		}
		if (nmsgs == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((msgs = realloc(msgs, cap * sizeof(*msgs))) == NULL)
				die("out of memory");
		}
		struct msg *m = &msgs[nmsgs++];
		m->file = f[0]; m->ip = f[1]; m->helo = f[2];
		m->from = f[3]; m->rcpt = f[4];
		m->expected = expected_with_extra(f[5], f[6]);
		snprintf(path, sizeof(path), "%s/%s", dir, f[0]);
		m->data = slurp(path, &m->len);
		if ((e = strstr(m->data, "\r\n\r\n")) == NULL)
			die("%s: no end of header", path);
		m->hdrlen = (size_t)(e - m->data) + 4;
	}
	if (nmsgs == 0)
		die("%s: empty corpus", dir);
}

/* ---------------------------------------------------------- protocol */

/* xwrite - all of it, or -1 */
static int
xwrite(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * xread - exactly len bytes of the filter's replies, or -1.  As Postfix's
 * milter8 reads them (a VSTREAM with a timeout: timed_read), the socket
 * is polled for input before each read(), which fills a 4 KB buffer.  A
 * blocking read() instead would sleep on the socket's wait queue, where
 * every packet the filter takes off its side wakes the sleeper (the
 * write-space wake-up, which poll's POLLIN filters out): the filter would
 * pay for wake-ups that no MTA causes.
 */
static int
xread(struct milter *m, void *buf, size_t len)
{
	unsigned char	*p = buf;
	struct pollfd	 pfd = { .fd = m->fd, .events = POLLIN };
	size_t		 k;
	ssize_t		 n;

	while (len > 0) {
		if (m->ioff == m->ilen) {
			if (poll(&pfd, 1, -1) == -1) {
				if (errno == EINTR)
					continue;
				return -1;
			}
			if ((n = read(m->fd, m->in, sizeof(m->in))) <= 0) {
				if (n == -1 && errno == EINTR)
					continue;
				return -1;
			}
			m->ioff = 0;
			m->ilen = (size_t)n;
		}
		k = m->ilen - m->ioff < len ? m->ilen - m->ioff : len;
		memcpy(p, m->in + m->ioff, k);
		m->ioff += k;
		p += k;
		len -= k;
	}
	return 0;
}

/* send_pkt - one command: 4-byte length, command byte, data parts */
static int
send_pkt(struct milter *m, char cmd, const void *a, size_t alen,
    const void *b, size_t blen)
{
	unsigned char	 hdr[5];
	uint32_t	 n = htonl((uint32_t)(1 + alen + blen));
	struct iovec	 iov[3];

	memcpy(hdr, &n, 4);
	hdr[4] = (unsigned char)cmd;
	if (alen + blen < 4096) {
		unsigned char	 small[4096 + 5];

		memcpy(small, hdr, 5);
		if (alen)
			memcpy(small + 5, a, alen);
		if (blen)
			memcpy(small + 5 + alen, b, blen);
		return xwrite(m->fd, small, 5 + alen + blen);
	}
	(void)iov;
	if (xwrite(m->fd, hdr, 5) == -1 || (alen && xwrite(m->fd, a, alen)) ||
	    (blen && xwrite(m->fd, b, blen)))
		return -1;
	return 0;
}

/* read_pkt - one reply into m->rbuf; returns its command byte or -1 */
static int
read_pkt(struct milter *m)
{
	uint32_t	 n;

	if (xread(m, &n, 4) == -1)
		return -1;
	n = ntohl(n);
	if (n < 1 || n > 16 * 1024 * 1024)
		return -1;
	if (n > m->rcap) {
		free(m->rbuf);
		m->rcap = n + 1024;
		if ((m->rbuf = malloc(m->rcap + 1)) == NULL)
			return -1;
	}
	if (xread(m, m->rbuf, n) == -1)
		return -1;
	m->rbuf[n] = '\0';
	m->rlen = n;
	return m->rbuf[0];
}

/* sock_open - connect to inet:PORT@HOST or unix:PATH */
static int
sock_open(const char *spec)
{
	struct sockaddr_in	 sin;
	struct sockaddr_un	 sun;
	const char		*at;
	int			 fd, one = 1;

	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    strchr(spec, ':') + 1);
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			return -1;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
			close(fd);
			return -1;
		}
		return fd;
	}
	if (strncmp(spec, "inet:", 5) != 0 || (at = strchr(spec, '@')) == NULL)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(spec + 5));
	if (inet_pton(AF_INET, at + 1, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* optneg - open and negotiate one filter connection */
static int
optneg(struct milter *m, const char *spec)
{
	uint32_t	 v[3];

	if ((m->fd = sock_open(spec)) == -1)
		return -1;
	m->ioff = m->ilen = 0;
	v[0] = htonl(6);
	v[1] = htonl(A_OFFER);
	v[2] = htonl(P_OFFER);
	if (send_pkt(m, 'O', v, sizeof(v), NULL, 0) == -1 ||
	    read_pkt(m) != 'O' || m->rlen < 13)
		return -1;
	memcpy(&v, m->rbuf + 1, 12);
	m->pflags = ntohl(v[2]);
	return 0;
}

/* macro - a 'D' packet: command letter then name\0value\0 pairs */
static int
macro(struct milter *m, char cmd, const char *n1, const char *v1,
    const char *n2, const char *v2)
{
	char	 buf[1024];
	int	 len;

	len = snprintf(buf, sizeof(buf), "%c%s%c%s%c%s%c%s", cmd, n1, 0, v1, 0,
	    n2 != NULL ? n2 : "", 0, v2 != NULL ? v2 : "");
	if (len < 0 || (size_t)len >= sizeof(buf))
		return -1;
	/* a missing second pair: drop its two empty strings */
	return send_pkt(m, 'D', buf, (size_t)len + 1 - (n2 == NULL ? 2 : 0),
	    NULL, 0);
}

/*
 * collect - read replies to a step until a final one; record header
 * edits (A-R values) and quarantine into o.  Returns 0 to go on
 * (continue), 1 for a final verdict (action set), -1 on error.
 */
static int collect_ar(struct outcome *, const char *);

static int
collect(struct milter *m, struct outcome *o, int eom)
{
	int		 c;
	const char	*name, *val;
	size_t		 off;

	for (;;) {
		if ((c = read_pkt(m)) == -1)
			return -1;
		switch (c) {
		case 'c':
			if (eom && o->action[0] == '\0')
				snprintf(o->action, sizeof(o->action), "accept");
			return 0;
		case 'a':
			if (o->action[0] == '\0')
				snprintf(o->action, sizeof(o->action), "accept");
			return eom ? 0 : 1;
		case 'r': case 'd':
			snprintf(o->action, sizeof(o->action), "reject");
			return 1;
		case 't':
			snprintf(o->action, sizeof(o->action), "tempfail");
			return 1;
		case 'y':
			snprintf(o->action, sizeof(o->action), "%s",
			    m->rbuf[1] == '4' ? "tempfail" : "reject");
			return 1;
		case 'q':
			snprintf(o->action, sizeof(o->action), "quarantine");
			break;
		case 'h': case 'i': case 'm':
			off = c == 'h' ? 1 : 5;
			if (m->rlen <= off)
				return -1;
			name = (const char *)m->rbuf + off;
			val = name + strlen(name) + 1;
			if ((size_t)(val - (const char *)m->rbuf) < m->rlen &&
			    strcasecmp(name, "Authentication-Results") == 0 &&
			    *val != '\0') {
				collect_ar(o, val);
				if (c != 'm' && o->nadded < MAX_MILTERS)
					snprintf(o->added[o->nadded++],
					    sizeof(o->added[0]), "%s", val);
			}
			break;
		case 'p': case '+': case '-': case 'b': case '2': case 'e':
		case 'f': case 'l':
			break;			/* progress, rcpt/body edits */
		default:
			return -1;
		}
	}
}

/* ---------------------------------------------------------- A-R */

/* ar_skip_cfws - past whitespace and (nested) comments */
static const char *
ar_skip_cfws(const char *p)
{
	int	depth;

	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '(')
			return p;
		for (depth = 0; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* ar_next - past one resinfo (to after the next ';' outside quotes/comments) */
static const char *
ar_next(const char *p)
{
	int	depth = 0, quoted = 0;

	for (; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		else if (quoted)
			quoted = *p != '"';
		else if (*p == '"')
			quoted = 1;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (*p == ';' && depth == 0)
			return p + 1;
	}
	return p;
}

/* word - copy [A-Za-z0-9_.-]* at p into dst */
static const char *
word(const char *p, char *dst, size_t len)
{
	size_t	n = 0;

	while (isalnum((unsigned char)*p) || *p == '_' || *p == '-' ||
	    *p == '.') {
		if (n + 1 < len)
			dst[n++] = (char)tolower((unsigned char)*p);
		p++;
	}
	dst[n] = '\0';
	return p;
}

/* collect_ar - spf (smtp.mailfrom), dkim and dmarc results of one A-R */
static int
collect_ar(struct outcome *o, const char *v)
{
	char		 id[256], method[32], result[32];
	const char	*p, *end;

	p = word(ar_skip_cfws(v), id, sizeof(id));
	if (authserv != NULL && strcasecmp(id, authserv) != 0)
		return 0;
	for (p = ar_next(p); *p != '\0'; p = ar_next(p)) {
		p = word(ar_skip_cfws(p), method, sizeof(method));
		p = ar_skip_cfws(p);
		if (*p != '=')
			continue;
		word(ar_skip_cfws(p + 1), result, sizeof(result));
		end = ar_next(p);
		if (strcmp(method, "spf") == 0) {
			/* the MAIL FROM identity only, not smtp.helo */
			if (memmem(p, (size_t)(end - p), "smtp.mailfrom", 13))
				snprintf(o->spf, sizeof(o->spf), "%s", result);
		} else if (strcmp(method, "dkim") == 0 &&
		    strcmp(result, "none") != 0) {
			size_t l = strlen(o->dkim);

			snprintf(o->dkim + l, sizeof(o->dkim) - l, "%s%s",
			    l ? "," : "", result);
			o->ndkim++;
		} else if (strcmp(method, "dmarc") == 0)
			snprintf(o->dmarc, sizeof(o->dmarc), "%s", result);
		else
			for (int i = 0; i < nextra; i++)
				if (strcmp(method, extra_m[i]) == 0)
					snprintf(o->extra[i], sizeof(o->extra[i]),
					    "%s", result);
	}
	return 0;
}

/* cmp_str - qsort strcmp */
static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* verdict - "spf=R dkim=R,R dmarc=R action=A", dkim results sorted */
static void
verdict(struct outcome *o, char *out, size_t len)
{
	char	*parts[32], buf[VERDICT_MAX], sorted[VERDICT_MAX], *s, *save;
	int	 n = 0, i;
	size_t	 l = 0;

	snprintf(buf, sizeof(buf), "%s", o->dkim);
	for (s = strtok_r(buf, ",", &save); s != NULL && n < 32;
	    s = strtok_r(NULL, ",", &save))
		parts[n++] = s;
	qsort(parts, (size_t)n, sizeof(parts[0]), cmp_str);
	sorted[0] = '\0';
	for (i = 0; i < n; i++)
		l += (size_t)snprintf(sorted + l, sizeof(sorted) - l, "%s%s",
		    i ? "," : "", parts[i]);
	l = (size_t)snprintf(out, len, "spf=%s dkim=%s dmarc=%s action=%s",
	    o->spf[0] ? o->spf : "none", n ? sorted : "none",
	    o->dmarc[0] ? o->dmarc : "none",
	    o->action[0] ? o->action : "none");
	for (i = 0; i < nextra && l < len; i++)
		l += (size_t)snprintf(out + l, len - l, " %s=%s", extra_m[i],
		    o->extra[i][0] ? o->extra[i] : "none");
}

/* ---------------------------------------------------------- sessions */

/*
 * step - send one event to every filter in turn (skipping those that
 * negotiated it away) and read the reply unless it is an NR step.
 * Returns 0 to go on, 1 when a filter ended the transaction, -1 error.
 */
static int
step(struct milter *ms, int n, struct outcome *o, char cmd, uint32_t no,
    uint32_t nr, const void *a, size_t alen, const void *b, size_t blen)
{
	int	i, r;

	for (i = 0; i < n; i++) {
		if (ms[i].pflags & no)
			continue;
		if (send_pkt(&ms[i], cmd, a, alen, b, blen) == -1)
			return -1;
		if (ms[i].pflags & nr)
			continue;
		if ((r = collect(&ms[i], o, cmd == 'E')) != 0)
			return r;
	}
	return 0;
}

/* send_headers - every header field of m to the filters */
static int
send_headers(struct milter *ms, int n, struct outcome *o, const struct msg *m)
{
	const char	*p = m->data, *end = m->data + m->hdrlen - 2, *colon, *e;
	char		*val, *w;
	int		 i, r, leadspc;
	size_t		 nlen, vlen, cap = 0;

	val = NULL;
	while (p < end) {
		/* one field: up to a CRLF not followed by WSP */
		for (e = p; e < end; e++)
			if (e[0] == '\r' && e[1] == '\n' &&
			    e[2] != ' ' && e[2] != '\t')
				break;
		if ((colon = memchr(p, ':', (size_t)(e - p))) == NULL) {
			p = e + 2;
			continue;
		}
		nlen = (size_t)(colon - p);
		wan_content((size_t)(e - p) + 2);
		if ((size_t)(e - colon) + nlen + 2 > cap) {
			cap = (size_t)(e - colon) + nlen + 64;
			free(val);
			if ((val = malloc(cap)) == NULL)
				return -1;
		}
		for (i = 0; i < n; i++) {
			const char *s = colon + 1;

			if (ms[i].pflags & P_NOHDRS)
				continue;
			leadspc = (ms[i].pflags & P_HDR_LEADSPC) != 0;
			memcpy(val, p, nlen);
			val[nlen] = '\0';
			w = val + nlen + 1;
			if (!leadspc)
				while (s < e && (*s == ' ' || *s == '\t'))
					s++;
			for (; s < e; s++)	/* CRLF folds as LF */
				if (!(s[0] == '\r' && s[1] == '\n'))
					*w++ = *s;
			*w++ = '\0';
			vlen = (size_t)(w - val);
			if (send_pkt(&ms[i], 'L', val, vlen, NULL, 0) == -1) {
				free(val);
				return -1;
			}
			if (ms[i].pflags & P_NR_HDR)
				continue;
			if ((r = collect(&ms[i], o, 0)) != 0) {
				free(val);
				return r;
			}
		}
		p = e + 2;
	}
	free(val);
	return 0;
}

/* content - headers (first nprev added by earlier filters), body, eom */
static int
content(struct milter *ms, struct outcome *o, const struct msg *m, int nprev)
{
	char		 buf[2048 + 32];
	size_t		 off, len, chunk = CHUNK;
	int		 r, j;

	if (wan_ms > 0 && wan_bytes < CHUNK && !wan_burst)
		chunk = wan_bytes;

	for (j = 0; j < nprev && !(ms->pflags & P_NOHDRS); j++) {
		len = (size_t)snprintf(buf, sizeof(buf), "Authentication-Results%c%s%s",
		    0, ms->pflags & P_HDR_LEADSPC ? " " : "", o->added[j]) + 1;
		if (send_pkt(ms, 'L', buf, len, NULL, 0) == -1)
			return -1;
		if (!(ms->pflags & P_NR_HDR) && (r = collect(ms, o, 0)) != 0)
			return r;
	}
	if ((r = send_headers(ms, 1, o, m)) != 0)
		return r;
	if ((r = step(ms, 1, o, 'N', P_NOEOH, P_NR_EOH, NULL, 0, NULL, 0)))
		return r;
	for (off = m->hdrlen; off < m->len; off += chunk) {
		len = m->len - off < chunk ? m->len - off : chunk;
		wan_content(len);
		if ((r = step(ms, 1, o, 'B', P_NOBODY, P_NR_BODY,
		    m->data + off, len, NULL, 0)) != 0)
			return r;
	}
	if (t_eod == 0)
		t_eod = now_ms();
	return step(ms, 1, o, 'E', 0, 0, NULL, 0, NULL, 0);
}

/* transaction - one message through the filters; 0, 1 (ended), -1 */
static int
transaction(struct milter *ms, int n, const struct msg *m, long seq,
    struct outcome *o)
{
	char		 qid[32], from[512], rcpt[512];
	int		 r, i;

	memset(o, 0, sizeof(*o));
	snprintf(qid, sizeof(qid), "B%09lX", seq);
	snprintf(from, sizeof(from), "<%s>", m->from);
	snprintf(rcpt, sizeof(rcpt), "<%s>", m->rcpt);
	for (i = 0; i < n; i++)
		if (macro(&ms[i], 'M', "i", qid, auth_user ? "{auth_authen}" :
		    "{mail_addr}", auth_user ? auth_user : m->from) == -1)
			return -1;
	t_mail = now_ms();
	t_eod = 0;
	wan_acc = 0;
	if ((r = step(ms, n, o, 'M', P_NOMAIL, P_NR_MAIL, from,
	    strlen(from) + 1, NULL, 0)) != 0)
		return r;
	wan_pause();			/* the client's RCPT */
	if ((r = step(ms, n, o, 'R', P_NORCPT, P_NR_RCPT, rcpt,
	    strlen(rcpt) + 1, NULL, 0)) != 0)
		return r;
	wan_pause();			/* its DATA */
	if ((r = step(ms, n, o, 'T', P_NODATA, P_NR_DATA, NULL, 0, NULL,
	    0)) != 0)
		return r;
	wan_pause();			/* the first packet after 354 */
	/*
	 * -Z: the client's transfer ends (its final dot) before the MTA
	 * passes anything on: end of data is then, not at the burst's end
	 */
	if (wan_ms > 0 && wan_burst) {
		size_t	 off;

		for (off = wan_bytes; off < m->len; off += wan_bytes)
			wan_pause();
		t_eod = now_ms();
	}
	/*
	 * Content goes to one filter after the other, as Postfix's cleanup(8)
	 * does: a later filter sees the headers earlier ones inserted.
	 */
	for (i = 0; i < n; i++) {
		if ((r = content(&ms[i], o, m, o->nadded)) != 0)
			return r;
	}
	return 0;
}

/* open_session - connect, negotiate and send connect + helo to all */
static int
open_session(struct milter *ms, const struct msg *m, struct outcome *o)
{
	char	 buf[512];
	size_t	 len;
	int	 i, r;
	uint16_t port = htons(25252);

	for (i = 0; i < nsocks; i++)
		if (optneg(&ms[i], socks[i]) == -1)
			return -1;
	for (i = 0; i < nsocks; i++)
		if (macro(&ms[i], 'C', "j", "mx.bench.example",
		    "{daemon_name}", "smtpd") == -1)
			return -1;
	/* hostname \0 family port address \0 */
	len = (size_t)snprintf(buf, sizeof(buf), "%s", m->helo) + 1;
	buf[len++] = '4';
	memcpy(buf + len, &port, 2);
	len += 2;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s", m->ip) + 1;
	if ((r = step(ms, nsocks, o, 'C', P_NOCONNECT, P_NR_CONN, buf, len,
	    NULL, 0)) != 0)
		return r;
	return step(ms, nsocks, o, 'H', P_NOHELO, P_NR_HELO, m->helo,
	    strlen(m->helo) + 1, NULL, 0);
}

/* close_session - quit and close every filter connection */
static void
close_session(struct milter *ms)
{
	int	i;

	for (i = 0; i < nsocks; i++) {
		if (ms[i].fd != -1) {
			send_pkt(&ms[i], 'Q', NULL, 0, NULL, 0);
			close(ms[i].fd);
			ms[i].fd = -1;
		}
	}
}

/* record - latency, verdict check and tally of message seq */
static void
record(long seq, const struct msg *m, struct outcome *o, double ms)
{
	char	v[VERDICT_MAX];
	int	i;

	verdict(o, v, sizeof(v));
	double	 now = now_ms();

	pthread_mutex_lock(&lock);
	lat[seq] = ms;
	lat_mail[seq] = now - t_mail;
	/* ended before the content (a reject at MAIL/RCPT): MAIL's time */
	lat_eod[seq] = t_eod > 0 ? now - t_eod : 0;
	/*
	 * A message rejected at EOM gets no A-R header: all we can compare
	 * is the action (and that the expected DMARC result was a fail).
	 */
	if (strcmp(o->action, "reject") == 0 && o->nadded == 0) {
		snprintf(v, sizeof(v), "dmarc=fail action=reject (no A-R)");
		bad[seq] = strstr(m->expected, "dmarc=fail") == NULL ||
		    strstr(m->expected, "action=reject") == NULL;
	} else
		bad[seq] = strcmp(v, m->expected) != 0;
	if (bad[seq] && !quiet) {
		fprintf(stderr, "mismatch %s: expected \"%s\" got \"%s\"\n",
		    m->file, m->expected, v);
		for (i = 0; i < o->nadded; i++)
			fprintf(stderr, "\tA-R: %s\n", o->added[i]);
	}
	for (i = 0; i < ntally; i++)
		if (strcmp(tally_keys[i], v) == 0)
			break;
	if (i == ntally && ntally < 64)
		snprintf(tally_keys[ntally++], VERDICT_MAX, "%s", v);
	if (i < 64)
		tally_n[i]++;
	pthread_mutex_unlock(&lock);
}

/* take - the next message number, or -1 when done */
static long
take(void)
{
	long	n;

	pthread_mutex_lock(&lock);
	n = next_msg < total ? next_msg++ : -1;
	pthread_mutex_unlock(&lock);
	return n;
}

/* worker - one concurrent session loop */
static void *
worker(void *arg)
{
	struct milter	 ms[MAX_MILTERS];
	struct outcome	 o;
	const struct msg *m;
	long		 seq;
	int		 i, r, left = 0;
	double		 t0;

	(void)arg;
	memset(ms, 0, sizeof(ms));
	for (i = 0; i < MAX_MILTERS; i++)
		ms[i].fd = -1;
	while ((seq = take()) != -1) {
		m = &msgs[seq % (long)nmsgs];
		t0 = now_ms();
		r = 0;
		memset(&o, 0, sizeof(o));
		if (left == 0) {
			close_session(ms);
			r = open_session(ms, m, &o);
			left = per_conn;
		}
		if (r == 0)
			r = transaction(ms, nsocks, m, seq, &o);
		left--;
		if (r == -1) {
			pthread_mutex_lock(&lock);
			nerrors++;
			pthread_mutex_unlock(&lock);
			fprintf(stderr, "mload: %s: protocol error (%s)\n",
			    m->file, strerror(errno));
			close_session(ms);
			left = 0;
			continue;
		}
		if (r == 1 && left > 0)		/* ended early: next MAIL */
			for (i = 0; i < nsocks; i++)
				send_pkt(&ms[i], 'A', NULL, 0, NULL, 0);
		record(seq, m, &o, now_ms() - t0);
	}
	close_session(ms);
	for (i = 0; i < MAX_MILTERS; i++)
		free(ms[i].rbuf);
	return NULL;
}

/* ---------------------------------------------------------- report */

/* proc_cpu - utime+stime of pid in seconds, -1 if unknown */
static double
proc_cpu(pid_t pid)
{
	char		 path[64], buf[4096], *p;
	FILE		*f;
	unsigned long	 ut, st;
	size_t		 n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* proc_hwm - VmHWM of pid in kB, -1 if unknown */
static long
proc_hwm(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* cmp_double - qsort */
static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
usage(void)
{
	fprintf(stderr, "usage: mload -x CORPUSDIR -s SOCKET [-s SOCKET...] "
	    "[-c CONC] [-n MSGS] [-m MSGS_PER_CONN] [-p PID...] [-A ID] [-a USER] "
	    "[-V METHODS] [-q] [-k] [-W MS] [-B BYTES] [-Z]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*dir = NULL;
	pthread_t	*th;
	struct rusage	 ru;
	double		 t0, wall, cpu0[MAX_PIDS], cpu1, cpu = 0;
	long		 i, nbad = 0, hwm = 0, h;
	int		 c, j;

	while ((c = getopt(argc, argv, "x:s:c:n:m:p:A:a:qkW:B:ZV:")) != -1) {
		switch (c) {
		case 'x': dir = optarg; break;
		case 's':
			if (nsocks == MAX_MILTERS)
				usage();
			socks[nsocks++] = optarg;
			break;
		case 'c': conc = atoi(optarg); break;
		case 'n': total = atol(optarg); break;
		case 'm': per_conn = atoi(optarg); break;
		case 'p':
			if (npids == MAX_PIDS)
				usage();
			pids[npids++] = (pid_t)atoi(optarg);
			break;
		case 'A': authserv = optarg; break;
		case 'a': auth_user = optarg; break;
		case 'q': quiet = 1; break;
		case 'k': keep_going = 1; break;
		case 'W': wan_ms = atoi(optarg); break;
		case 'B': wan_bytes = (size_t)atol(optarg); break;
		case 'Z': wan_burst = 1; break;
		case 'V':
			for (char *t = strtok(optarg, ","); t != NULL;
			    t = strtok(NULL, ","))
				if (nextra < EXTRA_MAX)
					extra_m[nextra++] = t;
			break;
		default: usage();
		}
	}
	if (dir == NULL || nsocks == 0 || conc < 1 || per_conn < 1)
		usage();
	load_corpus(dir);
	if (total < 0)
		total = (long)nmsgs;
	if ((lat = calloc((size_t)total + 1, sizeof(*lat))) == NULL ||
	    (bad = calloc((size_t)total + 1, sizeof(*bad))) == NULL ||
	    (lat_mail = calloc((size_t)total + 1, sizeof(double))) == NULL ||
	    (lat_eod = calloc((size_t)total + 1, sizeof(double))) == NULL ||
	    (th = calloc((size_t)conc, sizeof(*th))) == NULL)
		die("out of memory");
	for (j = 0; j < npids; j++)
		cpu0[j] = proc_cpu(pids[j]);
	t0 = now_ms();
	for (j = 0; j < conc; j++)
		if (pthread_create(&th[j], NULL, worker, NULL) != 0)
			die("pthread_create failed");
	for (j = 0; j < conc; j++)
		pthread_join(th[j], NULL);
	wall = (now_ms() - t0) / 1e3;
	for (j = 0; j < npids; j++) {
		if ((cpu1 = proc_cpu(pids[j])) >= 0 && cpu0[j] >= 0)
			cpu += cpu1 - cpu0[j];
		if ((h = proc_hwm(pids[j])) > 0)
			hwm += h;
	}
	for (i = 0; i < total; i++)
		nbad += bad[i];
	qsort(lat, (size_t)total, sizeof(*lat), cmp_double);
	qsort(lat_mail, (size_t)total, sizeof(double), cmp_double);
	qsort(lat_eod, (size_t)total, sizeof(double), cmp_double);
	for (j = 0; j < ntally; j++)
		fprintf(stderr, "verdict %6ld  %s\n", tally_n[j], tally_keys[j]);
	printf("msgs=%ld conc=%d errors=%ld mismatches=%ld", total, conc,
	    nerrors, nbad);
	if (nerrors == 0 && (nbad == 0 || keep_going)) {
		printf(" wall=%.2f msg_s=%.0f p50=%.2f p90=%.2f p99=%.2f "
		    "max=%.2f", wall, total / wall, lat[total / 2],
		    lat[total * 90 / 100], lat[total * 99 / 100],
		    lat[total - 1]);
		if (wan_ms > 0)
			printf(" mail_p50=%.2f mail_p90=%.2f mail_p99=%.2f "
			    "eod_p50=%.2f eod_p90=%.2f eod_p99=%.2f",
			    lat_mail[total / 2], lat_mail[total * 90 / 100],
			    lat_mail[total * 99 / 100], lat_eod[total / 2],
			    lat_eod[total * 90 / 100], lat_eod[total * 99 / 100]);
		if (npids > 0)
			printf(" cpu_ms_msg=%.3f hwm_mb=%.1f",
			    cpu * 1e3 / total, hwm / 1024.0);
		if (getrusage(RUSAGE_SELF, &ru) == 0)	/* ours, for context */
			printf(" gen_cpu_ms_msg=%.3f", (ru.ru_utime.tv_sec +
			    ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec +
			    ru.ru_stime.tv_usec) / 1e6) * 1e3 / total);
	} else
		printf(" (no speed reported: verdicts or protocol wrong)");
	printf("\n");
	return nerrors ? 2 : nbad ? 1 : 0;
}
