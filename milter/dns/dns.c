/*
 * dns.c - the one libunbound resolver shared by every thread.
 *
 * One ub_ctx in threaded async mode.  libunbound resolves in its own
 * background thread and writes answers to a pipe (ub_fd); our pump thread
 * poll()s that pipe and a self-pipe (for shutdown) and calls ub_process(),
 * which runs the query callbacks.  Each query is a small refcounted struct
 * with its own mutex and condition variable (CLOCK_MONOTONIC):
 *
 *	refs = 1 for the owner (until am_dns_query_done)
 *	     + 1 for the libunbound callback while it may still run.
 *
 * ub_cancel() succeeding means the callback will never run (libunbound
 * marks the query cancelled under its cfglock and ub_process skips it), so
 * done() drops the callback's reference itself; UB_NOID means the callback
 * has run or is about to run, and the callback drops its own reference.
 * Whoever drops the last reference frees the struct.
 *
 * Query names are checked before asking (RFC 1035 2.3.4: at most 253
 * characters without the final dot, labels 1..63 characters).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "dns/dns_log.h"
#include "dns/dns_prefetch.h"
#include "dns/dns_seam.h"
#include "dns/dns_work.h"

#define DNS_TIMEOUT_DEFAULT	5	/* seconds, when opts->timeout is 0 */
/*
 * descriptors that must be free before the first query: libevent's base
 * takes an epoll fd, a socket pair and an eventfd or pipe, and exit()s the
 * process if it cannot have them (see warm_up); with some to spare
 */
#define DNS_WARM_FDS		8
#define DNS_CLASS_IN		1
#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_SERVFAIL	2
#define DNS_RCODE_NXDOMAIN	3
#define DNS_LABEL_MAX		63
#define DNS_NAME_MAX		255	/* with the final dot, some slack */

struct am_dns {
	struct ub_ctx	*ctx;
	struct ub_ctx	*scratch;	/* checks local data; see add_data */
	pthread_t	 pump;
	int		 pump_running;
	int		 wake[2];	/* self-pipe: pump stops if readable */
	unsigned int	 timeout;	/* seconds per query */
	int		 local_only;	/* "." is a static zone */
	unsigned long	 nqueries;	/* atomic: queries sent, for metrics */
	unsigned long	 ntimeouts;	/* atomic: queries that timed out */
	long		 local_until;	/* atomic: CLOCK_MONOTONIC ms; see local_cause */
	int		 local_errno;	/* atomic: errno of that local failure */
	struct am_dns_cache *cache;	/* answers in front of libunbound */
	unsigned int	 nslots;	/* atomic: outstanding prefetches */
	struct am_dns_work *work;	/* background checks (dns_work.h) */
};

struct am_dns_query {
	struct am_dns		*dns;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 refs;		/* atomic; see top of file */
	int			 done;		/* status (and res) are final */
	int			 async_id;
	enum am_dns_status	 status;
	struct ub_result	*res;		/* only when status is OK */
	struct timespec		 deadline;	/* CLOCK_MONOTONIC */
	int			 timed_out;	/* counted in ntimeouts */
	const char		*local_what;	/* a local failure (dns.h), static */
	int			 local_err;	/* its errno, or 0 */
	int			 rrtype;
	const char		*tempwhy;	/* cause of a TEMP (dns_log.h), static */
	int			 cached;	/* answered by dns_cache.c */
	char			 name[DNS_NAME_MAX + 1];	/* for the cache, the log */
	struct am_dns_budget	*budget;	/* the caller's, or NULL; borrowed */
};

/* seterr - format a message into the caller's error buffer */
static void
seterr(char *err, size_t errlen, const char *what, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s: %s", what, why);
}

