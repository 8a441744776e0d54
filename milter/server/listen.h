/*
 * listen.h - the listening socket from a milter socket spec (parsed by
 * common/sockspec.h; no host: every address of the family).
 * Used by engine.c once at start-up; no threads, no global state.
 */
#ifndef AM_LISTEN_H
#define AM_LISTEN_H

#include <stddef.h>

/*
 * am_listen_open - bind and listen; returns the descriptor (close-on-exec,
 * blocking) and, for a unix socket, its path in *unix_path (malloc'd, the
 * caller frees; NULL otherwise).  A socket file nobody answers on is
 * removed first; one that answers is "in use".  TCP sockets get
 * TCP_NODELAY (inherited by accepted connections).  -1 with err filled.
 */
int	am_listen_open(const char *spec, char **unix_path, char *err,
	    size_t errlen);

/*
 * am_listen_unix_clear - make way for a unix socket at path, as
 * am_listen_open does before it binds (for an engine that binds itself,
 * lmengine.c): a socket file nobody answers on is removed; a live one, or
 * a file that is not a socket, is -1 with err filled.  0: path is free.
 */
int	am_listen_unix_clear(const char *path, char *err, size_t errlen);

#endif /* AM_LISTEN_H */
