/*
 * bodylen.h - the length of a message body after DKIM body
 * canonicalization (RFC 6376 3.4.3 simple, 3.4.4 relaxed), counted while
 * the body streams by, without keeping it.
 *
 * dkim.c uses it to tell whether an l= limit covers the whole canonical
 * body (RFC 6376 8.2: content appended past l= is vouched for by nobody),
 * without mistaking trailing blank lines or whitespace, which
 * canonicalization drops, for appended content.  Pure; one per message.
 */
#ifndef AM_BODYLEN_H
#define AM_BODYLEN_H

#include <stddef.h>

struct am_bodylen_canon {
	size_t	 len;		/* committed canonical bytes */
	size_t	 line;		/* canonical bytes of the current line */
	size_t	 empty;		/* empty lines held back (dropped if last) */
	int	 wsp;		/* relaxed: a WSP run is pending */
};

struct am_bodylen {
	int			 cr;	/* a CR is pending (CRLF or a stray CR?) */
	struct am_bodylen_canon	 simple;
	struct am_bodylen_canon	 relaxed;
};

void	am_bodylen_init(struct am_bodylen *);
void	am_bodylen_feed(struct am_bodylen *, const unsigned char *, size_t);
size_t	am_bodylen_simple(const struct am_bodylen *);	/* >= 2: an empty body is CRLF */
size_t	am_bodylen_relaxed(const struct am_bodylen *);	/* 0 for an empty body */

#endif /* AM_BODYLEN_H */
