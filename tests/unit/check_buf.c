/*
 * check_buf.c - milter/common/buf.c: appends, the hard cap, the sticky failure
 * flag, and printf-style appends longer than buf.c's stack buffer.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/buf.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* test_empty - a fresh buffer reads as "" and has not failed */
START_TEST(test_empty)
{
	struct am_buf	 b;

	am_buf_init(&b, 16);
	ck_assert_str_eq(am_buf_str(&b), "");
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(am_buf_failed(&b), 0);
	am_buf_clear(&b);
	am_buf_clear(&b);		/* twice is fine */
	ck_assert_ptr_null(b.s);
}
END_TEST

/* test_appends - add, adds, addc and addf concatenate */
START_TEST(test_appends)
{
	struct am_buf	 b;

	am_buf_init(&b, 1024);
	am_buf_add(&b, "abcdef", 3);
	am_buf_adds(&b, "-x-");
	am_buf_addc(&b, 'Z');
	am_buf_addf(&b, "%d/%s", 42, "y");
	am_buf_add(&b, "", 0);
	ck_assert_str_eq(am_buf_str(&b), "abc-x-Z42/y");
	ck_assert_uint_eq(b.len, strlen("abc-x-Z42/y"));
	ck_assert_int_eq(am_buf_failed(&b), 0);
	am_buf_clear(&b);
}
END_TEST

/* cap cases: appends of these sizes into a buffer with this cap */
static const struct {
	const char	*label;
	size_t		 cap;
	size_t		 first, second;	/* bytes appended, in two calls */
	int		 failed;
	size_t		 len;		/* length afterwards */
} cap_cases[] = {
	{ "well under",		10, 3, 3, 0, 6 },
	{ "exactly the cap",	10, 4, 6, 0, 10 },
	{ "one over",		10, 4, 7, 1, 4 },
	{ "first alone over",	10, 11, 0, 1, 0 },
	{ "cap 0, nothing",	0, 0, 0, 0, 0 },
	{ "cap 0, one byte",	0, 1, 0, 1, 0 },
	{ "grows past 64",	1000, 63, 600, 0, 663 },
	{ "large cap, over",	300, 200, 101, 1, 200 },
};

/* test_cap - the cap is on len; over it nothing is appended and it sticks */
START_TEST(test_cap)
{
	struct am_buf	 b;
	char		*src;

	src = malloc(2000);
	ck_assert_ptr_nonnull(src);
	memset(src, 'q', 2000);
	am_buf_init(&b, cap_cases[_i].cap);
	am_buf_add(&b, src, cap_cases[_i].first);
	am_buf_add(&b, src, cap_cases[_i].second);
	ck_assert_msg(am_buf_failed(&b) == cap_cases[_i].failed,
	    "%s: failed=%d", cap_cases[_i].label, am_buf_failed(&b));
	ck_assert_msg(b.len == cap_cases[_i].len, "%s: len=%zu",
	    cap_cases[_i].label, b.len);
	ck_assert_uint_eq(strlen(am_buf_str(&b)), b.len);
	am_buf_clear(&b);
	free(src);
}
END_TEST

/* test_sticky - after a failure even small appends are ignored */
START_TEST(test_sticky)
{
	struct am_buf	 b;

	am_buf_init(&b, 8);
	am_buf_adds(&b, "12345");
	am_buf_adds(&b, "6789");	/* over: ignored, failed */
	ck_assert_int_eq(am_buf_failed(&b), 1);
	am_buf_addc(&b, 'x');		/* would fit, still ignored */
	am_buf_adds(&b, "");
	am_buf_addf(&b, "%s", "y");
	ck_assert_str_eq(am_buf_str(&b), "12345");
	ck_assert_int_eq(am_buf_failed(&b), 1);

	am_buf_reset(&b);		/* clears the failure, keeps the cap */
	ck_assert_int_eq(am_buf_failed(&b), 0);
	ck_assert_str_eq(am_buf_str(&b), "");
	am_buf_adds(&b, "abcdefgh");
	ck_assert_int_eq(am_buf_failed(&b), 0);
	am_buf_addc(&b, 'i');
	ck_assert_int_eq(am_buf_failed(&b), 1);
	ck_assert_str_eq(am_buf_str(&b), "abcdefgh");
	am_buf_clear(&b);
}
END_TEST

