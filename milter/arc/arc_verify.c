/*
 * arc_verify.c - the signatures of an ARC chain (RFC 8617 5.1.1, 5.2):
 * ARC-Message-Signature as a DKIM signature (RFC 6376 3.7, its own c=),
 * ARC-Seal over the sets 1..i, relaxed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc/arc_int.h"
#include "arc/arc_key.h"
#include "common/buf.h"
#include "common/fmt.h"
#include "dns/dns.h"

#define HDR_INPUT_MAX	(2 * 1024 * 1024)	/* signed header data */
#define SIG_MAX		1024			/* decoded b= (8192-bit RSA) */
#define B64_MAX		(SIG_MAX * 2)

/* am_arc_tagv - see arc_int.h */
const char *
am_arc_tagv(const struct arc_hdr *h, const char *name, char *buf, size_t len)
{
	const struct am_arc_tag	*t = am_arc_tag(h->tags, name);

	if (t == NULL || am_arc_tag_copy(t, 1, buf, len) == -1)
		buf[0] = '\0';
	return buf;
}

/*
 * canon - c= "header[/body]" (RFC 6376 3.5); 0, or -1 if unknown.  No c=
 * is relaxed/relaxed, not DKIM's simple/simple: the ARC drafts the
 * ValiMail suite follows say so (its ams_fields_c_na passes), and so do
 * dkimpy and OpenARC, which made most chains in the wild.
 */
static int
canon(const struct arc_hdr *h, int *hdr_relaxed, int *body_relaxed)
{
	const struct am_arc_tag	*t = am_arc_tag(h->tags, "c");
	char			 c[40], *slash;

	*hdr_relaxed = *body_relaxed = 1;
	if (t == NULL)
		return 0;
	*hdr_relaxed = *body_relaxed = 0;
	if (am_arc_tag_copy(t, 1, c, sizeof(c)) == -1)
		return -1;
	if ((slash = strchr(c, '/')) != NULL)
		*slash++ = '\0';
	if (strcmp(c, "relaxed") == 0)
		*hdr_relaxed = 1;
	else if (strcmp(c, "simple") != 0)
		return -1;
	if (slash == NULL || strcmp(slash, "simple") == 0)
		return 0;
	if (strcmp(slash, "relaxed") != 0)
		return -1;
	*body_relaxed = 1;
	return 0;
}

/* length - l= (RFC 6376 3.5) or -1 if absent; -2 if malformed */
static long long
length(const struct arc_hdr *h)
{
	const struct am_arc_tag	*t = am_arc_tag(h->tags, "l");
	char			 v[24], *end;
	long long		 l;

	if (t == NULL)
		return -1;
	if (am_arc_tag_copy(t, 1, v, sizeof(v)) == -1 ||
	    !isdigit((unsigned char)v[0]))
		return -2;
	l = strtoll(v, &end, 10);
	return *end == '\0' && l >= 0 ? l : -2;
}

/* find_body - the body hash kept for (relaxed, limit), or NULL */
static struct arc_bodyhash *
find_body(struct am_arc *a, int relaxed, long long limit)
{
	size_t	 i;

	for (i = 0; i < a->nbody; i++)
		if (a->body[i].relaxed == relaxed && a->body[i].limit == limit)
			return &a->body[i];
	return NULL;
}

/* am_arc_body_setup - see arc_int.h; the newest AMS always gets one */
void
am_arc_body_setup(struct am_arc *a)
{
	struct arc_bodyhash	*bh;
	unsigned int		 i;
	long long		 l;
	int			 hr, br;

	for (i = a->nsets; i >= 1 && a->nbody < AM_ARC_BODY_MAX; i--) {
		const struct arc_hdr *ams = SET_HDR(a, &a->set[i - 1], ARC_AMS);

		if (canon(ams, &hr, &br) == -1 || (l = length(ams)) == -2 ||
		    find_body(a, br, l) != NULL)
			continue;
		bh = &a->body[a->nbody];
		if (am_bodyhash_init(&bh->h, br, EVP_sha256(), l) == -1)
			return;		/* ENOMEM: those AMS cannot pass */
		bh->relaxed = br;
		bh->limit = l;
		a->nbody++;
	}
}

/* body_digest - the finished body hash of a kept configuration */
static const struct arc_bodyhash *
body_digest(struct arc_bodyhash *bh)
{
	if (!bh->done && am_bodyhash_final(&bh->h, bh->digest, &bh->len) == 0)
		bh->done = 1;
	return bh->done ? bh : NULL;
}

/*
 * get_key - the key for (d, s, alg), fetched once per chain; *unknown set
 * when it is not had for a reason other than the key record itself (a
 * temporary failure, the per-chain limit)
 */
