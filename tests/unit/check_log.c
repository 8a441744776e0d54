/*
 * check_log.c - milter/common/log.c: LogDestination values, JSON string
 * escapes, and lines as a file destination receives them (text and json,
 * daemon lines without a queue id, debug off at info, reopen after a
 * rename as logrotate does).  Each test runs in its own process (check's
 * fork mode), so each opens the log afresh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*in;
	int		 dest;
	const char	*path;
} dest_cases[] = {
	{ "syslog", AM_LOG_TO_SYSLOG, NULL },
	{ "STDERR", AM_LOG_TO_STDERR, NULL },
	{ "file:/var/log/a.log", AM_LOG_TO_FILE, "/var/log/a.log" },
	{ "file:relative.log", -1, NULL },
	{ "file:", -1, NULL },
	{ "journal", -1, NULL },
	{ "", -1, NULL },
};

/* test_dest_parse - the LogDestination values */
START_TEST(test_dest_parse)
{
	const char	*path = "x";
	int		 d = am_log_dest_parse(dest_cases[_i].in, &path);

	ck_assert_int_eq(d, dest_cases[_i].dest);
	if (dest_cases[_i].path == NULL)
		ck_assert_ptr_null(path);
	else
		ck_assert_str_eq(path, dest_cases[_i].path);
}
END_TEST

/* test_json_str - RFC 8259 7 escapes; never invalid UTF-8 */
START_TEST(test_json_str)
{
	char	 out[64];

	am_log_json_str("a\"b\\c\x01\x7f" "\xc3\xa9", out, sizeof(out));
	ck_assert_str_eq(out, "a\\\"b\\\\c\\u0001\\u007f??");
	/* cut before an escape, never inside one */
	ck_assert_uint_eq(am_log_json_str("ab\"", out, 4), 2);
	ck_assert_str_eq(out, "ab");
}
END_TEST

/* tmpfile_path - a fresh path under /tmp */
static void
tmpfile_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/check_log.%ld.log", (long)getpid());
	unlink(buf);
}

/* slurp - a whole small file */
static char *
slurp(const char *path)
{
	static char	 buf[16384];
	FILE		*f = fopen(path, "r");
	size_t		 n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* open_file - the file destination, text or json */
static void
open_file(const char *path, int json)
{
	struct am_log_opts	 lo = { "t", AM_LOG_TO_FILE, 0, path, json };
	char			 err[256];

	ck_assert_int_eq(am_log_open(&lo, err, sizeof(err)), 0);
	am_log_set_level(AM_LOG_INFO);
}

/* test_text_lines - "level: QID: msg", daemon lines without a prefix */
START_TEST(test_text_lines)
{
	char	 path[128], *s;

	tmpfile_path(path, sizeof(path));
	open_file(path, 0);
	am_log_info("Q1", "hello %d", 1);
	am_log_info(NULL, "starting");
	am_log_debug("Q1", "not at info %s", "x");
	am_log_warn("Q1", "two\nlines");
	s = slurp(path);
	ck_assert_msg(strstr(s, " t[") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "]: info: Q1: hello 1\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "]: info: starting\n") != NULL, "%s", s);
	ck_assert_msg(strstr(s, "NOQUEUE") == NULL, "%s", s);
	ck_assert_msg(strstr(s, "not at info") == NULL, "%s", s);
	ck_assert_msg(strstr(s, "]: warning: Q1: two?lines\n") != NULL, "%s", s);
	unlink(path);
}
END_TEST

/* test_json_lines - one object per line; fields become members */
START_TEST(test_json_lines)
{
	char	 path[128], *s;

	tmpfile_path(path, sizeof(path));
	open_file(path, 1);
	am_log_fields(AM_LOG_INFO, "Q2", "client=192.0.2.1 dkim.reason=\"a.example: "
	    "body hash mismatch; b: x\" action=reject reason=\"dmarc fail, p=reject\"");
	am_log_info(NULL, "say \"hi\"");
	s = slurp(path);
	ck_assert_msg(strstr(s, "\"level\":\"info\",\"qid\":\"Q2\",\"client\":"
	    "\"192.0.2.1\",\"dkim.reason\":\"a.example: body hash mismatch; b: x\","
	    "\"action\":\"reject\",\"reason\":\"dmarc fail, p=reject\"}\n") != NULL,
	    "%s", s);
	ck_assert_msg(strstr(s, "\"level\":\"info\",\"msg\":\"say \\\"hi\\\"\"}\n")
	    != NULL, "%s", s);
	ck_assert_msg(strncmp(s, "{\"ts\":\"", 7) == 0, "%s", s);
	unlink(path);
}
END_TEST

/* test_reopen - after a rename the next line goes to a new file */
START_TEST(test_reopen)
{
	char	 path[128], old[160], err[256], *s;

	tmpfile_path(path, sizeof(path));
	snprintf(old, sizeof(old), "%s.1", path);
	open_file(path, 0);
	am_log_info("Q3", "before");
	ck_assert_int_eq(rename(path, old), 0);
	ck_assert_int_eq(am_log_reopen(err, sizeof(err)), 0);
	am_log_info("Q3", "after");
	s = slurp(path);
	ck_assert_msg(strstr(s, "after") && !strstr(s, "before"), "%s", s);
	s = slurp(old);
	ck_assert_msg(strstr(s, "before") && !strstr(s, "after"), "%s", s);
	unlink(path);
	unlink(old);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_loop_test(tc, test_dest_parse, 0, nitems(dest_cases));
	tcase_add_test(tc, test_json_str);
	tcase_add_test(tc, test_text_lines);
	tcase_add_test(tc, test_json_lines);
	tcase_add_test(tc, test_reopen);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(log_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
