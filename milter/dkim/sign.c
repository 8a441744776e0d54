/*
 * sign.c - one message's DKIM signatures (sign.h), through libopendkim.
 *
 * The header is kept until end of headers, because the key depends on the
 * From field, which may come last; then one libopendkim signing handle
 * per key gets the header and, as it streams, the body.  Each handle
 * hashes on its own: dual signing (RFC 8463 rsa + ed25519) hashes twice,
 * which costs less than the RSA operation.  ed25519-sha256 signatures are
 * made by sign_ed.c instead (libopendkim 2.11 leaks its key per
 * signature); the header is then kept to the end of the message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opendkim/dkim.h>

#include "dkim/sign.h"
#include "dkim/sign_int.h"

#define SIGN_LIST_MAX	64	/* names in AM_SIGN_HEADERS / _OVERSIGN */

struct hdr {
	size_t	 off, len;
};

struct am_signer {
	const struct am_signconf *sc;
	char			 qid[64];
	struct am_buf		 hdrs;		/* "Name:value" with CRLF folds */
	struct hdr		*hv;
	size_t			 nh;
	DKIM			*dkim[AM_SIGN_PER_MSG_MAX];	/* rsa */
	struct am_edsig		*ed[AM_SIGN_PER_MSG_MAX];	/* ed25519 */
	const struct am_sign_key *key[AM_SIGN_PER_MSG_MAX];
	char			*value[AM_SIGN_PER_MSG_MAX];
	size_t			 n;
	int			 open_line;	/* the body's last byte is not LF */
	const char		*skipped;	/* static text, or NULL */
	int			 failed;
};

/* set_list - a NULL-terminated copy of a space-separated name list */
static int
set_list(DKIM_LIB *lib, int opt, const char *names)
{
	char		 copy[1024], *save = NULL, *w;
	const char	*list[SIGN_LIST_MAX + 1];
	size_t		 n = 0;

	snprintf(copy, sizeof(copy), "%s", names);
	for (w = strtok_r(copy, " ", &save); w != NULL && n < SIGN_LIST_MAX;
	    w = strtok_r(NULL, " ", &save))
		list[n++] = w;
	list[n] = NULL;
	/* libopendkim copies the list; the length is that of the pointer */
	return dkim_options(lib, DKIM_OP_SETOPT, opt, list,
	    sizeof(char **)) == DKIM_STAT_OK ? 0 : -1;
}

/* am_sign_lib_setup - a DKIM_LIB for signing with our header lists */
int
am_sign_lib_setup(struct am_signconf *sc)
{
	if ((sc->lib = dkim_init(NULL, NULL)) == NULL)
		return -1;
	if (!dkim_libfeature(sc->lib, DKIM_FEATURE_ED25519) ||
	    !dkim_libfeature(sc->lib, DKIM_FEATURE_OVERSIGN))
		return -1;
	if (set_list(sc->lib, DKIM_OPTS_SIGNHDRS, AM_SIGN_HEADERS) == -1 ||
	    set_list(sc->lib, DKIM_OPTS_OVERSIGNHDRS, AM_SIGN_OVERSIGN) == -1)
		return -1;
	return 0;
}

/* am_signer_new - a signer for one message */
struct am_signer *
am_signer_new(const struct am_signconf *sc, const char *qid)
{
	struct am_signer	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->sc = sc;
	snprintf(s->qid, sizeof(s->qid), "%s", qid ? qid : "NOQUEUE");
	am_buf_init(&s->hdrs, AM_SIGN_HEADER_BYTES_MAX);
	return s;
}

/* am_signer_free - the handles, the kept header and the signatures */
void
am_signer_free(struct am_signer *s)
{
	size_t	 i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		if (s->dkim[i] != NULL)
			dkim_free(s->dkim[i]);
		am_edsig_free(s->ed[i]);
		free(s->value[i]);
	}
	am_buf_clear(&s->hdrs);
	free(s->hv);
	free(s);
}