static EVP_PKEY *
get_key(struct am_arc *a, const char *d, const char *s, enum am_arc_alg alg,
    const char **why, int *unknown)
{
	struct arc_key	*k;
	size_t		 i;

	for (i = 0; i < a->nkeys; i++) {
		k = &a->keys[i];
		if (k->alg == (int)alg && strcasecmp(k->d, d) == 0 &&
		    strcmp(k->s, s) == 0) {
			*why = k->why;
			*unknown = k->temp;
			return k->pkey;
		}
	}
	if (a->nkeys == AM_ARC_KEYS_MAX) {
		*why = "too many keys in one chain";
		*unknown = 1;
		return NULL;
	}
	k = &a->keys[a->nkeys++];
	am_fmt(k->d, sizeof(k->d), "%s", d);
	am_fmt(k->s, sizeof(k->s), "%s", s);
	k->alg = (int)alg;
	k->why = am_arc_key_fetch(a->dns, a->budget, d, s, alg,
	    a->min_key_bits, &k->pkey, &k->temp);
	*why = k->why;
	*unknown = k->temp;
	return k->pkey;
}

/* without_b - the field value with b='s value removed (RFC 6376 3.7) */
static char *
without_b(const struct arc_hdr *h)
{
	const struct am_arc_tag	*t = am_arc_tag(h->tags, "b");
	size_t			 pre, n = strlen(h->value);
	char			*v;

	if (t == NULL || (v = malloc(n + 1)) == NULL)
		return NULL;
	pre = (size_t)(t->val - h->value);
	memcpy(v, h->value, pre);
	memcpy(v + pre, t->val + t->vlen, n - pre - t->vlen + 1);
	return v;
}

/*
 * sig_check - key for d=/s=, b= decoded, signature over data checked: 0,
 * -1, or 1 when the key was not had (arc_int.h)
 */
static int
sig_check(struct am_arc *a, const struct arc_hdr *h, enum am_arc_alg alg,
    const struct am_buf *data, const char *what, unsigned int i, char *why,
    size_t len)
{
	char		 d[AM_DOMAIN_MAX + 1], s[64], b64[B64_MAX];
	unsigned char	 sig[SIG_MAX];
	const char	*kwhy = NULL;
	EVP_PKEY	*key;
	long		 n;
	int		 unknown = 0;

	if (*am_arc_tagv(h, "d", d, sizeof(d)) == '\0' ||
	    *am_arc_tagv(h, "s", s, sizeof(s)) == '\0') {
		am_fmt(why, len, "%s i=%u: bad d= or s=", what, i);
		return -1;
	}
	if ((key = get_key(a, d, s, alg, &kwhy, &unknown)) == NULL) {
		am_fmt(why, len, "%s i=%u: %s (%s._domainkey.%s)", what, i,
		    kwhy ? kwhy : "no key", s, d);
		return unknown ? 1 : -1;
	}
	if (*am_arc_tagv(h, "b", b64, sizeof(b64)) == '\0' ||
	    (n = am_arc_b64(b64, sig, sizeof(sig))) <= 0 ||
	    !am_arc_sig_ok(key, alg, am_buf_str(data), data->len, sig,
	    (size_t)n)) {
		am_fmt(why, len, "%s i=%u: signature did not verify (d=%s)",
		    what, i, d);
		return -1;
	}
	return 0;
}

/*
 * signed_headers - RFC 6376 5.4.2: each h= name picks the last field of
 * that name not picked yet (bottom up); a missing one adds nothing
 */
static void
signed_headers(struct am_arc *a, const char *hlist, int relaxed,
    struct am_buf *b)
{
	char		 list[2048], *tok, *save = NULL;
	unsigned char	*used;
	size_t		 k;

	if ((used = calloc(a->nhdr + 1, 1)) == NULL) {
		b->failed = 1;
		return;
	}
	am_fmt(list, sizeof(list), "%s", hlist);
	for (tok = strtok_r(list, ":", &save); tok != NULL;
	    tok = strtok_r(NULL, ":", &save)) {
		for (k = a->nhdr; k > 0; k--)
			if (!used[k - 1] &&
			    strcasecmp(a->hdr[k - 1].name, tok) == 0)
				break;
		if (k == 0)
			continue;
		used[k - 1] = 1;
		am_arc_canon_header(b, a->hdr[k - 1].name, a->hdr[k - 1].value,
		    relaxed, 1);
	}
	free(used);
}

/* own_field - the signature's own field, b= empty, no CRLF at the end */
static int
own_field(const struct arc_hdr *h, int relaxed, struct am_buf *b)
{
	char	*v = without_b(h);

	if (v == NULL)
		return -1;
	am_arc_canon_header(b, h->name, v, relaxed, 0);
	free(v);
	return am_buf_failed(b) ? -1 : 0;
}

