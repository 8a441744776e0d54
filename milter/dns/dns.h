/*
 * dns.h - the one DNS resolver (libunbound) shared by SPF, DKIM and DMARC.
 *
 * One struct am_dns per process, created at start-up, shared by every
 * thread: all functions here are thread-safe.  It owns one ub_ctx (so one
 * cache) with threaded async mode and a pump thread that runs ub_process();
 * each query waits on its own condition variable, at most `timeout` seconds,
 * then is cancelled and reported as AM_DNS_TEMP.  A question answered before
 * (within its TTL) is answered from dns_cache.c in the caller's thread.
 *
 * Outcomes are classified the Postfix way so callers map them straight onto
 * results: OK (records), NXDOMAIN, NODATA (name exists, no such type),
 * TEMP (SERVFAIL, REFUSED, timeout, network: try again later),
 * PERM (malformed answer or a query name that cannot be asked).
 *
 * A stub, not a recursive resolver: every name goes to the name servers
 * (Nameservers or resolv.conf), the special-use ones libunbound would
 * answer itself (test., invalid., onion., home.arpa., the RFC 6303 and
 * RFC 1918 reverse zones) included; only localhost. and loopback reverse
 * names are answered locally.
 */
#ifndef AM_DNS_H
#define AM_DNS_H

#include <stddef.h>

struct ub_result;

enum am_dns_status {
	AM_DNS_OK = 0,
	AM_DNS_NXDOMAIN,
	AM_DNS_NODATA,
	AM_DNS_TEMP,
	AM_DNS_PERM
};

struct am_dns_opts {
	const char *const *nameservers;	/* "ip" or "ip@port"; NULL/0: /etc/resolv.conf */
	size_t		 nnameservers;
	unsigned int	 timeout;	/* seconds per query; 0 means 5 */
	int		 local_only;	/* unit tests: answer only from am_dns_add_local data */
};

struct am_dns;

/* NULL with a message in err */
struct am_dns	*am_dns_new(const struct am_dns_opts *, char *err, size_t errlen);
void		 am_dns_free(struct am_dns *);		/* NULL is fine; joins the pump */

/*
 * Unit-test seam: serve records from memory.  zone is a name to make
 * authoritative ("example.com"), rr a zone-file line
 * ("example.com. 300 IN TXT \"v=spf1 -all\"").  Call before the first query.
 * Names under a local zone without data answer NXDOMAIN.  Returns 0 or -1.
 */
int	am_dns_add_zone(struct am_dns *, const char *zone);
int	am_dns_add_local(struct am_dns *, const char *rr);

/*
 * Test seam (conformance suites): queries for zone and below that its
 * local data (am_dns_add_local) does not answer go to addr ("ip@port"),
 * e.g. a socket that never answers, to simulate a DNS timeout.  The zone
 * is made "typetransparent": local data still answers matching types.
 * Call before the first query.  Never used by the daemon.  0 or -1.
 */
int	am_dns_add_stub(struct am_dns *, const char *zone, const char *addr);

struct am_dns_budget;

/*
 * Blocking query (rrtype: 1 A, 28 AAAA, 15 MX, 16 TXT, 12 PTR, 5 CNAME...).
 * On AM_DNS_OK *res holds the answer (caller frees with am_dns_result_free);
 * otherwise *res is NULL.  res may be NULL when only the status matters.
 * The query counts against budget b (below); NULL: none.
 */
enum am_dns_status am_dns_query(struct am_dns *, struct am_dns_budget *b,
	    const char *name, int rrtype, struct ub_result **res);

/*
 * Asynchronous form, for libopendkim's start/wait hooks: start returns a
 * handle (NULL on ENOMEM, or with the failure already recorded in it);
 * wait blocks up to the timeout (or until *deadline_sec, absolute
 * CLOCK_MONOTONIC seconds, when non-zero) and returns the status, handing
 * the answer over like am_dns_query; a wait that times out returns
 * AM_DNS_TEMP and may be called again.  Every handle must end in exactly
 * one am_dns_query_done (which cancels it if still running).  b, when not
 * NULL, must outlive the handle: the wait is cut at its deadline.
 */
struct am_dns_query;
struct am_dns_query *am_dns_query_start(struct am_dns *,
	    struct am_dns_budget *b, const char *name, int rrtype);
enum am_dns_status am_dns_query_wait(struct am_dns_query *, long deadline_sec,
	    struct ub_result **res);
