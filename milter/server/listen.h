/*
 * listen.h - the listening socket from a milter socket spec:
 * unix:/path or local:/path, inet:port[@host], inet6:port[@host]
 * (host a name or an address; none: every address of the family).
 * Used by engine.c once at start-up; no threads, no global state.
 */
#ifndef AM_LISTEN_H
#define AM_LISTEN_H

#include <stddef.h>

enum am_listen_kind {
	AM_LISTEN_BAD = 0,
	AM_LISTEN_UNIX,		/* unix:/path or local:/path */
	AM_LISTEN_INET,		/* inet:port[@host] */
	AM_LISTEN_INET6		/* inet6:port[@host] */
};

/*
 * am_listen_kind - which kind of spec, and what follows its prefix in
 * *rest (the path, or port[@host]); prefixes are case-insensitive.  The
 * one parser of the prefix for the config check, main() and the bind.
 */
enum am_listen_kind am_listen_kind(const char *spec, const char **rest);

/*
 * am_listen_open - bind and listen; returns the descriptor (close-on-exec,
 * blocking) and, for a unix socket, its path in *unix_path (malloc'd, the
 * caller frees; NULL otherwise).  A socket file nobody answers on is
 * removed first; one that answers is "in use".  TCP sockets get
 * TCP_NODELAY (inherited by accepted connections).  -1 with err filled.
 */
int	am_listen_open(const char *spec, char **unix_path, char *err,
	    size_t errlen);

#endif /* AM_LISTEN_H */
