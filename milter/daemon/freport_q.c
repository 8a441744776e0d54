/*
 * freport_q.c - the failure-report queue and its sender thread (RFC 9991):
 * the end of a message copies, this thread checks the destinations,
 * composes and submits.  See freport.h.
 *
 * Process-wide state (daemon.h lists it): fq, guarded by fq.lock (the
 * queue, the rate limiter, the stop flag, the drop log); the counters,
 * relaxed atomics read by the metrics thread.
 */
#include <sys/random.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "amconfig.h"
#include "common/log.h"
#include "daemon/freport_q.h"
#include "message/outcome.h"
#include "report/dest.h"
#include "report/freport.h"
#include "report/uri.h"

extern char **environ;

#define REPORT_MAX	(AM_FREPORT_HEADERS_MAX + AM_FREPORT_BODY_MAX + 64 * 1024)

/* one report to send: everything copied out of the message */
struct job {
	struct am_results	 res;
	enum am_freport_kind	 kind;
	enum am_action		 action;
	time_t			 arrival;
	char			 qid[64];
	char			 source_ip[64];
	char			*mailfrom;
	char			*authres;
	char			*reporter;
	char			*sender;
	char			*command;
	struct am_buf		 hdrs;
	struct am_buf		 body;
	int			 hdrs_cut, body_cut, with_body;
};

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job		*q[AM_FREPORT_QUEUE_MAX];
	size_t			 head, n;
	int			 started, stopping;
	pthread_t		 thread;
	struct am_dns		*dns;		/* once, before the thread */
	struct am_freport_rate	 rate;
	unsigned long		 drops_unlogged;
	time_t			 drop_logged;
} fq = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };

static unsigned long	 n_sent, n_failed, n_suppressed, n_dropped;
static long		 stop_ms;	/* CLOCK_MONOTONIC ms the flush ends; 0: running */

/* inc - one event on a counter */
static void
inc(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* job_free - NULL is fine */
static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->mailfrom);
	free(j->authres);
	free(j->reporter);
	free(j->sender);
	free(j->command);
	am_buf_clear(&j->hdrs);
	am_buf_clear(&j->body);
	free(j);
}

/* sender_of - FailureReportsSentBy, or postmaster@AuthservID */
static char *
sender_of(const struct am_config *cfg)
{
	char	*s;

	if (cfg->failure_reports_sent_by != NULL)
		return strdup(cfg->failure_reports_sent_by);
	if (asprintf(&s, "postmaster@%s", cfg->authserv_id) == -1)
		return NULL;
	return s;
}

