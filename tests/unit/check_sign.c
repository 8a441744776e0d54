/*
 * check_sign.c - DKIM signing (issue 18): the pure table and decision
 * functions (dkim/signtable.h), the key checks of am_signconf_load
 * (dkim/sign.h) and the fields of a signature made by am_signer.
 * Verification of the signatures by dkimpy and by authmilter itself is
 * the milter tier's (tests/milter/test_sign.py).
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "config/config.h"
#include "dkim/sign.h"
#include "dkim/signtable.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------ decision */

static const struct {
	int	configured, auth, ignore, internal;
	enum am_sign_mode want;
} decide_cases[] = {
	{ 0, 1, 1, 1, AM_SIGN_OFF },		/* no keys: nothing */
	{ 1, 0, 0, 0, AM_SIGN_OUTSIDE },	/* outside: never signed */
	{ 1, 1, 0, 0, AM_SIGN_AUTH },
	{ 1, 0, 1, 0, AM_SIGN_IGNORE },		/* non_smtpd_milters: 127.0.0.1 */
	{ 1, 0, 0, 1, AM_SIGN_INTERNAL },
	{ 1, 1, 1, 1, AM_SIGN_AUTH },
};

START_TEST(test_decide)
{
	enum am_sign_mode m = am_sign_decide(decide_cases[_i].configured,
	    decide_cases[_i].auth, decide_cases[_i].ignore,
	    decide_cases[_i].internal);

	ck_assert_int_eq(m, decide_cases[_i].want);
	ck_assert_int_eq(am_sign_mode_signs(m),
	    m != AM_SIGN_OFF && m != AM_SIGN_OUTSIDE);
}
END_TEST

/* ------------------------------------------------------------ patterns */

static const struct {
	const char *pattern, *addr, *domain;
	int	 want;
} match_cases[] = {
	{ "*@example.com", "joe@example.com", "example.com", 1 },
	{ "*@example.com", "joe@sub.example.com", "sub.example.com", 0 },
	{ "*@example.com", "joe@example.com.evil", "example.com.evil", 0 },
	{ "*@*.example.com", "joe@sub.example.com", "sub.example.com", 1 },
	{ "*", "joe@example.org", "example.org", 1 },
	{ "example.com", "joe@example.com", "example.com", 1 },
	{ "example.com", "@example.com", "example.com", 1 },
	{ "example.com", "joe@sub.example.com", "sub.example.com", 0 },
	{ "example.com", "joe@badexample.com", "badexample.com", 0 },
	{ ".example.com", "joe@sub.example.com", "sub.example.com", 1 },
	{ ".example.com", "joe@example.com", "example.com", 0 },
	{ ".example.com", "joe@xexample.com", "xexample.com", 0 },
	{ "joe@example.com", "joe@example.com", "example.com", 1 },
	{ "joe@example.com", "ann@example.com", "example.com", 0 },
	{ "joe@example.com", "@example.com", "example.com", 0 },
	{ "j*e@example.com", "jane@example.com", "example.com", 1 },
	{ "j*e@example.com", "jan@example.com", "example.com", 0 },
};

START_TEST(test_match)
{
	ck_assert_msg(am_signtable_match(match_cases[_i].pattern,
	    match_cases[_i].addr, match_cases[_i].domain) ==
	    match_cases[_i].want, "%s vs %s", match_cases[_i].pattern,
	    match_cases[_i].addr);
}
END_TEST

/* the first match and the lines with its pattern (dual signing) */
START_TEST(test_select)
{
	struct am_sign_rule	 r[] = {
		{ "boss@example.com", "boss", 0, 1 },
		{ "*@example.com", "rsa", 1, 2 },
		{ "example.org", "org", 2, 3 },
		{ "*@example.com", "ed", 3, 4 },
		{ "*", "catchall", 4, 5 },
	};
	size_t	 out[AM_SIGN_PER_MSG_MAX], n;

	n = am_signtable_select(r, nitems(r), "joe@example.com", "example.com",
	    out, nitems(out));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[1], 3);
	n = am_signtable_select(r, nitems(r), "boss@example.com",
	    "example.com", out, nitems(out));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0], 0);
	n = am_signtable_select(r, nitems(r), "x@example.net", "example.net",
	    out, nitems(out));
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(out[0], 4);
	n = am_signtable_select(r, 3, "x@example.net", "example.net", out,
	    nitems(out));
	ck_assert_uint_eq(n, 0);
}
END_TEST

