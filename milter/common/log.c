/*
 * log.c - logging to syslog and stderr.
 *
 * Every line is "QID: message".  On stderr it is preceded by a local
 * timestamp, the ident and the level name.  Control characters in the
 * message (which may quote header text) are replaced by '?' so one call
 * is one line.  Until am_log_open is called, messages go to stderr, so
 * start-up problems (a bad config file) are never lost.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define LOG_LINE_MAX	2048

/* process-wide state: see daemon/daemon.h */
static int		 log_syslog;			/* send to syslog(3) */
static int		 log_stderr = 1;		/* copy to stderr */
static int		 log_level = AM_LOG_INFO;	/* atomic */
static const char	*log_ident = "authmilter";

static const char *const level_names[] = {
	"err", "warning", "info", "debug"
};

static const int level_prio[] = {
	LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG
};

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* am_log_open - choose the destinations; once, before threads start */
void
am_log_open(const char *ident, int use_syslog, int facility, int to_stderr)
{
	if (ident != NULL)
		log_ident = ident;
	log_syslog = use_syslog;
	log_stderr = to_stderr;
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, facility);
}

/* am_log_set_level - drop messages less severe than level */
void
am_log_set_level(enum am_log_level level)
{
	__atomic_store_n(&log_level, (int)level, __ATOMIC_RELAXED);
}

/* am_log_enabled - would a message of this level be written? */
int
am_log_enabled(enum am_log_level level)
{
	return (int)level <= __atomic_load_n(&log_level, __ATOMIC_RELAXED);
}

/* sanitize - replace control characters so a message stays one line */
static void
sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* to_stderr - one timestamped line on stderr */
static void
to_stderr(enum am_log_level level, const char *qid, const char *msg)
{
	char		 ts[32];
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		ts[0] = '\0';
	fprintf(stderr, "%s %s[%ld]: %s: %s: %s\n", ts, log_ident,
	    (long)getpid(), level_names[level], qid, msg);
}

/* am_log - write "qid: message" if the level is enabled */
void
am_log(enum am_log_level level, const char *qid, const char *fmt, ...)
{
	char	 msg[LOG_LINE_MAX];
	va_list	 ap;

	if ((int)level < AM_LOG_ERR || level > AM_LOG_DEBUG)
		level = AM_LOG_ERR;
	if (!am_log_enabled(level))
		return;
	if (qid == NULL || *qid == '\0')
		qid = "NOQUEUE";
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
	va_end(ap);
	sanitize(msg);
	if (log_syslog)
		syslog(level_prio[level], "%s: %s", qid, msg);
	if (log_stderr)
		to_stderr(level, qid, msg);
}

/* am_log_level_parse - level name to enum am_log_level; -1 if unknown */
int
am_log_level_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* am_log_level_str - enum am_log_level to its config name */
const char *
am_log_level_str(enum am_log_level level)
{
	if ((int)level < AM_LOG_ERR || level > AM_LOG_DEBUG)
		return "unknown";
	return level_names[level];
}

/* am_log_facility_parse - syslog facility name to LOG_*; -1 if unknown */
int
am_log_facility_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcasecmp(s, facilities[i].name) == 0)
			return facilities[i].facility;
	return -1;
}
