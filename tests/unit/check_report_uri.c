/*
 * check_report_uri.c - unit tests for report/uri.c (rua=/ruf= values into
 * addresses) and report/dest.c (the external destination rule, RFC 9990
 * section 4): the pure decisions on fixed data, and am_report_dest_check
 * through the resolver's local data and a deaf name server (temperror).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/results.h"
#include "dns/dns.h"
#include "report/dest.h"
#include "report/uri.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* one tag value: the addresses kept, joined by spaces, and the counters */
static const struct {
	const char	*in;
	const char	*want;
	size_t		 other, bad, dup;
} list_cases[] = {
	{ "mailto:a@example.com", "a@example.com", 0, 0, 0 },
	{ "MAILTO:A@EXAMPLE.COM", "A@example.com", 0, 0, 0 },	/* domain lower-cased */
	{ "mailto:a@example.com,mailto:b@example.net", "a@example.com b@example.net", 0, 0, 0 },
	{ " mailto:a@example.com \t, \tmailto:b@example.net ", "a@example.com b@example.net", 0, 0, 0 },
	{ "mailto:a@example.com!10m", "a@example.com", 0, 0, 0 },	/* RFC 7489 size */
	{ "mailto:a@example.com!10", "a@example.com", 0, 0, 0 },
	{ "mailto:a@example.com!", "", 0, 1, 0 },
	{ "mailto:a@example.com!10x", "", 0, 1, 0 },
	{ "mailto:a@example.com!10mm", "", 0, 1, 0 },
	{ "mailto:dmarc%2Breports@example.com", "dmarc+reports@example.com", 0, 0, 0 },
	{ "mailto:a%21b@example.com", "a!b@example.com", 0, 0, 0 },	/* %21 is '!' */
	{ "mailto:a%2cb@example.com", "", 0, 1, 0 },	/* ',' not atext */
	{ "mailto:a%40b@example.com", "", 0, 1, 0 },	/* two '@' */
	{ "mailto:a%4@example.com", "", 0, 1, 0 },
	{ "mailto:a%", "", 0, 1, 0 },
	{ "mailto:a%00@example.com", "", 0, 1, 0 },
	{ "mailto:a%0d%0aRCPT@example.com", "", 0, 1, 0 },	/* CR LF */
	{ "mailto:a@example.com?subject=x", "a@example.com", 0, 0, 0 },
	{ "https://example.com/report", "", 1, 0, 0 },
	{ "https://example.com/r,mailto:a@example.com", "a@example.com", 1, 0, 0 },
	{ "mailto:", "", 0, 1, 0 },
	{ "mailto:@example.com", "", 0, 1, 0 },
	{ "mailto:a@", "", 0, 1, 0 },
	{ "mailto:a", "", 0, 1, 0 },
	{ "mailto:-oQ/tmp@example.com", "", 0, 1, 0 },	/* option-like */
	{ "mailto:\"a b\"@example.com", "", 0, 1, 0 },
	{ "mailto:a b@example.com", "", 0, 1, 0 },
	{ "mailto:a..b@example.com", "", 0, 1, 0 },
	{ "mailto:.a@example.com", "", 0, 1, 0 },
	{ "mailto:a.@example.com", "", 0, 1, 0 },
	{ "mailto:a@-example.com", "", 0, 1, 0 },
	{ "mailto:a@example-.com", "", 0, 1, 0 },
	{ "mailto:a@example..com", "", 0, 1, 0 },
	{ "mailto:a@example.com.", "", 0, 1, 0 },
	{ "mailto:a@[192.0.2.1]", "", 0, 1, 0 },
	{ "mailto:a@ex_ample.com", "", 0, 1, 0 },
	{ "mailto:a@b\xc3\xa9.example", "", 0, 1, 0 },	/* UTF-8 */
	{ "mailto:a@example.com,mailto:a@EXAMPLE.com", "a@example.com", 0, 0, 1 },
	{ "mailto:a@example.com,mailto:A@example.com", "a@example.com A@example.com", 0, 0, 0 },
	{ "a@example.com", "", 0, 1, 0 },		/* no scheme */
	{ ":a@example.com", "", 0, 1, 0 },
	{ "1mailto:a@example.com", "", 0, 1, 0 },
	{ "", "", 0, 0, 0 },
	{ ",", "", 0, 2, 0 },
	{ "mailto:a@example.com,,mailto:b@example.com", "a@example.com b@example.com", 0, 1, 0 },
	{ "mailto:a@localhost", "a@localhost", 0, 0, 0 },
};

