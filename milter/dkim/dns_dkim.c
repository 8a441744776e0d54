/*
 * dns_dkim.c - libopendkim's DNS query hooks on top of dns.c.
 *
 * libopendkim asks with start(), then waitreply() once with its timeout,
 * then cancel() exactly once.  start() starts an am_dns query; waitreply()
 * waits for it and writes a DNS reply packet into libopendkim's buffer:
 * the real one for an answer, a small synthesised one for "no such key"
 * (libopendkim reads the rcode and answer count from the packet);
 * cancel() ends the am_dns query and frees our state.  See dns_dkim.h.
 */
#include <sys/time.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opendkim/dkim.h>
#include <unbound.h>

#include "dns/dns.h"
#include "dkim/dns_dkim.h"
#include "dkim/dns_dkim_seam.h"

#define DNS_HDR_LEN	12		/* RFC 1035 4.1.1 */
#define DNS_NAME_MAX	255		/* RFC 1035 3.1, wire form */
#define DNS_RCODE_NXDOMAIN 3
#define DNS_CLASS_IN	1

/* one key query libopendkim started */
struct dkim_query {
	struct am_dns_query	*q;
	unsigned char		*buf;		/* libopendkim's reply buffer */
	size_t			 buflen;
	int			 rrtype;
	char			 name[DKIM_MAXHOSTNAMELEN + 1];
	int			 answered;	/* reply already in buf */
	int			 status;	/* DKIM_DNS_* once answered */
	size_t			 len;		/* reply length once answered */
	int			 dnssec;	/* DKIM_DNSSEC_* */
};

/*
 * The DNS budget of the libopendkim call running on this thread.  The
 * hooks get only the library's service pointer (dkim_dns_set_query_service
 * is per DKIM_LIB, which every thread shares), never the DKIM handle whose
 * user context could carry a per-message value; so dkim.c names the budget
 * for the span of one dkim_eoh()/dkim_eom() call (am_dns_dkim_budget) and
 * hook_start hands it to dns.c with the query.  Nothing else reads it.
 */
/* process-wide state: see daemon/daemon.h */
static __thread struct am_dns_budget *call_budget;

/* put16 - store a 16-bit value in network order */
static void
put16(unsigned char *p, unsigned int v)
{
	p[0] = (v >> 8) & 0xff;
	p[1] = v & 0xff;
}

/* encode_name - RFC 1035 3.1 wire form of a dotted name; length or 0 */
static size_t
encode_name(const char *name, unsigned char *out, size_t outlen)
{
	const char	*label, *dot;
	size_t		 len, n = 0;

	for (label = name; *label != '\0'; label = dot + 1) {
		if ((dot = strchr(label, '.')) == NULL)
			dot = label + strlen(label);
		len = (size_t)(dot - label);
		if (len == 0 || len > 63 || n + 1 + len + 1 > outlen ||
		    n + 1 + len + 1 > DNS_NAME_MAX)
			return 0;
		out[n++] = (unsigned char)len;
		memcpy(out + n, label, len);
		n += len;
		if (*dot == '\0')
			break;
	}
	if (n + 1 > outlen)
		return 0;
	out[n++] = 0;
	return n;
}

/*
 * synth_reply - an answerless reply to our question: NXDOMAIN or NOERROR
 * with no records (NODATA).  libopendkim checks the question's type and
 * class, then the rcode, then the answer count: both give "no key".
 * A name we cannot encode is asked as the root: the name is not checked.
 */
static size_t
synth_reply(struct dkim_query *dq, unsigned int rcode)
{
	unsigned char	*p = dq->buf;
	size_t		 n;

	if (dq->buflen < DNS_HDR_LEN + 1 + 4)
		return 0;
	memset(p, 0, DNS_HDR_LEN);
	p[2] = 0x81;			/* QR, RD */
	p[3] = 0x80 | (rcode & 0x0f);	/* RA, rcode */
	put16(p + 4, 1);		/* QDCOUNT */
	n = encode_name(dq->name, p + DNS_HDR_LEN,
	    dq->buflen - DNS_HDR_LEN - 4);
	if (n == 0) {
		p[DNS_HDR_LEN] = 0;
		n = 1;
	}
	n += DNS_HDR_LEN;
	put16(p + n, (unsigned int)dq->rrtype);
	put16(p + n + 2, DNS_CLASS_IN);
	return n + 4;
}

