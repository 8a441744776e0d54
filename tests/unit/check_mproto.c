/*
 * check_mproto.c - milter/server/mproto.c: packet framing (partial input, bad
 * lengths, the max boundary, packets back to back), the OPTNEG, CONNECT,
 * HEADER and MACRO payload parsers against well-formed and truncated or
 * unterminated payloads, and the exact bytes of every reply builder,
 * compared with byte strings written out by hand from the protocol
 * (Postfix's milter8.c and sendmail's libmilter speak the same layout).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "server/mproto.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
/* a string literal with embedded NULs as bytes and their count */
#define B(lit)		(const unsigned char *)(lit), (sizeof(lit) - 1)

/* packet - a parser's view of payload bytes */
static struct am_mp_packet
packet(char cmd, const unsigned char *data, size_t len)
{
	struct am_mp_packet	 p;

	p.cmd = cmd;
	p.data = data;
	p.len = len;
	return p;
}

/* expect_bytes - the buffer holds exactly these bytes and has not failed */
static void
expect_bytes(const struct am_buf *b, const unsigned char *want, size_t n,
    const char *label)
{
	ck_assert_msg(!am_buf_failed(b), "%s: buffer failed", label);
	ck_assert_msg(b->len == n, "%s: len %zu, want %zu", label, b->len, n);
	ck_assert_mem_eq(b->s, want, n);
}

/* inside - p points into data[0..len) */
static int
inside(const unsigned char *p, const unsigned char *data, size_t len)
{
	return (uintptr_t)p >= (uintptr_t)data &&
	    (uintptr_t)p < (uintptr_t)data + len;
}

/*
 * framing
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	size_t			 max;
	ssize_t			 rc;
	char			 cmd;	/* when rc > 0 */
	size_t			 plen;	/* payload length, when rc > 0 */
} frame_cases[] = {
	{ "0 bytes",		B(""), 100, 0, 0, 0 },
	{ "1 byte",		B("\0"), 100, 0, 0, 0 },
	{ "2 bytes",		B("\0\0"), 100, 0, 0, 0 },
	{ "3 bytes",		B("\0\0\0"), 100, 0, 0, 0 },
	{ "length, no cmd",	B("\0\0\0\x05"), 100, 0, 0, 0 },
	{ "cmd, no payload",	B("\0\0\0\x05" "B"), 100, 0, 0, 0 },
	{ "partial payload",	B("\0\0\0\x05" "Bab"), 100, 0, 0, 0 },
	{ "one short",		B("\0\0\0\x05" "Babc"), 100, 0, 0, 0 },
	{ "complete",		B("\0\0\0\x05" "Babcd"), 100, 9, 'B', 4 },
	{ "complete + more",	B("\0\0\0\x05" "Babcd" "\0\0"), 100, 9, 'B', 4 },
	{ "zero payload N",	B("\0\0\0\x01" "N"), 100, 5, 'N', 0 },
	{ "length 0",		B("\0\0\0\0"), 100, -1, 0, 0 },
	{ "length 0 + bytes",	B("\0\0\0\0" "Nxyz"), 100, -1, 0, 0 },
	{ "exact max",		B("\0\0\0\x04" "Babc"), 3, 8, 'B', 3 },
	{ "exact max, partial",	B("\0\0\0\x04" "Bab"), 3, 0, 0, 0 },
	{ "max + 1 payload",	B("\0\0\0\x05" "Babcd"), 3, -1, 0, 0 },
	{ "over max, 4 bytes",	B("\0\0\0\x05"), 3, -1, 0, 0 },
	{ "max 0, empty ok",	B("\0\0\0\x01" "Q"), 0, 5, 'Q', 0 },
	{ "max 0, 1 byte",	B("\0\0\0\x02" "Bx"), 0, -1, 0, 0 },
	{ "huge length",	B("\xff\xff\xff\xff"), 65536, -1, 0, 0 },
	{ "2^24 + 1",		B("\x01\0\0\x01" "B"), 65536, -1, 0, 0 },
	{ "big-endian 0x0100",	B("\0\0\x01\0" "B"), 65536, 0, 0, 0 },
	/* no limit: max + 1 must not wrap to 0 and refuse everything */
	{ "max SIZE_MAX",	B("\0\0\0\x02" "Bx"), SIZE_MAX, 6, 'B', 1 },
	{ "max SIZE_MAX, huge",	B("\xff\xff\xff\xff" "B"), SIZE_MAX, 0, 0, 0 },
};

