/*
 * keygen.c - authmilter-keygen: a DKIM signing key pair and the DNS
 * record to publish, like opendkim-genkey (issue 18).
 *
 *	authmilter-keygen [-t rsa|ed25519] [-b bits] [-d domain]
 *	    [-s selector] [-D directory]
 *
 * writes DIRECTORY/SELECTOR.private (PKCS#8 PEM, mode 0600, never over an
 * existing file) and DIRECTORY/SELECTOR.txt (the TXT record in zone file
 * form, split into strings of at most 255 bytes, RFC 1035 3.3.14), and
 * prints the KeyTable line.  A program rather than a script around the
 * openssl command: it needs nothing authmilter does not link already
 * (libcrypto), and it makes the record with the same code
 * (dkim/sign_record.c) that checks the published record at start.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/buf.h"
#include "dkim/sign.h"
#include "dkim/sign_record.h"

#define TXT_STRING_MAX	255	/* RFC 1035 3.3.14 character-string */

struct opts {
	const char	*type;
	unsigned long	 bits;
	const char	*domain;
	const char	*selector;
	const char	*dir;
};

static void
usage(void)
{
	fprintf(stderr, "usage: authmilter-keygen [-t rsa|ed25519] [-b bits] "
	    "[-d domain] [-s selector] [-D directory]\n");
	exit(EX_USAGE);
}

/* parse - the options; exits on a bad one */
static void
parse(int argc, char **argv, struct opts *o)
{
	char	*end;
	int	 ch;

	*o = (struct opts){ "rsa", 2048, "example.com", "default", "." };
	while ((ch = getopt(argc, argv, "t:b:d:s:D:")) != -1) {
		switch (ch) {
		case 't': o->type = optarg; break;
		case 'b':
			errno = 0;
			o->bits = strtoul(optarg, &end, 10);
			if (errno != 0 || *end != '\0')
				usage();
			break;
		case 'd': o->domain = optarg; break;
		case 's': o->selector = optarg; break;
		case 'D': o->dir = optarg; break;
		default: usage();
		}
	}
	if (optind != argc || (strcmp(o->type, "rsa") != 0 &&
	    strcmp(o->type, "ed25519") != 0))
		usage();
	/* RFC 8301 3.2 asks 1024; authmilter signs with 2048 or more */
	if (strcmp(o->type, "rsa") == 0 && (o->bits < AM_SIGN_RSA_MIN_BITS ||
	    o->bits > 16384)) {
		fprintf(stderr, "authmilter-keygen: RSA keys of %d to 16384 "
		    "bits\n", AM_SIGN_RSA_MIN_BITS);
		exit(EX_USAGE);
	}
	if (strchr(o->selector, '/') != NULL || o->selector[0] == '.')
		usage();
}

/* write_private - SELECTOR.private, 0600, created new; 0 or -1 */
static int
write_private(const char *path, EVP_PKEY *pk)
{
	FILE	*f;
	int	 fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1) {
		fprintf(stderr, "authmilter-keygen: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0 || !ok) {
		fprintf(stderr, "authmilter-keygen: %s: cannot write\n", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* write_record - SELECTOR.txt: the record as a zone file line */
static int
write_record(const char *path, const struct opts *o, const char *rec)
{
	FILE	*f;
	size_t	 len = strlen(rec), i;

	if ((f = fopen(path, "wx")) == NULL) {
		fprintf(stderr, "authmilter-keygen: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	fprintf(f, "%s._domainkey\tIN\tTXT\t( ", o->selector);
	for (i = 0; i < len; i += TXT_STRING_MAX)
		fprintf(f, "%s\"%.*s\"", i ? "\n\t  " : "",
		    (int)(len - i < TXT_STRING_MAX ? len - i : TXT_STRING_MAX),
		    rec + i);
	fprintf(f, " )  ; ----- DKIM key %s for %s\n", o->selector, o->domain);
	return fclose(f) == 0 ? 0 : -1;
}

/* record_of - the TXT record text of a key, via its PEM */
static int
record_of(EVP_PKEY *pk, struct am_buf *b)
{
	BIO	*bio;
	char	*data;
	long	 len;
	int	 rc = -1;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return -1;
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0)
		rc = am_sign_record(data, (size_t)len, b);
	BIO_free(bio);
	return rc;
}

/* make_files - the key file, then the record; an exit status */
static int
make_files(const struct opts *o, EVP_PKEY *pk, const char *rec)
{
	char	 priv[PATH_MAX], txt[PATH_MAX], abs[PATH_MAX];

	snprintf(priv, sizeof(priv), "%s/%s.private", o->dir, o->selector);
	snprintf(txt, sizeof(txt), "%s/%s.txt", o->dir, o->selector);
	if (write_private(priv, pk) == -1)
		return EX_CANTCREAT;
	if (write_record(txt, o, rec) == -1) {
		unlink(priv);
		return EX_CANTCREAT;
	}
	if (realpath(priv, abs) == NULL)
		snprintf(abs, sizeof(abs), "%s", priv);
	/* the KeyTable line that uses it (authmilter.conf(5)) */
	printf("%s %s:%s:%s\n", o->selector, o->domain, o->selector, abs);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts	 o;
	EVP_PKEY	*pk;
	struct am_buf	 rec;
	int		 rc;

	parse(argc, argv, &o);
	umask(077);
	if (strcmp(o.type, "rsa") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)o.bits);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	am_buf_init(&rec, 8192);
	if (pk == NULL || record_of(pk, &rec) == -1) {
		fprintf(stderr, "authmilter-keygen: cannot make the key\n");
		rc = EX_SOFTWARE;
	} else
		rc = make_files(&o, pk, am_buf_str(&rec));
	EVP_PKEY_free(pk);
	am_buf_clear(&rec);
	return rc;
}
