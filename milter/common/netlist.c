/*
 * netlist.c - lists of IPv4/IPv6 networks (CIDR).
 *
 * An entry is an address family, the network address with the host bits
 * cleared, and a prefix length.  IPv4 entries are stored as 4 bytes; an
 * IPv4-mapped IPv6 entry (::ffff:a.b.c.d/96+n) is stored as the IPv4 entry
 * a.b.c.d/n, and an IPv4-mapped IPv6 address is matched as IPv4, so both
 * spellings of a v4 client hit the same entries.  Lookup is a linear scan:
 * IgnoreHosts lists are short.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/netlist.h"
#include "common/readfile.h"

#define ENTRY_MAX	(INET6_ADDRSTRLEN + 8)	/* "[addr]/128" */

struct net {
	int		 family;	/* AF_INET or AF_INET6 */
	unsigned int	 prefix;	/* 0..32 or 0..128 */
	uint8_t		 addr[16];	/* network, host bits zero */
};

struct am_netlist {
	struct net	*nets;
	size_t		 n;
	size_t		 size;
};

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* am_netlist_new - empty list */
struct am_netlist *
am_netlist_new(void)
{
	return calloc(1, sizeof(struct am_netlist));
}

/* am_netlist_free - release the list */
void
am_netlist_free(struct am_netlist *nl)
{
	if (nl == NULL)
		return;
	free(nl->nets);
	free(nl);
}

/* mask_bits - clear every bit of addr past the first prefix bits */
static void
mask_bits(uint8_t *addr, size_t len, unsigned int prefix)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (prefix >= 8)
			prefix -= 8;
		else {
			addr[i] &= (uint8_t)(0xff00 >> prefix);
			prefix = 0;
		}
	}
}

/* prefix_eq - do a and b agree on their first prefix bits? */
static int
prefix_eq(const uint8_t *a, const uint8_t *b, unsigned int prefix)
{
	unsigned int	 bytes = prefix / 8, rest = prefix % 8;
	uint8_t		 m;

	if (memcmp(a, b, bytes) != 0)
		return 0;
	if (rest == 0)
		return 1;
	m = (uint8_t)(0xff00 >> rest);
	return (a[bytes] & m) == (b[bytes] & m);
}

/* parse_prefix - decimal prefix length <= max; -1 if malformed */
static int
parse_prefix(const char *s, unsigned int max, unsigned int *out)
{
	unsigned int	 v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s))
			return -1;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* unbracket - "[addr]/n", "[addr/n]" or "addr/n" into addr and prefix text */
static int
unbracket(const char *entry, char *buf, size_t buflen, const char **plen)
{
	size_t	 len = strlen(entry);
	char	*slash, *close;

	if (len == 0 || len >= buflen)
		return -1;
	memcpy(buf, entry, len + 1);
	if (buf[0] == '[') {
		if ((close = strchr(buf, ']')) == NULL)
			return -1;
		if (close[1] != '\0' && close[1] != '/')
			return -1;
		memmove(close, close + 1, strlen(close + 1) + 1);
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
	}
	*plen = NULL;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash = '\0';
		*plen = slash + 1;
	}
	return 0;
}

/* parse_net - one entry into *n; NULL or a problem description */
static const char *
parse_net(const char *entry, struct net *n)
{
	char		 buf[ENTRY_MAX];
	const char	*plen;

	memset(n, 0, sizeof(*n));
	if (unbracket(entry, buf, sizeof(buf), &plen) == -1)
		return "bad address";
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = AF_INET;
		n->prefix = 32;
	} else if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = AF_INET6;
		n->prefix = 128;
	} else
		return "bad address";
	if (plen != NULL &&
	    parse_prefix(plen, n->prefix, &n->prefix) == -1)
		return "bad prefix length";
	if (n->family == AF_INET6 && n->prefix >= 96 &&
	    memcmp(n->addr, v4mapped, sizeof(v4mapped)) == 0) {
		/* ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n */
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->family = AF_INET;
		n->prefix -= 96;
	}
	mask_bits(n->addr, sizeof(n->addr), n->prefix);
	return NULL;
}

/* push - append one parsed entry; -1 on ENOMEM */
static int
push(struct am_netlist *nl, const struct net *n)
{
	struct net	*p;
	size_t		 nsize;

	if (nl->n == nl->size) {
		nsize = nl->size ? nl->size * 2 : 8;
		if ((p = reallocarray(nl->nets, nsize, sizeof(*p))) == NULL)
			return -1;
		nl->nets = p;
		nl->size = nsize;
	}
	nl->nets[nl->n++] = *n;
	return 0;
}

