/*
 * keycache_selftest.c - do libopendkim's key decoding and its Ed25519
 * checks reach our interposed functions?  (am_keycache_selftest, declared
 * in dkim_keycache.h)
 *
 * dkim_keycache.c only works while libopendkim decodes RSA keys with
 * d2i_PUBKEY_bio(), and Ed25519 keys with EVP_PKEY_new_raw_public_key(),
 * and the dynamic linker binds those calls to our definitions;
 * dkim_edverify.c likewise for EVP_DigestVerify().  A libopendkim or
 * OpenSSL that does it some other way, or a link that no longer exports
 * the symbols, would bypass them without a sound: every signature decodes
 * its key again and Ed25519 is checked by OpenSSL (slower, results
 * unchanged but for dkim_edverify.h's degenerate keys).  So at start-up
 * two built-in messages are verified through a private DKIM_LIB whose key
 * look-up hook hands over built-in key records (no DNS), and the counters
 * must move.
 *
 * The messages were signed once with throw-away keys (dkimpy): a 1024-bit
 * RSA key (t= in the past so no clock can call it "future") and an Ed25519
 * key (t= 2026-12-07); the private halves were not kept.  Nothing here is
 * used to verify real mail.
 */
#include <stdio.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "common/log.h"
#include "dkim/dkim_edverify.h"
#include "dkim/dkim_keycache.h"

/* the public halves, published for s=selftest and s=edselftest */
static const char selftest_key[] = "v=DKIM1; k=rsa; p="
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCc+qCKnqJcHdx5DhDQEgthvjn1BlrS"
	"aiIyaN+Bkd/88kvD+DLHf6vFhU3u6QeCUA8UY5sMYhLU9MktiMAMOwp5ZSxXKyiYmp3Z"
	"wewXxtO+tqplhwQiLKn9Yr6feIpYiI8V8GpuXnjnGqfYtUHxLSxCZ6tciJstr/hHD5Nj"
	"9dKpEQIDAQAB";

static const char edselftest_key[] = "v=DKIM1; k=ed25519; "
	"p=HJugQwqBGMsYp13SsrpboJ28JTgQyszt+FSY5T+OEus=";

/* the signed messages, CRLF line ends, as an MTA would hand them over */
static const char selftest_msg[] =
	"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
	" d=authmilter.invalid; i=@authmilter.invalid; q=dns/txt; s=selftest;\r\n"
	" t=1704067200; h=from : to : subject;\r\n"
	" bh=V4Davjgc/yCfPxP1LxxLZHty5PFHKOfu9yLUhaJg+Mo=;\r\n"
	" b=WplIrYffF2YYH5apH+uSYVs7WeUsBSM/C3aiVeYA8w+uPsY7Vsvuw5Vuqd3UCpGgLVgS2\r\n"
	" +NPrmYm59m8ozC0GDFsntEgc7tUsPPhims6Mj9jvms9XQ/jQhsedhZJbOON0wbUhjwcdgdD\r\n"
	" k5K1m0Vt2rhR2mgTh5yXGuA/1wUQFfs=\r\n"
	"From: selftest@authmilter.invalid\r\n"
	"To: selftest@authmilter.invalid\r\n"
	"Subject: key cache self-test\r\n"
	"\r\n"
	"key cache self-test\r\n";

static const char edselftest_msg[] =
	"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	" d=authmilter.invalid; i=@authmilter.invalid; q=dns/txt; s=edselftest;\r\n"
	" t=1796674126; h=from : to : subject;\r\n"
	" bh=+MwvrrZ04vbA8zhb9kKBN1LXFAHnffbZ6SaQUmiOm4s=;\r\n"
	" b=WHHUIlTH58yOlRXN/RVdujSFb0OVIjMsDRABofsYEvutTa0ojEaLGDH+H+MwTTT1bXTFl\r\n"
	" G5/Zu7Y08LHEphCAA==\r\n"
	"From: selftest@authmilter.invalid\r\n"
	"To: selftest@authmilter.invalid\r\n"
	"Subject: ed25519 self-test\r\n"
	"\r\n"
	"ed25519 self-test\r\n";

/* fixed_key - libopendkim key look-up hook: the built-in record of the
   signature's selector, no DNS */
