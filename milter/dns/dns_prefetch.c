/*
 * dns_prefetch.c - a message's look-ups started early (dns_prefetch.h).
 *
 * The set is a small array (AM_DNS_PREFETCH_MSG_MAX entries): a message
 * prefetches a handful of names, so a linear search beats any index.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns.h"
#include "dns/dns_prefetch.h"

struct pf_ent {
	struct am_dns_query	*q;		/* NULL: taken or never used */
	int			 rrtype;
	char			 name[AM_DNS_TEMP_NAME_MAX];
};

struct am_dns_prefetch {
	struct am_dns		*dns;
	unsigned int		 n;		/* entries used (taken ones too) */
	unsigned int		 live;		/* entries with a handle */
	struct pf_ent		 e[AM_DNS_PREFETCH_MSG_MAX];
};

/* same_name - DNS names compare case-insensitively, a final dot aside */
static int
same_name(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* find - the entry for (name, rrtype), taken or not; NULL if none */
static struct pf_ent *
find(struct am_dns_prefetch *pf, const char *name, int rrtype)
{
	unsigned int	 i;

	for (i = 0; i < pf->n; i++)
		if (pf->e[i].rrtype == rrtype && same_name(pf->e[i].name, name))
			return &pf->e[i];
	return NULL;
}

/* am_dns_prefetch_new - an empty set */
struct am_dns_prefetch *
am_dns_prefetch_new(struct am_dns *dns)
{
	struct am_dns_prefetch	*pf;

	if (dns == NULL || (pf = calloc(1, sizeof(*pf))) == NULL)
		return NULL;
	pf->dns = dns;
	return pf;
}

/* am_dns_prefetch_free - cancel the handles never taken */
void
am_dns_prefetch_free(struct am_dns_prefetch *pf)
{
	unsigned int	 i;

	if (pf == NULL)
		return;
	for (i = 0; i < pf->n; i++) {
		if (pf->e[i].q == NULL)
			continue;
		am_dns_query_done(pf->e[i].q);	/* ub_cancel if running */
		am_dns_slot_give(pf->dns);
	}
	free(pf);
}

/* am_dns_prefetch_add - start (name, rrtype) unless not needed or over a limit */
int
am_dns_prefetch_add(struct am_dns_prefetch *pf, const char *name, int rrtype)
{
	struct pf_ent	*e;

	if (pf == NULL || name == NULL || *name == '\0' ||
	    strlen(name) >= AM_DNS_TEMP_NAME_MAX)
		return 0;
	if (find(pf, name, rrtype) != NULL ||
	    am_dns_cached(pf->dns, name, rrtype))
		return 0;
	if (pf->n >= AM_DNS_PREFETCH_MSG_MAX)
		return -1;
	if (!am_dns_slot_take(pf->dns, AM_DNS_PREFETCH_PROC_MAX))
		return -1;
	e = &pf->e[pf->n];
	if ((e->q = am_dns_query_start(pf->dns, NULL, name, rrtype)) == NULL) {
		am_dns_slot_give(pf->dns);
		return -1;
	}
	e->rrtype = rrtype;
	memcpy(e->name, name, strlen(name) + 1);
	pf->n++;
	pf->live++;
	return 1;
}

/* am_dns_prefetch_count - handles held */
unsigned int
am_dns_prefetch_count(const struct am_dns_prefetch *pf)
{
	return pf != NULL ? pf->live : 0;
}

/* am_dns_prefetch_take - hand the handle for (name, rrtype) over */
struct am_dns_query *
am_dns_prefetch_take(struct am_dns_prefetch *pf, const char *name, int rrtype)
{
	struct pf_ent		*e;
	struct am_dns_query	*q;

	if (pf == NULL || name == NULL || pf->live == 0 ||
	    (e = find(pf, name, rrtype)) == NULL || e->q == NULL)
		return NULL;
	q = e->q;
	e->q = NULL;		/* the entry stays: the name is not prefetched again */
	pf->live--;
	am_dns_slot_give(pf->dns);
	return q;
}