/* am_netlist_add - add one CIDR entry */
int
am_netlist_add(struct am_netlist *nl, const char *entry, char *err,
    size_t errlen)
{
	struct net	 n;
	const char	*why;

	if ((why = parse_net(entry, &n)) != NULL) {
		snprintf(err, errlen, "\"%s\": %s", entry, why);
		return -1;
	}
	if (push(nl, &n) == -1) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* is_sep - entry separator in lists: comma or white space */
static int
is_sep(char c)
{
	return c == ',' || isspace((unsigned char)c);
}

/* am_netlist_add_list - add comma/white space separated entries */
int
am_netlist_add_list(struct am_netlist *nl, const char *list, char *err,
    size_t errlen)
{
	char		 word[ENTRY_MAX + 1];
	const char	*p = list, *start;
	size_t		 len;

	for (;;) {
		while (is_sep(*p))
			p++;
		if (*p == '\0')
			return 0;
		for (start = p; *p != '\0' && !is_sep(*p); p++)
			;
		len = (size_t)(p - start);
		if (len >= sizeof(word))
			len = sizeof(word) - 1;	/* too long: will not parse */
		memcpy(word, start, len);
		word[len] = '\0';
		if (am_netlist_add(nl, word, err, errlen) == -1)
			return -1;
	}
}

/* add_line - the entries of one line of a file, '#' comment removed */
static int
add_line(struct am_netlist *nl, char *line, int nul, char *why,
    size_t whylen)
{
	char	*hash;

	if (nul) {
		snprintf(why, whylen, "NUL byte");
		return -1;
	}
	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	return am_netlist_add_list(nl, line, why, whylen);
}

/* am_netlist_add_file - add every entry of a file */
int
am_netlist_add_file(struct am_netlist *nl, const char *path, char *err,
    size_t errlen)
{
	char	*buf, *pos, *line, why[256];
	size_t	 len, lineno = 0;
	int	 nul, rc = 0;

	if (am_readfile(path, AM_NETLIST_FILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	pos = buf;
	while (rc == 0 &&
	    (line = am_readfile_line(&pos, buf + len, &nul)) != NULL) {
		lineno++;
		if ((rc = add_line(nl, line, nul, why, sizeof(why))) == -1)
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
	}
	free(buf);
	return rc;
}

/* match_raw - is the address (family, bytes) inside any entry? */
static int
match_raw(const struct am_netlist *nl, int family, const uint8_t *addr)
{
	size_t	 i;

	for (i = 0; i < nl->n; i++) {
		if (nl->nets[i].family != family)
			continue;
		if (prefix_eq(nl->nets[i].addr, addr, nl->nets[i].prefix))
			return 1;
	}
	return 0;
}

/* match_v6 - IPv6 address; IPv4-mapped ones match IPv4 entries too */
static int
match_v6(const struct am_netlist *nl, const uint8_t *a)
{
	if (memcmp(a, v4mapped, sizeof(v4mapped)) == 0 &&
	    match_raw(nl, AF_INET, a + 12))
		return 1;
	return match_raw(nl, AF_INET6, a);
}

/* am_netlist_match - 1 if the socket address is listed */
int
am_netlist_match(const struct am_netlist *nl, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin;
	const struct sockaddr_in6	*sin6;

	if (nl == NULL || sa == NULL)
		return 0;
	switch (sa->sa_family) {
	case AF_INET:
		sin = (const struct sockaddr_in *)(const void *)sa;
		return match_raw(nl, AF_INET,
		    (const uint8_t *)&sin->sin_addr);
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return match_v6(nl, sin6->sin6_addr.s6_addr);
	default:
		return 0;
	}
}

/* am_netlist_addr - an IPv4 or IPv6 address in text into a sockaddr */
int
am_netlist_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	ss->ss_family = AF_UNSPEC;
	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/* am_netlist_match_str - 1 if the textual address is listed */
int
am_netlist_match_str(const struct am_netlist *nl, const char *addr)
{
	struct sockaddr_storage	 ss;

	if (am_netlist_addr(addr, &ss) == -1)
		return 0;
	return am_netlist_match(nl, (const struct sockaddr *)&ss);
}

/* am_netlist_count - number of entries */
size_t
am_netlist_count(const struct am_netlist *nl)
{
	return nl != NULL ? nl->n : 0;
}
