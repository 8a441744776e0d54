/*
 * arc_suite.c - the ValiMail ARC validation suite (converted by
 * arc_yaml2lines.py) through authmilter's ARC module: keys served by
 * dns.c local data, messages fed header by header as an MTA does (value
 * with its leading space and folds as CRLF), body in CRLF chunks.
 *
 * Usage: arc_suite [-v] [-x EXPECTED-FAILURES] CASES.lines
 * A case passes when the chain result (none, pass, fail) is the suite's.
 * A case listed in EXPECTED-FAILURES ("name reason" lines) that disagrees
 * is XFAIL (counted as passed); one that agrees is XPASS, a failure, so
 * the list stays true.  Ends with "N passed, N failed".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc/arc.h"
#include "dkim/dkim_keycache.h"
#include "dns/dns.h"
#include "common/results.h"

#define LINE_MAX_LEN	16384
#define KEYS_MAX	16
#define XFAIL_MAX	64

static struct {
	char	*name, *want, *file;
	char	*keyname[KEYS_MAX], *keyval[KEYS_MAX];
	int	 nkeys;
} cs;

static char	*xfail[XFAIL_MAX];
static int	 nxfail, verbose, npass, nfail, nx;

/* decode - %XX-decode in place; "-" is the empty string */
static char *
decode(char *s)
{
	char	*o = s, *p = s, h[3] = { 0 };

	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return s;
	}
	while (*p != '\0') {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			h[0] = p[1];
			h[1] = p[2];
			*o++ = (char)strtol(h, NULL, 16);
			p += 3;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return s;
}

/* slurp - a whole file, NUL-terminated */
static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*s;
	long	 len;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	if (len < 0 || (s = malloc((size_t)len + 1)) == NULL ||
	    fread(s, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		return NULL;
	}
	s[len] = '\0';
	fclose(f);
	return s;
}

/* add_key - one TXT record, split into 255-byte strings */
static int
add_key(struct am_dns *dns, const char *name, const char *rec)
{
	char	 rr[8192];
	size_t	 off, len = strlen(rec), n;

	n = (size_t)snprintf(rr, sizeof(rr), "%s. 300 IN TXT", name);
	for (off = 0; off == 0 || off < len; off += 255) {
		if (n + 300 >= sizeof(rr))
			return -1;
		n += (size_t)snprintf(rr + n, sizeof(rr) - n, " \"%.*s\"",
		    (int)(len - off < 255 ? len - off : 255), rec + off);
	}
	return am_dns_add_local(dns, rr);
}

/* header - one field: name, value with folds as CRLF */
static int
header(struct am_arc *a, char *line)
{
	char	*colon, *v, *o, *val;
	int	 rc;

	if ((colon = strchr(line, ':')) == NULL)
		return 0;	/* not a field: the suite's "no headers" case */
	*colon = '\0';
	if ((val = o = malloc(2 * strlen(colon + 1) + 1)) == NULL)
		return -1;
	for (v = colon + 1; *v != '\0'; v++) {
		if (*v == '\n')
			*o++ = '\r';
		*o++ = *v;
	}
	*o = '\0';
	rc = am_arc_header(a, line, val);
	free(val);
	return rc;
}

/* feed - the header fields, EOH, the body in chunks */
static int
feed(struct am_arc *a, char *text)
{
	char		*line = text, *end;
	unsigned char	 chunk[64];
	size_t		 n = 0;

	while (*line != '\0' && *line != '\n') {
		end = line;
		do {
			if ((end = strchr(end, '\n')) == NULL) {
				end = line + strlen(line);
				break;
			}
			end++;
		} while (*end == ' ' || *end == '\t');
		if (end > line && end[-1] == '\n')
			end[-1] = '\0';
		if (header(a, line) == -1)
			return -1;
		line = end;
	}
	am_arc_eoh(a);
	for (line = *line == '\n' ? line + 1 : line; *line != '\0'; line++) {
		if (*line == '\n')
			chunk[n++] = '\r';
		chunk[n++] = (unsigned char)*line;
		if (n >= sizeof(chunk) - 2) {
			am_arc_body(a, chunk, n);
			n = 0;
		}
	}
	if (n > 0)
		am_arc_body(a, chunk, n);
	return 0;
}

