/*
 * check_psl.c - unit tests for psl.c: normal rules, wildcards, exceptions,
 * unlisted TLDs, malformed input, on a small test list and on the real
 * list of Debian's publicsuffix package.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc/psl.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define TESTLIST	TESTDATA "/psl/test.dat"
#define SYSLIST		"/usr/share/publicsuffix/public_suffix_list.dat"

/* domain -> organizational domain, NULL when it is a public suffix */
struct org_case {
	const char	*domain;
	const char	*org;
};

/* cases for tests/unit/data/psl/test.dat */
static const struct org_case test_cases[] = {
	{ "example.com", "example.com" },
	{ "www.example.com", "example.com" },
	{ "a.b.example.co.uk", "example.co.uk" },
	{ "example.uk", "example.uk" },
	{ "co.uk", NULL },
	{ "com", NULL },
	{ "uk", NULL },
	/* *.ck: every name directly under ck is a public suffix */
	{ "ck", NULL },
	{ "foo.ck", NULL },
	{ "a.foo.ck", "a.foo.ck" },
	{ "b.a.foo.ck", "a.foo.ck" },
	/* !www.ck: www.ck is not */
	{ "www.ck", "www.ck" },
	{ "a.www.ck", "www.ck" },
	{ "kobe.jp", NULL },
	{ "x.kobe.jp", NULL },
	{ "y.x.kobe.jp", "y.x.kobe.jp" },
	{ "city.kobe.jp", "city.kobe.jp" },
	{ "www.city.kobe.jp", "city.kobe.jp" },
	{ "example.jp", "example.jp" },
	/* a rule followed by text on its line */
	{ "example.org", "example.org" },
	{ "org", NULL },
	/* private section rules count too */
	{ "blogspot.com", NULL },
	{ "me.blogspot.com", "me.blogspot.com" },
	/* unlisted TLD: the implicit "*" rule */
	{ "example.unknowntld", "example.unknowntld" },
	{ "a.b.example.unknowntld", "example.unknowntld" },
	{ "unknowntld", NULL },
	/* a UTF-8 rule matches the A-label names we look up ("公司.cn") */
	{ "xn--55qx5d.cn", NULL },
	{ "example.xn--55qx5d.cn", "example.xn--55qx5d.cn" },
	{ "a.example.xn--55qx5d.cn", "example.xn--55qx5d.cn" },
	{ "example.cn", "example.cn" },
	/* ... and its UTF-8 form still matches itself */
	{ "example.公司.cn", "example.公司.cn" },
	/* wildcard and exception rules in UTF-8 ("*.テスト", "!例.テスト") */
	{ "foo.xn--zckzah", NULL },
	{ "a.foo.xn--zckzah", "a.foo.xn--zckzah" },
	{ "xn--fsq.xn--zckzah", "xn--fsq.xn--zckzah" },
	{ "a.xn--fsq.xn--zckzah", "xn--fsq.xn--zckzah" },
	/* case is folded (rules and names) */
	{ "WWW.Example.COM", "example.com" },
	{ "A.Foo.Ck", "a.foo.ck" },
	/* malformed names */
	{ "", NULL },
	{ ".", NULL },
	{ ".example.com", NULL },
	{ "a..example.com", NULL },
	{ "example.com.", NULL },
};

/* cases for the real list, rules unlikely ever to change */
static const struct org_case sys_cases[] = {
	{ "example.com", "example.com" },
	{ "mail.example.com", "example.com" },
	{ "a.b.example.co.uk", "example.co.uk" },
	{ "co.uk", NULL },
	{ "foo.ck", NULL },
	{ "a.foo.ck", "a.foo.ck" },
	{ "www.ck", "www.ck" },
	{ "a.www.ck", "www.ck" },
	{ "city.kobe.jp", "city.kobe.jp" },
	{ "x.y.kobe.jp", "x.y.kobe.jp" },
	/* "公司.cn" is listed in UTF-8; names are looked up as A-labels */
	{ "example.xn--55qx5d.cn", "example.xn--55qx5d.cn" },
	{ "example.unknowntld", "example.unknowntld" },
	{ "com", NULL },
};

