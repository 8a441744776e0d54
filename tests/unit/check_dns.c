/*
 * check_dns.c - the libunbound resolver: local data (TXT joining, several
 * records, NXDOMAIN, NODATA, A/AAAA, bad names), the async handle API,
 * many threads on one context, and upstream failures from a real UDP
 * socket on loopback: one that never answers (timeout -> TEMP) and one
 * that answers SERVFAIL or REFUSED (-> TEMP).  Local failures (issue 15):
 * the classification on fixed data, and a fault test that lowers this
 * process's RLIMIT_NOFILE so libunbound's sockets really fail.
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
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
#include "dns/dns_seam.h"

#define T_A	1
#define T_TXT	16
#define T_AAAA	28
#define T_MX	15

static struct am_dns	*dns;

static const char *zone_data[] = {
	"example.com. 300 IN TXT \"v=spf1 -all\"",
	"multi.example.com. 300 IN TXT "
	    "\"v=spf1 \" \"ip4:192.0.2.0/24 \" \"-all\"",
	"many.example.com. 300 IN TXT \"one\"",
	"many.example.com. 300 IN TXT \"two\" \"2\"",
	"many.example.com. 300 IN TXT \"three\"",
	"host.example.com. 300 IN A 192.0.2.10",
	"host.example.com. 300 IN A 192.0.2.11",
	"host6.example.com. 300 IN AAAA 2001:db8::1",
	"empty.example.com. 300 IN TXT \"\"",
	"example.com. 300 IN MX 10 mx.example.com.",
};

/* mono - CLOCK_MONOTONIC seconds as a double */
static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* setup - a local-only resolver with the test zone */
static void
setup(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	char			 err[256];
	size_t			 i;

	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_dns_add_zone(dns, "example.com"), 0);
	for (i = 0; i < sizeof(zone_data) / sizeof(zone_data[0]); i++)
		ck_assert_int_eq(am_dns_add_local(dns, zone_data[i]), 0);
}

/* teardown - free the resolver */
static void
teardown(void)
{
	am_dns_free(dns);
	dns = NULL;
}

