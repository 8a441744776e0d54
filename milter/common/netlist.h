/*
 * netlist.h - lists of IPv4/IPv6 networks (CIDR) for IgnoreHosts and
 * allow-lists.
 *
 * Pure: no I/O but am_netlist_add_file.  A list is built at config load and
 * is read-only afterwards, so any number of threads may call
 * am_netlist_match on it at once.
 */
#ifndef AM_NETLIST_H
#define AM_NETLIST_H

#include <stddef.h>
#include <sys/socket.h>

struct am_netlist;

struct am_netlist *am_netlist_new(void);		/* NULL on ENOMEM */
void		 am_netlist_free(struct am_netlist *);	/* NULL is fine */

/*
 * Add one entry: "192.0.2.1", "192.0.2.0/24", "2001:db8::/32", "::1",
 * optionally in [brackets].  Host bits beyond the prefix are ignored (masked).
 * Returns 0, or -1 with a message in err ("bad prefix length", ...).
 */
int	am_netlist_add(struct am_netlist *, const char *entry, char *err, size_t errlen);

/*
 * Add a comma/whitespace separated list of entries.  Returns 0 or -1 with the
 * first bad entry named in err.
 */
int	am_netlist_add_list(struct am_netlist *, const char *list, char *err, size_t errlen);

/*
 * Largest IgnoreHosts file read.  Lookup is a linear scan per connection,
 * so a useful list is short; 1 MiB is some 60,000 entries and stops a
 * runaway file or a device (/dev/zero) from filling memory.
 */
#define AM_NETLIST_FILE_MAX	(1024 * 1024)

/*
 * Add every entry of a file: one or more per line, '#' comments, blank lines.
 * The file must be a regular file of at most AM_NETLIST_FILE_MAX bytes
 * without NUL bytes.  Returns 0, or -1 with "path:line: problem" or
 * "path: problem" (cannot read it, not a regular file, too large) in err.
 */
int	am_netlist_add_file(struct am_netlist *, const char *path, char *err, size_t errlen);

/* 1 if the address (AF_INET or AF_INET6; IPv4-mapped IPv6 matches IPv4 entries) is listed */
int	am_netlist_match(const struct am_netlist *, const struct sockaddr *);
/* the same for an address in text form; 0 for unparsable text */
int	am_netlist_match_str(const struct am_netlist *, const char *addr);

/*
 * An IPv4 or IPv6 address in text ("192.0.2.1", "2001:db8::1") into *ss
 * (port 0): for input that arrives as text (authmilter -t -i).  Returns 0,
 * or -1 (and ss_family AF_UNSPEC) if it is not one.
 */
int	am_netlist_addr(const char *text, struct sockaddr_storage *ss);
size_t	am_netlist_count(const struct am_netlist *);

#endif /* AM_NETLIST_H */