static DKIM_CBSTAT
fixed_key(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	const char	*sel = (const char *)dkim_sig_getselector(sig);
	const char	*rec;
	size_t		 len;

	(void)dkim;
	if (sel != NULL && strcmp(sel, "edselftest") == 0) {
		rec = edselftest_key;
		len = sizeof(edselftest_key);
	} else {
		rec = selftest_key;
		len = sizeof(selftest_key);
	}
	if (len > buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, rec, len);
	return DKIM_CBSTAT_CONTINUE;
}

/* run - verify msg with lib; 0 if its signature passed */
static int
run(DKIM_LIB *lib, const char *msg, size_t len, char *why, size_t whylen)
{
	DKIM		*d;
	DKIM_SIGINFO	*sig;
	DKIM_STAT	 st;
	int		 rc = -1;

	d = dkim_verify(lib, (const u_char *)"selftest", NULL, &st);
	if (d == NULL) {
		snprintf(why, whylen, "dkim_verify: %s", dkim_getresultstr(st));
		return -1;
	}
	if ((st = dkim_chunk(d, (u_char *)msg, len)) == DKIM_STAT_OK &&
	    (st = dkim_chunk(d, NULL, 0)) == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	sig = dkim_getsignature(d);
	if (st == DKIM_STAT_OK && sig != NULL && DKIM_SIG_CHECK(sig))
		rc = 0;
	else
		snprintf(why, whylen, "a built-in message did not verify "
		    "(%s)", dkim_getresultstr(st));
	dkim_free(d);
	return rc;
}

/* verify_builtin - both messages through a private DKIM_LIB; 0 if both
   signatures passed */
static int
verify_builtin(char *why, size_t whylen)
{
	DKIM_LIB	*lib;
	int		 rc;

	if ((lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(why, whylen, "dkim_init failed");
		return -1;
	}
	if (dkim_set_key_lookup(lib, fixed_key) != DKIM_STAT_OK) {
		snprintf(why, whylen, "cannot set the key look-up hook");
		dkim_close(lib);
		return -1;
	}
	rc = run(lib, selftest_msg, sizeof(selftest_msg) - 1, why, whylen);
	if (rc == 0)
		rc = run(lib, edselftest_msg, sizeof(edselftest_msg) - 1, why,
		    whylen);
	dkim_close(lib);
	return rc;
}

/* am_keycache_selftest - 0 if libopendkim's key decoding reaches the cache
   and its Ed25519 checks reach libsodium */
int
am_keycache_selftest(void)
{
	struct am_keycache_stats	 st0, st1;
	struct am_edverify_stats	 ed0, ed1;
	char				 why[256] = "";
	int				 ok, rc = 0;

	am_keycache_stats(&st0);
	am_edverify_stats(&ed0);
	ok = verify_builtin(why, sizeof(why)) == 0;
	am_keycache_stats(&st1);
	am_edverify_stats(&ed1);
	/* two keys decoded: the RSA one and the Ed25519 one */
	if (st1.hits + st1.misses < st0.hits + st0.misses + 2) {
		am_log_warn(NULL, "DKIM key cache bypassed: libopendkim did not "
		    "decode the self-test keys through d2i_PUBKEY_bio() and "
		    "EVP_PKEY_new_raw_public_key(); every signature's key is "
		    "decoded again (slower, results unchanged)");
		rc = -1;
	}
	if (ed1.started && !ed1.sodium_ok) {
		am_log_warn(NULL, "Ed25519 checks bypass libsodium: it cannot "
		    "start without a random source (getrandom, /dev/urandom); "
		    "OpenSSL checks them (slower; degenerate keys accepted, "
		    "see dkim_edverify.h)");
		rc = -1;
	} else if (ed1.sodium == ed0.sodium) {
		am_log_warn(NULL, "Ed25519 checks bypass libsodium: libopendkim "
		    "did not call EVP_DigestVerify() through dkim_edverify.c; "
		    "OpenSSL checks them (slower; degenerate keys accepted, "
		    "see dkim_edverify.h)");
		rc = -1;
	}
	if (!ok) {
		am_log_warn(NULL, "DKIM key cache self-test: %s", why);
		rc = -1;
	}
	if (rc == 0)
		am_log_debug(NULL, "DKIM key cache self-test passed: libopendkim's "
		    "key decoding reaches the cache, its Ed25519 checks reach "
		    "libsodium");
	return rc;
}
