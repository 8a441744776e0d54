/*
 * check_limits.c - every input limit of session.h is a result: header
 * count, one header's size, all headers' size, From count, forged A-R
 * count, our A-R size; and the DNS budget of dns.h (lookup cap, deadline)
 * that bounds a message's DNS time.  No limit may let a spoof escape its
 * domain's p=reject.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "message/authres.h"
#include "common/buf.h"
#include "config/config.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "message/session.h"

static struct am_env	 env;
static struct am_config	*cfg;

static const char *zone[] = {
	"example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=reject\"",
	"a.example.com. 300 IN A 192.0.2.1",
	"b.example.com. 300 IN A 192.0.2.2",
	"c.example.com. 300 IN A 192.0.2.3",
	"d.example.com. 300 IN A 192.0.2.4",
};

static void
setup(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	char			 err[256];
	size_t			 i;

	env.dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(env.dns != NULL, "am_dns_new: %s", err);
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		ck_assert_int_eq(am_dns_add_local(env.dns, zone[i]), 0);
	env.dkim = am_dkim_lib_new(env.dns, err, sizeof(err));
	ck_assert_msg(env.dkim != NULL, "am_dkim_lib_new: %s", err);
	cfg = am_config_defaults();
	ck_assert_ptr_nonnull(cfg);
	free(cfg->authserv_id);
	cfg->authserv_id = strdup("mx.test-receiver.example");
}

static void
teardown(void)
{
	am_config_unref(cfg);
	am_dkim_lib_free(env.dkim);
	am_dns_free(env.dns);
}

/* conn - a connection from an address example.com's SPF does not allow */
static struct am_conn *
conn(void)
{
	struct sockaddr_in	 sin;
	struct am_conn		*c;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	c = am_conn_new(&env, cfg, "client.example", (struct sockaddr *)&sin);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(am_conn_helo(c, "client.example"), 0);
	return c;
}

/* finish - end the message, return the verdict */
static struct am_verdict
finish(struct am_msg *m)
{
	struct am_verdict	 v;

	am_msg_eoh(m);
	am_msg_body(m, (const unsigned char *)"hi\r\n", 4);
	am_msg_finish(m);
	am_msg_decide(m, &v);
	return v;
}

/* spoof_verdict_after - a spoof of example.com (p=reject) after padding */
static void
assert_spoof_rejected(struct am_msg *m, const char *limit)
{
	struct am_verdict	 v;

	am_msg_header(m, "From", " ceo@example.com");
	v = finish(m);
	ck_assert_str_eq(m->limit, limit);
	ck_assert_uint_eq(m->res.ndkim, 1);
	ck_assert_int_eq(m->res.dkim[0].result, AM_DKIM_PERMERROR);
	ck_assert_msg(strstr(m->res.dkim[0].reason, limit) != NULL, "%s",
	    m->res.dkim[0].reason);
	ck_assert_int_eq(m->res.dmarc.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v.action, AM_ACT_REJECT);
}

START_TEST(test_header_count)
{
	struct am_conn	*c = conn();
	struct am_msg	*m = am_msg_new(c, "<x@example.com>", NULL);
	int		 i;

	for (i = 0; i < AM_HEADERS_MAX; i++)
		am_msg_header(m, "X-Pad", " x");
	ck_assert_ptr_null(m->limit);
	assert_spoof_rejected(m, "too many header fields");
	am_conn_free(c);
}
END_TEST

START_TEST(test_header_value_size)
{
	struct am_conn	*c = conn();
	struct am_msg	*m = am_msg_new(c, "<x@example.com>", NULL);
	char		*big = malloc(AM_HEADER_VALUE_MAX + 2);

	memset(big, 'a', AM_HEADER_VALUE_MAX + 1);
	big[AM_HEADER_VALUE_MAX + 1] = '\0';
	am_msg_header(m, "Subject", big);
	free(big);
	assert_spoof_rejected(m, "header field too long");
	am_conn_free(c);
}
END_TEST

START_TEST(test_header_bytes)
{
	struct am_conn	*c = conn();
	struct am_msg	*m = am_msg_new(c, "<x@example.com>", NULL);
	char		*v = malloc(64 * 1024);
	int		 i;

	memset(v, 'b', 64 * 1024 - 1);
	v[64 * 1024 - 1] = '\0';
	for (i = 0; i < AM_HEADER_BYTES_MAX / (64 * 1024) + 1; i++)
		am_msg_header(m, "X-Big", v);
	free(v);
	assert_spoof_rejected(m, "header too large");
	am_conn_free(c);
}
END_TEST

START_TEST(test_from_count)
{
	struct am_conn		*c = conn();
	struct am_msg		*m = am_msg_new(c, "<x@example.com>", NULL);
	struct am_verdict	 v;
	int			 i;

	/*
	 * nine From fields of a domain without DMARC: permerror, an unusable
	 * From: OnMalformedFrom (default reject)
	 */
	for (i = 0; i <= AM_FROM_HDRS_MAX; i++)
		am_msg_header(m, "From", " someone@no-dmarc.example");
	v = finish(m);
	ck_assert_uint_eq(m->nfrom, AM_FROM_HDRS_MAX + 1);
	ck_assert_int_eq(m->res.dmarc.result, AM_DMARC_PERMERROR);
	ck_assert_int_eq(v.action, AM_ACT_REJECT);
	ck_assert_str_eq(v.why, "unusable From header, OnMalformedFrom reject");
	/* a spoofed example.com among them still fails and is rejected */
	m = am_msg_new(c, "<x@example.com>", NULL);
	am_msg_header(m, "From", " ceo@example.com");
	for (i = 0; i < AM_FROM_HDRS_MAX; i++)
		am_msg_header(m, "From", " someone@no-dmarc.example");
	v = finish(m);
	ck_assert_int_eq(m->res.dmarc.result, AM_DMARC_FAIL);
	ck_assert_int_eq(v.action, AM_ACT_REJECT);
	am_conn_free(c);
}
END_TEST