/* txt_one - exactly one TXT string expected */
static void
txt_one(const char *name, const char *want)
{
	char	**txt;
	size_t	 n;

	ck_assert_int_eq(am_dns_txt(dns, NULL, name, &txt, &n), AM_DNS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(txt[0], want);
	am_dns_txt_free(txt, n);
}

START_TEST(test_txt_single)
{
	txt_one("example.com", "v=spf1 -all");
	txt_one("example.com.", "v=spf1 -all");
	txt_one("EXAMPLE.com", "v=spf1 -all");
	txt_one("empty.example.com", "");
}
END_TEST

START_TEST(test_txt_multistring)
{
	txt_one("multi.example.com", "v=spf1 ip4:192.0.2.0/24 -all");
}
END_TEST

START_TEST(test_txt_several)
{
	char	**txt;
	size_t	 n, i;
	int	 seen = 0;

	ck_assert_int_eq(am_dns_txt(dns, NULL, "many.example.com", &txt, &n),
	    AM_DNS_OK);
	ck_assert_uint_eq(n, 3);
	for (i = 0; i < n; i++) {
		if (strcmp(txt[i], "one") == 0)
			seen |= 1;
		else if (strcmp(txt[i], "two2") == 0)
			seen |= 2;
		else if (strcmp(txt[i], "three") == 0)
			seen |= 4;
	}
	ck_assert_int_eq(seen, 7);
	am_dns_txt_free(txt, n);
}
END_TEST

START_TEST(test_nxdomain)
{
	char		**txt = (char **)1;
	size_t		 n = 9;
	double		 t0 = mono();
	struct ub_result *r = (struct ub_result *)1;

	ck_assert_int_eq(am_dns_txt(dns, NULL, "nope.example.com", &txt, &n),
	    AM_DNS_NXDOMAIN);
	ck_assert_ptr_null(txt);
	ck_assert_uint_eq(n, 0);
	/* outside every zone we added: still answered from memory */
	ck_assert_int_eq(am_dns_query(dns, NULL, "www.example.net", T_A, &r),
	    AM_DNS_NXDOMAIN);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(am_dns_query(dns, NULL, "google.com", T_TXT, NULL),
	    AM_DNS_NXDOMAIN);
	ck_assert_msg(mono() - t0 < 0.5, "local NXDOMAIN took %.2fs",
	    mono() - t0);
}
END_TEST

START_TEST(test_nodata)
{
	char	**txt;
	size_t	 n;

	ck_assert_int_eq(am_dns_txt(dns, NULL, "host.example.com", &txt, &n),
	    AM_DNS_NODATA);
	ck_assert_ptr_null(txt);
	ck_assert_int_eq(am_dns_query(dns, NULL, "host6.example.com", T_A, NULL),
	    AM_DNS_NODATA);
	ck_assert_int_eq(am_dns_query(dns, NULL, "example.com", T_AAAA, NULL),
	    AM_DNS_NODATA);
}
END_TEST

START_TEST(test_addr)
{
	struct ub_result	*r;
	unsigned char		 a6[16];
	int			 i, seen = 0;

	ck_assert_int_eq(am_dns_query(dns, NULL, "host.example.com", T_A, &r),
	    AM_DNS_OK);
	ck_assert_ptr_nonnull(r);
	for (i = 0; r->data[i] != NULL; i++) {
		ck_assert_int_eq(r->len[i], 4);
		ck_assert_int_eq((unsigned char)r->data[i][0], 192);
		seen |= 1 << ((unsigned char)r->data[i][3] - 10);
	}
	ck_assert_int_eq(i, 2);
	ck_assert_int_eq(seen, 3);
	am_dns_result_free(r);

	ck_assert_int_eq(am_dns_query(dns, NULL, "host6.example.com", T_AAAA, &r),
	    AM_DNS_OK);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::1", a6), 1);
	ck_assert_int_eq(r->len[0], 16);
	ck_assert_int_eq(memcmp(r->data[0], a6, 16), 0);
	ck_assert_ptr_null(r->data[1]);
	am_dns_result_free(r);

	ck_assert_int_eq(am_dns_query(dns, NULL, "example.com", T_MX, &r),
	    AM_DNS_OK);
	am_dns_result_free(r);
	am_dns_result_free(NULL);
}
END_TEST

START_TEST(test_bad_names)
{
	char	 longname[300];
	char	 label[70];

	memset(longname, 'a', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(am_dns_query(dns, NULL, longname, T_TXT, NULL), AM_DNS_PERM);
	/* 254 characters: one too many */
	longname[254] = '\0';
	for (int i = 63; i < 254; i += 64)
		longname[i] = '.';
	ck_assert_int_eq(am_dns_query(dns, NULL, longname, T_TXT, NULL), AM_DNS_PERM);
	longname[253] = '\0';		/* 253: fine, just not there */
	ck_assert_int_eq(am_dns_query(dns, NULL, longname, T_TXT, NULL),
	    AM_DNS_NXDOMAIN);
	memset(label, 'b', 64);
	strcpy(label + 64, ".com");
	ck_assert_int_eq(am_dns_query(dns, NULL, label, T_TXT, NULL), AM_DNS_PERM);
	ck_assert_int_eq(am_dns_query(dns, NULL, "a..example.com", T_TXT, NULL),
	    AM_DNS_PERM);
	ck_assert_int_eq(am_dns_query(dns, NULL, ".example.com", T_TXT, NULL),
	    AM_DNS_PERM);
	ck_assert_int_eq(am_dns_query(dns, NULL, "", T_TXT, NULL), AM_DNS_PERM);
	ck_assert_int_eq(am_dns_query(dns, NULL, ".", T_TXT, NULL), AM_DNS_PERM);
	ck_assert_int_eq(am_dns_query(dns, NULL, "example.com..", T_TXT, NULL),
	    AM_DNS_PERM);
}
END_TEST

START_TEST(test_bad_local_data)
{
	ck_assert_int_eq(am_dns_add_local(dns, "bad. 300 IN MX x y."), -1);
	ck_assert_int_eq(am_dns_add_local(dns, "bad. 300 IN A 1.2.3"), -1);
	ck_assert_int_eq(am_dns_add_local(dns, "bad. 300 IN NOPE x"), -1);
	ck_assert_int_eq(am_dns_add_zone(dns, "a b"), -1);
	ck_assert_int_eq(am_dns_add_zone(dns, "a..b"), -1);
	/* nothing bad reached the resolver: it still answers */
	txt_one("example.com", "v=spf1 -all");
}
END_TEST

START_TEST(test_late_zone)
{
	txt_one("example.com", "v=spf1 -all");		/* finalizes */
	ck_assert_int_eq(am_dns_add_zone(dns, "late.example"), 0);
	ck_assert_int_eq(am_dns_add_local(dns,
	    "late.example. 300 IN TXT \"late\""), 0);
	txt_one("late.example", "late");
	/* names sorting next to the new zone still stay local */
	ck_assert_int_eq(am_dns_query(dns, NULL, "m.example", T_A, NULL),
	    AM_DNS_NXDOMAIN);
	ck_assert_int_eq(am_dns_query(dns, NULL, "zz.late.example", T_A, NULL),
	    AM_DNS_NXDOMAIN);
	ck_assert_int_eq(am_dns_query(dns, NULL, "www.example.net", T_A, NULL),
	    AM_DNS_NXDOMAIN);
}
END_TEST

START_TEST(test_txt_rdata)
{
	static const char	 good[] = "\003abc\000\002de";
	static const char	 bad[] = "\003abc\005de";
	char			 out[16];

	ck_assert_int_eq(am_dns_txt_rdata(good, sizeof(good) - 1, out), 5);
	ck_assert_str_eq(out, "abcde");
	ck_assert_int_eq(am_dns_txt_rdata(bad, sizeof(bad) - 1, out), -1);
	ck_assert_int_eq(am_dns_txt_rdata("", 0, out), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_resolvconf)
{
	struct am_dns_opts	 o = { .timeout = 1 };
	struct am_dns		*d;
	char			 err[256] = "";

	/* reads /etc/resolv.conf; asks nothing */
	d = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(d != NULL, "am_dns_new: %s", err);
	ck_assert_uint_eq(am_dns_timeout(d), 1);
	am_dns_free(d);
}
END_TEST

START_TEST(test_async_api)
{
	struct am_dns_query	*q;
	struct ub_result	*r;

	/* answer handed over once, then kept no more */
	q = am_dns_query_start(dns, NULL, "host.example.com", T_A);
	ck_assert_ptr_nonnull(q);
	ck_assert_int_eq(am_dns_query_wait(q, 0, &r), AM_DNS_OK);
	ck_assert_ptr_nonnull(r);
	am_dns_result_free(r);
	ck_assert_int_eq(am_dns_query_wait(q, 0, &r), AM_DNS_OK);
	ck_assert_ptr_null(r);
	am_dns_query_done(q);

	/* wait without taking the answer: done frees it */
	q = am_dns_query_start(dns, NULL, "host.example.com", T_A);
	ck_assert_int_eq(am_dns_query_wait(q, 0, NULL), AM_DNS_OK);
	am_dns_query_done(q);

	/* done without a wait at all, and a done on a bad name */
	am_dns_query_done(am_dns_query_start(dns, NULL, "example.com", T_TXT));
	q = am_dns_query_start(dns, NULL, "a..b", T_TXT);
	ck_assert_int_eq(am_dns_query_wait(q, 0, &r), AM_DNS_PERM);
	ck_assert_ptr_null(r);
	am_dns_query_done(q);
	am_dns_query_done(NULL);
}
END_TEST

START_TEST(test_strings)
{
	ck_assert_str_eq(am_dns_status_str(AM_DNS_OK), "ok");
	ck_assert_str_eq(am_dns_status_str(AM_DNS_NXDOMAIN), "nxdomain");
	ck_assert_str_eq(am_dns_status_str(AM_DNS_NODATA), "nodata");
	ck_assert_str_eq(am_dns_status_str(AM_DNS_TEMP), "temp");
	ck_assert_str_eq(am_dns_status_str(AM_DNS_PERM), "perm");
	ck_assert_uint_eq(am_dns_timeout(dns), 2);
}
END_TEST

/* concurrency: many threads, one context, every answer checked */
#define NTHREADS	8
#define NQUERIES	200

static const struct {
	const char		*name;
	int			 type;
	enum am_dns_status	 want;
	const char		*txt;	/* first TXT string, when TXT and OK */
} mix[] = {
	{ "example.com", T_TXT, AM_DNS_OK, "v=spf1 -all" },
	{ "multi.example.com", T_TXT, AM_DNS_OK,
	    "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "host.example.com", T_A, AM_DNS_OK, NULL },
	{ "host.example.com", T_TXT, AM_DNS_NODATA, NULL },
	{ "host6.example.com", T_AAAA, AM_DNS_OK, NULL },
	{ "missing.example.com", T_TXT, AM_DNS_NXDOMAIN, NULL },
	{ "x.example.org", T_A, AM_DNS_NXDOMAIN, NULL },
};

/* hammer - one thread's share of the queries; returns failures */
static void *
hammer(void *arg)
{
	size_t	 seed = (size_t)arg, k, n, bad = 0;
	char	**txt;
	int	 i;
	enum am_dns_status st;

	for (i = 0; i < NQUERIES; i++) {
		k = (seed + (size_t)i) % (sizeof(mix) / sizeof(mix[0]));
		if (mix[k].type == T_TXT) {
			st = am_dns_txt(dns, NULL, mix[k].name, &txt, &n);
			if (st == AM_DNS_OK && strcmp(txt[0], mix[k].txt) != 0)
				bad++;
			am_dns_txt_free(txt, n);
		} else
			st = am_dns_query(dns, NULL, mix[k].name, mix[k].type, NULL);
		if (st != mix[k].want)
			bad++;
	}
	return (void *)bad;
}

START_TEST(test_threads)
{
	pthread_t	 t[NTHREADS];
	void		*bad;
	size_t		 i, total = 0;

	for (i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, hammer,
		    (void *)i), 0);
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], &bad);
		total += (size_t)bad;
	}
	ck_assert_uint_eq(total, 0);
}
END_TEST

