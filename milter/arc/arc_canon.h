/*
 * arc_canon.h - DKIM canonicalization (RFC 6376 3.4) as ARC uses it (RFC
 * 8617 5.1.1: AMS with its c=, ARC-Seal always relaxed): header fields into
 * a buffer, the body streamed into a running hash.
 *
 * The body hash is computed while the body goes by (am_arc_body_update per
 * chunk): the message body is never stored or read twice.  Thread-safe (no
 * shared state); a struct am_arc_body belongs to one message.
 */
#ifndef AM_ARC_CANON_H
#define AM_ARC_CANON_H

#include <stddef.h>

#include <openssl/evp.h>

struct am_buf;

/*
 * am_arc_canon_header - append one header field, canonicalized: relaxed
 * (RFC 6376 3.4.2: lower-case name, unfolded, WSP runs as one SP, no WSP
 * around the colon or at the end) or simple (3.4.1: as is, bare LF as
 * CRLF).  crlf: end it with CRLF (every field but the signature's own).
 */
void	am_arc_canon_header(struct am_buf *b, const char *name,
	    const char *value, int relaxed, int crlf);

/* one body hash: canonicalization, digest, l= */
struct am_arc_body {
	int		 relaxed;
	const EVP_MD	*md;
	long long	 limit;		/* l=, or -1 for the whole body */
	EVP_MD_CTX	*ctx;
	unsigned long long done;	/* canonical bytes hashed */
	unsigned long	 ncrlf;		/* line ends not yet hashed (trailing
					   empty lines are dropped: 3.4.3, 3.4.4) */
	int		 sp;		/* relaxed: a WSP run is pending */
	int		 cr;		/* a CR ended the last chunk */
	int		 any;		/* some content hashed */
};

/* 0, or -1 on ENOMEM (nothing to free then) */
int	am_arc_body_init(struct am_arc_body *, int relaxed, const EVP_MD *md,
	    long long limit);
void	am_arc_body_update(struct am_arc_body *, const unsigned char *, size_t);
/* the digest into out (EVP_MAX_MD_SIZE bytes), its length; 0 or -1 */
int	am_arc_body_final(struct am_arc_body *, unsigned char *out,
	    unsigned int *len);
void	am_arc_body_free(struct am_arc_body *);		/* after init only */

#endif /* AM_ARC_CANON_H */
