/*
 * sign_record.c - the public key record of a signing key (sign_record.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "dkim/sign_int.h"
#include "dns/dns.h"
#include "dkim/sign_record.h"

/* add_b64 - base64 of n bytes, no line breaks */
static int
add_b64(struct am_buf *b, const unsigned char *p, size_t n)
{
	unsigned char	*out;
	int		 len;

	if ((out = malloc(4 * ((n + 2) / 3) + 1)) == NULL)
		return -1;
	len = EVP_EncodeBlock(out, p, (int)n);
	am_buf_add(b, (const char *)out, (size_t)len);
	free(out);
	return 0;
}

/* public_bytes - what p= encodes: SPKI DER (rsa) or the raw key (ed25519) */
static unsigned char *
public_bytes(EVP_PKEY *pk, size_t *n)
{
	unsigned char	*der = NULL;
	int		 len;

	if (EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519) {
		if (EVP_PKEY_get_raw_public_key(pk, NULL, n) != 1 ||
		    (der = malloc(*n)) == NULL)
			return NULL;
		if (EVP_PKEY_get_raw_public_key(pk, der, n) != 1) {
			free(der);
			return NULL;
		}
		return der;
	}
	if ((len = i2d_PUBKEY(pk, &der)) <= 0)
		return NULL;
	*n = (size_t)len;
	return der;
}

/* am_sign_record - the TXT record for a private key */
int
am_sign_record(const char *key, size_t len, struct am_buf *b)
{
	EVP_PKEY	*pk;
	unsigned char	*pub;
	size_t		 n = 0;
	int		 ed, rc = -1;

	if ((pk = am_sign_pkey(key, len)) == NULL)
		return -1;
	ed = EVP_PKEY_get_base_id(pk) == EVP_PKEY_ED25519;
	if ((ed || EVP_PKEY_get_base_id(pk) == EVP_PKEY_RSA) &&
	    (pub = public_bytes(pk, &n)) != NULL) {
		am_buf_addf(b, "v=DKIM1; k=%s; p=", ed ? "ed25519" : "rsa");
		rc = add_b64(b, pub, n);
		/* i2d_PUBKEY allocates with OPENSSL_malloc */
		if (ed)
			free(pub);
		else
			OPENSSL_free(pub);
	}
	EVP_PKEY_free(pk);
	return rc == 0 && !am_buf_failed(b) ? 0 : -1;
}

/* am_sign_record_p - the p= tag's value, white space removed */
int
am_sign_record_p(const char *rec, struct am_buf *b)
{
	const char	*p = rec;

	/* RFC 6376 3.2: tag-list, "p" after ';' or at the start */
	for (;;) {
		p += strspn(p, " \t\r\n");
		if (p[0] == 'p' && (p[1 + strspn(p + 1, " \t\r\n")] == '='))
			break;
		if ((p = strchr(p, ';')) == NULL)
			return -1;
		p++;
	}
	p = strchr(p, '=') + 1;
	for (; *p != '\0' && *p != ';'; p++)
		if (!isspace((unsigned char)*p))
			am_buf_addc(b, *p);
	return am_buf_failed(b) ? -1 : 0;
}

/* published - does one of the TXT records carry the key's p=? */
static int
published(char **txt, size_t ntxt, const char *want)
{
	struct am_buf	 p;
	size_t		 i;
	int		 same = 0;

	am_buf_init(&p, 8192);
	for (i = 0; i < ntxt && !same; i++) {
		am_buf_reset(&p);
		same = am_sign_record_p(txt[i], &p) == 0 &&
		    strcmp(am_buf_str(&p), want) == 0;
	}
	am_buf_clear(&p);
	return same;
}

/* check_key - one key against its published record; logs the outcome */
static void
check_key(const struct am_sign_key *k, struct am_dns *dns)
{
	struct am_buf		 rec, want;
	char			 name[600], **txt = NULL;
	size_t			 ntxt = 0;
	enum am_dns_status	 st;

	snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector,
	    k->domain);
	am_buf_init(&rec, 8192);
	am_buf_init(&want, 8192);
	if (am_sign_record(k->pem, k->pemlen, &rec) == -1 ||
	    am_sign_record_p(am_buf_str(&rec), &want) == -1)
		goto out;
	st = am_dns_txt(dns, NULL, name, &txt, &ntxt);
	if (st == AM_DNS_OK && published(txt, ntxt, am_buf_str(&want)))
		am_log_debug(NULL, "signing key %s: %s publishes it", k->name,
		    name);
	else if (st == AM_DNS_OK)
		am_log_warn(NULL, "signing key %s (%s): the record at %s does "
		    "not match it; its signatures will fail", k->name, k->file,
		    name);
	else if (st == AM_DNS_NXDOMAIN || st == AM_DNS_NODATA)
		am_log_warn(NULL, "signing key %s (%s): no record at %s; "
		    "publish \"%s\"", k->name, k->file, name, am_buf_str(&rec));
	else
		am_log_info(NULL, "signing key %s: cannot look up %s now",
		    k->name, name);
	am_dns_txt_free(txt, ntxt);
out:
	am_buf_clear(&rec);
	am_buf_clear(&want);
}

/* am_sign_check_dns - each key against DNS, logged */
void
am_sign_check_dns(const struct am_signconf *sc, struct am_dns *dns,
    int (*stop)(void))
{
	size_t	 i;

	if (sc == NULL || dns == NULL)
		return;
	for (i = 0; i < sc->nkeys && i < AM_SIGN_CHECK_MAX; i++) {
		if (stop != NULL && stop())
			return;
		check_key(&sc->keys[i], dns);
	}
}
