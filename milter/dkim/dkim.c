/*
 * dkim.c - DKIM verification of every signature of a message (RFC 6376,
 * RFC 8463 ed25519, RFC 8301 crypto rules) through libopendkim.
 *
 * One DKIM_LIB per process (libopendkim documents it as usable by several
 * threads at once; its options are set once here, before any message).
 * One DKIM handle per message.  The library parses the signatures at
 * dkim_eoh(), calls our prescreen hook (which marks signatures we will not
 * verify, so their keys are never fetched), fetches keys (through
 * dns_dkim.c) and checks the header hashes there.  The body hashes are
 * ours (bodyhash.c): the library's canonicalizer goes byte by byte and
 * took a sixth of the daemon's CPU, so the body is never given to it; at
 * EOH each signature whose header hash verified gets a body hash (shared
 * by signatures with the same c=, hash and l=), compared at EOM with its
 * bh= as the library would (RFC 6376 3.7, 6.1.3).  We then turn each
 * signature's flags and error code into an RFC 8601 result and add the
 * RFC 8301 rules the library does not enforce (rsa-sha1, per-message RSA
 * key size).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <opendkim/dkim.h>
#include <openssl/evp.h>

#include "common/ascii.h"
#include "common/buf.h"
#include "dkim/bodyhash.h"
#include "dkim/bodylen.h"
#include "dkim/dkim.h"
#include "dkim/dkim_keycache.h"
#include "dns/dns.h"
#include "dkim/dns_dkim.h"

#define AM_DKIM_HDR_MAX		(1024 * 1024)	/* one rebuilt header field */
#define AM_DKIM_DEFAULT_TIMEOUT	5		/* seconds, no resolver */
#define ED25519_KEY_BITS	256		/* RFC 8463 section 3 */

struct am_dkim_lib {
	DKIM_LIB	*lib;
};

/* one body hash, shared by the signatures with its c=, hash and l= */
struct dkim_bh {
	struct am_bodyhash h;
	int		 relaxed, sha1;
	ssize_t		 limit;			/* l=, or -1 */
	char		 b64[EVP_MAX_MD_SIZE * 2];	/* at EOM */
};

struct am_dkim {
	DKIM		*dkim;
	unsigned int	 min_key_bits;
	unsigned int	 max_sigs;
	int		 failed;	/* sticky internal failure */
	int		 unusable;	/* dkim_eoh() gave the message up */
	int		 eoh_done;
	int		 eom_done;
	char		 why[AM_REASON_MAX];	/* for failed / unusable */
	struct am_buf	 hdr;		/* scratch: "Name:value" */
	struct am_bodylen body;		/* canonical body lengths, for l= */
	int		 count_body;	/* some signature has l=: count it */
	struct dkim_bh	*bh;		/* body hashes, from EOH (body_setup) */
	size_t		 nbh;
	int		 bh_done;	/* b64 of each computed (body_final) */
	size_t		 neoh;		/* signatures seen at EOH (body_setup) */
	unsigned char	 sig_bh[AM_DKIM_SIGS_MAX];	/* signature i's bh
						   index + 1; 0: none */
	int		 eoh_err[AM_DKIM_SIGS_MAX];	/* its error then */
};

/*
 * sig_alg - the a= algorithm, from the tag itself: libopendkim leaves its
 * default (rsa-sha1) in place when a= is absent or parsing stopped early
 */
static dkim_alg_t
sig_alg(DKIM_SIGINFO *sig)
{
	const char	*a;

	a = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"a");
	if (a == NULL)
		return DKIM_SIGN_UNKNOWN;
	if (strcasecmp(a, "rsa-sha256") == 0)
		return DKIM_SIGN_RSASHA256;
	if (strcasecmp(a, "ed25519-sha256") == 0)
		return DKIM_SIGN_ED25519SHA256;
	if (strcasecmp(a, "rsa-sha1") == 0)
		return DKIM_SIGN_RSASHA1;
	return DKIM_SIGN_UNKNOWN;
}

