/*
 * fuzz_mproto.c - the milter protocol module (milter/server/mproto.c) on bytes
 * as they might come off the MTA's socket.
 *
 * Input: a stream of packets.  am_mp_frame cuts it one packet at a time
 * and every parser runs on every packet, whatever its command.
 * Properties: a framed packet lies inside the input and respects max;
 * every pointer a parser returns points into the payload at a string
 * terminated inside it; and what the reply builders write from parsed
 * strings frames and parses back to the same strings and numbers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <assert.h>
#include <string.h>

#include "common/buf.h"
#include "fuzz.h"
#include "server/mproto.h"

#define MAXPKT		65536
#define NSTR		4

/* within - s is a string that starts and ends inside data[0..len) */
static int
within(const char *s, const unsigned char *data, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;

	if (len == 0 || p < data || p >= data + len)
		return 0;
	return memchr(p, '\0', (size_t)(data + len - p)) != NULL;
}

/* reframe - the one packet out holds; asserts it is exactly out */
static struct am_mp_packet
reframe(const struct am_buf *out, char cmd)
{
	struct am_mp_packet	 pkt;
	ssize_t			 rc;

	assert(!am_buf_failed(out));
	rc = am_mp_frame((const unsigned char *)out->s, out->len, out->len,
	    &pkt);
	assert(rc > 0 && (size_t)rc == out->len);
	assert(pkt.cmd == cmd);
	return pkt;
}

/* replies - build replies from parsed strings and read them back */
static void
replies(struct am_buf *out, const char *name, const char *value,
    uint32_t idx)
{
	struct am_mp_packet	 pkt;
	const char		*n, *v, *s[3];
	size_t			 ns;

	am_buf_reset(out);
	am_mp_put_header(out, AM_MPR_ADDHEADER, idx, name, value);
	pkt = reframe(out, AM_MPR_ADDHEADER);
	assert(am_mp_header_parse(&pkt, &n, &v) == 0);
	assert(strcmp(n, name) == 0 && strcmp(v, value) == 0);

	am_buf_reset(out);
	am_mp_put_header(out, AM_MPR_INSHEADER, idx, name, value);
	pkt = reframe(out, AM_MPR_INSHEADER);
	assert(pkt.len >= 4);
	assert(((uint32_t)pkt.data[0] << 24 | (uint32_t)pkt.data[1] << 16 |
	    (uint32_t)pkt.data[2] << 8 | pkt.data[3]) == idx);
	assert(am_mp_strings(pkt.data + 4, pkt.len - 4, s, 3, &ns) == 0);
	assert(ns == 2 && strcmp(s[0], name) == 0 && strcmp(s[1], value) == 0);

	am_buf_reset(out);
	am_mp_put_header(out, AM_MPR_CHGHEADER, idx, name, NULL);
	pkt = reframe(out, AM_MPR_CHGHEADER);
	assert(am_mp_strings(pkt.data + 4, pkt.len - 4, s, 3, &ns) == 0);
	assert(ns == 2 && strcmp(s[0], name) == 0 && s[1][0] == '\0');

	am_buf_reset(out);
	am_mp_put_replycode(out, "550", "5.7.26", value);
	pkt = reframe(out, AM_MPR_REPLYCODE);
	assert(am_mp_strings(pkt.data, pkt.len, s, 3, &ns) == 0);
	assert(ns == 1 && strncmp(s[0], "550 5.7.26 ", 11) == 0 &&
	    strcmp(s[0] + 11, value) == 0);

	am_buf_reset(out);
	am_mp_put(out, AM_MPR_QUARANTINE, name, strlen(name) + 1);
	pkt = reframe(out, AM_MPR_QUARANTINE);
	assert(pkt.len == strlen(name) + 1 && memcmp(pkt.data, name,
	    pkt.len) == 0);
}

