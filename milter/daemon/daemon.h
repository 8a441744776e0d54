/*
 * daemon.h - struct am_daemon: the current config snapshot, the resolver
 * and the DKIM library handle.  Most process-wide state hangs off it; the
 * rest is listed below, so that this is the one place that says it all.
 *
 * Made once in main() before the engine starts threads.  The config pointer
 * is swapped under a mutex (am_daemon_swap_config, for reload); every
 * connection takes its own reference with am_daemon_config and keeps that
 * snapshot until it closes.  env is read-only after start-up.
 *
 * Every piece of state that lives as long as the process, where it lives,
 * who writes it and what protects it (each definition carries a comment
 * pointing back here).  "Once" means written before the threads that read
 * it are created, so pthread_create orders the write before every read.
 *
 *   daemon/main.c      main(): static struct am_daemon d.  cfg: swapped by
 *                      the reload thread under d.lock; env (resolver, DKIM
 *                      library): once, by main, read-only after.
 *   daemon/callbacks.c active: open connections, written by the engine's
 *                      workers, read by main at exit; __atomic (seq_cst).
 *   daemon/metrics.c   n_action, n_spf, n_dkim, n_dmarc, n_exempt,
 *                      n_bucket, eom_usec_sum, n_reload: counters, added to
 *                      by workers and the reload thread, read by the
 *                      metrics HTTP thread; __atomic (relaxed).
 *                      metrics_dns: once (am_metrics_set_dns, main, before
 *                      the metrics thread starts).
 *   daemon/reload.c    reload_thread, reload_running: main only (start,
 *                      stop).  am_reload_start's static ra: once, before
 *                      the reload thread that reads it is created.
 *                      reload_stopping: set by main (am_reload_stop),
 *                      read by the reload thread; __atomic (seq_cst).
 *   daemon/freport_q.c   fq: the failure-report queue, rate limiter, stop
 *                      flag and drop log, under fq.lock; fq.dns once
 *                      (am_freport_start, before the sender thread).
 *                      n_sent, n_failed, n_suppressed, n_dropped:
 *                      counters, __atomic (relaxed).
 *   common/log.c       log_dest, log_fd, log_json, log_journal,
 *                      log_ident, log_path: once (am_log_open, main,
 *                      before threads); the file behind log_fd is
 *                      swapped by am_log_reopen (reload thread, dup2:
 *                      atomic for writers).  log_level: main and the
 *                      reload thread; __atomic (relaxed).
 *   dkim/dkim_keycache.c buckets, nentries, nhits, nmisses: the decoded
 *                      key cache, filled by libopendkim's calls from any
 *                      worker; its mutex (lock).  openssl_new_raw: once
 *                      (pthread_once raw_once, by the first caller).
 *   dkim/dkim_edverify.c openssl_verify, sodium_ok, started: once
 *                      (pthread_once, by the first caller: the start-up
 *                      self-test; started also __atomic for readers);
 *                      n_sodium, n_openssl: counters, __atomic (relaxed).
 *   spf/spf.c          spare_key, spare_once: pthread_once creates the key
 *                      once; each thread's spare struct am_spf behind it is
 *                      thread-specific data, freed at thread exit.
 *   history/history.c  the history queue (struct am_history, d.history):
 *                      made once by main; records put by the workers,
 *                      taken by its writer thread, its store changed by
 *                      the reload thread; its mutex; counters __atomic.
 *   dkim/dns_dkim.c    call_budget: __thread, so one per thread; set by
 *                      dkim.c for the span of one libopendkim call, because
 *                      libopendkim's DNS hooks get no per-message pointer.
 *
 * Not process-wide: the engine (server/engine.c) is an object main owns;
 * the daemon reaches the callbacks as the engine's user data
 * (am_mctx_udata), and a message's DNS budget is passed down the check
 * calls (dns.h).
 *
 * Outside our variables: the signal mask and SIGPIPE disposition (main,
 * before threads; every thread inherits them), syslog's openlog
 * (am_log_open), the umask, user and working directory (main, before
 * threads), and the libraries' own globals (OpenSSL, libopendkim,
 * libspf2, libunbound: how each handle is shared is in dkim.h, spf.c and
 * dns.h).
 */
#ifndef AM_DAEMON_H
#define AM_DAEMON_H

#include <pthread.h>

#include "config/config.h"
#include "message/session.h"

struct am_history;

struct am_daemon {
	pthread_mutex_t		 lock;		/* guards cfg */
	struct am_config	*cfg;		/* one reference held */
	struct am_env		 env;		/* resolver, DKIM library */
	struct am_history	*history;	/* the DMARC history queue and its
						   writer (history.h: thread-safe);
						   once, by main; NULL offline */
};

/*
 * Create the resolver and DKIM library for cfg (takes a reference).
 * Returns 0, or -1 with a message in err.
 */
int	am_daemon_init(struct am_daemon *, struct am_config *cfg, char *err, size_t errlen);
void	am_daemon_clear(struct am_daemon *);

/* a new reference on the current snapshot; the caller unrefs it */
struct am_config *am_daemon_config(struct am_daemon *);

/* install a new snapshot (takes the caller's reference); the old one is unref'd */
void	am_daemon_swap_config(struct am_daemon *, struct am_config *);

#endif /* AM_DAEMON_H */