/* test_frame - one packet, or 0 for more bytes, or -1 */
START_TEST(test_frame)
{
	struct am_mp_packet	 pkt;
	ssize_t			 rc;

	memset(&pkt, 0, sizeof(pkt));
	rc = am_mp_frame(frame_cases[_i].in, frame_cases[_i].len,
	    frame_cases[_i].max, &pkt);
	ck_assert_msg(rc == frame_cases[_i].rc, "%s: rc %zd, want %zd",
	    frame_cases[_i].label, rc, frame_cases[_i].rc);
	if (rc > 0) {
		ck_assert_int_eq(pkt.cmd, frame_cases[_i].cmd);
		ck_assert_uint_eq(pkt.len, frame_cases[_i].plen);
		ck_assert_ptr_eq(pkt.data, frame_cases[_i].in + 5);
		ck_assert_uint_eq((size_t)rc, 5 + pkt.len);
	}
}
END_TEST

/* test_frame_back_to_back - two packets and a fragment, one at a time */
START_TEST(test_frame_back_to_back)
{
	static const unsigned char in[] =
	    "\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\x01\xff" "\0\x1f\xff\xff"
	    "\0\0\0\x01" "N"
	    "\0\0\0\x08" "L" "To\0a@b\0";
	size_t			 len = sizeof(in) - 1, off = 0;
	struct am_mp_packet	 pkt;
	ssize_t			 rc;
	uint32_t		 v, a, s;

	rc = am_mp_frame(in + off, len - off, 65536, &pkt);
	ck_assert_int_eq(rc, 17);
	ck_assert_int_eq(pkt.cmd, 'O');
	ck_assert_uint_eq(pkt.len, 12);
	ck_assert_int_eq(am_mp_optneg_parse(&pkt, &v, &a, &s), 0);
	ck_assert_uint_eq(v, 6);
	ck_assert_uint_eq(a, 0x1ff);
	ck_assert_uint_eq(s, 0x1fffff);
	off += (size_t)rc;

	rc = am_mp_frame(in + off, len - off, 65536, &pkt);
	ck_assert_int_eq(rc, 5);
	ck_assert_int_eq(pkt.cmd, 'N');
	ck_assert_uint_eq(pkt.len, 0);
	off += (size_t)rc;

	/* the last one arrives a byte at a time */
	for (size_t have = 0; have < 12; have++)
		ck_assert_int_eq(am_mp_frame(in + off, have, 65536, &pkt), 0);
	rc = am_mp_frame(in + off, len - off, 65536, &pkt);
	ck_assert_int_eq(rc, 12);
	ck_assert_int_eq(pkt.cmd, 'L');
	ck_assert_uint_eq(pkt.len, 7);
	ck_assert_mem_eq(pkt.data, "To\0a@b\0", 7);
	off += (size_t)rc;
	ck_assert_uint_eq(off, len);
	ck_assert_int_eq(am_mp_frame(in + off, 0, 65536, &pkt), 0);
}
END_TEST

/*
 * OPTNEG
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	int			 rc;
	uint32_t		 version, actions, steps;
} optneg_cases[] = {
	{ "empty",		B(""), -1, 0, 0, 0 },
	{ "11 bytes",		B("\0\0\0\x06" "\0\0\0\x01" "\0\0\0"), -1, 0, 0, 0 },
	{ "postfix 6",		B("\0\0\0\x06" "\0\0\x01\xff" "\0\x1f\xff\xff"), 0,
				    6, 0x1ff, 0x1fffff },
	{ "byte order",		B("\x01\x02\x03\x04" "\x05\x06\x07\x08"
				    "\x09\x0a\x0b\x0c"), 0,
				    0x01020304, 0x05060708, 0x090a0b0c },
	{ "extra bytes",	B("\0\0\0\x02" "\0\0\0\x3f" "\0\0\0\x7f" "junk\0"), 0,
				    2, 0x3f, 0x7f },
};

/* test_optneg - three numbers in network order; short payloads are -1 */
START_TEST(test_optneg)
{
	struct am_mp_packet	 p = packet('O', optneg_cases[_i].in,
				    optneg_cases[_i].len);
	uint32_t		 v = 0xdead, a = 0xdead, s = 0xdead;
	int			 rc;

	rc = am_mp_optneg_parse(&p, &v, &a, &s);
	ck_assert_msg(rc == optneg_cases[_i].rc, "%s: rc %d",
	    optneg_cases[_i].label, rc);
	if (rc == 0) {
		ck_assert_uint_eq(v, optneg_cases[_i].version);
		ck_assert_uint_eq(a, optneg_cases[_i].actions);
		ck_assert_uint_eq(s, optneg_cases[_i].steps);
	}
}
END_TEST

