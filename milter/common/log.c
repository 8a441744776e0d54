/*
 * log.c - logging to one destination: syslog, stderr or a file (log.h).
 *
 * A message line is "QID: message", a daemon line "message".  On stderr
 * and in a file it is preceded by a local timestamp, the ident and the
 * level name; on stderr under systemd (JOURNAL_STREAM names our stderr)
 * by "<N>" instead, the priority journald reads (sd-daemon(3)).  Control
 * characters in the message (which may quote header text) are replaced by
 * '?' so one call is one line, written with one write(2).  Until
 * am_log_open is called, lines go to stderr, so start-up problems (a bad
 * config file) are never lost.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

#define LOG_LINE_MAX	2048			/* one message, formatted */
#define LOG_OUT_MAX	(2 * LOG_LINE_MAX + 512)	/* with prefix or JSON escapes */

/* process-wide state: see daemon/daemon.h */
static enum am_log_dest	 log_dest = AM_LOG_TO_STDERR;
static int		 log_fd = STDERR_FILENO;	/* stderr or the file */
static int		 log_json;
static int		 log_journal;		/* stderr is systemd's journal */
static int		 log_level = AM_LOG_INFO;	/* atomic */
static const char	*log_ident = "authmilter";
static char		 log_path[PATH_MAX];

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

/* syslog_errno - 0 if something answers at _PATH_LOG, else why not */
static int
syslog_errno(void)
{
	struct sockaddr_un	 sun;
	static const int	 types[] = { SOCK_DGRAM, SOCK_STREAM };
	size_t			 i;
	int			 fd, e = ENOENT;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", _PATH_LOG);
	/* glibc's syslog(3) tries a datagram socket, then a stream one */
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if ((fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0)) == -1)
			return errno;
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(fd);
			return 0;
		}
		e = errno;
		close(fd);
	}
	return e;
}

/* stderr_is_journal - JOURNAL_STREAM is "dev:ino" of our stderr */
static int
stderr_is_journal(void)
{
	const char	*js = getenv("JOURNAL_STREAM");
	struct stat	 sb;
	char		 want[64];

	if (js == NULL || fstat(STDERR_FILENO, &sb) == -1)
		return 0;
	snprintf(want, sizeof(want), "%lu:%lu", (unsigned long)sb.st_dev,
	    (unsigned long)sb.st_ino);
	return strcmp(js, want) == 0;
}

/* open_file - the log file for appending; fd or -1 */
static int
open_file(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
	    0640);
}

/* am_log_open - choose the destination; once, before threads start */
int
am_log_open(const struct am_log_opts *o, char *err, size_t errlen)
{
	int	 fd, e;

	if (o->ident != NULL)
		log_ident = o->ident;
	log_json = o->json;
	log_dest = o->dest;
	switch (o->dest) {
	case AM_LOG_TO_SYSLOG:
		openlog(log_ident, LOG_PID | LOG_NDELAY, o->facility);
		if ((e = syslog_errno()) != 0)
			fprintf(stderr, "%s: warning: syslog is not reachable "
			    "(%s: %s): log lines will be lost; set "
			    "LogDestination stderr or file:PATH\n", log_ident,
			    _PATH_LOG, strerror(e));
		return 0;
	case AM_LOG_TO_FILE:
		if (o->path == NULL || (fd = open_file(o->path)) == -1) {
			snprintf(err, errlen, "log file %s: %s",
			    o->path ? o->path : "(none)", strerror(errno));
			log_dest = AM_LOG_TO_STDERR;
			return -1;
		}
		snprintf(log_path, sizeof(log_path), "%s", o->path);
		log_fd = fd;
		return 0;
	case AM_LOG_TO_NONE:
		return 0;
	case AM_LOG_TO_STDERR:
	default:
		log_dest = AM_LOG_TO_STDERR;
		log_fd = STDERR_FILENO;
		log_journal = stderr_is_journal();
		return 0;
	}
}