/* job_new - the copy of a message that its report needs; NULL on ENOMEM */
static struct job *
job_new(struct am_msg *m, const struct am_outcome *o, enum am_freport_kind k)
{
	const struct am_config	*cfg = m->conn->cfg;
	struct job		*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->res = *o->res;
	j->kind = k;
	j->action = o->verdict.action;
	j->arrival = time(NULL);
	snprintf(j->qid, sizeof(j->qid), "%s", m->qid);
	snprintf(j->source_ip, sizeof(j->source_ip), "%s", m->conn->client_ip);
	j->mailfrom = strdup(m->mailfrom != NULL ? m->mailfrom : "");
	j->authres = strdup(am_buf_str(&o->authres));
	j->reporter = strdup(cfg->authserv_id);
	j->sender = sender_of(cfg);
	j->command = strdup(cfg->failure_reports_command);
	/* the kept fields and body move into the job: no copy */
	j->hdrs = m->frep_hdrs;
	j->hdrs_cut = m->frep_hdrs_cut;
	am_buf_init(&m->frep_hdrs, AM_FREPORT_HEADERS_MAX);
	j->with_body = cfg->failure_reports_body;
	j->body = m->frep_body;
	j->body_cut = m->frep_body_cut;
	am_buf_init(&m->frep_body, AM_FREPORT_BODY_MAX);
	if (j->mailfrom == NULL || j->authres == NULL || j->reporter == NULL ||
	    j->sender == NULL || j->command == NULL) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* is_own - a message from our own report sender (no reports on reports) */
static int
is_own(const struct am_msg *m)
{
	const struct am_config	*cfg = m->conn->cfg;
	const char		*at;

	if (m->mailfrom == NULL || *m->mailfrom == '\0')
		return 0;
	if (cfg->failure_reports_sent_by != NULL)
		return strcasecmp(m->mailfrom, cfg->failure_reports_sent_by) == 0;
	at = strchr(m->mailfrom, '@');
	return at != NULL && strncasecmp(m->mailfrom, "postmaster@", 11) == 0 &&
	    strcasecmp(at + 1, cfg->authserv_id) == 0;
}

/* note_drop - count a drop; one log line a minute at most.  fq.lock held */
static void
note_drop(const char *why)
{
	time_t	 now = time(NULL);

	inc(&n_dropped);
	fq.drops_unlogged++;
	if (now - fq.drop_logged < AM_FREPORT_DROP_LOG_SECS)
		return;
	am_log_warn(NULL, "failure reports: %lu dropped (%s) since the last "
	    "such line", fq.drops_unlogged, why);
	fq.drops_unlogged = 0;
	fq.drop_logged = now;
}

/* enqueue - the rate limit, then the queue; fq.lock held.  1: queued */
static int
enqueue(struct job *j, const struct am_config *cfg)
{
	int	 rc;

	if (!fq.started || fq.stopping) {
		note_drop(fq.stopping ? "daemon stopping" :
		    "sender not running");
		return 0;
	}
	rc = am_freport_rate_take(&fq.rate, j->res.dmarc.policy_domain,
	    (long)time(NULL), cfg->failure_reports_per_hour,
	    cfg->failure_reports_per_domain);
	if (rc != AM_FREPORT_RATE_OK) {
		inc(&n_suppressed);
		am_log_debug(j->qid, "failure report for %s not sent: %s rate "
		    "limit", j->res.dmarc.policy_domain,
		    rc == AM_FREPORT_RATE_DOMAIN ? "per-domain" : "global");
		return 0;
	}
	if (fq.n >= cfg->failure_reports_queue || fq.n >= AM_FREPORT_QUEUE_MAX) {
		note_drop("queue full");
		return 0;
	}
	fq.q[(fq.head + fq.n++) % AM_FREPORT_QUEUE_MAX] = j;
	pthread_cond_signal(&fq.cond);
	return 1;
}

/* am_freport_offer - see freport.h */
void
am_freport_offer(struct am_msg *m, const struct am_outcome *o)
{
	enum am_freport_kind	 k;
	struct job		*j;
	int			 queued;

	if (!m->conn->cfg->failure_reports || o->exempt != NULL ||
	    o->verdict.action == AM_ACT_TEMPFAIL)	/* retried: counted then */
		return;
	if ((k = am_freport_decide(o->res)) == AM_FREPORT_NONE || is_own(m))
		return;
	if ((j = job_new(m, o, k)) == NULL) {
		pthread_mutex_lock(&fq.lock);
		note_drop("out of memory");
		pthread_mutex_unlock(&fq.lock);
		return;
	}
	pthread_mutex_lock(&fq.lock);
	queued = enqueue(j, m->conn->cfg);
	pthread_mutex_unlock(&fq.lock);
	if (!queued)
		job_free(j);
}

/* token - 16 random hex digits (Message-ID, MIME boundary) */
static void
token(char *out, size_t len)
{
	unsigned char	 r[8];
	size_t		 i;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		struct timespec	 ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(r, &ts.tv_nsec, sizeof(r) < sizeof(ts.tv_nsec) ?
		    sizeof(r) : sizeof(ts.tv_nsec));
	}
	out[0] = '\0';
	for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/* spf_record - the v=spf1 TXT of domain for SPF-DNS; malloc'd or NULL */
static char *
spf_record(const char *domain)
{
	char	**txt = NULL, *rec = NULL;
	size_t	 ntxt = 0, i;

	if (am_dns_txt(fq.dns, NULL, domain, &txt, &ntxt) != AM_DNS_OK)
		return NULL;
	for (i = 0; i < ntxt && rec == NULL; i++)
		if (strncasecmp(txt[i], "v=spf1", 6) == 0 &&
		    (txt[i][6] == ' ' || txt[i][6] == '\0'))
			rec = strdup(txt[i]);
	am_dns_txt_free(txt, ntxt);
	return rec;
}

/* mono_ms - CLOCK_MONOTONIC milliseconds */
static long
mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * cut - a submission's deadline, brought forward to the end of the flush
 * once a stop began (a command under way then is not waited for longer)
 */
static long
cut(long deadline)
{
	long	 s = __atomic_load_n(&stop_ms, __ATOMIC_SEQ_CST);

	return s != 0 && s < deadline ? s : deadline;
}

/* write_all - the report into the command's stdin, by deadline; 0 or -1 */
static int
write_all(int fd, const char *p, size_t len, long deadline)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	ssize_t		 n;
	long		 left;
	int		 rc;

	while (len > 0) {
		if ((left = cut(deadline) - mono_ms()) <= 0)
			return -1;
		/* in slices, so that a stop shortens the wait (cut) */
		rc = poll(&pfd, 1, left > 100 ? 100 : (int)left);
		if (rc == 0 || (rc == -1 && errno == EINTR))
			continue;
		if (rc == -1)
			return -1;
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* reap - the command's exit status by deadline, else kill it; -1 if killed */
static int
reap(pid_t pid, long deadline)
{
	int			 st;
	struct timespec		 nap = { 0, 20 * 1000 * 1000 };

	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (mono_ms() >= cut(deadline)) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
				;
			return -1;
		}
		nanosleep(&nap, NULL);
	}
	return st;
}

