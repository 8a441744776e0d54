/*
 * dkim_suite.c - DKIM vectors (made at test time by dkim_cases.py) through
 * authmilter's DKIM module: keys served by dns.c local data, messages fed
 * header by header as an MTA does (value with its leading space and
 * folds, SMFIP_HDR_LEADSPC), body in CRLF chunks.
 *
 * Usage: dkim_suite [-v] CASES.lines
 * A case passes when every signature's result is one the RFCs allow.
 * Also counts agreement with dkimpy's verdict (pass / not pass) on the
 * same bytes.  Ends with "N passed, N failed".
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "dns/dns.h"
#include "common/results.h"

#define LINE_MAX_LEN	16384
#define KEYS_MAX	8
#define EXPS_MAX	8
#define SIGS_MAX	8

struct exp {
	char	*sel, *acc, *py, *note;
};

static struct {
	char		*name, *file;
	char		*keyname[KEYS_MAX], *keyval[KEYS_MAX];
	int		 nkeys;
	struct exp	 e[EXPS_MAX];
	int		 nexp;
} cs;

static int	 verbose, npass, nfail, nsig, agree;

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

/* slurp - a whole file as a C string, or NULL */
static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 len;

	if ((f = fopen(path, "rb")) == NULL)
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

/* feed - headers as name + value (leading space, folds as CRLF), body */
static int
feed(struct am_dkim *d, char *text)
{
	char		*line = text, *end, *colon, *v, *o, *val;
	unsigned char	 chunk[64];
	size_t		 n = 0;

	while (*line != '\0' && *line != '\n') {
		end = line;
		do {
			if ((end = strchr(end, '\n')) == NULL)
				return -1;
			end++;
		} while (*end == ' ' || *end == '\t');
		end[-1] = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			return -1;
		*colon = '\0';
		if ((val = o = malloc(2 * strlen(colon + 1) + 1)) == NULL)
			return -1;
		for (v = colon + 1; *v != '\0'; v++) {
			if (*v == '\n')
				*o++ = '\r';
			*o++ = *v;
		}
		*o = '\0';
		if (am_dkim_header(d, line, val) == -1) {
			free(val);
			return -1;
		}
		free(val);
		line = end;
	}
	if (am_dkim_eoh(d, NULL) == -1)
		return -1;
	for (line = *line == '\n' ? line + 1 : line; *line != '\0'; line++) {
		if (*line == '\n')
			chunk[n++] = '\r';
		chunk[n++] = (unsigned char)*line;
		if (n >= sizeof(chunk) - 2) {
			if (am_dkim_body(d, chunk, n) == -1)
				return -1;
			n = 0;
		}
	}
	return n > 0 ? am_dkim_body(d, chunk, n) : 0;
}

/* in_list - is word one of the comma-separated list? */
static int
in_list(const char *word, const char *list)
{
	size_t	 n = strlen(word);

	while (*list != '\0') {
		if (strncmp(list, word, n) == 0 &&
		    (list[n] == ',' || list[n] == '\0'))
			return 1;
		list += strcspn(list, ",");
		if (*list == ',')
			list++;
	}
	return 0;
}

/* run_case - verify the current case and count it */
static void
run_case(void)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	struct am_dns		*dns;
	struct am_dkim_lib	*lib;
	struct am_dkim		*d;
	struct am_dkim_sig	 sigs[SIGS_MAX];
	char			 err[256], *text;
	size_t			 ns = 0, j;
	int			 i, ok = 1;

	if ((dns = am_dns_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_dns_new: %s\n", err);
		exit(2);
	}
	for (i = 0; i < cs.nkeys; i++)
		if (add_key(dns, cs.keyname[i], cs.keyval[i]) == -1)
			fprintf(stderr, "%s: cannot load key %s\n", cs.name,
			    cs.keyname[i]);
	if ((lib = am_dkim_lib_new(dns, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_dkim_lib_new: %s\n", err);
		exit(2);
	}
	d = am_dkim_new(lib, "vector", 1024, SIGS_MAX);
	text = slurp(cs.file);
	if (d == NULL || text == NULL || feed(d, text) == -1 ||
	    am_dkim_eom(d, NULL, sigs, SIGS_MAX, &ns) == -1) {
		printf("FAIL %s: could not run\n", cs.name);
		ok = 0;
		ns = 0;
	}
	for (i = 0; i < cs.nexp; i++) {
		const struct exp	*e = &cs.e[i];
		const char		*got = "absent", *why = "";

		for (j = 0; j < ns; j++)
			if (strcmp(sigs[j].selector, e->sel) == 0) {
				got = am_dkim_result_str(sigs[j].result);
				why = sigs[j].reason;
			}
		nsig++;
		if ((strcmp(got, "pass") == 0) == (strcmp(e->py, "pass") == 0))
			agree++;
		else
			printf("  dkimpy differs %s s=%s: ours %s, dkimpy %s"
			    " (%s)\n", cs.name, e->sel, got, e->py, e->note);
		if (!in_list(got, e->acc)) {
			ok = 0;
			printf("FAIL %s s=%s: got %s (%s) want %s [%s]\n",
			    cs.name, e->sel, got, why, e->acc, e->note);
		} else if (verbose)
			printf("ok %s s=%s: %s (%s)\n", cs.name, e->sel, got,
			    why);
	}
	if (ok)
		npass++;
	else
		nfail++;
	free(text);
	am_dkim_free(d);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}

/* clear_case - free the current case */
static void
clear_case(void)
{
	int	 i;

	free(cs.name);
	free(cs.file);
	for (i = 0; i < cs.nkeys; i++) {
		free(cs.keyname[i]);
		free(cs.keyval[i]);
	}
	for (i = 0; i < cs.nexp; i++) {
		free(cs.e[i].sel);
		free(cs.e[i].acc);
		free(cs.e[i].py);
		free(cs.e[i].note);
	}
	memset(&cs, 0, sizeof(cs));
}

/* field - the next TAB-separated field, decoded and copied */
static char *
field(char **save)
{
	char	*t = strtok_r(NULL, "\t\n", save);

	return strdup(t != NULL ? decode(t) : "");
}

int
main(int argc, char **argv)
{
	char	 line[LINE_MAX_LEN], *save, *kind;
	FILE	*fp;
	int	 i = 1;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (i >= argc || (fp = fopen(argv[i], "r")) == NULL) {
		fprintf(stderr, "usage: dkim_suite [-v] CASES.lines\n");
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if ((kind = strtok_r(line, "\t\n", &save)) == NULL)
			continue;
		if (*kind == 'C') {
			if (cs.name != NULL)
				run_case();
			clear_case();
			cs.name = field(&save);
			cs.file = field(&save);
		} else if (*kind == 'K' && cs.nkeys < KEYS_MAX) {
			cs.keyname[cs.nkeys] = field(&save);
			cs.keyval[cs.nkeys++] = field(&save);
		} else if (*kind == 'E' && cs.nexp < EXPS_MAX) {
			cs.e[cs.nexp].sel = field(&save);
			cs.e[cs.nexp].acc = field(&save);
			cs.e[cs.nexp].py = field(&save);
			cs.e[cs.nexp++].note = field(&save);
		}
	}
	if (cs.name != NULL)
		run_case();
	clear_case();
	fclose(fp);
	printf("signatures agreeing with dkimpy: %d of %d\n", agree, nsig);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail == 0 ? 0 : 1;
}
