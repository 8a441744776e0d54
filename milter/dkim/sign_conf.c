/*
 * sign_conf.c - the keys and tables of one configuration (sign.h
 * am_signconf_load): KeyTable and SigningTable files, the Domain /
 * Selector / KeyFile trio, each key file checked and decoded once.
 *
 * Every problem is reported with where it is ("table:line: ..." or the
 * config's "file:line: KeyFile: ...") and naming the key file; loading
 * goes on so that all of them are reported at once.  The key's bytes
 * never reach a message: only its file name, type and size.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <opendkim/dkim.h>

#include "common/readfile.h"
#include "dkim/sign.h"
#include "dkim/sign_int.h"

/* the state of one am_signconf_load run */
struct loader {
	const struct am_sign_src *src;
	am_sign_err_fn		 errfn;
	void			*arg;
	size_t			 nerr;
	struct am_signconf	*sc;
	struct am_sign_keyent	*ents;	/* KeyTable lines, parallel to sc->keys */
	size_t			 nents;
};

/* report - one problem */
static void
report(struct loader *L, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(struct loader *L, const char *fmt, ...)
{
	char	 msg[1024];
	va_list	 ap;

	L->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (L->errfn != NULL)
		L->errfn(L->arg, msg);
}

/* check_mode - regular, owned by the run user, no group/other bits */
static const char *
check_mode(const struct stat *st, uid_t run_uid, char *why, size_t whylen)
{
	if (!S_ISREG(st->st_mode))
		return "not a regular file";
	if ((st->st_mode & 077) != 0) {
		snprintf(why, whylen, "readable or writable by group or others "
		    "(mode %04o; chmod 600)", (unsigned)(st->st_mode & 07777));
		return why;
	}
	if (st->st_uid != run_uid) {
		snprintf(why, whylen, "owned by uid %u, not by the run user "
		    "(uid %u)", (unsigned)st->st_uid, (unsigned)run_uid);
		return why;
	}
	return NULL;
}

/* read_key - the key file's bytes, after the permission checks */
static const char *
read_key(const char *path, uid_t run_uid, char **pem, size_t *len,
    char *why, size_t whylen)
{
	struct stat	 st;
	const char	*bad;

	/* stat, not lstat: the mode that matters is the key's own */
	if (stat(path, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return why;
	}
	if ((bad = check_mode(&st, run_uid, why, whylen)) != NULL)
		return bad;
	if (am_readfile(path, AM_SIGN_KEYFILE_MAX, pem, len, why,
	    whylen) == -1)
		return why;
	return NULL;
}

/*
 * raw_ed25519 - an Ed25519 key written as the base64 of its 32-byte seed
 * (RFC 8032 5.1.5; dkimpy's dknewkey and rspamd write them so), or NULL
 */
static EVP_PKEY *
raw_ed25519(const char *text, size_t len)
{
	unsigned char	 seed[64];
	int		 n;

	while (len > 0 && strchr(" \t\r\n", text[len - 1]) != NULL)
		len--;
	if (len != 44)			/* base64 of 32 bytes */
		return NULL;
	n = EVP_DecodeBlock(seed, (const unsigned char *)text, (int)len);
	if (n != 33 || text[43] != '=')	/* 32 bytes and one pad */
		return NULL;
	return EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
}

/* am_sign_pkey - a private key: PEM, or an Ed25519 base64 seed; or NULL */
EVP_PKEY *
am_sign_pkey(const char *text, size_t len)
{
	BIO		*bio;
	EVP_PKEY	*pk;

	if ((bio = BIO_new_mem_buf(text, (int)len)) == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	return pk != NULL ? pk : raw_ed25519(text, len);
}

/* decode_key - type and size of a PEM private key; NULL or the problem */
static const char *
decode_key(const char *pem, size_t len, struct am_sign_key *k, char *why,
    size_t whylen)
{
	EVP_PKEY	*pk;
	const char	*bad = NULL;

	if ((pk = am_sign_pkey(pem, len)) == NULL)
		return "neither a PEM private key (without passphrase) nor a "
		    "base64 Ed25519 seed";
	k->bits = (unsigned)EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		k->alg = DKIM_SIGN_RSASHA256;
		k->algname = "rsa-sha256";
		/* RFC 8301 3.2: 1024 is the floor; 2048 is what we sign with */
		if (k->bits < AM_SIGN_RSA_MIN_BITS) {
			snprintf(why, whylen, "RSA key of %u bits; at least "
			    "%u needed", k->bits, AM_SIGN_RSA_MIN_BITS);
			bad = why;
		}
		break;
	case EVP_PKEY_ED25519:
		k->alg = DKIM_SIGN_ED25519SHA256;	/* RFC 8463 */
		k->algname = "ed25519-sha256";
		k->pkey = pk;		/* sign_ed.c signs with it */
		pk = NULL;
		break;
	default:
		bad = "neither an RSA nor an Ed25519 key";
	}
	EVP_PKEY_free(pk);
	return bad;
}

/* dir_join - a relative key file taken relative to the table's folder */
static void
dir_join(const char *table, const char *file, char *out, size_t outlen)
{
	const char	*slash;

	if (file[0] == '/' || table == NULL ||
	    (slash = strrchr(table, '/')) == NULL) {
		snprintf(out, outlen, "%s", file);
		return;
	}
	snprintf(out, outlen, "%.*s/%s", (int)(slash - table), table, file);
}

/* load_key - one key: read, check, decode; problems say where */
static void
load_key(struct loader *L, const struct am_sign_keyent *e, const char *where,
    const char *table, struct am_sign_key *k)
{
	char		 path[4096], why[256];
	const char	*bad;

	dir_join(table, e->keyfile, path, sizeof(path));
	k->name = strdup(e->name);
	k->domain = strdup(e->domain);
	k->selector = strdup(e->selector);
	k->file = strdup(path);
	if (k->name == NULL || k->domain == NULL || k->selector == NULL ||
	    k->file == NULL) {
		report(L, "%s: out of memory", where);
		return;
	}
	bad = read_key(path, L->src->run_uid, &k->pem, &k->pemlen, why,
	    sizeof(why));
	if (bad == NULL)
		bad = decode_key(k->pem, k->pemlen, k, why, sizeof(why));
	if (bad != NULL)
		report(L, "%s: key file %s: %s", where, path, bad);
}

/* add_key - grow the key array by one zeroed entry; NULL on ENOMEM */
static struct am_sign_key *
add_key(struct am_signconf *sc)
{
	struct am_sign_key	*k;

	k = reallocarray(sc->keys, sc->nkeys + 1, sizeof(*k));
	if (k == NULL)
		return NULL;
	sc->keys = k;
	k = &sc->keys[sc->nkeys++];
	memset(k, 0, sizeof(*k));
	return k;
}

/*
 * each_line - call fn for every non-comment line of a table file; the
 * count of lines over AM_SIGN_TABLE_MAX is an error
 */
static void
each_line(struct loader *L, const char *path,
    void (*fn)(struct loader *, const char *, size_t, const char *))
{
	char	*buf, *pos, *line, *end, why[256];
	size_t	 len, lineno = 0, n = 0;
	int	 nul;

	if (am_readfile(path, AM_SIGN_TABLEFILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		report(L, "%s: %s", path, why);
		return;
	}
	pos = buf;
	while ((line = am_readfile_line(&pos, buf + len, &nul)) != NULL) {
		lineno++;
		line += strspn(line, " \t");
		end = line + strlen(line);
		while (end > line && strchr(" \t\r", end[-1]) != NULL)
			*--end = '\0';
		if (*line == '\0' || *line == '#')
			continue;
		if (nul)
			report(L, "%s:%zu: NUL byte", path, lineno);
		else if (++n > AM_SIGN_TABLE_MAX) {
			report(L, "%s:%zu: more than %d entries", path, lineno,
			    AM_SIGN_TABLE_MAX);
			break;
		} else
			fn(L, path, lineno, line);
	}
	free(buf);
}

/* key_line - one KeyTable line */
static void
key_line(struct loader *L, const char *path, size_t lineno, const char *line)
{
	struct am_sign_keyent	 e = { 0 }, *p;
	struct am_sign_key	*k;
	char			 err[256], where[4200];
	size_t			 i;

	snprintf(where, sizeof(where), "%s:%zu", path, lineno);
	if (am_signtable_keyline(line, &e, err, sizeof(err)) == -1) {
		report(L, "%s: %s", where, err);
		return;
	}
	for (i = 0; i < L->nents; i++)
		if (strcmp(L->ents[i].name, e.name) == 0) {
			report(L, "%s: key %s given twice, first at line %zu",
			    where, e.name, L->ents[i].line);
			am_signtable_keyent_clear(&e);
			return;
		}
	e.line = lineno;
	p = reallocarray(L->ents, L->nents + 1, sizeof(*p));
	if (p == NULL || (k = add_key(L->sc)) == NULL) {
		if (p != NULL)
			L->ents = p;
		report(L, "%s: out of memory", where);
		am_signtable_keyent_clear(&e);
		return;
	}
	L->ents = p;
	L->ents[L->nents++] = e;
	load_key(L, &e, where, path, k);
}

/* find_key - index of a key by name, or -1 */
static long
find_key(const struct am_signconf *sc, const char *name)
{
	size_t	 i;

	for (i = 0; i < sc->nkeys; i++)
		if (sc->keys[i].name != NULL && strcmp(sc->keys[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* rule_line - one SigningTable line; its key must be in the KeyTable */
static void
rule_line(struct loader *L, const char *path, size_t lineno, const char *line)
{
	struct am_signconf	*sc = L->sc;
	struct am_sign_rule	 r = { 0 }, *p;
	char			 err[256];
	long			 ki;

	if (am_signtable_ruleline(line, &r, err, sizeof(err)) == -1) {
		report(L, "%s:%zu: %s", path, lineno, err);
		return;
	}
	if ((ki = find_key(sc, r.keyname)) == -1) {
		report(L, "%s:%zu: key %s is not in the KeyTable", path, lineno,
		    r.keyname);
		am_signtable_rule_clear(&r);
		return;
	}
	r.key = (size_t)ki;
	r.line = lineno;
	if ((p = reallocarray(sc->rules, sc->nrules + 1, sizeof(*p))) == NULL) {
		report(L, "%s:%zu: out of memory", path, lineno);
		am_signtable_rule_clear(&r);
		return;
	}
	sc->rules = p;
	sc->rules[sc->nrules++] = r;
}

/* load_trio - Domain / Selector / KeyFile: one key, one domain rule */
static void
load_trio(struct loader *L)
{
	const struct am_sign_src *s = L->src;
	struct am_sign_keyent	 e = { "default", NULL, NULL, NULL, 0 };
	struct am_sign_rule	 r = { NULL, NULL, 0, 0 };
	struct am_sign_key	*k;

	if (s->domain == NULL || s->selector == NULL) {
		report(L, "%s: needs Domain and Selector too", s->trio_where);
		return;
	}
	e.domain = (char *)s->domain;
	e.selector = (char *)s->selector;
	e.keyfile = (char *)s->keyfile;
	if ((k = add_key(L->sc)) == NULL ||
	    (r.pattern = strdup(s->domain)) == NULL ||
	    (L->sc->rules = calloc(1, sizeof(r))) == NULL) {
		free(r.pattern);
		report(L, "%s: out of memory", s->trio_where);
		return;
	}
	load_key(L, &e, s->trio_where, NULL, k);
	L->sc->rules[0] = r;
	L->sc->nrules = 1;
}

/* am_signconf_load - every key and rule, or NULL after the reports */
struct am_signconf *
am_signconf_load(const struct am_sign_src *src, am_sign_err_fn errfn,
    void *arg)
{
	struct loader	 L = { src, errfn, arg, 0, NULL, NULL, 0 };
	size_t		 i;

	if ((L.sc = calloc(1, sizeof(*L.sc))) == NULL) {
		report(&L, "signing keys: out of memory");
		return NULL;
	}
	if (src->keyfile != NULL && (src->keytable || src->signtable))
		report(&L, "%s: KeyFile and KeyTable/SigningTable exclude "
		    "each other", src->trio_where);
	else if (src->keyfile != NULL)
		load_trio(&L);
	else if (src->keytable == NULL || src->signtable == NULL)
		report(&L, "%s: KeyTable and SigningTable go together",
		    src->trio_where);
	else {
		each_line(&L, src->keytable, key_line);
		each_line(&L, src->signtable, rule_line);
	}
	for (i = 0; i < L.nents; i++)
		am_signtable_keyent_clear(&L.ents[i]);
	free(L.ents);
	if (L.nerr == 0 && am_sign_lib_setup(L.sc) == -1)
		report(&L, "libopendkim: cannot set up signing");
	if (L.nerr != 0) {
		am_signconf_free(L.sc);
		return NULL;
	}
	return L.sc;
}

/* am_signconf_free - keys (their bytes wiped), rules, the library */
void
am_signconf_free(struct am_signconf *sc)
{
	size_t	 i;

	if (sc == NULL)
		return;
	for (i = 0; i < sc->nkeys; i++) {
		if (sc->keys[i].pem != NULL)
			explicit_bzero(sc->keys[i].pem, sc->keys[i].pemlen);
		free(sc->keys[i].pem);
		free(sc->keys[i].name);
		free(sc->keys[i].domain);
		free(sc->keys[i].selector);
		free(sc->keys[i].file);
		EVP_PKEY_free(sc->keys[i].pkey);
	}
	free(sc->keys);
	for (i = 0; i < sc->nrules; i++)
		am_signtable_rule_clear(&sc->rules[i]);
	free(sc->rules);
	if (sc->lib != NULL)
		dkim_close(sc->lib);
	free(sc);
}

/* am_signconf_nkeys - how many keys */
size_t
am_signconf_nkeys(const struct am_signconf *sc)
{
	return sc != NULL ? sc->nkeys : 0;
}
