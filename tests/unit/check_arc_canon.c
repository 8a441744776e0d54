/*
 * check_arc_canon.c - the ARC body canonicalizer (arc/arc_canon.c, RFC 6376
 * 3.4.3 simple and 3.4.4 relaxed) against a reference copy of the byte-at-a-
 * time logic it replaced (issue 17): random bodies, cut into random chunks
 * (CR and LF split across chunks, WSP at chunk and line ends, runs longer
 * than the staging buffer, empty lines at the end), with and without l=,
 * must give the same digest.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arc/arc_canon.h"
#include "dkim/bodyhash.h"

#define ROUNDS		4000	/* random bodies per mode */
#define BODY_MAX	6000	/* > the canonicalizer's 2048-byte stage */

/*
 * The reference: the canonicalizer as it was before runs (one byte at a
 * time, one digest update per canonical byte), writing the canonical bytes
 * into a buffer instead of a digest.
 */
struct ref {
	int		 relaxed;
	long long	 limit;
	unsigned char	*out;
	size_t		 done;
	unsigned long	 ncrlf;
	int		 sp, cr, any;
};

/* ref_emit - keep canonical bytes, up to l= */
static void
ref_emit(struct ref *h, const char *p, size_t n)
{
	if (h->limit >= 0) {
		if (h->done >= (size_t)h->limit)
			return;
		if (n > (size_t)h->limit - h->done)
			n = (size_t)h->limit - h->done;
	}
	memcpy(h->out + h->done, p, n);
	h->done += n;
}

/* ref_content - one content byte after the pending line ends and WSP */
static void
ref_content(struct ref *h, char c)
{
	for (; h->ncrlf > 0; h->ncrlf--)
		ref_emit(h, "\r\n", 2);
	if (h->sp && h->relaxed)
		ref_emit(h, " ", 1);
	h->sp = 0;
	h->any = 1;
	ref_emit(h, &c, 1);
}

/* ref_update - one chunk, byte by byte */
static void
ref_update(struct ref *h, const unsigned char *p, size_t n)
{
	size_t	 i;
	char	 c;

	for (i = 0; i < n; i++) {
		c = (char)p[i];
		if (h->cr) {
			h->cr = 0;
			if (c == '\n') {
				h->sp = 0;
				h->ncrlf++;
				continue;
			}
			ref_content(h, '\r');
		}
		if (c == '\r')
			h->cr = 1;
		else if (c == '\n') {
			h->sp = 0;
			h->ncrlf++;
		} else if (h->relaxed && (c == ' ' || c == '\t'))
			h->sp = 1;
		else
			ref_content(h, c);
	}
}

/* ref_final - the pending CR, the closing CRLF */
static void
ref_final(struct ref *h)
{
	if (h->cr)
		ref_content(h, '\r');
	if (!h->relaxed || h->any)
		ref_emit(h, "\r\n", 2);
}

/* rnd - xorshift64: the same bodies in every run */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* make_body - a random body of WSP, CR, LF, text and long runs */
static size_t
make_body(uint64_t *s, unsigned char *b)
{
	static const char	 pick[] = "ab  \t\r\n\r\n.\r";
	size_t			 n = 0, len = rnd(s) % BODY_MAX, k;

	while (n < len) {
		switch (rnd(s) % 8) {
		case 0:				/* a run longer than the stage */
			k = 1 + rnd(s) % 3000;
			if (k > len - n)
				k = len - n;
			memset(b + n, 'x', k);
			n += k;
			break;
		case 1:				/* a line end, WSP before it */
			k = rnd(s) % 3;
			while (k-- > 0 && n < len)
				b[n++] = rnd(s) % 2 ? ' ' : '\t';
			if (n + 2 <= len) {
				b[n++] = '\r';
				b[n++] = '\n';
			}
			break;
		default:
			b[n++] = (unsigned char)pick[rnd(s) % (sizeof(pick) - 1)];
		}
	}
	/* empty lines and WSP at the end, often */
	for (k = rnd(s) % 4; k > 0 && n + 3 <= BODY_MAX + 16; k--) {
		if (rnd(s) % 2)
			b[n++] = ' ';
		b[n++] = '\r';
		b[n++] = '\n';
	}
	return n;
}

