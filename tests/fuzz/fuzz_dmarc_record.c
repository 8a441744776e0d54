/*
 * fuzz_dmarc_record.c - DMARC record parsing (record.h:
 * am_dmarc_record_parse, am_dmarc_policy_pick) and the pure helpers of
 * dmarc.h (am_dmarc_walk_names, am_dmarc_org_select).
 *
 * Input: "record\ndomain".  Properties: pct in 0..100, psd one of y/n/u,
 * a walk never longer than AM_DMARC_WALK_MAX, every walked name a suffix
 * of the start, the org domain a suffix of the start.
 */
#include <assert.h>

#include "dmarc/dmarc.h"
#include "dmarc/record.h"
#include "fuzz.h"

/* is_suffix - is s the whole of d, or d's tail after a dot? */
static int
is_suffix(const char *d, const char *s)
{
	size_t	 dl = strlen(d), sl = strlen(s);

	if (sl > dl)
		return 0;
	if (sl == dl)
		return strcmp(d, s) == 0;
	return d[dl - sl - 1] == '.' && strcmp(d + dl - sl, s) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_dmarc_record	 rec;
	struct am_dmarc_found	 found[AM_DMARC_WALK_MAX];
	enum am_dmarc_policy	 pol;
	const char		*tag;
	char			 names[AM_DMARC_WALK_MAX][AM_DOMAIN_MAX + 1];
	char			 org[AM_DOMAIN_MAX + 1];
	char			*s = fuzz_str(data, size), *domain;
	size_t			 n, i;
	int			 a;

	domain = fuzz_split(s, "\n");
	if (am_dmarc_record_parse(s, &rec) == 0) {
		assert(rec.pct >= 0 && rec.pct <= 100);
		assert(rec.psd == 'y' || rec.psd == 'n' || rec.psd == 'u');
		for (a = 0; a < 8; a++)
			if (am_dmarc_policy_pick(&rec, a & 1, (a >> 1) & 1,
			    (a >> 2) & 1, &pol, &tag) == 0)
				assert(tag != NULL);
	}
	if (strlen(domain) > AM_DOMAIN_MAX)
		goto out;
	n = am_dmarc_walk_names(domain, names, AM_DMARC_WALK_MAX);
	assert(n <= AM_DMARC_WALK_MAX);
	for (i = 0; i < n; i++) {
		assert(is_suffix(domain, names[i]));
		found[i].domain = names[i];
		found[i].psd = "ynu"[(i + size) % 3];
	}
	if (am_dmarc_org_select(domain, found, n, org, sizeof(org)) == 0)
		assert(*domain == '\0' || is_suffix(domain, org));
	(void)am_dmarc_org_select(domain, found, n, org, 4);
out:
	free(s);
	return 0;
}
