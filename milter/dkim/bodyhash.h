/*
 * bodyhash.h - the body hash of a DKIM signature (RFC 6376 3.7) or of an
 * ARC message signature (RFC 8617 4.1.2): the body canonicalized (3.4.3
 * simple, 3.4.4 relaxed) while it goes by (am_bodyhash_update per chunk),
 * cut at l=, into a running digest: the message body is never stored or
 * read twice.  Canonicalized in runs of content, not byte by byte (see
 * bodyhash.c).  Thread-safe (no shared state); a struct am_bodyhash
 * belongs to one message.
 */
#ifndef AM_BODYHASH_H
#define AM_BODYHASH_H

#include <stddef.h>

#include <openssl/evp.h>

/* one body hash: canonicalization, digest, l= */
struct am_bodyhash {
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
int	am_bodyhash_init(struct am_bodyhash *, int relaxed, const EVP_MD *md,
	    long long limit);
void	am_bodyhash_update(struct am_bodyhash *, const unsigned char *, size_t);
/* the digest into out (EVP_MAX_MD_SIZE bytes), its length; 0 or -1 */
int	am_bodyhash_final(struct am_bodyhash *, unsigned char *out,
	    unsigned int *len);
void	am_bodyhash_free(struct am_bodyhash *);		/* after init only */

#endif /* AM_BODYHASH_H */
