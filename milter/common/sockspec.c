/*
 * sockspec.c - parse unix:, local:, inet: and inet6: socket specs.  See
 * sockspec.h.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "common/sockspec.h"

#define PORT_DIGITS	7	/* more is junk, even with leading zeros */

/* prefix_of - the rest of s after pfx (case-insensitive), or NULL */
static const char *
prefix_of(const char *s, const char *pfx)
{
	size_t	 n = strlen(pfx);

	return strncasecmp(s, pfx, n) == 0 ? s + n : NULL;
}

/* kind_of - which kind of spec, and what follows its prefix in *rest */
static enum am_sockspec_kind
kind_of(const char *spec, const char **rest)
{
	if ((*rest = prefix_of(spec, "unix:")) != NULL ||
	    (*rest = prefix_of(spec, "local:")) != NULL)
		return AM_SOCKSPEC_UNIX;
	if ((*rest = prefix_of(spec, "inet:")) != NULL)
		return AM_SOCKSPEC_INET;
	if ((*rest = prefix_of(spec, "inet6:")) != NULL)
		return AM_SOCKSPEC_INET6;
	return AM_SOCKSPEC_BAD;
}

/* parse_path - an absolute path that fits a sockaddr_un */
static const char *
parse_path(const char *s, struct am_sockspec *out)
{
	if (s[0] != '/')
		return "socket path must be absolute";
	if (strlen(s) >= sizeof(out->path))
		return "socket path too long";
	memcpy(out->path, s, strlen(s) + 1);
	return NULL;
}

/* parse_port - strict decimal 1 .. 65535 in s[0 .. len) */
static const char *
parse_port(const char *s, size_t len, unsigned int *port)
{
	unsigned int	 v = 0;
	size_t		 i;

	if (len == 0 || len > PORT_DIGITS)
		return "bad port (1 to 65535)";
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return "bad port (1 to 65535)";
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return "bad port (1 to 65535)";
	*port = v;
	return NULL;
}

/* is_hostname - letters, digits, '-' and '.', no empty label */
static int
is_hostname(const char *s)
{
	size_t	 len = strlen(s), i;

	if (len == 0 || len > AM_SOCKSPEC_HOST_MAX || s[0] == '.' ||
	    s[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
			return 0;
		if (s[i] == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* parse_host - an address of out->family (maybe in brackets) or a name */
static const char *
parse_host(const char *s, struct am_sockspec *out)
{
	unsigned char	 addr[sizeof(struct in6_addr)];
	size_t		 len = strlen(s);
	int		 bracketed = len >= 2 && s[0] == '[' && s[len - 1] == ']';

	if (bracketed) {
		s++;
		len -= 2;
	}
	if (len > AM_SOCKSPEC_HOST_MAX)
		return "bad host";
	memcpy(out->host, s, len);
	out->host[len] = '\0';
	out->host_is_addr = inet_pton(out->family, out->host, addr) == 1;
	if (bracketed && !out->host_is_addr)
		return "bad address";
	if (!out->host_is_addr && !is_hostname(out->host))
		return "bad host";
	return NULL;
}

/* parse_inet - port[@host] */
static const char *
parse_inet(const char *s, struct am_sockspec *out)
{
	const char	*at = strchr(s, '@'), *why;

	why = parse_port(s, at != NULL ? (size_t)(at - s) : strlen(s),
	    &out->port);
	if (why != NULL || at == NULL)
		return why;
	return parse_host(at + 1, out);
}

/* am_sockspec_parse - see sockspec.h */
const char *
am_sockspec_parse(const char *spec, struct am_sockspec *out)
{
	const char	*rest;

	memset(out, 0, sizeof(*out));
	switch ((out->kind = kind_of(spec, &rest))) {
	case AM_SOCKSPEC_UNIX:
		out->family = AF_UNIX;
		return parse_path(rest, out);
	case AM_SOCKSPEC_INET:
		out->family = AF_INET;
		return parse_inet(rest, out);
	case AM_SOCKSPEC_INET6:
		out->family = AF_INET6;
		return parse_inet(rest, out);
	case AM_SOCKSPEC_BAD:
	default:
		return "expected unix:/path, local:/path, inet:port@host or "
		    "inet6:port@host";
	}
}
