/*
 * arc_canon.c - DKIM header canonicalization (RFC 6376 3.4.1, 3.4.2) for
 * ARC (RFC 8617 5.1.1); the body's is dkim/bodyhash.c.
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
