/*
 * arc.h - ARC chain validation (RFC 8617 section 5.2) of one message:
 * structure of the ARC sets, the newest ARC-Message-Signature verified as
 * a DKIM signature (its own canonicalization; body hash computed in the
 * one streaming pass over the body), every ARC-Seal from the newest down
 * to i=1 over its sets (relaxed, 5.1.1), keys from DNS through dns/ and
 * the DKIM key cache (dkim_keycache.h).  Verification only, no sealing.
 *
 * Limits (README "Limits"): AM_ARC_SETS_MAX sets (more: fail, 4.2.1),
 * AM_ARC_FIELD_MAX bytes of one ARC header field (longer: fail),
 * AM_ARC_KEYS_MAX key look-ups per chain (counted in the DNS budget
 * session.c arms; the newest AMS and the seals are checked first, so a
 * chain whose verdict needs more keys is fail, and an older AMS past the
 * limit is not checked for oldest-pass), AM_ARC_BODY_MAX body hashes
 * (older AMS that need another one are not checked for oldest-pass).
 *
 * struct am_arc is one message, used by one thread; the struct am_dns is
 * borrowed.  Results go into the caller's struct am_arc_res.
 */
#ifndef AM_ARC_H
#define AM_ARC_H

#include <stddef.h>

#include "common/results.h"

#define AM_ARC_FIELD_MAX	(16 * 1024)	/* one ARC header field value */
#define AM_ARC_KEYS_MAX		16		/* distinct keys (DNS look-ups) per chain */
#define AM_ARC_BODY_MAX		4		/* distinct body hashes per message */

struct am_dns;
struct am_dns_budget;
struct am_arc;

/* a verifier for one message; NULL on ENOMEM */
struct am_arc	*am_arc_new(unsigned int min_key_bits);
void		 am_arc_free(struct am_arc *);		/* NULL is fine */

/*
 * One header field, name and value as the message has it (leading
 * whitespace and folds kept).  0, or -1 on ENOMEM (then the result is
 * fail "out of memory" for a message with ARC sets).
 */
int	am_arc_header(struct am_arc *, const char *name, const char *value);
/* end of headers: the sets are parsed and checked, body hashes set up */
void	am_arc_eoh(struct am_arc *);
void	am_arc_body(struct am_arc *, const unsigned char *, size_t);
/* any ARC header field seen (a chain to verify at EOM) */
int	am_arc_present(const struct am_arc *);

/*
 * End of message: the chain result into *out (none, pass, fail with a
 * reason; sealers and AAR passes of the newest AM_ARC_KEEP sets).  Key
 * look-ups count against b (dns.h); a key of the newest AMS or of a seal
 * not found or not fetched is a fail, as ARC has no temperror result (RFC
 * 8617 4.4, 5.2); header.oldest-pass only on a pass, and never claiming
 * that an AMS whose key was not had failed.
 */
void	am_arc_eom(struct am_arc *, struct am_dns *, struct am_dns_budget *b,
	    struct am_arc_res *out);

/*
 * The limit of header fields kept: past it (or after am_arc_limit) a
 * message with ARC sets is fail "not verified: why".
 */
void	am_arc_limit(struct am_arc *, const char *why);

#endif /* AM_ARC_H */
