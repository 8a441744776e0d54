/*
 * psl.c - Public Suffix List lookups (https://publicsuffix.org/list/).
 *
 * The list is kept in an open-addressing hash table keyed by the rule's
 * domain part: "co.uk" for the rule "co.uk", "ck" for "*.ck", "www.ck" for
 * "!www.ck".  Each key carries flags saying which kinds of rule it has.
 * A lookup walks the suffixes of the domain (at most 127 of them), one hash
 * probe each, and applies the list's algorithm: an exception rule wins,
 * otherwise the rule with the most labels, otherwise "*" (the TLD).
 *
 * Rules are matched byte for byte.  The list writes internationalised rules
 * in UTF-8 (U-labels), but the names we look up are A-labels ("xn--..."):
 * message/rfc5322.c maps a From domain to A-labels, and DNS names are
 * A-labels (RFC 5890 2.3.2.1).  So such a rule is stored twice, as written
 * and as A-labels (IDNA2008 with UTS #46 mapping, as rfc5322.c does), and
 * "example.xn--55qx5d.cn" finds the rule "公司.cn".
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "common/readfile.h"
#include "dmarc/psl.h"

#define R_NORMAL	0x01	/* "key" */
#define R_WILDCARD	0x02	/* "*.key" */
#define R_EXCEPTION	0x04	/* "!key" */

#define DOMAIN_MAX	253
#define LABELS_MAX	128

struct slot {
	char		*key;		/* NULL: empty slot */
	unsigned int	 flags;
};

struct am_psl {
	struct slot	*slots;
	size_t		 size;		/* power of two */
	size_t		 n;
};

/* hash - FNV-1a of a NUL-terminated string */
static uint32_t
hash(const char *s)
{
	uint32_t	 h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* find - slot holding key, or the empty slot where it would go */
static struct slot *
find(const struct am_psl *p, const char *key)
{
	size_t	 i = hash(key) & (p->size - 1);

	while (p->slots[i].key != NULL && strcmp(p->slots[i].key, key) != 0)
		i = (i + 1) & (p->size - 1);
	return &p->slots[i];
}

/* grow - double the table once it is half full; -1 on ENOMEM */
static int
grow(struct am_psl *p)
{
	struct slot	*old = p->slots, *s;
	size_t		 oldsize = p->size, i;

	if (p->size != 0 && p->n * 2 < p->size)
		return 0;
	p->size = oldsize ? oldsize * 2 : 1024;
	if ((p->slots = calloc(p->size, sizeof(*p->slots))) == NULL) {
		p->slots = old;
		p->size = oldsize;
		return -1;
	}
	for (i = 0; i < oldsize; i++) {
		if (old[i].key == NULL)
			continue;
		s = find(p, old[i].key);
		*s = old[i];
	}
	free(old);
	return 0;
}

/* add_key - record a rule kind for one key; -1 on ENOMEM */
static int
add_key(struct am_psl *p, const char *key, unsigned int flag)
{
	struct slot	*s;

	if (*key == '\0' || strlen(key) > DOMAIN_MAX)
		return 0;			/* nothing usable; skip */
	if (grow(p) == -1)
		return -1;
	s = find(p, key);
	if (s->key == NULL) {
		if ((s->key = strdup(key)) == NULL)
			return -1;
		p->n++;
	}
	s->flags |= flag;
	return 0;
}

/* is_ascii - no byte above 0x7f */
static int
is_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s > 0x7f)
			return 0;
	return 1;
}

/*
 * add_alabels - the A-label form of a UTF-8 rule key (see the top of the
 * file); a key libidn2 refuses keeps only its UTF-8 form.  -1 on ENOMEM.
 */