/* listed - the case is an expected failure */
static int
listed(const char *name)
{
	int	 i;

	for (i = 0; i < nxfail; i++)
		if (strcmp(xfail[i], name) == 0)
			return 1;
	return 0;
}

static const char *const res_str[] = { "none", "pass", "fail" };

/* run_case - verify the current case and count it */
static void
run_case(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	struct am_dns		*dns;
	struct am_arc		*a;
	struct am_arc_res	 res;
	char			 err[256], *text;
	const char		*got;
	int			 i, ok, x;

	if ((dns = am_dns_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_dns_new: %s\n", err);
		exit(2);
	}
	for (i = 0; i < cs.nkeys; i++)
		if (add_key(dns, cs.keyname[i], cs.keyval[i]) == -1)
			fprintf(stderr, "%s: cannot load key %s\n", cs.name,
			    cs.keyname[i]);
	a = am_arc_new(1024);
	text = slurp(cs.file);
	if (a == NULL || text == NULL || feed(a, text) == -1) {
		printf("FAIL %s: could not run\n", cs.name);
		nfail++;
	} else {
		am_arc_eom(a, dns, NULL, &res);
		got = res_str[res.result];
		ok = strcmp(got, cs.want) == 0;
		x = listed(cs.name);
		if (x && !ok) {
			nx++;
			npass++;
			if (verbose)
				printf("XFAIL %s: want %s, got %s (%s)\n",
				    cs.name, cs.want, got, res.reason);
		} else if (ok && !x) {
			npass++;
			if (verbose)
				printf("ok %s: %s%s%s\n", cs.name, got,
				    res.reason[0] ? " " : "", res.reason);
		} else {
			nfail++;
			printf("%s %s: want %s, got %s (%s)\n", x ? "XPASS" :
			    "FAIL", cs.name, cs.want, got, res.reason);
		}
	}
	free(text);
	am_arc_free(a);
	am_dns_free(dns);
}

/* reset - forget the current case */
static void
reset(void)
{
	int	 i;

	free(cs.name);
	free(cs.want);
	free(cs.file);
	for (i = 0; i < cs.nkeys; i++) {
		free(cs.keyname[i]);
		free(cs.keyval[i]);
	}
	memset(&cs, 0, sizeof(cs));
}

/* load_xfail - "name reason" lines; '#' comments */
static void
load_xfail(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 line[1024];

	if (f == NULL) {
		fprintf(stderr, "%s: cannot open\n", path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL && nxfail < XFAIL_MAX) {
		line[strcspn(line, " \t\n")] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			xfail[nxfail++] = strdup(line);
	}
	fclose(f);
}

int
main(int argc, char **argv)
{
	static char	 line[LINE_MAX_LEN];
	struct am_keycache_stats ks;
	char		*p, *q;
	FILE		*f;
	int		 i;

	for (i = 1; i < argc - 1; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else if (strcmp(argv[i], "-x") == 0 && i + 2 < argc)
			load_xfail(argv[++i]);
	}
	if (argc < 2 || (f = fopen(argv[argc - 1], "r")) == NULL) {
		fprintf(stderr, "usage: arc_suite [-v] [-x XFAIL] CASES.lines\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		p = line + 2;
		if (line[0] == 'T') {
			reset();
			q = strchr(p, ' ');
			*q = '\0';
			cs.name = strdup(p);
			cs.want = strdup(q + 1);
		} else if (line[0] == 'K' && cs.nkeys < KEYS_MAX) {
			q = strchr(p, ' ');
			*q = '\0';
			cs.keyname[cs.nkeys] = strdup(p);
			cs.keyval[cs.nkeys++] = strdup(decode(q + 1));
		} else if (line[0] == 'M') {
			cs.file = strdup(p);
		} else if (line[0] == 'E') {
			run_case();
		}
	}
	fclose(f);
	reset();
	printf("ARC suite: %d of %d as the suite says, %d expected failures\n",
	    npass - nx, npass + nfail, nx);
	/* RSA keys go through the DKIM key cache (arc_key.h): the same key
	   in many cases is decoded once */
	am_keycache_stats(&ks);
	printf("DKIM key cache: %lu hits, %lu misses\n", ks.hits, ks.misses);
	if (ks.hits == 0 && npass + nfail > 1) {
		printf("FAIL key cache: ARC keys did not reach it\n");
		nfail++;
	}
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail == 0 ? 0 : 1;
}