/* is_loopback - is "ip" or "ip@port" a loopback address? */
static int
is_loopback(const char *ns)
{
	char		 host[INET6_ADDRSTRLEN + 1];
	struct in_addr	 a4;
	struct in6_addr	 a6;
	size_t		 n;

	n = strcspn(ns, "@#");
	if (n >= sizeof(host))
		return 0;
	memcpy(host, ns, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

/* set_local_only - no upstream at all: "." is a static local zone */
static int
set_local_only(struct am_dns *dns, char *err, size_t errlen)
{
	int	 r;

	/*
	 * Everything not under a more specific local zone answers NXDOMAIN
	 * from memory: no query ever leaves the process.  Measured
	 * (libunbound 1.17): this must be config, applied at finalize;
	 * ub_ctx_zone_add(".") and a later ub_ctx_zone_add(child) lose "."
	 * for names sorting after the child, which then go to the roots.
	 */
	if ((r = ub_ctx_set_option(dns->ctx, "local-zone:", ". static")) != 0) {
		seterr(err, errlen, "local zone .", ub_strerror(r));
		return -1;
	}
	return 0;
}

/*
 * forward_special_zones - let the name server answer the special-use names.
 * libunbound answers its built-in local zones itself, as a recursive
 * resolver should: the RFC 6761 names test., invalid. (section 6.2, 6.4),
 * onion. (RFC 7686), home.arpa. (RFC 8375), and the RFC 6303 / RFC 1918 /
 * documentation reverse zones (NXDOMAIN, not asked of the AS112 servers).
 * We are a stub that forwards to the site's own resolver, which applies
 * those rules itself and may well serve such a zone: a lab's example.test
 * (SPF, DKIM keys, _dmarc) or the PTR records of its private addresses
 * (RFC 7208 5.5 ptr, 7.3 %{p}).  Answered locally, those came out
 * spf=none dkim=permerror dmarc=none.  localhost. and the loopback reverse
 * zones (RFC 6761 6.3) stay local.
 */
static int
forward_special_zones(struct am_dns *dns)
{
	static const char *const zones[] = {
		"test.", "invalid.", "onion.", "home.arpa.",
		"resolver.arpa.", "service.arpa.",	/* libunbound >= 1.19 */
		"0.in-addr.arpa.", "254.169.in-addr.arpa.",
		"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
		"113.0.203.in-addr.arpa.", "255.255.255.255.in-addr.arpa.",
		"0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		"0.0.ip6.arpa.", "d.f.ip6.arpa.", "8.e.f.ip6.arpa.",
		"9.e.f.ip6.arpa.", "a.e.f.ip6.arpa.", "b.e.f.ip6.arpa.",
		"8.b.d.0.1.0.0.2.ip6.arpa.",
	};
	char	 val[128];
	size_t	 i;

	if (ub_ctx_set_option(dns->ctx, "unblock-lan-zones:", "yes") != 0)
		return -1;			/* RFC 1918, RFC 6598 */
	/*
	 * An empty transparent zone of the same name replaces the default
	 * one and sends every query on.  Not "nodefault": measured
	 * (libunbound 1.17), ub_ctx_set_option keeps "test. nodefault"
	 * whole as the zone name, which then never matches.
	 */
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		snprintf(val, sizeof(val), "%s transparent", zones[i]);
		if (ub_ctx_set_option(dns->ctx, "local-zone:", val) != 0)
			return -1;
	}
	return 0;
}

/* set_upstream - forwarders, resolv.conf, or nothing at all (local_only) */
static int
set_upstream(struct am_dns *dns, const struct am_dns_opts *o, char *err,
    size_t errlen)
{
	size_t	 i;
	int	 r, loop = 0;

	if (o->local_only)
		return set_local_only(dns, err, errlen);
	if (o->nameservers == NULL || o->nnameservers == 0) {
		if ((r = ub_ctx_resolvconf(dns->ctx, NULL)) != 0) {
			seterr(err, errlen, "/etc/resolv.conf", ub_strerror(r));
			return -1;
		}
		/*
		 * resolv.conf often names a local cache (127.0.0.1,
		 * 127.0.0.53), which libunbound will not query unless told.
		 * We only forward, so allowing localhost is harmless.
		 */
		loop = 1;
	}
	for (i = 0; o->nameservers != NULL && i < o->nnameservers; i++) {
		if ((r = ub_ctx_set_fwd(dns->ctx, o->nameservers[i])) != 0) {
			seterr(err, errlen, o->nameservers[i], ub_strerror(r));
			return -1;
		}
		if (is_loopback(o->nameservers[i]))
			loop = 1;
	}
	if (forward_special_zones(dns) == -1) {
		seterr(err, errlen, "special-use zones", "cannot forward");
		return -1;
	}
	if (loop && (r = ub_ctx_set_option(dns->ctx,
	    "do-not-query-localhost:", "no")) != 0) {
		seterr(err, errlen, "do-not-query-localhost", ub_strerror(r));
		return -1;
	}
	return 0;
}

/* pump - thread body: run libunbound callbacks until told to stop */
static void *
pump(void *arg)
{
	struct am_dns	*dns = arg;
	struct pollfd	 pfd[2];

	pfd[0].fd = ub_fd(dns->ctx);
	pfd[0].events = POLLIN;
	pfd[1].fd = dns->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents & (POLLERR | POLLNVAL))
			break;
		if (pfd[0].revents != 0 && ub_process(dns->ctx) != 0)
			break;
	}
	return NULL;
}

/*
 * fds_free - can n more descriptors be opened right now?  0, or the errno
 * of the first that could not.  Each is closed again at once.
 */