/* a UDP "server" on 127.0.0.1: silent, or answering with one rcode */
struct fake_ns {
	int		 fd;
	int		 rcode;		/* -1: never answer */
	int		 stop;		/* atomic */
	unsigned int	 nqueries;	/* atomic */
	pthread_t	 th;
	char		 addr[64];	/* "127.0.0.1@port" */
};

/* fake_reply - header (id, opcode, RD copied; QR, RA, rcode) + question */
static ssize_t
fake_reply(unsigned char *p, ssize_t n, int rcode)
{
	ssize_t	 i = 12;

	if (n < 17)
		return -1;
	while (i < n && p[i] != 0)
		i += p[i] + 1;
	if (i + 5 > n)
		return -1;
	p[2] = 0x80 | (p[2] & 0x79);		/* QR, opcode, RD */
	p[3] = 0x80 | (rcode & 0x0f);		/* RA, rcode */
	p[4] = 0; p[5] = 1;			/* QDCOUNT 1 */
	memset(p + 6, 0, 6);			/* no AN, NS, AR */
	return i + 5;
}

/* fake_run - serve until stop */
static void *
fake_run(void *arg)
{
	struct fake_ns		*f = arg;
	struct pollfd		 pfd = { .fd = f->fd, .events = POLLIN };
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	unsigned char		 buf[1500];
	ssize_t			 n;

	while (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(f->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		__atomic_add_fetch(&f->nqueries, 1, __ATOMIC_SEQ_CST);
		if (f->rcode < 0 || (n = fake_reply(buf, n, f->rcode)) < 0)
			continue;
		sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

/* fake_start - bind 127.0.0.1:0 and start serving */
static void
fake_start(struct fake_ns *f, int rcode)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 sl = sizeof(sin);

	memset(f, 0, sizeof(*f));
	f->rcode = rcode;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(f->fd, 0);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1@%u",
	    (unsigned)ntohs(sin.sin_port));
	ck_assert_int_eq(pthread_create(&f->th, NULL, fake_run, f), 0);
}

/* fake_stop - stop serving and close */
static void
fake_stop(struct fake_ns *f)
{
	__atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(f->th, NULL);
	close(f->fd);
}

/* upstream_new - a forwarding resolver pointed at f, with one local zone */
static struct am_dns *
upstream_new(struct fake_ns *f)
{
	const char		*ns[1] = { f->addr };
	struct am_dns_opts	 o = { .nameservers = ns, .nnameservers = 1,
				    .timeout = 1 };
	struct am_dns		*d;
	char			 err[256];

	d = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(d != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_dns_add_zone(d, "local.example"), 0);
	ck_assert_int_eq(am_dns_add_local(d,
	    "local.example. 60 IN TXT \"still here\""), 0);
	return d;
}

START_TEST(test_timeout)
{
	struct fake_ns		 f;
	struct am_dns		*d;
	struct am_dns_query	*q;
	struct timespec		 now;
	char			**txt;
	size_t			 n;
	double			 t0, dt;

	fake_start(&f, -1);
	d = upstream_new(&f);
	t0 = mono();
	ck_assert_int_eq(am_dns_query(d, NULL, "silent.example.com", T_TXT, NULL),
	    AM_DNS_TEMP);
	dt = mono() - t0;
	ck_assert_msg(dt >= 0.9 && dt < 2.0, "timeout took %.2fs", dt);
	/* it really went upstream */
	ck_assert_uint_ge(__atomic_load_n(&f.nqueries, __ATOMIC_SEQ_CST), 1);

	/* the context still works: local data, and a second timeout */
	ck_assert_int_eq(am_dns_txt(d, NULL, "local.example", &txt, &n), AM_DNS_OK);
	ck_assert_str_eq(txt[0], "still here");
	am_dns_txt_free(txt, n);
	t0 = mono();
	ck_assert_int_eq(am_dns_query(d, NULL, "silent2.example.com", T_A, NULL),
	    AM_DNS_TEMP);
	dt = mono() - t0;
	ck_assert_msg(dt >= 0.9 && dt < 2.0, "second timeout took %.2fs", dt);

	/* an explicit past deadline returns at once; may wait again */
	q = am_dns_query_start(d, NULL, "silent3.example.com", T_A);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ck_assert_int_eq(am_dns_query_wait(q, now.tv_sec, NULL), AM_DNS_TEMP);
	ck_assert_int_eq(am_dns_query_wait(q, now.tv_sec, NULL), AM_DNS_TEMP);
	am_dns_query_done(q);		/* cancels a running query */

	/* pending queries left behind in libunbound at free time */
	am_dns_query_done(am_dns_query_start(d, NULL, "silent4.example.com", T_A));
	am_dns_free(d);
	fake_stop(&f);
}
END_TEST

static const struct {
	const char	*label;
	int		 rcode;
} bad_rcodes[] = {
	{ "SERVFAIL", 2 },
	{ "REFUSED", 5 },
	{ "NOTIMP", 4 },
};

START_TEST(test_bad_rcode)
{
	struct fake_ns		 f;
	struct am_dns		*d;
	double			 t0, dt;

	struct am_dns_budget	 b = { 0 };

	fake_start(&f, bad_rcodes[_i].rcode);
	d = upstream_new(&f);
	am_dns_budget_arm(&b, 0, 0);
	t0 = mono();
	ck_assert_int_eq(am_dns_query(d, &b, "refused.example.com", T_TXT, NULL),
	    AM_DNS_TEMP);
	dt = mono() - t0;
	/* a real server's answer: a DNS failure, not a local one */
	ck_assert_ptr_null(b.local_what);
	ck_assert_uint_ge(__atomic_load_n(&f.nqueries, __ATOMIC_SEQ_CST),
	    1);
	ck_assert_msg(dt < 2.0, "%s took %.2fs", bad_rcodes[_i].label, dt);
	am_dns_free(d);
	fake_stop(&f);
}
END_TEST

START_TEST(test_new_errors)
{
	const char		*ns[1] = { "not-an-address" };
	struct am_dns_opts	 o = { .nameservers = ns, .nnameservers = 1 };
	char			 err[256] = "";

	ck_assert_ptr_null(am_dns_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "not-an-address") != NULL, "err: %s", err);
	am_dns_free(NULL);
}
END_TEST

