/*
 * check_dkim.c - milter/dkim.c and milter/dns_dkim.c: libopendkim
 * verification with keys served through am_dns local data (the seam the
 * daemon uses), fed header by header as an MTA would.
 *
 * Fixtures are in data/dkim (see its README): the RFC 8463 Appendix A
 * message, and messages signed by python3-dkim's dkimsign, never by us.
 * Covered: ed25519 and rsa pass, body and header modified, unsigned, no
 * key, revoked key, RFC 8301 (512-bit key, rsa-sha1), c=simple over odd
 * whitespace with and without the leading space, one failing signature of
 * two, the signature limit (and that its keys are never fetched), a DNS
 * timeout (temperror, and that keys are fetched at end of headers),
 * malformed signatures, and one DKIM_LIB shared by several threads.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dkim.h"
#include "dns.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define DATA		TESTDATA "/dkim/"
#define MAXHDRS		64
#define NSIGS		AM_DKIM_SIGS_MAX

/* one key record to serve: "<sel>._domainkey.<domain>" TXT */
struct key {
	const char	*sel;
	const char	*domain;
	const char	*file;		/* record read from DATA file, or */
	const char	*record;	/* this literal record */
};

/* the keys most tests publish */
static const struct key std_keys[] = {
	{ "brisbane", "football.example.com", "rfc8463-brisbane-ed25519.dns", NULL },
	{ "test", "football.example.com", "rfc8463-test-rsa.pub.txt", NULL },
	{ "rs", "example.org", "example.org-rs.dns", NULL },
	{ "ed", "example.org", "example.org-ed.dns", NULL },
	{ "small", "example.org", "small512.dns", NULL },
	{ "rs1", "example.org", "rs1.dns", NULL },
};

/* one verification run: what to feed and what came out */
struct run {
	const char		*file;		/* message in DATA */
	const char		*from, *to;	/* optional text edit */
	int			 no_leadspc;	/* strip value's leading WSP */
	unsigned int		 min_bits;
	unsigned int		 max_sigs;
	int			 rc;		/* am_dkim_eom */
	size_t			 n;
	struct am_dkim_sig	 sig[NSIGS];
};

