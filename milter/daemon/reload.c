/*
 * reload.c - SIGHUP or SIGUSR1: parse the config again and swap the
 * snapshot in.
 *
 * SIGTERM and SIGINT stop (main.c, am_engine_run); SIGHUP reloads, as
 * admins expect of a daemon (libmilter-based milters stop on it: the
 * libmilter engine keeps libmilter from seeing it, server/lmsignal.c).
 * The thread here waits for SIGHUP and SIGUSR1 with am_engine_sigwait,
 * so no work happens in a signal handler.  A reload in
 * progress is not cancelled: cancellation is enabled only around the wait.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "common/log.h"
#include "daemon/metrics.h"
#include "daemon/reload.h"
#include "dkim/sign_record.h"
#include "history/history.h"
#include "server/engine.h"

/* process-wide state: see daemon/daemon.h */
static pthread_t	 reload_thread;
static int		 reload_running;
static int		 reload_stopping;	/* __atomic; set by am_reload_stop */

/* str_differ - two optional strings differ */
static int
str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* strv_differ - two string lists differ */
static int
strv_differ(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t	 i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 1;
	return 0;
}

/* add_name - append ", name" */
static void
add_name(char *out, size_t outlen, int *n, const char *name)
{
	size_t	 len = strlen(out);

	if (len < outlen)
		snprintf(out + len, outlen - len, "%s%s", *n ? ", " : "", name);
	(*n)++;
}

/* am_reload_restart_keys - start-up-only keys that changed */
int
am_reload_restart_keys(const struct am_config *o, const struct am_config *c,
    char *out, size_t outlen)
{
	int	 n = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (str_differ(o->socket, c->socket))
		add_name(out, outlen, &n, "Socket");
	if (strv_differ(o->nameservers, o->nnameservers, c->nameservers,
	    c->nnameservers))
		add_name(out, outlen, &n, "Nameservers");
	if (o->dns_timeout != c->dns_timeout)
		add_name(out, outlen, &n, "DNSTimeout");
	if (o->syslog != c->syslog)
		add_name(out, outlen, &n, "Syslog");
	if (o->syslog_facility != c->syslog_facility)
		add_name(out, outlen, &n, "SyslogFacility");
	if (o->log_dest != c->log_dest || str_differ(o->log_file, c->log_file))
		add_name(out, outlen, &n, "LogDestination");
	if (o->log_json != c->log_json)
		add_name(out, outlen, &n, "LogFormat");
	if (str_differ(o->user, c->user) || str_differ(o->group, c->group))
		add_name(out, outlen, &n, "UserID");
	if (o->umask_set != c->umask_set || o->umask != c->umask)
		add_name(out, outlen, &n, "UMask");
	if (str_differ(o->pid_file, c->pid_file))
		add_name(out, outlen, &n, "PidFile");
	if (str_differ(o->metrics_socket, c->metrics_socket))
		add_name(out, outlen, &n, "MetricsSocket");
	if (o->milter_engine != c->milter_engine)
		add_name(out, outlen, &n, "MilterEngine");
	return n;
}

/* log_problem - one config problem, already "file:line: ..." */
static void
log_problem(void *arg, const char *msg)
{
	int	*count = arg;

	(*count)++;
	am_log_err(NULL, "reload: %s", msg);
}

/* stopping - has am_reload_stop begun?  (ends the key self-check early) */
static int
stopping(void)
{
	return __atomic_load_n(&reload_stopping, __ATOMIC_SEQ_CST);
}

/*
 * check_keys - the signing keys of the running configuration against
 * DNS (issue 18; only logs).  Here, in this thread, at its start and after
 * each reload: DNS never delays the engine's start.
 */
static void
check_keys(struct am_daemon *d)
{
	struct am_config	*cfg = am_daemon_config(d);

	am_sign_check_dns(cfg->sign, d->env.dns, stopping);
	am_config_unref(cfg);
}

/* am_reload_now - load, compare, swap */
int
am_reload_now(struct am_daemon *d, const char *path)
{
	struct am_config	*cfg, *old;
	char			 keys[256], err[512];
	int			 problems = 0;

	if ((cfg = am_config_load(path, log_problem, &problems)) == NULL) {
		am_log_err(NULL, "reload: %d problem%s in %s; keeping the "
		    "running configuration", problems, problems == 1 ? "" : "s",
		    path);
		am_metrics_reload(0);
		return -1;
	}
	old = am_daemon_config(d);
	if (am_reload_restart_keys(old, cfg, keys, sizeof(keys)) > 0)
		am_log_warn(NULL, "reload: changes to %s take effect only "
		    "after a restart", keys);
	am_config_unref(old);
	/* logrotate moved the file: a new one at the same path */
	if (am_log_reopen(err, sizeof(err)) == -1)
		am_log_err(NULL, "reload: %s; still writing to the old file",
		    err);
	am_log_set_level((enum am_log_level)cfg->log_level);
	am_history_reload(d->history, cfg->history_db, cfg->history_queue);
	am_daemon_swap_config(d, cfg);
	am_metrics_reload(1);
	am_log_info(NULL, "reload: configuration %s loaded", path);
	check_keys(d);
	return 0;
}

struct reload_arg {
	struct am_daemon	*d;
	const char		*path;
};

/* reload_main - wait for SIGHUP or SIGUSR1, reload, forever (until cancelled) */
static void *
reload_main(void *arg)
{
	struct reload_arg		*ra;
	sigset_t			 set;
	int				 sig;

	ra = arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	check_keys(ra->d);
	for (;;) {
		pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		if ((sig = am_engine_sigwait(&set)) == -1)
			continue;
		pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		am_log_info(NULL, "%s: reloading %s",
		    sig == SIGHUP ? "SIGHUP" : "SIGUSR1", ra->path);
		(void)am_reload_now(ra->d, ra->path);
	}
	return NULL;
}

/* am_reload_start - the SIGHUP/SIGUSR1 thread */
int
am_reload_start(struct am_daemon *d, const char *path, char *err,
    size_t errlen)
{
	/* process-wide state: see daemon/daemon.h */
	static struct reload_arg	 ra;
	int				 r;

	ra.d = d;
	ra.path = path;
	if ((r = pthread_create(&reload_thread, NULL, reload_main, &ra)) != 0) {
		snprintf(err, errlen, "reload thread: %s", strerror(r));
		return -1;
	}
	reload_running = 1;
	return 0;
}

/* am_reload_stop - cancel the thread at its sigwait and join it */
void
am_reload_stop(void)
{
	if (!reload_running)
		return;
	/* the thread may be in the key self-check, where it cannot be
	 * cancelled: make it stop after the look-up in progress */
	__atomic_store_n(&reload_stopping, 1, __ATOMIC_SEQ_CST);
	pthread_cancel(reload_thread);
	pthread_join(reload_thread, NULL);
	reload_running = 0;
}
