/*
 * spf_suite.c - run an openspf test suite (RFC 7208 / RFC 4408 YAML,
 * converted to lines by spf_yaml2lines.py) through authmilter's SPF
 * module: am_spf_check_mailfrom() on a resolver (dns.c) that serves each
 * scenario's zone data as local data, exactly the seam the daemon uses.
 *
 * Usage: spf_suite [-v] FILE.lines [TEST...]
 * Prints one line per failing test and ends with "N passed, N failed".
 * Exit 0 if none failed.
 *
 * TIMEOUT names: am_dns_add_stub() sends what their data does not answer
 * to a UDP socket on loopback that is never read, so the query times out
 * (the resolver's one-second timeout) and libspf2 sees TRY_AGAIN.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/netlist.h"
#include "dns/dns.h"
#include "common/results.h"
#include "spf/spf.h"

#define LINE_MAX_LEN	8192
#define FIELDS_MAX	8
#define ITEMS_MAX	512

struct item {
	char	 kind;			/* 'R', 'T', 'Z', 'X' */
	char	*f[FIELDS_MAX];		/* decoded fields */
	int	 nf;
};

static struct item	 items[ITEMS_MAX];
static int		 nitems;
static char		 blackhole[64];	/* "127.0.0.1@port" */
static int		 verbose;
static char		**only;		/* test names to run, or NULL */
static int		 nonly;
static int		 npass, nfail;

/* RFC 6303 zones libunbound answers itself: serve them from our data */
static const char *const default_zones[] = {
	"2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
	"113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
};

/* decode - %XX-decode s in place; "-" is the empty string */
static char *
decode(char *s)
{
	char	*o = s, *p = s;

	if (strcmp(s, "-") == 0) {
		*s = '\0';
		return s;
	}
	while (*p != '\0') {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) &&
		    isxdigit((unsigned char)p[2])) {
			char	 h[3] = { p[1], p[2], '\0' };

			*o++ = (char)strtol(h, NULL, 16);
			p += 3;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	return s;
}

/* blackhole_open - a UDP socket on loopback that nobody reads */
static int
blackhole_open(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	snprintf(blackhole, sizeof(blackhole), "127.0.0.1@%u",
	    ntohs(sin.sin_port));
	return fd;
}

/* wanted - is this test selected on the command line? */
static int
wanted(const char *name)
{
	int	 i;

	if (only == NULL)
		return 1;
	for (i = 0; i < nonly; i++)
		if (strcmp(only[i], name) == 0)
			return 1;
	return 0;
}

/* result_ok - is got one of the comma-separated acceptable results? */
static int
result_ok(const char *got, const char *want)
{
	size_t	 n = strlen(got);
	const char *p = want;

	while (*p != '\0') {
		if (strncmp(p, got, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

/* run_test - one X item; count it */
static void
run_test(struct am_spf *spf, const struct item *it)
{
	struct am_spf_check	 out;
	struct sockaddr_storage	 ss;
	const char		*name = it->f[0], *got;
	const char		*want = it->f[4], *exp = it->f[5];
	int			 ok;

	if (!wanted(name))
		return;
	/* the client as the session passes it: a sockaddr, NULL if none */
	am_spf_check_mailfrom(spf, NULL, am_netlist_addr(it->f[1], &ss) == 0 ?
	    (struct sockaddr *)&ss : NULL, it->f[2], it->f[3], &out);
	got = am_spf_result_str(out.result);
	ok = result_ok(got, want);
	/*
	 * The suite's explanation is that of a fail result; "DEFAULT" means
	 * no exp= explanation applied (ours then is empty).
	 */
	if (strcmp(exp, "DEFAULT") == 0)
		exp = "";
	if (ok && *it->f[5] != '\0' && out.result == AM_SPF_FAIL &&
	    strcmp(out.explanation, exp) != 0)
		ok = 0;
	if (ok)
		npass++;
	else
		nfail++;
	if (!ok || verbose)
		printf("%s %s: got %s want %s (%s) exp \"%s\"%s%s%s\n",
		    ok ? "ok" : "FAIL", name, got, want, out.reason,
		    out.explanation, *it->f[5] ? " want \"" : "", it->f[5],
		    *it->f[5] ? "\"" : "");
}

/* run_scenario - load the zone data of items[], run its tests */
static int
run_scenario(void)
{
	struct am_dns_opts	 o;
	struct am_dns		*dns;
	struct am_spf		*spf;
	char			 err[256];
	size_t			 i;
	int			 k;

	memset(&o, 0, sizeof(o));
	o.local_only = 1;
	o.timeout = 1;
	if ((dns = am_dns_new(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "am_dns_new: %s\n", err);
		return -1;
	}
	for (i = 0; i < sizeof(default_zones) / sizeof(default_zones[0]); i++)
		am_dns_add_zone(dns, default_zones[i]);
	for (k = 0; k < nitems; k++) {
		const struct item *it = &items[k];
		int	 r = 0;

		if (it->kind == 'R')
			r = am_dns_add_local(dns, it->f[0]);
		else if (it->kind == 'T')
			r = am_dns_add_stub(dns, it->f[0], blackhole);
		else if (it->kind == 'Z')
			r = am_dns_add_zone(dns, it->f[0]);
		if (r == -1)
			fprintf(stderr, "cannot load %c %s\n", it->kind,
			    it->f[0]);
	}
	if ((spf = am_spf_new(dns, "receiver.example")) == NULL) {
		am_dns_free(dns);
		return -1;
	}
	for (k = 0; k < nitems; k++)
		if (items[k].kind == 'X')
			run_test(spf, &items[k]);
	am_spf_free(spf);
	am_dns_free(dns);
	return 0;
}

/* clear_items - free the current scenario */
static void
clear_items(void)
{
	int	 k, j;

	for (k = 0; k < nitems; k++)
		for (j = 0; j < items[k].nf; j++)
			free(items[k].f[j]);
	nitems = 0;
}

/* add_item - one line into items[] */
static int
add_item(char *line)
{
	struct item	*it;
	char		*tok, *save = NULL;

	if (nitems >= ITEMS_MAX)
		return -1;
	it = &items[nitems];
	memset(it, 0, sizeof(*it));
	it->kind = line[0];
	tok = strtok_r(line + 1, "\t\n", &save);
	for (; tok != NULL && it->nf < FIELDS_MAX;
	    tok = strtok_r(NULL, "\t\n", &save))
		if ((it->f[it->nf++] = strdup(decode(tok))) == NULL)
			return -1;
	if ((it->kind == 'X' && it->nf != 6) || it->nf < 1)
		return -1;
	nitems++;
	return 0;
}

int
main(int argc, char **argv)
{
	char	 line[LINE_MAX_LEN];
	FILE	*fp;
	int	 i = 1, fd;

	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: spf_suite [-v] FILE.lines [TEST...]\n");
		return 2;
	}
	if (argc > i + 1) {
		only = argv + i + 1;
		nonly = argc - i - 1;
	}
	if ((fp = fopen(argv[i], "r")) == NULL) {
		perror(argv[i]);
		return 2;
	}
	if ((fd = blackhole_open()) == -1) {
		perror("blackhole");
		return 2;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == 'S') {
			if (nitems > 0 && run_scenario() == -1)
				return 2;
			clear_items();
			continue;
		}
		if (add_item(line) == -1) {
			fprintf(stderr, "bad line: %s", line);
			return 2;
		}
	}
	if (nitems > 0 && run_scenario() == -1)
		return 2;
	clear_items();
	fclose(fp);
	close(fd);
	printf("%d passed, %d failed\n", npass, nfail);
	return nfail == 0 ? 0 : 1;
}