/*
 * CONNECT
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	int			 rc;
	const char		*host;
	int			 has_addr;
	int			 family;
	const char		*addr;	/* inet_ntop text, or the unix path */
	unsigned		 port;
} connect_cases[] = {
	{ "ipv4",	B("mx.example.org\0" "4" "\0\x19" "192.0.2.1\0"), 0,
			    "mx.example.org", 1, AF_INET, "192.0.2.1", 25 },
	{ "ipv4 high port", B("[192.0.2.7]\0" "4" "\xc3\x50" "192.0.2.7\0"), 0,
			    "[192.0.2.7]", 1, AF_INET, "192.0.2.7", 50000 },
	{ "ipv6 prefix", B("h6\0" "6" "\x01\xbb" "IPv6:2001:db8::1\0"), 0,
			    "h6", 1, AF_INET6, "2001:db8::1", 443 },
	{ "ipv6 bare",	B("h6\0" "6" "\0\x19" "2001:db8::25\0"), 0,
			    "h6", 1, AF_INET6, "2001:db8::25", 25 },
	{ "ipv6 mapped", B("h\0" "6" "\0\x19" "IPv6:::ffff:192.0.2.1\0"), 0,
			    "h", 1, AF_INET6, "::ffff:192.0.2.1", 25 },
	{ "unix",	B("localhost\0" "L" "\0\0" "/var/run/x.sock\0"), 0,
			    "localhost", 1, AF_UNIX, "/var/run/x.sock", 0 },
	{ "unknown",	B("unknown\0" "U"), 0, "unknown", 0, 0, NULL, 0 },
	{ "empty host",	B("\0" "U"), 0, "", 0, 0, NULL, 0 },
	{ "empty",	B(""), -1, NULL, 0, 0, NULL, 0 },
	{ "host no NUL", B("mx.example.org"), -1, NULL, 0, 0, NULL, 0 },
	{ "no family",	B("mx\0"), -1, NULL, 0, 0, NULL, 0 },
	{ "no port",	B("mx\0" "4"), -1, NULL, 0, 0, NULL, 0 },
	{ "half port",	B("mx\0" "4" "\0"), -1, NULL, 0, 0, NULL, 0 },
	{ "no address",	B("mx\0" "4" "\0\x19"), -1, NULL, 0, 0, NULL, 0 },
	{ "addr no NUL", B("mx\0" "4" "\0\x19" "192.0.2.1"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "bad ipv4",	B("mx\0" "4" "\0\x19" "192.0.2.256\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "empty ipv4",	B("mx\0" "4" "\0\x19" "\0"), -1, NULL, 0, 0, NULL, 0 },
	{ "v6 text as 4", B("mx\0" "4" "\0\x19" "2001:db8::1\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "v4 text as 6", B("mx\0" "6" "\0\x19" "192.0.2.1\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "bad ipv6",	B("mx\0" "6" "\0\x19" "IPv6:2001:db8::g\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "prefix only", B("mx\0" "6" "\0\x19" "IPv6:\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "family X",	B("mx\0" "X" "\0\x19" "192.0.2.1\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "family NUL",	B("mx\0" "\0" "\0\x19" "192.0.2.1\0"), -1,
			    NULL, 0, 0, NULL, 0 },
	{ "unix no NUL", B("mx\0" "L" "\0\0" "/tmp/s"), -1,
			    NULL, 0, 0, NULL, 0 },
};

/* test_connect - host, then a sockaddr of the family the MTA named */
START_TEST(test_connect)
{
	struct am_mp_packet	 p = packet('C', connect_cases[_i].in,
				    connect_cases[_i].len);
	struct sockaddr_storage	 ss;
	const struct sockaddr_in *sin = (const void *)&ss;
	const struct sockaddr_in6 *sin6 = (const void *)&ss;
	const struct sockaddr_un *sun = (const void *)&ss;
	const char		*host = NULL;
	char			 text[INET6_ADDRSTRLEN];
	int			 rc, has_addr = -7;
	const char		*label = connect_cases[_i].label;

	memset(&ss, 0xa5, sizeof(ss));
	rc = am_mp_connect_parse(&p, &host, &ss, &has_addr);
	ck_assert_msg(rc == connect_cases[_i].rc, "%s: rc %d", label, rc);
	if (rc == -1)
		return;
	ck_assert_ptr_nonnull(host);
	ck_assert_str_eq(host, connect_cases[_i].host);
	ck_assert_ptr_eq(host, (const char *)connect_cases[_i].in);
	ck_assert_msg(has_addr == connect_cases[_i].has_addr,
	    "%s: has_addr %d", label, has_addr);
	if (!has_addr)
		return;
	ck_assert_int_eq(ss.ss_family, connect_cases[_i].family);
	switch (connect_cases[_i].family) {
	case AF_INET:
		ck_assert_uint_eq(ntohs(sin->sin_port), connect_cases[_i].port);
		ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin->sin_addr, text,
		    sizeof(text)));
		ck_assert_str_eq(text, connect_cases[_i].addr);
		break;
	case AF_INET6:
		ck_assert_uint_eq(ntohs(sin6->sin6_port),
		    connect_cases[_i].port);
		ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6->sin6_addr,
		    text, sizeof(text)));
		ck_assert_str_eq(text, connect_cases[_i].addr);
		ck_assert_uint_eq(sin6->sin6_flowinfo, 0);
		ck_assert_uint_eq(sin6->sin6_scope_id, 0);
		break;
	case AF_UNIX:
		ck_assert_str_eq(sun->sun_path, connect_cases[_i].addr);
		break;
	default:
		ck_abort_msg("%s: bad family in the table", label);
	}
}
END_TEST

/* test_connect_port_bytes - the port is stored exactly as it came */
START_TEST(test_connect_port_bytes)
{
	static const unsigned char in[] = "h\0" "4" "\x12\x34" "10.1.2.3\0";
	struct am_mp_packet	 p = packet('C', in, sizeof(in) - 1);
	struct sockaddr_storage	 ss;
	const struct sockaddr_in *sin = (const void *)&ss;
	const unsigned char	*port = (const void *)&sin->sin_port;
	const unsigned char	*addr = (const void *)&sin->sin_addr;
	const char		*host;
	int			 has_addr;

	ck_assert_int_eq(am_mp_connect_parse(&p, &host, &ss, &has_addr), 0);
	ck_assert_int_eq(has_addr, 1);
	/* network order in memory: the same two bytes the MTA sent */
	ck_assert_uint_eq(port[0], 0x12);
	ck_assert_uint_eq(port[1], 0x34);
	ck_assert_uint_eq(addr[0], 10);
	ck_assert_uint_eq(addr[3], 3);
}
END_TEST

/* unix path lengths around sizeof(sun_path) */
static const struct {
	size_t	 pathlen;
	int	 rc;
} unix_cases[] = {
	{ 0, 0 },
	{ 1, 0 },
	{ sizeof(((struct sockaddr_un *)0)->sun_path) - 1, 0 },
	{ sizeof(((struct sockaddr_un *)0)->sun_path), -1 },
	{ sizeof(((struct sockaddr_un *)0)->sun_path) + 1, -1 },
	{ 4000, -1 },
};

/* test_connect_unix_len - a path that fits with its NUL, or -1 */
START_TEST(test_connect_unix_len)
{
	size_t			 pl = unix_cases[_i].pathlen;
	size_t			 len = 3 + 1 + 2 + pl + 1;
	unsigned char		*in = malloc(len);
	struct am_mp_packet	 p;
	struct sockaddr_storage	 ss;
	const struct sockaddr_un *sun = (const void *)&ss;
	const char		*host;
	int			 has_addr, rc;

	ck_assert_ptr_nonnull(in);
	memcpy(in, "lh\0L\0\0", 6);
	memset(in + 6, 'p', pl);
	in[6 + pl] = '\0';
	p = packet('C', in, len);
	memset(&ss, 0xa5, sizeof(ss));
	rc = am_mp_connect_parse(&p, &host, &ss, &has_addr);
	ck_assert_msg(rc == unix_cases[_i].rc, "path of %zu: rc %d", pl, rc);
	if (rc == 0) {
		ck_assert_int_eq(has_addr, 1);
		ck_assert_int_eq(sun->sun_family, AF_UNIX);
		ck_assert_uint_eq(strlen(sun->sun_path), pl);
	}
	free(in);
}
END_TEST

/*
 * strings
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	size_t			 max;
	int			 rc;
	size_t			 n;
	const char		*want[4];
} strings_cases[] = {
	{ "empty",		B(""), 4, 0, 0, { NULL } },
	{ "empty, max 0",	B(""), 0, 0, 0, { NULL } },
	{ "one empty",		B("\0"), 4, 0, 1, { "" } },
	{ "one",		B("abc\0"), 4, 0, 1, { "abc" } },
	{ "several",		B("a\0bc\0\0def\0"), 4, 0, 4,
				    { "a", "bc", "", "def" } },
	{ "exactly max",	B("a\0b\0"), 2, 0, 2, { "a", "b" } },
	{ "more than max",	B("a\0b\0c\0"), 2, -1, 0, { NULL } },
	{ "max 0, one",		B("a\0"), 0, -1, 0, { NULL } },
	{ "unterminated",	B("abc"), 4, -1, 0, { NULL } },
	{ "last unterminated",	B("a\0b\0c"), 4, -1, 0, { NULL } },
	{ "over max, unterm.",	B("a\0b\0c"), 2, -1, 0, { NULL } },
};

/* test_strings - NUL-terminated strings, every one of them terminated */
START_TEST(test_strings)
{
	const char	*v[4] = { NULL, NULL, NULL, NULL };
	size_t		 n = 99, i;
	int		 rc;
	const char	*label = strings_cases[_i].label;

	ck_assert_uint_le(strings_cases[_i].max, nitems(v));
	rc = am_mp_strings(strings_cases[_i].in, strings_cases[_i].len, v,
	    strings_cases[_i].max, &n);
	ck_assert_msg(rc == strings_cases[_i].rc, "%s: rc %d", label, rc);
	if (rc == -1)
		return;
	ck_assert_msg(n == strings_cases[_i].n, "%s: n %zu", label, n);
	for (i = 0; i < n; i++) {
		ck_assert_str_eq(v[i], strings_cases[_i].want[i]);
		ck_assert(inside((const unsigned char *)v[i],
		    strings_cases[_i].in, strings_cases[_i].len));
	}
}
END_TEST

/* test_strings_max_untouched - never more than max pointers written */
START_TEST(test_strings_max_untouched)
{
	static const unsigned char in[] = "a\0b\0c\0";
	const char	*v[3] = { NULL, NULL, "guard" };
	size_t		 n;

	ck_assert_int_eq(am_mp_strings(in, sizeof(in) - 1, v, 2, &n), -1);
	ck_assert_str_eq(v[2], "guard");
}
END_TEST

/*
 * HEADER
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	int			 rc;
	const char		*name, *value;
} header_cases[] = {
	{ "plain",	B("From\0a@example.org\0"), 0, "From", "a@example.org" },
	{ "empty value", B("Subject\0\0"), 0, "Subject", "" },
	{ "leading sp",	B("Subject\0 hi there\0"), 0, "Subject", " hi there" },
	{ "folded",	B("DKIM-Signature\0v=1;\r\n\tb=x\0"), 0,
			    "DKIM-Signature", "v=1;\r\n\tb=x" },
	{ "empty",	B(""), -1, NULL, NULL },
	{ "name only",	B("From\0"), -1, NULL, NULL },
	{ "name no NUL", B("From"), -1, NULL, NULL },
	{ "value no NUL", B("From\0a@example.org"), -1, NULL, NULL },
	/* a NUL inside the value ends it for every filter (libmilter too) */
	{ "three",	B("From\0a\0b\0"), 0, "From", "a" },
	{ "trailing",	B("From\0a\0b"), 0, "From", "a" },
};

/* test_header - name\0value\0, what follows the value ignored */
START_TEST(test_header)
{
	struct am_mp_packet	 p = packet('L', header_cases[_i].in,
				    header_cases[_i].len);
	const char		*name = NULL, *value = NULL;
	int			 rc;

	rc = am_mp_header_parse(&p, &name, &value);
	ck_assert_msg(rc == header_cases[_i].rc, "%s: rc %d",
	    header_cases[_i].label, rc);
	if (rc == 0) {
		ck_assert_str_eq(name, header_cases[_i].name);
		ck_assert_str_eq(value, header_cases[_i].value);
		ck_assert_ptr_eq(name, (const char *)header_cases[_i].in);
	}
}
END_TEST

/*
 * MACRO
 */

static const struct {
	const char		*label;
	const unsigned char	*in;
	size_t			 len;
	const char		*name;
	const char		*want;	/* NULL: not found */
} macro_cases[] = {
	{ "bare, bare",		B("i\0" "4XyZ1\0"), "i", "4XyZ1" },
	{ "bare, braced",	B("i\0" "4XyZ1\0"), "{i}", "4XyZ1" },
	{ "braced, bare",	B("{i}\0" "4XyZ1\0"), "i", "4XyZ1" },
	{ "braced, braced",	B("{i}\0" "4XyZ1\0"), "{i}", "4XyZ1" },
	{ "second pair",	B("j\0mx.example.org\0{auth_authen}\0alice\0"),
				    "{auth_authen}", "alice" },
	{ "second, bare name",	B("j\0mx.example.org\0{auth_authen}\0alice\0"),
				    "auth_authen", "alice" },
	{ "empty value",	B("{auth_authen}\0\0"), "{auth_authen}", "" },
	{ "not a value",	B("j\0i\0i\0right\0"), "i", "right" },
	{ "value only match",	B("j\0i\0"), "i", NULL },
	{ "absent",		B("j\0mx\0{daemon_name}\0d\0"), "i", NULL },
	{ "empty pairs",	B(""), "i", NULL },
	{ "prefix of name",	B("if\0x\0"), "i", NULL },
	{ "name is prefix",	B("i\0x\0"), "if", NULL },
	{ "half brace",		B("{i\0x\0"), "i", NULL },
	{ "half brace want",	B("i\0x\0"), "{i", NULL },
	{ "value missing",	B("j\0mx\0i\0"), "i", NULL },
	{ "value unterminated",	B("j\0mx\0i\0abc"), "i", NULL },
	{ "name unterminated",	B("j\0mx\0i"), "i", NULL },
	{ "malformed first",	B("j\0mx"), "i", NULL },
	{ "no NUL at all",	B("i"), "i", NULL },
};

/* test_macro_find - the value for a name, braces optional either side */
START_TEST(test_macro_find)
{
	const char	*got;
	const char	*label = macro_cases[_i].label;

	got = am_mp_macro_find(macro_cases[_i].in, macro_cases[_i].len,
	    macro_cases[_i].name);
	if (macro_cases[_i].want == NULL) {
		ck_assert_msg(got == NULL, "%s: got \"%s\"", label, got);
		return;
	}
	ck_assert_msg(got != NULL, "%s: not found", label);
	ck_assert_str_eq(got, macro_cases[_i].want);
	ck_assert(inside((const unsigned char *)got + strlen(got),
	    macro_cases[_i].in, macro_cases[_i].len));
}
END_TEST

/*
 * builders
 */

/* test_put - length counting the command, command, payload */
START_TEST(test_put)
{
	struct am_buf	 b;

	am_buf_init(&b, 1024);
	am_mp_put(&b, AM_MPR_CONTINUE, NULL, 0);
	expect_bytes(&b, B("\0\0\0\x01" "c"), "continue");
	am_mp_put(&b, AM_MPR_ACCEPT, "", 0);
	expect_bytes(&b, B("\0\0\0\x01" "c" "\0\0\0\x01" "a"), "two");
	am_buf_reset(&b);
	am_mp_put(&b, AM_MPC_BODY, "ab\0c", 4);
	expect_bytes(&b, B("\0\0\0\x05" "B" "ab\0c"), "embedded NUL");
	am_buf_clear(&b);
}
END_TEST

/* test_put_big - a length past 255 is written big-endian */
START_TEST(test_put_big)
{
	struct am_buf	 b;
	char		*body = malloc(AM_MP_CHUNK);

	ck_assert_ptr_nonnull(body);
	memset(body, 'x', AM_MP_CHUNK);
	am_buf_init(&b, 2 * AM_MP_CHUNK);
	am_mp_put(&b, AM_MPC_BODY, body, AM_MP_CHUNK);
	ck_assert_int_eq(am_buf_failed(&b), 0);
	ck_assert_uint_eq(b.len, 5 + AM_MP_CHUNK);
	/* 65535 + 1 = 0x00010000 */
	ck_assert_mem_eq(b.s, "\0\x01\0\0" "B", 5);
	ck_assert_int_eq(b.s[5 + AM_MP_CHUNK - 1], 'x');
	am_buf_clear(&b);
	free(body);
}
END_TEST

/* test_put_cap - a reply past the buffer's cap fails the buffer */
START_TEST(test_put_cap)
{
	struct am_buf	 b;

	am_buf_init(&b, 8);
	am_mp_put(&b, AM_MPC_BODY, "abcdefgh", 8);
	ck_assert_int_eq(am_buf_failed(&b), 1);
	am_buf_clear(&b);
}
END_TEST

/* test_optneg_plain - 'O', version, actions, steps, nothing else */
START_TEST(test_optneg_plain)
{
	struct am_buf		 b;
	const char *const	 none[AM_MPS_N] = { NULL };

	am_buf_init(&b, 1024);
	am_mp_put_optneg(&b, AM_MP_VERSION,
	    AM_MPF_ADDHDRS | AM_MPF_CHGHDRS | AM_MPF_SETSYMLIST,
	    AM_MPP_NOHELO | AM_MPP_NORCPT | AM_MPP_NR_HDR | AM_MPP_HDR_LEADSPC,
	    NULL);
	expect_bytes(&b, B("\0\0\0\x0d" "O" "\0\0\0\x06" "\0\0\x01\x11"
	    "\0\x10\0\x8a"), "NULL symlists");
	am_buf_reset(&b);
	am_mp_put_optneg(&b, 2, 0x01020304, 0xa0b0c0d0, none);
	expect_bytes(&b, B("\0\0\0\x0d" "O" "\0\0\0\x02" "\x01\x02\x03\x04"
	    "\xa0\xb0\xc0\xd0"), "all-NULL symlists");
	am_buf_clear(&b);
}
END_TEST

/* test_optneg_symlists - each present list: stage, then the list with NUL */
START_TEST(test_optneg_symlists)
{
	struct am_buf		 b;
	const char		*lists[AM_MPS_N] = { NULL };

	lists[AM_MPS_CONNECT] = "j {daemon_name}";
	lists[AM_MPS_EOM] = "i {auth_authen}";
	am_buf_init(&b, 1024);
	am_mp_put_optneg(&b, 6, AM_MPF_ADDHDRS | AM_MPF_SETSYMLIST, 0,
	    lists);
	/* 1 + 12 + (4 + 16) * 2 = 53 */
	expect_bytes(&b, B("\0\0\0\x35" "O" "\0\0\0\x06" "\0\0\x01\x01"
	    "\0\0\0\0"
	    "\0\0\0\0" "j {daemon_name}\0"
	    "\0\0\0\x05" "i {auth_authen}\0"), "two lists");

	/* an empty list is still sent, as a lone NUL */
	am_buf_reset(&b);
	memset(lists, 0, sizeof(lists));
	lists[AM_MPS_EOH] = "";
	am_mp_put_optneg(&b, 6, 0, 0, lists);
	expect_bytes(&b, B("\0\0\0\x12" "O" "\0\0\0\x06" "\0\0\0\0" "\0\0\0\0"
	    "\0\0\0\x06" "\0"), "empty list");
	am_buf_clear(&b);
}
END_TEST

/* test_put_header - 'h' without an index, 'i' and 'm' with one */
START_TEST(test_put_header)
{
	struct am_buf	 b;

	am_buf_init(&b, 1024);
	am_mp_put_header(&b, AM_MPR_ADDHEADER, 7, "X-A", "v");
	expect_bytes(&b, B("\0\0\0\x07" "h" "X-A\0v\0"), "add");

	am_buf_reset(&b);
	am_mp_put_header(&b, AM_MPR_INSHEADER, 1, "Authentication-Results",
	    " mx; spf=pass");
	/* 1 + 4 + 23 + 14 = 42 */
	expect_bytes(&b, B("\0\0\0\x2a" "i" "\0\0\0\x01"
	    "Authentication-Results\0 mx; spf=pass\0"), "insert");

	am_buf_reset(&b);
	am_mp_put_header(&b, AM_MPR_CHGHEADER, 0x01020304, "X-A", NULL);
	expect_bytes(&b, B("\0\0\0\x0a" "m" "\x01\x02\x03\x04" "X-A\0\0"),
	    "delete");

	am_buf_reset(&b);
	am_mp_put_header(&b, AM_MPR_CHGHEADER, 2, "X-A", "new");
	expect_bytes(&b, B("\0\0\0\x0d" "m" "\0\0\0\x02" "X-A\0new\0"),
	    "change");

	am_buf_reset(&b);
	am_mp_put_header(&b, AM_MPR_ADDHEADER, 0, "X-B", "");
	expect_bytes(&b, B("\0\0\0\x06" "h" "X-B\0\0"), "add empty");
	am_buf_clear(&b);
}
END_TEST

/* test_put_replycode - 'y' "code xcode text\0" */
START_TEST(test_put_replycode)
{
	struct am_buf	 b;

	am_buf_init(&b, 1024);
	am_mp_put_replycode(&b, "550", "5.7.26", "Unauthenticated mail");
	/* 1 + 3 + 1 + 6 + 1 + 20 + 1 = 33 */
	expect_bytes(&b, B("\0\0\0\x21" "y" "550 5.7.26 Unauthenticated mail\0"),
	    "reject");
	am_buf_reset(&b);
	am_mp_put_replycode(&b, "451", "4.7.1", "");
	expect_bytes(&b, B("\0\0\0\x0c" "y" "451 4.7.1 \0"), "empty text");
	am_buf_clear(&b);
}
END_TEST

/* test_round_trip - what the builders write, the framer reads back */
START_TEST(test_round_trip)
{
	static const char *const symlists[AM_MPS_N] = {
		[AM_MPS_EOM] = "{auth_authen}",
	};
	struct am_buf		 b;
	struct am_mp_packet	 pkt;
	const unsigned char	*p;
	size_t			 left, n;
	ssize_t			 rc;
	const char		*name, *value, *v[4];
	uint32_t		 ver, act, steps;

	am_buf_init(&b, 4096);
	am_mp_put(&b, AM_MPC_MACRO, "Ci\0Q1\0j\0mx\0", 11);
	am_mp_put_optneg(&b, 6, 0x111, 0x1ff, symlists);
	am_mp_put_header(&b, AM_MPR_ADDHEADER, 0, "X-Test", "yes");
	am_mp_put_header(&b, AM_MPR_INSHEADER, 3, "X-Ins", "v");
	am_mp_put_replycode(&b, "550", "5.7.1", "no");
	am_mp_put(&b, AM_MPR_CONTINUE, NULL, 0);
	ck_assert_int_eq(am_buf_failed(&b), 0);
	p = (const unsigned char *)b.s;
	left = b.len;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_eq(rc, 16);
	ck_assert_int_eq(pkt.cmd, AM_MPC_MACRO);
	ck_assert_uint_eq(pkt.len, 11);
	ck_assert_int_eq(pkt.data[0], 'C');
	ck_assert_str_eq(am_mp_macro_find(pkt.data + 1, pkt.len - 1, "{j}"),
	    "mx");
	ck_assert_str_eq(am_mp_macro_find(pkt.data + 1, pkt.len - 1, "i"),
	    "Q1");
	p += rc, left -= (size_t)rc;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_eq(rc, 5 + 12 + 4 + 14);
	ck_assert_int_eq(pkt.cmd, AM_MPR_OPTNEG);
	ck_assert_int_eq(am_mp_optneg_parse(&pkt, &ver, &act, &steps), 0);
	ck_assert_uint_eq(ver, 6);
	ck_assert_uint_eq(act, 0x111);
	ck_assert_uint_eq(steps, 0x1ff);
	ck_assert_mem_eq(pkt.data + 12, "\0\0\0\x05" "{auth_authen}", 18);
	p += rc, left -= (size_t)rc;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_gt(rc, 0);
	ck_assert_int_eq(pkt.cmd, AM_MPR_ADDHEADER);
	ck_assert_int_eq(am_mp_header_parse(&pkt, &name, &value), 0);
	ck_assert_str_eq(name, "X-Test");
	ck_assert_str_eq(value, "yes");
	p += rc, left -= (size_t)rc;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_gt(rc, 0);
	ck_assert_int_eq(pkt.cmd, AM_MPR_INSHEADER);
	ck_assert_uint_eq(pkt.len, 4 + 6 + 2);
	ck_assert_mem_eq(pkt.data, "\0\0\0\x03", 4);
	ck_assert_int_eq(am_mp_strings(pkt.data + 4, pkt.len - 4, v, 4, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(v[0], "X-Ins");
	ck_assert_str_eq(v[1], "v");
	p += rc, left -= (size_t)rc;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_gt(rc, 0);
	ck_assert_int_eq(pkt.cmd, AM_MPR_REPLYCODE);
	ck_assert_int_eq(am_mp_strings(pkt.data, pkt.len, v, 4, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0], "550 5.7.1 no");
	p += rc, left -= (size_t)rc;

	rc = am_mp_frame(p, left, 65536, &pkt);
	ck_assert_int_eq(rc, 5);
	ck_assert_int_eq(pkt.cmd, AM_MPR_CONTINUE);
	ck_assert_uint_eq(pkt.len, 0);
	p += rc, left -= (size_t)rc;

	ck_assert_uint_eq(left, 0);
	ck_assert_int_eq(am_mp_frame(p, left, 65536, &pkt), 0);
	am_buf_clear(&b);
}
END_TEST

/* mproto_suite - all of the above */
static Suite *
mproto_suite(void)
{
	Suite	*s = suite_create("mproto");
	TCase	*tc = tcase_create("frame");

	tcase_add_loop_test(tc, test_frame, 0, nitems(frame_cases));
	tcase_add_test(tc, test_frame_back_to_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_optneg, 0, nitems(optneg_cases));
	tcase_add_loop_test(tc, test_connect, 0, nitems(connect_cases));
	tcase_add_test(tc, test_connect_port_bytes);
	tcase_add_loop_test(tc, test_connect_unix_len, 0, nitems(unix_cases));
	tcase_add_loop_test(tc, test_strings, 0, nitems(strings_cases));
	tcase_add_test(tc, test_strings_max_untouched);
	tcase_add_loop_test(tc, test_header, 0, nitems(header_cases));
	tcase_add_loop_test(tc, test_macro_find, 0, nitems(macro_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("build");
	tcase_add_test(tc, test_put);
	tcase_add_test(tc, test_put_big);
	tcase_add_test(tc, test_put_cap);
	tcase_add_test(tc, test_optneg_plain);
	tcase_add_test(tc, test_optneg_symlists);
	tcase_add_test(tc, test_put_header);
	tcase_add_test(tc, test_put_replycode);
	tcase_add_test(tc, test_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

/* main - run the suite; exit status for automake's test driver */
int
main(void)
{
	SRunner	*sr = srunner_create(mproto_suite());
	int	 nfailed;

	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
