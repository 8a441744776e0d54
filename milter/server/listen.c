/*
 * listen.c - bind the milter socket.  See listen.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "server/listen.h"

/* prefix_of - the rest of s after pfx (case-insensitive), or NULL */
static const char *
prefix_of(const char *s, const char *pfx)
{
	size_t	 n = strlen(pfx);

	return strncasecmp(s, pfx, n) == 0 ? s + n : NULL;
}

/* am_listen_kind - see listen.h */
enum am_listen_kind
am_listen_kind(const char *spec, const char **rest)
{
	if ((*rest = prefix_of(spec, "unix:")) != NULL ||
	    (*rest = prefix_of(spec, "local:")) != NULL)
		return AM_LISTEN_UNIX;
	if ((*rest = prefix_of(spec, "inet:")) != NULL)
		return AM_LISTEN_INET;
	if ((*rest = prefix_of(spec, "inet6:")) != NULL)
		return AM_LISTEN_INET6;
	*rest = NULL;
	return AM_LISTEN_BAD;
}

/*
 * stale - may the file at path be removed?  Only a socket nobody answers
 * on: a regular file is not ours, a live socket is another daemon's.
 */
static int
stale(const char *path, const struct sockaddr_un *sun, char *err,
    size_t errlen)
{
	struct stat	 sb;
	int		 fd, live;

	if (lstat(path, &sb) == -1)
		return 0;		/* none, or bind() will say why */
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		snprintf(err, errlen, "%s is in use by another process", path);
		return -1;
	}
	(void)unlink(path);
	return 0;
}

/* open_unix - a unix stream socket at path */
static int
open_unix(const char *path, char **unix_path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "bad socket path %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (stale(path, &sun, err, errlen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((*unix_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(fd);
		(void)unlink(path);
		return -1;
	}
	return fd;
}

/* bind_one - socket, options, bind and listen for one address */
static int
bind_one(const struct addrinfo *ai)
{
	int	 fd, on = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd == -1)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	/*
	 * The reply after a header change at end of message would otherwise
	 * wait for the MTA's delayed ACK (40 ms per message, measured)
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		int	 e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* open_inet - port[@host] for family */
static int
open_inet(const char *rest, int family, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 port[16], hbuf[256];
	const char	*at = strchr(rest, '@'), *host = NULL;
	size_t		 hl;
	size_t		 plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	int		 fd = -1, e = EADDRNOTAVAIL, r;

	if (plen == 0 || plen >= sizeof(port)) {
		snprintf(err, errlen, "bad port in %s", rest);
		return -1;
	}
	memcpy(port, rest, plen);
	port[plen] = '\0';
	if (at != NULL && at[1] != '\0')
		host = at + 1;
	/* an address may come in brackets: inet6:8895@[::1] */
	if (host != NULL && host[0] == '[' && (hl = strlen(host)) > 2 &&
	    hl - 2 < sizeof(hbuf) && host[hl - 1] == ']') {
		memcpy(hbuf, host + 1, hl - 2);
		hbuf[hl - 2] = '\0';
		host = hbuf;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", rest, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = bind_one(ai)) == -1)
			e = errno;
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "%s: %s", rest, strerror(e));
	return fd;
}

/* am_listen_open - see listen.h */
int
am_listen_open(const char *spec, char **unix_path, char *err, size_t errlen)
{
	const char	*rest;

	*unix_path = NULL;
	switch (am_listen_kind(spec, &rest)) {
	case AM_LISTEN_UNIX:
		return open_unix(rest, unix_path, err, errlen);
	case AM_LISTEN_INET:
		return open_inet(rest, AF_INET, err, errlen);
	case AM_LISTEN_INET6:
		return open_inet(rest, AF_INET6, err, errlen);
	case AM_LISTEN_BAD:
	default:
		snprintf(err, errlen, "bad socket %s", spec);
		return -1;
	}
}
