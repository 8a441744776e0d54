/*
 * check_daemon.c - unit tests for the process side of the daemon: the
 * UserID/UMask/PidFile/MetricsSocket keys, reload.c (restart-only keys,
 * a reload that keeps the old snapshot), pidfile.c and metrics.c.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/metrics.h"
#include "daemon/pidfile.h"
#include "daemon/reload.h"
#include "common/results.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* count - am_config_err_fn counting problems */
static void
count(void *arg, const char *msg)
{
	(*(int *)arg)++;
}

/* write_conf - text into a temp file; path filled */
static void
write_conf(char *path, size_t len, const char *text)
{
	FILE	*fp;
	int	 fd;

	snprintf(path, len, "/tmp/check_daemon.XXXXXX");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
	fputs(text, fp);
	ck_assert_int_eq(fclose(fp), 0);
}

/* load_text - a config from text; NULL and *problems on failure */
static struct am_config *
load_text(const char *text, int *problems)
{
	struct am_config	*cfg;
	char			 path[64];

	*problems = 0;
	write_conf(path, sizeof(path), text);
	cfg = am_config_load(path, count, problems);
	unlink(path);
	return cfg;
}

static const struct {
	const char	*line;
	int		 ok;
} key_cases[] = {
	{ "UserID root", 1 },
	{ "UserID root:root", 1 },
	{ "UserID root:", 0 },
	{ "UserID :root", 0 },
	{ "UserID no-such-user-x", 0 },
	{ "UserID root:no-such-group-x", 0 },
	{ "UMask 007", 1 },
	{ "UMask 0777", 1 },
	{ "UMask 0", 1 },
	{ "UMask 778", 0 },
	{ "UMask 1000", 0 },
	{ "UMask -1", 0 },
	{ "PidFile /run/authmilter.pid", 1 },
	{ "PidFile run/authmilter.pid", 0 },
	{ "MetricsSocket inet:9895@127.0.0.1", 1 },
	{ "MetricsSocket inet:9895", 1 },
	{ "MetricsSocket inet6:9895@[::1]", 1 },
	{ "MetricsSocket inet6:9895@::1", 1 },
	{ "MetricsSocket inet:9895@localhost", 0 },
	{ "MetricsSocket inet:0@127.0.0.1", 0 },
	{ "MetricsSocket unix:/run/x", 0 },
	{ "MetricsSocket inet:9895@::1", 0 },
	{ "MilterEngine builtin", 1 },
	{ "MilterEngine libmilter", 1 },
	{ "MilterEngine LibMilter", 1 },
	{ "MilterEngine sendmail", 0 },
	{ "MilterEngine", 0 },
};

START_TEST(test_keys)
{
	struct am_config	*cfg;
	char			 text[256];
	int			 problems;

	snprintf(text, sizeof(text), "%s\n", key_cases[_i].line);
	cfg = load_text(text, &problems);
	ck_assert_msg((cfg != NULL) == key_cases[_i].ok, "%s: %s",
	    key_cases[_i].line, cfg ? "accepted" : "refused");
	am_config_unref(cfg);
}
END_TEST

START_TEST(test_key_values)
{
	struct am_config	*cfg;
	int			 problems;

	cfg = load_text("UserID root:daemon\nUMask 027\nPidFile /x/y.pid\n"
	    "MetricsSocket inet:1234@127.0.0.1\n", &problems);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->user, "root");
	ck_assert_str_eq(cfg->group, "daemon");
	ck_assert_int_eq(cfg->umask_set, 1);
	ck_assert_uint_eq(cfg->umask, 027);
	ck_assert_str_eq(cfg->pid_file, "/x/y.pid");
	ck_assert_str_eq(cfg->metrics_socket, "inet:1234@127.0.0.1");
	am_config_unref(cfg);
	cfg = load_text("MilterEngine libmilter\n", &problems);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg->milter_engine, AM_CONFIG_ENGINE_LIBMILTER);
	am_config_unref(cfg);
	cfg = am_config_defaults();
	ck_assert_int_eq(cfg->milter_engine, AM_CONFIG_ENGINE_BUILTIN);
	am_config_unref(cfg);
	cfg = am_config_defaults();
	ck_assert_ptr_null(cfg->user);
	ck_assert_int_eq(cfg->umask_set, 0);
	ck_assert_ptr_null(cfg->pid_file);
	ck_assert_ptr_null(cfg->metrics_socket);
	am_config_unref(cfg);
}
END_TEST

static const struct {
	const char	*a, *b, *want;
} restart_cases[] = {
	{ "", "", "" },
	{ "", "RejectString x\nLogLevel debug\nIgnoreHosts 10.0.0.0/8\n", "" },
	{ "", "Socket inet:1@127.0.0.1\n", "Socket" },
	{ "Nameservers 127.0.0.1\n", "Nameservers 127.0.0.2\n", "Nameservers" },
	{ "", "DNSTimeout 9\nSyslog no\n", "DNSTimeout, Syslog" },
	{ "", "SyslogFacility local0\nUserID root\n", "SyslogFacility, UserID" },
	{ "UserID root\n", "UserID root:daemon\n", "UserID" },
	{ "", "UMask 022\nPidFile /p\nMetricsSocket inet:5@127.0.0.1\n",
	    "UMask, PidFile, MetricsSocket" },
	{ "", "MilterEngine libmilter\n", "MilterEngine" },
	{ "MilterEngine libmilter\n", "MilterEngine libmilter\n", "" },
};

