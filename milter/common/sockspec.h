/*
 * sockspec.h - the one parser of socket specs, written as libmilter and
 * the MTAs write them:
 *   unix:/path, local:/path    a unix stream socket; the path absolute
 *   inet:port[@host]           IPv4
 *   inet6:port[@host]          IPv6
 * Prefixes are case-insensitive.  port is decimal, 1 to 65535.  host is
 * an address of the family, in brackets or not ("inet6:8895@[::1]"), or
 * a host name (letters, digits, '-', '.'); in brackets it must be an
 * address.  "port@" with nothing after it is an error, not "no host".
 *
 * An absent host means, by user of the spec (the one place this is said):
 *   - Socket (the milter listener, server/listen.c): every address of
 *     the family, as libmilter does;
 *   - MetricsSocket (daemon/metrics_http.c): loopback, 127.0.0.1 or ::1.
 *     They differ on purpose: the MTA may sit on another host, while the
 *     metrics have no authentication and are never exposed by default.
 *     The MetricsSocket host must also be an address (host_is_addr): it is
 *     bound without a resolver.
 *
 * Pure: no I/O, no allocation, no global state; thread-safe.
 */
#ifndef AM_SOCKSPEC_H
#define AM_SOCKSPEC_H

#include <sys/types.h>
#include <sys/un.h>

#define AM_SOCKSPEC_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)
#define AM_SOCKSPEC_HOST_MAX	253	/* a domain name, RFC 1035 2.3.4 */

enum am_sockspec_kind {
	AM_SOCKSPEC_BAD = 0,	/* no known prefix */
	AM_SOCKSPEC_UNIX,	/* unix:/path or local:/path */
	AM_SOCKSPEC_INET,	/* inet:port[@host] */
	AM_SOCKSPEC_INET6	/* inet6:port[@host] */
};

struct am_sockspec {
	enum am_sockspec_kind	 kind;
	char			 path[AM_SOCKSPEC_PATH_MAX];	/* unix */
	unsigned int		 port;		/* inet, inet6: 1 .. 65535 */
	char			 host[AM_SOCKSPEC_HOST_MAX + 1];	/* "": none */
	int			 host_is_addr;	/* an address of the family */
	int			 family;	/* AF_UNIX, AF_INET or AF_INET6 */
};

/*
 * am_sockspec_parse - fill *out from spec.  Returns NULL, or the problem
 * as a static text ("bad port (1 to 65535)", ...).  out->kind is set as
 * soon as the prefix is known, also when the rest is bad.
 */
const char	*am_sockspec_parse(const char *spec, struct am_sockspec *out);

#endif /* AM_SOCKSPEC_H */
