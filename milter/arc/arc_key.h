/*
 * arc_key.h - the keys of ARC signatures (RFC 8617 4.1.2, 4.1.3: DKIM key
 * records, RFC 6376 3.6.1, at <s>._domainkey.<d>) and signature checks
 * with OpenSSL: rsa-sha256 (RFC 6376 3.3.1) and ed25519-sha256 (RFC
 * 8463).  RSA keys are decoded through d2i_PUBKEY_bio(), which the DKIM
 * key cache interposes (dkim_keycache.h): a key seen before is not decoded
 * again.  Thread-safe; private to arc/.
 */
#ifndef AM_ARC_KEY_H
#define AM_ARC_KEY_H

#include <stddef.h>

#include <openssl/evp.h>

struct am_dns;
struct am_dns_budget;

enum am_arc_alg {
	AM_ARC_ALG_BAD = 0,
	AM_ARC_ALG_RSA_SHA256,
	AM_ARC_ALG_ED25519_SHA256
};

/* a= value -> algorithm (RFC 8617 allows rsa-sha256; RFC 8463 ed25519) */
enum am_arc_alg	am_arc_alg(const char *a);

/*
 * am_arc_b64 - RFC 6376 base64 (FWS already removed) into out; -1 if
 * malformed or too long, else the decoded length
 */
long	am_arc_b64(const char *in, unsigned char *out, size_t outlen);

/*
 * am_arc_key_parse - one key record (RFC 6376 3.6.1) for alg: v=DKIM1
 * first if present, k= matching, h= allowing sha256, s= email or *, p=
 * not empty (revoked), an RSA key of at least min_bits.  A new EVP_PKEY in
 * *out and NULL, or the reason it is unusable (static text).
 */
const char	*am_arc_key_parse(const char *rec, enum am_arc_alg alg,
		    unsigned int min_bits, EVP_PKEY **out);

/*
 * am_arc_key_fetch - look up and parse <s>._domainkey.<d> (one TXT
 * record); as am_arc_key_parse.  *temp set when the look-up failed
 * temporarily (DNS budget, timeout, SERVFAIL).
 */
const char	*am_arc_key_fetch(struct am_dns *, struct am_dns_budget *b,
		    const char *d, const char *s, enum am_arc_alg alg,
		    unsigned int min_bits, EVP_PKEY **out, int *temp);

/* am_arc_sig_ok - 1 if sig is alg's signature of data under key, else 0 */
int	am_arc_sig_ok(EVP_PKEY *key, enum am_arc_alg alg, const char *data,
	    size_t n, const unsigned char *sig, size_t slen);

#endif /* AM_ARC_KEY_H */
