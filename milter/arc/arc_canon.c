/*
 * arc_canon.c - DKIM header and body canonicalization (RFC 6376 3.4) for
 * ARC (RFC 8617 5.1.1), the body streamed into its hash.
 */
#include <ctype.h>
#include <string.h>

#include "arc/arc_canon.h"
#include "common/buf.h"

/* is_wsp - RFC 5234 WSP */
static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* relaxed_header - RFC 6376 3.4.2 */
static void
relaxed_header(struct am_buf *b, const char *name, const char *value)
{
	const char	*p;
	int		 sp = 0, any = 0;

	for (p = name; *p != '\0' && !is_wsp(*p); p++)
		am_buf_addc(b, (char)tolower((unsigned char)*p));
	am_buf_addc(b, ':');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			continue;			/* unfold */
		if (is_wsp(*p)) {
			sp = 1;
			continue;
		}
		if (sp && any)
			am_buf_addc(b, ' ');
		sp = 0;
		any = 1;
		am_buf_addc(b, *p);
	}
}

/* simple_header - RFC 6376 3.4.1; a bare LF is written as CRLF */
static void
simple_header(struct am_buf *b, const char *name, const char *value)
{
	const char	*p;

	am_buf_adds(b, name);
	am_buf_addc(b, ':');
	for (p = value; *p != '\0'; p++) {
		if (*p == '\n' && (p == value || p[-1] != '\r'))
			am_buf_addc(b, '\r');
		am_buf_addc(b, *p);
	}
}

/* am_arc_canon_header - see arc_canon.h */
void
am_arc_canon_header(struct am_buf *b, const char *name, const char *value,
    int relaxed, int crlf)
{
	if (relaxed)
		relaxed_header(b, name, value);
	else
		simple_header(b, name, value);
	if (crlf)
		am_buf_adds(b, "\r\n");
}

/* am_arc_body_init - see arc_canon.h */
int
am_arc_body_init(struct am_arc_body *h, int relaxed, const EVP_MD *md,
    long long limit)
{
	memset(h, 0, sizeof(*h));
	h->relaxed = relaxed;
	h->md = md;
	h->limit = limit;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(h->ctx, md, NULL) != 1) {
		EVP_MD_CTX_free(h->ctx);
		h->ctx = NULL;
		return -1;
	}
	return 0;
}

/* emit - hash canonical bytes, up to l= */
static void
emit(struct am_arc_body *h, const char *p, size_t n)
{
	if (h->limit >= 0) {
		if (h->done >= (unsigned long long)h->limit)
			return;
		if (n > (unsigned long long)h->limit - h->done)
			n = (size_t)((unsigned long long)h->limit - h->done);
	}
	EVP_DigestUpdate(h->ctx, p, n);
	h->done += n;
}

/* content - a byte of line content: first the pending line ends and WSP */
static void
content(struct am_arc_body *h, char c)
{
	for (; h->ncrlf > 0; h->ncrlf--)
		emit(h, "\r\n", 2);
	if (h->sp && h->relaxed)
		emit(h, " ", 1);
	h->sp = 0;
	h->any = 1;
	emit(h, &c, 1);
}

/* line_end - a CRLF (or bare LF): pending until content follows */
static void
line_end(struct am_arc_body *h)
{
	h->sp = 0;		/* relaxed: WSP at the end of a line goes */
	h->ncrlf++;
}

/* am_arc_body_update - see arc_canon.h */
void
am_arc_body_update(struct am_arc_body *h, const unsigned char *p, size_t n)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < n; i++) {
		c = (char)p[i];
		if (h->cr) {
			h->cr = 0;
			if (c == '\n') {
				line_end(h);
				continue;
			}
			content(h, '\r');
		}
		if (c == '\r')
			h->cr = 1;
		else if (c == '\n')
			line_end(h);
		else if (h->relaxed && is_wsp(c))
			h->sp = 1;
		else
			content(h, c);
	}
}

/* am_arc_body_final - see arc_canon.h */
int
am_arc_body_final(struct am_arc_body *h, unsigned char *out, unsigned int *len)
{
	if (h->cr)
		content(h, '\r');
	h->cr = 0;
	/*
	 * 3.4.3: simple ends in exactly one CRLF (an empty body is CRLF);
	 * 3.4.4: relaxed adds one to a body that has content, none otherwise
	 */
	if (!h->relaxed || h->any)
		emit(h, "\r\n", 2);
	return EVP_DigestFinal_ex(h->ctx, out, len) == 1 ? 0 : -1;
}

/* am_arc_body_free - see arc_canon.h */
void
am_arc_body_free(struct am_arc_body *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
