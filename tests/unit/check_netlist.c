/*
 * check_netlist.c - unit tests for netlist.c: IPv4, IPv6, IPv4-mapped,
 * prefix lengths from 0 to 128, lists, files and bad entries.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netlist.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define DATA		TESTDATA "/netlist/"

/* one entry, one address, listed or not */
static const struct {
	const char	*entry;
	const char	*addr;
	int		 want;
} match_cases[] = {
	{ "192.0.2.0/24", "192.0.2.77", 1 },
	{ "192.0.2.0/24", "192.0.2.0", 1 },
	{ "192.0.2.0/24", "192.0.2.255", 1 },
	{ "192.0.2.0/24", "192.0.3.1", 0 },
	{ "192.0.2.77/24", "192.0.2.1", 1 },	/* host bits masked */
	{ "192.0.2.1", "192.0.2.1", 1 },	/* no prefix = /32 */
	{ "192.0.2.1", "192.0.2.2", 0 },
	{ "192.0.2.1/32", "192.0.2.1", 1 },
	{ "192.0.2.1/32", "192.0.2.0", 0 },
	{ "10.0.0.0/9", "10.127.255.255", 1 },	/* prefix not on a byte */
	{ "10.0.0.0/9", "10.128.0.0", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 },
	{ "0.0.0.0/0", "::ffff:203.0.113.9", 1 },
	{ "0.0.0.0/0", "2001:db8::1", 0 },
	{ "::/0", "2001:db8::1", 1 },
	{ "::/0", "::ffff:192.0.2.1", 1 },
	{ "::/0", "192.0.2.1", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
	{ "2001:db8::/32", "2001:db9::", 0 },
	{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
	{ "2001:db8::/33", "2001:db8:8000::1", 0 },
	{ "::1", "::1", 1 },
	{ "::1", "::2", 0 },
	{ "::1/128", "::1", 1 },
	{ "2001:db8::1/128", "2001:db8::1", 1 },
	{ "2001:db8::1/128", "2001:db8::1:0", 0 },
	{ "[2001:db8::1]", "2001:db8::1", 1 },
	{ "[2001:db8::]/64", "2001:db8::abcd", 1 },
	{ "[2001:db8::/64]", "2001:db8:0:1::", 0 },
	{ "[192.0.2.1]", "192.0.2.1", 1 },
	{ "127.0.0.1", "::ffff:127.0.0.1", 1 },	/* mapped matches v4 */
	{ "127.0.0.1", "::127.0.0.1", 0 },	/* compatible is not mapped */
	{ "::ffff:10.0.0.0/104", "10.1.2.3", 1 },	/* = 10.0.0.0/8 */
	{ "::ffff:10.0.0.0/104", "::ffff:10.1.2.3", 1 },
	{ "::ffff:10.0.0.0/104", "11.0.0.1", 0 },
	{ "::ffff:0:0/96", "198.51.100.1", 1 },	/* = 0.0.0.0/0 */
	{ "192.0.2.1", "not an address", 0 },
	{ "192.0.2.1", "", 0 },
};

START_TEST(test_match)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 err[256];

	ck_assert_ptr_nonnull(nl);
	ck_assert_msg(am_netlist_add(nl, match_cases[_i].entry, err,
	    sizeof(err)) == 0, "%s: %s", match_cases[_i].entry, err);
	ck_assert_uint_eq(am_netlist_count(nl), 1);
	ck_assert_msg(am_netlist_match_str(nl, match_cases[_i].addr) ==
	    match_cases[_i].want, "%s in %s: want %d", match_cases[_i].addr,
	    match_cases[_i].entry, match_cases[_i].want);
	am_netlist_free(nl);
}
END_TEST

/* entries that must be refused, with the message */
static const struct {
	const char	*entry;
	const char	*err;
} bad_cases[] = {
	{ "192.0.2.0/33", "\"192.0.2.0/33\": bad prefix length" },
	{ "2001:db8::/129", "\"2001:db8::/129\": bad prefix length" },
	{ "10.0.0.0/", "\"10.0.0.0/\": bad prefix length" },
	{ "10.0.0.0/-1", "\"10.0.0.0/-1\": bad prefix length" },
	{ "10.0.0.0/8x", "\"10.0.0.0/8x\": bad prefix length" },
	{ "10.0.0.0/0008", "\"10.0.0.0/0008\": bad prefix length" },
	{ "1.2.3.4/24/1", "\"1.2.3.4/24/1\": bad prefix length" },
	{ "192.0.2.300", "\"192.0.2.300\": bad address" },
	{ "192.0.2", "\"192.0.2\": bad address" },
	{ "example.org", "\"example.org\": bad address" },
	{ "2001:db8:::1", "\"2001:db8:::1\": bad address" },
	{ "[10.0.0.1", "\"[10.0.0.1\": bad address" },
	{ "[10.0.0.1]x", "\"[10.0.0.1]x\": bad address" },
	{ "", "\"\": bad address" },
	{ "/8", "\"/8\": bad address" },
};

START_TEST(test_bad)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 err[256] = "";

	ck_assert_ptr_nonnull(nl);
	ck_assert_int_eq(am_netlist_add(nl, bad_cases[_i].entry, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, bad_cases[_i].err);
	ck_assert_uint_eq(am_netlist_count(nl), 0);
	am_netlist_free(nl);
}
END_TEST

START_TEST(test_list)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 err[256] = "";

	ck_assert_int_eq(am_netlist_add_list(nl,
	    " 10.0.0.0/8,192.168.0.0/16\t::1 , ,2001:db8::/32 ", err,
	    sizeof(err)), 0);
	ck_assert_uint_eq(am_netlist_count(nl), 4);
	ck_assert(am_netlist_match_str(nl, "10.200.0.1"));
	ck_assert(am_netlist_match_str(nl, "192.168.44.1"));
	ck_assert(am_netlist_match_str(nl, "::1"));
	ck_assert(am_netlist_match_str(nl, "2001:db8::5"));
	ck_assert(!am_netlist_match_str(nl, "172.16.0.1"));
	ck_assert_int_eq(am_netlist_add_list(nl, "", err, sizeof(err)), 0);
	ck_assert_uint_eq(am_netlist_count(nl), 4);
	/* the first bad entry is named */
	ck_assert_int_eq(am_netlist_add_list(nl, "192.0.2.1, bogus, 1.2.3.4/99",
	    err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"bogus\": bad address");
	am_netlist_free(nl);
}
END_TEST

START_TEST(test_file)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 err[512] = "";

	ck_assert_msg(am_netlist_add_file(nl, DATA "hosts.txt", err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(am_netlist_count(nl), 5);
	ck_assert(am_netlist_match_str(nl, "192.0.2.200"));
	ck_assert(am_netlist_match_str(nl, "198.51.100.7"));
	ck_assert(!am_netlist_match_str(nl, "198.51.100.8"));
	ck_assert(am_netlist_match_str(nl, "2001:db8:ffff::1"));
	ck_assert(am_netlist_match_str(nl, "::1"));
	ck_assert(!am_netlist_match_str(nl, "2001:db9::1"));
	am_netlist_free(nl);
}
END_TEST

START_TEST(test_file_errors)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 err[512] = "";

	ck_assert_int_eq(am_netlist_add_file(nl, DATA "bad.txt", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, DATA "bad.txt:4: \"2001:db8::/129\": "
	    "bad prefix length");
	ck_assert_int_eq(am_netlist_add_file(nl, DATA "missing.txt", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, DATA "missing.txt: No such file or directory");
	am_netlist_free(nl);
}
END_TEST

/* a NUL byte would hide the rest of its line: an error at that line */
START_TEST(test_file_nul)
{
	static const char	 text[] = "192.0.2.1\n192.0.2.2\0 192.0.2.3\n";
	struct am_netlist	*nl = am_netlist_new();
	char			 path[] = "/tmp/check_netlist.XXXXXX", err[512],
				 want[512];
	int			 fd;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1),
	    (ssize_t)sizeof(text) - 1);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(am_netlist_add_file(nl, path, err, sizeof(err)), -1);
	unlink(path);
	snprintf(want, sizeof(want), "%s:2: NUL byte", path);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(am_netlist_add_file(nl, "/dev/zero", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "/dev/zero: is a character device, not a "
	    "regular file");
	am_netlist_free(nl);
}
END_TEST

START_TEST(test_sockaddr)
{
	struct am_netlist	*nl = am_netlist_new();
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
	struct sockaddr_un	 sun;
	char			 err[256];

	ck_assert_int_eq(am_netlist_add_list(nl, "192.0.2.0/24 2001:db8::/32",
	    err, sizeof(err)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.9", &sin.sin_addr);
	ck_assert(am_netlist_match(nl, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "192.0.3.9", &sin.sin_addr);
	ck_assert(!am_netlist_match(nl, (struct sockaddr *)&sin));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::25", &sin6.sin6_addr);
	ck_assert(am_netlist_match(nl, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:192.0.2.9", &sin6.sin6_addr);
	ck_assert(am_netlist_match(nl, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:192.0.3.9", &sin6.sin6_addr);
	ck_assert(!am_netlist_match(nl, (struct sockaddr *)&sin6));

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(!am_netlist_match(nl, (struct sockaddr *)&sun));
	ck_assert(!am_netlist_match(nl, NULL));
	ck_assert(!am_netlist_match(NULL, (struct sockaddr *)&sin));
	ck_assert(!am_netlist_match_str(NULL, "192.0.2.9"));
	ck_assert_uint_eq(am_netlist_count(NULL), 0);
	am_netlist_free(nl);
	am_netlist_free(NULL);
}
END_TEST

START_TEST(test_many)
{
	struct am_netlist	*nl = am_netlist_new();
	char			 entry[32], err[256];
	unsigned int		 i;

	/* grows past the initial allocation */
	for (i = 0; i < 300; i++) {
		snprintf(entry, sizeof(entry), "10.%u.%u.0/24", i / 256, i % 256);
		ck_assert_int_eq(am_netlist_add(nl, entry, err, sizeof(err)), 0);
	}
	ck_assert_uint_eq(am_netlist_count(nl), 300);
	ck_assert(am_netlist_match_str(nl, "10.1.43.7"));	/* i = 299 */
	ck_assert(!am_netlist_match_str(nl, "10.1.44.7"));
	am_netlist_free(nl);
}
END_TEST

/* netlist_suite - every test case */
static Suite *
netlist_suite(void)
{
	Suite	*s = suite_create("netlist");
	TCase	*tc = tcase_create("netlist");

	tcase_add_loop_test(tc, test_match, 0, nitems(match_cases));
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad_cases));
	tcase_add_test(tc, test_list);
	tcase_add_test(tc, test_file);
	tcase_add_test(tc, test_file_errors);
	tcase_add_test(tc, test_file_nul);
	tcase_add_test(tc, test_sockaddr);
	tcase_add_test(tc, test_many);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(netlist_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