/*
 * am_log_reopen - a new file at the same path (logrotate moved the old
 * one); nothing when the path still names our file.  dup2 swaps it in under the same descriptor, so a thread writing
 * meanwhile writes to the old file or the new one, never to a closed fd.
 */
int
am_log_reopen(char *err, size_t errlen)
{
	struct stat	 now, cur;
	int		 fd;

	if (log_dest != AM_LOG_TO_FILE)
		return 0;
	/* not moved: keep it (after UserID it may not be ours to open) */
	if (stat(log_path, &now) == 0 && fstat(log_fd, &cur) == 0 &&
	    now.st_dev == cur.st_dev && now.st_ino == cur.st_ino)
		return 0;
	if ((fd = open_file(log_path)) == -1) {
		snprintf(err, errlen, "log file %s: %s", log_path,
		    strerror(errno));
		return -1;
	}
	if (dup2(fd, log_fd) == -1) {
		snprintf(err, errlen, "log file %s: dup2: %s", log_path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
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

/* am_log_json_str - JSON string contents (RFC 8259 section 7) */
size_t
am_log_json_str(const char *s, char *out, size_t outlen)
{
	size_t		 o = 0;
	unsigned char	 c;
	char		 esc[8];
	size_t		 n;

	if (outlen == 0)
		return 0;
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		if (c == '"' || c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else {
			esc[0] = c >= 0x80 ? '?' : (char)c;
			esc[1] = '\0';
			n = 1;
		}
		if (o + n >= outlen)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
	return o;
}

/* add - append text to out (at *o), bounded; the NUL kept */
static void
add(char *out, size_t *o, const char *s)
{
	size_t	 n = strlen(s);

	if (*o + n >= LOG_OUT_MAX)
		n = LOG_OUT_MAX - 1 - *o;
	memcpy(out + *o, s, n);
	*o += n;
	out[*o] = '\0';
}

/* add_json - append "key":"value" (with a leading comma) */
static void
add_json(char *out, size_t *o, const char *key, const char *val)
{
	char	 k[128], v[LOG_LINE_MAX * 2];

	am_log_json_str(key, k, sizeof(k));
	am_log_json_str(val, v, sizeof(v));
	add(out, o, ",\"");
	add(out, o, k);
	add(out, o, "\":\"");
	add(out, o, v);
	add(out, o, "\"");
}

/* json_fields - the members of a key=value line (log.h am_log_fields) */
static void
json_fields(char *out, size_t *o, char *f)
{
	char	*key, *val, *end;

	while (*f != '\0') {
		while (*f == ' ')
			f++;
		key = f;
		if ((f = strchr(f, '=')) == NULL)
			return;
		*f++ = '\0';
		if (*f == '"') {
			val = ++f;
			end = strchr(f, '"');
		} else {
			val = f;
			end = strchr(f, ' ');
		}
		f = end != NULL ? end + 1 : val + strlen(val);
		if (end != NULL)
			*end = '\0';
		add_json(out, o, key, val);
	}
}

/* timestamp - local time for stderr and files; ISO 8601 UTC for JSON */
static void
timestamp(char *ts, size_t len)
{
	struct tm	 tm;
	time_t		 now = time(NULL);

	if (log_json) {
		if (gmtime_r(&now, &tm) == NULL ||
		    strftime(ts, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			ts[0] = '\0';
		return;
	}
	if (localtime_r(&now, &tm) == NULL ||
	    strftime(ts, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		ts[0] = '\0';
}

/* render_json - one JSON object; msg is a message or (fields) key=values */
static void
render_json(char *out, enum am_log_level level, const char *qid, char *msg,
    int fields)
{
	char	 ts[40], pid[32];
	size_t	 o = 0;

	timestamp(ts, sizeof(ts));
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	out[0] = '\0';
	add(out, &o, "{\"ts\":\"");
	add(out, &o, ts);
	add(out, &o, "\"");
	add_json(out, &o, "ident", log_ident);
	add(out, &o, ",\"pid\":");
	add(out, &o, pid);
	add_json(out, &o, "level", level_names[level]);
	if (qid != NULL)
		add_json(out, &o, "qid", qid);
	if (fields)
		json_fields(out, &o, msg);
	else
		add_json(out, &o, "msg", msg);
	/* a line cut short still closes its object: it must parse */
	if (o + 2 >= LOG_OUT_MAX)
		o = LOG_OUT_MAX - 3;
	out[o++] = '}';
	out[o] = '\0';
}

/* render_text - "qid: msg" or "msg" */
static void
render_text(char *out, const char *qid, const char *msg)
{
	if (qid != NULL)
		snprintf(out, LOG_OUT_MAX, "%s: %s", qid, msg);
	else
		snprintf(out, LOG_OUT_MAX, "%s", msg);
}

/* emit - the rendered line to the destination */
static void
emit(enum am_log_level level, const char *line)
{
	char	 buf[LOG_OUT_MAX + 128], ts[40];
	int	 n;

	if (log_dest == AM_LOG_TO_NONE)
		return;
	if (log_dest == AM_LOG_TO_SYSLOG) {
		syslog(level_prio[level], "%s", line);
		return;
	}
	if (log_journal)
		n = snprintf(buf, sizeof(buf), "<%d>%s\n", level_prio[level],
		    line);
	else if (log_json)
		n = snprintf(buf, sizeof(buf), "%s\n", line);
	else {
		timestamp(ts, sizeof(ts));
		n = snprintf(buf, sizeof(buf), "%s %s[%ld]: %s: %s\n", ts,
		    log_ident, (long)getpid(), level_names[level], line);
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf)) {
		n = (int)sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	/* one write per line: lines of two threads never interleave */
	(void)!write(log_fd, buf, (size_t)n);
}

/* output - render and write one sanitized message */
static void
output(enum am_log_level level, const char *qid, char *msg, int fields)
{
	char	 line[LOG_OUT_MAX];

	if (qid != NULL && *qid == '\0')
		qid = NULL;
	sanitize(msg);
	if (log_json)
		render_json(line, level, qid, msg, fields);
	else
		render_text(line, qid, msg);
	emit(level, line);
}

/* am_log - write "qid: message" (or "message") if the level is enabled */
void
am_log(enum am_log_level level, const char *qid, const char *fmt, ...)
{
	char	 msg[LOG_LINE_MAX];
	va_list	 ap;

	if ((int)level < AM_LOG_ERR || level > AM_LOG_DEBUG)
		level = AM_LOG_ERR;
	if (!am_log_enabled(level))
		return;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		snprintf(msg, sizeof(msg), "(unformattable message: %s)", fmt);
	va_end(ap);
	output(level, qid, msg, 0);
}

/* am_log_fields - a key=value line; members of the object in JSON */
void
am_log_fields(enum am_log_level level, const char *qid, const char *fields)
{
	char	 msg[LOG_LINE_MAX];

	if ((int)level < AM_LOG_ERR || level > AM_LOG_DEBUG)
		level = AM_LOG_ERR;
	if (!am_log_enabled(level))
		return;
	snprintf(msg, sizeof(msg), "%s", fields);
	output(level, qid, msg, 1);
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

/* am_log_dest_parse - LogDestination value; a file needs an absolute path */
int
am_log_dest_parse(const char *s, const char **path)
{
	*path = NULL;
	if (strcasecmp(s, "syslog") == 0)
		return AM_LOG_TO_SYSLOG;
	if (strcasecmp(s, "stderr") == 0)
		return AM_LOG_TO_STDERR;
	if (strncasecmp(s, "file:", 5) == 0 && s[5] == '/' &&
	    strlen(s + 5) < PATH_MAX) {
		*path = s + 5;
		return AM_LOG_TO_FILE;
	}
	return -1;
}