START_TEST(test_restart_keys)
{
	struct am_config	*a, *b;
	char			 out[256];
	int			 p, n;

	ck_assert_ptr_nonnull(a = load_text(restart_cases[_i].a, &p));
	ck_assert_ptr_nonnull(b = load_text(restart_cases[_i].b, &p));
	n = am_reload_restart_keys(a, b, out, sizeof(out));
	ck_assert_str_eq(out, restart_cases[_i].want);
	ck_assert_int_eq(n == 0, *restart_cases[_i].want == '\0');
	am_config_unref(a);
	am_config_unref(b);
}
END_TEST

/* a daemon with only the config part set up: enough for am_reload_now */
static void
fake_daemon(struct am_daemon *d, struct am_config *cfg)
{
	memset(d, 0, sizeof(*d));
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = cfg;
}

START_TEST(test_reload_now)
{
	struct am_daemon	 d;
	struct am_config	*c;
	struct am_buf		 b;
	char			 path[64];
	int			 p;

	write_conf(path, sizeof(path), "RejectString one\n");
	fake_daemon(&d, am_config_load(path, count, &p));
	unlink(path);
	ck_assert_ptr_nonnull(d.cfg);
	c = am_daemon_config(&d);		/* a connection's snapshot */

	ck_assert_int_eq(am_reload_now(&d, "/nonexistent/conf"), -1);
	ck_assert_ptr_eq(d.cfg, c);		/* kept */

	write_conf(path, sizeof(path), "RejectString two\nBadKey x\n");
	ck_assert_int_eq(am_reload_now(&d, path), -1);
	ck_assert_str_eq(d.cfg->reject_string, "one");
	unlink(path);

	write_conf(path, sizeof(path), "RejectString three\n");
	ck_assert_int_eq(am_reload_now(&d, path), 0);
	ck_assert_str_eq(d.cfg->reject_string, "three");
	ck_assert_str_eq(c->reject_string, "one");	/* still valid */
	unlink(path);
	am_config_unref(c);

	am_buf_init(&b, 64 * 1024);
	am_metrics_render(&b);
	ck_assert_ptr_nonnull(strstr(am_buf_str(&b),
	    "authmilter_reloads_total{result=\"ok\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(am_buf_str(&b),
	    "authmilter_reloads_total{result=\"failed\"} 2\n"));
	am_buf_clear(&b);
	am_config_unref(d.cfg);
	pthread_mutex_destroy(&d.lock);
}
END_TEST

START_TEST(test_pidfile)
{
	char	 path[64], buf[32], want[32];
	FILE	*fp;
	char	 err[256];

	snprintf(path, sizeof(path), "/tmp/check_daemon.pid.%ld",
	    (long)getpid());
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));	/* stale file */
	fputs("99999999\n", fp);
	fclose(fp);
	ck_assert_int_eq(am_pidfile_write(path, (uid_t)-1, (gid_t)-1, err,
	    sizeof(err)), 0);
	ck_assert_ptr_nonnull(fp = fopen(path, "r"));
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(am_pidfile_remove(path), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* someone else's pid file is left alone */
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs("1\n", fp);
	fclose(fp);
	ck_assert_int_eq(am_pidfile_remove(path), 0);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	ck_assert_int_eq(am_pidfile_write("/nonexistent/dir/x.pid", (uid_t)-1,
	    (gid_t)-1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/dir/x.pid"));
}
END_TEST

START_TEST(test_metrics_message)
{
	struct am_results	 r;
	struct am_buf		 b;
	const char		*s;

	memset(&r, 0, sizeof(r));
	r.spf_mailfrom.checked = 1;
	r.spf_mailfrom.result = AM_SPF_FAIL;
	r.ndkim = 2;
	r.dkim[0].result = AM_DKIM_PASS;
	r.dkim[1].result = AM_DKIM_FAIL;
	r.dmarc.result = AM_DMARC_FAIL;
	am_metrics_message(&r, 0, AM_ACT_REJECT, 0.003);
	am_metrics_message(&r, 1, AM_ACT_ACCEPT, 20.0);	/* exempt: no results */
	am_buf_init(&b, 64 * 1024);
	am_metrics_render(&b);
	ck_assert(!am_buf_failed(&b));
	s = am_buf_str(&b);
	ck_assert_ptr_nonnull(strstr(s, "authmilter_messages_total{action=\"reject\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_messages_total{action=\"accept\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_exempt_messages_total 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "{identity=\"mailfrom\",result=\"fail\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "{identity=\"helo\",result=\"fail\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_dkim_results_total{result=\"pass\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_dkim_results_total{result=\"fail\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_dmarc_results_total{result=\"fail\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_bucket{le=\"0.001\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_bucket{le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_bucket{le=\"10\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_bucket{le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_count 2\n"));
	ck_assert_ptr_nonnull(strstr(s, "authmilter_eom_seconds_sum 20.003000\n"));
	ck_assert_ptr_nonnull(strstr(s, "\n# EOF\n"));
	am_buf_clear(&b);
}
END_TEST

/* daemon_suite - every test case */
static Suite *
daemon_suite(void)
{
	Suite	*s = suite_create("daemon");
	TCase	*tc = tcase_create("daemon");

	tcase_add_loop_test(tc, test_keys, 0, nitems(key_cases));
	tcase_add_test(tc, test_key_values);
	tcase_add_loop_test(tc, test_restart_keys, 0, nitems(restart_cases));
	tcase_add_test(tc, test_reload_now);
	tcase_add_test(tc, test_pidfile);
	tcase_add_test(tc, test_metrics_message);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(daemon_suite());
	int	 nfail;

	srunner_set_fork_status(sr, CK_NOFORK);	/* counters are per process */
	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
