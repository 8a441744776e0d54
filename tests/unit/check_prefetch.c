/*
 * check_prefetch.c - dns_prefetch.c, dns_work.c, the budget's cancel and
 * merge (dns_budget.c, dns_log.c), and overlap.c's DKIM key name (issue 17), against a
 * UDP name server on loopback that answers after a delay (or never).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dns/dns.h"
#include "dns/dns_log.h"
#include "dns/dns_prefetch.h"
#include "dns/dns_work.h"
#include "message/overlap.h"

#define RR_TXT	16
#define DELAY_MS 200

/* a UDP server: NODATA (no SOA: never cached) after delay_ms, or silent */
struct slow_ns {
	int		 fd;
	int		 delay_ms;	/* -1: never answer */
	int		 stop;		/* atomic */
	unsigned int	 nqueries;	/* atomic */
	pthread_t	 th;
	char		 addr[64];
};

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
sleep_ms(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* reply - the question back, NOERROR, no records */
static ssize_t
reply(unsigned char *p, ssize_t n)
{
	ssize_t	 i = 12;

	if (n < 17)
		return -1;
	while (i < n && p[i] != 0)
		i += p[i] + 1;
	if (i + 5 > n)
		return -1;
	p[2] = 0x84 | (p[2] & 0x79);		/* QR, AA, opcode, RD */
	p[3] = 0x80;				/* RA, NOERROR */
	p[4] = 0; p[5] = 1;
	memset(p + 6, 0, 6);
	return i + 5;
}

static void *
serve(void *arg)
{
	struct slow_ns		*f = arg;
	struct pollfd		 pfd = { .fd = f->fd, .events = POLLIN };
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	unsigned char		 buf[1500];
	ssize_t			 n;

	while (!__atomic_load_n(&f->stop, __ATOMIC_SEQ_CST)) {
		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(f->fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fl);
		if (n <= 0)
			continue;
		__atomic_add_fetch(&f->nqueries, 1, __ATOMIC_SEQ_CST);
		if (f->delay_ms < 0 || (n = reply(buf, n)) < 0)
			continue;
		sleep_ms(f->delay_ms);
		sendto(f->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
	return NULL;
}

static struct am_dns *
start(struct slow_ns *f, int delay_ms, unsigned int timeout)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 sl = sizeof(sin);
	const char		*ns[1];
	struct am_dns_opts	 o = { .nnameservers = 1, .timeout = timeout };
	struct am_dns		*d;
	char			 err[256];

	memset(f, 0, sizeof(*f));
	f->delay_ms = delay_ms;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(f->fd, 0);
	ck_assert_int_eq(bind(f->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(f->fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1@%u",
	    (unsigned)ntohs(sin.sin_port));
	ck_assert_int_eq(pthread_create(&f->th, NULL, serve, f), 0);
	ns[0] = f->addr;
	o.nameservers = ns;
	d = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(d != NULL, "am_dns_new: %s", err);
	/* am_dns_new's warm-up may have asked something: count from here */
	__atomic_store_n(&f->nqueries, 0, __ATOMIC_SEQ_CST);
	return d;
}

static void
stop(struct slow_ns *f, struct am_dns *d)
{
	am_dns_free(d);
	__atomic_store_n(&f->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(f->th, NULL);
	close(f->fd);
}

static unsigned int
asked(struct slow_ns *f)
{
	return __atomic_load_n(&f->nqueries, __ATOMIC_SEQ_CST);
}

/* an in-flight prefetch is taken over: one question, one lookup, one RTT */
START_TEST(test_taken_in_flight)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, DELAY_MS, 5);
	struct am_dns_prefetch	*pf = am_dns_prefetch_new(d);
	struct am_dns_budget	 b;
	double			 t0;

	memset(&b, 0, sizeof(b));
	am_dns_budget_arm(&b, 10, 10);
	b.prefetch = pf;
	t0 = now_ms();
	ck_assert_int_eq(am_dns_prefetch_add(pf, "key1.pf.test", RR_TXT), 1);
	ck_assert_uint_eq(am_dns_prefetch_count(pf), 1);
	ck_assert_uint_eq(am_dns_slots(d), 1);
	ck_assert_int_eq(am_dns_query(d, &b, "KEY1.pf.test", RR_TXT, NULL),
	    AM_DNS_NODATA);
	ck_assert_double_lt(now_ms() - t0, DELAY_MS * 1.9);
	ck_assert_uint_eq(asked(&f), 1);
	ck_assert_uint_eq(b.lookups, 1);	/* counted as if asked */
	ck_assert_uint_eq(am_dns_prefetch_count(pf), 0);
	ck_assert_uint_eq(am_dns_slots(d), 0);
	/* taken once: the same question again is asked (not cached: no SOA) */
	ck_assert_int_eq(am_dns_prefetch_add(pf, "key1.pf.test", RR_TXT), 0);
	am_dns_prefetch_free(pf);
	stop(&f, d);
}
END_TEST

/* a prefetch done while the "body" streamed: the check does not wait */
START_TEST(test_overlap)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, DELAY_MS, 5);
	struct am_dns_prefetch	*pf = am_dns_prefetch_new(d);
	struct am_dns_budget	 b;
	double			 t0;

	memset(&b, 0, sizeof(b));
	am_dns_budget_arm(&b, 10, 10);
	b.prefetch = pf;
	ck_assert_int_eq(am_dns_prefetch_add(pf, "_dmarc.pf.test", RR_TXT), 1);
	sleep_ms(DELAY_MS + 100);
	t0 = now_ms();
	ck_assert_int_eq(am_dns_query(d, &b, "_dmarc.pf.test", RR_TXT, NULL),
	    AM_DNS_NODATA);
	ck_assert_double_lt(now_ms() - t0, DELAY_MS / 2);
	ck_assert_uint_eq(asked(&f), 1);
	am_dns_prefetch_free(pf);
	stop(&f, d);
}
END_TEST

/* over the lookup cap: not used, as it would not have been asked */
START_TEST(test_budget_refused)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, 0, 5);
	struct am_dns_prefetch	*pf = am_dns_prefetch_new(d);
	struct am_dns_budget	 b;

	memset(&b, 0, sizeof(b));
	am_dns_budget_arm(&b, 10, 1);
	b.lookups = 1;
	b.prefetch = pf;
	ck_assert_int_eq(am_dns_prefetch_add(pf, "x.pf.test", RR_TXT), 1);
	ck_assert_int_eq(am_dns_query(d, &b, "x.pf.test", RR_TXT, NULL),
	    AM_DNS_TEMP);
	ck_assert_int_eq(b.exhausted & AM_DNS_BUDGET_LOOKUPS,
	    AM_DNS_BUDGET_LOOKUPS);
	ck_assert_uint_eq(am_dns_slots(d), 0);
	am_dns_prefetch_free(pf);
	stop(&f, d);
}
END_TEST