/* copy_reply - hand libopendkim the resolver's reply packet */
static int
copy_reply(struct dkim_query *dq, const struct ub_result *res)
{
	if (res == NULL || res->answer_packet == NULL || res->answer_len <= 0 ||
	    (size_t)res->answer_len > dq->buflen)
		return DKIM_DNS_ERROR;
	memcpy(dq->buf, res->answer_packet, (size_t)res->answer_len);
	dq->len = (size_t)res->answer_len;
	if (res->secure)
		dq->dnssec = DKIM_DNSSEC_SECURE;
	else if (res->bogus)
		dq->dnssec = DKIM_DNSSEC_BOGUS;
	return DKIM_DNS_SUCCESS;
}

/* now_monotonic - CLOCK_MONOTONIC, the clock am_dns_query_wait counts in */
static void
now_monotonic(struct timespec *ts)
{
	if (clock_gettime(CLOCK_MONOTONIC, ts) == -1) {
		ts->tv_sec = 0;
		ts->tv_nsec = 0;
	}
}

/*
 * deadline_of - absolute deadline (whole seconds, rounded up so we never
 * wait less than asked) for libopendkim's relative timeout; 0 for none
 */
static long
deadline_of(const struct timeval *tv)
{
	struct timespec	 now;
	long		 secs;

	if (tv == NULL)
		return 0;			/* dns.c's own timeout */
	secs = (long)tv->tv_sec + (tv->tv_usec > 0 ? 1 : 0);
	if (secs <= 0)
		secs = 1;			/* a poll: wait a little */
	now_monotonic(&now);
	return (long)now.tv_sec + secs + (now.tv_nsec > 0 ? 1 : 0);
}

/* past - has the deadline gone by? */
static int
past(long deadline)
{
	struct timespec	 now;

	now_monotonic(&now);
	return deadline != 0 && (long)now.tv_sec >= deadline;
}

/* settle - turn an am_dns outcome into a DKIM_DNS_* status and a reply */
static int
settle(struct dkim_query *dq, enum am_dns_status st,
    const struct ub_result *res, long deadline)
{
	switch (st) {
	case AM_DNS_OK:
		return copy_reply(dq, res);
	case AM_DNS_NXDOMAIN:
		dq->len = synth_reply(dq, DNS_RCODE_NXDOMAIN);
		break;
	case AM_DNS_NODATA:
	case AM_DNS_PERM:
		/* RFC 6376 6.1.2: a key we cannot use is a permanent failure */
		dq->len = synth_reply(dq, 0);
		break;
	case AM_DNS_TEMP:
	default:
		if (past(deadline))
			return DKIM_DNS_EXPIRED;
		return DKIM_DNS_ERROR;
	}
	return dq->len == 0 ? DKIM_DNS_ERROR : DKIM_DNS_SUCCESS;
}

/* am_dns_dkim_reply - settle() for the tests (dns_dkim_seam.h) */
int
am_dns_dkim_reply(unsigned char *buf, size_t buflen, const char *name,
    int rrtype, enum am_dns_status st, const struct ub_result *res,
    size_t *len, int *dnssec)
{
	struct dkim_query	 dq;
	int			 status;

	memset(&dq, 0, sizeof(dq));
	if (strlen(name) >= sizeof(dq.name))
		return DKIM_DNS_ERROR;		/* hook_start's check */
	memcpy(dq.name, name, strlen(name) + 1);
	dq.buf = buf;
	dq.buflen = buflen;
	dq.rrtype = rrtype;
	dq.dnssec = DKIM_DNSSEC_UNKNOWN;
	status = settle(&dq, st, res, 0);
	*len = status == DKIM_DNS_SUCCESS ? dq.len : 0;
	*dnssec = dq.dnssec;
	return status;
}