static int
fds_free(int n)
{
	int	 fd[DNS_WARM_FDS], i, k, e = 0;

	for (k = 0; k < n && k < DNS_WARM_FDS; k++)
		if ((fd[k] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) ==
		    -1) {
			e = errno;
			break;
		}
	for (i = 0; i < k; i++)
		close(fd[i]);
	return e;
}

/*
 * warm_up - start libunbound's resolver thread now, not at the first
 * message.  libunbound makes its thread and its libevent base at the
 * first query, and libevent exit()s the whole process when it cannot
 * make its signal socketpair there ("evsig_init_: socketpair: Too many
 * open files", exit status 1): a first query made after the descriptors
 * ran out ended the daemon (issue 15).  One query that libunbound
 * answers from its own local data (the localhost. zone, RFC 6761 6.3: no
 * packet leaves) makes them now, while a failure is still a start-up
 * error.  Later queries reuse that thread and base; what they cannot get
 * (a socket) is a local failure of the message (dns.h).  local_only
 * resolvers (unit tests) skip this: their data must be added before the
 * first query.  Before it, DNS_WARM_FDS descriptors must be free (with
 * none, libevent would exit instead of failing); no other thread opens
 * any at this point of start-up.
 */
static int
warm_up(struct am_dns *dns, char *err, size_t errlen)
{
	struct am_dns_query	*q;
	char			 why[128];
	int			 e, failed;

	if ((e = fds_free(DNS_WARM_FDS)) != 0) {
		seterr(err, errlen, "resolver start: socket", strerror(e));
		return -1;
	}
	if ((q = am_dns_query_start(dns, NULL, "localhost.", 1)) == NULL) {
		seterr(err, errlen, "resolver start", strerror(ENOMEM));
		return -1;
	}
	/* done at once with a local cause: ub_resolve_async failed */
	pthread_mutex_lock(&q->mtx);
	failed = q->done && q->local_what != NULL;
	if (failed)
		snprintf(why, sizeof(why), "%s", q->local_what);
	pthread_mutex_unlock(&q->mtx);
	if (!failed)
		(void)am_dns_query_wait(q, 0, NULL);
	am_dns_query_done(q);
	if (failed)
		seterr(err, errlen, "resolver start", why);
	return failed ? -1 : 0;
}

/* am_dns_new - create the resolver and start its pump thread */
struct am_dns *
am_dns_new(const struct am_dns_opts *o, char *err, size_t errlen)
{
	struct am_dns	*dns;
	int		 r;

	if ((dns = calloc(1, sizeof(*dns))) == NULL) {
		seterr(err, errlen, "am_dns_new", strerror(errno));
		return NULL;
	}
	dns->wake[0] = dns->wake[1] = -1;
	dns->timeout = o->timeout ? o->timeout : DNS_TIMEOUT_DEFAULT;
	dns->local_only = o->local_only;
	/* local data (unit tests) may change between queries: no cache */
	if (!o->local_only && (dns->cache = am_dns_cache_new()) == NULL) {
		seterr(err, errlen, "am_dns_new", strerror(errno));
		goto fail;
	}
	if ((dns->work = am_dns_work_new()) == NULL) {
		seterr(err, errlen, "am_dns_new", strerror(errno));
		goto fail;
	}
	if ((dns->ctx = ub_ctx_create()) == NULL) {
		seterr(err, errlen, "ub_ctx_create", "failed");
		goto fail;
	}
	if ((r = ub_ctx_async(dns->ctx, 1)) != 0) {
		seterr(err, errlen, "ub_ctx_async", ub_strerror(r));
		goto fail;
	}
	if (set_upstream(dns, o, err, errlen) == -1)
		goto fail;
	if (pipe2(dns->wake, O_CLOEXEC) == -1) {
		seterr(err, errlen, "pipe", strerror(errno));
		goto fail;
	}
	if ((r = pthread_create(&dns->pump, NULL, pump, dns)) != 0) {
		seterr(err, errlen, "pthread_create", strerror(r));
		goto fail;
	}
	dns->pump_running = 1;
	if (!o->local_only && warm_up(dns, err, errlen) == -1)
		goto fail;
	return dns;
fail:
	am_dns_free(dns);
	return NULL;
}

