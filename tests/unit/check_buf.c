/*
 * check_buf.c - milter/common/buf.c: appends, the hard cap, the sticky failure
 * flag, and printf-style appends longer than buf.c's stack buffer;
 * milter/common/fmt.c: the same bytes and return value as snprintf().
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ascii.h"
#include "common/buf.h"
#include "common/fmt.h"

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

/* ------------------------------------------------------------- fmt.c */

/* formats and whether they are plain (fmt.h) */
static const struct {
	const char	*fmt;
	int		 plain;
} plain_cases[] = {
	{ "", 1 }, { "text", 1 }, { "%s", 1 }, { "_dmarc.%s", 1 },
	{ "%u.%u.%u.%u", 1 }, { "100%%", 1 }, { "%%s", 1 }, { "%s%%%u", 1 },
	{ "%d", 0 }, { "%x", 0 }, { "%.3s", 0 }, { "%5u", 0 }, { "%zu", 0 },
	{ "%-s", 0 }, { "%lu", 0 }, { "a%", 0 }, { "%s %c", 0 },
};

/* test_fmt_plain - which formats fmt.c writes itself */
START_TEST(test_fmt_plain)
{
	ck_assert_msg(am_fmt_plain(plain_cases[_i].fmt) ==
	    plain_cases[_i].plain, "\"%s\"", plain_cases[_i].fmt);
}
END_TEST

#define FMT_OUT	48	/* the destination; caps go up to it */
#define FMT_FILL 'Q'	/* what is in the bytes neither writes */

/* same - am_fmt and snprintf on the same arguments: the same return and
   the same FMT_OUT bytes, written and not */
#define same(cap, ...) do {						\
	char	 x[FMT_OUT], y[FMT_OUT];				\
	int	 rx, ry;						\
									\
	memset(x, FMT_FILL, sizeof(x));					\
	memset(y, FMT_FILL, sizeof(y));					\
	rx = am_fmt(x, (cap), __VA_ARGS__);				\
	ry = snprintf(y, (cap), __VA_ARGS__);				\
	ck_assert_int_eq(rx, ry);					\
	ck_assert_msg(memcmp(x, y, sizeof(x)) == 0, "cap %zu: \"%.*s\" " \
	    "against \"%.*s\"", (size_t)(cap), FMT_OUT, x, FMT_OUT, y);	\
} while (0)

/* test_fmt_fixed - the daemon's own formats, every cap from 0 up */
START_TEST(test_fmt_fixed)
{
	const char *volatile	 null_str = NULL;	/* "(null)", unseen */
	size_t			 cap;

	for (cap = 0; cap <= FMT_OUT; cap++) {
		same(cap, "_dmarc.%s", "example.com");
		same(cap, "%s._domainkey.%s", "sel", "example.org");
		same(cap, "%u.%u.%u.%u.in-addr.arpa", 4u, 23u, 255u, 0u);
		same(cap, "%s", "");
		same(cap, "%s", "a string longer than some of the caps tried");
		same(cap, "%u %u", 0u, 4294967295u);
		same(cap, "100%% of %s", "it");
		same(cap, "no conversion at all");
		same(cap, "%s", null_str);
		/* not plain: vsnprintf's */
		same(cap, "%.*s|%x|%5u|%zu", 3, "abcdef", 255u, 7u, cap);
	}
}
END_TEST

/* the text between conversions in random formats */
static const char *const fmt_text[] = { "", "a", "bc", ".", "%%", "-%%-" };

/* conversions of random formats, and the arguments they take */
enum fmt_kind { K_NONE, K_S, K_U, K_SS, K_SU, K_US, K_N };
static const char *const fmt_conv[K_N][2] = {
	[K_NONE] = { "", "" }, [K_S] = { "%s", "" }, [K_U] = { "%u", "" },
	[K_SS] = { "%s", "%s" }, [K_SU] = { "%s", "%u" }, [K_US] = { "%u", "%s" },
};

/* test_fmt_random - random plain formats (text, up to two conversions,
   text), arguments and caps */
START_TEST(test_fmt_random)
{
	static const char *const strs[] = { "", "x", "example.net",
	    "0123456789012345678901234567890123456789" };
	char		 fmt[64];
	unsigned int	 seed = 17, u;
	const char	*s1, *s2;
	enum fmt_kind	 kind;
	size_t		 cap;
	int		 iter;

	for (iter = 0; iter < 20000; iter++) {
		kind = (enum fmt_kind)(rand_r(&seed) % K_N);
		snprintf(fmt, sizeof(fmt), "%s%s%s%s%s",
		    fmt_text[rand_r(&seed) % nitems(fmt_text)],
		    fmt_conv[kind][0],
		    fmt_text[rand_r(&seed) % nitems(fmt_text)],
		    fmt_conv[kind][1],
		    fmt_text[rand_r(&seed) % nitems(fmt_text)]);
		s1 = strs[rand_r(&seed) % nitems(strs)];
		s2 = strs[rand_r(&seed) % nitems(strs)];
		u = (unsigned int)rand_r(&seed) * (rand_r(&seed) % 2 ? 1u : 3u);
		cap = (size_t)rand_r(&seed) % (FMT_OUT + 1);
		ck_assert_msg(am_fmt_plain(fmt) == 1, "\"%s\"", fmt);
		switch (kind) {
		case K_NONE: same(cap, fmt, 0); break;
		case K_S: same(cap, fmt, s1); break;
		case K_U: same(cap, fmt, u); break;
		case K_SS: same(cap, fmt, s1, s2); break;
		case K_SU: same(cap, fmt, s1, u); break;
		case K_US: same(cap, fmt, u, s1); break;
		case K_N: break;
		}
	}
}
END_TEST

/* test_addf_plain_over_cap - a plain addf whose second piece passes the
   cap adds none of its pieces (all or nothing, as vsnprintf's path) */
START_TEST(test_addf_plain_over_cap)
{
	struct am_buf	 b;

	am_buf_init(&b, 12);
	am_buf_adds(&b, "ab");
	am_buf_addf(&b, "%s=%s", "cdef", "ghijklmnop");
	ck_assert_int_eq(am_buf_failed(&b), 1);
	ck_assert_str_eq(am_buf_str(&b), "ab");
	ck_assert_uint_eq(b.len, 2);
	am_buf_clear(&b);
	am_buf_init(&b, 12);
	am_buf_addf(&b, "%s=%u%%", "cdef", 4096u);	/* fits: 10 bytes */
	ck_assert_str_eq(am_buf_str(&b), "cdef=4096%");
	ck_assert_int_eq(am_buf_failed(&b), 0);
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
	tcase_add_test(tc, test_addf_plain_over_cap);
	suite_add_tcase(s, tc);
	tc = tcase_create("fmt");
	tcase_add_loop_test(tc, test_fmt_plain, 0, nitems(plain_cases));
	tcase_add_test(tc, test_fmt_fixed);
	tcase_add_test(tc, test_fmt_random);
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
