/*
 * check_sockspec.c - unit tests for sockspec.c: every prefix, ports at
 * and past their bounds, hosts with and without brackets, and specs that
 * must be refused with their reason.
 */
#include <sys/socket.h>

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/sockspec.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* specs that parse, and what they parse into */
static const struct {
	const char		*spec;
	enum am_sockspec_kind	 kind;
	const char		*path;		/* unix */
	unsigned int		 port;		/* inet, inet6 */
	const char		*host;		/* "" when absent */
	int			 host_is_addr;
} good_cases[] = {
	{ "unix:/run/a.sock", AM_SOCKSPEC_UNIX, "/run/a.sock", 0, "", 0 },
	{ "local:/run/a.sock", AM_SOCKSPEC_UNIX, "/run/a.sock", 0, "", 0 },
	{ "UNIX:/run/a.sock", AM_SOCKSPEC_UNIX, "/run/a.sock", 0, "", 0 },
	{ "Local:/r", AM_SOCKSPEC_UNIX, "/r", 0, "", 0 },
	{ "inet:8895", AM_SOCKSPEC_INET, "", 8895, "", 0 },
	{ "inet:1@127.0.0.1", AM_SOCKSPEC_INET, "", 1, "127.0.0.1", 1 },
	{ "INET:65535@[192.0.2.1]", AM_SOCKSPEC_INET, "", 65535, "192.0.2.1", 1 },
	{ "inet:25@localhost", AM_SOCKSPEC_INET, "", 25, "localhost", 0 },
	{ "inet:25@mx-1.example.org", AM_SOCKSPEC_INET, "", 25,
	    "mx-1.example.org", 0 },
	{ "inet:08895@127.0.0.1", AM_SOCKSPEC_INET, "", 8895, "127.0.0.1", 1 },
	{ "inet6:8895", AM_SOCKSPEC_INET6, "", 8895, "", 0 },
	{ "inet6:8895@::1", AM_SOCKSPEC_INET6, "", 8895, "::1", 1 },
	{ "Inet6:8895@[2001:db8::1]", AM_SOCKSPEC_INET6, "", 8895,
	    "2001:db8::1", 1 },
	{ "inet6:8895@localhost", AM_SOCKSPEC_INET6, "", 8895, "localhost", 0 },
};

START_TEST(test_good)
{
	struct am_sockspec	 ss;
	const char		*why;

	why = am_sockspec_parse(good_cases[_i].spec, &ss);
	ck_assert_msg(why == NULL, "%s: %s", good_cases[_i].spec, why);
	ck_assert_int_eq(ss.kind, good_cases[_i].kind);
	ck_assert_str_eq(ss.path, good_cases[_i].path);
	ck_assert_uint_eq(ss.port, good_cases[_i].port);
	ck_assert_str_eq(ss.host, good_cases[_i].host);
	ck_assert_int_eq(ss.host_is_addr, good_cases[_i].host_is_addr);
	ck_assert_int_eq(ss.family, ss.kind == AM_SOCKSPEC_UNIX ? AF_UNIX :
	    ss.kind == AM_SOCKSPEC_INET ? AF_INET : AF_INET6);
}
END_TEST

#define PREFIX_WANTED	"expected unix:/path, local:/path, inet:port@host " \
			"or inet6:port@host"

/* specs that do not parse, the kind still known, and the reason */
static const struct {
	const char		*spec;
	enum am_sockspec_kind	 kind;
	const char		*why;
} bad_cases[] = {
	{ "", AM_SOCKSPEC_BAD, PREFIX_WANTED },
	{ "/run/a.sock", AM_SOCKSPEC_BAD, PREFIX_WANTED },
	{ "tcp:8895", AM_SOCKSPEC_BAD, PREFIX_WANTED },
	{ "inet4:8895", AM_SOCKSPEC_BAD, PREFIX_WANTED },
	{ "unix", AM_SOCKSPEC_BAD, PREFIX_WANTED },
	{ "unix:", AM_SOCKSPEC_UNIX, "socket path must be absolute" },
	{ "unix:run/a.sock", AM_SOCKSPEC_UNIX, "socket path must be absolute" },
	{ "local:./a.sock", AM_SOCKSPEC_UNIX, "socket path must be absolute" },
	{ "inet:0", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:0@127.0.0.1", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:65536", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet6:99999@::1", AM_SOCKSPEC_INET6, "bad port (1 to 65535)" },
	{ "inet:", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:@127.0.0.1", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:88a5", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:-1", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:+25", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet: 25", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:00000025", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:4294967297", AM_SOCKSPEC_INET, "bad port (1 to 65535)" },
	{ "inet:8895@", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@::1", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@bad_host", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@.example", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@a..example", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@a@b", AM_SOCKSPEC_INET, "bad host" },
	{ "inet:8895@[]", AM_SOCKSPEC_INET, "bad address" },
	{ "inet:8895@[localhost]", AM_SOCKSPEC_INET, "bad address" },
	{ "inet6:8895@[127.0.0.1]", AM_SOCKSPEC_INET6, "bad address" },
	{ "inet:8895@[::1]", AM_SOCKSPEC_INET, "bad address" },
};

START_TEST(test_bad)
{
	struct am_sockspec	 ss;
	const char		*why;

	why = am_sockspec_parse(bad_cases[_i].spec, &ss);
	ck_assert_msg(why != NULL, "%s: parsed", bad_cases[_i].spec);
	ck_assert_str_eq(why, bad_cases[_i].why);
	ck_assert_int_eq(ss.kind, bad_cases[_i].kind);
}
END_TEST

/* test_long - a path or host one byte past what fits, and one that fits */
START_TEST(test_long)
{
	struct am_sockspec	 ss;
	char			 spec[1024];
	size_t			 n;

	n = sizeof(ss.path) - 1;	/* the longest path, without the NUL */
	memcpy(spec, "unix:/", 6);
	memset(spec + 6, 'a', n - 1);
	spec[5 + n] = '\0';
	ck_assert_ptr_null(am_sockspec_parse(spec, &ss));
	ck_assert_uint_eq(strlen(ss.path), n);
	strcat(spec, "a");
	ck_assert_str_eq(am_sockspec_parse(spec, &ss), "socket path too long");

	memcpy(spec, "inet:1@", 7);
	memset(spec + 7, 'a', AM_SOCKSPEC_HOST_MAX);
	spec[7 + AM_SOCKSPEC_HOST_MAX] = '\0';
	ck_assert_ptr_null(am_sockspec_parse(spec, &ss));
	strcat(spec, "a");
	ck_assert_str_eq(am_sockspec_parse(spec, &ss), "bad host");
}
END_TEST

/* sockspec_suite - every test case */
static Suite *
sockspec_suite(void)
{
	Suite	*s = suite_create("sockspec");
	TCase	*tc = tcase_create("sockspec");

	tcase_add_loop_test(tc, test_good, 0, nitems(good_cases));
	tcase_add_loop_test(tc, test_bad, 0, nitems(bad_cases));
	tcase_add_test(tc, test_long);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sockspec_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
