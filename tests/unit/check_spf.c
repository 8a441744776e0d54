/*
 * check_spf.c - SPF results through libspf2 with records served by am_dns
 * local data (the daemon's own resolver seam).  Names outside the local
 * zones are forwarded to a tiny UDP responder on loopback that answers
 * REFUSED, which is how the temperror cases get their DNS failure.
 * Client addresses avoid 127/8 and ::1, which libspf2 always passes.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/netlist.h"
#include "dns/dns.h"
#include "common/results.h"
#include "spf/spf.h"

#define RCODE_REFUSED	5

static const char *zones[] = {
	"example.com", "example.org",
	"2.0.192.in-addr.arpa",		/* an RFC 6303 default zone: replaced */
};

static const char *zone_data[] = {
	"pass-ip4.example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"",
	"multi.example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24\" \" -all\"",
	"a.example.com. 300 IN TXT \"v=spf1 a -all\"",
	"a.example.com. 300 IN A 192.0.2.10",
	"mx.example.com. 300 IN TXT \"v=spf1 mx -all\"",
	"mx.example.com. 300 IN MX 10 mail.example.com.",
	"mail.example.com. 300 IN A 192.0.2.20",
	"inc.example.com. 300 IN TXT "
	    "\"v=spf1 include:pass-ip4.example.com -all\"",
	"redir.example.com. 300 IN TXT "
	    "\"v=spf1 redirect=pass-ip4.example.com\"",
	"fail.example.com. 300 IN TXT \"v=spf1 -all\"",
	"soft.example.com. 300 IN TXT \"v=spf1 ~all\"",
	"neutral.example.com. 300 IN TXT \"v=spf1 ?all\"",
	"nospf.example.com. 300 IN TXT \"site-verification=abc\"",
	"aonly.example.com. 300 IN A 192.0.2.1",
	"two.example.com. 300 IN TXT \"v=spf1 -all\"",
	"two.example.com. 300 IN TXT \"v=spf1 +all\"",
	"syntax.example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.300 -all\"",
	"badmech.example.com. 300 IN TXT \"v=spf1 foo:bar.example.com -all\"",
	"incnone.example.com. 300 IN TXT "
	    "\"v=spf1 include:nospf.example.com -all\"",
	"incnx.example.com. 300 IN TXT "
	    "\"v=spf1 include:gone.example.com -all\"",
	"void3.example.com. 300 IN TXT \"v=spf1 a:v1.example.com "
	    "a:v2.example.com mx:aonly.example.com ip4:192.0.2.0/24 -all\"",
	"void2.example.com. 300 IN TXT \"v=spf1 a:v1.example.com "
	    "a:v2.example.com ip4:192.0.2.0/24 -all\"",
	"temp.example.com. 300 IN TXT \"v=spf1 include:up.example.net -all\"",
	"tempa.example.com. 300 IN TXT \"v=spf1 a:host.example.net -all\"",
	"v6.example.com. 300 IN TXT \"v=spf1 ip6:2001:db8::/32 -all\"",
	"a6.example.com. 300 IN TXT \"v=spf1 a -all\"",
	"a6.example.com. 300 IN AAAA 2001:db8::25",
	"mx1.example.org. 300 IN TXT \"v=spf1 a -all\"",
	"mx1.example.org. 300 IN A 192.0.2.30",
	"ptr.example.com. 300 IN TXT \"v=spf1 ptr -all\"",
	"40.2.0.192.in-addr.arpa. 300 IN PTR host.ptr.example.com.",
	"host.ptr.example.com. 300 IN A 192.0.2.40",
	/* RFC 7208 5.5: a PTR name whose A lookup fails is skipped */
	"ptrtemp.example.com. 300 IN TXT \"v=spf1 ptr -all\"",
	"42.2.0.192.in-addr.arpa. 300 IN PTR host.example.net.",
	"42.2.0.192.in-addr.arpa. 300 IN PTR ok.ptrtemp.example.com.",
	"ok.ptrtemp.example.com. 300 IN A 192.0.2.42",
	"43.2.0.192.in-addr.arpa. 300 IN PTR host.example.net.",
	"exists.example.com. 300 IN TXT "
	    "\"v=spf1 exists:%{i}.ok.example.com -all\"",
	"192.0.2.50.ok.example.com. 300 IN A 127.0.0.2",
};

/* a UDP responder on 127.0.0.1 answering every query with REFUSED */
static struct {
	int		 fd;
	int		 stop;		/* atomic */
	pthread_t	 th;
	char		 addr[64];
} ns;

