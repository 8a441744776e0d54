/*
 * main.c - authmilter: SPF, DKIM and DMARC in one milter.
 *
 * Usage: authmilter [-c file] [-f] [-n] [-V]
 *        authmilter [-c file] -t file [-i ip] [-H helo] [-m mailfrom] [-a user]
 *   -c file  configuration (default SYSCONFDIR/authmilter.conf)
 *   -f       stay in the foreground and log to stderr as well
 *   -n       check the configuration, print every problem, exit
 *   -t file  check one message file offline and print the outcome
 *   -V       print the version
 *
 * Start-up: load the config (every problem reported, exit EX_CONFIG on
 * any), open the log, block the signals threads must not take, raise the
 * open files limit and bind the socket under UMask (am_engine_new; a
 * stale unix socket is removed), bind the metrics
 * port, go to the background, write the PidFile, drop to UserID, and only
 * then start threads: resolver, DKIM library, metrics server, the SIGHUP
 * and SIGUSR1 reload thread, and the milter engine (engine.h; MilterEngine
 * picks the built-in one or libmilter).  Exit codes follow
 * sysexits(3).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "amconfig.h"
#include "daemon/callbacks.h"
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/freport_q.h"
#include "server/engine.h"
#include "common/log.h"
#include "common/sockspec.h"
#include "daemon/metrics.h"
#include "daemon/metrics_http.h"
#include "daemon/offline.h"
#include "daemon/pidfile.h"
#include "daemon/privs.h"
#include "daemon/reload.h"
#include "history/history.h"

#ifndef AM_SYSCONFDIR
#define AM_SYSCONFDIR	"/etc"
#endif
#define AM_DEFAULT_CONF	AM_SYSCONFDIR "/authmilter.conf"
#define AM_DRAIN_SECS	10	/* wait this long for messages in progress at exit */

struct options {
	const char		*conf;
	int			 foreground;
	int			 check_only;
	struct am_offline_opts	 t;	/* -t: t.file set */
};

/* usage - print the synopsis and exit */
static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: authmilter [-c file] [-f] [-n] [-V]\n"
	    "       authmilter [-c file] -t file [-i ip] [-H helo] "
	    "[-m mailfrom] [-a user]\n");
	exit(EX_USAGE);
}

