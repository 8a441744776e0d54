/*
 * fuzz_engine_daemon.c - the engine's per-connection loop with authmilter's
 * own callbacks (milter/daemon/callbacks.c): the MTA's byte stream through
 * am_mctx_serve() (fuzz_serve.h), negotiation, the session, SPF, DKIM,
 * DMARC, the verdict and the header edits, as the daemon runs them.
 *
 * Input: the bytes an MTA writes on one milter connection (the seeds are
 * those of fuzz_engine).  DNS is local data only (no network): the zone
 * below, made for the seeds (example.org: SPF for 192.0.2.10, DMARC
 * p=reject, the DKIM key of tests/unit/data/dkim/example.org-rs.dns).
 *
 * Properties: no sanitizer report or leak (a connection's state outliving
 * it shows as a leak), the engine's replies well framed (fuzz_serve.h),
 * and no connection state left when the connection is gone.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "daemon/callbacks.h"
#include "daemon/daemon.h"
#include "dkim/dkim.h"
#include "dns/dns.h"
#include "fuzz_serve.h"

static const char *const zone[] = {
	"example.org. 300 IN TXT \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all\"",
	"mail.example.org. 300 IN TXT \"v=spf1 a -all\"",
	"mail.example.org. 300 IN A 192.0.2.10",
	"_dmarc.example.org. 300 IN TXT \"v=DMARC1; p=reject\"",
	"example.com. 300 IN TXT \"v=spf1 include:example.org ~all\"",
	"_dmarc.example.com. 300 IN TXT \"v=DMARC1; p=none; sp=quarantine\"",
	/* one TXT string holds at most 255 bytes: the key in three */
	"rs._domainkey.example.org. 300 IN TXT "
	    "\"v=DKIM1; k=rsa; h=sha256; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ"
	    "8AMIIBCgKCAQEAk4JxodTVSrv1QZeUws/0PfM5dEp9Ais/l6+J8Nip4a79sa"
	    "nAnp8FEXNscA0UU1IJTlKW+qqQ54LYCNVQMXVunR/EVEwn/heU2M1cP44UR+"
	    "CC\" "
	    "\"JCZSbmnFZ+J90O8eU9d1efGnsBrRva6+LCgHXAuTtzIjYh6rHeTOFHrqMN"
	    "bmaCPCbqFvrnSXSG76g14/yo+7xTg5F1bvWSIWYjwWpiZi7OBjjHmcqY360I"
	    "MCBGqndPKxPw8YY7icQEby+sYwImsh2Hb1a13JLF6aOW9BWlNEQPLarCulOq"
	    "QR\" "
	    "\"+tIm4/XJnR30jpABL+xpXL9e5mk0KI1Fzpj7ZK1tD6gGyuDm+aVcIwIDAQ"
	    "AB\"",
};

/* daemon - what main() would make, with a local-data resolver */
static struct am_daemon *
daemon_new(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 1 };
	struct am_daemon	*d;
	struct am_config	*cfg;
	char			 err[256];
	size_t			 i;

	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (cfg = am_config_defaults()) == NULL)
		abort();
	free(cfg->authserv_id);
	if ((cfg->authserv_id = strdup("mx.fuzz.example")) == NULL)
		abort();
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = cfg;
	if ((d->env.dns = am_dns_new(&o, err, sizeof(err))) == NULL)
		abort();
	for (i = 0; i < sizeof(zone) / sizeof(zone[0]); i++)
		if (am_dns_add_local(d->env.dns, zone[i]) == -1)
			abort();
	if ((d->env.dkim = am_dkim_lib_new(d->env.dns, err, sizeof(err))) ==
	    NULL)
		abort();
	return d;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct am_engine	*eng;
	static struct am_daemon	*d;	/* kept for the process, as in main() */

	if (eng == NULL) {
		d = daemon_new();
		eng = fuzz_engine_new(am_callbacks_milter(), d);
	}
	fuzz_serve(eng, data, size);
	assert(am_callbacks_active() == 0);
	return 0;
}
