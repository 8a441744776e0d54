/*
 * fmt.c - snprintf() without vfprintf for plain formats (see fmt.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/fmt.h"

#define UINT_DIGITS	10	/* UINT_MAX of a 32-bit unsigned int */

/* am_fmt_plain - see fmt.h */
int
am_fmt_plain(const char *fmt)
{
	const char	*p;

	for (p = fmt; (p = strchr(p, '%')) != NULL; p += 2)
		if (p[1] != 's' && p[1] != 'u' && p[1] != '%')
			return 0;	/* also a '%' that ends fmt */
	return 1;
}

/* utoa - v in decimal, ending at end; its first digit */
static char *
utoa(unsigned int v, char *end)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

/* am_fmt_each - see fmt.h */
void
am_fmt_each(const char *fmt, va_list ap,
    void (*put)(void *, const char *, size_t), void *arg)
{
	const char	*p = fmt, *pct, *s;
	char		 num[UINT_DIGITS], *d;

	while ((pct = strchr(p, '%')) != NULL) {
		if (pct > p)
			put(arg, p, (size_t)(pct - p));
		switch (pct[1]) {
		case 's':
			if ((s = va_arg(ap, const char *)) == NULL)
				s = "(null)";
			put(arg, s, strlen(s));
			break;
		case 'u':
			d = utoa(va_arg(ap, unsigned int), num + sizeof(num));
			put(arg, d, (size_t)(num + sizeof(num) - d));
			break;
		default:			/* "%%" */
			put(arg, "%", 1);
			break;
		}
		p = pct + 2;
	}
	if (*p != '\0')
		put(arg, p, strlen(p));
}

/* a bounded destination and the length written so far, had it fitted */
struct sink {
	char	*dst;
	size_t	 cap, len;
};

/* sink_put - copy what fits (cap - 1 bytes in all), count it all */
static void
sink_put(void *arg, const char *p, size_t n)
{
	struct sink	*s = arg;
	size_t		 room;

	if (s->cap > 0 && s->len < s->cap - 1) {
		room = s->cap - 1 - s->len;
		memcpy(s->dst + s->len, p, n < room ? n : room);
	}
	s->len += n;
}

/* am_vfmt - see fmt.h */
int
am_vfmt(char *dst, size_t cap, const char *fmt, va_list ap)
{
	struct sink	 s = { dst, cap, 0 };

	if (!am_fmt_plain(fmt))
		return vsnprintf(dst, cap, fmt, ap);
	am_fmt_each(fmt, ap, sink_put, &s);
	if (cap > 0)
		dst[s.len < cap - 1 ? s.len : cap - 1] = '\0';
	if (s.len > INT_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	return (int)s.len;
}

/* am_fmt - see fmt.h */
int
am_fmt(char *dst, size_t cap, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = am_vfmt(dst, cap, fmt, ap);
	va_end(ap);
	return n;
}
