/*
 * buf.c - growable string with a hard cap and a sticky failure flag.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/fmt.h"

/*
 * The first allocation.  The per-message buffers (the milter macros of
 * each stage, a header being rebuilt, the Authentication-Results value)
 * hold 100 to 600 bytes: from 64 they were realloc'ed three or four times
 * a message each (0.5 % of the CPU, issue 17's profile).
 */
#define BUF_FIRST	512

/* am_buf_init - empty buffer that never grows past cap bytes */
void
am_buf_init(struct am_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->cap = cap;
}

/* am_buf_clear - release storage */
void
am_buf_clear(struct am_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

/* am_buf_reset - forget contents and failure, keep storage and cap */
void
am_buf_reset(struct am_buf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->s != NULL)
		b->s[0] = '\0';
}

/* reserve - make room for n more bytes plus NUL; 0 or -1 (and failed set) */
static int
reserve(struct am_buf *b, size_t n)
{
	size_t	 want, nsize;
	char	*p;

	if (b->failed)
		return -1;
	if (n > b->cap || b->len > b->cap - n) {
		b->failed = 1;
		return -1;
	}
	want = b->len + n + 1;
	if (want <= b->size)
		return 0;
	nsize = b->size ? b->size : b->cap < BUF_FIRST ? b->cap + 1 : BUF_FIRST;
	while (nsize < want)
		nsize *= 2;
	if ((p = realloc(b->s, nsize)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->s = p;
	b->size = nsize;
	return 0;
}

/* am_buf_add - append n bytes */
void
am_buf_add(struct am_buf *b, const char *p, size_t n)
{
	if (reserve(b, n) == -1)
		return;
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

/* am_buf_adds - append a C string */
void
am_buf_adds(struct am_buf *b, const char *s)
{
	am_buf_add(b, s, strlen(s));
}

/* am_buf_addc - append one character */
void
am_buf_addc(struct am_buf *b, char c)
{
	am_buf_add(b, &c, 1);
}

/* put - am_fmt_each's sink for a buffer */
static void
put(void *b, const char *p, size_t n)
{
	am_buf_add(b, p, n);
}

/*
 * am_buf_addf - append printf-formatted text, all of it or (failed) none;
 * a plain format (fmt.h) without vsnprintf
 */
void
am_buf_addf(struct am_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256];
	char	*big;
	size_t	 len0 = b->len;
	int	 n, failed0 = b->failed;

	va_start(ap, fmt);
	if (am_fmt_plain(fmt)) {
		am_fmt_each(fmt, ap, put, b);
		va_end(ap);
		if (b->failed && !failed0) {	/* a piece did not fit */
			b->len = len0;
			if (b->s != NULL)
				b->s[len0] = '\0';
		}
		return;
	}
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		am_buf_add(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	am_buf_add(b, big, (size_t)n);
	free(big);
}

/* am_buf_str - contents as a C string */
const char *
am_buf_str(const struct am_buf *b)
{
	return b->s != NULL ? b->s : "";
}

/* am_buf_failed - did any append overflow the cap or fail to allocate? */
int
am_buf_failed(const struct am_buf *b)
{
	return b->failed;
}
