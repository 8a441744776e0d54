/*
 * dest.c - the external destination rule (RFC 9990 section 4, RFC 9991
 * section 5): may reports for a policy domain go to an address?  The
 * decisions are pure; am_report_dest_check asks the resolver.  See dest.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/results.h"
#include "report/dest.h"

#define LABEL_MAX	63	/* RFC 1035 2.3.4 */

/* am_report_dest_name - see dest.h */
const char *
am_report_dest_name(enum am_report_dest d)
{
	switch (d) {
	case AM_REPORT_DEST_SAME_ORG:		return "same-org";
	case AM_REPORT_DEST_AUTHORIZED:		return "authorized";
	case AM_REPORT_DEST_NOT_AUTHORIZED:	return "not-authorized";
	case AM_REPORT_DEST_TEMPERROR:		return "temperror";
	}
	return "?";
}

/* am_report_dest_same_org - see dest.h */
int
am_report_dest_same_org(const char *org, const char *host)
{
	size_t	 ol = strlen(org), hl = strlen(host);

	if (ol > 0 && org[ol - 1] == '.')
		ol--;
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (ol == 0 || hl < ol)
		return 0;
	if (strncasecmp(host + hl - ol, org, ol) != 0)
		return 0;
	return hl == ol || host[hl - ol - 1] == '.';
}

/* labels_ok - every label of name 1..63 octets */
static int
labels_ok(const char *name)
{
	size_t	 lab = 0;

	for (;; name++) {
		if (*name == '.' || *name == '\0') {
			if (lab == 0 || lab > LABEL_MAX)
				return 0;
			if (*name == '\0')
				return 1;
			lab = 0;
		} else
			lab++;
	}
}

/* am_report_dest_qname - see dest.h (steps 1-4) */
int
am_report_dest_qname(const char *policy_domain, const char *host, char *out,
    size_t len)
{
	int	 n;

	n = snprintf(out, len, "%s._report._dmarc.%s", policy_domain, host);
	if (n < 0 || (size_t)n >= len || n > AM_DOMAIN_MAX || !labels_ok(out)) {
		if (len > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

/* skip_wsp - *WSP */
static const char *
skip_wsp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* am_report_dest_txt_ok - v=DMARC1 first (RFC 9989 4.7 dmarc-version) */
int
am_report_dest_txt_ok(const char *txt)
{
	const char	*p = skip_wsp(txt);

	if (*p != 'v' && *p != 'V')
		return 0;
	p = skip_wsp(p + 1);
	if (*p != '=')
		return 0;
	p = skip_wsp(p + 1);
	if (strncmp(p, "DMARC1", 6) != 0)	/* case-sensitive */
		return 0;
	p = skip_wsp(p + 6);
	return *p == ';' || *p == '\0';
}

/* am_report_dest_decide - see dest.h (steps 5-8) */
enum am_report_dest
am_report_dest_decide(enum am_dns_status st, char *const *txt, size_t ntxt,
    int *which)
{
	size_t	 i;

	if (which != NULL)
		*which = -1;
	if (st == AM_DNS_TEMP)
		return AM_REPORT_DEST_TEMPERROR;
	if (st != AM_DNS_OK)
		return AM_REPORT_DEST_NOT_AUTHORIZED;
	for (i = 0; i < ntxt; i++)
		if (txt[i] != NULL && am_report_dest_txt_ok(txt[i])) {
			if (which != NULL)
				*which = (int)i;
			return AM_REPORT_DEST_AUTHORIZED;
		}
	return AM_REPORT_DEST_NOT_AUTHORIZED;
}

/*
 * tag_value - the value of the first tag named name in a tag=value
 * record (RFC 9989 4.7): sets *v and *vlen, returns 1, or 0 if absent.
 */
static int
tag_value(const char *txt, const char *name, const char **v, size_t *vlen)
{
	const char	*p = txt, *n, *e;
	size_t		 nl;

	while (*p != '\0') {
		p = skip_wsp(p);
		for (n = p; isalpha((unsigned char)*p); p++)
			;
		nl = (size_t)(p - n);
		p = skip_wsp(p);
		e = strchr(p, ';');
		if (e == NULL)
			e = p + strlen(p);
		if (*p == '=' && nl == strlen(name) &&
		    strncasecmp(n, name, nl) == 0) {
			p = skip_wsp(p + 1);
			while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*v = p;
			*vlen = (size_t)(e - p);
			return 1;
		}
		p = *e == ';' ? e + 1 : e;
	}
	return 0;
}

/* am_report_dest_override - see dest.h (step 9) */
int
am_report_dest_override(const char *txt, const char *tag, const char *host,
    struct am_report_uris *out)
{
	char		 buf[AM_REPORT_URILIST_MAX + 1];
	const char	*v;
	size_t		 vlen, i;

	memset(out, 0, sizeof(*out));
	if (!tag_value(txt, tag, &v, &vlen))
		return 0;
	if (vlen > AM_REPORT_URILIST_MAX)
		vlen = AM_REPORT_URILIST_MAX;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	if (am_report_uri_parse(buf, out) == 0)
		return -1;
	for (i = 0; i < out->n; i++)
		if (strcasecmp(am_report_addr_domain(&out->a[i]), host) != 0) {
			memset(out, 0, sizeof(*out));
			return -1;
		}
	return 1;
}

/* am_report_dest_check - see dest.h */
enum am_report_dest
am_report_dest_check(struct am_dns *dns, const char *policy_domain,
    const char *policy_org, const struct am_report_addr *addr,
    const char *tag, struct am_report_uris *override, int *override_rc)
{
	char			 qname[AM_DOMAIN_MAX + 2];
	char			**txt = NULL;
	size_t			 ntxt = 0;
	enum am_dns_status	 st;
	enum am_report_dest	 d;
	const char		*host = am_report_addr_domain(addr);
	int			 which;

	if (override_rc != NULL)
		*override_rc = 0;
	if (am_report_dest_same_org(policy_org, host))
		return AM_REPORT_DEST_SAME_ORG;
	if (am_report_dest_qname(policy_domain, host, qname, sizeof(qname)) < 0)
		return AM_REPORT_DEST_NOT_AUTHORIZED;
	st = am_dns_txt(dns, NULL, qname, &txt, &ntxt);
	d = am_report_dest_decide(st, txt, ntxt, &which);
	if (d == AM_REPORT_DEST_AUTHORIZED && override != NULL) {
		int	 rc = am_report_dest_override(txt[which], tag, host,
		    override);

		if (override_rc != NULL)
			*override_rc = rc;
	}
	am_dns_txt_free(txt, ntxt);
	return d;
}
