/*
 * check_rfc5322.c - From author domains and authserv-id, table-driven.
 *
 * Every case states the exact domain list (or -1): valid forms from
 * RFC 5322 3.4 and 4.4, RFC 6854 groups, RFC 2047 display names, and the
 * hostile forms behind OpenDMARC CVE-2019-16378 and CVE-2021-34555.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message/rfc5322.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define L63	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij123"
#define L50	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"

static const struct {
	const char	*label;
	const char	*value;
	int		 want;		/* return value */
	const char	*dom[4];	/* the first want domains */
} from_cases[] = {
	/* valid forms */
	{ "bare addr-spec", "user@example.com", 1, { "example.com" } },
	{ "name-addr", "User <user@example.com>", 1, { "example.com" } },
	{ "upper case domain", "User <user@EXAMPLE.Com>", 1, { "example.com" } },
	{ "quoted display name", "\"Joe Q. Public\" <john.q.public@example.com>",
	    1, { "example.com" } },
	{ "angle-addr alone", "<a@x.example>", 1, { "x.example" } },
	{ "trailing dot stripped", "a@x.example.", 1, { "x.example" } },
	{ "trailing dot in angle", "J <a@x.example.>", 1, { "x.example" } },
	{ "comment before and after", "(hi) a@x.example (there)", 1, { "x.example" } },
	{ "comments everywhere", "a(b)@(c)x(d).(e)example(f)", 1, { "x.example" } },
	{ "nested comment", "(a (b (c)) d) a@x.example", 1, { "x.example" } },
	{ "comment holding an address",
	    "a@x.example (really <b@evil.example>, c@evil.example)", 1, { "x.example" } },
	{ "CFWS around dots (obs-domain)", "user@x . example", 1, { "x.example" } },
	{ "CFWS around @", "user @ x.example", 1, { "x.example" } },
	{ "quoted local part with escapes", "\"a\\\"b\\\\c\"@x.example", 1, { "x.example" } },
	{ "quoted local part with @", "\"a@evil.example\"@x.example", 1, { "x.example" } },
	{ "obs-local-part words", "a.\"b c\".d@x.example", 1, { "x.example" } },
	{ "double dot local part tolerated", "a..b@x.example", 1, { "x.example" } },
	{ "obs-phrase with dot", "Joe . Smith <a@x.example>", 1, { "x.example" } },
	{ "several words and quotes", "\"a\" b \"c\" <u@x.example>", 1, { "x.example" } },
	{ "RFC 2047 B display name", "=?UTF-8?B?5bGx55Sw?= <u@x.example>", 1, { "x.example" } },
	{ "RFC 2047 Q with =40", "=?utf-8?q?a=40evil.example?= <u@x.example>",
	    1, { "x.example" } },
	{ "UTF-8 display name (RFC 6532)", "J\xc3\xb6rg <u@x.example>", 1, { "x.example" } },
	{ "folded value", "Joe\r\n <a@x.example>", 1, { "x.example" } },
	{ "folded with LF", "Joe\n\t<a@x.example>", 1, { "x.example" } },
	{ "trailing CRLF", "a@x.example\r\n", 1, { "x.example" } },
	{ "obs route", "<@r.example:user@x.example>", 1, { "x.example" } },
	{ "obs route, two hops", "J <@r1.example,@r2.example:user@x.example>",
	    1, { "x.example" } },
	{ "underscore tolerated", "a@_x.example", 1, { "_x.example" } },
	{ "punycode", "a@xn--bcher-kva.example", 1, { "xn--bcher-kva.example" } },
	{ "label of 63", "a@" L63 ".example", 1, { L63 ".example" } },
	{ "single label", "a@localhost", 1, { "localhost" } },
	/* several addresses: every domain is returned (CVE-2019-16378) */
	{ "two angle-addrs", "<a@x.example>, <b@y.example>", 2, { "x.example", "y.example" } },
	{ "two mailboxes", "A <a@x.example>, b@y.example", 2, { "x.example", "y.example" } },
	{ "duplicates kept", "a@x.example, b@X.example", 2, { "x.example", "x.example" } },
	{ "obs empty elements", ", a@x.example,, (c) ,b@y.example,", 2,
	    { "x.example", "y.example" } },
	{ "group counts", "Undisclosed: a@b.example, c@d.example;", 2,
	    { "b.example", "d.example" } },
	{ "group then mailbox", "G: a@b.example; , c@d.example", 2, { "b.example", "d.example" } },
	{ "mailbox then group", "c@d.example, G: <a@b.example>;", 2, { "d.example", "b.example" } },
	{ "empty group", "Undisclosed recipients:;", 0, { NULL } },
	{ "empty group with CFWS", "Undisclosed recipients: (none) ;", 0, { NULL } },
	/* display names that look like addresses */
	{ "quoted display name is an address", "\"a@evil.example\" <b@good.example>",
	    1, { "good.example" } },
	{ "unquoted display name with @", "a@evil.example <b@good.example>", -1, { NULL } },
	/* malformed (CVE-2021-34555 and friends) */
	{ "empty value", "", -1, { NULL } },
	{ "blank value", "  \t ", -1, { NULL } },
	{ "only a comment", "(nobody)", -1, { NULL } },
	{ "no domain", "user@", -1, { NULL } },
	{ "no local part", "@example.com", -1, { NULL } },
	{ "no @", "user", -1, { NULL } },
	{ "null angle-addr", "<>", -1, { NULL } },
	{ "empty label", "user@x..example", -1, { NULL } },
	{ "two trailing dots", "user@x.example..", -1, { NULL } },
	{ "just a dot", "user@.", -1, { NULL } },
	{ "two @", "a@b@c.example", -1, { NULL } },
	{ "missing comma", "a@x.example b@y.example", -1, { NULL } },
	{ "semicolon list", "a@x.example; b@y.example", -1, { NULL } },
	{ "two angle-addrs, one name", "Joe <a@x.example> <b@y.example>", -1, { NULL } },
	{ "unclosed angle", "<a@x.example", -1, { NULL } },
	{ "stray close angle", "a@x.example>", -1, { NULL } },
	{ "unterminated comment", "a@x.example (oops", -1, { NULL } },
	{ "unterminated quote", "\"Joe <a@x.example>", -1, { NULL } },
	{ "comment too deep",
	    "((((((((((((((((((((((((((((((((((x)))))))))))))))))))))))))))))))))) a@x.example",
	    -1, { NULL } },
	{ "bad route", "<@r.example user@x.example>", -1, { NULL } },
	{ "junk after address", "a@x.example, [junk]", -1, { NULL } },
	{ "line break not folding", "Joe\r\n<a@x.example>", -1, { NULL } },
	{ "NUL-free control in domain", "a@x\x01.example", -1, { NULL } },
	{ "group without ;", "G: a@b.example", -1, { NULL } },
	{ "nested group", "G: H: a@b.example;;", -1, { NULL } },
	/* unusable domains: the whole value is -1 */
	{ "domain literal", "user@[192.0.2.1]", -1, { NULL } },
	{ "domain literal in angle", "Joe <user@[IPv6:2001:db8::1]>", -1, { NULL } },
	{ "literal among good ones", "a@x.example, b@[192.0.2.1]", -1, { NULL } },
	{ "atext not LDH", "a@x!.example", -1, { NULL } },
	{ "U-label: A-label (RFC 8616)", "a@b\xc3\xbc" "cher.example", 1, { "xn--bcher-kva.example" } },
	{ "label of 64", "a@" L63 "4.example", -1, { NULL } },
	{ "domain over 253", "a@" L50 "." L50 "." L50 "." L50 "." L50 ".example", -1, { NULL } },
};

