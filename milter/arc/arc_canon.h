/*
 * arc_canon.h - DKIM header canonicalization (RFC 6376 3.4) as ARC uses it
 * (RFC 8617 5.1.1: AMS with its c=, ARC-Seal always relaxed): header
 * fields into a buffer.  The body hash: dkim/bodyhash.h.  Thread-safe (no
 * shared state).
 */
#ifndef AM_ARC_CANON_H
#define AM_ARC_CANON_H

#include <stddef.h>

struct am_buf;

/*
 * am_arc_canon_header - append one header field, canonicalized: relaxed
 * (RFC 6376 3.4.2: lower-case name, unfolded, WSP runs as one SP, no WSP
 * around the colon or at the end) or simple (3.4.1: as is, bare LF as
 * CRLF).  crlf: end it with CRLF (every field but the signature's own).
 */
void	am_arc_canon_header(struct am_buf *b, const char *name,
	    const char *value, int relaxed, int crlf);

#endif /* AM_ARC_CANON_H */