/* body_ok - bh= against the body hash kept for this AMS: 0, 1, -1 */
static int
body_ok(struct am_arc *a, const struct arc_hdr *ams, int br, long long l,
    unsigned int i, char *why, size_t len)
{
	struct arc_bodyhash		*kept = find_body(a, br, l);
	const struct arc_bodyhash	*bh;
	char				 b64[128];
	unsigned char			 want[64];
	long				 n;

	if (kept == NULL || (bh = body_digest(kept)) == NULL)
		return 1;
	if (*am_arc_tagv(ams, "bh", b64, sizeof(b64)) == '\0' ||
	    (n = am_arc_b64(b64, want, sizeof(want))) != (long)bh->len ||
	    memcmp(want, bh->digest, bh->len) != 0) {
		am_fmt(why, len, "ARC-Message-Signature i=%u: body hash "
		    "mismatch", i);
		return -1;
	}
	return 0;
}

/* lists_seal - h= names an ARC-Seal field */
static int
lists_seal(const char *hlist)
{
	char	 list[2048], *tok, *save = NULL;

	am_fmt(list, sizeof(list), "%s", hlist);
	for (tok = strtok_r(list, ":", &save); tok != NULL;
	    tok = strtok_r(NULL, ":", &save))
		if (strcasecmp(tok, "arc-seal") == 0)
			return 1;
	return 0;
}

/* am_arc_verify_ams - see arc_int.h */
int
am_arc_verify_ams(struct am_arc *a, unsigned int i, char *why, size_t len)
{
	const struct arc_hdr	*ams = SET_HDR(a, &a->set[i - 1], ARC_AMS);
	char			 alg[32], hlist[2048];
	enum am_arc_alg		 al;
	struct am_buf		 b;
	long long		 l;
	int			 hr, br, rc;

	al = am_arc_alg(am_arc_tagv(ams, "a", alg, sizeof(alg)));
	if (al == AM_ARC_ALG_BAD || canon(ams, &hr, &br) == -1 ||
	    (l = length(ams)) == -2 || am_arc_tag(ams->tags, "h") == NULL ||
	    am_arc_tag_copy(am_arc_tag(ams->tags, "h"), 1, hlist,
	    sizeof(hlist)) == -1) {
		am_fmt(why, len, "ARC-Message-Signature i=%u: bad a=, c=, "
		    "l= or h=", i);
		return -1;
	}
	if (lists_seal(hlist)) {
		/* RFC 8617 4.1.2: the AMS must not sign ARC-Seal fields */
		am_fmt(why, len, "ARC-Message-Signature i=%u: signs "
		    "ARC-Seal", i);
		return -1;
	}
	if ((rc = body_ok(a, ams, br, l, i, why, len)) != 0)
		return rc;
	am_buf_init(&b, HDR_INPUT_MAX);
	signed_headers(a, hlist, hr, &b);
	if (own_field(ams, hr, &b) == -1) {
		am_fmt(why, len, "ARC-Message-Signature i=%u: header data "
		    "too large", i);
		rc = -1;
	} else
		rc = sig_check(a, ams, al, &b, "ARC-Message-Signature", i,
		    why, len);
	am_buf_clear(&b);
	return rc;
}

/* am_arc_verify_seal - see arc_int.h; RFC 8617 5.1.1 input order */
int
am_arc_verify_seal(struct am_arc *a, unsigned int i, char *why, size_t len)
{
	const struct arc_hdr	*as = SET_HDR(a, &a->set[i - 1], ARC_AS);
	const struct arc_hdr	*h;
	char			 alg[32];
	enum am_arc_alg		 al;
	struct am_buf		 b;
	unsigned int		 k;
	int			 rc;

	if ((al = am_arc_alg(am_arc_tagv(as, "a", alg, sizeof(alg)))) ==
	    AM_ARC_ALG_BAD) {
		am_fmt(why, len, "ARC-Seal i=%u: unknown algorithm", i);
		return -1;
	}
	am_buf_init(&b, HDR_INPUT_MAX);
	for (k = 1; k <= i; k++) {
		h = SET_HDR(a, &a->set[k - 1], ARC_AAR);
		am_arc_canon_header(&b, h->name, h->value, 1, 1);
		h = SET_HDR(a, &a->set[k - 1], ARC_AMS);
		am_arc_canon_header(&b, h->name, h->value, 1, 1);
		if (k < i) {
			h = SET_HDR(a, &a->set[k - 1], ARC_AS);
			am_arc_canon_header(&b, h->name, h->value, 1, 1);
		}
	}
	if (own_field(as, 1, &b) == -1) {
		am_fmt(why, len, "ARC-Seal i=%u: header data too large", i);
		rc = -1;
	} else
		rc = sig_check(a, as, al, &b, "ARC-Seal", i, why, len);
	am_buf_clear(&b);
	return rc;
}
