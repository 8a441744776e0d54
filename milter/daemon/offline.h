/*
 * offline.h - the offline checker (authmilter -t FILE): one message file
 * through the same pipeline the milter runs (session.c), with the same
 * configuration and resolver, without an MTA.
 *
 * Prints our Authentication-Results header, the action with its SMTP reply
 * if any, and the summary log line.  Not thread-safe (main() only).
 */
#ifndef AM_OFFLINE_H
#define AM_OFFLINE_H

#include <stdio.h>

struct am_env;
struct am_config;

struct am_offline_opts {
	const char	*file;		/* message file; "-" = standard input */
	const char	*ip;		/* client address (default 127.0.0.1) */
	const char	*helo;		/* HELO name (default: none) */
	const char	*mailfrom;	/* MAIL FROM (default <>) */
	const char	*auth;		/* SMTP AUTH user, or NULL */
};

/*
 * Run the checks and print the outcome to out.  Returns 0, or a
 * sysexits(3) code with the problem on stderr (EX_USAGE bad address,
 * EX_NOINPUT unreadable file, EX_DATAERR no header section,
 * EX_SOFTWARE out of memory).
 */
int	am_offline_check(const struct am_env *, struct am_config *,
	    const struct am_offline_opts *, FILE *out);

#endif /* AM_OFFLINE_H */
