/*
 * check_bodylen.c - canonical body lengths (RFC 6376 3.4.3, 3.4.4),
 * including the section 3.4.5 example, and that the count does not
 * depend on how the body is split into chunks.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/bodylen.h"

static const struct {
	const char	*label;
	const char	*body;
	size_t		 simple, relaxed;
} cases[] = {
	/* RFC 6376 3.4.5: simple " C \r\nD \t E\r\n", relaxed " C\r\nD E\r\n" */
	{ "RFC 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n", 12, 9 },
	{ "empty body", "", 2, 0 },
	{ "only empty lines", "\r\n\r\n\r\n", 2, 0 },
	{ "one line", "hello\r\n", 7, 7 },
	{ "no final CRLF", "hello", 7, 7 },
	{ "empty line inside kept", "a\r\n\r\nb\r\n", 8, 8 },
	{ "trailing WSP only lines", "a\r\n  \r\n\t\r\n", 10, 3 },
	{ "WSP runs", "a  \t b\r\n", 8, 5 },
	{ "leading WSP becomes one SP", "\t\ta\r\n", 5, 4 },
	{ "stray CR is content", "a\rb\r\n", 5, 5 },
	{ "final stray CR", "a\r", 4, 4 },
	{ "trailing WSP on last unterminated line", "a  ", 5, 3 },
	{ "blank lines then text", "\r\n\r\nx\r\n", 7, 7 },
};

START_TEST(test_lengths)
{
	struct am_bodylen	 b;
	const char		*body = cases[_i].body;

	am_bodylen_init(&b);
	am_bodylen_feed(&b, (const unsigned char *)body, strlen(body));
	ck_assert_msg(am_bodylen_simple(&b) == cases[_i].simple,
	    "%s: simple %zu, want %zu", cases[_i].label,
	    am_bodylen_simple(&b), cases[_i].simple);
	ck_assert_msg(am_bodylen_relaxed(&b) == cases[_i].relaxed,
	    "%s: relaxed %zu, want %zu", cases[_i].label,
	    am_bodylen_relaxed(&b), cases[_i].relaxed);
}
END_TEST

/* every split into two chunks gives the same counts as one chunk */
START_TEST(test_chunking)
{
	const char		*body = cases[_i].body;
	size_t			 n = strlen(body), cut;
	struct am_bodylen	 b;

	for (cut = 0; cut <= n; cut++) {
		am_bodylen_init(&b);
		am_bodylen_feed(&b, (const unsigned char *)body, cut);
		am_bodylen_feed(&b, (const unsigned char *)body + cut, n - cut);
		ck_assert_msg(am_bodylen_simple(&b) == cases[_i].simple &&
		    am_bodylen_relaxed(&b) == cases[_i].relaxed,
		    "%s: split at %zu gives %zu/%zu", cases[_i].label, cut,
		    am_bodylen_simple(&b), am_bodylen_relaxed(&b));
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("bodylen");
	TCase	*tc = tcase_create("lengths");
	SRunner	*sr;
	int	 nfail;

	tcase_add_loop_test(tc, test_lengths, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_loop_test(tc, test_chunking, 0, sizeof(cases) / sizeof(cases[0]));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