/* local failures (issue 15): libunbound's error codes, fixed data */
static const struct {
	int	 code;
	int	 local;
} ub_codes[] = {
	{ UB_NOERROR, 0 }, { UB_SOCKET, 1 }, { UB_NOMEM, 1 }, { UB_SYNTAX, 0 },
	{ UB_SERVFAIL, 0 }, { UB_FORKFAIL, 1 }, { UB_AFTERFINAL, 1 },
	{ UB_INITFAIL, 1 }, { UB_PIPE, 1 }, { UB_READFILE, 1 }, { UB_NOID, 0 },
};

START_TEST(test_local_ub_codes)
{
	ck_assert_msg(am_dns_ub_local(ub_codes[_i].code) == ub_codes[_i].local,
	    "ub code %d (%s): want local=%d", ub_codes[_i].code,
	    ub_strerror(ub_codes[_i].code), ub_codes[_i].local);
}
END_TEST

static const struct {
	int	 err;
	int	 local;
} errnos[] = {
	{ EMFILE, 1 }, { ENFILE, 1 }, { ENOMEM, 1 }, { ENOBUFS, 1 },
	{ 0, 0 }, { EAGAIN, 0 }, { ECONNREFUSED, 0 }, { ETIMEDOUT, 0 },
	{ EACCES, 0 }, { EAFNOSUPPORT, 0 }, { ENETUNREACH, 0 },
};

