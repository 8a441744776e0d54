/*
 * fuzz_report_uri.c - rua=/ruf= values (report/uri.h:
 * am_report_uri_parse) and the pure parts of the external destination
 * rule (report/dest.h: _same_org, _qname, _txt_ok, _override).
 *
 * Also report/freport.h am_freport_fo_parse (on the host line).
 *
 * Input: "tag value\npolicy domain\nhost\nauthorizing record".
 * Properties: at most AM_REPORT_URI_MAX addresses, each a printable
 * "local@domain" of at most AM_REPORT_ADDR_MAX octets with one '@', no
 * leading '-', a lower-case domain, no duplicates; a query name within
 * AM_DOMAIN_MAX; an override only ever names the given host.
 */
#include <assert.h>
#include <ctype.h>

#include "common/results.h"
#include "report/dest.h"
#include "report/freport.h"
#include "report/uri.h"
#include "fuzz.h"

/* check_list - the properties of a parsed list */
static void
check_list(const struct am_report_uris *u)
{
	size_t		 i, j, len;
	const char	*d;

	assert(u->n <= AM_REPORT_URI_MAX);
	for (i = 0; i < u->n; i++) {
		len = strlen(u->a[i].addr);
		assert(len > 0 && len <= AM_REPORT_ADDR_MAX);
		assert(u->a[i].addr[0] != '-');
		assert(u->a[i].addr[u->a[i].at] == '@');
		assert(strchr(u->a[i].addr, '@') == u->a[i].addr + u->a[i].at);
		for (j = 0; j < len; j++)
			assert(u->a[i].addr[j] > 0x20 && u->a[i].addr[j] < 0x7f);
		for (d = am_report_addr_domain(&u->a[i]); *d; d++)
			assert(!isupper((unsigned char)*d));
		for (j = 0; j < i; j++)
			assert(strcmp(u->a[i].addr, u->a[j].addr) != 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_report_uris	 u, ov;
	char			 q[AM_DOMAIN_MAX + 2];
	char			*s = fuzz_str(data, size), *pd, *host, *rec;
	size_t			 i;

	pd = fuzz_split(s, "\n");
	host = fuzz_split(pd, "\n");
	rec = fuzz_split(host, "\n");
	am_report_uri_parse(s, &u);
	check_list(&u);
	if (am_report_dest_qname(pd, host, q, sizeof(q)) == 0)
		assert(strlen(q) <= AM_DOMAIN_MAX);
	if (am_report_dest_same_org(pd, host))
		assert(strlen(host) >= strlen(pd) - (pd[0] && pd[strlen(pd) - 1] == '.'));
	(void)am_report_dest_txt_ok(rec);
	/* fo=: never both 0 and 1, never nothing (the default is 0) */
	i = am_freport_fo_parse(host);
	assert(i != 0 && (i & ~0xfu) == 0);
	assert((i & (AM_FREPORT_FO_0 | AM_FREPORT_FO_1)) !=
	    (AM_FREPORT_FO_0 | AM_FREPORT_FO_1));
	if (am_report_dest_override(rec, "ruf", host, &ov) == 1) {
		check_list(&ov);
		assert(ov.n > 0);
		for (i = 0; i < ov.n; i++)
			assert(strcasecmp(am_report_addr_domain(&ov.a[i]), host) == 0);
	} else
		assert(ov.n == 0);
	free(s);
	return 0;
}
