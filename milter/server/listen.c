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
#include <unistd.h>

#include "common/sockspec.h"
#include "server/listen.h"

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

/* am_listen_unix_clear - see listen.h */
int
am_listen_unix_clear(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	return stale(path, &sun, err, errlen);
}

/* open_unix - a unix stream socket at path (absolute, fits: sockspec.h) */
static int
open_unix(const char *path, char **unix_path, char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
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

/*
 * open_inet - a TCP listener for ss; no host: every address of the
 * family (sockspec.h), as libmilter
 */
static int
open_inet(const struct am_sockspec *ss, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 port[8];
	int		 fd = -1, e = EADDRNOTAVAIL, r;

	snprintf(port, sizeof(port), "%u", ss->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ss->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((r = getaddrinfo(ss->host[0] != '\0' ? ss->host : NULL, port,
	    &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", ss->host, gai_strerror(r));
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		if ((fd = bind_one(ai)) == -1)
			e = errno;
	freeaddrinfo(res);
	if (fd == -1)
		snprintf(err, errlen, "%s", strerror(e));
	return fd;
}

/* am_listen_open - see listen.h */
int
am_listen_open(const char *spec, char **unix_path, char *err, size_t errlen)
{
	struct am_sockspec	 ss;
	const char		*why;

	*unix_path = NULL;
	if ((why = am_sockspec_parse(spec, &ss)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (ss.kind == AM_SOCKSPEC_UNIX)
		return open_unix(ss.path, unix_path, err, errlen);
	return open_inet(&ss, err, errlen);
}
