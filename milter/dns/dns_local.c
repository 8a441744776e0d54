/*
 * dns_local.c - local failures (issue 15, dns.h "Local failures"): was a
 * TEMP outcome this process's fault (out of descriptors or memory, a
 * libunbound error of its own) or the DNS's?  The first one of a phase
 * sticks on the budget, and the message turns it into an internal error,
 * never temperror.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_int.h"

/* am_dns_budget_local - note the first local failure of the phase */
void
am_dns_budget_local(struct am_dns_budget *b, const char *what, int err)
{
	if (b == NULL || b->local_what != NULL)
		return;
	b->local_what = what;
	b->local_err = err;
}

/* errno_str - text of the errnos am_dns_errno_local accepts (thread-safe) */
static const char *
errno_str(int err)
{
	switch (err) {
	case EMFILE:
		return "Too many open files";
	case ENFILE:
		return "Too many open files in system";
	case ENOMEM:
		return "Cannot allocate memory";
	case ENOBUFS:
		return "No buffer space available";
	}
	return NULL;
}

/* am_dns_local_str - "what: strerror" of the budget's local failure */
void
am_dns_local_str(const struct am_dns_budget *b, char *buf, size_t len)
{
	const char	*why = errno_str(b->local_err);

	snprintf(buf, len, "%s%s%s", b->local_what ? b->local_what : "none",
	    why ? ": " : "", why ? why : "");
}

/* am_dns_errno_local - a shortage of this process or host, not of DNS */
int
am_dns_errno_local(int err)
{
	return errno_str(err) != NULL;
}

/*
 * am_dns_ub_local - libunbound's own error codes (unbound.h): all of them
 * are about this process (memory, sockets, the pipe to its thread, fork,
 * init, files) except a name it cannot parse (UB_SYNTAX: our name check
 * comes first), UB_SERVFAIL (the DNS service failed: an outage) and
 * UB_NOID (no such query).
 */
int
am_dns_ub_local(int ub_err)
{
	switch (ub_err) {
	case UB_NOERROR:
	case UB_SYNTAX:
	case UB_SERVFAIL:
	case UB_NOID:
		return 0;
	}
	return 1;
}

/* am_dns_probe_local - can this process open a socket right now? */
int
am_dns_probe_local(void)
{
	int	 fd, err;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1 && errno == EAFNOSUPPORT)
		fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd != -1) {
		close(fd);
		return 0;
	}
	err = errno;
	return am_dns_errno_local(err) ? err : 0;
}

/*
 * local_cause - probe for a local shortage (dns.h); *what and *err when
 * there is one.  libunbound keeps a SERVFAIL it made itself for NORR_TTL
 * (5 s, util/data/msgparse.h) and answers the same question from that
 * cache, at once, even after the descriptors are back: a spoof sent again
 * within those seconds would get temperror.  So for AM_DNS_LOCAL_HOLD_MS
 * after a local failure, a SERVFAIL or timeout still counts as local.
 */
static int
local_cause(struct am_dns *dns, const char **what, int *err)
{
	long	 now = am_dns_now_ms();
	int	 e;

	if ((e = am_dns_probe_local()) != 0) {
		__atomic_store_n(&dns->local_errno, e, __ATOMIC_RELAXED);
		__atomic_store_n(&dns->local_until, now + AM_DNS_LOCAL_HOLD_MS,
		    __ATOMIC_RELAXED);
		*what = AM_DNS_LOCAL_SOCKET;
		*err = e;
		return 1;
	}
	if (now >= __atomic_load_n(&dns->local_until, __ATOMIC_RELAXED))
		return 0;
	*what = AM_DNS_LOCAL_HELD;
	*err = __atomic_load_n(&dns->local_errno, __ATOMIC_RELAXED);
	return 1;
}

/*
 * am_dns_query_local - a TEMP outcome: was it this process's fault (dns.h)?
 * err is libunbound's error code, r its answer or NULL.  A SERVFAIL is
 * what libunbound answers when it could not open a socket, so a SERVFAIL
 * (and a timeout: am_dns_timeout_local) is probed; a REFUSED or other rcode
 * came from a real server.
 */
void
am_dns_query_local(struct am_dns_query *q, int err, const struct ub_result *r)
{
	if (q->local_what != NULL)
		return;
	if (am_dns_ub_local(err)) {
		q->local_what = ub_strerror(err);
		q->local_err = am_dns_probe_local();
		return;
	}
	if (err == 0 && r != NULL && r->rcode != DNS_RCODE_SERVFAIL)
		return;
	(void)local_cause(q->dns, &q->local_what, &q->local_err);
}

/*
 * am_dns_timeout_local - a query of ours timed out: libunbound may have
 * spent the time retrying a socket it cannot open (dns.h).  Mutex not
 * held.
 */
void
am_dns_timeout_local(struct am_dns_query *q)
{
	const char	*what;
	int		 e;

	if (local_cause(q->dns, &what, &e))
		am_dns_budget_local(q->budget, what, e);
}
