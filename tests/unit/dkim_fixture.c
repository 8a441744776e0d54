/*
 * dkim_fixture.c - see dkim_fixture.h
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim_fixture.h"

/* the keys most tests publish */
static const struct key std_keys[] = {
	{ "brisbane", "football.example.com", "rfc8463-brisbane-ed25519.dns",
	    NULL },
	{ "test", "football.example.com", "rfc8463-test-rsa.pub.txt", NULL },
	{ "rs", "example.org", "example.org-rs.dns", NULL },
	{ "ed", "example.org", "example.org-ed.dns", NULL },
	{ "small", "example.org", "small512.dns", NULL },
	{ "rs1", "example.org", "rs1.dns", NULL },
};

/* slurp - a whole file as a C string */
char *
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
struct am_dns *
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
struct am_dkim_lib *
lib_new(struct am_dns *dns)
{
	struct am_dkim_lib	*lib;
	char			 err[256] = "";

	lib = am_dkim_lib_new(dns, err, sizeof(err));
	ck_assert_msg(lib != NULL, "am_dkim_lib_new: %s", err);
	return lib;
}

/* edit - replace the first "from" in text by "to" (must be present) */
char *
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

/* crlf_value - a copy of v with every LF preceded by CR */
static char *
crlf_value(const char *v)
{
	char	*out, *o;

	out = o = malloc(2 * strlen(v) + 1);
	ck_assert_ptr_nonnull(out);
	for (; *v != '\0'; v++) {
		if (*v == '\n')
			*o++ = '\r';
		*o++ = *v;
	}
	*o = '\0';
	return out;
}

/*
 * feed_headers - split the header block the way an MTA hands it to a
 * milter: name, and value after the colon with its leading space and its
 * folds ("\n" + WSP) kept (SMFIP_HDR_LEADSPC); no_leadspc strips the
 * leading whitespace, crlf sends folds as CRLF.  Returns the body start.
 */
char *
feed_headers(struct am_dkim *d, char *text, int no_leadspc, int crlf)
{
	char	*line = text, *end, *colon, *value;

	while (*line != '\0' && *line != '\n') {
		end = line;
		do {			/* field = line + continuations */
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
		value = crlf ? crlf_value(value) : value;
		ck_assert_int_eq(am_dkim_header(d, line, value), 0);
		if (crlf)
			free(value);
		line = end;
	}
	return *line == '\n' ? line + 1 : line;
}

/* feed_body - body with CRLF line ends, in odd-sized chunks */
void
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
void
verify(struct am_dkim_lib *lib, struct run *r)
{
	struct am_dkim	*d;
	char		 path[512], *text, *body;

	snprintf(path, sizeof(path), DATA "%s", r->file);
	text = edit(slurp(path), r->from, r->to);
	d = am_dkim_new(lib, "TESTQID", r->min_bits ? r->min_bits : 1024,
	    r->max_sigs ? r->max_sigs : 8);
	ck_assert_ptr_nonnull(d);
	body = feed_headers(d, text, r->no_leadspc, r->crlf);
	ck_assert_int_eq(am_dkim_eoh(d, r->budget), 0);
	feed_body(d, body);
	r->rc = am_dkim_eom(d, r->budget, r->sig, NSIGS, &r->n);
	am_dkim_free(d);
	free(text);
}

/* run_std - verify with the standard keys */
void
run_std(struct run *r)
{
	struct am_dns		*dns = dns_local(NULL, 0);
	struct am_dkim_lib	*lib = lib_new(dns);

	verify(lib, r);
	am_dkim_lib_free(lib);
	am_dns_free(dns);
}