/* fail - an internal failure: no signature, the caller records why */
static int
fail(struct am_signer *s, const char *why)
{
	s->failed = 1;
	s->skipped = why;
	return -1;
}

/* am_signer_header - keep "Name:value", folds as CRLF (RFC 6376 3.4.2) */
int
am_signer_header(struct am_signer *s, const char *name, const char *value)
{
	const char	*p, *nl;
	struct hdr	*hv;
	size_t		 off = s->hdrs.len;

	if (s->failed || s->skipped != NULL || s->n > 0)
		return s->failed ? -1 : 0;
	am_buf_adds(&s->hdrs, name);
	am_buf_addc(&s->hdrs, ':');
	for (p = value; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		am_buf_add(&s->hdrs, p, (size_t)(nl - p));
		if (nl == value || nl[-1] != '\r')
			am_buf_addc(&s->hdrs, '\r');
		am_buf_addc(&s->hdrs, '\n');
	}
	am_buf_adds(&s->hdrs, p);
	if (am_buf_failed(&s->hdrs)) {
		s->skipped = "header too large to sign";
		return 0;
	}
	if ((hv = reallocarray(s->hv, s->nh + 1, sizeof(*hv))) == NULL)
		return fail(s, "out of memory");
	s->hv = hv;
	s->hv[s->nh].off = off;
	s->hv[s->nh++].len = s->hdrs.len - off;
	return 0;
}

/* start_one - a libopendkim signing handle for key k, fed the header */
static int
start_one(struct am_signer *s, const struct am_sign_key *k)
{
	DKIM		*d;
	DKIM_STAT	 st;
	size_t		 i;

	if (k->alg == DKIM_SIGN_ED25519SHA256) {
		if ((s->ed[s->n] = am_edsig_new(k)) == NULL)
			return fail(s, "out of memory");
		s->key[s->n++] = k;
		return 0;
	}
	/* RFC 6376 3.4.2, 3.4.4: relaxed/relaxed; length -1: no l= */
	d = dkim_sign(s->sc->lib, (const u_char *)s->qid, NULL,
	    (dkim_sigkey_t)k->pem, (const u_char *)k->selector,
	    (const u_char *)k->domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED,
	    k->alg, -1, &st);
	if (d == NULL)
		return fail(s, "dkim_sign failed");
	s->dkim[s->n] = d;
	s->key[s->n++] = k;
	for (i = 0; i < s->nh; i++) {
		st = dkim_header(d, (u_char *)s->hdrs.s + s->hv[i].off,
		    s->hv[i].len);
		/* a field it cannot parse is not signed; anything else fails */
		if (st != DKIM_STAT_OK && st != DKIM_STAT_SYNTAX)
			return fail(s, "dkim_header failed");
	}
	if (dkim_eoh(d) != DKIM_STAT_OK)
		return fail(s, "dkim_eoh failed");
	return 0;
}

/* have_key - is k already one of the message's keys? */
static int
have_key(const struct am_signer *s, const struct am_sign_key *k)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		if (s->key[i] == k)
			return 1;
	return 0;
}

/* am_signer_eoh - the keys for the From address; start signing */
int
am_signer_eoh(struct am_signer *s, const char *addr, const char *domain)
{
	const struct am_signconf *sc = s->sc;
	size_t			 idx[AM_SIGN_PER_MSG_MAX], n, i;
	const struct am_sign_key *k;

	if (s->failed || s->skipped != NULL)
		return s->failed ? -1 : 0;
	if (addr == NULL || domain == NULL) {
		s->skipped = "no usable From address";
		return 0;
	}
	n = am_signtable_select(sc->rules, sc->nrules, addr, domain, idx,
	    AM_SIGN_PER_MSG_MAX);
	if (n == 0)
		s->skipped = "no key for the From address";
	for (i = 0; i < n; i++) {
		k = &sc->keys[sc->rules[idx[i]].key];
		if (!have_key(s, k) && start_one(s, k) == -1)
			return -1;
	}
	return 0;
}