void	am_dns_query_done(struct am_dns_query *);

void	am_dns_result_free(struct ub_result *);		/* NULL is fine */

/*
 * TXT helper: each TXT record's character-strings concatenated (RFC 7208
 * 3.3, RFC 6376 3.6.2.2, RFC 9989 4.7), as NUL-terminated malloc'd strings.
 * On AM_DNS_OK *txt and *ntxt are set (free with am_dns_txt_free); otherwise
 * *txt is NULL and *ntxt 0.
 */
enum am_dns_status am_dns_txt(struct am_dns *, struct am_dns_budget *b,
	    const char *name, char ***txt, size_t *ntxt);
void	am_dns_txt_free(char **txt, size_t ntxt);

/*
 * One TXT rdata as libunbound hands it over (ub_result data[i], len[i]):
 * its character-strings concatenated into out, which must hold len + 1
 * bytes; NUL-terminated.  Returns the string length, or -1 if a string
 * runs past the end of the rdata.  For DNS layers that fill their own
 * structures (dns_spf.c).
 */
int	am_dns_txt_rdata(const void *rdata, size_t len, char *out);

/*
 * Per-message DNS budget (session.c sets the caps per phase): every query
 * started with a budget counts as one lookup against it, and its wait
 * ends by the budget's deadline.  A query started past the lookup cap or
 * the deadline is not asked and is AM_DNS_TEMP at once; a wait cut short
 * by the deadline is AM_DNS_TEMP.  Either way b->exhausted records why,
 * so the caller can report it.  The checks take the budget as a parameter
 * and pass it down to the query; it is the caller's, used by one thread
 * at a time, not shared.
 */
#define AM_DNS_TEMP_NAME_MAX	256	/* a query name, for temperror reasons */
#define AM_DNS_TEMP_KEEP	4	/* failed queries remembered (DKIM keys of a message) */
#define AM_DNS_BUDGET_LOOKUPS	0x1	/* lookup cap reached */
#define AM_DNS_BUDGET_TIME	0x2	/* deadline passed */

struct am_dns_prefetch;

struct am_dns_budget {
	long		 deadline_ms;	/* CLOCK_MONOTONIC milliseconds; 0: none */
	unsigned int	 lookups;	/* queries started so far */
	unsigned int	 max_lookups;	/* 0: no cap */
	int		 exhausted;	/* AM_DNS_BUDGET_* bits */
	const char	*local_what;	/* first local failure (below), static; NULL: none */
	int		 local_err;	/* its errno (EMFILE...), or 0 */
	/* set by the owner, kept by am_dns_budget_arm: */
	const char	*qid;		/* queue id for debug lines; borrowed, may be NULL */
	/*
	 * the message's look-ups started early (dns_prefetch.h), or NULL:
	 * a query of this budget takes its answer from there, counted as
	 * one lookup like any it asks itself; borrowed, same thread
	 */
	struct am_dns_prefetch *prefetch;
	/* am_dns_budget_cancel: no more queries, waits end (atomic) */
	int		 cancel;
	int		 cancellable;	/* set by the owner: waits poll cancel */
	/* the last query that ended AM_DNS_TEMP (kept across phases): */
	char		 temp_name[AM_DNS_TEMP_NAME_MAX];	/* "" if none */
	const char	*temp_why;	/* "SERVFAIL", "timeout", ...: static */
	/* and the last AM_DNS_TEMP_KEEP of them, for am_dns_budget_temp_of */
	char		 temp_names[AM_DNS_TEMP_KEEP][AM_DNS_TEMP_NAME_MAX];
	const char	*temp_whys[AM_DNS_TEMP_KEEP];
	unsigned int	 ntemp;		/* failures noted so far */
};

/* why the query for name failed, if it is one of the last kept; or NULL */
const char	*am_dns_budget_temp_of(const struct am_dns_budget *b,
		    const char *name);

/*
 * am_dns_budget_temp - "name: why" of the last query of b that failed
 * temporarily (e.g. "_dmarc.example.org: SERVFAIL", "sel._domainkey.
 * example.org: timeout"), into buf; NULL (buf untouched) if none.  The
 * checks put it in their temperror reasons (RFC 8601 reason, the log).
 */
const char	*am_dns_budget_temp(const struct am_dns_budget *b, char *buf,
		    size_t len);

/*
 * start a budget phase: seconds from now (0: no deadline), lookup cap;
 * clears exhausted, local_* and cancel.  The other fields are the owner's:
 * a budget starts zeroed ({ 0 }, calloc).
 */