START_TEST(test_local_errnos)
{
	ck_assert_msg(am_dns_errno_local(errnos[_i].err) == errnos[_i].local,
	    "errno %d: want local=%d", errnos[_i].err, errnos[_i].local);
}
END_TEST

START_TEST(test_local_budget)
{
	struct am_dns_budget	 b = { 0 };
	char			 buf[96];

	am_dns_budget_arm(&b, 0, 0);
	ck_assert_ptr_null(b.local_what);
	am_dns_budget_local(NULL, AM_DNS_LOCAL_SOCKET, EMFILE);	/* no-op */
	am_dns_budget_local(&b, AM_DNS_LOCAL_SOCKET, EMFILE);
	am_dns_budget_local(&b, AM_DNS_LOCAL_MEMORY, ENOMEM);	/* first sticks */
	am_dns_local_str(&b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "socket: Too many open files");
	b.local_err = 0;
	am_dns_local_str(&b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "socket");
	am_dns_budget_arm(&b, 0, 0);
	ck_assert_ptr_null(b.local_what);
	ck_assert_int_eq(b.local_err, 0);
}
END_TEST

/* am_dns_classify on fixed answers */
static const struct {
	const char		*label;
	int			 err, rcode, havedata, bogus, nores;
	enum am_dns_status	 want;
} answers[] = {
	{ "records", 0, 0, 1, 0, 0, AM_DNS_OK },
	{ "no records", 0, 0, 0, 0, 0, AM_DNS_NODATA },
	{ "nxdomain", 0, 3, 0, 0, 0, AM_DNS_NXDOMAIN },
	{ "servfail", 0, 2, 0, 0, 0, AM_DNS_TEMP },
	{ "refused", 0, 5, 0, 0, 0, AM_DNS_TEMP },
	{ "bogus", 0, 0, 1, 1, 0, AM_DNS_TEMP },
	{ "ub error", UB_NOMEM, 0, 1, 0, 0, AM_DNS_TEMP },
	{ "no result", 0, 0, 0, 0, 1, AM_DNS_TEMP },
};