/* key_name_len - length of "<s>._domainkey.<d>" */
static size_t
key_name_len(DKIM_SIGINFO *sig)
{
	const u_char	*s = dkim_sig_getselector(sig);
	const u_char	*d = dkim_sig_getdomain(sig);

	return (s != NULL ? strlen((const char *)s) : 0) +
	    sizeof("._domainkey.") - 1 +
	    (d != NULL ? strlen((const char *)d) : 0);
}

/*
 * skip_why - why signature idx is not to be verified (NULL: verify it),
 * with the result it gets.  Asked by the prescreen hook, before any key
 * fetch, and again for the results: the answers must agree.
 */
static const char *
skip_why(const struct am_dkim *m, DKIM_SIGINFO *sig, size_t idx, int err,
    enum am_dkim_result *res)
{
	*res = AM_DKIM_NEUTRAL;
	if (idx >= m->max_sigs)
		return "not verified: signature limit";
	if (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN)
		return NULL;			/* libopendkim's verdict */
	/* RFC 8301 section 3.1: rsa-sha1 is never valid; skip its key */
	*res = AM_DKIM_FAIL;
	if (sig_alg(sig) == DKIM_SIGN_RSASHA1)
		return "rsa-sha1 not accepted (RFC 8301)";
	/* RFC 1035 2.3.4; libopendkim would fail the message, not the sig */
	*res = AM_DKIM_PERMERROR;
	if (key_name_len(sig) > AM_DOMAIN_MAX)
		return "key query name too long";
	return NULL;
}

/* prescreen - before any key fetch: ignore what we will not verify */
static DKIM_CBSTAT
prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct am_dkim		*m = dkim_get_user_context(dkim);
	enum am_dkim_result	 res;
	int			 i;

	if (m == NULL)
		return DKIM_CBSTAT_CONTINUE;
	for (i = 0; i < nsigs; i++)
		if (skip_why(m, sigs[i], (size_t)i, dkim_sig_geterror(sigs[i]),
		    &res) != NULL)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

/* set_uint_opt - one unsigned-int library option; 0 or -1 */
static int
set_uint_opt(DKIM_LIB *lib, int opt, unsigned int value)
{
	return dkim_options(lib, DKIM_OP_SETOPT, opt, &value,
	    sizeof(value)) == DKIM_STAT_OK ? 0 : -1;
}

/* lib_setup - options and hooks of a fresh DKIM_LIB; NULL or the problem */
static const char *
lib_setup(DKIM_LIB *lib, struct am_dns *dns)
{
	unsigned int	 timeout;

	/* RFC 8463: without ed25519 half of today's signatures look broken */
	if (!dkim_libfeature(lib, DKIM_FEATURE_ED25519))
		return "libopendkim lacks ed25519 support";
	/* verify every signature; keep handles for malformed ones */
	if (set_uint_opt(lib, DKIM_OPTS_FLAGS, DKIM_LIBFLAGS_BADSIGHANDLES))
		return "cannot set libopendkim flags";
	timeout = dns != NULL ? am_dns_timeout(dns) : AM_DKIM_DEFAULT_TIMEOUT;
	if (set_uint_opt(lib, DKIM_OPTS_TIMEOUT, timeout))
		return "cannot set libopendkim timeout";
	/* key size is judged per message (am_dkim_new's min_key_bits) */
	if (set_uint_opt(lib, DKIM_OPTS_MINKEYBITS, 1))
		return "cannot set libopendkim minimum key size";
	if (dkim_set_prescreen(lib, prescreen) != DKIM_STAT_OK)
		return "cannot set libopendkim prescreen hook";
	if (am_dns_dkim_install(lib, dns) == -1)
		return "cannot install libopendkim DNS hooks";
	return NULL;
}