void	am_dns_budget_arm(struct am_dns_budget *, unsigned int seconds,
	    unsigned int max_lookups);

/*
 * Local failures (issue 15).  A query that could not be asked or answered
 * because of *this process* (out of file descriptors, out of memory, a
 * libunbound error of its own) is AM_DNS_TEMP like a DNS outage, but the
 * budget records it in local_what/local_err, and the message turns it
 * into an internal error (session.c: OnInternalError), never temperror:
 * OnTempError accept would deliver a spoof whenever the host runs out of
 * descriptors.  How dns_local.c tells a local failure from a DNS one:
 *  - a ub_* error code (ub_resolve_async's return, or the callback's
 *    err): every code but UB_SYNTAX, UB_SERVFAIL and UB_NOID is local
 *    (am_dns_ub_local);
 *  - an answer libunbound synthesised as SERVFAIL, and a timeout: the
 *    same answer as a real outage, since libunbound reports a socket it
 *    could not open only on its own log ("can't create socket").  So
 *    dns_local.c then opens a UDP socket itself (am_dns_probe_local): if
 *    that fails with EMFILE, ENFILE, ENOMEM or ENOBUFS (am_dns_errno_local),
 *    the failure is local.  The probe is one socket()+close() and runs
 *    only on these rare outcomes.  It can be wrong only when the
 *    descriptors run out or come back between libunbound's attempt and
 *    the probe; wrong one way is the old temperror, the other a 451 the
 *    MTA retries: neither delivers a spoof that DNS would have rejected.
 *  - our own allocations (a query handle, the TXT strings) and those of
 *    the DNS layers (dns_spf.c, dns_dkim.c, through am_dns_budget_local).
 */
#define AM_DNS_LOCAL_SOCKET	"socket"	/* local_what of a failed probe */
/*
 * libunbound answers a question it failed on from its cache for 5 s
 * (NORR_TTL), also once the descriptors are back: for this long after a
 * failed probe, a SERVFAIL or a timeout counts as local too (local_what
 * AM_DNS_LOCAL_HELD, local_err that probe's errno).
 */
#define AM_DNS_LOCAL_HOLD_MS	6000
#define AM_DNS_LOCAL_HELD	"socket, within 6 s of a failure"
#define AM_DNS_LOCAL_MEMORY	"memory"	/* local_what of an allocation */

/*
 * am_dns_budget_cancel - from another thread: the budget's owner is
 * running in the background (dns_work.h) for a message that is gone.
 * Its queries not yet started are not asked (AM_DNS_TEMP "cancelled"),
 * a wait in progress ends within AM_DNS_CANCEL_POLL_MS, AM_DNS_TEMP.
 */
#define AM_DNS_CANCEL_POLL_MS	20
#define AM_DNS_CANCELLED	"cancelled"
void	am_dns_budget_cancel(struct am_dns_budget *b);

/*
 * am_dns_budget_merge_temp - b's phases ran after those of earlier (run
 * in the background, its own budget): make b's record of failed queries
 * (temp_name, the last AM_DNS_TEMP_KEEP, ntemp) what it would be had
 * earlier's queries been noted on b first.  Pure.
 */
void	am_dns_budget_merge_temp(struct am_dns_budget *b,
	    const struct am_dns_budget *earlier);

/* record a local failure on b (the first one sticks; b NULL: nothing) */
void	am_dns_budget_local(struct am_dns_budget *b, const char *what, int err);

/* "socket: Too many open files" for the budget's local failure, into buf */
void	am_dns_local_str(const struct am_dns_budget *b, char *buf, size_t len);

/* pure: is this ub_* error code a failure of our own process (1) or not (0)? */
int	am_dns_ub_local(int ub_err);
/* pure: is this errno a local resource shortage (EMFILE, ENFILE, ENOMEM, ENOBUFS)? */
int	am_dns_errno_local(int err);
/* open (and close) a UDP socket: its errno if am_dns_errno_local, else 0 */
int	am_dns_probe_local(void);

unsigned int	 am_dns_timeout(const struct am_dns *);
/* counters since am_dns_new: queries sent upstream (or to the cache) and timeouts */
void		 am_dns_stats(struct am_dns *, unsigned long *queries,
		    unsigned long *timeouts);
const char	*am_dns_status_str(enum am_dns_status);	/* "ok", "nxdomain", ... */

#endif /* AM_DNS_H */