/* check_org - assert one case against a list */
static void
check_org(const struct am_psl *p, const struct org_case *c)
{
	char	 out[256] = "unchanged";
	int	 rc = am_psl_org_domain(p, c->domain, out, sizeof(out));

	if (c->org == NULL) {
		ck_assert_msg(rc == -1, "%s: want -1, got %s", c->domain, out);
		return;
	}
	ck_assert_msg(rc == 0, "%s: want %s, got -1", c->domain, c->org);
	ck_assert_str_eq(out, c->org);
}

/* load_or_fail - a list that must load */
static struct am_psl *
load_or_fail(const char *path)
{
	char		 err[512] = "";
	struct am_psl	*p = am_psl_load(path, err, sizeof(err));

	ck_assert_msg(p != NULL, "%s", err);
	return p;
}

START_TEST(test_testlist)
{
	struct am_psl	*p = load_or_fail(TESTLIST);

	check_org(p, &test_cases[_i]);
	am_psl_free(p);
}
END_TEST

START_TEST(test_syslist)
{
	struct am_psl	*p = load_or_fail(SYSLIST);

	check_org(p, &sys_cases[_i]);
	am_psl_free(p);
}
END_TEST

START_TEST(test_output_too_small)
{
	struct am_psl	*p = load_or_fail(TESTLIST);
	char		 out[12];

	/* "example.com" needs 12 bytes with its NUL */
	ck_assert_int_eq(am_psl_org_domain(p, "www.example.com", out, 12), 0);
	ck_assert_str_eq(out, "example.com");
	ck_assert_int_eq(am_psl_org_domain(p, "www.example.com", out, 11), -1);
	ck_assert_int_eq(am_psl_org_domain(NULL, "example.com", out, 12), -1);
	am_psl_free(p);
}
END_TEST

START_TEST(test_long_names)
{
	struct am_psl	*p = load_or_fail(TESTLIST);
	char		 name[300], out[300];
	size_t		 i;

	/* 126 labels "a." then "com": 255 characters, over the 253 limit */
	for (i = 0; i < 126; i++)
		memcpy(name + 2 * i, "a.", 2);
	strcpy(name + 252, "com");
	ck_assert_int_eq(am_psl_org_domain(p, name, out, sizeof(out)), -1);
	/* 125 labels: 253 characters, fine */
	ck_assert_int_eq(am_psl_org_domain(p, name + 2, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a.com");
	am_psl_free(p);
}
END_TEST

START_TEST(test_load_errors)
{
	char	 err[512] = "";

	ck_assert_ptr_null(am_psl_load(TESTDATA "/psl/missing.dat", err,
	    sizeof(err)));
	ck_assert_str_eq(err, TESTDATA "/psl/missing.dat: No such file or "
	    "directory");
	ck_assert_ptr_null(am_psl_load(TESTDATA "/psl/empty.dat", err,
	    sizeof(err)));
	ck_assert_str_eq(err, TESTDATA "/psl/empty.dat: no rules in the list");
	ck_assert_ptr_null(am_psl_load("/dev/zero", err, sizeof(err)));
	ck_assert_str_eq(err, "/dev/zero: is a character device, not a "
	    "regular file");
	am_psl_free(NULL);
}
END_TEST

/* psl_suite - every test case */
static Suite *
psl_suite(void)
{
	Suite	*s = suite_create("psl");
	TCase	*tc = tcase_create("psl");

	tcase_add_loop_test(tc, test_testlist, 0, nitems(test_cases));
	tcase_add_loop_test(tc, test_syslist, 0, nitems(sys_cases));
	tcase_add_test(tc, test_output_too_small);
	tcase_add_test(tc, test_long_names);
	tcase_add_test(tc, test_load_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(psl_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