static int
add_alabels(struct am_psl *p, const char *key, unsigned int flag)
{
	char	*a = NULL, *c;
	int	 rc;

	rc = idn2_to_ascii_8z(key, &a, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT);
	if (rc == IDN2_MALLOC)
		return -1;
	if (rc != IDN2_OK)
		return 0;
	for (c = a; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	rc = add_key(p, a, flag);
	idn2_free(a);
	return rc;
}

/* add_rule - record one rule, given its text without comments; -1 on ENOMEM */
static int
add_rule(struct am_psl *p, char *rule)
{
	unsigned int	 flag = R_NORMAL;
	char		*c;

	if (rule[0] == '!') {
		flag = R_EXCEPTION;
		rule++;
	} else if (rule[0] == '*' && rule[1] == '.') {
		flag = R_WILDCARD;
		rule += 2;
	}
	for (c = rule; *c != '\0'; c++)
		*c = (char)tolower((unsigned char)*c);
	if (add_key(p, rule, flag) == -1)
		return -1;
	return is_ascii(rule) ? 0 : add_alabels(p, rule, flag);
}

/* rule_of - the rule on a list line: first word, unless a comment or blank */
static char *
rule_of(char *line)
{
	char	*end;

	while (isspace((unsigned char)*line))
		line++;
	if (*line == '\0' || (line[0] == '/' && line[1] == '/'))
		return NULL;
	for (end = line; *end != '\0' && !isspace((unsigned char)*end); end++)
		;
	*end = '\0';
	return line;
}

/* read_rules - every rule of a file's text; 0, or -1 with err set */
static int
read_rules(struct am_psl *p, const char *path, char *buf, size_t len,
    char *err, size_t errlen)
{
	char	*pos = buf, *line, *rule;
	size_t	 lineno = 0;
	int	 nul;

	while ((line = am_readfile_line(&pos, buf + len, &nul)) != NULL) {
		lineno++;
		if (nul) {
			snprintf(err, errlen, "%s:%zu: NUL byte", path, lineno);
			return -1;
		}
		if ((rule = rule_of(line)) != NULL && add_rule(p, rule) == -1) {
			snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
			return -1;
		}
	}
	return 0;
}

/* am_psl_load - read a list in the publicsuffix.org format */
struct am_psl *
am_psl_load(const char *path, char *err, size_t errlen)
{
	struct am_psl	*p;
	char		*buf, why[256];
	size_t		 len;

	if (am_readfile(path, AM_PSL_FILE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return NULL;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		free(buf);
		return NULL;
	}
	if (read_rules(p, path, buf, len, err, errlen) == -1) {
		am_psl_free(p);
		p = NULL;
	} else if (p->n == 0) {
		snprintf(err, errlen, "%s: no rules in the list", path);
		am_psl_free(p);
		p = NULL;
	}
	free(buf);
	return p;
}

/* am_psl_free - release the list */
void
am_psl_free(struct am_psl *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->size; i++)
		free(p->slots[i].key);
	free(p->slots);
	free(p);
}

/* flags_of - rule kinds recorded for key; 0 if none */
static unsigned int
flags_of(const struct am_psl *p, const char *key)
{
	return find(p, key)->flags;
}

/*
 * suffix_labels - number of labels of the public suffix of a domain whose
 * label starts are at off[0..n-1] (off[0] == 0).
 */
static size_t
suffix_labels(const struct am_psl *p, const char *d, const size_t *off,
    size_t n)
{
	size_t		 i, best = 1;	/* the implicit "*" rule */
	unsigned int	 f;

	for (i = 0; i < n; i++) {
		f = flags_of(p, d + off[i]);
		/* an exception prevails: its suffix minus the left label */
		if (f & R_EXCEPTION)
			return n - i - 1;
		if ((f & R_NORMAL) && n - i > best)
			best = n - i;
		/* "*.x" matches one more label on the left of x */
		if ((f & R_WILDCARD) && i > 0 && n - i + 1 > best)
			best = n - i + 1;
	}
	return best;
}

/* split_labels - label start offsets of d; count, or 0 if malformed */
static size_t
split_labels(const char *d, size_t *off)
{
	size_t	 n = 0, i;

	off[n++] = 0;
	for (i = 0; d[i] != '\0'; i++) {
		if (d[i] != '.')
			continue;
		if (i == off[n - 1] || d[i + 1] == '\0' || n == LABELS_MAX)
			return 0;		/* empty label */
		off[n++] = i + 1;
	}
	return i == 0 ? 0 : n;
}

/* am_psl_org_domain - public suffix plus one label (RFC 7489 3.2) */
int
am_psl_org_domain(const struct am_psl *p, const char *domain, char *out,
    size_t outlen)
{
	char	 d[DOMAIN_MAX + 1];
	size_t	 off[LABELS_MAX], n, ps, i, len = strlen(domain);

	if (p == NULL || len == 0 || len > DOMAIN_MAX)
		return -1;
	for (i = 0; i <= len; i++)
		d[i] = (char)tolower((unsigned char)domain[i]);
	if ((n = split_labels(d, off)) == 0)
		return -1;
	ps = suffix_labels(p, d, off, n);
	if (ps >= n)
		return -1;			/* a public suffix itself */
	if (strlen(d + off[n - ps - 1]) >= outlen)
		return -1;
	strcpy(out, d + off[n - ps - 1]);
	return 0;
}
