/*
 * dns.c - the one libunbound resolver shared by every thread: its context
 * from start-up to shutdown.
 *
 * One ub_ctx in threaded async mode.  libunbound resolves in its own
 * background thread and writes answers to a pipe (ub_fd); our pump thread
 * poll()s that pipe and a self-pipe (for shutdown) and calls ub_process(),
 * which runs the query callbacks (dns_query.c).  Here: the upstream
 * (forwarders, resolv.conf, or local data only), the local data of the
 * tests, the warm-up of libunbound's thread, and the counters the other
 * files keep in struct am_dns (dns_int.h).
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
#include <unistd.h>

#include <unbound.h>

#include "dns/dns.h"
#include "dns/dns_cache.h"
#include "dns/dns_int.h"
#include "dns/dns_prefetch.h"
#include "dns/dns_work.h"

#define DNS_TIMEOUT_DEFAULT	5	/* seconds, when opts->timeout is 0 */
/*
 * descriptors that must be free before the first query: libevent's base
 * takes an epoll fd, a socket pair and an eventfd or pipe, and exit()s the
 * process if it cannot have them (see warm_up); with some to spare
 */
#define DNS_WARM_FDS		8

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

/* am_dns_timeout - seconds a query may take */
unsigned int
am_dns_timeout(const struct am_dns *dns)
{
	return dns->timeout;
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
