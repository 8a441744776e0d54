/*
 * check_readfile.c - unit tests for readfile.c: a regular file is read
 * whole; a FIFO, a directory, a device, a missing file and a file over the
 * limit are errors (at once: a FIFO must not block); lines with NUL bytes
 * are flagged.  Check's per-test timeout turns a blocking open into a
 * failure instead of a hang.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/readfile.h"

/* a temporary directory per test, removed by cleanup */
static char	 dir[64];
static char	 path[128];

/* setup - a fresh temporary directory */
static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_readfile.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
}

/* teardown - remove what a test made */
static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

/* put - write len bytes of data to path */
static void
put(const char *data, size_t len)
{
	FILE	*fp;

	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

/* fails - am_readfile of p with limit max fails saying want */
static void
fails(const char *p, size_t max, const char *want)
{
	char	*buf = (char *)"unset", err[256] = "";
	size_t	 len = 99;

	ck_assert_int_eq(am_readfile(p, max, &buf, &len, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);
}

START_TEST(test_regular)
{
	char	*buf, err[256];
	size_t	 len;

	put("a\nb\n", 4);
	ck_assert_int_eq(am_readfile(path, 4, &buf, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(buf, "a\nb\n");	/* NUL-terminated */
	free(buf);
}
END_TEST

START_TEST(test_empty)
{
	char	*buf, err[256];
	size_t	 len;

	put("", 0);
	ck_assert_int_eq(am_readfile(path, 10, &buf, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(buf, "");
	free(buf);
}
END_TEST

START_TEST(test_over_limit)
{
	put("12345", 5);
	fails(path, 4, "larger than 4 bytes");
}
END_TEST

START_TEST(test_fifo)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fails(path, 100, "is a FIFO, not a regular file");
}
END_TEST

START_TEST(test_directory)
{
	fails(dir, 100, "is a directory, not a regular file");
}
END_TEST

START_TEST(test_device)
{
	fails("/dev/zero", 100, "is a character device, not a regular file");
}
END_TEST

START_TEST(test_missing)
{
	/* tests may run as root, which reads any mode: a missing file */
	fails(path, 100, "No such file or directory");
}
END_TEST

/* next - the next line and its NUL flag */
static void
next(char **pos, char *end, const char *want, int want_nul)
{
	char	*line;
	int	 nul = -1;

	ck_assert_ptr_nonnull(line = am_readfile_line(pos, end, &nul));
	ck_assert_str_eq(line, want);
	ck_assert_int_eq(nul, want_nul);
}

START_TEST(test_lines)
{
	char	*buf, *pos, err[256];
	size_t	 len;
	int	 nul;

	put("a\nb\0c\n\nd", 8);
	ck_assert_int_eq(am_readfile(path, 100, &buf, &len, err, sizeof(err)),
	    0);
	pos = buf;
	next(&pos, buf + len, "a", 0);
	next(&pos, buf + len, "b", 1);		/* "b\0c": flagged */
	next(&pos, buf + len, "", 0);
	next(&pos, buf + len, "d", 0);		/* no final '\n' */
	ck_assert_ptr_null(am_readfile_line(&pos, buf + len, &nul));
	free(buf);
}
END_TEST

START_TEST(test_final_newline)
{
	char	 text[] = "x\n", *pos = text;
	int	 nul;

	next(&pos, text + 2, "x", 0);		/* no empty line after it */
	ck_assert_ptr_null(am_readfile_line(&pos, text + 2, &nul));
}
END_TEST

/* readfile_suite - every test case */
static Suite *
readfile_suite(void)
{
	Suite	*s = suite_create("readfile");
	TCase	*tc = tcase_create("readfile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 5);		/* a blocking open fails */
	tcase_add_test(tc, test_regular);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_over_limit);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_device);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_final_newline);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(readfile_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