/* joined - the kept addresses as "a b c" */
static void
joined(const struct am_report_uris *u, char *out, size_t len)
{
	size_t	 i;

	out[0] = '\0';
	for (i = 0; i < u->n; i++) {
		if (i > 0)
			strncat(out, " ", len - strlen(out) - 1);
		strncat(out, u->a[i].addr, len - strlen(out) - 1);
	}
}

/* every case in one test: a fork per case costs seconds under ASan */
START_TEST(test_list)
{
	struct am_report_uris	 u;
	char			 got[1024];
	size_t			 n, i;

	for (i = 0; i < nitems(list_cases); i++) {
		n = am_report_uri_parse(list_cases[i].in, &u);
		joined(&u, got, sizeof(got));
		ck_assert_msg(strcmp(got, list_cases[i].want) == 0,
		    "%s: got '%s' want '%s'", list_cases[i].in, got,
		    list_cases[i].want);
		ck_assert_uint_eq(n, u.n);
		ck_assert_msg(u.other == list_cases[i].other &&
		    u.bad == list_cases[i].bad && u.dup == list_cases[i].dup,
		    "%s: other %zu bad %zu dup %zu", list_cases[i].in, u.other,
		    u.bad, u.dup);
	}
}
END_TEST

START_TEST(test_null)
{
	struct am_report_uris	 u;

	ck_assert_uint_eq(am_report_uri_parse(NULL, &u), 0);
	ck_assert_uint_eq(u.bad + u.other + u.over, 0);
}
END_TEST

START_TEST(test_domain_and_size)
{
	struct am_report_uris	 u;

	ck_assert_uint_eq(am_report_uri_parse("mailto:r@Reports.Example.NET!2k", &u), 1);
	ck_assert_str_eq(am_report_addr_domain(&u.a[0]), "reports.example.net");
	ck_assert(u.a[0].size == 2048);
	ck_assert_uint_eq(am_report_uri_parse("mailto:r@x.example!1t", &u), 1);
	ck_assert(u.a[0].size == 1ULL << 40);
	/* 15 digits times 2^40 saturates instead of wrapping */
	ck_assert_uint_eq(am_report_uri_parse("mailto:r@x.example!999999999999999t", &u), 1);
	ck_assert(u.a[0].size == ~0ULL);
	ck_assert_uint_eq(am_report_uri_parse("mailto:r@x.example!9999999999999999", &u), 0);
}
END_TEST

/* limit: the first AM_REPORT_URI_MAX are kept, the rest counted */
START_TEST(test_uri_max)
{
	struct am_report_uris	 u;
	char			 v[2048] = "";
	char			 one[64];
	int			 i;

	for (i = 0; i < AM_REPORT_URI_MAX + 3; i++) {
		snprintf(one, sizeof(one), "%smailto:r%d@example.com", i ? "," : "", i);
		strcat(v, one);
	}
	ck_assert_uint_eq(am_report_uri_parse(v, &u), AM_REPORT_URI_MAX);
	ck_assert_uint_eq(u.over, 3);
	ck_assert_str_eq(u.a[0].addr, "r0@example.com");
	snprintf(one, sizeof(one), "r%d@example.com", AM_REPORT_URI_MAX - 1);
	ck_assert_str_eq(u.a[AM_REPORT_URI_MAX - 1].addr, one);
}
END_TEST