/* am_dns_free - stop the pump, delete the context (cancels what is left) */
void
am_dns_free(struct am_dns *dns)
{
	char	 c = 'q';

	if (dns == NULL)
		return;
	am_dns_work_free(dns->work);	/* its jobs query through the pump */
	if (dns->pump_running) {
		while (write(dns->wake[1], &c, 1) == -1 && errno == EINTR)
			continue;
		pthread_join(dns->pump, NULL);
	}
	if (dns->ctx != NULL)
		ub_ctx_delete(dns->ctx);
	if (dns->scratch != NULL)
		ub_ctx_delete(dns->scratch);
	am_dns_cache_free(dns->cache);
	if (dns->wake[0] != -1)
		close(dns->wake[0]);
	if (dns->wake[1] != -1)
		close(dns->wake[1]);
	free(dns);
}

/*
 * zone_live - add a zone after finalize (the header says not to; still
 * works for flat zones).  Re-adding "." links the new zone to it again.
 */
static int
zone_live(struct am_dns *dns, const char *name)
{
	if (ub_ctx_zone_add(dns->ctx, name, "static") != 0)
		return -1;
	if (!dns->local_only)
		return 0;
	if (ub_ctx_zone_remove(dns->ctx, ".") != 0 ||
	    ub_ctx_zone_add(dns->ctx, ".", "static") != 0)
		return -1;
	return 0;
}

/*
 * add_data - local zone or data: as config while libunbound has not been
 * finalized yet (it builds its zone tree in one go then), else live.
 * Measured (libunbound 1.17): a zone added live gets no parent link, so a
 * name sorting just after it misses the enclosing "." static zone of
 * local_only mode and is sent upstream; config zones do not have that
 * problem.  Config is only parsed at finalize, so each item is first
 * tried live on a scratch context to report a bad one now.
 */
static int
add_data(struct am_dns *dns, int zone, const char *name, const char *val)
{
	int	 r;

	if (dns->scratch == NULL && (dns->scratch = ub_ctx_create()) == NULL)
		return -1;
	r = zone ? ub_ctx_zone_add(dns->scratch, name, "static") :
	    ub_ctx_data_add(dns->scratch, val);
	if (r != 0)
		return -1;
	r = ub_ctx_set_option(dns->ctx, zone ? "local-zone:" : "local-data:",
	    val);
	if (r == UB_AFTERFINAL && !zone)
		r = ub_ctx_data_add(dns->ctx, val);
	else if (r == UB_AFTERFINAL)
		r = zone_live(dns, name);
	return r == 0 ? 0 : -1;
}

/* am_dns_add_zone - make zone authoritative from local data */
int
am_dns_add_zone(struct am_dns *dns, const char *zone)
{
	char	 val[DNS_NAME_MAX + sizeof(" static") + 1];
	int	 n;

	if (strpbrk(zone, " \t\"") != NULL)
		return -1;
	n = snprintf(val, sizeof(val), "%s static", zone);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -1;
	return add_data(dns, 1, zone, val);
}

/* am_dns_add_local - add one zone-file line of local data */
int
am_dns_add_local(struct am_dns *dns, const char *rr)
{
	return add_data(dns, 0, NULL, rr);
}

/* am_dns_add_stub - test seam: zone answered by addr where data is silent */
int
am_dns_add_stub(struct am_dns *dns, const char *zone, const char *addr)
{
	char	 val[DNS_NAME_MAX + sizeof(" typetransparent") + 1];
	int	 n;

	if (strpbrk(zone, " \t\"") != NULL)
		return -1;
	n = snprintf(val, sizeof(val), "%s typetransparent", zone);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -1;
	if (ub_ctx_set_option(dns->ctx, "local-zone:", val) != 0 ||
	    ub_ctx_set_stub(dns->ctx, zone, addr, 0) != 0 ||
	    ub_ctx_set_option(dns->ctx, "do-not-query-localhost:", "no") != 0)
		return -1;
	return 0;
}

/* am_dns_stats - queries sent and timed out so far (for metrics) */
void
am_dns_stats(struct am_dns *dns, unsigned long *queries,
    unsigned long *timeouts)
{
	*queries = __atomic_load_n(&dns->nqueries, __ATOMIC_RELAXED);
	*timeouts = __atomic_load_n(&dns->ntimeouts, __ATOMIC_RELAXED);
}

/* now_ms - CLOCK_MONOTONIC in milliseconds */
static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* am_dns_budget_arm - a new phase: deadline from now and a lookup cap */
void
am_dns_budget_arm(struct am_dns_budget *b, unsigned int seconds,
    unsigned int max_lookups)
{
	b->deadline_ms = seconds > 0 ? now_ms() + (long)seconds * 1000 : 0;
	b->lookups = 0;
	b->max_lookups = max_lookups;
	b->exhausted = 0;
	b->local_what = NULL;
	b->local_err = 0;
	b->cancel = 0;
}

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