/* parse_args - command line to options; -V exits here */
static void
parse_args(int argc, char **argv, struct options *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->conf = AM_DEFAULT_CONF;
	while ((ch = getopt(argc, argv, "a:c:fH:i:m:nt:Vh")) != -1) {
		switch (ch) {
		case 'a':
			o->t.auth = optarg;
			break;
		case 'H':
			o->t.helo = optarg;
			break;
		case 'i':
			o->t.ip = optarg;
			break;
		case 'm':
			o->t.mailfrom = optarg;
			break;
		case 't':
			o->t.file = optarg;
			break;
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
	if (o->t.file == NULL && (o->t.auth || o->t.helo || o->t.ip ||
	    o->t.mailfrom))
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

/* setup_milter - callbacks and the listening socket (before fork) */
static struct am_engine *
setup_milter(struct am_daemon *d, const struct am_config *cfg)
{
	struct am_engine_conf	 ec = { cfg->socket, am_callbacks_milter(), d,
	    cfg->milter_engine == AM_CONFIG_ENGINE_LIBMILTER ?
	    AM_ENGINE_LIBMILTER : AM_ENGINE_BUILTIN };
	struct am_engine	*e;
	char			 err[512];

	if ((e = am_engine_new(&ec, err, sizeof(err))) == NULL)
		am_log_err(NULL, "cannot listen on %s: %s", cfg->socket, err);
	return e;
}

/*
 * stop_signals - the signals that stop the daemon (after a drain).  Not
 * SIGHUP: it reloads, as SIGUSR1 does (reload.c), as admins expect of a
 * daemon (nsd, unbound, Postfix); an accidental HUP must not stop mail.
 */
static void
stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/*
 * block_signals - the main thread waits for the stop signals
 * (am_engine_run); every other thread (resolver pump, engine, reload)
 * must not take them, or the default action kills the process mid-message.
 */
static void
block_signals(void)
{
	sigset_t	 set;

	stop_signals(&set);
	sigaddset(&set, SIGHUP);	/* taken by the reload thread only */
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * open_log - the one log destination (log.h): LogDestination, or else
 * Syslog (yes: syslog, no: stderr); cfg NULL: stderr (offline checker).
 * -f no longer copies lines to stderr: under systemd that sent every
 * line to the journal twice.  0, or -1 (logged on stderr).
 */
static int
open_log(const struct am_config *cfg, int foreground)
{
	struct am_log_opts	 lo = { "authmilter", AM_LOG_TO_STDERR, 0, NULL, 0 };
	char			 err[512];

	if (cfg != NULL) {
		lo.dest = cfg->log_dest != -1 ? (enum am_log_dest)cfg->log_dest :
		    cfg->syslog ? AM_LOG_TO_SYSLOG : AM_LOG_TO_STDERR;
		lo.facility = cfg->syslog_facility;
		lo.path = cfg->log_file;
		lo.json = cfg->log_json;
	}
	if (am_log_open(&lo, err, sizeof(err)) == -1) {
		am_log_err(NULL, "%s", err);
		return -1;
	}
	if (lo.dest == AM_LOG_TO_STDERR && !foreground)
		fprintf(stderr, "authmilter: warning: LogDestination stderr "
		    "without -f: stderr is closed once in the background, log "
		    "lines will be lost\n");
	return 0;
}

/* offline - -t: the checks on one file, no MTA */
static int
offline(const struct options *o, struct am_config *cfg)
{
	struct am_daemon	 d;
	char			 err[512];
	int			 rc;

	open_log(NULL, 1);
	am_log_set_level(AM_LOG_WARN);
	if (am_daemon_init(&d, cfg, err, sizeof(err)) == -1) {
		fprintf(stderr, "authmilter: %s\n", err);
		am_config_unref(cfg);
		return EX_OSERR;
	}
	am_config_unref(cfg);
	rc = am_offline_check(&d.env, d.cfg, &o->t, stdout);
	am_daemon_clear(&d);
	return rc;
}

/* unix_path - the file of a unix socket spec (in *ss), or NULL */
static const char *
unix_path(const char *spec, struct am_sockspec *ss)
{
	if (am_sockspec_parse(spec, ss) != NULL || ss->kind != AM_SOCKSPEC_UNIX)
		return NULL;
	return ss->path;
}

/*
 * prepare_dirs - the directories of a unix socket and of the PidFile,
 * before either is made: created when missing, for UserID when set, so the
 * files can be removed at exit (privs.c).  0 or -1 (logged).
 */
static int
prepare_dirs(const struct am_config *cfg)
{
	struct am_sockspec	 ss;
	const char		*paths[2];
	char			 err[512];
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;
	size_t			 i;

	paths[0] = unix_path(cfg->socket, &ss);
	paths[1] = cfg->pid_file;
	if (cfg->user != NULL && geteuid() == 0 &&
	    am_privs_lookup(cfg->user, cfg->group, &uid, &gid, err,
	    sizeof(err)) == -1) {
		am_log_err(NULL, "%s", err);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		if (paths[i] == NULL)
			continue;
		switch (am_privs_file_dir(paths[i], cfg->user, uid, gid, err,
		    sizeof(err))) {
		case -1:
			am_log_err(NULL, "%s", err);
			return -1;
		case 1:
			am_log_warn(NULL, "%s", err);
			break;
		}
	}
	return 0;
}

/*
 * become_daemon - after the socket is bound: background, PidFile, the
 * metrics port, then drop root.  Still no thread.  0 or -1 (logged).
 */
static int
become_daemon(const struct options *o, const struct am_config *cfg,
    struct am_metrics_http **mh)
{
	struct am_sockspec	 ss;
	char			 err[512];
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;

	if (!o->foreground && daemon(0, 0) == -1) {
		am_log_err(NULL, "daemon: %s", strerror(errno));
		return -1;
	}
	if (cfg->user != NULL && geteuid() == 0 &&
	    am_privs_lookup(cfg->user, cfg->group, &uid, &gid, err,
	    sizeof(err)) == -1)
		goto fail;
	if (cfg->pid_file != NULL &&
	    am_pidfile_write(cfg->pid_file, uid, gid, err, sizeof(err)) == -1)
		goto fail;
	if (cfg->metrics_socket != NULL &&
	    (*mh = am_metrics_http_new(cfg->metrics_socket, err,
	    sizeof(err))) == NULL)
		goto fail;
	if (cfg->user != NULL && am_privs_drop(cfg->user, cfg->group,
	    unix_path(cfg->socket, &ss), err, sizeof(err)) == -1)
		goto fail;
	return 0;
fail:
	am_log_err(NULL, "%s", err);
	return -1;
}

/* start_threads - everything that runs next to the engine; 0 or -1 */
static int
start_threads(struct am_daemon *d, struct am_config *cfg,
    struct am_metrics_http *mh, const char *conf)
{
	char	 err[512];

	if (am_daemon_init(d, cfg, err, sizeof(err)) == -1)
		goto fail;
	am_metrics_set_dns(d->env.dns);
	/* after the privileges are dropped: the store is opened as the run user */
	if ((d->history = am_history_new(cfg->history_db, cfg->history_queue,
	    err, sizeof(err))) == NULL)
		goto fail;
	am_metrics_set_history(d->history);
	if (mh != NULL && am_metrics_http_start(mh, err, sizeof(err)) == -1)
		goto fail;
	if (am_reload_start(d, conf, err, sizeof(err)) == -1)
		goto fail;
	if (am_freport_start(d->env.dns, err, sizeof(err)) == -1)
		goto fail;
	return 0;
fail:
	am_log_err(NULL, "%s", err);
	return -1;
}

int
main(int argc, char **argv)
{
	struct options		 o;
	struct am_config	*cfg;
	/* process-wide state: see daemon/daemon.h */
	static struct am_daemon	 d;	/* lives past main() for late sessions */
	struct am_metrics_http	*mh = NULL;
	struct am_engine	*e;
	char			*pid_file = NULL;
	sigset_t		 stop;
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
	if (o.t.file != NULL)
		return offline(&o, cfg);
	if (open_log(cfg, o.foreground) == -1) {
		am_config_unref(cfg);
		return EX_OSERR;
	}
	am_log_set_level((enum am_log_level)cfg->log_level);
	block_signals();
	if (cfg->umask_set)
		umask((mode_t)cfg->umask);
	/* socket first (errors on the terminal), fork next, threads last */
	if (prepare_dirs(cfg) == -1 || (e = setup_milter(&d, cfg)) == NULL) {
		am_config_unref(cfg);
		return EX_OSERR;
	}
	if (become_daemon(&o, cfg, &mh) == -1 ||
	    (cfg->pid_file != NULL && (pid_file = strdup(cfg->pid_file)) == NULL) ||
	    start_threads(&d, cfg, mh, o.conf) == -1) {
		am_metrics_http_free(mh);
		if (d.cfg != NULL)
			am_daemon_clear(&d);
		am_engine_free(e);
		am_pidfile_remove(cfg->pid_file);
		free(pid_file);
		am_config_unref(cfg);
		return EX_OSERR;
	}
	/* cfg, not d.cfg: the reload thread may swap that one already */
	am_log_info(NULL, "starting authmilter %s on %s, authserv-id %s, uid %ld, "
	    "engine %s", PACKAGE_VERSION, cfg->socket, cfg->authserv_id,
	    (long)getuid(), cfg->milter_engine == AM_CONFIG_ENGINE_LIBMILTER ?
	    "libmilter" : "builtin");
	am_config_unref(cfg);
	stop_signals(&stop);
	rc = am_engine_run(e, &stop, AM_DRAIN_SECS);
	am_log_info(NULL, "stopping (%s)", rc == 0 ? "signal" : "error");
	am_reload_stop();
	am_history_stop(d.history);	/* writes the queue (AM_HIST_STOP_SECS) */
	am_freport_stop();		/* flush, bounded; before the resolver */
	am_metrics_http_free(mh);	/* before the resolver it reads */
	if (am_engine_stuck(e) == 0 && am_callbacks_active() == 0) {
		am_engine_free(e);
		am_daemon_clear(&d);	/* else sessions still use it: leave it */
	}
	am_pidfile_remove(pid_file);
	free(pid_file);
	return rc == 0 ? EX_OK : EX_SOFTWARE;
}
