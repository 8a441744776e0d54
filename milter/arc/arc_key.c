/*
 * arc_key.c - key records and signature checks for ARC (arc_key.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "arc/arc_key.h"
#include "common/fmt.h"
#include "arc/arc_parse.h"
#include "dns/dns.h"

#define KEY_RAW_MAX	2048	/* decoded p= (an 8192-bit RSA key is ~1100) */

/* am_arc_alg - see arc_key.h */
enum am_arc_alg
am_arc_alg(const char *a)
{
	if (strcmp(a, "rsa-sha256") == 0)
		return AM_ARC_ALG_RSA_SHA256;
	if (strcmp(a, "ed25519-sha256") == 0)
		return AM_ARC_ALG_ED25519_SHA256;
	return AM_ARC_ALG_BAD;
}

/* am_arc_b64 - see arc_key.h */
long
am_arc_b64(const char *in, unsigned char *out, size_t outlen)
{
	size_t	 n = strlen(in), pad = 0;
	int	 len;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > outlen)
		return -1;
	if (in[n - 1] == '=')
		pad++;
	if (in[n - 2] == '=')
		pad++;
	if (strcspn(in, "=") < n - pad)		/* '=' only at the end */
		return -1;
	if ((len = EVP_DecodeBlock(out, (const unsigned char *)in,
	    (int)n)) < 0)
		return -1;
	return (long)len - (long)pad;
}

/* list_has - a colon-separated tag value lists word (or "*") */
static int
list_has(const char *list, const char *word)
{
	char		 buf[256], *tok, *save = NULL;

	am_fmt(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ":", &save); tok != NULL;
	    tok = strtok_r(NULL, ":", &save))
		if (strcmp(tok, word) == 0 || strcmp(tok, "*") == 0)
			return 1;
	return 0;
}

/* tag_ok - an optional tag absent, or listing word */
static int
tag_ok(const struct am_arc_tags *tl, const char *name, const char *word)
{
	const struct am_arc_tag	*t = am_arc_tag(tl, name);
	char			 v[256];

	if (t == NULL)
		return 1;
	if (am_arc_tag_copy(t, 1, v, sizeof(v)) == -1)
		return 0;
	return list_has(v, word);
}

/* decode_key - p= bytes into an EVP_PKEY of alg */
static const char *
decode_key(const unsigned char *raw, long n, enum am_arc_alg alg,
    unsigned int min_bits, EVP_PKEY **out)
{
	BIO	*bio;

	if (alg == AM_ARC_ALG_ED25519_SHA256) {
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
		    (size_t)n);
		return *out ? NULL : "bad ed25519 key";
	}
	if ((bio = BIO_new_mem_buf(raw, (int)n)) == NULL)
		return "out of memory";
	*out = d2i_PUBKEY_bio(bio, NULL);	/* the DKIM key cache */
	BIO_free(bio);
	if (*out == NULL)
		return "bad key";
	if (EVP_PKEY_get_base_id(*out) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(*out) < (int)min_bits) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return "RSA key too short or not RSA";
	}
	return NULL;
}

/* am_arc_key_parse - see arc_key.h */
const char *
am_arc_key_parse(const char *rec, enum am_arc_alg alg, unsigned int min_bits,
    EVP_PKEY **out)
{
	struct am_arc_tags	 tl;
	const struct am_arc_tag	*p, *v;
	char			 b64[KEY_RAW_MAX * 2], v1[16];
	unsigned char		 raw[KEY_RAW_MAX];
	long			 n;

	*out = NULL;
	if (am_arc_tags_parse(rec, &tl) == -1)
		return "key record malformed";
	/* RFC 6376 3.6.1: v= if present is first and DKIM1 */
	if ((v = am_arc_tag(&tl, "v")) != NULL && (v != &tl.t[0] ||
	    am_arc_tag_copy(v, 1, v1, sizeof(v1)) == -1 ||
	    strcmp(v1, "DKIM1") != 0))
		return "key record version";
	if (!tag_ok(&tl, "k", alg == AM_ARC_ALG_RSA_SHA256 ? "rsa" : "ed25519") ||
	    (am_arc_tag(&tl, "k") == NULL && alg != AM_ARC_ALG_RSA_SHA256))
		return "key type does not match a=";
	if (!tag_ok(&tl, "h", "sha256") || !tag_ok(&tl, "s", "email"))
		return "key not for this use (h= or s=)";
	if ((p = am_arc_tag(&tl, "p")) == NULL)
		return "key record without p=";
	if (am_arc_tag_copy(p, 1, b64, sizeof(b64)) == -1)
		return "key too long";
	if (b64[0] == '\0')
		return "key revoked";
	if ((n = am_arc_b64(b64, raw, sizeof(raw))) <= 0)
		return "key not base64";
	return decode_key(raw, n, alg, min_bits, out);
}

/* am_arc_key_fetch - see arc_key.h */
const char *
am_arc_key_fetch(struct am_dns *dns, struct am_dns_budget *b, const char *d,
    const char *s, enum am_arc_alg alg, unsigned int min_bits,
    EVP_PKEY **out, int *temp)
{
	char			 name[AM_DNS_TEMP_NAME_MAX], **txt;
	size_t			 ntxt;
	enum am_dns_status	 st;
	const char		*why;

	*out = NULL;
	*temp = 0;
	if ((size_t)am_fmt(name, sizeof(name), "%s._domainkey.%s", s, d) >=
	    sizeof(name))
		return "key name too long";
	st = am_dns_txt(dns, b, name, &txt, &ntxt);
	if (st == AM_DNS_TEMP) {
		*temp = 1;
		return "key look-up failed (temporary)";
	}
	if (st != AM_DNS_OK)
		return "no key";
	/* RFC 6376 3.6.2.2: several records make the key ambiguous */
	why = ntxt == 1 ? am_arc_key_parse(txt[0], alg, min_bits, out) :
	    "several key records";
	am_dns_txt_free(txt, ntxt);
	return why;
}

/* am_arc_sig_ok - see arc_key.h */
int
am_arc_sig_ok(EVP_PKEY *key, enum am_arc_alg alg, const char *data, size_t n,
    const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 h[32];
	int		 ok = 0;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return 0;
	if (alg == AM_ARC_ALG_RSA_SHA256) {
		ok = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
		    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
		    key) == 1 && EVP_DigestVerify(ctx, sig, slen,
		    (const unsigned char *)data, n) == 1;
	} else if (alg == AM_ARC_ALG_ED25519_SHA256) {
		/* RFC 8463 3: Ed25519 over the SHA-256 hash of the input */
		ok = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 &&
		    EVP_Digest(data, n, h, NULL, EVP_sha256(), NULL) == 1 &&
		    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		    EVP_DigestVerify(ctx, sig, slen, h, sizeof(h)) == 1;
	}
	EVP_MD_CTX_free(ctx);
	return ok;
}