/* test_reset_empty - reset of a buffer that never allocated */
START_TEST(test_reset_empty)
{
	struct am_buf	 b;

	am_buf_init(&b, 4);
	am_buf_reset(&b);
	ck_assert_str_eq(am_buf_str(&b), "");
	am_buf_clear(&b);
}
END_TEST

/* addf lengths around buf.c's 256-byte stack buffer and far past it */
static const size_t addf_lens[] = { 0, 1, 254, 255, 256, 257, 1000, 70000 };

/* test_addf_long - long formatted strings arrive whole and exact */
START_TEST(test_addf_long)
{
	struct am_buf	 b;
	size_t		 n = addf_lens[_i], i;
	char		*s;

	s = malloc(n + 1);
	ck_assert_ptr_nonnull(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	am_buf_init(&b, 100000);
	am_buf_adds(&b, "<");
	am_buf_addf(&b, "%s|%zu", s, n);
	ck_assert_int_eq(am_buf_failed(&b), 0);
	ck_assert_uint_eq(b.len, 1 + n + 1 + (size_t)snprintf(NULL, 0, "%zu", n));
	ck_assert_int_eq(memcmp(am_buf_str(&b) + 1, s, n), 0);
	ck_assert_int_eq(am_buf_str(&b)[0], '<');
	free(s);
	am_buf_clear(&b);
}
END_TEST

/* test_addf_over_cap - a long addf over the cap fails and adds nothing */
START_TEST(test_addf_over_cap)
{
	struct am_buf	 b;
	char		 s[600];

	memset(s, 'z', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	am_buf_init(&b, 500);
	am_buf_adds(&b, "head");
	am_buf_addf(&b, "%s", s);
	ck_assert_int_eq(am_buf_failed(&b), 1);
	ck_assert_str_eq(am_buf_str(&b), "head");
	am_buf_clear(&b);
}
END_TEST

/* test_many_small - many appends grow the storage correctly */
/* am_ascii_append (common/ascii.h): a bounded append that cuts */
START_TEST(test_ascii_append)
{
	char	 out[8] = "";

	am_ascii_append(out, sizeof(out), "abc");
	ck_assert_str_eq(out, "abc");
	am_ascii_append(out, sizeof(out), "defgh");	/* cut to 7 bytes */
	ck_assert_str_eq(out, "abcdefg");
	am_ascii_append(out, sizeof(out), "x");		/* full: unchanged */
	ck_assert_str_eq(out, "abcdefg");
	ck_assert(am_ascii_printable("a b~", 4) == 1);
	ck_assert(am_ascii_printable("a\tb", 3) == 0);
	ck_assert(am_ascii_printable("\xc3\xa9", 2) == 0);
}
END_TEST

START_TEST(test_many_small)
{
	struct am_buf	 b;
	size_t		 i;

	am_buf_init(&b, 10000);
	for (i = 0; i < 10000; i++)
		am_buf_addc(&b, (char)('0' + i % 10));
	ck_assert_int_eq(am_buf_failed(&b), 0);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_uint_eq(strlen(am_buf_str(&b)), 10000);
	ck_assert_int_eq(am_buf_str(&b)[9999], '9');
	am_buf_addc(&b, 'x');
	ck_assert_int_eq(am_buf_failed(&b), 1);
	am_buf_clear(&b);
}
END_TEST

/* buf_suite - all of the above */
static Suite *
buf_suite(void)
{
	Suite	*s = suite_create("buf");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_appends);
	tcase_add_loop_test(tc, test_cap, 0, nitems(cap_cases));
	tcase_add_test(tc, test_sticky);
	tcase_add_test(tc, test_reset_empty);
	tcase_add_loop_test(tc, test_addf_long, 0, nitems(addf_lens));
	tcase_add_test(tc, test_addf_over_cap);
	tcase_add_test(tc, test_many_small);
	tcase_add_test(tc, test_ascii_append);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(buf_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