/* freeing the set cancels what never came back; limits; no leak (ASan) */
START_TEST(test_cancel_and_limits)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, -1, 5);
	struct am_dns_prefetch	*pf = am_dns_prefetch_new(d);
	char			 name[64];
	int			 i;

	for (i = 0; i < AM_DNS_PREFETCH_MSG_MAX; i++) {
		snprintf(name, sizeof(name), "n%d.pf.test", i);
		ck_assert_int_eq(am_dns_prefetch_add(pf, name, RR_TXT), 1);
	}
	ck_assert_int_eq(am_dns_prefetch_add(pf, "n0.PF.test.", RR_TXT), 0);
	ck_assert_int_eq(am_dns_prefetch_add(pf, "one.more.test", RR_TXT), -1);
	ck_assert_uint_eq(am_dns_slots(d), AM_DNS_PREFETCH_MSG_MAX);
	am_dns_prefetch_free(pf);
	ck_assert_uint_eq(am_dns_slots(d), 0);
	stop(&f, d);
}
END_TEST

/* the process-wide cap */
START_TEST(test_process_cap)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, -1, 5);
	struct am_dns_prefetch	*pf = am_dns_prefetch_new(d);
	unsigned int		 i;

	for (i = 0; i < AM_DNS_PREFETCH_PROC_MAX; i++)
		ck_assert_int_eq(am_dns_slot_take(d, AM_DNS_PREFETCH_PROC_MAX),
		    1);
	ck_assert_int_eq(am_dns_prefetch_add(pf, "cap.pf.test", RR_TXT), -1);
	for (i = 0; i < AM_DNS_PREFETCH_PROC_MAX; i++)
		am_dns_slot_give(d);
	ck_assert_int_eq(am_dns_prefetch_add(pf, "cap.pf.test", RR_TXT), 1);
	am_dns_prefetch_free(pf);
	stop(&f, d);
}
END_TEST

struct job_arg {
	struct am_dns		*d;
	struct am_dns_budget	 b;
	enum am_dns_status	 st;
	double			 took;
};

static void
query_job(void *p)
{
	struct job_arg	*a = p;
	double		 t0 = now_ms();

	a->st = am_dns_query(a->d, &a->b, "silent.pf.test", RR_TXT, NULL);
	a->took = now_ms() - t0;
}