/* budget_take - may the budget's owner start one more query? */
static int
budget_take(struct am_dns_budget *b)
{
	if (b == NULL)
		return 1;
	if (__atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE))
		return 0;
	if (b->max_lookups > 0 && b->lookups >= b->max_lookups) {
		b->exhausted |= AM_DNS_BUDGET_LOOKUPS;
		return 0;
	}
	if (b->deadline_ms > 0 && now_ms() >= b->deadline_ms) {
		b->exhausted |= AM_DNS_BUDGET_TIME;
		return 0;
	}
	b->lookups++;
	return 1;
}

/* budget_why - why budget_take refused */
static const char *
budget_why(const struct am_dns_budget *b)
{
	if (b != NULL && __atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE))
		return AM_DNS_CANCELLED;
	return "not asked: DNS budget exhausted";
}

/* budget_clamp - bring *dl forward to the budget's deadline */
static int
budget_clamp(const struct am_dns_budget *b, struct timespec *dl)
{
	long			 ms;

	if (b == NULL || b->deadline_ms == 0)
		return 0;
	ms = (long)dl->tv_sec * 1000 + dl->tv_nsec / 1000000;
	if (ms <= b->deadline_ms)
		return 0;
	dl->tv_sec = b->deadline_ms / 1000;
	dl->tv_nsec = (b->deadline_ms % 1000) * 1000000;
	return 1;
}

/* am_dns_timeout - seconds a query may take */
unsigned int
am_dns_timeout(const struct am_dns *dns)
{
	return dns->timeout;
}

/* name_ok - RFC 1035 2.3.4 lengths; no empty label; one final dot allowed */
static int
name_ok(const char *name)
{
	size_t	 len, lab = 0;

	len = strlen(name);
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (; len > 0; name++, len--) {
		if (*name != '.') {
			if (++lab > DNS_LABEL_MAX)
				return 0;
			continue;
		}
		if (lab == 0)
			return 0;
		lab = 0;
	}
	return lab > 0;
}

/* am_dns_classify - libunbound's answer as an am_dns_status (dns_seam.h) */
enum am_dns_status
am_dns_classify(int err, const struct ub_result *r)
{
	if (err != 0 || r == NULL || r->bogus)
		return AM_DNS_TEMP;
	if (r->rcode == DNS_RCODE_NXDOMAIN)
		return AM_DNS_NXDOMAIN;
	if (r->rcode != DNS_RCODE_NOERROR)
		return AM_DNS_TEMP;	/* SERVFAIL, REFUSED, ... */
	return r->havedata ? AM_DNS_OK : AM_DNS_NODATA;
}

/*
 * query_unref - drop one reference, mutex NOT held; the last one frees.
 * The count is atomic and dropped after unlocking, so the mutex is
 * destroyed only once the other side has entirely left it.
 */
static void
query_unref(struct am_dns_query *q)
{
	if (__atomic_sub_fetch(&q->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	ub_resolve_free(q->res);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mtx);
	free(q);
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
	long	 now = now_ms();
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
 * query_local - a TEMP outcome: was it this process's fault (dns.h)?
 * err is libunbound's error code, r its answer or NULL.  A SERVFAIL is
 * what libunbound answers when it could not open a socket, so a SERVFAIL
 * (and a timeout, in query_wait) is probed; a REFUSED or other rcode
 * came from a real server.
 */
static void
query_local(struct am_dns_query *q, int err, const struct ub_result *r)
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

/* temp_why - the cause of a TEMP answer, for reasons and the log */
static const char *
temp_why(int err, const struct ub_result *r)
{
	if (err != 0)
		return ub_strerror(err);
	if (r == NULL)
		return "no answer";
	if (r->bogus)
		return "DNSSEC bogus";
	return am_dns_rcode_str(r->rcode);
}

/* query_cb - libunbound callback (pump thread): store, signal, unref */
static void
query_cb(void *arg, int err, struct ub_result *r)
{
	struct am_dns_query	*q = arg;

	pthread_mutex_lock(&q->mtx);
	q->status = am_dns_classify(err, r);
	if (q->status == AM_DNS_TEMP) {
		q->tempwhy = temp_why(err, r);
		query_local(q, err, r);
	}
	if (err == 0)
		am_dns_cache_put(q->dns->cache, q->name, q->rrtype, q->status,
		    r);
	if (q->status == AM_DNS_OK)
		q->res = r;
	else
		ub_resolve_free(r);
	q->done = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->mtx);
	query_unref(q);
}

/* query_new - zeroed query with a monotonic condvar; NULL on failure */
static struct am_dns_query *
query_new(struct am_dns *dns)
{
	struct am_dns_query	*q;
	pthread_condattr_t	 ca;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if (pthread_condattr_init(&ca) != 0)
		goto fail;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail;
	}
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&q->mtx, NULL) != 0) {
		pthread_cond_destroy(&q->cond);
		goto fail;
	}
	q->dns = dns;
	q->refs = 1;
	clock_gettime(CLOCK_MONOTONIC, &q->deadline);
	q->deadline.tv_sec += dns->timeout;
	return q;