/* am_dkim_lib_new - the process-wide libopendkim instance */
struct am_dkim_lib *
am_dkim_lib_new(struct am_dns *dns, char *err, size_t errlen)
{
	struct am_dkim_lib	*l;
	const char		*why;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((l->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim_init failed");
		free(l);
		return NULL;
	}
	if ((why = lib_setup(l->lib, dns)) != NULL) {
		snprintf(err, errlen, "%s", why);
		am_dkim_lib_free(l);
		return NULL;
	}
	return l;
}

/* am_dkim_lib_free - shut libopendkim down (our resolver stays up) */
void
am_dkim_lib_free(struct am_dkim_lib *l)
{
	if (l == NULL)
		return;
	dkim_close(l->lib);
	am_keycache_flush();		/* decoded keys (dkim_keycache.h) */
	free(l);
}

/* am_dkim_new - a verifier for one message */
struct am_dkim *
am_dkim_new(struct am_dkim_lib *l, const char *qid, unsigned int min_key_bits,
    unsigned int max_sigs)
{
	struct am_dkim	*m;
	DKIM_STAT	 st;

	if (l == NULL || (m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->min_key_bits = min_key_bits;
	m->max_sigs = max_sigs < AM_DKIM_SIGS_MAX ? max_sigs : AM_DKIM_SIGS_MAX;
	am_buf_init(&m->hdr, AM_DKIM_HDR_MAX);
	am_bodylen_init(&m->body);
	m->dkim = dkim_verify(l->lib,
	    (const unsigned char *)(qid != NULL ? qid : "NOQUEUE"), NULL, &st);
	if (m->dkim == NULL ||
	    dkim_set_user_context(m->dkim, m) != DKIM_STAT_OK) {
		am_dkim_free(m);
		return NULL;
	}
	return m;
}

/* am_dkim_free - release one message's verifier */
void
am_dkim_free(struct am_dkim *m)
{
	if (m == NULL)
		return;
	if (m->dkim != NULL)
		dkim_free(m->dkim);
	am_buf_clear(&m->hdr);
	while (m->nbh > 0)
		am_bodyhash_free(&m->bh[--m->nbh].h);
	free(m->bh);
	free(m);
}

/* fail - record the first internal failure (st OK: none); always -1 */
static int
fail(struct am_dkim *m, const char *what, DKIM_STAT st)
{
	const char	*detail = NULL;

	if (m->failed)
		return -1;
	m->failed = 1;
	if (st == DKIM_STAT_OK) {
		snprintf(m->why, sizeof(m->why), "%s", what);
		return -1;
	}
	if (m->dkim != NULL)
		detail = dkim_geterror(m->dkim);
	snprintf(m->why, sizeof(m->why), "%s: %s%s%s%s", what,
	    dkim_getresultstr(st), detail != NULL ? " (" : "",
	    detail != NULL ? detail : "", detail != NULL ? ")" : "");
	return -1;
}

/* internal_stat - is this status libopendkim failing, not the message? */
static int
internal_stat(DKIM_STAT st)
{
	switch (st) {
	case DKIM_STAT_NORESOURCE:
	case DKIM_STAT_INTERNAL:
	case DKIM_STAT_INVALID:
	case DKIM_STAT_NOTIMPLEMENT:
	case DKIM_STAT_CBREJECT:
	case DKIM_STAT_CBINVALID:
	case DKIM_STAT_CBTRYAGAIN:
	case DKIM_STAT_CBERROR:
		return 1;
	default:
		return 0;
	}
}

/* am_dkim_header - feed "Name:value" with CRLF line ends, as signed */
int
am_dkim_header(struct am_dkim *m, const char *name, const char *value)
{
	const char	*p, *nl;
	DKIM_STAT	 st;

	if (m == NULL || name == NULL || value == NULL)
		return -1;
	if (m->failed || m->eoh_done)
		return 0;
	am_buf_reset(&m->hdr);
	am_buf_adds(&m->hdr, name);
	am_buf_addc(&m->hdr, ':');
	/*
	 * RFC 6376 3.4.1: simple canonicalization needs the CRLF folds.
	 * Copied a line at a time (a byte at a time cost 4 % of our CPU).
	 */
	for (p = value; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		am_buf_add(&m->hdr, p, (size_t)(nl - p));
		if (nl == value || nl[-1] != '\r')
			am_buf_addc(&m->hdr, '\r');
		am_buf_addc(&m->hdr, '\n');
	}
	am_buf_adds(&m->hdr, p);
	if (am_buf_failed(&m->hdr))
		return fail(m, "header field too large", DKIM_STAT_OK);
	st = dkim_header(m->dkim, (u_char *)m->hdr.s, m->hdr.len);
	/* DKIM_STAT_SYNTAX: a field it cannot parse (no name) is not signed */
	if (internal_stat(st))
		return fail(m, "dkim_header", st);
	return 0;
}

/*
 * has_length_limit - does a signature carry l=?  Only then is the
 * canonical body length needed (partial_body); counting it costs a pass
 * over every body byte, so messages without l= skip it.
 */
static int
has_length_limit(struct am_dkim *m)
{
	DKIM_SIGINFO	**sigs = NULL;
	int		  n = 0, i;

	if (dkim_getsiglist(m->dkim, &sigs, &n) != DKIM_STAT_OK)
		return 0;
	for (i = 0; i < n; i++)
		if (dkim_sig_gettagvalue(sigs[i], 0, (u_char *)"l") != NULL)
			return 1;
	return 0;
}

/*
 * needs_body - will the library compare this signature's bh=?  Only for a
 * signature whose header hash verified (dkim_sig_process); the library
 * verifies every signature it does not ignore at dkim_eoh(), so what
 * failed there never passes later.
 */
static int
needs_body(DKIM_SIGINFO *sig)
{
	unsigned int	 flags = dkim_sig_getflags(sig);
	int		 err = dkim_sig_geterror(sig);

	if ((flags & DKIM_SIGFLAG_IGNORE) != 0 ||
	    (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN))
		return 0;
	return (flags & DKIM_SIGFLAG_PROCESSED) == 0 ||
	    (flags & DKIM_SIGFLAG_PASSED) != 0;
}

/*
 * body_for - signature sig's body hash (its c= body part, its a= hash, its
 * l= as the library parsed them), shared with an earlier one that has the
 * same; its index, or -1 (no memory or no digest: m->failed)
 */
static int
body_for(struct am_dkim *m, DKIM_SIGINFO *sig)
{
	dkim_canon_t	 hc = DKIM_CANON_UNKNOWN, bc = DKIM_CANON_UNKNOWN;
	ssize_t		 limit = -1;
	struct dkim_bh	*b;
	size_t		 j;
	int		 relaxed, sha1;

	(void)dkim_sig_getcanons(sig, &hc, &bc);
	(void)dkim_sig_getcanonlen(m->dkim, sig, NULL, NULL, &limit);
	relaxed = bc == DKIM_CANON_RELAXED;
	sha1 = sig_alg(sig) == DKIM_SIGN_RSASHA1;
	for (j = 0; j < m->nbh; j++)
		if (m->bh[j].relaxed == relaxed && m->bh[j].sha1 == sha1 &&
		    m->bh[j].limit == limit)
			return (int)j;
	b = &m->bh[m->nbh];
	if (am_bodyhash_init(&b->h, relaxed, sha1 ? EVP_sha1() : EVP_sha256(),
	    limit < 0 ? -1 : (long long)limit) == -1)
		return fail(m, "body hash: out of memory", DKIM_STAT_OK);
	b->relaxed = relaxed;
	b->sha1 = sha1;
	b->limit = limit;
	return (int)m->nbh++;
}

/* body_setup - at EOH: a body hash for each signature that needs one */
static int
body_setup(struct am_dkim *m)
{
	DKIM_SIGINFO	**sigs = NULL;
	int		  n = 0, i, j;

	if (dkim_getsiglist(m->dkim, &sigs, &n) != DKIM_STAT_OK || n <= 0)
		return 0;
	if (n > AM_DKIM_SIGS_MAX)
		n = AM_DKIM_SIGS_MAX;
	if ((m->bh = calloc((size_t)n, sizeof(*m->bh))) == NULL)
		return fail(m, "body hash: out of memory", DKIM_STAT_OK);
	m->neoh = (size_t)n;
	for (i = 0; i < n; i++) {
		m->eoh_err[i] = dkim_sig_geterror(sigs[i]);
		if (!needs_body(sigs[i]))
			continue;
		if ((j = body_for(m, sigs[i])) == -1)
			return -1;
		m->sig_bh[i] = (unsigned char)(j + 1);
	}
	return 0;
}

/* body_final - at EOM: each body hash's digest, in base64 as bh= has it */
static int
body_final(struct am_dkim *m)
{
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned int	 len = 0;
	size_t		 j;

	if (m->bh_done)
		return 0;
	m->bh_done = 1;
	for (j = 0; j < m->nbh; j++) {
		if (am_bodyhash_final(&m->bh[j].h, d, &len) == -1)
			return fail(m, "body hash: digest failed",
			    DKIM_STAT_OK);
		(void)EVP_EncodeBlock((unsigned char *)m->bh[j].b64, d,
		    (int)len);
	}
	return 0;
}

/*
 * too_long - RFC 6376 3.5 l=: does the signature claim more canonical
 * body than the message has?  libopendkim's test, on our count of the
 * body (it saw none): only for a signature it made a body canonicalization
 * for, with l=.
 */
static int
too_long(const struct am_dkim *m, DKIM_SIGINFO *sig)
{
	dkim_canon_t	 hc = DKIM_CANON_UNKNOWN, bc = DKIM_CANON_UNKNOWN;
	ssize_t		 signlen = -1;
	size_t		 whole;

	if (dkim_sig_getcanonlen(m->dkim, sig, NULL, NULL, &signlen) !=
	    DKIM_STAT_OK || signlen < 0 ||
	    dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK)
		return 0;
	whole = bc == DKIM_CANON_RELAXED ? am_bodylen_relaxed(&m->body) :
	    am_bodylen_simple(&m->body);
	return whole < (size_t)signlen;
}

/*
 * sig_state - signature idx's error (DKIM_SIGERROR_*) and body hash state
 * (DKIM_SIGBH_*) after the end of the message, as libopendkim would have
 * left them had it seen the body (it did not: its own say "the body is
 * empty").  What it does at dkim_eom(), in its order: a signature whose
 * l= exceeds the canonical body gets TOOLARGE_L; one still without an
 * error whose header hash verified has its bh= compared (6.1.3): a match
 * is OK, else BADSIG.  Anything else stays as dkim_eoh() left it.
 */
static void
sig_state(const struct am_dkim *m, DKIM_SIGINFO *sig, size_t idx, int *err,
    int *bh)
{
	const char	*tag;

	*err = dkim_sig_geterror(sig);
	*bh = DKIM_SIGBH_UNTESTED;
	if (idx >= m->neoh)
		return;				/* never past the library */
	*err = m->eoh_err[idx];
	if (too_long(m, sig))
		*err = DKIM_SIGERROR_TOOLARGE_L;
	if (*err != DKIM_SIGERROR_UNKNOWN ||
	    (dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED) == 0 ||
	    m->sig_bh[idx] == 0 || !m->bh_done)
		return;
	tag = (const char *)dkim_sig_gettagvalue(sig, 0, (u_char *)"bh");
	if (tag != NULL && strcmp(tag, m->bh[m->sig_bh[idx] - 1].b64) == 0) {
		*bh = DKIM_SIGBH_MATCH;
		*err = DKIM_SIGERROR_OK;
	} else {
		*bh = DKIM_SIGBH_MISMATCH;
		*err = DKIM_SIGERROR_BADSIG;
	}
}

/* am_dkim_eoh - end of headers: signatures parsed, keys fetched */
int
am_dkim_eoh(struct am_dkim *m, struct am_dns_budget *b)
{
	DKIM_STAT	 st;

	if (m == NULL)
		return -1;
	if (m->failed || m->eoh_done)
		return 0;
	m->eoh_done = 1;
	am_dns_dkim_budget(b);
	st = dkim_eoh(m->dkim);
	am_dns_dkim_budget(NULL);
	if (st == DKIM_STAT_SYNTAX) {
		/* e.g. no From: the handle is unusable, signatures permerror */
		m->unusable = 1;
		snprintf(m->why, sizeof(m->why), "%s",
		    dkim_geterror(m->dkim) != NULL ? dkim_geterror(m->dkim) :
		    "message syntax not verifiable");
		return 0;
	}
	if (internal_stat(st))
		return fail(m, "dkim_eoh", st);
	m->count_body = has_length_limit(m);
	return body_setup(m);
}

/* am_dkim_body - one chunk of the body, CRLF line ends as on the wire */
int
am_dkim_body(struct am_dkim *m, const unsigned char *p, size_t len)
{
	size_t		 j;

	if (m == NULL || (p == NULL && len > 0))
		return -1;
	if (!m->eoh_done && am_dkim_eoh(m, NULL) == -1)
		return -1;
	if (m->failed || m->unusable || len == 0)
		return 0;
	if (m->count_body)
		am_bodylen_feed(&m->body, p, len);
	/* the library gets no body: its body hashes are ours (see above) */
	for (j = 0; j < m->nbh; j++)
		am_bodyhash_update(&m->bh[j].h, p, len);
	return 0;
}

/* copy_text - copy untrusted text, control characters made visible */
static void
copy_text(char *dst, size_t dstlen, const unsigned char *src)
{
	size_t	 i;

	dst[0] = '\0';
	if (src == NULL)
		return;
	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++)
		dst[i] = (src[i] < 0x20 || src[i] == 0x7f) ? '?' : (char)src[i];
	dst[i] = '\0';
}

/* copy_bprefix - RFC 6008: the first characters of b=, without FWS */
static void
copy_bprefix(char *dst, size_t dstlen, const unsigned char *b)
{
	size_t	 n = 0;

	for (; b != NULL && *b != '\0' && n + 1 < dstlen; b++) {
		if (isspace(*b))
			continue;
		if (!isalnum(*b) && *b != '+' && *b != '/' && *b != '=')
			break;
		dst[n++] = (char)*b;
	}
	dst[n] = '\0';
}

/* alg_name - a= as we report it */
static const char *
alg_name(dkim_alg_t alg)
{
	switch (alg) {
	case DKIM_SIGN_RSASHA1:
		return "rsa-sha1";
	case DKIM_SIGN_RSASHA256:
		return "rsa-sha256";
	case DKIM_SIGN_ED25519SHA256:
		return "ed25519-sha256";
	default:
		return NULL;
	}
}

/* sig_identity - d=, s=, a=, b= prefix and key size of one signature */
static void
sig_identity(DKIM_SIGINFO *sig, dkim_alg_t alg, struct am_dkim_sig *out)
{
	const char	*name;
	const u_char	*p, *k;
	unsigned int	 bits;

	copy_text(out->domain, sizeof(out->domain), dkim_sig_getdomain(sig));
	copy_text(out->selector, sizeof(out->selector),
	    dkim_sig_getselector(sig));
	if ((name = alg_name(alg)) != NULL)
		snprintf(out->algorithm, sizeof(out->algorithm), "%s", name);
	else
		copy_text(out->algorithm, sizeof(out->algorithm),
		    dkim_sig_gettagvalue(sig, 0, (u_char *)"a"));
	copy_bprefix(out->bprefix, sizeof(out->bprefix),
	    dkim_sig_gettagvalue(sig, 0, (u_char *)"b"));
	/*
	 * DKIM_SIGFLAG_KEYLOADED is only set when signing; a key record with
	 * a non-empty p= is what we have.  libopendkim 2.11 reports no size
	 * for ed25519 keys.
	 */
	out->keybits = 0;
	p = dkim_sig_gettagvalue(sig, 1, (u_char *)"p");
	if (p == NULL || *p == '\0')
		return;
	k = dkim_sig_gettagvalue(sig, 1, (u_char *)"k");
	if (k != NULL && strcasecmp((const char *)k, "ed25519") == 0)
		out->keybits = ED25519_KEY_BITS;
	else if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		out->keybits = bits;
}

/* error_result - RFC 8601 result for a libopendkim signature error */
static enum am_dkim_result
error_result(int err)
{
	switch (err) {
	case DKIM_SIGERROR_KEYFAIL:		/* DNS trouble: try later */
		return AM_DKIM_TEMPERROR;
	case DKIM_SIGERROR_BADSIG:
	case DKIM_SIGERROR_EXPIRED:		/* RFC 6376 3.5 x= */
	case DKIM_SIGERROR_FUTURE:		/* t= beyond the clock drift */
	case DKIM_SIGERROR_KEYTOOSMALL:
	case DKIM_SIGERROR_MBSFAILED:
		return AM_DKIM_FAIL;
	default:
		/* syntax, no key, revoked or unusable key: RFC 8601 2.7.1 */
		return AM_DKIM_PERMERROR;
	}
}

/* set_result - result and reason */
static void
set_result(struct am_dkim_sig *out, enum am_dkim_result r, const char *why)
{
	out->result = r;
	snprintf(out->reason, sizeof(out->reason), "%s", why);
}

/* set_error - result and libopendkim's text for a signature error */
static void
set_error(struct am_dkim_sig *out, int err)
{
	const char	*s = dkim_sig_geterrorstr(err);
	char		 other[32];

	if (s == NULL) {
		snprintf(other, sizeof(other), "signature error %d", err);
		s = other;
	}
	set_result(out, error_result(err), s);
}

/*
 * partial_body - RFC 6376 8.2: l= signed less than the canonical body, so
 * what follows is vouched for by nobody (appended content).  Such a
 * signature is "policy" (RFC 8601 2.7.1: not acceptable to us), never a
 * pass DMARC could use.  Compared with the canonical length of the whole
 * body under the signature's own body canonicalization, so trailing blank
 * lines or whitespace, which canonicalization drops, do not count.
 */
static int
partial_body(const struct am_dkim *m, DKIM_SIGINFO *sig)
{
	ssize_t		 msglen = -1, canonlen = -1, signlen = -1;
	dkim_canon_t	 hc = DKIM_CANON_UNKNOWN, bc = DKIM_CANON_UNKNOWN;
	size_t		 whole;

	if (dkim_sig_getcanonlen(m->dkim, sig, &msglen, &canonlen,
	    &signlen) != DKIM_STAT_OK || signlen < 0 ||
	    dkim_sig_getcanons(sig, &hc, &bc) != DKIM_STAT_OK)
		return 0;
	whole = bc == DKIM_CANON_RELAXED ? am_bodylen_relaxed(&m->body) :
	    am_bodylen_simple(&m->body);
	return (size_t)signlen < whole;
}

/* sig_result - RFC 8601 result of one signature after dkim_eom() */
static void
sig_result(const struct am_dkim *m, DKIM_SIGINFO *sig, size_t idx,
    struct am_dkim_sig *out)
{
	unsigned int		 flags = dkim_sig_getflags(sig);
	int			 err, bh;
	dkim_alg_t		 alg = sig_alg(sig);
	enum am_dkim_result	 res;
	const char		*skip;
	char			 why[AM_REASON_MAX];

	memset(out, 0, sizeof(*out));
	sig_identity(sig, alg, out);
	sig_state(m, sig, idx, &err, &bh);
	if ((skip = skip_why(m, sig, idx, err, &res)) != NULL)
		set_result(out, res, skip);
	else if (err != DKIM_SIGERROR_OK && err != DKIM_SIGERROR_UNKNOWN &&
	    err != DKIM_SIGERROR_BADSIG)
		set_error(out, err);
	else if (m->unusable)
		set_result(out, AM_DKIM_PERMERROR, m->why);
	/* RFC 8301 section 3.2; ed25519 keys have a fixed size (RFC 8463) */
	else if (out->keybits != 0 && alg != DKIM_SIGN_ED25519SHA256 &&
	    out->keybits < m->min_key_bits) {
		snprintf(why, sizeof(why), "key too small: %u bits",
		    out->keybits);
		set_result(out, AM_DKIM_FAIL, why);
	} else if ((flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    bh == DKIM_SIGBH_MATCH && partial_body(m, sig))
		set_result(out, AM_DKIM_POLICY, "l= does not cover the whole body");
	else if ((flags & DKIM_SIGFLAG_PASSED) != 0 &&
	    bh == DKIM_SIGBH_MATCH)
		set_result(out, AM_DKIM_PASS, "");
	else if (bh == DKIM_SIGBH_MISMATCH)
		set_result(out, AM_DKIM_FAIL, "body hash mismatch");
	else if (err == DKIM_SIGERROR_BADSIG ||
	    (flags & DKIM_SIGFLAG_PROCESSED) != 0)
		set_error(out, DKIM_SIGERROR_BADSIG);
	else
		set_result(out, AM_DKIM_TEMPERROR, "not verified");
}

/*
 * name_temp - a temperror names its key look-up (RFC 8601 2.7.1):
 * "sel._domainkey.example.org: timeout" when that query is the budget's
 * last failure, else the name and libopendkim's reason
 */
static void
name_temp(const struct am_dns_budget *b, struct am_dkim_sig *out)
{
	char		 q[AM_REASON_MAX], why[AM_REASON_MAX];
	const char	*w;

	if (out->result != AM_DKIM_TEMPERROR || out->selector[0] == '\0' ||
	    out->domain[0] == '\0')
		return;
	q[0] = '\0';
	am_ascii_append(q, sizeof(q), out->selector);
	am_ascii_append(q, sizeof(q), "._domainkey.");
	am_ascii_append(q, sizeof(q), out->domain);
	if ((w = am_dns_budget_temp_of(b, q)) != NULL)
		snprintf(why, sizeof(why), "%s", w);
	else
		snprintf(why, sizeof(why), "%s", out->reason);
	am_ascii_append(q, sizeof(q), ": ");
	am_ascii_append(q, sizeof(q), why);
	snprintf(out->reason, sizeof(out->reason), "%s", q);
}

/* fail_entries - internal failure: every entry says temperror */
static size_t
fail_entries(const struct am_dkim *m, struct am_dkim_sig *sigs, size_t n,
    size_t max)
{
	size_t	 i;

	if (n == 0 && max > 0) {
		memset(&sigs[0], 0, sizeof(sigs[0]));
		n = 1;
	}
	for (i = 0; i < n; i++)
		set_result(&sigs[i], AM_DKIM_TEMPERROR, m->why);
	return n;
}

/* am_dkim_eom - finish the message, one result per signature */
int
am_dkim_eom(struct am_dkim *m, struct am_dns_budget *b,
    struct am_dkim_sig *sigs, size_t max, size_t *nsigs)
{
	DKIM_SIGINFO	**list = NULL;
	DKIM_STAT	  st;
	int		  n = 0;
	size_t		  i;

	*nsigs = 0;
	if (m == NULL)
		return -1;
	if (!m->failed && !m->eoh_done)
		(void)am_dkim_eoh(m, b);
	if (!m->failed && !m->unusable && !m->eom_done) {
		m->eom_done = 1;
		am_dns_dkim_budget(b);
		st = dkim_eom(m->dkim, NULL);
		am_dns_dkim_budget(NULL);
		if (internal_stat(st))
			(void)fail(m, "dkim_eom", st);
		else
			(void)body_final(m);
	}
	if (dkim_getsiglist(m->dkim, &list, &n) != DKIM_STAT_OK ||
	    list == NULL || n < 0)
		n = 0;
	for (i = 0; i < (size_t)n && i < max; i++) {
		sig_result(m, list[i], i, &sigs[i]);
		name_temp(b, &sigs[i]);
	}
	if (m->failed) {
		*nsigs = fail_entries(m, sigs, i, max);
		return -1;
	}
	*nsigs = i;
	return 0;
}