static const struct {
	const char *value, *domain, *want;
} addr_cases[] = {
	{ " Joe <Joe.Doe@Example.COM>", "example.com", "joe.doe@example.com" },
	{ " joe@example.com", "example.com", "joe@example.com" },
	{ "\tjoe@example.com \r\n", "example.com", "joe@example.com" },
	{ " \"Doe, Joe\" <joe@example.com>", "example.com", "joe@example.com" },
	{ " \"joe x\"@example.com", "example.com", "@example.com" },
	{ " joe@example.com (Joe)", "example.com", "@example.com" },
	{ " <joe@other.example>", "example.com", "@example.com" },
};

START_TEST(test_from_addr)
{
	char	 out[AM_SIGN_ADDR_MAX];

	ck_assert_int_eq(am_signtable_from_addr(addr_cases[_i].value,
	    addr_cases[_i].domain, out, sizeof(out)), 0);
	ck_assert_str_eq(out, addr_cases[_i].want);
}
END_TEST

static const struct {
	const char *line;
	int	 ok;
} keyline_cases[] = {
	{ "k1 example.com:sel:/etc/k.pem", 1 },
	{ "k1 Example.COM:sel:keys/k.pem", 1 },
	{ "k1", 0 },
	{ "k1 example.com:sel", 0 },
	{ "k1 example.com::/k", 0 },
	{ "k1 :sel:/k", 0 },
	{ "k1 exa mple.com:sel:/k", 0 },
	{ "k1 example.com:sel:/k extra", 0 },
	{ "k1 ex@mple.com:sel:/k", 0 },
};

START_TEST(test_keyline)
{
	struct am_sign_keyent	 e = { 0 };
	char			 err[256];
	int			 rc;

	rc = am_signtable_keyline(keyline_cases[_i].line, &e, err, sizeof(err));
	ck_assert_msg((rc == 0) == keyline_cases[_i].ok, "%s",
	    keyline_cases[_i].line);
	if (rc == 0) {
		ck_assert_str_eq(e.domain, "example.com");
		ck_assert_str_eq(e.selector, "sel");
	}
	am_signtable_keyent_clear(&e);
}
END_TEST

/* ------------------------------------------------------------ key files */

static char	 dir[] = "/tmp/check_sign.XXXXXX";
static char	 problems[8192];

static void
collect(void *arg, const char *msg)
{
	(void)arg;
	strncat(problems, msg, sizeof(problems) - strlen(problems) - 2);
	strcat(problems, "\n");
}