/* hook_start - libopendkim wants a record: start an am_dns query */
static int
hook_start(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	struct dkim_query	*dq;

	if (srv == NULL || query == NULL || buf == NULL || qh == NULL ||
	    strlen((char *)query) >= sizeof(dq->name))
		return DKIM_DNS_ERROR;
	if ((dq = calloc(1, sizeof(*dq))) == NULL) {
		/* a local failure, not a DNS one: the message's error (dns.h) */
		am_dns_budget_local(call_budget, AM_DNS_LOCAL_MEMORY, ENOMEM);
		return DKIM_DNS_ERROR;
	}
	memcpy(dq->name, query, strlen((char *)query) + 1);
	dq->buf = buf;
	dq->buflen = buflen;
	dq->rrtype = type;
	dq->dnssec = DKIM_DNSSEC_UNKNOWN;
	if ((dq->q = am_dns_query_start(srv, call_budget, dq->name,
	    type)) == NULL) {
		am_dns_budget_local(call_budget, AM_DNS_LOCAL_MEMORY, ENOMEM);
		free(dq);
		return DKIM_DNS_ERROR;
	}
	*qh = dq;
	return DKIM_DNS_SUCCESS;
}

/* hook_waitreply - wait up to timeout for the reply, fill buf */
static int
hook_waitreply(void *srv, void *qh, struct timeval *timeout, size_t *bytes,
    int *error, int *dnssec)
{
	struct dkim_query	*dq = qh;
	struct ub_result	*res = NULL;
	enum am_dns_status	 st;
	long			 deadline;

	if (dq == NULL)
		return DKIM_DNS_INVALID;
	if (!dq->answered) {
		deadline = deadline_of(timeout);
		st = am_dns_query_wait(dq->q, deadline, &res);
		dq->status = settle(dq, st, res, deadline);
		am_dns_result_free(res);
		/* a timed-out wait may be retried; anything else is final */
		dq->answered = dq->status != DKIM_DNS_EXPIRED;
	}
	if (bytes != NULL)
		*bytes = dq->status == DKIM_DNS_SUCCESS ? dq->len : 0;
	if (error != NULL)
		*error = dq->status == DKIM_DNS_SUCCESS ? 0 :
		    dq->status == DKIM_DNS_EXPIRED ? ETIMEDOUT : EIO;
	if (dnssec != NULL)
		*dnssec = dq->dnssec;
	return dq->status;
}

/* hook_cancel - libopendkim is done with a query: release it */
static int
hook_cancel(void *srv, void *qh)
{
	struct dkim_query	*dq = qh;

	if (dq == NULL)
		return DKIM_DNS_SUCCESS;
	am_dns_query_done(dq->q);
	free(dq);
	return DKIM_DNS_SUCCESS;
}

/* hook_init - the resolver is ours and already running */
static int
hook_init(void **srv)
{
	return DKIM_DNS_SUCCESS;
}

/* hook_close - no-op: libopendkim's default would free our resolver */
static void
hook_close(void *srv)
{
}

/* hook_setting - nslist, config, trust anchors: configured in dns.c */
static int
hook_setting(void *srv, const char *value)
{
	return DKIM_DNS_SUCCESS;
}

/* am_dns_dkim_budget - the budget of this thread's next library calls */
void
am_dns_dkim_budget(struct am_dns_budget *b)
{
	call_budget = b;
}

/* am_dns_dkim_install - route lib's key queries through dns */
int
am_dns_dkim_install(struct dkim_lib *lib, struct am_dns *dns)
{
	void	*prev;

	if ((prev = dkim_dns_set_query_service(lib, dns)) != NULL) {
		(void)dkim_dns_set_query_service(lib, prev);
		return -1;
	}
	dkim_dns_set_query_start(lib, hook_start);
	dkim_dns_set_query_waitreply(lib, hook_waitreply);
	dkim_dns_set_query_cancel(lib, hook_cancel);
	dkim_dns_set_init(lib, hook_init);
	dkim_dns_set_close(lib, hook_close);
	dkim_dns_set_nslist(lib, hook_setting);
	dkim_dns_set_config(lib, hook_setting);
	dkim_dns_set_trustanchor(lib, hook_setting);
	return 0;
}