/* a background job waiting on DNS ends soon after its budget is cancelled */
START_TEST(test_work_cancel)
{
	struct slow_ns		 f;
	struct am_dns		*d = start(&f, -1, 5);
	struct job_arg		 a;
	struct am_dns_job	 j;

	memset(&a, 0, sizeof(a));
	memset(&j, 0, sizeof(j));
	a.d = d;
	am_dns_budget_arm(&a.b, 20, 10);
	a.b.cancellable = 1;
	j.fn = query_job;
	j.arg = &a;
	ck_assert_int_eq(am_dns_work_submit(d, &j), 0);
	sleep_ms(150);
	am_dns_budget_cancel(&a.b);
	am_dns_work_join(d, &j);
	ck_assert_int_eq(j.state, AM_JOB_DONE);
	ck_assert_int_eq(a.st, AM_DNS_TEMP);
	ck_assert_double_lt(a.took, 1000);	/* not the 5 s timeout */
	ck_assert_str_eq(a.b.temp_why, AM_DNS_CANCELLED);
	/* a cancelled budget asks nothing more */
	ck_assert_int_eq(am_dns_query(d, &a.b, "more.pf.test", RR_TXT, NULL),
	    AM_DNS_TEMP);
	stop(&f, d);
}
END_TEST

static void
note(struct am_dns_budget *b, const char *name)
{
	am_dns_note(b, name, RR_TXT, AM_DNS_TEMP, "SERVFAIL", NULL, 0);
}

/* the background SPF budget's failures come first, as if noted at MAIL */
START_TEST(test_merge_temp)
{
	struct am_dns_budget	 spf, b, c;
	char			 buf[300];

	memset(&spf, 0, sizeof(spf));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	note(&spf, "s1.test");
	note(&spf, "s2.test");
	note(&spf, "s3.test");
	note(&b, "k1.test");
	note(&b, "k2.test");
	am_dns_budget_merge_temp(&b, &spf);
	ck_assert_uint_eq(b.ntemp, 5);
	ck_assert_ptr_null(am_dns_budget_temp_of(&b, "s1.test"));	/* 5th oldest */
	ck_assert_ptr_nonnull(am_dns_budget_temp_of(&b, "s2.test"));
	ck_assert_ptr_nonnull(am_dns_budget_temp_of(&b, "k1.test"));
	ck_assert_str_eq(am_dns_budget_temp(&b, buf, sizeof(buf)),
	    "k2.test: SERVFAIL");
	/* the same as noting all five on one budget in that order */
	note(&c, "s1.test"); note(&c, "s2.test"); note(&c, "s3.test");
	note(&c, "k1.test"); note(&c, "k2.test");
	ck_assert_int_eq(memcmp(c.temp_names, b.temp_names,
	    sizeof(c.temp_names)), 0);
	/* nothing after: the background one's last failure */
	memset(&b, 0, sizeof(b));
	am_dns_budget_merge_temp(&b, &spf);
	ck_assert_str_eq(am_dns_budget_temp(&b, buf, sizeof(buf)),
	    "s3.test: SERVFAIL");
}
END_TEST

/* RFC 6376 3.5, 3.6.2.1: s=, d= of a DKIM-Signature value */
START_TEST(test_dkim_name)
{
	char	 out[300];

	ck_assert_int_eq(am_overlap_dkim_name("v=1; a=rsa-sha256; d=example.org;"
	    " s=sel1; h=from; bh=x; b=y", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "sel1._domainkey.example.org");
	ck_assert_int_eq(am_overlap_dkim_name("v=1;\n\ts = a.b ;\n d=\n\tex.net",
	    out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a.b._domainkey.ex.net");
	ck_assert_int_eq(am_overlap_dkim_name("v=1; d=ex.net", out,
	    sizeof(out)), -1);		/* no s= */
	ck_assert_int_eq(am_overlap_dkim_name("d=a.net; s=x; d=b.net", out,
	    sizeof(out)), -1);		/* d= twice */
	ck_assert_int_eq(am_overlap_dkim_name("d=a.net; s=x y", out,
	    sizeof(out)), 0);		/* FWS dropped: a wasted prefetch at worst */
	ck_assert_int_eq(am_overlap_dkim_name("d=a/b.net; s=x", out,
	    sizeof(out)), -1);
	ck_assert_int_eq(am_overlap_dkim_name("d=; s=x", out, sizeof(out)), -1);
	ck_assert_int_eq(am_overlap_dkim_name("bh=d=1; d=a.net; s=x", out,
	    sizeof(out)), 0);		/* d= inside another value */
	ck_assert_str_eq(out, "x._domainkey.a.net");
	ck_assert_int_eq(am_overlap_dkim_name("d=a.net; s=x", out, 8), -1);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("prefetch");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_taken_in_flight);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_budget_refused);
	tcase_add_test(tc, test_cancel_and_limits);
	tcase_add_test(tc, test_process_cap);
	tcase_add_test(tc, test_work_cancel);
	tcase_add_test(tc, test_merge_temp);
	tcase_add_test(tc, test_dkim_name);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