/* slurp - a whole file as a C string */
static char *
slurp(const char *path)
{
	FILE	*f;
	char	*s;
	long	 len;

	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	ck_assert_int_ge(len, 0);
	rewind(f);
	s = malloc((size_t)len + 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(fread(s, 1, (size_t)len, f), (size_t)len);
	s[len] = '\0';
	fclose(f);
	return s;
}

/* data_record - a key record file's first line */
static char *
data_record(const char *file)
{
	char	 path[512];
	char	*s;

	snprintf(path, sizeof(path), DATA "%s", file);
	s = slurp(path);
	s[strcspn(s, "\r\n")] = '\0';
	return s;
}

/* add_key - serve one TXT record, split into 255-byte strings */
static void
add_key(struct am_dns *dns, const struct key *k)
{
	char		 rr[4096], *rec;
	size_t		 off, len, n;

	rec = k->record != NULL ? strdup(k->record) : data_record(k->file);
	ck_assert_ptr_nonnull(rec);
	n = (size_t)snprintf(rr, sizeof(rr), "%s._domainkey.%s. 300 IN TXT",
	    k->sel, k->domain);
	len = strlen(rec);
	/* RFC 1035 3.3.14: at most 255 bytes per character-string */
	for (off = 0; off == 0 || off < len; off += 255) {
		ck_assert_uint_lt(n + 260, sizeof(rr));
		n += (size_t)snprintf(rr + n, sizeof(rr) - n, " \"%.*s\"",
		    (int)(len - off < 255 ? len - off : 255), rec + off);
	}
	ck_assert_msg(am_dns_add_local(dns, rr) == 0, "add_local %s", rr);
	free(rec);
}

/* dns_local - an in-memory resolver serving keys (NULL: std_keys) */
static struct am_dns *
dns_local(const struct key *keys, size_t nkeys)
{
	struct am_dns_opts	 o = { .local_only = 1, .timeout = 2 };
	struct am_dns		*dns;
	char			 err[256];
	size_t			 i;

	dns = am_dns_new(&o, err, sizeof(err));
	ck_assert_msg(dns != NULL, "am_dns_new: %s", err);
	ck_assert_int_eq(am_dns_add_zone(dns, "example.org"), 0);
	ck_assert_int_eq(am_dns_add_zone(dns, "football.example.com"), 0);
	if (keys == NULL) {
		keys = std_keys;
		nkeys = nitems(std_keys);
	}
	for (i = 0; i < nkeys; i++)
		add_key(dns, &keys[i]);
	return dns;
}

/* lib_new - am_dkim_lib on dns, or fail the test */
static struct am_dkim_lib *
lib_new(struct am_dns *dns)
{
	struct am_dkim_lib	*lib;
	char			 err[256] = "";

	lib = am_dkim_lib_new(dns, err, sizeof(err));
	ck_assert_msg(lib != NULL, "am_dkim_lib_new: %s", err);
	return lib;
}

/* edit - replace the first "from" in text by "to" (must be present) */
static char *
edit(char *text, const char *from, const char *to)
{
	char	*p, *out;
	size_t	 pre;

	if (from == NULL)
		return text;
	p = strstr(text, from);
	ck_assert_msg(p != NULL, "edit: '%s' not in message", from);
	pre = (size_t)(p - text);
	out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
	ck_assert_ptr_nonnull(out);
	memcpy(out, text, pre);
	strcpy(out + pre, to);
	strcat(out, p + strlen(from));
	free(text);
	return out;
}

/*
 * feed_headers - split the header block the way an MTA hands it to a
 * milter: name, and value after the colon with its leading space and its
 * folds ("\n" + WSP) kept (SMFIP_HDR_LEADSPC).  Returns the body start.
 */
static char *
feed_headers(struct am_dkim *d, char *text, int no_leadspc)
{
	char	*line = text, *end, *colon, *value;

	while (*line != '\0' && *line != '\n') {
		end = line;
		do {				/* field = line + continuations */
			end = strchr(end, '\n');
			ck_assert_ptr_nonnull(end);
			end++;
		} while (*end == ' ' || *end == '\t');
		end[-1] = '\0';
		colon = strchr(line, ':');
		ck_assert_ptr_nonnull(colon);
		*colon = '\0';
		value = colon + 1;
		if (no_leadspc)
			value += strspn(value, " \t");
		ck_assert_int_eq(am_dkim_header(d, line, value), 0);
		line = end;
	}
	return *line == '\n' ? line + 1 : line;
}

/* feed_body - body with CRLF line ends, in odd-sized chunks */
static void
feed_body(struct am_dkim *d, const char *body)
{
	unsigned char	 chunk[7 * 2];
	size_t		 n = 0;

	for (; *body != '\0'; body++) {
		if (*body == '\n')
			chunk[n++] = '\r';
		chunk[n++] = (unsigned char)*body;
		if (n >= 7) {
			ck_assert_int_eq(am_dkim_body(d, chunk, n), 0);
			n = 0;
		}
	}
	if (n > 0)
		ck_assert_int_eq(am_dkim_body(d, chunk, n), 0);
}

/* verify - run one message through a fresh am_dkim */
static void
verify(struct am_dkim_lib *lib, struct run *r)
{
	struct am_dkim	*d;
	char		 path[512], *text, *body;

	snprintf(path, sizeof(path), DATA "%s", r->file);
	text = edit(slurp(path), r->from, r->to);
	d = am_dkim_new(lib, "TESTQID", r->min_bits ? r->min_bits : 1024,
	    r->max_sigs ? r->max_sigs : 8);
	ck_assert_ptr_nonnull(d);
	body = feed_headers(d, text, r->no_leadspc);
	ck_assert_int_eq(am_dkim_eoh(d), 0);
	feed_body(d, body);
	r->rc = am_dkim_eom(d, r->sig, NSIGS, &r->n);
	am_dkim_free(d);
	free(text);
}

/* run_std - verify with the standard keys */
static void
run_std(struct run *r)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);

	verify(lib, r);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}