static struct am_dns	*dns;
static struct am_spf	*spf;

/* refuse - turn the query in p into a REFUSED reply; its length or -1 */
static ssize_t
refuse(unsigned char *p, ssize_t n)
{
	ssize_t	 i = 12;

	if (n < 17)
		return -1;
	while (i < n && p[i] != 0)
		i += p[i] + 1;
	if (i + 5 > n)
		return -1;
	p[2] = 0x80 | (p[2] & 0x79);		/* QR, opcode, RD */
	p[3] = 0x80 | RCODE_REFUSED;		/* RA, rcode */
	p[4] = 0; p[5] = 1;			/* the question only */
	memset(p + 6, 0, 6);
	return i + 5;
}

/* ns_run - responder thread */
static void *
ns_run(void *arg)
{
	struct pollfd		 pfd = { .fd = ns.fd, .events = POLLIN };
	struct sockaddr_storage	 from;
	socklen_t		 fl;
	unsigned char		 buf[1500];
	ssize_t			 n;

	while (!__atomic_load_n(&ns.stop, __ATOMIC_SEQ_CST)) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fl = sizeof(from);
		n = recvfrom(ns.fd, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fl);
		if (n > 0 && (n = refuse(buf, n)) > 0)
			sendto(ns.fd, buf, (size_t)n, 0,
			    (struct sockaddr *)&from, fl);
	}
	return arg;
}