/* limit: an address of AM_REPORT_ADDR_MAX is kept, one more is refused */
START_TEST(test_addr_max)
{
	struct am_report_uris	 u;
	char			 v[600];
	char			 dom[300];
	size_t			 dl;

	/* local part of 60, domain filling the rest with 50-octet labels */
	strcpy(dom, "");
	while (strlen(dom) + 51 < AM_REPORT_ADDR_MAX - 61)
		strcat(dom, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	dl = AM_REPORT_ADDR_MAX - 61 - strlen(dom);
	memset(dom + strlen(dom), 'b', dl);
	dom[AM_REPORT_ADDR_MAX - 61] = '\0';
	snprintf(v, sizeof(v), "mailto:%060d@%s", 0, dom);
	ck_assert_uint_eq(am_report_uri_parse(v, &u), 1);
	ck_assert_uint_eq(strlen(u.a[0].addr), AM_REPORT_ADDR_MAX);
	snprintf(v, sizeof(v), "mailto:%061d@%s", 0, dom);
	ck_assert_uint_eq(am_report_uri_parse(v, &u), 0);
	ck_assert_uint_eq(u.bad, 1);
	/* local part over 64 octets (RFC 5321 4.5.3.1.1) */
	snprintf(v, sizeof(v), "mailto:%065d@example.com", 0);
	ck_assert_uint_eq(am_report_uri_parse(v, &u), 0);
}
END_TEST

/* limit: a value longer than AM_REPORT_URILIST_MAX is cut there */
START_TEST(test_list_max)
{
	struct am_report_uris	 u;
	char			*v = malloc(AM_REPORT_URILIST_MAX + 64);

	ck_assert_ptr_nonnull(v);
	memset(v, ' ', AM_REPORT_URILIST_MAX + 63);
	memcpy(v, "mailto:a@example.com,", 21);
	strcpy(v + AM_REPORT_URILIST_MAX - 5, ",mailto:b@example.com");
	ck_assert_uint_eq(am_report_uri_parse(v, &u), 1);
	ck_assert_int_eq(u.cut, 1);
	ck_assert_str_eq(u.a[0].addr, "a@example.com");
	free(v);
}
END_TEST

/* the external destination rule, pure parts */
START_TEST(test_same_org)
{
	ck_assert(am_report_dest_same_org("example.com", "example.com"));
	ck_assert(am_report_dest_same_org("example.com", "reports.EXAMPLE.com"));
	ck_assert(am_report_dest_same_org("example.com.", "a.example.com"));
	ck_assert(!am_report_dest_same_org("example.com", "badexample.com"));
	ck_assert(!am_report_dest_same_org("example.com", "example.net"));
	ck_assert(!am_report_dest_same_org("example.com", "com"));
	ck_assert(!am_report_dest_same_org("", "example.com"));
}
END_TEST

START_TEST(test_qname)
{
	char	 q[AM_DOMAIN_MAX + 2];
	char	 lab[70], big[300];

	ck_assert_int_eq(am_report_dest_qname("blue.example.com", "red.example.net", q, sizeof(q)), 0);
	ck_assert_str_eq(q, "blue.example.com._report._dmarc.red.example.net");
	/* step 4: a name past the DNS limits is no positive determination */
	memset(big, 'a', sizeof(big));
	for (size_t i = 50; i < 250; i += 51)
		big[i] = '.';
	big[250] = '\0';
	ck_assert_int_eq(am_report_dest_qname(big, "example.net", q, sizeof(q)), -1);
	ck_assert_str_eq(q, "");
	memset(lab, 'a', 64);
	lab[64] = '\0';
	ck_assert_int_eq(am_report_dest_qname("example.com", lab, q, sizeof(q)), -1);
	ck_assert_int_eq(am_report_dest_qname("example.com", "example.net", q, 10), -1);
}
END_TEST

START_TEST(test_txt_ok)
{
	ck_assert(am_report_dest_txt_ok("v=DMARC1"));
	ck_assert(am_report_dest_txt_ok("v=DMARC1;"));
	ck_assert(am_report_dest_txt_ok(" v = DMARC1 ; rua=mailto:a@b.example"));
	ck_assert(!am_report_dest_txt_ok("v=dmarc1"));		/* case-sensitive */
	ck_assert(!am_report_dest_txt_ok("v=DMARC10"));
	ck_assert(!am_report_dest_txt_ok("rua=x; v=DMARC1"));	/* must be first */
	ck_assert(!am_report_dest_txt_ok("v=spf1 -all"));
	ck_assert(!am_report_dest_txt_ok(""));
}
END_TEST

START_TEST(test_decide)
{
	char	*one[2] = { "v=spf1 -all", "v=DMARC1" };
	char	*none[1] = { "hello" };
	int	 w;

	ck_assert_int_eq(am_report_dest_decide(AM_DNS_OK, one, 2, &w), AM_REPORT_DEST_AUTHORIZED);
	ck_assert_int_eq(w, 1);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_OK, none, 1, &w), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(w, -1);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_OK, NULL, 0, NULL), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_NXDOMAIN, NULL, 0, NULL), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_NODATA, NULL, 0, NULL), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_PERM, NULL, 0, NULL), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(am_report_dest_decide(AM_DNS_TEMP, NULL, 0, NULL), AM_REPORT_DEST_TEMPERROR);
	ck_assert_str_eq(am_report_dest_name(AM_REPORT_DEST_TEMPERROR), "temperror");
}
END_TEST