fail:
	free(q);
	return NULL;
}

/*
 * prefetched - the caller's question was started early (dns_prefetch.h):
 * its handle becomes the caller's query, counted on b like one it asks,
 * waited on from now.  Returns the query to hand back (the prefetched
 * one, or q refused by the budget), or NULL to ask as usual: none was
 * prefetched, or it failed temporarily (asked again, as it would be).
 */
static struct am_dns_query *
prefetched(struct am_dns_query *q, struct am_dns_budget *b)
{
	struct am_dns_query	*p;
	int			 failed;

	if (b == NULL || b->prefetch == NULL ||
	    (p = am_dns_prefetch_take(b->prefetch, q->name, q->rrtype)) == NULL)
		return NULL;
	pthread_mutex_lock(&p->mtx);
	failed = p->done && p->status == AM_DNS_TEMP;
	pthread_mutex_unlock(&p->mtx);
	if (failed) {
		am_dns_query_done(p);
		return NULL;
	}
	if (!budget_take(b)) {
		/* it would not have been asked: not used either */
		am_dns_query_done(p);
		q->status = AM_DNS_TEMP;
		q->tempwhy = budget_why(b);
		q->done = 1;
		return q;
	}
	query_unref(q);
	clock_gettime(CLOCK_MONOTONIC, &p->deadline);
	p->deadline.tv_sec += p->dns->timeout;
	p->budget = b;
	return p;
}

/* am_dns_query_start - begin one query; the handle ends in query_done */
struct am_dns_query *
am_dns_query_start(struct am_dns *dns, struct am_dns_budget *b,
    const char *name, int rrtype)
{
	struct am_dns_query	*q, *p;
	int			 r;

	if ((q = query_new(dns)) == NULL)
		return NULL;
	snprintf(q->name, sizeof(q->name), "%s", name ? name : "");
	q->rrtype = rrtype;
	q->budget = b;		/* for am_dns_note, whatever the outcome */
	if (name == NULL || !name_ok(name)) {
		q->status = AM_DNS_PERM;	/* never asked */
		q->done = 1;
		return q;
	}
	/* started early for this message: taken over, not asked again */
	if ((p = prefetched(q, b)) != NULL)
		return p;
	/* a repeated question is answered here, in the caller's thread */
	if (am_dns_cache_get(dns->cache, name, rrtype, &q->status, &q->res)) {
		q->done = q->cached = 1;
		return q;
	}
	if (!budget_take(b)) {
		q->status = AM_DNS_TEMP;	/* over the message's budget */
		q->tempwhy = budget_why(b);
		q->done = 1;
		return q;
	}
	__atomic_store_n(&q->refs, 2, __ATOMIC_RELEASE); /* owner + callback */
	r = ub_resolve_async(dns->ctx, name, rrtype, DNS_CLASS_IN, q,
	    query_cb, &q->async_id);
	if (r == 0)
		__atomic_add_fetch(&dns->nqueries, 1, __ATOMIC_RELAXED);
	if (r != 0) {
		/* the callback will never run */
		__atomic_store_n(&q->refs, 1, __ATOMIC_RELEASE);
		q->status = AM_DNS_TEMP;
		q->tempwhy = ub_strerror(r);
		q->done = 1;
		query_local(q, r, NULL);
	}
	return q;
}

/*
 * timeout_local - a query of ours timed out: libunbound may have spent the
 * time retrying a socket it cannot open (dns.h).  Mutex not held.
 */
static void
timeout_local(struct am_dns_query *q)
{
	const char	*what;
	int		 e;

	if (local_cause(q->dns, &what, &e))
		am_dns_budget_local(q->budget, what, e);
}

/* cancelled - has the budget's owner been cancelled (dns.h)? */
static int
cancelled(struct am_dns_budget *b)
{
	return b != NULL && __atomic_load_n(&b->cancel, __ATOMIC_ACQUIRE);
}

