/*
 * local.c - the local policy keys (issue 14): parsing and checking.
 *
 *	TrustedDKIMDomains  d1, d2 ...          DKIM signing domains
 *	TrustedSenders      user@d1, d2 ...     envelope senders or domains
 *	DomainPolicy        /path/file          "domain reject|quarantine|
 *	                                         none|dryrun" per line
 *	MailingListAction   reject|quarantine|none
 *
 * Lists are separated by commas and/or white space; names are kept in
 * lower case without a final dot.  Every problem of a DomainPolicy file
 * is "file:line: problem" (the first one; load.c adds the config file's
 * own file:line in front).  What the keys mean: message/local.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/local.h"
#include "config/setters.h"
#include "common/ascii.h"
#include "common/readfile.h"

#define ITEM_MAX	(AM_ADDR_MAX + 1)
#define PATH_LEN	4096

/* free_rules - DomainPolicy rules */
static void
free_rules(struct am_domain_rule *r, size_t n)
{
	size_t	 i;

	for (i = 0; i < n && r != NULL; i++)
		free(r[i].domain);
	free(r);
}

/* lower - in place, without one final dot */
static void
lower(char *s)
{
	size_t	 len = strlen(s);

	if (len > 1 && s[len - 1] == '.')
		s[len - 1] = '\0';
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* is_sender - "domain" or "local@domain" (RFC 5321 4.1.2, printable) */
static int
is_sender(const char *s)
{
	const char	*at = strrchr(s, '@'), *p;

	if (at == NULL)
		return am_ascii_dns_name(s);
	if (at == s || (size_t)(at - s) > 64)
		return 0;
	for (p = s; p < at; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return am_ascii_dns_name(at + 1);
}

/* next_word - the next item of a comma/space list into buf; NULL at end */
static const char *
next_word(const char *p, char *buf, size_t buflen, int *toolong)
{
	size_t	 len;

	p += strspn(p, ", \t");
	if (*p == '\0')
		return NULL;
	len = strcspn(p, ", \t");
	*toolong = len >= buflen;
	if (len >= buflen)
		len = buflen - 1;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return p + strcspn(p, ", \t");
}

/* set_list - TrustedDKIMDomains (senders 0) or TrustedSenders (1) */
static int
set_list(char ***dst, size_t *ndst, int senders, const char *val, char *err,
    size_t errlen)
{
	char		 item[ITEM_MAX], **v = NULL, **nv;
	const char	*p = val;
	size_t		 n = 0;
	int		 toolong;

	while ((p = next_word(p, item, sizeof(item), &toolong)) != NULL) {
		lower(item);
		if (toolong || !(senders ? is_sender(item) : am_ascii_dns_name(item))) {
			snprintf(err, errlen, "\"%s\" is not a %s", item,
			    senders ? "domain or user@domain" : "domain");
			am_cfg_free_strv(v, n);
			return -1;
		}
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL ||
		    (nv[n] = strdup(item)) == NULL) {
			am_cfg_free_strv(nv != NULL ? nv : v, n);
			snprintf(err, errlen, "%s", strerror(ENOMEM));
			return -1;
		}
		v = nv;
		n++;
	}
	am_cfg_free_strv(*dst, *ndst);
	*dst = v;
	*ndst = n;
	return 0;
}

/* parse_mode - a DomainPolicy action word */
static int
parse_mode(const char *w, struct am_domain_rule *r)
{
	r->dryrun = 0;
	if (strcasecmp(w, "reject") == 0)
		r->policy = AM_DMARC_P_REJECT;
	else if (strcasecmp(w, "quarantine") == 0)
		r->policy = AM_DMARC_P_QUARANTINE;
	else if (strcasecmp(w, "none") == 0)
		r->policy = AM_DMARC_P_NONE;
	else if (strcasecmp(w, "dryrun") == 0) {
		r->policy = AM_DMARC_P_NONE;
		r->dryrun = 1;
	} else
		return -1;
	return 0;
}

/* parse_rule - one line "domain action [# comment]"; 0, 1 (empty), -1 */
static int
parse_rule(char *line, int nul, struct am_domain_rule *r, char *why,
    size_t whylen)
{
	char	*dom, *act, *extra, *hash, *save = NULL;

	if (nul) {
		snprintf(why, whylen, "NUL byte");
		return -1;
	}
	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	if ((dom = strtok_r(line, " \t\r", &save)) == NULL)
		return 1;
	act = strtok_r(NULL, " \t\r", &save);
	extra = strtok_r(NULL, " \t\r", &save);
	lower(dom);
	if (!am_ascii_dns_name(dom)) {
		snprintf(why, whylen, "\"%.300s\" is not a domain", dom);
		return -1;
	}
	if (act == NULL || extra != NULL || parse_mode(act, r) == -1) {
		snprintf(why, whylen, "expected \"domain reject|quarantine|"
		    "none|dryrun\"");
		return -1;
	}
	if ((r->domain = strdup(dom)) == NULL) {
		snprintf(why, whylen, "%s", strerror(ENOMEM));
		return -1;
	}
	return 0;
}

/* rule_cmp - by domain, for qsort and bsearch (message/local.c) */
static int
rule_cmp(const void *a, const void *b)
{
	return strcmp(((const struct am_domain_rule *)a)->domain,
	    ((const struct am_domain_rule *)b)->domain);
}

/* read_rules - every line of a DomainPolicy file; 0 or -1 with err */
static int
read_rules(const char *path, struct am_domain_rule **out, size_t *nout,
    char *err, size_t errlen)
{
	struct am_domain_rule	*v = NULL, *nv, r;
	char			*buf, *pos, *line, why[400];
	size_t			 len, lineno = 0, n = 0, i;
	int			 nul, rc = 0, pr;

	if (am_readfile(path, AM_DOMAIN_POLICY_FILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	pos = buf;
	while (rc == 0 &&
	    (line = am_readfile_line(&pos, buf + len, &nul)) != NULL) {
		lineno++;
		memset(&r, 0, sizeof(r));
		if ((pr = parse_rule(line, nul, &r, why, sizeof(why))) == 1)
			continue;
		if (pr == 0 && (nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			free(r.domain);
			snprintf(why, sizeof(why), "%s", strerror(ENOMEM));
			pr = -1;
		} else if (pr == 0)
			v = nv;
		for (i = 0; pr == 0 && i < n; i++)
			if (strcmp(v[i].domain, r.domain) == 0) {
				snprintf(why, sizeof(why), "%s given twice "
				    "(first at a line above)", r.domain);
				free(r.domain);
				pr = -1;
			}
		if (pr == -1) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, why);
			rc = -1;
			break;
		}
		v[n++] = r;
	}
	free(buf);
	if (rc == -1) {
		free_rules(v, n);
		return -1;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), rule_cmp);
	*out = v;
	*nout = n;
	return 0;
}

/* set_domain_policy - DomainPolicy file, relative to the config's folder */
static int
set_domain_policy(struct am_config *cfg, const char *dir, const char *val,
    char *err, size_t errlen)
{
	struct am_domain_rule	*v = NULL;
	char			 path[PATH_LEN];
	size_t			 n = 0;

	if (val[0] == '/' || dir == NULL)
		snprintf(path, sizeof(path), "%s", val);
	else
		snprintf(path, sizeof(path), "%s/%s", dir,
		    strncmp(val, "./", 2) == 0 ? val + 2 : val);
	if (read_rules(path, &v, &n, err, errlen) == -1)
		return -1;
	free_rules(cfg->domain_rules, cfg->ndomain_rules);
	cfg->domain_rules = v;
	cfg->ndomain_rules = n;
	return 0;
}

/* set_mlist_action - MailingListAction: reject, quarantine or none */
static int
set_mlist_action(struct am_config *cfg, const char *val, char *err,
    size_t errlen)
{
	struct am_domain_rule	 r;

	if (parse_mode(val, &r) == -1 || r.dryrun) {
		snprintf(err, errlen, "\"%s\" is not reject, quarantine or "
		    "none", val);
		return -1;
	}
	cfg->mlist_action = r.policy;
	return 0;
}

/* am_config_local_set - see local.h */
int
am_config_local_set(const char *name, struct am_config *cfg,
    const char *dir, const char *val, char *err, size_t errlen)
{
	if (strcasecmp(name, "TrustedDKIMDomains") == 0)
		return set_list(&cfg->trusted_dkim, &cfg->ntrusted_dkim, 0, val,
		    err, errlen);
	if (strcasecmp(name, "TrustedSenders") == 0)
		return set_list(&cfg->trusted_senders, &cfg->ntrusted_senders,
		    1, val, err, errlen);
	if (strcasecmp(name, "DomainPolicy") == 0)
		return set_domain_policy(cfg, dir, val, err, errlen);
	if (strcasecmp(name, "MailingListAction") == 0)
		return set_mlist_action(cfg, val, err, errlen);
	snprintf(err, errlen, "not a local policy key");
	return -1;
}

/* am_config_local_free - see local.h */
void
am_config_local_free(struct am_config *cfg)
{
	am_cfg_free_strv(cfg->trusted_dkim, cfg->ntrusted_dkim);
	am_cfg_free_strv(cfg->trusted_senders, cfg->ntrusted_senders);
	free_rules(cfg->domain_rules, cfg->ndomain_rules);
}