/* one_case - the reference and arc_canon.c on one body and one split */
static void
one_case(uint64_t *s, int relaxed, unsigned int round)
{
	static unsigned char	 body[BODY_MAX + 16], canon[4 * BODY_MAX];
	unsigned char		 want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	struct ref		 r;
	struct am_bodyhash	 h;
	unsigned int		 wl, gl;
	size_t			 n = make_body(s, body), i, k;
	long long		 limit = -1;

	if (rnd(s) % 4 == 0)
		limit = (long long)(rnd(s) % (n + 8));
	memset(&r, 0, sizeof(r));
	r.relaxed = relaxed;
	r.limit = limit;
	r.out = canon;
	ck_assert_int_eq(am_bodyhash_init(&h, relaxed, EVP_sha256(), limit), 0);
	for (i = 0; i < n; i += k) {
		/* chunks of 1 byte to the whole body; a CR often at the end */
		switch (rnd(s) % 4) {
		case 0:
			k = 1;
			break;
		case 1:
			k = 1 + rnd(s) % 16;
			break;
		default:
			k = 1 + rnd(s) % (n - i);
		}
		if (k > n - i)
			k = n - i;
		ref_update(&r, body + i, k);
		am_bodyhash_update(&h, body + i, k);
	}
	ref_final(&r);
	ck_assert_int_eq(EVP_Digest(canon, r.done, want, &wl, EVP_sha256(),
	    NULL), 1);
	ck_assert_int_eq(am_bodyhash_final(&h, got, &gl), 0);
	am_bodyhash_free(&h);
	ck_assert_uint_eq(wl, gl);
	ck_assert_msg(memcmp(want, got, wl) == 0,
	    "%s round %u: %zu bytes, l=%lld: digests differ",
	    relaxed ? "relaxed" : "simple", round, n, limit);
}

START_TEST(test_random_split)
{
	uint64_t	 s = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	unsigned int	 i;

	for (i = 0; i < ROUNDS; i++)
		one_case(&s, _i, i);
}
END_TEST

/* fixed cases where the split matters: CR | LF, WSP | CRLF, CR | text */
START_TEST(test_fixed_split)
{
	static const char	*bodies[] = {
		"a \r\n", "a\r\r\n", "\r\n\r\n", " \r\n \r\n", "a\rb\r",
		"a \t b\r\n\r\n\t\r\n", "\r", "x\n\ny \n", "", " ",
	};
	unsigned char		 want[EVP_MAX_MD_SIZE], got[EVP_MAX_MD_SIZE];
	unsigned char		 canon[64];
	struct ref		 r;
	struct am_bodyhash	 h;
	unsigned int		 wl, gl;
	size_t			 b, cut, n;
	int			 relaxed;

	for (relaxed = 0; relaxed < 2; relaxed++)
	for (b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++)
	for (cut = 0, n = strlen(bodies[b]); cut <= n; cut++) {
		memset(&r, 0, sizeof(r));
		r.relaxed = relaxed;
		r.limit = -1;
		r.out = canon;
		ref_update(&r, (const unsigned char *)bodies[b], n);
		ref_final(&r);
		ck_assert_int_eq(EVP_Digest(canon, r.done, want, &wl,
		    EVP_sha256(), NULL), 1);
		ck_assert_int_eq(am_bodyhash_init(&h, relaxed, EVP_sha256(),
		    -1), 0);
		am_bodyhash_update(&h, (const unsigned char *)bodies[b], cut);
		am_bodyhash_update(&h, (const unsigned char *)bodies[b] + cut,
		    n - cut);
		ck_assert_int_eq(am_bodyhash_final(&h, got, &gl), 0);
		am_bodyhash_free(&h);
		ck_assert_msg(wl == gl && memcmp(want, got, wl) == 0,
		    "body %zu cut at %zu, relaxed %d", b, cut, relaxed);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("arc_canon");
	TCase	*tc = tcase_create("arc_canon");
	SRunner	*sr;
	int	 nf;

	tcase_add_loop_test(tc, test_random_split, 0, 2);	/* simple, relaxed */
	tcase_add_test(tc, test_fixed_split);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