/* am_signer_body - one body chunk to every handle */
int
am_signer_body(struct am_signer *s, const unsigned char *p, size_t len)
{
	size_t	 i;

	if (s->failed)
		return -1;
	if (len > 0)
		s->open_line = p[len - 1] != '\n';
	for (i = 0; i < s->n; i++) {
		if (s->ed[i] != NULL)
			am_edsig_body(s->ed[i], p, len);
		else if (dkim_body(s->dkim[i], (u_char *)p, len) != DKIM_STAT_OK)
			return fail(s, "dkim_body failed");
	}
	return 0;
}

/* copy_sig - the signature value without CRs (the MTA adds its own) */
static char *
copy_sig(const u_char *v, size_t len)
{
	char	*out, *o;
	size_t	 i;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0, o = out; i < len; i++)
		if (v[i] != '\r')
			*o++ = (char)v[i];
	*o = '\0';
	return out;
}

/* ed_finish - an ed25519 signature over the kept header (sign_ed.c) */
static char *
ed_finish(struct am_signer *s, struct am_edsig *e)
{
	const char	**hv;
	size_t		 *hl, i;
	char		 *v = NULL;

	hv = calloc(s->nh + 1, sizeof(*hv));
	hl = calloc(s->nh + 1, sizeof(*hl));
	if (hv != NULL && hl != NULL) {
		for (i = 0; i < s->nh; i++) {
			hv[i] = s->hdrs.s + s->hv[i].off;
			hl[i] = s->hv[i].len;
		}
		v = am_edsig_finish(e, hv, hl, s->nh, (long long)time(NULL));
	}
	free(hv);
	free(hl);
	return v;
}

/* am_signer_eom - finish every signature */
int
am_signer_eom(struct am_signer *s)
{
	u_char	*v;
	size_t	 i, len;

	if (s->failed)
		return -1;
	/*
	 * A body that does not end in a line end is delivered with one (the
	 * MTA stores lines); RFC 6376 3.4.3/3.4.4 hash it so, and
	 * libopendkim refuses to sign without it
	 */
	if (s->open_line && am_signer_body(s, (const unsigned char *)"\r\n",
	    2) == -1)
		return -1;
	for (i = 0; i < s->n; i++) {
		if (s->ed[i] != NULL) {
			if ((s->value[i] = ed_finish(s, s->ed[i])) == NULL)
				return fail(s, "ed25519 signing failed");
			continue;
		}
		if (dkim_eom(s->dkim[i], NULL) != DKIM_STAT_OK)
			return fail(s, "dkim_eom failed");
		/* folded for "DKIM-Signature: " in front of it */
		if (dkim_getsighdr_d(s->dkim[i], sizeof("DKIM-Signature: ") - 1,
		    &v, &len) != DKIM_STAT_OK)
			return fail(s, "dkim_getsighdr failed");
		if ((s->value[i] = copy_sig(v, len)) == NULL)
			return fail(s, "out of memory");
	}
	return 0;
}

/* am_signer_count - signatures made (after a successful eom) */
size_t
am_signer_count(const struct am_signer *s)
{
	size_t	 i;

	if (s->failed)
		return 0;
	for (i = 0; i < s->n; i++)
		if (s->value[i] == NULL)
			return 0;
	return s->n;
}

/* am_signer_value - one DKIM-Signature value */
const char *
am_signer_value(const struct am_signer *s, size_t i)
{
	return i < s->n ? s->value[i] : NULL;
}

/* am_signer_skipped - why not signed, or NULL */
const char *
am_signer_skipped(const struct am_signer *s)
{
	return s->skipped;
}

/* am_signer_describe - "alg:domain:selector,..." or "no" */
void
am_signer_describe(const struct am_signer *s, struct am_buf *b)
{
	size_t	 i, n = am_signer_count(s);

	if (n == 0)
		am_buf_adds(b, "no");
	for (i = 0; i < n; i++)
		am_buf_addf(b, "%s%s:%s:%s", i ? "," : "", s->key[i]->algname,
		    s->key[i]->domain, s->key[i]->selector);
}