/* optneg - echo an OPTNEG back with symbol lists from parsed strings */
static void
optneg(struct am_buf *out, uint32_t ver, uint32_t act, uint32_t steps,
    const char *const *v, size_t n)
{
	const char		*lists[AM_MPS_N] = { NULL };
	struct am_mp_packet	 pkt;
	uint32_t		 ver2, act2, steps2;
	size_t			 i, want = 12;

	for (i = 0; i < n && i < AM_MPS_N; i++) {
		lists[(i * 3) % AM_MPS_N] = v[i];
		want += 4 + strlen(v[i]) + 1;
	}
	am_buf_reset(out);
	am_mp_put_optneg(out, ver, act, steps, lists);
	pkt = reframe(out, AM_MPR_OPTNEG);
	assert(pkt.len == want);
	assert(am_mp_optneg_parse(&pkt, &ver2, &act2, &steps2) == 0);
	assert(ver2 == ver && act2 == act && steps2 == steps);
}

/* one - every parser on one packet */
static void
one(const struct am_mp_packet *pkt)
{
	struct am_buf		 b, *out = &b;
	const unsigned char	*d = pkt->data;
	size_t			 len = pkt->len, n;
	const char		*v[NSTR], *host, *name, *value, *m;
	struct sockaddr_storage	 ss;
	uint32_t		 ver, act, steps;
	int			 has_addr;

	am_buf_init(out, 4 * MAXPKT);
	if (am_mp_optneg_parse(pkt, &ver, &act, &steps) == 0) {
		assert(len >= 12);
		if (am_mp_strings(d + 12, len - 12, v, NSTR, &n) == 0)
			optneg(out, ver, act, steps, v, n);
	}

	if (am_mp_connect_parse(pkt, &host, &ss, &has_addr) == 0) {
		assert(within(host, d, len));
		if (has_addr)
			assert(ss.ss_family == AF_INET ||
			    ss.ss_family == AF_INET6 ||
			    ss.ss_family == AF_UNIX);
	}

	if (am_mp_strings(d, len, v, NSTR, &n) == 0) {
		assert(n <= NSTR);
		for (size_t i = 0; i < n; i++)
			assert(within(v[i], d, len));
		assert(n == 0 || d[len - 1] == '\0');
	}

	if (am_mp_header_parse(pkt, &name, &value) == 0) {
		assert(within(name, d, len) && within(value, d, len));
		/* the first two strings; what follows the value is ignored */
		assert(name == (const char *)d);
		assert(value == name + strlen(name) + 1);
		replies(out, name, value, (uint32_t)len * 2654435761u);
	}

	if (pkt->cmd == AM_MPC_MACRO && len >= 1) {
		if ((m = am_mp_macro_find(d + 1, len - 1, "i")) != NULL)
			assert(within(m, d + 1, len - 1));
		if ((m = am_mp_macro_find(d + 1, len - 1, "{i}")) != NULL)
			assert(within(m, d + 1, len - 1));
		if ((m = am_mp_macro_find(d + 1, len - 1,
		    "{auth_authen}")) != NULL) {
			assert(within(m, d + 1, len - 1));
			assert(m == am_mp_macro_find(d + 1, len - 1,
			    "auth_authen"));
		}
	}
	am_buf_clear(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct am_mp_packet	 pkt;
	size_t			 off = 0;
	ssize_t			 rc;

	while ((rc = am_mp_frame(data + off, size - off, MAXPKT, &pkt)) > 0) {
		assert((size_t)rc == AM_MP_HDRLEN + pkt.len);
		assert((size_t)rc <= size - off);
		assert(pkt.len <= MAXPKT);
		assert(pkt.data == data + off + AM_MP_HDRLEN);
		one(&pkt);
		off += (size_t)rc;
	}
	/* 0 means a genuine fragment: fewer bytes than the header promises */
	if (rc == 0)
		assert(size - off < 4 || size - off < 4 +
		    ((size_t)data[off] << 24 | (size_t)data[off + 1] << 16 |
		    (size_t)data[off + 2] << 8 | data[off + 3]));
	return 0;
}
