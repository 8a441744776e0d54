/*
 * bodyhash.c - the body hash of a DKIM signature or an ARC message
 * signature (RFC 6376 3.4.3, 3.4.4, 3.7; RFC 8617 4.1.2): the body
 * canonicalized (simple or relaxed) as it streams by, cut at l=, into its
 * digest.
 */
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "dkim/bodyhash.h"

/* is_wsp - RFC 5234 WSP */
static int
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* am_bodyhash_init - see bodyhash.h */
int
am_bodyhash_init(struct am_bodyhash *h, int relaxed, const EVP_MD *md,
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
emit(struct am_bodyhash *h, const char *p, size_t n)
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
#define BODYHASH_STAGE	2048	/* bytes gathered per EVP_DigestUpdate */

/* the bytes that end a run: CR, LF (1); WSP (2: relaxed only) */
static const unsigned char run_stop[256] = {
	['\r'] = 1, ['\n'] = 1, [' '] = 2, ['\t'] = 2,
};

/* canonical bytes gathered for one digest update */
struct stage {
	struct am_bodyhash	*h;
	size_t			 n;
	char			 b[BODYHASH_STAGE];
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
content(struct am_bodyhash *h, struct stage *s, const char *p, size_t n)
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
line_end(struct am_bodyhash *h)
{
	h->sp = 0;		/* relaxed: WSP at the end of a line goes */
	h->ncrlf++;
}

/*
 * Relaxed runs are scanned 8 bytes at a time (one 64-bit word, SWAR).
 * Every byte that can end a run (CR, LF, SP, HTAB) is below 0x21, so each
 * byte of the word is tested, exactly, for "below 0x21" and for "SP"; the
 * run ends at the first byte below 0x21 that is not one SP followed by a
 * byte above 0x20.  A control byte below 0x20 other than CR, LF and HTAB
 * ends the run too, though it is content: that only splits the run (the
 * next one starts at that byte), and the bytes hashed are the same.
 */
#define ONES	0x0101010101010101ULL
#define HIGHS	0x8080808080808080ULL

/* low - the top bit of each byte of w below 0x21 (no borrow crosses a
   byte: each is at least 0x80 before 0x21 is taken away) */
static inline uint64_t
low(uint64_t w)
{
	return ~((w | HIGHS) - 0x21 * ONES) & ~w & HIGHS;
}

/* is_sp - the top bit of each byte of w that is SP (no carry crosses a
   byte: 0x7f + 0x7f fits in one) */
static inline uint64_t
is_sp(uint64_t w)
{
	uint64_t	 x = w ^ (0x20 * ONES);

	return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}

/* word_stop - where in the 8 bytes at q a relaxed run ends, 8 if not;
   q[8] must be readable (the byte after an SP in the last place) */
static inline unsigned int
word_stop(const char *q)
{
	uint64_t	 w, lo, sp, next;

	memcpy(&w, q, sizeof(w));
	w = le64toh(w);			/* byte i of the run is bits 8i.. */
	lo = low(w);
	sp = is_sp(w);
	next = lo >> 8 | ((unsigned char)q[8] < 0x21 ? 0x80ULL << 56 : 0);
	w = (lo & ~sp) | (sp & next);
	return w == 0 ? 8 : (unsigned int)__builtin_ctzll(w) / 8;
}

/* run_end - past the run of content that starts at q (*q is content) */
static const char *
run_end(const char *q, const char *end, int relaxed)
{
	const char	*cr, *lf;
	unsigned int	 k;

	if (!relaxed) {
		/* 3.4.3: only CR and LF matter; both scans are memchr's */
		lf = memchr(q, '\n', (size_t)(end - q));
		if (lf == NULL)
			lf = end;
		cr = memchr(q, '\r', (size_t)(lf - q));
		return cr != NULL ? cr : lf;
	}
	for (q++; end - q > 8; q += 8)
		if ((k = word_stop(q)) < 8)
			return q + k;
	for (; q < end; q++) {
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

/* am_bodyhash_update - see bodyhash.h */
void
am_bodyhash_update(struct am_bodyhash *h, const unsigned char *p, size_t n)
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

/* am_bodyhash_final - see bodyhash.h */
int
am_bodyhash_final(struct am_bodyhash *h, unsigned char *out, unsigned int *len)
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

/* am_bodyhash_free - see bodyhash.h */
void
am_bodyhash_free(struct am_bodyhash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}