START_TEST(test_classify_fixed)
{
	struct ub_result	 r;

	memset(&r, 0, sizeof(r));
	r.rcode = answers[_i].rcode;
	r.havedata = answers[_i].havedata;
	r.bogus = answers[_i].bogus;
	ck_assert_msg(am_dns_classify(answers[_i].err,
	    answers[_i].nores ? NULL : &r) == answers[_i].want, "%s",
	    answers[_i].label);
}
END_TEST

START_TEST(test_txt_split_fixed)
{
	char			 ok1[] = "\003abc\002de", bad[] = "\005abc";
	char			*data[3] = { ok1, NULL, NULL };
	int			 len[3] = { 7, 0, 0 };
	struct ub_result	 r = { .data = data, .len = len };
	struct am_dns_budget	 b = { 0 };
	char			**txt;
	size_t			 n;

	am_dns_budget_arm(&b, 0, 0);
	ck_assert_int_eq(am_dns_txt_split(&r, &b, &txt, &n), AM_DNS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(txt[0], "abcde");
	am_dns_txt_free(txt, n);
	data[1] = bad;			/* a string running past its rdata */
	len[1] = 4;
	ck_assert_int_eq(am_dns_txt_split(&r, &b, &txt, &n), AM_DNS_PERM);
	ck_assert_ptr_null(txt);
	len[1] = -1;			/* never from libunbound: malformed */
	ck_assert_int_eq(am_dns_txt_split(&r, &b, &txt, &n), AM_DNS_PERM);
	ck_assert_ptr_null(b.local_what);
}
END_TEST

/* lowest_free_fd - the descriptor the next open() would get */
static int
lowest_free_fd(void)
{
	int	 fd;

	for (fd = 0; fcntl(fd, F_GETFD) != -1; fd++)
		continue;
	return fd;
}

/* set_nofile - this process's soft RLIMIT_NOFILE */
static void
set_nofile(rlim_t soft)
{
	struct rlimit	 rl;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = soft;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/*
 * A fault test: the descriptors really run out (RLIMIT_NOFILE lowered to
 * the lowest free one), after the resolver started.  The query is TEMP and
 * the budget says why; libunbound's cached SERVFAIL is still local just
 * after; a name that never failed resolves again once the limit is back.
 */
START_TEST(test_local_out_of_fds)
{
	struct fake_ns		 f;
	struct am_dns		*d;
	struct am_dns_budget	 b = { 0 };
	struct rlimit		 saved;

	fake_start(&f, 0);		/* NOERROR, no records */
	d = upstream_new(&f);
	am_dns_budget_arm(&b, 0, 0);
	ck_assert_int_eq(am_dns_query(d, &b, "a.example.com", T_TXT, NULL),
	    AM_DNS_NODATA);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	set_nofile((rlim_t)lowest_free_fd());
	ck_assert_int_eq(am_dns_probe_local(), EMFILE);
	ck_assert_int_eq(am_dns_query(d, &b, "b.example.com", T_TXT, NULL),
	    AM_DNS_TEMP);
	set_nofile(saved.rlim_cur);
	ck_assert_str_eq(b.local_what, AM_DNS_LOCAL_SOCKET);
	ck_assert_int_eq(b.local_err, EMFILE);
	ck_assert_int_eq(am_dns_probe_local(), 0);

	/* libunbound answers b from its SERVFAIL cache: still local */
	am_dns_budget_arm(&b, 0, 0);
	ck_assert_int_eq(am_dns_query(d, &b, "b.example.com", T_TXT, NULL),
	    AM_DNS_TEMP);
	ck_assert_str_eq(b.local_what, AM_DNS_LOCAL_HELD);
	ck_assert_int_eq(b.local_err, EMFILE);
	am_dns_budget_arm(&b, 0, 0);
	ck_assert_int_eq(am_dns_query(d, &b, "c.example.com", T_TXT, NULL),
	    AM_DNS_NODATA);
	ck_assert_ptr_null(b.local_what);
	am_dns_free(d);
	fake_stop(&f);
}
END_TEST

/*
 * Out of descriptors before the resolver's thread starts: an error, not
 * exit(1) in libevent.  The limit leaves just what libunbound's context
 * and our self-pipe take (measured on a local-only resolver, which makes
 * the same and starts no thread), so what fails is the start of the
 * thread; a limit below that fails in ub_ctx_create, whose failure path
 * leaks (libunbound 1.17), which LSan would report.
 */
START_TEST(test_local_no_fds_at_start)
{
	const char		*ns[1] = { "127.0.0.1@9" };
	struct am_dns_opts	 o = { .nameservers = ns, .nnameservers = 1 };
	struct am_dns_opts	 lo = { .local_only = 1 };
	struct am_dns		*d;
	struct rlimit		 saved;
	char			 err[256] = "";
	int			 before, need;

	before = lowest_free_fd();
	d = am_dns_new(&lo, err, sizeof(err));
	ck_assert_msg(d != NULL, "am_dns_new: %s", err);
	need = lowest_free_fd() - before;
	am_dns_free(d);
	ck_assert_int_eq(lowest_free_fd(), before);

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &saved), 0);
	set_nofile((rlim_t)(before + need));
	d = am_dns_new(&o, err, sizeof(err));
	set_nofile(saved.rlim_cur);
	ck_assert_ptr_null(d);
	ck_assert_msg(strcmp(err,
	    "resolver start: socket: Too many open files") == 0, "err: %s",
	    err);
	/* and with the descriptors back, it starts */
	d = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(d != NULL, "am_dns_new: %s", err);
	am_dns_free(d);
}
END_TEST