/* ns_start - bind 127.0.0.1:0, start answering */
static void
ns_start(void)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	socklen_t		 sl = sizeof(sin);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ns.fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(ns.fd, 0);
	ck_assert_int_eq(bind(ns.fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(ns.fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(ns.addr, sizeof(ns.addr), "127.0.0.1@%u",
	    (unsigned)ntohs(sin.sin_port));
	__atomic_store_n(&ns.stop, 0, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_create(&ns.th, NULL, ns_run, NULL), 0);
}

/* setup - responder, resolver with the test zones, one am_spf */
static void
setup(void)
{
	const char		*nsv[1];
	struct am_dns_opts	 o = { .nnameservers = 1, .timeout = 2 };
	char			 err[256];
	size_t			 i;

	ns_start();
	nsv[0] = ns.addr;
	o.nameservers = nsv;
	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		ck_assert_int_eq(am_dns_add_zone(dns, zones[i]), 0);
	for (i = 0; i < sizeof(zone_data) / sizeof(zone_data[0]); i++)
		ck_assert_msg(am_dns_add_local(dns, zone_data[i]) == 0,
		    "bad zone line %s", zone_data[i]);
	spf = am_spf_new(dns, "mx.receiver.example");
	ck_assert_ptr_nonnull(spf);
}

/* teardown - everything setup made, in reverse */
static void
teardown(void)
{
	am_spf_free(spf);
	am_dns_free(dns);
	__atomic_store_n(&ns.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(ns.th, NULL);
	close(ns.fd);
}

/*
 * check_helo, check_mailfrom - the checks with the client given as text,
 * turned into the sockaddr the session passes (NULL if it is not one)
 */
static int
check_helo(struct am_spf *s, struct am_dns_budget *b, const char *ip,
    const char *helo, struct am_spf_check *c)
{
	struct sockaddr_storage	 ss;

	return am_spf_check_helo(s, b, am_netlist_addr(ip, &ss) == 0 ?
	    (struct sockaddr *)&ss : NULL, helo, c);
}

static int
check_mailfrom(struct am_spf *s, struct am_dns_budget *b, const char *ip,
    const char *helo, const char *mailfrom, struct am_spf_check *c)
{
	struct sockaddr_storage	 ss;

	return am_spf_check_mailfrom(s, b, am_netlist_addr(ip, &ss) == 0 ?
	    (struct sockaddr *)&ss : NULL, helo, mailfrom, c);
}

#define HELO	"mx1.example.org"
#define HELOCHK	NULL		/* mailfrom NULL: run the HELO check */

static const struct {
	const char		*label;
	const char		*ip;
	const char		*helo;
	const char		*mailfrom;	/* NULL: HELO check */
	enum am_spf_result	 want;
	const char		*identity;
	const char		*domain;
} cases[] = {
	{ "ip4 pass", "192.0.2.5", HELO, "user@pass-ip4.example.com",
	    AM_SPF_PASS, "user@pass-ip4.example.com", "pass-ip4.example.com" },
	{ "ip4 -all fail", "198.51.100.5", HELO, "user@pass-ip4.example.com",
	    AM_SPF_FAIL, "user@pass-ip4.example.com", "pass-ip4.example.com" },
	{ "case folded domain", "192.0.2.5", HELO, "U@Pass-IP4.Example.COM",
	    AM_SPF_PASS, "U@Pass-IP4.Example.COM", "pass-ip4.example.com" },
	{ "multi-string record", "192.0.2.6", HELO, "u@multi.example.com",
	    AM_SPF_PASS, "u@multi.example.com", "multi.example.com" },
	{ "multi-string record fail", "198.51.100.6", HELO,
	    "u@multi.example.com", AM_SPF_FAIL, NULL, NULL },
	{ "a pass", "192.0.2.10", HELO, "u@a.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "a fail", "192.0.2.11", HELO, "u@a.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "mx pass", "192.0.2.20", HELO, "u@mx.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "mx fail", "192.0.2.21", HELO, "u@mx.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "include pass", "192.0.2.7", HELO, "u@inc.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "include no match", "198.51.100.7", HELO, "u@inc.example.com",
	    AM_SPF_FAIL, NULL, NULL },
	{ "redirect pass", "192.0.2.8", HELO, "u@redir.example.com",
	    AM_SPF_PASS, NULL, NULL },
	{ "redirect fail", "198.51.100.8", HELO, "u@redir.example.com",
	    AM_SPF_FAIL, NULL, NULL },
	{ "ptr pass", "192.0.2.40", HELO, "u@ptr.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "ptr fail", "192.0.2.41", HELO, "u@ptr.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "ptr: a name whose A lookup fails is skipped (5.5)", "192.0.2.42",
	    HELO, "u@ptrtemp.example.com", AM_SPF_PASS, NULL, NULL },
	{ "ptr: the only name's A lookup fails: no match (5.5)", "192.0.2.43",
	    HELO, "u@ptrtemp.example.com", AM_SPF_FAIL, NULL, NULL },
	/*
	 * an RFC 1918 client's PTR is asked of the name server (which
	 * REFUSEs here), not answered NXDOMAIN by libunbound's own zones
	 */
	{ "ptr of a private address goes to the name server", "192.168.1.5",
	    HELO, "u@ptr.example.com", AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of a documentation address goes to the name server",
	    "2001:db8:1::5", HELO, "u@ptr.example.com", AM_SPF_TEMPERROR,
	    NULL, NULL },
	{ "ptr of 10/8", "10.1.2.3", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of 172.16/12", "172.31.2.3", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of 100.64/10 (RFC 6598)", "100.100.2.3", HELO,
	    "u@ptr.example.com", AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of 169.254/16", "169.254.2.3", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of 198.51.100/24", "198.51.100.3", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of fd00::/8", "fd00::5", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "ptr of fe80::/10", "fe80::5", HELO, "u@ptr.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "exists with %{i} pass", "192.0.2.50", HELO, "u@exists.example.com",
	    AM_SPF_PASS, NULL, NULL },
	{ "exists with %{i} fail", "192.0.2.51", HELO, "u@exists.example.com",
	    AM_SPF_FAIL, NULL, NULL },
	{ "-all", "192.0.2.9", HELO, "u@fail.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "~all stays softfail", "192.0.2.9", HELO, "u@soft.example.com",
	    AM_SPF_SOFTFAIL, NULL, NULL },
	{ "?all", "192.0.2.9", HELO, "u@neutral.example.com", AM_SPF_NEUTRAL,
	    NULL, NULL },
	{ "TXT but no SPF", "192.0.2.9", HELO, "u@nospf.example.com",
	    AM_SPF_NONE, NULL, NULL },
	{ "NXDOMAIN", "192.0.2.9", HELO, "u@gone.example.com", AM_SPF_NONE,
	    "u@gone.example.com", "gone.example.com" },
	{ "NODATA", "192.0.2.9", HELO, "u@aonly.example.com", AM_SPF_NONE,
	    NULL, NULL },
	{ "two SPF records", "192.0.2.9", HELO, "u@two.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "bad ip4 syntax", "192.0.2.9", HELO, "u@syntax.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "unknown mechanism", "192.0.2.9", HELO, "u@badmech.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "include without SPF", "192.0.2.9", HELO, "u@incnone.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "include of NXDOMAIN", "192.0.2.9", HELO, "u@incnx.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "three void lookups", "192.0.2.9", HELO, "u@void3.example.com",
	    AM_SPF_PERMERROR, NULL, NULL },
	{ "two void lookups are fine", "192.0.2.9", HELO,
	    "u@void2.example.com", AM_SPF_PASS, NULL, NULL },
	{ "include gets REFUSED", "192.0.2.9", HELO, "u@temp.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "a: gets REFUSED", "192.0.2.9", HELO, "u@tempa.example.com",
	    AM_SPF_TEMPERROR, NULL, NULL },
	{ "record lookup REFUSED", "192.0.2.9", HELO, "u@x.example.net",
	    AM_SPF_TEMPERROR, "u@x.example.net", "x.example.net" },
	{ "null sender uses HELO", "192.0.2.30", HELO, "", AM_SPF_PASS,
	    "postmaster@" HELO, HELO },
	{ "empty sender uses HELO", "198.51.100.30", HELO, "", AM_SPF_FAIL,
	    "postmaster@" HELO, HELO },
	{ "HELO pass", "192.0.2.30", HELO, HELOCHK, AM_SPF_PASS, HELO, HELO },
	{ "HELO fail", "198.51.100.30", HELO, HELOCHK, AM_SPF_FAIL, HELO,
	    HELO },
	{ "HELO without record", "192.0.2.30", "gone.example.com", HELOCHK,
	    AM_SPF_NONE, "gone.example.com", "gone.example.com" },
	{ "HELO address literal", "192.0.2.30", "[192.0.2.30]", HELOCHK,
	    AM_SPF_NONE, "[192.0.2.30]", "[192.0.2.30]" },
	{ "HELO single label", "192.0.2.30", "localhost", HELOCHK,
	    AM_SPF_NONE, "localhost", "localhost" },
	{ "HELO bare address", "192.0.2.30", "192.0.2.30", HELOCHK,
	    AM_SPF_NONE, NULL, NULL },
	{ "null sender, literal HELO", "192.0.2.30", "[192.0.2.30]", "",
	    AM_SPF_NONE, "postmaster@[192.0.2.30]", "[192.0.2.30]" },
	{ "sender without domain", "192.0.2.30", HELO, "user", AM_SPF_NONE,
	    "user", "" },
	{ "ip6 pass", "2001:db8::5", HELO, "u@v6.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "ip6 fail", "2001:db9::5", HELO, "u@v6.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "ip6 a pass", "2001:db8::25", HELO, "u@a6.example.com", AM_SPF_PASS,
	    NULL, NULL },
	{ "ip6 a fail", "2001:db8::26", HELO, "u@a6.example.com", AM_SPF_FAIL,
	    NULL, NULL },
	{ "ip6 against ip4-only", "2001:db8::5", HELO,
	    "u@pass-ip4.example.com", AM_SPF_FAIL, NULL, NULL },
};

/* printable - reason is printable ASCII */
static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s > '~')
			return 0;
	return 1;
}

START_TEST(test_spf_table)
{
	struct am_spf_check	 c;
	int			 r;

	memset(&c, 0x5a, sizeof(c));
	if (cases[_i].mailfrom == NULL)
		r = check_helo(spf, NULL, cases[_i].ip, cases[_i].helo, &c);
	else
		r = check_mailfrom(spf, NULL, cases[_i].ip, cases[_i].helo,
		    cases[_i].mailfrom, &c);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(c.checked, 1);
	ck_assert_msg(c.result == cases[_i].want, "%s: got %d want %d (%s)",
	    cases[_i].label, c.result, cases[_i].want, c.reason);
	if (cases[_i].identity != NULL)
		ck_assert_str_eq(c.identity, cases[_i].identity);
	if (cases[_i].domain != NULL)
		ck_assert_str_eq(c.domain, cases[_i].domain);
	ck_assert_msg(c.reason[0] != '\0', "%s: empty reason", cases[_i].label);
	ck_assert_msg(printable(c.reason), "%s: reason", cases[_i].label);
}
END_TEST

START_TEST(test_void_reason)
{
	struct am_spf_check	 c;

	ck_assert_int_eq(check_mailfrom(spf, NULL, "192.0.2.9", HELO,
	    "u@void3.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_PERMERROR);
	ck_assert_str_eq(c.reason, "void lookup limit exceeded");
	/* the count is per check */
	ck_assert_int_eq(check_mailfrom(spf, NULL, "192.0.2.9", HELO,
	    "u@void2.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_PASS);
}
END_TEST

/*
 * test_budget - the check's lookups count against the budget passed in
 * (through libspf2's layer): with room for one, a record that needs more
 * is temperror, and the budget says why; a fresh one passes
 */
START_TEST(test_budget)
{
	struct am_spf_check	 c;
	struct am_dns_budget	 b = { 0 };

	am_dns_budget_arm(&b, 0, 1);
	ck_assert_int_eq(check_mailfrom(spf, &b, "192.0.2.9", HELO,
	    "u@void2.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_TEMPERROR);
	ck_assert_int_eq(b.exhausted, AM_DNS_BUDGET_LOOKUPS);
	am_dns_budget_arm(&b, 0, 100);
	ck_assert_int_eq(check_mailfrom(spf, &b, "192.0.2.9", HELO,
	    "u@void2.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_PASS);
	ck_assert_int_eq(b.exhausted, 0);
	ck_assert_uint_gt(b.lookups, 1);
	/*
	 * RFC 7208 5.5 skips a PTR name whose A lookup fails, but not when
	 * the failure is the message's budget running out: record and PTR
	 * fit, the A lookups do not
	 */
	am_dns_budget_arm(&b, 0, 2);
	ck_assert_int_eq(check_mailfrom(spf, &b, "192.0.2.42", HELO,
	    "u@ptrtemp.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_TEMPERROR);
	ck_assert_int_eq(b.exhausted, AM_DNS_BUDGET_LOOKUPS);
	/* nor when the message met a local failure (dns.h): never skipped */
	am_dns_budget_arm(&b, 0, 100);
	am_dns_budget_local(&b, AM_DNS_LOCAL_MEMORY, ENOMEM);
	ck_assert_int_eq(check_mailfrom(spf, &b, "192.0.2.43", HELO,
	    "u@ptrtemp.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_TEMPERROR);
}
END_TEST

START_TEST(test_reasons)
{
	struct am_spf_check	 c;

	check_mailfrom(spf, NULL, "192.0.2.5", HELO,
	    "user@pass-ip4.example.com", &c);
	ck_assert_str_eq(c.reason, "domain of pass-ip4.example.com "
	    "designates 192.0.2.5 as permitted sender");
	check_mailfrom(spf, NULL, "192.0.2.9", HELO, "u@two.example.com",
	    &c);
	ck_assert_msg(strstr(c.reason, "ultiple") != NULL, "%s", c.reason);
	check_helo(spf, NULL, "192.0.2.30", "[192.0.2.30]", &c);
	ck_assert_str_eq(c.reason, "HELO is an address literal");
}
END_TEST

START_TEST(test_bad_client)
{
	struct am_spf_check	 c;

	/* nothing to evaluate: none with a reason, not an internal error */
	ck_assert_int_eq(check_mailfrom(spf, NULL, "not-an-ip", HELO,
	    "u@pass-ip4.example.com", &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_NONE);
	ck_assert_str_eq(c.reason, "no usable client address");
	ck_assert_str_eq(c.identity, "u@pass-ip4.example.com");
	ck_assert_int_eq(check_helo(spf, NULL, NULL, HELO, &c), 0);
	ck_assert_int_eq(c.result, AM_SPF_NONE);
	ck_assert_int_eq(c.checked, 1);
}
END_TEST

START_TEST(test_received_spf)
{
	struct am_spf_check	 c;
	struct am_buf		 b;

	am_buf_init(&b, 2048);
	check_mailfrom(spf, NULL, "192.0.2.5", HELO,
	    "user@pass-ip4.example.com", &c);
	am_spf_received(&c, "192.0.2.5", HELO, "mx.receiver.example", &b);
	ck_assert_str_eq(am_buf_str(&b), "pass (domain of "
	    "pass-ip4.example.com designates 192.0.2.5 as permitted sender) "
	    "client-ip=192.0.2.5; envelope-from=\"user@pass-ip4.example.com\"; "
	    "helo=mx1.example.org; receiver=mx.receiver.example; "
	    "identity=mailfrom");

	am_buf_reset(&b);
	check_helo(spf, NULL, "2001:db8::1", "[192.0.2.30]", &c);
	am_spf_received(&c, "2001:db8::1", "[192.0.2.30]",
	    "mx.receiver.example", &b);
	ck_assert_str_eq(am_buf_str(&b), "none (HELO is an address literal) "
	    "client-ip=\"2001:db8::1\"; helo=\"[192.0.2.30]\"; "
	    "receiver=mx.receiver.example; identity=helo");

	am_buf_reset(&b);
	memset(&c, 0, sizeof(c));
	c.result = AM_SPF_FAIL;
	strcpy(c.identity, "a\"b\\c@example.com");
	strcpy(c.reason, "x (y) \\z");
	am_spf_received(&c, "192.0.2.1", NULL, NULL, &b);
	ck_assert_str_eq(am_buf_str(&b), "fail (x \\(y\\) \\\\z) "
	    "client-ip=192.0.2.1; envelope-from=\"a\\\"b\\\\c@example.com\"; "
	    "identity=mailfrom");
	ck_assert_int_eq(am_buf_failed(&b), 0);

	/* RFC 7208 9.1: an SMTPUTF8 local part -> the domain alone */
	am_buf_reset(&b);
	memset(&c, 0, sizeof(c));
	c.result = AM_SPF_PASS;
	strcpy(c.identity, "\xc3\xa9\xc3\xa9\xc3\xa9@mac1.example");
	strcpy(c.domain, "mac1.example");
	am_spf_received(&c, "192.0.2.1", "mx.example.org", NULL, &b);
	ck_assert_str_eq(am_buf_str(&b), "pass client-ip=192.0.2.1; "
	    "envelope-from=mac1.example; helo=mx.example.org; "
	    "identity=mailfrom");

	/*
	 * a control in the local part: the domain alone; a UTF-8 HELO name
	 * or domain: the key left out, never '?' for its bytes (issue 15,
	 * defect 9, tests/milter/test_authres_corpus.py)
	 */
	am_buf_reset(&b);
	strcpy(c.identity, "\"a\tb\"@mac1.example");
	am_spf_received(&c, "192.0.2.1", "b\xc3\xbc" "cher.example", NULL, &b);
	ck_assert_str_eq(am_buf_str(&b), "pass client-ip=192.0.2.1; "
	    "envelope-from=mac1.example; identity=mailfrom");
	am_buf_reset(&b);
	strcpy(c.identity, "user@b\xc3\xbc" "cher.example");
	c.domain[0] = '\0';
	am_spf_received(&c, "192.0.2.1", "mx.example.org", NULL, &b);
	ck_assert_str_eq(am_buf_str(&b), "pass client-ip=192.0.2.1; "
	    "helo=mx.example.org; identity=mailfrom");
	am_buf_clear(&b);
}
END_TEST

/* spf_thread - one connection's worth of checks: own am_spf, shared dns */
static void *
spf_thread(void *arg)
{
	struct am_spf		*mine = am_spf_new(dns, "mx.receiver.example");
	struct am_spf_check	 c;
	size_t			 i, k, bad = 0;

	if (mine == NULL)
		return (void *)1;
	for (i = 0; i < 60; i++) {
		k = ((size_t)arg * 7 + i) % (sizeof(cases) / sizeof(cases[0]));
		if (cases[k].mailfrom == NULL)
			check_helo(mine, NULL, cases[k].ip, cases[k].helo, &c);
		else
			check_mailfrom(mine, NULL, cases[k].ip,
			    cases[k].helo, cases[k].mailfrom, &c);
		if (c.result != cases[k].want)
			bad++;
	}
	am_spf_free(mine);
	return (void *)bad;
}

START_TEST(test_threads)
{
	pthread_t	 t[8];
	void		*bad;
	size_t		 i, total = 0;

	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, spf_thread,
		    (void *)i), 0);
	for (i = 0; i < 8; i++) {
		pthread_join(t[i], &bad);
		total += (size_t)bad;
	}
	ck_assert_uint_eq(total, 0);
}
END_TEST

START_TEST(test_new_free)
{
	struct am_spf	*s2 = am_spf_new(dns, NULL);	/* gethostname() */

	ck_assert_ptr_nonnull(s2);
	am_spf_free(s2);
	am_spf_free(NULL);
}
END_TEST

/* spf_suite - table, reasons, Received-SPF */
static Suite *
spf_suite(void)
{
	Suite	*s = suite_create("spf");
	TCase	*tc = tcase_create("spf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_spf_table, 0,
	    sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, test_void_reason);
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_reasons);
	tcase_add_test(tc, test_bad_client);
	tcase_add_test(tc, test_received_spf);
	tcase_add_test(tc, test_new_free);
	tcase_add_test(tc, test_threads);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(spf_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
