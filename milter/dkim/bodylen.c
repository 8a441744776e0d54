/*
 * bodylen.c - canonical DKIM body lengths, counted as the body streams.
 *
 * Lines end in CRLF (the milter protocol's form); a CR not followed by LF
 * is an ordinary character, as it is for the hash.
 */
#include <string.h>

#include "dkim/bodylen.h"

/* am_bodylen_init - nothing seen yet */
void
am_bodylen_init(struct am_bodylen *b)
{
	memset(b, 0, sizeof(*b));
}

/* end_line - a CRLF: commit the line, or hold it back if it is empty */
static void
end_line(struct am_bodylen_canon *c)
{
	if (c->line == 0) {
		c->empty++;		/* dropped if only empty lines follow */
	} else {
		c->len += c->empty * 2 + c->line + 2;
		c->empty = 0;
	}
	c->line = 0;
	c->wsp = 0;			/* relaxed: WSP at a line's end goes */
}

/* add_char - one character that is not part of a line end */
static void
add_char(struct am_bodylen *b, unsigned char ch)
{
	b->simple.line++;
	if (ch == ' ' || ch == '\t') {
		b->relaxed.wsp = 1;	/* relaxed: a run becomes one SP */
		return;
	}
	b->relaxed.line += 1 + (size_t)b->relaxed.wsp;
	b->relaxed.wsp = 0;
}

/* am_bodylen_feed - one chunk of the body */
void
am_bodylen_feed(struct am_bodylen *b, const unsigned char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (b->cr && p[i] == '\n') {
			b->cr = 0;
			end_line(&b->simple);
			end_line(&b->relaxed);
			continue;
		}
		if (b->cr)
			add_char(b, '\r');	/* a stray CR is content */
		b->cr = p[i] == '\r';
		if (!b->cr)
			add_char(b, p[i]);
	}
}

/* finish - the length with an unterminated last line given its CRLF */
static size_t
finish(const struct am_bodylen_canon *c, size_t pending_cr)
{
	size_t	 line = c->line + pending_cr;

	return line > 0 ? c->len + c->empty * 2 + line + 2 : c->len;
}

/* am_bodylen_simple - RFC 6376 3.4.3: an empty body is one CRLF */
size_t
am_bodylen_simple(const struct am_bodylen *b)
{
	size_t	 n = finish(&b->simple, (size_t)b->cr);

	return n > 0 ? n : 2;
}

/* am_bodylen_relaxed - RFC 6376 3.4.4 */
size_t
am_bodylen_relaxed(const struct am_bodylen *b)
{
	size_t	 extra = (size_t)b->cr;

	/* a pending stray CR follows a pending WSP run: both count */
	if (b->cr && b->relaxed.wsp)
		extra++;
	return finish(&b->relaxed, extra);
}
