/*
 * keycache_selftest.c - does libopendkim's key decoding reach the key
 * cache?  (am_keycache_selftest, declared in dkim_keycache.h)
 *
 * dkim_keycache.c only works while libopendkim decodes RSA keys with
 * d2i_PUBKEY_bio() and the dynamic linker binds that call to our
 * definition.  A libopendkim or OpenSSL that decodes keys some other way,
 * or a link that no longer exports the symbol, would bypass the cache
 * without a sound: every signature decodes its key again (slower, results
 * unchanged).  So at start-up a built-in message is verified through a
 * private DKIM_LIB whose key look-up hook hands over a built-in key record
 * (no DNS), and the cache's counters must move.
 *
 * The message was signed once with a throw-away 1024-bit RSA key (dkimpy,
 * t= in the past so no clock can call it "future"); the private half was
 * not kept.  Nothing here is used to verify real mail.
 */
#include <stdio.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "common/log.h"
#include "dkim/dkim_keycache.h"

/* the public half, published for s=selftest d=authmilter.invalid */
static const char selftest_key[] = "v=DKIM1; k=rsa; p="
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCc+qCKnqJcHdx5DhDQEgthvjn1BlrS"
	"aiIyaN+Bkd/88kvD+DLHf6vFhU3u6QeCUA8UY5sMYhLU9MktiMAMOwp5ZSxXKyiYmp3Z"
	"wewXxtO+tqplhwQiLKn9Yr6feIpYiI8V8GpuXnjnGqfYtUHxLSxCZ6tciJstr/hHD5Nj"
	"9dKpEQIDAQAB";

/* one signed message, CRLF line ends, as an MTA would hand it over */
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

/* fixed_key - libopendkim key look-up hook: the built-in record, no DNS */
static DKIM_CBSTAT
fixed_key(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	if (sizeof(selftest_key) > buflen)
		return DKIM_CBSTAT_ERROR;
	memcpy(buf, selftest_key, sizeof(selftest_key));
	return DKIM_CBSTAT_CONTINUE;
}

/* run - verify the built-in message with lib; 0 if its signature passed */
static int
run(DKIM_LIB *lib, char *why, size_t whylen)
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
	if ((st = dkim_chunk(d, (u_char *)selftest_msg,
	    sizeof(selftest_msg) - 1)) == DKIM_STAT_OK &&
	    (st = dkim_chunk(d, NULL, 0)) == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	sig = dkim_getsignature(d);
	if (st == DKIM_STAT_OK && sig != NULL && DKIM_SIG_CHECK(sig))
		rc = 0;
	else
		snprintf(why, whylen, "the built-in message did not verify "
		    "(%s)", dkim_getresultstr(st));
	dkim_free(d);
	return rc;
}

/* verify_builtin - run() on a private DKIM_LIB; 0 if the signature passed */
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
	rc = run(lib, why, whylen);
	dkim_close(lib);
	return rc;
}

/* am_keycache_selftest - 0 if libopendkim's key decoding reaches the cache */
int
am_keycache_selftest(void)
{
	struct am_keycache_stats	 st0, st1;
	char				 why[256] = "";
	int				 ok;

	am_keycache_stats(&st0);
	ok = verify_builtin(why, sizeof(why)) == 0;
	am_keycache_stats(&st1);
	if (st1.hits + st1.misses == st0.hits + st0.misses) {
		am_log_warn(NULL, "DKIM key cache bypassed: libopendkim did not "
		    "decode the self-test key through d2i_PUBKEY_bio()%s%s; "
		    "every signature's key is decoded again (slower, results "
		    "unchanged)", ok ? "" : ", and ", why);
		return -1;
	}
	if (!ok) {
		am_log_warn(NULL, "DKIM key cache self-test: %s", why);
		return -1;
	}
	am_log_debug(NULL, "DKIM key cache self-test passed: libopendkim's "
	    "key decoding reaches the cache");
	return 0;
}