/*
 * submit - "command -oi -f sender to" with the report on stdin (the MTA
 * signs and queues it).  0 when it exits 0 in time; else -1 and why.
 */
static int
submit(const struct job *j, const char *to, const struct am_buf *mail,
    long deadline, const char **why)
{
	char *const		 argv[] = { j->command, "-oi", "-f", j->sender,
	    (char *)to, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 sa;
	sigset_t		 none, dfl;
	int			 p[2], rc, st;
	pid_t			 pid;

	*why = "cannot start the command";
	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	/* the daemon's sockets are not the MTA's (glibc 2.34) */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* the command gets the signals the daemon blocks or ignores back */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	sigaddset(&dfl, SIGUSR1);
	posix_spawnattr_init(&sa);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setsigdefault(&sa, &dfl);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, j->command, &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (rc != 0) {
		close(p[1]);
		return -1;
	}
	(void)fcntl(p[1], F_SETFL, O_NONBLOCK);
	rc = write_all(p[1], mail->s, mail->len, deadline);
	close(p[1]);
	st = reap(pid, deadline);
	*why = st == -1 ? "timed out" : rc == -1 ? "write failed" :
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? "command failed" : NULL;
	return *why == NULL ? 0 : -1;
}

/* send_one - compose for one address and submit */
static void
send_one(const struct job *j, const char *to, const char *spf, long deadline)
{
	struct am_freport_in	 in;
	struct am_buf		 mail;
	char			 mid[AM_DOMAIN_MAX + 64], bnd[64], tok[20];
	char			 ua[64];
	const char		*why;

	token(tok, sizeof(tok));
	snprintf(mid, sizeof(mid), "<%s.%ld@%s>", tok, (long)time(NULL),
	    j->reporter);
	token(tok, sizeof(tok));
	snprintf(bnd, sizeof(bnd), "=_authmilter_%s", tok);
	snprintf(ua, sizeof(ua), "authmilter/%s", PACKAGE_VERSION);
	memset(&in, 0, sizeof(in));
	in.reporter = j->reporter;
	in.user_agent = ua;
	in.sender = j->sender;
	in.to = to;
	in.message_id = mid;
	in.boundary = bnd;
	in.arrival = j->arrival;
	in.source_ip = j->source_ip;
	in.mailfrom = j->mailfrom;
	in.kind = j->kind;
	in.action = j->action;
	in.res = &j->res;
	in.authres = j->authres;
	in.spf_record = spf;
	in.headers = am_buf_str(&j->hdrs);
	in.headers_cut = j->hdrs_cut;
	if (j->with_body) {
		in.body = j->body.s != NULL ? j->body.s : "";
		in.body_len = j->body.len;
		in.body_cut = j->body_cut;
	}
	am_buf_init(&mail, REPORT_MAX);
	if (am_freport_compose(&in, &mail) == -1)
		why = "report too large";
	else if (submit(j, to, &mail, deadline, &why) == 0) {
		inc(&n_sent);
		am_log_info(j->qid, "failure report (%s) for %s sent to %s",
		    am_freport_kind_str(j->kind), j->res.dmarc.policy_domain, to);
		am_buf_clear(&mail);
		return;
	}
	inc(&n_failed);
	am_log_warn(j->qid, "failure report for %s to %s failed: %s (%s)",
	    j->res.dmarc.policy_domain, to, why, j->command);
	am_buf_clear(&mail);
}

/*
 * destinations - the ruf= addresses that may receive this report (RFC
 * 9991 5, RFC 9990 4), an override replacing its address; into out
 */
static void
destinations(const struct job *j, struct am_report_uris *out)
{
	const struct am_dmarc_res	*d = &j->res.dmarc;
	struct am_report_uris		 ruf, ov;
	const char			*org = d->org_domain[0] ? d->org_domain :
	    d->policy_domain;
	enum am_report_dest		 v;
	size_t				 i, k;
	int				 rc;

	memset(out, 0, sizeof(*out));
	am_report_uri_parse(d->pub.ruf, &ruf);
	for (i = 0; i < ruf.n; i++) {
		v = am_report_dest_check(fq.dns, d->policy_domain, org,
		    &ruf.a[i], "ruf", &ov, &rc);
		if (v == AM_REPORT_DEST_NOT_AUTHORIZED ||
		    v == AM_REPORT_DEST_TEMPERROR || rc == -1) {
			v == AM_REPORT_DEST_TEMPERROR ? inc(&n_failed) :
			    inc(&n_suppressed);
			am_log_info(j->qid, "failure report for %s not sent to "
			    "%s: destination %s", d->policy_domain,
			    ruf.a[i].addr, rc == -1 ? "override refused" :
			    am_report_dest_name(v));
			continue;
		}
		if (rc == 1)		/* step 9: same host, its own addresses */
			for (k = 0; k < ov.n && out->n < AM_REPORT_URI_MAX; k++)
				out->a[out->n++] = ov.a[k];
		else if (out->n < AM_REPORT_URI_MAX)
			out->a[out->n++] = ruf.a[i];
	}
}

/* process - one job: destinations, then one submission each */
static void
process(struct job *j, long deadline)
{
	struct am_report_uris	 to;
	char			*spf = NULL;
	size_t			 i, k;

	destinations(j, &to);
	if (to.n == 0)
		return;
	if (!j->res.dmarc.spf_aligned && j->res.spf_mailfrom.checked &&
	    j->res.spf_mailfrom.domain[0] != '\0')
		spf = spf_record(j->res.spf_mailfrom.domain);
	for (i = 0; i < to.n; i++) {
		for (k = 0; k < i && strcmp(to.a[k].addr, to.a[i].addr); k++)
			;
		if (k == i)		/* an override may repeat an address */
			send_one(j, to.a[i].addr, spf, deadline);
	}
	free(spf);
}

/* next - wait for a job; NULL when the thread should end.  Takes fq.lock */
static struct job *
next(long *deadline)
{
	struct job	*j = NULL;

	pthread_mutex_lock(&fq.lock);
	while (fq.n == 0 && !fq.stopping)
		pthread_cond_wait(&fq.cond, &fq.lock);
	if (fq.n > 0 && (!fq.stopping || mono_ms() < cut(LONG_MAX))) {
		j = fq.q[fq.head];
		fq.head = (fq.head + 1) % AM_FREPORT_QUEUE_MAX;
		fq.n--;
	}
	*deadline = mono_ms() + AM_FREPORT_SEND_SECS * 1000L;
	pthread_mutex_unlock(&fq.lock);
	return j;
}

/* sender - the thread */
static void *
sender(void *arg)
{
	struct job	*j;
	long		 deadline;

	(void)arg;
	while ((j = next(&deadline)) != NULL) {
		process(j, deadline);
		job_free(j);
	}
	return NULL;
}

/* am_freport_start - see freport.h */
int
am_freport_start(struct am_dns *dns, char *err, size_t errlen)
{
	int	 rc;

	pthread_mutex_lock(&fq.lock);
	fq.dns = dns;
	rc = pthread_create(&fq.thread, NULL, sender, NULL);
	fq.started = rc == 0;
	pthread_mutex_unlock(&fq.lock);
	if (rc != 0) {
		snprintf(err, errlen, "failure reports: pthread_create: %s",
		    strerror(rc));
		return -1;
	}
	return 0;
}

/* am_freport_stop - see freport.h */
void
am_freport_stop(void)
{
	size_t	 left;

	pthread_mutex_lock(&fq.lock);
	if (!fq.started || fq.stopping) {
		pthread_mutex_unlock(&fq.lock);
		return;
	}
	fq.stopping = 1;
	__atomic_store_n(&stop_ms, mono_ms() + AM_FREPORT_STOP_SECS * 1000L,
	    __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&fq.cond);
	pthread_mutex_unlock(&fq.lock);
	pthread_join(fq.thread, NULL);
	/* the thread gave up at the deadline: abandon the rest (late
	   offers from stuck sessions see stopping and queue nothing) */
	pthread_mutex_lock(&fq.lock);
	for (left = 0; fq.n > 0; left++) {
		job_free(fq.q[fq.head]);
		fq.head = (fq.head + 1) % AM_FREPORT_QUEUE_MAX;
		fq.n--;
		inc(&n_dropped);
	}
	pthread_mutex_unlock(&fq.lock);
	if (left > 0)
		am_log_warn(NULL, "failure reports: %zu abandoned at stop "
		    "(%d s to flush)", left, AM_FREPORT_STOP_SECS);
}

/* am_freport_counts - see freport.h */
void
am_freport_counts(struct am_freport_counts *c)
{
	pthread_mutex_lock(&fq.lock);
	c->queued = fq.n;
	pthread_mutex_unlock(&fq.lock);
	c->sent = __atomic_load_n(&n_sent, __ATOMIC_RELAXED);
	c->failed = __atomic_load_n(&n_failed, __ATOMIC_RELAXED);
	c->suppressed = __atomic_load_n(&n_suppressed, __ATOMIC_RELAXED);
	c->dropped = __atomic_load_n(&n_dropped, __ATOMIC_RELAXED);
}
