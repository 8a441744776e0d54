/*
 * log.h - logging to one destination: syslog, stderr or a file.
 *
 * am_log_open is called once at start-up, before threads; after that the
 * functions are thread-safe (syslog(3), or one write(2) per line, so
 * lines of two threads never mix).  A line about a message starts with
 * its queue id ("QID: ..."); a daemon line (qid NULL) has no prefix, so
 * log tools never read it as a message (Postfix's "NOQUEUE:" means a
 * rejected client).
 *
 * Destinations (LogDestination): syslog (the ident "authmilter", the
 * configured facility), stderr (for systemd's journal: with
 * JOURNAL_STREAM naming our stderr each line carries its priority as
 * "<N>", sd-daemon(3), and no timestamp), or a file, appended to and
 * reopened by am_log_reopen (logrotate).  Formats (LogFormat): text, or
 * json: one JSON object per line.
 */
#ifndef AM_LOG_H
#define AM_LOG_H

#include <stddef.h>

enum am_log_level {
	AM_LOG_ERR = 0,
	AM_LOG_WARN,
	AM_LOG_INFO,
	AM_LOG_DEBUG
};

enum am_log_dest {
	AM_LOG_TO_SYSLOG = 0,
	AM_LOG_TO_STDERR,
	AM_LOG_TO_FILE,
	AM_LOG_TO_NONE			/* discard (fuzzers); not a config value */
};

struct am_log_opts {
	const char		*ident;		/* "authmilter" */
	enum am_log_dest	 dest;
	int			 facility;	/* LOG_MAIL etc., for syslog */
	const char		*path;		/* AM_LOG_TO_FILE: absolute path */
	int			 json;		/* LogFormat json */
};

/*
 * Choose the destination; once, before threads.  0, or -1 with the
 * problem in err (a file that cannot be opened; the destination is then
 * stderr).  For syslog, a socket at _PATH_LOG that does not answer is
 * reported on stderr as a warning (the lines would be lost), and 0 is
 * returned.  Until called, lines go to stderr.
 */
int	am_log_open(const struct am_log_opts *, char *err, size_t errlen);

/* reopen the file destination if its path names another file now (after
 * logrotate moved it); 0 or -1 (the old file kept) */
int	am_log_reopen(char *err, size_t errlen);

void	am_log_set_level(enum am_log_level);
int	am_log_enabled(enum am_log_level);
void	am_log(enum am_log_level, const char *qid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * A key=value line (the per-message summary): fields is a sequence of
 * key=token or key="text" separated by single spaces, where a token has
 * no space or '"' and a text no '"'.  In text format it is written as
 * is; in json format each pair becomes a member of the line's object.
 */
void	am_log_fields(enum am_log_level, const char *qid, const char *fields);

#define am_log_err(qid, ...)	am_log(AM_LOG_ERR, (qid), __VA_ARGS__)
#define am_log_warn(qid, ...)	am_log(AM_LOG_WARN, (qid), __VA_ARGS__)
#define am_log_info(qid, ...)	am_log(AM_LOG_INFO, (qid), __VA_ARGS__)
/* arguments are not even evaluated below debug: debug lines cost one load */
#define am_log_debug(qid, ...)	do {					\
		if (am_log_enabled(AM_LOG_DEBUG))			\
			am_log(AM_LOG_DEBUG, (qid), __VA_ARGS__);	\
	} while (0)

/* "err", "warning", "info", "debug" -> level; -1 if unknown */
int		 am_log_level_parse(const char *);
const char	*am_log_level_str(enum am_log_level);
/* "mail", "daemon", "local0".."local7", "user" -> LOG_*; -1 if unknown */
int		 am_log_facility_parse(const char *);
/* "syslog", "stderr", "file:/abs/path" -> dest (and *path, pointing into s); -1 */
int		 am_log_dest_parse(const char *s, const char **path);

/*
 * pure: a JSON string's contents for s (without the quotes) into out, at
 * most outlen bytes with the NUL; control characters as \u00XX, bytes
 * over 0x7f as '?' (the text may not be UTF-8: a line must always
 * parse).  Returns the length written; truncates before an escape.
 */
size_t		 am_log_json_str(const char *s, char *out, size_t outlen);

#endif /* AM_LOG_H */