/* dns_suite - local data, async API, threads, upstream failures */
static Suite *
dns_suite(void)
{
	Suite	*s = suite_create("dns");
	TCase	*tc = tcase_create("local");
	TCase	*tu = tcase_create("upstream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_txt_single);
	tcase_add_test(tc, test_txt_multistring);
	tcase_add_test(tc, test_txt_several);
	tcase_add_test(tc, test_nxdomain);
	tcase_add_test(tc, test_nodata);
	tcase_add_test(tc, test_addr);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_bad_local_data);
	tcase_add_test(tc, test_late_zone);
	tcase_add_test(tc, test_async_api);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_threads);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tcase_add_test(tu, test_timeout);
	tcase_add_loop_test(tu, test_bad_rcode, 0,
	    sizeof(bad_rcodes) / sizeof(bad_rcodes[0]));
	tcase_add_test(tu, test_new_errors);
	tcase_add_test(tu, test_txt_rdata);
	tcase_add_test(tu, test_resolvconf);
	tcase_add_loop_test(tu, test_local_ub_codes, 0,
	    sizeof(ub_codes) / sizeof(ub_codes[0]));
	tcase_add_loop_test(tu, test_local_errnos, 0,
	    sizeof(errnos) / sizeof(errnos[0]));
	tcase_add_test(tu, test_local_budget);
	tcase_add_loop_test(tu, test_classify_fixed, 0,
	    sizeof(answers) / sizeof(answers[0]));
	tcase_add_test(tu, test_txt_split_fixed);
	tcase_add_test(tu, test_local_out_of_fds);
	tcase_add_test(tu, test_local_no_fds_at_start);
	tcase_set_timeout(tu, 30);
	suite_add_tcase(s, tu);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dns_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