/* before - a earlier than b */
static int
before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	    (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * wait_slice - how long one condition wait may sleep: until *dl, or for
 * a budget that can be cancelled (one run in the background, dns_work.h)
 * at most AM_DNS_CANCEL_POLL_MS, so a cancel is seen soon.  Into *slice.
 */
static const struct timespec *
wait_slice(const struct am_dns_budget *b, const struct timespec *dl,
    struct timespec *slice)
{
	*slice = *dl;
	if (b == NULL || !b->cancellable)
		return slice;
	clock_gettime(CLOCK_MONOTONIC, slice);
	slice->tv_nsec += AM_DNS_CANCEL_POLL_MS * 1000000L;
	if (slice->tv_nsec >= 1000000000L) {
		slice->tv_sec++;
		slice->tv_nsec -= 1000000000L;
	}
	if (!before(slice, dl))
		*slice = *dl;
	return slice;
}

/*
 * am_dns_query_wait - wait for the answer until the deadline: deadline_sec
 * (absolute CLOCK_MONOTONIC seconds) if set, else the query's own (start
 * plus the resolver timeout), so a second wait after a timeout returns at
 * once unless the answer has come in meanwhile.
 */
enum am_dns_status
am_dns_query_wait(struct am_dns_query *q, long deadline_sec,
    struct ub_result **res)
{
	struct timespec		 dl = q->deadline, slice;
	enum am_dns_status	 st;
	int			 clamped;

	if (res != NULL)
		*res = NULL;
	if (deadline_sec != 0) {
		dl.tv_sec = deadline_sec;
		dl.tv_nsec = 0;
	}
	clamped = budget_clamp(q->budget, &dl);
	pthread_mutex_lock(&q->mtx);
	while (!q->done && !cancelled(q->budget))
		if (pthread_cond_timedwait(&q->cond, &q->mtx,
		    wait_slice(q->budget, &dl, &slice)) == ETIMEDOUT &&
		    !before(&slice, &dl))
			break;
	if (!q->done && cancelled(q->budget)) {
		pthread_mutex_unlock(&q->mtx);
		am_dns_note(q->budget, q->name, q->rrtype, AM_DNS_TEMP,
		    AM_DNS_CANCELLED, NULL, 0);
		return AM_DNS_TEMP;
	}
	if (!q->done) {
		if (!q->timed_out++)
			__atomic_add_fetch(&q->dns->ntimeouts, 1,
			    __ATOMIC_RELAXED);
		pthread_mutex_unlock(&q->mtx);
		if (clamped)
			q->budget->exhausted |= AM_DNS_BUDGET_TIME;
		else
			timeout_local(q);
		am_dns_note(q->budget, q->name, q->rrtype, AM_DNS_TEMP,
		    clamped ? "DNS budget deadline" : "timeout", NULL, 0);
		return AM_DNS_TEMP;	/* timed out; may wait again */
	}
	st = q->status;
	if (st == AM_DNS_TEMP && q->local_what != NULL)
		am_dns_budget_local(q->budget, q->local_what, q->local_err);
	am_dns_note(q->budget, q->name, q->rrtype, st, st == AM_DNS_TEMP ?
	    q->tempwhy : NULL, q->res, q->cached);
	if (st == AM_DNS_OK && res != NULL) {
		*res = q->res;		/* handed over once */
		q->res = NULL;
	}
	pthread_mutex_unlock(&q->mtx);
	return st;
}

/* am_dns_query_done - cancel if still running, drop the owner's reference */
void
am_dns_query_done(struct am_dns_query *q)
{
	int	 done;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mtx);
	done = q->done;
	pthread_mutex_unlock(&q->mtx);
	/*
	 * Cancel without holding our mutex: the callback takes it, and
	 * libunbound may be inside ub_process() holding its own lock.
	 */
	if (!done && ub_cancel(q->dns->ctx, q->async_id) == 0)
		query_unref(q);		/* the callback will never run */
	query_unref(q);
}

/* am_dns_query - blocking query: start, wait, done */
enum am_dns_status
am_dns_query(struct am_dns *dns, struct am_dns_budget *b, const char *name,
    int rrtype, struct ub_result **res)
{
	struct am_dns_query	*q;
	enum am_dns_status	 st;

	if (res != NULL)
		*res = NULL;
	if ((q = am_dns_query_start(dns, b, name, rrtype)) == NULL) {
		am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		return AM_DNS_TEMP;
	}
	st = am_dns_query_wait(q, 0, res);
	am_dns_query_done(q);
	return st;
}

/* am_dns_work_of - the resolver's background pool */
struct am_dns_work *
am_dns_work_of(struct am_dns *dns)
{
	return dns != NULL ? dns->work : NULL;
}

/* am_dns_slot_take - one more outstanding prefetch, if below max */
int
am_dns_slot_take(struct am_dns *dns, unsigned int max)
{
	unsigned int	 n = __atomic_load_n(&dns->nslots, __ATOMIC_RELAXED);

	do {
		if (n >= max)
			return 0;
	} while (!__atomic_compare_exchange_n(&dns->nslots, &n, n + 1, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED));
	return 1;
}

