/*
 * mproto.c - milter protocol framing, payload parsing and reply building.
 * See mproto.h.  Every parser bounds-checks against the payload length.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>
#include <strings.h>

#include "server/mproto.h"

/* get32 - a 32-bit big-endian number */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* put32 - append a 32-bit big-endian number */
static void
put32(struct am_buf *out, uint32_t v)
{
	char	 b[4];

	b[0] = (char)(v >> 24);
	b[1] = (char)(v >> 16);
	b[2] = (char)(v >> 8);
	b[3] = (char)v;
	am_buf_add(out, b, sizeof(b));
}

/* am_mp_frame - one packet off the front of buf */
ssize_t
am_mp_frame(const unsigned char *buf, size_t len, size_t max,
    struct am_mp_packet *pkt)
{
	uint32_t	 n;

	if (len < 4)
		return 0;
	n = get32(buf);
	if (n == 0 || (size_t)n - 1 > max)
		return -1;
	if (len - 4 < (size_t)n)
		return 0;
	pkt->cmd = (char)buf[4];
	pkt->data = buf + AM_MP_HDRLEN;
	pkt->len = (size_t)n - 1;
	return (ssize_t)n + 4;
}

/* am_mp_optneg_parse - the three numbers; anything after them is ignored */
int
am_mp_optneg_parse(const struct am_mp_packet *pkt, uint32_t *version,
    uint32_t *actions, uint32_t *steps)
{
	if (pkt->len < 12)
		return -1;
	*version = get32(pkt->data);
	*actions = get32(pkt->data + 4);
	*steps = get32(pkt->data + 8);
	return 0;
}

/* terminated - length of the string at p within end, or -1 if no NUL */
static ssize_t
terminated(const unsigned char *p, const unsigned char *end)
{
	const unsigned char	*z = memchr(p, '\0', (size_t)(end - p));

	return z == NULL ? -1 : z - p;
}

/* inet_addr_of - text address into ss as family; 0 or -1 */
static int
inet_addr_of(int family, const char *text, uint16_t port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return inet_pton(AF_INET, text, &sin->sin_addr) == 1 ? 0 : -1;
	}
	if (strncasecmp(text, "IPv6:", 5) == 0)
		text += 5;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	return inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1 ? 0 : -1;
}

/* am_mp_connect_parse - host\0 family [port(2) address\0] */
int
am_mp_connect_parse(const struct am_mp_packet *pkt, const char **host,
    struct sockaddr_storage *ss, int *has_addr)
{
	const unsigned char	*p = pkt->data, *end = pkt->data + pkt->len;
	struct sockaddr_un	*sun = (struct sockaddr_un *)(void *)ss;
	ssize_t			 n;
	char			 family;
	uint16_t		 port;

	*has_addr = 0;
	if ((n = terminated(p, end)) == -1 || end - (p + n + 1) < 1)
		return -1;
	*host = (const char *)p;
	p += n + 1;
	family = (char)*p++;
	if (family == 'U')
		return 0;
	if (end - p < 2)
		return -1;
	port = (uint16_t)(p[0] << 8 | p[1]);
	p += 2;
	if ((n = terminated(p, end)) == -1)
		return -1;
	switch (family) {
	case '4':
	case '6':
		if (inet_addr_of(family == '4' ? AF_INET : AF_INET6,
		    (const char *)p, port, ss) == -1)
			return -1;
		break;
	case 'L':
		memset(ss, 0, sizeof(*ss));
		sun->sun_family = AF_UNIX;
		if ((size_t)n >= sizeof(sun->sun_path))
			return -1;
		memcpy(sun->sun_path, p, (size_t)n);
		break;
	default:
		return -1;
	}
	*has_addr = 1;
	return 0;
}

/* am_mp_strings - NUL-terminated strings, all of them terminated */
int
am_mp_strings(const unsigned char *data, size_t len, const char **v,
    size_t max, size_t *n)
{
	const unsigned char	*p = data, *end = data + len;
	ssize_t			 l;

	*n = 0;
	while (p < end) {
		if (*n == max || (l = terminated(p, end)) == -1)
			return -1;
		v[(*n)++] = (const char *)p;
		p += l + 1;
	}
	return 0;
}