START_TEST(test_from_table)
{
	char	 dom[4][AM_DOMAIN_MAX + 1];
	int	 n, i;

	memset(dom, 0, sizeof(dom));
	n = am_rfc5322_from_domains(from_cases[_i].value, dom, nitems(dom));
	ck_assert_msg(n == from_cases[_i].want, "%s: got %d, want %d",
	    from_cases[_i].label, n, from_cases[_i].want);
	for (i = 0; i < n && i < 4; i++)
		ck_assert_msg(strcmp(dom[i], from_cases[_i].dom[i]) == 0,
		    "%s: domain %d is \"%s\", want \"%s\"", from_cases[_i].label,
		    i, dom[i], from_cases[_i].dom[i]);
}
END_TEST

/* more addresses than room: the count is exact, only max are written */
START_TEST(test_from_over_max)
{
	char	 value[2048], dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	size_t	 len = 0;
	int	 i, n;

	for (i = 0; i < AM_FROM_ADDRS_MAX + 4; i++)
		len += (size_t)snprintf(value + len, sizeof(value) - len,
		    "%su%d@d%d.example", i ? ", " : "", i, i);
	n = am_rfc5322_from_domains(value, dom, AM_FROM_ADDRS_MAX);
	ck_assert_int_eq(n, AM_FROM_ADDRS_MAX + 4);
	ck_assert_str_eq(dom[0], "d0.example");
	ck_assert_str_eq(dom[AM_FROM_ADDRS_MAX - 1], "d15.example");
}
END_TEST

