/*
 * sign_int.h - what sign_conf.c (loading) and sign.c (signing) share;
 * private to dkim/sign*.c.
 */
#ifndef AM_SIGN_INT_H
#define AM_SIGN_INT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <opendkim/dkim.h>

#include "dkim/signtable.h"

/* one signing key, decoded and checked at load */
struct am_sign_key {
	char		*name;
	char		*domain;
	char		*selector;
	char		*file;		/* the key file, for messages */
	char		*pem;		/* the key file's bytes; never logged */
	size_t		 pemlen;
	int		 alg;		/* DKIM_SIGN_RSASHA256 / _ED25519SHA256 */
	const char	*algname;	/* "rsa-sha256", "ed25519-sha256" */
	EVP_PKEY	*pkey;		/* ed25519: the key, decoded once (sign_ed.c) */
	unsigned int	 bits;
};

struct am_signconf {
	DKIM_LIB		*lib;		/* signing only */
	struct am_sign_key	*keys;
	size_t			 nkeys;
	struct am_sign_rule	*rules;		/* SigningTable, in file order */
	size_t			 nrules;
};

/* am_sign_pkey - a private key: PEM, or an Ed25519 base64 seed; or NULL */
EVP_PKEY *am_sign_pkey(const char *text, size_t len);

/* sign_ed.c: ed25519-sha256 signatures made without libopendkim */
struct am_edsig;
struct am_edsig	*am_edsig_new(const struct am_sign_key *);	/* NULL: ENOMEM */
void		 am_edsig_free(struct am_edsig *);		/* NULL is fine */
void		 am_edsig_body(struct am_edsig *, const unsigned char *, size_t);
char		*am_edsig_finish(struct am_edsig *, const char *const *hv,
		    const size_t *hl, size_t nh, long long t);

/* am_sign_lib_setup - sc->lib with the header lists of sign.h; 0 or -1 */
int	am_sign_lib_setup(struct am_signconf *sc);

#endif /* AM_SIGN_INT_H */