/*
 * am_mp_header_parse - name\0value\0; bytes after the value's NUL are
 * ignored, as libmilter ignores them: a NUL inside a header value ends
 * the value for every filter alike
 */
int
am_mp_header_parse(const struct am_mp_packet *pkt, const char **name,
    const char **value)
{
	const unsigned char	*end = pkt->data + pkt->len;
	ssize_t			 n;

	if ((n = terminated(pkt->data, end)) == -1 ||
	    terminated(pkt->data + n + 1, end) == -1)
		return -1;
	*name = (const char *)pkt->data;
	*value = (const char *)pkt->data + n + 1;
	return 0;
}

/* bare - a macro name without its braces: "{i}" -> "i" (length in *len) */
static const char *
bare(const char *name, size_t *len)
{
	size_t	 l = strlen(name);

	if (l >= 2 && name[0] == '{' && name[l - 1] == '}') {
		*len = l - 2;
		return name + 1;
	}
	*len = l;
	return name;
}

/* am_mp_macro_find - name\0value\0 pairs, braces optional on both sides */
const char *
am_mp_macro_find(const unsigned char *pairs, size_t len, const char *name)
{
	const unsigned char	*p = pairs, *end = pairs + len;
	const char		*want, *have;
	size_t			 wl, hl;
	ssize_t			 nl, vl;

	want = bare(name, &wl);
	while (p < end) {
		if ((nl = terminated(p, end)) == -1 ||
		    (vl = terminated(p + nl + 1, end)) == -1)
			return NULL;
		have = bare((const char *)p, &hl);
		if (hl == wl && memcmp(have, want, wl) == 0)
			return (const char *)p + nl + 1;
		p += nl + 1 + vl + 1;
	}
	return NULL;
}

/* am_mp_put - length, command, payload */
void
am_mp_put(struct am_buf *out, char cmd, const void *data, size_t len)
{
	if (len > UINT32_MAX - 1) {
		out->failed = 1;
		return;
	}
	put32(out, (uint32_t)len + 1);
	am_buf_addc(out, cmd);
	if (len > 0)
		am_buf_add(out, data, len);
}

/* am_mp_put_optneg - version, actions, steps, then the symbol lists */
void
am_mp_put_optneg(struct am_buf *out, uint32_t version, uint32_t actions,
    uint32_t steps, const char *const symlists[AM_MPS_N])
{
	size_t	 len = 13, i;

	for (i = 0; i < AM_MPS_N; i++)
		if (symlists != NULL && symlists[i] != NULL)
			len += 4 + strlen(symlists[i]) + 1;
	put32(out, (uint32_t)len);
	am_buf_addc(out, AM_MPR_OPTNEG);
	put32(out, version);
	put32(out, actions);
	put32(out, steps);
	for (i = 0; i < AM_MPS_N; i++) {
		if (symlists == NULL || symlists[i] == NULL)
			continue;
		put32(out, (uint32_t)i);
		am_buf_add(out, symlists[i], strlen(symlists[i]) + 1);
	}
}

/* am_mp_put_header - [index] name\0 value\0 */
void
am_mp_put_header(struct am_buf *out, char cmd, uint32_t idx,
    const char *name, const char *value)
{
	size_t	 nl = strlen(name), vl = value != NULL ? strlen(value) : 0;
	size_t	 len = (cmd == AM_MPR_ADDHEADER ? 0 : 4) + nl + 1 + vl + 1;

	put32(out, (uint32_t)len + 1);
	am_buf_addc(out, cmd);
	if (cmd != AM_MPR_ADDHEADER)
		put32(out, idx);
	am_buf_add(out, name, nl + 1);
	am_buf_add(out, value != NULL ? value : "", vl + 1);
}

/* am_mp_put_replycode - "550 5.7.26 text\0" */
void
am_mp_put_replycode(struct am_buf *out, const char *code, const char *xcode,
    const char *text)
{
	size_t	 len = strlen(code) + 1 + strlen(xcode) + 1 + strlen(text) + 1;

	put32(out, (uint32_t)len + 1);
	am_buf_addc(out, AM_MPR_REPLYCODE);
	am_buf_adds(out, code);
	am_buf_addc(out, ' ');
	am_buf_adds(out, xcode);
	am_buf_addc(out, ' ');
	am_buf_add(out, text, strlen(text) + 1);
}
