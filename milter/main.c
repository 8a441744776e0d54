/*
 * main.c - authmilter: SPF, DKIM and DMARC in one milter.
 *
 * Usage: authmilter [-c file] [-f] [-n] [-V]
 *   -c file  configuration (default SYSCONFDIR/authmilter.conf)
 *   -f       stay in the foreground and log to stderr as well
 *   -n       check the configuration, print every problem, exit
 *   -V       print the version
 *
 * Start-up: load the config (every problem reported, exit EX_CONFIG on
 * any), open the log, create the resolver and the DKIM library, bind the
 * socket (a stale unix socket is removed), then hand over to smfi_main().
 * Exit codes follow sysexits(3).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "amconfig.h"
#include "callbacks.h"
#include "config.h"
#include "daemon.h"
#include "log.h"

#ifndef AM_SYSCONFDIR
#define AM_SYSCONFDIR	"/etc"
#endif
#define AM_DEFAULT_CONF	AM_SYSCONFDIR "/authmilter.conf"
#define AM_DRAIN_SECS	10	/* wait this long for messages in progress at exit */

struct options {
	const char	*conf;
	int		 foreground;
	int		 check_only;
};

/* usage - print the synopsis and exit */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: authmilter [-c file] [-f] [-n] [-V]\n");
	exit(EX_USAGE);
}

/* parse_args - command line to options; -V exits here */
static void
parse_args(int argc, char **argv, struct options *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->conf = AM_DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (ch) {
		case 'c':
			o->conf = optarg;
			break;
		case 'f':
			o->foreground = 1;
			break;
		case 'n':
			o->check_only = 1;
			break;
		case 'V':
			printf("authmilter %s\n", PACKAGE_VERSION);
			exit(EX_OK);
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
}

/* print_problem - config errors go to stderr, one per line */
static void
print_problem(void *arg, const char *msg)
{
	int	*count = arg;

	(*count)++;
	fprintf(stderr, "%s\n", msg);
}

/*
 * nodelay_listeners - TCP_NODELAY on libmilter's listening TCP socket (it
 * has no API for its descriptor, so look for it).  Linux copies the option
 * to every accepted connection.  Without it, the reply that follows a
 * header edit at EOM ('i' then 'c') waits for the MTA's delayed ACK:
 * measured 40 ms per message over inet sockets (bench/, 190 msg/s at c=8).
 */
static void
nodelay_listeners(void)
{
	int		 fd, on = 1, listening;
	socklen_t	 len;
	struct sockaddr_storage ss;

	for (fd = 0; fd < 64; fd++) {
		len = sizeof(listening);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening,
		    &len) == -1 || !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
		    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	}
}

/* setup_milter - register callbacks and bind the socket */
static int
setup_milter(struct am_daemon *d, const struct am_config *cfg)
{
	am_callbacks_init(d);
	if (smfi_register(*am_callbacks_desc()) != MI_SUCCESS) {
		am_log_err(NULL, "smfi_register failed");
		return -1;
	}
	if (smfi_setconn((char *)cfg->socket) != MI_SUCCESS) {
		am_log_err(NULL, "bad socket %s", cfg->socket);
		return -1;
	}
	/* remove a stale unix socket; errors here are bind/permission errors */
	if (smfi_opensocket(1) != MI_SUCCESS) {
		am_log_err(NULL, "cannot listen on %s: %s", cfg->socket,
		    strerror(errno));
		return -1;
	}
	nodelay_listeners();
	return 0;
}

/*
 * block_signals - libmilter's signal thread sigwait()s for SIGHUP, SIGTERM
 * and SIGINT; threads we start before smfi_main() (the resolver's pump)
 * must not take them, or the default action kills the process mid-message.
 */
static void
block_signals(void)
{
	sigset_t	 set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * drain - give messages in progress after smfi_main() returned a moment to
 * finish.  Returns 0 when no connection is left, so the handles can be
 * freed; otherwise they stay (idle MTA connections may still hold them)
 * and the process just exits.
 */
static int
drain(void)
{
	int	 i;

	for (i = 0; i < AM_DRAIN_SECS * 10 && am_callbacks_busy() > 0; i++)
		usleep(100000);
	if (am_callbacks_busy() > 0)
		am_log_warn(NULL, "exiting with %d messages in progress",
		    am_callbacks_busy());
	return am_callbacks_active() == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	struct options		 o;
	struct am_config	*cfg;
	static struct am_daemon	 d;	/* lives past main() for late sessions */
	char			 err[512];
	int			 problems = 0, rc;

	parse_args(argc, argv, &o);
	cfg = am_config_load(o.conf, print_problem, &problems);
	if (cfg == NULL) {
		fprintf(stderr, "%s: %d problem%s\n", o.conf, problems,
		    problems == 1 ? "" : "s");
		return EX_CONFIG;
	}
	if (o.check_only) {
		printf("%s: OK\n", o.conf);
		am_config_unref(cfg);
		return EX_OK;
	}
	am_log_open("authmilter", cfg->syslog, cfg->syslog_facility, o.foreground);
	am_log_set_level((enum am_log_level)cfg->log_level);
	block_signals();
	/* socket first (errors on the terminal), fork next, threads last */
	if (setup_milter(&d, cfg) == -1)
		return EX_OSERR;
	if (!o.foreground && daemon(0, 0) == -1) {
		am_log_err(NULL, "daemon: %s", strerror(errno));
		return EX_OSERR;
	}
	if (am_daemon_init(&d, cfg, err, sizeof(err)) == -1) {
		am_log_err(NULL, "%s", err);
		return EX_OSERR;
	}
	am_config_unref(cfg);
	am_log_info(NULL, "starting authmilter %s on %s, authserv-id %s",
	    PACKAGE_VERSION, d.cfg->socket, d.cfg->authserv_id);
	rc = smfi_main();
	am_log_info(NULL, "stopping (%s)", rc == MI_SUCCESS ? "signal" : "error");
	if (drain() == 0)
		am_daemon_clear(&d);	/* else sessions still use it: leave it */
	return rc == MI_SUCCESS ? EX_OK : EX_SOFTWARE;
}