/* check_sig - exact result, identity and reason of one signature */
static void
check_sig(const struct am_dkim_sig *s, enum am_dkim_result res,
    const char *d, const char *sel, const char *alg, unsigned int bits,
    const char *reason)
{
	ck_assert_msg(s->result == res, "%s/%s: result %d, want %d (%s)",
	    s->domain, s->selector, s->result, res, s->reason);
	ck_assert_str_eq(s->domain, d);
	ck_assert_str_eq(s->selector, sel);
	ck_assert_str_eq(s->algorithm, alg);
	ck_assert_uint_eq(s->keybits, bits);
	ck_assert_str_eq(s->reason, reason);
}

/* test_rfc8463 - RFC 8463 Appendix A: ed25519 and rsa-sha256 both pass */
START_TEST(test_rfc8463)
{
	struct run	 r = { .file = "rfc8463-appendixA.signed.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PASS, "football.example.com", "brisbane",
	    "ed25519-sha256", 256, "");
	ck_assert_str_eq(r.sig[0].bprefix, "9/dsDChY");
	check_sig(&r.sig[1], AM_DKIM_PASS, "football.example.com", "test",
	    "rsa-sha256", 1024, "");
	ck_assert_str_eq(r.sig[1].bprefix, "icKcLSEZ");
}
END_TEST

/* test_example_org - rsa-sha256 (2048 bits, split TXT) and ed25519 pass */
START_TEST(test_example_org)
{
	struct run	 r = { .file = "example.org-signed-rsa+ed25519.eml" };

	run_std(&r);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	check_sig(&r.sig[0], AM_DKIM_PASS, "example.org", "rs", "rsa-sha256",
	    2048, "");
	ck_assert_str_eq(r.sig[0].bprefix, "OupwHqGK");
	check_sig(&r.sig[1], AM_DKIM_PASS, "example.org", "ed",
	    "ed25519-sha256", 256, "");
	ck_assert_str_eq(r.sig[1].bprefix, "Dhqo6L3x");
}
END_TEST

static void
print_run(const struct run *r)
{
	size_t i;
	printf("%s rc=%d n=%zu\n", r->file, r->rc, r->n);
	for (i = 0; i < r->n; i++)
		printf("  %d d=%s s=%s a=%s b=%s bits=%u reason=[%s]\n", r->sig[i].result, r->sig[i].domain, r->sig[i].selector, r->sig[i].algorithm, r->sig[i].bprefix, r->sig[i].keybits, r->sig[i].reason);
}

START_TEST(test_probe)
{
	struct run r[] = {
		{ .file = "example.org-signed-rsa+ed25519.eml", .from = "Hello.", .to = "Hullo." },
		{ .file = "rfc8463-appendixA.signed.eml", .from = "dinner", .to = "lunch" },
		{ .file = "unsigned.eml" },
		{ .file = "small512.signed.eml" },
		{ .file = "sha1.signed.eml" },
		{ .file = "simple-ws.signed.eml" },
		{ .file = "simple-ws.signed.eml", .no_leadspc = 1 },
		{ .file = "example.org-signed-rsa+ed25519.eml", .max_sigs = 1 },
		{ .file = "example.org-signed-rsa+ed25519.eml", .from = "From: Alice <alice@example.org>\n", .to = "" },
	};
	size_t i;
	for (i = 0; i < nitems(r); i++) { run_std(&r[i]); print_run(&r[i]); }
}
END_TEST

/* dkim_suite - the test cases */
static Suite *
dkim_suite(void)
{
	Suite	*s = suite_create("dkim");
	TCase	*tc = tcase_create("local");

	tcase_add_test(tc, test_rfc8463);
	tcase_add_test(tc, test_example_org);
	tcase_add_test(tc, test_probe);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(dkim_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
