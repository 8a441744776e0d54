/*
 * arc_int.h - what arc.c (sets, structure) and arc_verify.c (signatures)
 * share.  Private to arc/.
 */
#ifndef AM_ARC_INT_H
#define AM_ARC_INT_H

#include <openssl/evp.h>

#include "arc/arc.h"
#include "arc/arc_canon.h"
#include "dkim/bodyhash.h"
#include "arc/arc_parse.h"

enum { ARC_AS = 0, ARC_AMS = 1, ARC_AAR = 2, ARC_NOT = 3 };

struct arc_hdr {
	char			*name;
	char			*value;		/* as in the message */
	int			 kind;		/* ARC_* */
	struct am_arc_tags	*tags;		/* AS, AMS (else NULL): points into value */
};

struct arc_set {
	size_t		 idx[3];	/* 1 + index into hdr per ARC_*; 0: none */
};

#define SET_HDR(a, s, k)	(&(a)->hdr[(s)->idx[k] - 1])

struct arc_bodyhash {
	int		 relaxed;
	long long	 limit;
	struct am_bodyhash h;
	unsigned char	 digest[EVP_MAX_MD_SIZE];
	unsigned int	 len;
	int		 done;		/* digest final */
};

struct arc_key {
	char		 d[AM_DOMAIN_MAX + 1], s[64];
	int		 alg;
	EVP_PKEY	*pkey;		/* NULL: unusable, why says */
	const char	*why;
	int		 temp;		/* look-up failed temporarily */
};

struct am_arc {
	unsigned int	 min_key_bits;
	struct arc_hdr	*hdr;
	size_t		 nhdr, caphdr;
	int		 present;	/* some ARC field seen */
	int		 stopped;	/* no more headers kept */
	const char	*limit;		/* why stopped: "not verified: ..." */
	const char	*fail;		/* first structural problem */
	size_t		 narc;		/* ARC fields */
	unsigned int	 nsets;		/* N */
	struct arc_set	 set[AM_ARC_SETS_MAX];
	struct arc_bodyhash body[AM_ARC_BODY_MAX];
	size_t		 nbody;
	struct arc_key	 keys[AM_ARC_KEYS_MAX];
	size_t		 nkeys;
	struct am_dns	*dns;		/* borrowed at EOM */
	struct am_dns_budget *budget;
};

/* a tag's value, folding whitespace removed, into buf; "" if absent */
const char *am_arc_tagv(const struct arc_hdr *, const char *name, char *buf,
	    size_t len);
/* arc_verify.c: start the body hashes the AMS need (newest first) */
void	am_arc_body_setup(struct am_arc *);
/*
 * verify AMS i: 0 pass, -1 fail with why, 1 cannot tell (no body hash
 * kept for it, or its key not had: a temporary DNS failure or past
 * AM_ARC_KEYS_MAX; why says which).  For the newest AMS and the seals
 * anything but 0 is a failed chain (ARC has no temperror); for an older
 * AMS, 1 leaves header.oldest-pass unknown instead of claiming it failed.
 */
int	am_arc_verify_ams(struct am_arc *, unsigned int i, char *why, size_t len);
/* verify the ARC-Seal of instance i over sets 1..i: 0 pass, else as above */
int	am_arc_verify_seal(struct am_arc *, unsigned int i, char *why, size_t len);

#endif /* AM_ARC_INT_H */
