/*
 * sign.h - DKIM signing of the site's own mail (RFC 6376 5; RFC 8463
 * ed25519-sha256; RFC 8301: rsa-sha256 with keys of at least 2048 bits
 * here, sha1 never): rsa-sha256 through libopendkim's dkim_sign,
 * ed25519-sha256 by sign_ed.c (libopendkim 2.11 leaks per ed25519
 * signature).
 *
 * struct am_signconf is the keys and tables of one configuration
 * snapshot: read and checked once (at start and at each reload), then
 * read-only and shared by every thread; it owns its own DKIM_LIB, set up
 * for signing only (header list and oversigning below).  struct
 * am_signer is one message, used by one thread.
 *
 * Every signature: c=relaxed/relaxed (RFC 6376 3.4.2, 3.4.4: survives the
 * whitespace and case changes of relays), no l= (a body length lets
 * anyone append to the body), t= the signing time, h= the fields of
 * AM_SIGN_HEADERS present in the message, and the fields of
 * AM_SIGN_OVERSIGN once more than present (RFC 6376 8.15: a field added
 * later then breaks the signature).
 *
 * Key files: PEM private keys (PKCS#8 or traditional RSA, as openssl and
 * opendkim-genkey write them), RSA of AM_SIGN_RSA_MIN_BITS or more, or
 * Ed25519 (PEM, or the base64 seed dknewkey and rspamd write).  A key file must be a regular file of at most
 * AM_SIGN_KEYFILE_MAX bytes, owned by the run user, with no group or
 * other permission bits.  The key's bytes are never logged.
 */
#ifndef AM_SIGN_H
#define AM_SIGN_H

#include <sys/types.h>

#include <stddef.h>

#include "common/buf.h"
#include "dkim/signtable.h"

#define AM_SIGN_RSA_MIN_BITS	2048	/* RFC 8301 3.2 allows 1024; we sign with more */
#define AM_SIGN_KEYFILE_MAX	(16 * 1024)	/* a 8192-bit RSA PEM is ~6.5 KB */
#define AM_SIGN_TABLEFILE_MAX	(4 * 1024 * 1024)	/* KeyTable, SigningTable */
#define AM_SIGN_HEADER_BYTES_MAX (1024 * 1024)	/* header kept until EOH */

/* the default header lists (documented in README "Signing") */
#define AM_SIGN_HEADERS	"From Sender Reply-To Subject Date Message-ID To Cc " \
	"MIME-Version Content-Type Content-Transfer-Encoding Content-Language " \
	"In-Reply-To References List-Id List-Help List-Unsubscribe " \
	"List-Unsubscribe-Post List-Post List-Owner List-Archive"
#define AM_SIGN_OVERSIGN "From Sender Reply-To Subject Date Message-ID To Cc " \
	"MIME-Version Content-Type Content-Transfer-Encoding In-Reply-To " \
	"References List-Unsubscribe List-Unsubscribe-Post"

/* where the keys come from; strings borrowed */
struct am_sign_src {
	const char	*keytable;	/* KeyTable file, or NULL */
	const char	*signtable;	/* SigningTable file, or NULL */
	const char	*domain;	/* Domain / Selector / KeyFile trio */
	const char	*selector;
	const char	*keyfile;
	const char	*trio_where;	/* "conf:line: KeyFile" for its errors */
	uid_t		 run_uid;	/* the user that must own key files */
};

typedef void (*am_sign_err_fn)(void *arg, const char *msg);

struct am_signconf;
struct am_signer;

/*
 * am_signconf_load - read and check every key and table entry; every
 * problem is reported through errfn ("file:line: ..."), then NULL.  NULL
 * without a report when nothing is configured is not possible: call it
 * only when some key is set.
 */
struct am_signconf *am_signconf_load(const struct am_sign_src *,
	    am_sign_err_fn errfn, void *arg);
void	am_signconf_free(struct am_signconf *);		/* NULL is fine */
size_t	am_signconf_nkeys(const struct am_signconf *);

/* am_signer_new - one message's signer; NULL on ENOMEM */
struct am_signer *am_signer_new(const struct am_signconf *, const char *qid);
void	am_signer_free(struct am_signer *);		/* NULL is fine */

/*
 * Headers are kept until am_signer_eoh (the key depends on From, which
 * may come last).  Past AM_SIGN_HEADER_BYTES_MAX the message is not
 * signed (am_signer_skipped says why).  -1 only on an internal failure.
 */
int	am_signer_header(struct am_signer *, const char *name, const char *value);

/*
 * am_signer_eoh - choose the keys for the From address (signtable.h
 * am_signtable_from_addr; addr NULL: the From field was unusable, not
 * signed) and start signing.  0, or -1 on an internal failure.
 */
int	am_signer_eoh(struct am_signer *, const char *addr, const char *domain);
int	am_signer_body(struct am_signer *, const unsigned char *, size_t);
int	am_signer_eom(struct am_signer *);

/* after eom: the signatures, each a DKIM-Signature value (LF folds) */
size_t	 am_signer_count(const struct am_signer *);
const char *am_signer_value(const struct am_signer *, size_t i);
/* why the message was not signed (static text), or NULL */
const char *am_signer_skipped(const struct am_signer *);
/* "rsa-sha256:example.com:sel,..." for the log */
void	 am_signer_describe(const struct am_signer *, struct am_buf *);

#endif /* AM_SIGN_H */
