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

/*
 * The body is canonicalized in runs, not byte by byte: a run of content
 * bytes (no CR or LF; relaxed: no WSP either, but for single SPs between
 * content, which 3.4.4 leaves as they are) goes to a staging buffer in one
 * copy, and the buffer to the digest once it is full and at the end of each
 * chunk.  What is hashed is the same byte string as before.
 */
#define ARC_CANON_STAGE	2048	/* bytes gathered per EVP_DigestUpdate */

/* the bytes that end a run: CR, LF (1); WSP (2: relaxed only) */
static const unsigned char run_stop[256] = {
	['\r'] = 1, ['\n'] = 1, [' '] = 2, ['\t'] = 2,
};

/* canonical bytes gathered for one digest update */
struct stage {
	struct am_arc_body	*h;
	size_t			 n;
	char			 b[ARC_CANON_STAGE];
};

/* stage_flush - hash what is gathered */
static void
stage_flush(struct stage *s)
{
	if (s->n > 0)
		emit(s->h, s->b, s->n);
	s->n = 0;
}

/* stage_add - gather canonical bytes; a run larger than the buffer goes
   straight to the digest after what is gathered */
static void
stage_add(struct stage *s, const char *p, size_t n)
{
	if (n > sizeof(s->b) - s->n) {
		stage_flush(s);
		if (n > sizeof(s->b)) {
			emit(s->h, p, n);
			return;
		}
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

/* content - a run of line content: first the pending line ends and WSP */
static void
content(struct am_arc_body *h, struct stage *s, const char *p, size_t n)
{
	for (; h->ncrlf > 0; h->ncrlf--)
		stage_add(s, "\r\n", 2);
	if (h->sp && h->relaxed)
		stage_add(s, " ", 1);
	h->sp = 0;
	h->any = 1;
	stage_add(s, p, n);
}

/* line_end - a CRLF (or bare LF): pending until content follows */
static void
line_end(struct am_arc_body *h)
{
	h->sp = 0;		/* relaxed: WSP at the end of a line goes */
	h->ncrlf++;
}

/* run_end - past the run of content that starts at q (*q is content) */
static const char *
run_end(const char *q, const char *end, int relaxed)
{
	const char	*cr, *lf;

	if (!relaxed) {
		/* 3.4.3: only CR and LF matter; both scans are memchr's */
		lf = memchr(q, '\n', (size_t)(end - q));
		if (lf == NULL)
			lf = end;
		cr = memchr(q, '\r', (size_t)(lf - q));
		return cr != NULL ? cr : lf;
	}
	for (q++; q < end; q++) {
		if (run_stop[(unsigned char)*q] == 0)
			continue;
		/* 3.4.4: one SP between content bytes stays as it is */
		if (*q == ' ' && q + 1 < end &&
		    run_stop[(unsigned char)q[1]] == 0) {
			q++;
			continue;
		}
		break;
	}
	return q;
}

/* am_arc_body_update - see arc_canon.h */
void
am_arc_body_update(struct am_arc_body *h, const unsigned char *p, size_t n)
{
	struct stage	 s;
	const char	*q = (const char *)p, *end = q + n, *r;

	/* past l= nothing more is hashed, and final adds nothing either */
	if (h->limit >= 0 && h->done >= (unsigned long long)h->limit)
		return;
	s.h = h;
	s.n = 0;
	while (q < end) {
		if (h->cr) {
			h->cr = 0;
			if (*q == '\n') {
				line_end(h);
				q++;
				continue;
			}
			content(h, &s, "\r", 1);	/* a CR alone is content */
		}
		if (*q == '\r') {
			h->cr = 1;
			q++;
		} else if (*q == '\n') {
			line_end(h);
			q++;
		} else if (h->relaxed && is_wsp(*q)) {
			h->sp = 1;
			q++;
		} else {
			r = run_end(q, end, h->relaxed);
			content(h, &s, q, (size_t)(r - q));
			q = r;
		}
	}
	stage_flush(&s);
}

/* am_arc_body_final - see arc_canon.h */
int
am_arc_body_final(struct am_arc_body *h, unsigned char *out, unsigned int *len)
{
	struct stage	 s;

	s.h = h;
	s.n = 0;
	if (h->cr)
		content(h, &s, "\r", 1);
	h->cr = 0;
	/*
	 * 3.4.3: simple ends in exactly one CRLF (an empty body is CRLF);
	 * 3.4.4: relaxed adds one to a body that has content, none otherwise
	 */
	if (!h->relaxed || h->any)
		stage_add(&s, "\r\n", 2);
	stage_flush(&s);
	return EVP_DigestFinal_ex(h->ctx, out, len) == 1 ? 0 : -1;
}

/* am_arc_body_free - see arc_canon.h */
void
am_arc_body_free(struct am_arc_body *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