START_TEST(test_from_null)
{
	char	 dom[1][AM_DOMAIN_MAX + 1];

	ck_assert_int_eq(am_rfc5322_from_domains(NULL, dom, 1), -1);
	ck_assert_int_eq(am_rfc5322_from_domains("a@x.example", dom, 0), 1);
}
END_TEST

static const struct {
	const char	*label;
	const char	*value;
	size_t		 outlen;
	int		 want;
	const char	*id;
} authserv_cases[] = {
	{ "token", "mx.example.org; spf=pass", 64, 0, "mx.example.org" },
	{ "CFWS and version", " (ours)\r\n mx.example.org 1; none", 64, 0, "mx.example.org" },
	{ "quoted", "\"mx.example.org\"; none", 64, 0, "mx.example.org" },
	{ "quoted with escape", "\"a\\\"b\"; none", 64, 0, "a\"b" },
	{ "no id", "; spf=pass", 64, -1, NULL },
	{ "empty", "", 64, -1, NULL },
	{ "empty quoted", "\"\"; none", 64, -1, NULL },
	{ "unterminated quote", "\"mx.example.org; none", 64, -1, NULL },
	{ "does not fit", "mx.example.org; none", 14, -1, NULL },
	{ "just fits", "mx.example.org; none", 15, 0, "mx.example.org" },
	{ "broken comment", "(x mx.example.org", 64, -1, NULL },
};

START_TEST(test_authserv_table)
{
	char	 out[64];
	int	 r;

	r = am_rfc5322_authserv_id(authserv_cases[_i].value, out,
	    authserv_cases[_i].outlen);
	ck_assert_msg(r == authserv_cases[_i].want, "%s: got %d",
	    authserv_cases[_i].label, r);
	if (r == 0)
		ck_assert_msg(strcmp(out, authserv_cases[_i].id) == 0,
		    "%s: got \"%s\"", authserv_cases[_i].label, out);
}
END_TEST

/*
 * what an MTA without SMFIP_HDR_LEADSPC sent (one space after the colon
 * dropped) -> what goes back in front (rfc5322.h am_rfc5322_lost_space)
 */
static const struct {
	const char	*sent;
	const char	*want;
} lost_space_cases[] = {
	{ "x", " " },			/* "Name: x" (or the lost "Name:x") */
	{ " x", " " },			/* "Name:  x": exact */
	{ "\tx", "" },			/* "Name:<tab>x" (or the lost ": <tab>x") */
	{ "\n\tx", " " },		/* "Name: <fold>" */
	{ "", " " },			/* "Name: " (or the lost "Name:") */
	{ NULL, " " },
};

START_TEST(test_lost_space_table)
{
	const char	*got = am_rfc5322_lost_space(lost_space_cases[_i].sent);

	ck_assert_msg(strcmp(got, lost_space_cases[_i].want) == 0,
	    "case %d: got \"%s\"", _i, got);
}
END_TEST

/* rfc5322_suite - the suite */
static Suite *
rfc5322_suite(void)
{
	Suite	*s = suite_create("rfc5322");
	TCase	*tc = tcase_create("from");

	tcase_add_loop_test(tc, test_from_table, 0, nitems(from_cases));
	tcase_add_test(tc, test_from_over_max);
	tcase_add_test(tc, test_from_null);
	suite_add_tcase(s, tc);
	tc = tcase_create("authserv-id");
	tcase_add_loop_test(tc, test_authserv_table, 0, nitems(authserv_cases));
	suite_add_tcase(s, tc);
	tc = tcase_create("lost-space");
	tcase_add_loop_test(tc, test_lost_space_table, 0,
	    nitems(lost_space_cases));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(rfc5322_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