START_TEST(test_override)
{
	struct am_report_uris	 u;

	ck_assert_int_eq(am_report_dest_override("v=DMARC1", "ruf", "red.example.net", &u), 0);
	ck_assert_int_eq(am_report_dest_override("v=DMARC1; rua=mailto:x@red.example.net",
	    "ruf", "red.example.net", &u), 0);
	ck_assert_int_eq(am_report_dest_override("v=DMARC1; ruf = mailto:x@Red.Example.net ;",
	    "ruf", "red.example.net", &u), 1);
	ck_assert_uint_eq(u.n, 1);
	ck_assert_str_eq(u.a[0].addr, "x@red.example.net");
	ck_assert_int_eq(am_report_dest_override("v=DMARC1; ruf=mailto:x@red.example.net,mailto:y@evil.example",
	    "ruf", "red.example.net", &u), -1);
	ck_assert_uint_eq(u.n, 0);
	ck_assert_int_eq(am_report_dest_override("v=DMARC1; ruf=https://x", "ruf", "red.example.net", &u), -1);
}
END_TEST

/* the whole rule through the resolver's local data */
static struct am_dns *
local_dns(void)
{
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	char			 err[256];

	memset(&o, 0, sizeof(o));
	o.local_only = 1;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_dns_add_zone(dns, "example.net"), 0);
	ck_assert_int_eq(am_dns_add_local(dns,
	    "blue.example.com._report._dmarc.red.example.net. 300 IN TXT \"v=DMARC1;\""), 0);
	ck_assert_int_eq(am_dns_add_local(dns,
	    "green.example.com._report._dmarc.red.example.net. 300 IN TXT \"v=DMARC1; ruf=mailto:other@red.example.net\""), 0);
	ck_assert_int_eq(am_dns_add_local(dns,
	    "pink.example.com._report._dmarc.red.example.net. 300 IN TXT \"v=spf1 -all\""), 0);
	return dns;
}

/* addr - one parsed address */
static struct am_report_addr
addr(const char *uri)
{
	struct am_report_addr	 a;

	ck_assert_int_eq(am_report_uri_one(uri, strlen(uri), &a), 1);
	return a;
}

START_TEST(test_check)
{
	struct am_dns		*dns = local_dns();
	struct am_report_addr	 red = addr("mailto:f@red.example.net");
	struct am_report_addr	 own = addr("mailto:f@reports.blue.example.com");
	struct am_report_uris	 ov;
	int			 rc;

	ck_assert_int_eq(am_report_dest_check(dns, "blue.example.com", "example.com",
	    &own, "ruf", &ov, &rc), AM_REPORT_DEST_SAME_ORG);
	ck_assert_int_eq(am_report_dest_check(dns, "blue.example.com", "example.com",
	    &red, "ruf", &ov, &rc), AM_REPORT_DEST_AUTHORIZED);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(am_report_dest_check(dns, "green.example.com", "example.com",
	    &red, "ruf", &ov, &rc), AM_REPORT_DEST_AUTHORIZED);
	ck_assert_int_eq(rc, 1);
	ck_assert_str_eq(ov.a[0].addr, "other@red.example.net");
	ck_assert_int_eq(am_report_dest_check(dns, "pink.example.com", "example.com",
	    &red, "ruf", NULL, NULL), AM_REPORT_DEST_NOT_AUTHORIZED);
	ck_assert_int_eq(am_report_dest_check(dns, "white.example.com", "example.com",
	    &red, "ruf", NULL, &rc), AM_REPORT_DEST_NOT_AUTHORIZED);
	am_dns_free(dns);
}
END_TEST

/* a name server that never answers: temperror, not "not authorized" */
START_TEST(test_check_temperror)
{
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	struct am_report_addr	 red = addr("mailto:f@red.example.net");
	char			 err[256], ns[64];
	const char		*nss[1] = { ns };
	int			 fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(ns, sizeof(ns), "127.0.0.1@%u", ntohs(sin.sin_port));
	memset(&o, 0, sizeof(o));
	o.nameservers = nss;
	o.nnameservers = 1;
	o.timeout = 1;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_report_dest_check(dns, "blue.example.com", "example.com",
	    &red, "ruf", NULL, NULL), AM_REPORT_DEST_TEMPERROR);
	am_dns_free(dns);
	close(fd);
}
END_TEST

static Suite *
report_uri_suite(void)
{
	Suite	*s = suite_create("report_uri");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_null);
	tcase_add_test(tc, test_domain_and_size);
	tcase_add_test(tc, test_uri_max);
	tcase_add_test(tc, test_addr_max);
	tcase_add_test(tc, test_list_max);
	tcase_add_test(tc, test_same_org);
	tcase_add_test(tc, test_qname);
	tcase_add_test(tc, test_txt_ok);
	tcase_add_test(tc, test_decide);
	tcase_add_test(tc, test_override);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_check_temperror);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(report_uri_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