/* am_dns_slot_give - one outstanding prefetch fewer */
void
am_dns_slot_give(struct am_dns *dns)
{
	__atomic_sub_fetch(&dns->nslots, 1, __ATOMIC_RELAXED);
}

/* am_dns_slots - outstanding prefetches in the process */
unsigned int
am_dns_slots(struct am_dns *dns)
{
	return __atomic_load_n(&dns->nslots, __ATOMIC_RELAXED);
}

/* am_dns_cached - is a live answer for (name, rrtype) in the cache? */
int
am_dns_cached(struct am_dns *dns, const char *name, int rrtype)
{
	enum am_dns_status	 st;

	return am_dns_cache_get(dns->cache, name, rrtype, &st, NULL);
}

/* am_dns_budget_cancel - see dns.h */
void
am_dns_budget_cancel(struct am_dns_budget *b)
{
	if (b != NULL)
		__atomic_store_n(&b->cancel, 1, __ATOMIC_RELEASE);
}

/* am_dns_result_free - free an answer handed over by a query */
void
am_dns_result_free(struct ub_result *r)
{
	if (r != NULL)
		ub_resolve_free(r);
}

/* am_dns_txt_rdata - one TXT rdata's character-strings joined into out */
int
am_dns_txt_rdata(const void *rdata, size_t len, char *out)
{
	const unsigned char	*p = rdata;
	char			*o = out;
	size_t			 n;

	for (; len > 0; p += n, len -= n) {
		n = *p++;
		len--;
		if (n > len)		/* string runs past the rdata */
			return -1;
		memcpy(o, p, n);
		o += n;
	}
	*o = '\0';
	return (int)(o - out);
}

/* txt_join - one TXT rdata as a malloc'd string in *out */
static enum am_dns_status
txt_join(const char *p, size_t len, char **out)
{
	if ((*out = malloc(len + 1)) == NULL)
		return AM_DNS_TEMP;
	if (am_dns_txt_rdata(p, len, *out) == -1) {
		free(*out);
		*out = NULL;
		return AM_DNS_PERM;
	}
	return AM_DNS_OK;
}

/*
 * am_dns_txt_split - every TXT record of r as a string (dns_seam.h).  A
 * negative length is malformed (libunbound never hands one over).
 */
enum am_dns_status
am_dns_txt_split(const struct ub_result *r, struct am_dns_budget *b,
    char ***txt, size_t *ntxt)
{
	char			**v;
	size_t			 i, n;
	enum am_dns_status	 st;

	*txt = NULL;
	*ntxt = 0;
	for (n = 0; r->data != NULL && r->data[n] != NULL; n++)
		continue;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		return AM_DNS_TEMP;
	}
	for (i = 0; i < n; i++) {
		st = r->len[i] < 0 ? AM_DNS_PERM :
		    txt_join(r->data[i], (size_t)r->len[i], &v[i]);
		if (st == AM_DNS_TEMP)
			am_dns_budget_local(b, AM_DNS_LOCAL_MEMORY, ENOMEM);
		if (st != AM_DNS_OK) {
			am_dns_txt_free(v, i);
			return st;	/* malformed: PERM; ENOMEM: TEMP */
		}
	}
	*txt = v;
	*ntxt = n;
	return AM_DNS_OK;
}

/* am_dns_txt - TXT records of name, strings concatenated per record */
enum am_dns_status
am_dns_txt(struct am_dns *dns, struct am_dns_budget *b, const char *name,
    char ***txt, size_t *ntxt)
{
	struct ub_result	*r;
	enum am_dns_status	 st;

	*txt = NULL;
	*ntxt = 0;
	if ((st = am_dns_query(dns, b, name, 16, &r)) != AM_DNS_OK)
		return st;
	st = am_dns_txt_split(r, b, txt, ntxt);
	am_dns_result_free(r);
	return st;
}

/* am_dns_txt_free - free what am_dns_txt returned */
void
am_dns_txt_free(char **txt, size_t ntxt)
{
	size_t	 i;

	if (txt == NULL)
		return;
	for (i = 0; i < ntxt; i++)
		free(txt[i]);
	free(txt);
}

/* am_dns_status_str - "ok", "nxdomain", "nodata", "temp", "perm" */
const char *
am_dns_status_str(enum am_dns_status st)
{
	switch (st) {
	case AM_DNS_OK:
		return "ok";
	case AM_DNS_NXDOMAIN:
		return "nxdomain";
	case AM_DNS_NODATA:
		return "nodata";
	case AM_DNS_TEMP:
		return "temp";
	case AM_DNS_PERM:
		return "perm";
	}
	return "unknown";
}