/* write_file - dir/name with text and mode; returns the path (static) */
static const char *
write_file(const char *name, const char *text, mode_t mode)
{
	static char	 path[512];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

/* write_key - a fresh key of the given type into dir/name */
static void
write_key(const char *name, const char *type, unsigned int bits, mode_t mode)
{
	EVP_PKEY	*pk;
	char		 path[512];
	FILE		*f;

	if (strcmp(type, "RSA") == 0)
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(pk);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	EVP_PKEY_free(pk);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static void
setup_keys(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_key("rsa.pem", "RSA", 2048, 0600);
	write_key("ed.pem", "ED25519", 0, 0600);
	write_key("short.pem", "RSA", 1024, 0600);
	write_key("group.pem", "ED25519", 0, 0640);
	write_file("notakey", "not a key\n", 0600);
}

static void
teardown_keys(void)
{
	char	 cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* load_tables - KeyTable and SigningTable text through am_signconf_load */
static struct am_signconf *
load_tables(const char *kt, const char *st)
{
	struct am_sign_src	 src = { 0 };
	char			 ktp[512], stp[512];

	snprintf(ktp, sizeof(ktp), "%s", write_file("keytable", kt, 0644));
	snprintf(stp, sizeof(stp), "%s", write_file("signtable", st, 0644));
	src.keytable = ktp;
	src.signtable = stp;
	src.trio_where = "test.conf:9: KeyTable";
	src.run_uid = geteuid();
	problems[0] = '\0';
	return am_signconf_load(&src, collect, NULL);
}

START_TEST(test_tables_good)
{
	struct am_signconf	*sc;

	sc = load_tables("# keys\nrsa example.com:r1:rsa.pem\n"
	    "ed example.com:e1:ed.pem\n", "*@example.com rsa\n"
	    "*@example.com ed\n");
	ck_assert_msg(sc != NULL, "%s", problems);
	ck_assert_uint_eq(am_signconf_nkeys(sc), 2);
	am_signconf_free(sc);
}
END_TEST

/* a problem names the table's file:line and the key file */
static const struct {
	const char *kt, *st, *want;
} bad_cases[] = {
	{ "short example.com:s:short.pem\n", "example.com short\n",
	    "keytable:1: key file %s/short.pem: RSA key of 1024 bits" },
	{ "\ng example.com:s:group.pem\n", "example.com g\n",
	    "keytable:2: key file %s/group.pem: readable or writable by "
	    "group or others (mode 0640" },
	{ "m example.com:s:missing.pem\n", "example.com m\n",
	    "keytable:1: key file %s/missing.pem: No such file" },
	{ "r example.com:s:rsa.pem\n", "# x\n*@example.com nokey\n",
	    "signtable:2: key nokey is not in the KeyTable" },
	{ "r example.com:s:rsa.pem\nr example.com:t:ed.pem\n",
	    "example.com r\n", "keytable:2: key r given twice, first at line 1" },
	{ "r example.com:s:notakey\n", "example.com r\n",
	    "keytable:1: key file %s/notakey: neither a PEM private key" },
	{ "r example.com\n", "example.com r\n",
	    "keytable:1: r: expected domain:selector:keyfile" },
	{ "r\n", "example.com r\n",
	    "keytable:1: expected \"keyname domain:selector:keyfile\"" },
};

START_TEST(test_tables_bad)
{
	struct am_signconf	*sc;
	char			 want[512];

	sc = load_tables(bad_cases[_i].kt, bad_cases[_i].st);
	ck_assert_ptr_null(sc);
	snprintf(want, sizeof(want), bad_cases[_i].want, dir);
	ck_assert_msg(strstr(problems, want) != NULL, "want \"%s\" in:\n%s",
	    want, problems);
	/* the key's bytes never reach a message */
	ck_assert_ptr_null(strstr(problems, "PRIVATE KEY"));
}
END_TEST

/* the Domain/Selector/KeyFile trio; errors carry the config's file:line */
START_TEST(test_trio)
{
	struct am_sign_src	 src = { 0 };
	struct am_signconf	*sc;
	char			 key[512];

	snprintf(key, sizeof(key), "%s/rsa.pem", dir);
	src.domain = "example.com";
	src.selector = "s1";
	src.keyfile = key;
	src.trio_where = "test.conf:12: KeyFile";
	src.run_uid = geteuid();
	problems[0] = '\0';
	sc = am_signconf_load(&src, collect, NULL);
	ck_assert_msg(sc != NULL, "%s", problems);
	am_signconf_free(sc);
	snprintf(key, sizeof(key), "%s/short.pem", dir);
	sc = am_signconf_load(&src, collect, NULL);
	ck_assert_ptr_null(sc);
	ck_assert_ptr_nonnull(strstr(problems, "test.conf:12: KeyFile: key "
	    "file "));
	/* a key owned by someone else than the run user */
	snprintf(key, sizeof(key), "%s/rsa.pem", dir);
	src.run_uid = geteuid() + 1;
	problems[0] = '\0';
	ck_assert_ptr_null(am_signconf_load(&src, collect, NULL));
	ck_assert_ptr_nonnull(strstr(problems, "not by the run user"));
}
END_TEST

/* config/signing.c: the keys that go together, errors at the conf line */
static const struct {
	const char *conf, *want;
} conf_cases[] = {
	{ "LogLevel info\nDomain example.com\n",
	    "test.conf:2: Domain/Selector without KeyFile" },
	{ "KeyTable %s/keytable\n",
	    "test.conf:1: KeyTable: KeyTable and SigningTable go together" },
	{ "KeyTable %s/keytable\nSigningTable %s/signtable\nKeyFile %s/rsa.pem\n"
	    "Domain example.com\nSelector s\n",
	    "test.conf:3: KeyFile: KeyFile and KeyTable/SigningTable exclude" },
	{ "Selector s\nKeyFile %s/rsa.pem\n",
	    "test.conf:2: KeyFile: needs Domain and Selector too" },
	{ "Domain exa mple.com\n", "test.conf:1: Domain: \"exa mple.com\" is "
	    "not a DNS name" },
};

START_TEST(test_conf_keys)
{
	struct am_config	*cfg;
	char			 text[1024], path[600];

	write_file("keytable", "r example.com:s:rsa.pem\n", 0644);
	write_file("signtable", "example.com r\n", 0644);
	snprintf(text, sizeof(text), conf_cases[_i].conf, dir, dir, dir);
	write_file("test.conf", text, 0644);
	snprintf(path, sizeof(path), "%s/test.conf", dir);
	problems[0] = '\0';
	cfg = am_config_load(path, collect, NULL);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(problems, conf_cases[_i].want) != NULL,
	    "want \"%s\" in:\n%s", conf_cases[_i].want, problems);
}
END_TEST

/* a good single-key configuration loads, with its key */
START_TEST(test_conf_trio_good)
{
	struct am_config	*cfg;
	char			 text[1024], path[600];

	snprintf(text, sizeof(text), "Domain example.com\nSelector s\n"
	    "KeyFile %s/ed.pem\nInternalHosts 10.0.0.0/8\n", dir);
	write_file("good.conf", text, 0644);
	snprintf(path, sizeof(path), "%s/good.conf", dir);
	problems[0] = '\0';
	cfg = am_config_load(path, collect, NULL);
	ck_assert_msg(cfg != NULL, "%s", problems);
	ck_assert_uint_eq(am_signconf_nkeys(cfg->sign), 1);
	ck_assert_ptr_nonnull(cfg->internal_hosts);
	am_config_unref(cfg);
}
END_TEST

/* ------------------------------------------------------------ signatures */

static const char *const hdrs[][2] = {
	{ "From", " Joe <joe@example.com>" },
	{ "To", " ann@example.net" },
	{ "Subject", " folded\r\n\t  subject  " },
	{ "X-Not-Signed", " x" },
};

/* sign_one - the signatures a signer makes for a small message */
static struct am_signer *
sign_body(struct am_signconf *sc, const char *addr, const char *body)
{
	struct am_signer	*s = am_signer_new(sc, "Q1");
	size_t			 i;

	ck_assert_ptr_nonnull(s);
	for (i = 0; i < nitems(hdrs); i++)
		ck_assert_int_eq(am_signer_header(s, hdrs[i][0], hdrs[i][1]), 0);
	ck_assert_int_eq(am_signer_eoh(s, addr, "example.com"), 0);
	ck_assert_int_eq(am_signer_body(s, (const unsigned char *)body,
	    strlen(body)), 0);
	ck_assert_int_eq(am_signer_eom(s), 0);
	return s;
}

static struct am_signer *
sign_one(struct am_signconf *sc, const char *addr)
{
	return sign_body(sc, addr, "hello\r\n");
}

/*
 * A body whose last line has no line end is signed as the MTA delivers
 * it, with one (libopendkim refuses to sign it otherwise: "CRLF at end
 * of body missing"); same bh= as the body with the CRLF.
 */
START_TEST(test_open_last_line)
{
	struct am_signconf	*sc;
	struct am_signer	*a, *b;
	const char		*bha, *bhb;

	sc = load_tables("ed example.com:e1:ed.pem\n", "example.com ed\n");
	ck_assert_msg(sc != NULL, "%s", problems);
	a = sign_body(sc, "joe@example.com", "no line end");
	b = sign_body(sc, "joe@example.com", "no line end\r\n");
	ck_assert_uint_eq(am_signer_count(a), 1);
	bha = strstr(am_signer_value(a, 0), "bh=");
	bhb = strstr(am_signer_value(b, 0), "bh=");
	ck_assert_ptr_nonnull(bha);
	ck_assert_ptr_nonnull(bhb);
	ck_assert_int_eq(strncmp(bha, bhb, 47), 0);
	am_signer_free(a);
	am_signer_free(b);
	am_signconf_free(sc);
}
END_TEST

START_TEST(test_signatures)
{
	struct am_signconf	*sc;
	struct am_signer	*s;
	struct am_buf		 b;
	const char		*v;
	size_t			 i;

	sc = load_tables("rsa example.com:r1:rsa.pem\ned example.com:e1:ed.pem\n",
	    "*@example.com rsa\n*@example.com ed\n");
	ck_assert_msg(sc != NULL, "%s", problems);
	s = sign_one(sc, "joe@example.com");
	ck_assert_uint_eq(am_signer_count(s), 2);
	for (i = 0; i < 2; i++) {
		v = am_signer_value(s, i);
		ck_assert_ptr_nonnull(strstr(v, "c=relaxed/relaxed;"));
		ck_assert_ptr_nonnull(strstr(v, "d=example.com;"));
		ck_assert_ptr_null(strstr(v, " l="));	/* no body length */
		ck_assert_ptr_null(strchr(v, '\r'));
		/* From oversigned: once more than present */
		ck_assert_ptr_nonnull(strstr(v, "h=From:To:Subject:From:"));
		ck_assert_ptr_null(strstr(v, "X-Not-Signed"));
	}
	ck_assert_ptr_nonnull(strstr(am_signer_value(s, 0), "a=rsa-sha256;"));
	ck_assert_ptr_nonnull(strstr(am_signer_value(s, 1),
	    "a=ed25519-sha256;"));
	am_buf_init(&b, 512);
	am_signer_describe(s, &b);
	ck_assert_str_eq(am_buf_str(&b),
	    "rsa-sha256:example.com:r1,ed25519-sha256:example.com:e1");
	am_buf_clear(&b);
	am_signer_free(s);
	/* no From address: not signed, and why */
	s = am_signer_new(sc, "Q2");
	ck_assert_int_eq(am_signer_eoh(s, NULL, NULL), 0);
	ck_assert_int_eq(am_signer_eom(s), 0);
	ck_assert_uint_eq(am_signer_count(s), 0);
	ck_assert_str_eq(am_signer_skipped(s), "no usable From address");
	am_signer_free(s);
	am_signconf_free(sc);
}
END_TEST

static Suite *
sign_suite(void)
{
	Suite	*s = suite_create("sign");
	TCase	*tc = tcase_create("pure");
	TCase	*tk = tcase_create("keys");

	tcase_add_loop_test(tc, test_decide, 0, nitems(decide_cases));
	tcase_add_loop_test(tc, test_match, 0, nitems(match_cases));
	tcase_add_test(tc, test_select);
	tcase_add_loop_test(tc, test_from_addr, 0, nitems(addr_cases));
	tcase_add_loop_test(tc, test_keyline, 0, nitems(keyline_cases));
	suite_add_tcase(s, tc);
	tcase_add_unchecked_fixture(tk, setup_keys, teardown_keys);
	tcase_set_timeout(tk, 30);
	tcase_add_test(tk, test_tables_good);
	tcase_add_loop_test(tk, test_tables_bad, 0, nitems(bad_cases));
	tcase_add_test(tk, test_trio);
	tcase_add_loop_test(tk, test_conf_keys, 0, nitems(conf_cases));
	tcase_add_test(tk, test_conf_trio_good);
	tcase_add_test(tk, test_signatures);
	tcase_add_test(tk, test_open_last_line);
	suite_add_tcase(s, tk);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(sign_suite());
	int	 nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