START_TEST(test_forged_authres_count)
{
	struct am_conn		*c = conn();
	struct am_msg		*m = am_msg_new(c, "<x@example.com>", NULL);
	struct am_verdict	 v;
	int			 i;

	am_msg_header(m, "From", " a@no-dmarc.example");
	for (i = 0; i < AM_AUTHRES_FORGED_MAX; i++)
		am_msg_header(m, "Authentication-Results",
		    " mx.test-receiver.example; dmarc=pass");
	ck_assert_int_eq(m->err, AM_ERR_NONE);
	am_msg_header(m, "Authentication-Results",
	    " MX.TEST-RECEIVER.EXAMPLE; dmarc=pass");
	v = finish(m);
	ck_assert_uint_eq(m->nforged, AM_AUTHRES_FORGED_MAX);
	ck_assert_int_eq(m->err, AM_ERR_RESOURCE);
	/* OnInternalError (default tempfail): never delivered with one left */
	ck_assert_int_eq(v.action, AM_ACT_TEMPFAIL);
	am_conn_free(c);
}
END_TEST

START_TEST(test_authres_size)
{
	struct am_conn		*c = conn();
	struct am_msg		*m = am_msg_new(c, "<x@example.com>", NULL);
	struct am_verdict	 v;
	struct am_buf		 b;
	size_t			 i;
	const char		*p;
	int			 n = 0;

	am_msg_header(m, "From", " ceo@example.com");
	v = finish(m);
	for (i = 0; i < AM_DKIM_SIGS_MAX; i++) {
		struct am_dkim_sig *s = &m->res.dkim[i];

		memset(s, 0, sizeof(*s));
		s->result = AM_DKIM_FAIL;
		memset(s->domain, 'd', 200);
		memcpy(s->domain + 200, ".example", 9);
		snprintf(s->selector, sizeof(s->selector), "sel%zu", i);
		snprintf(s->algorithm, sizeof(s->algorithm), "rsa-sha256");
		memset(s->reason, 'r', 100);
	}
	m->res.ndkim = AM_DKIM_SIGS_MAX;
	am_buf_init(&b, AM_AUTHRES_MAX);
	ck_assert_int_eq(am_msg_authres(m, &v, &b), 0);
	ck_assert(!am_buf_failed(&b));
	ck_assert_uint_le(b.len, AM_AUTHRES_MAX);
	for (p = am_buf_str(&b); (p = strstr(p, "dkim=")) != NULL; p++)
		n++;
	ck_assert_int_gt(n, 0);
	ck_assert_int_lt(n, AM_DKIM_SIGS_MAX);
	ck_assert_ptr_nonnull(strstr(am_buf_str(&b), "dmarc=fail"));
	am_buf_clear(&b);
	am_conn_free(c);
}
END_TEST

START_TEST(test_dns_budget_lookups)
{
	struct am_dns_budget	 b = { 0 };
	char			 name[32];
	int			 i;

	am_dns_budget_arm(&b, 0, 3);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "%c.example.com", 'a' + i);
		ck_assert_int_eq(am_dns_query(env.dns, &b, name, 1, NULL), AM_DNS_OK);
	}
	ck_assert_int_eq(b.exhausted, 0);
	ck_assert_int_eq(am_dns_query(env.dns, &b, "d.example.com", 1, NULL),
	    AM_DNS_TEMP);
	ck_assert_int_eq(b.exhausted, AM_DNS_BUDGET_LOOKUPS);
	/* outside the budget the same name answers */
	ck_assert_int_eq(am_dns_query(env.dns, NULL, "d.example.com", 1, NULL),
	    AM_DNS_OK);
}
END_TEST

/* elapsed_ms - since *t0 */
static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec	 t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(test_dns_budget_time)
{
	struct am_dns_opts	 o = { .timeout = 10 };
	struct am_dns_budget	 b = { 0 };
	struct sockaddr_in	 sin;
	struct am_dns		*dns;
	struct timespec		 t0;
	socklen_t		 len = sizeof(sin);
	char			 ns[64], err[256];
	const char		*nsv[1] = { ns };
	int			 fd;

	/* a DNS server that never answers */
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	snprintf(ns, sizeof(ns), "127.0.0.1@%d", ntohs(sin.sin_port));
	o.nameservers = nsv;
	o.nnameservers = 1;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "%s", err);

	am_dns_budget_arm(&b, 1, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(am_dns_query(dns, &b, "slow.example.com", 16, NULL),
	    AM_DNS_TEMP);
	ck_assert_int_lt(elapsed_ms(&t0), 2500);	/* not the 10 s timeout */
	ck_assert_int_eq(b.exhausted, AM_DNS_BUDGET_TIME);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(am_dns_query(dns, &b, "slow2.example.com", 16, NULL),
	    AM_DNS_TEMP);
	ck_assert_int_lt(elapsed_ms(&t0), 200);		/* not even asked */
	am_dns_free(dns);
	close(fd);
}
END_TEST

static Suite *
limits_suite(void)
{
	Suite	*s = suite_create("limits");
	TCase	*tc = tcase_create("limits");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_header_count);
	tcase_add_test(tc, test_header_value_size);
	tcase_add_test(tc, test_header_bytes);
	tcase_add_test(tc, test_from_count);
	tcase_add_test(tc, test_forged_authres_count);
	tcase_add_test(tc, test_authres_size);
	tcase_add_test(tc, test_dns_budget_lookups);
	tcase_add_test(tc, test_dns_budget_time);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(limits_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
