/*
 * log.h - logging to syslog and (in the foreground) stderr.
 *
 * am_log_open is called once at start-up, before threads; after that the
 * functions are thread-safe (syslog(3) and one fprintf per line).  Every
 * message line starts with the queue id ("NOQUEUE" when there is none).
 */
#ifndef AM_LOG_H
#define AM_LOG_H

enum am_log_level {
	AM_LOG_ERR = 0,
	AM_LOG_WARN,
	AM_LOG_INFO,
	AM_LOG_DEBUG
};

/* ident for syslog; use_syslog 0/1; to_stderr 0/1; facility LOG_MAIL etc. */
void	am_log_open(const char *ident, int use_syslog, int facility, int to_stderr);
void	am_log_set_level(enum am_log_level);
int	am_log_enabled(enum am_log_level);
void	am_log(enum am_log_level, const char *qid, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#define am_log_err(qid, ...)	am_log(AM_LOG_ERR, (qid), __VA_ARGS__)
#define am_log_warn(qid, ...)	am_log(AM_LOG_WARN, (qid), __VA_ARGS__)
#define am_log_info(qid, ...)	am_log(AM_LOG_INFO, (qid), __VA_ARGS__)
#define am_log_debug(qid, ...)	am_log(AM_LOG_DEBUG, (qid), __VA_ARGS__)

/* "err", "warning", "info", "debug" -> level; -1 if unknown */
int		 am_log_level_parse(const char *);
const char	*am_log_level_str(enum am_log_level);
/* "mail", "daemon", "local0".."local7", "user" -> LOG_*; -1 if unknown */
int		 am_log_facility_parse(const char *);

#endif /* AM_LOG_H */
