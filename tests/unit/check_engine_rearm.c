/*
 * check_engine_rearm.c - the built-in engine (milter/server/engine.c) when
 * the listening socket cannot be rearmed: workers accept their own
 * connections and rearm the socket, one-shot in their epoll set, with
 * epoll_ctl(EPOLL_CTL_MOD) after each accept (issue 17).  Should that
 * fail, nobody would ever accept again while the daemon looked alive; it
 * must instead log why and make am_engine_run return -1, so the daemon
 * exits and its supervisor starts it again (systemd Restart=on-failure).
 * This program links its own epoll_ctl (below), ahead of libc's: it
 * passes every call to the kernel, but fails EPOLL_CTL_MOD once told to.
 * A control test shows the engine serving several connections and
 * stopping at a signal with the same stand-in in place.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "server/engine.h"

#define CONNS	5		/* connections the control test makes */

static int	 fail_mod;	/* EPOLL_CTL_MOD fails with ENOMEM */
static int	 nmod;		/* EPOLL_CTL_MOD calls seen */
static char	 sockpath[108];
static char	 logpath[128];

int
epoll_ctl(int ep, int op, int fd, struct epoll_event *ev)
{
	if (op == EPOLL_CTL_MOD) {
		__atomic_add_fetch(&nmod, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&fail_mod, __ATOMIC_SEQ_CST)) {
			errno = ENOMEM;
			return -1;
		}
	}
	return (int)syscall(SYS_epoll_ctl, ep, op, fd, ev);
}

/* the filter: the clients send nothing, so only these are called */
static int
negotiate(struct am_mctx *c, uint32_t actions, uint32_t steps,
    uint32_t *want_actions, uint32_t *want_steps)
{
	(void)c;
	(void)actions;
	(void)steps;
	*want_actions = 0;
	*want_steps = 0;
	return 0;
}

/* what the engine calls at every connection's end */
static void
ended(struct am_mctx *c)
{
	(void)c;
}

static const struct am_milter filter = {
	.negotiate = negotiate, .abort = ended, .close = ended
};

/* client - connect, then close at once; 0 or -1 */
static int
client(void)
{
	struct sockaddr_un	 sun;
	int			 fd, r;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return -1;
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	close(fd);
	return r;
}

/* driver - after the engine is up: CONNS clients, then the stop signal */
static void *
driver(void *arg)
{
	int	 i, nfail = *(int *)arg;

	usleep(200000);
	if (nfail)
		__atomic_store_n(&fail_mod, 1, __ATOMIC_SEQ_CST);
	for (i = 0; i < (nfail ? 1 : CONNS); i++) {
		ck_assert_int_eq(client(), 0);
		usleep(50000);
	}
	if (!nfail)
		kill(getpid(), SIGUSR1);
	return NULL;
}

/* serve - start an engine and run it; am_engine_run's return */
static int
serve(int nfail)
{
	struct am_engine_conf	 conf;
	struct am_log_opts	 lo = { .ident = "check", .dest =
				    AM_LOG_TO_FILE, .path = logpath };
	struct am_engine	*e;
	sigset_t		 stop;
	pthread_t		 t;
	char			 spec[160], err[256];
	int			 rc;

	snprintf(sockpath, sizeof(sockpath), "/tmp/check_rearm.%d.sock",
	    (int)getpid());
	snprintf(logpath, sizeof(logpath), "/tmp/check_rearm.%d.log",
	    (int)getpid());
	unlink(logpath);
	ck_assert_int_eq(am_log_open(&lo, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "unix:%s", sockpath);
	memset(&conf, 0, sizeof(conf));
	conf.socket = spec;
	conf.milter = &filter;
	e = am_engine_new(&conf, err, sizeof(err));
	ck_assert_msg(e != NULL, "am_engine_new: %s", err);
	sigemptyset(&stop);
	sigaddset(&stop, SIGUSR1);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &stop, NULL), 0);
	alarm(20);			/* a hang fails the test */
	ck_assert_int_eq(pthread_create(&t, NULL, driver, &nfail), 0);
	rc = am_engine_run(e, &stop, 1);
	pthread_join(t, NULL);
	alarm(0);
	ck_assert_int_eq(am_engine_stuck(e), 0);
	am_engine_free(e);
	return rc;
}

/* logged - does the log file have a line containing s? */
static int
logged(const char *s)
{
	char	 line[1024];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(logpath, "r")) == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* control - with the stand-in passing calls on, the engine serves and
   stops at the signal: 0 */
START_TEST(control)
{
	ck_assert_int_eq(serve(0), 0);
	ck_assert_int_ge(__atomic_load_n(&nmod, __ATOMIC_SEQ_CST), 1);
	ck_assert(!logged("listening socket failed"));
	unlink(logpath);
}
END_TEST

/* rearm_fails - the first rearm fails: logged, am_engine_run returns -1
   without any signal */
START_TEST(rearm_fails)
{
	ck_assert_int_eq(serve(1), -1);
	ck_assert_int_eq(__atomic_load_n(&nmod, __ATOMIC_SEQ_CST), 1);
	ck_assert_msg(logged("milter: listening socket failed: epoll_ctl: "
	    "Cannot allocate memory"), "no log line in %s", logpath);
	unlink(logpath);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("engine_rearm");
	TCase	*tc = tcase_create("rearm");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, control);
	tcase_add_test(tc, rearm_fails);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
