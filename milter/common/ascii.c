/* ascii.c - see ascii.h */
#include <ctype.h>
#include <string.h>

#include "common/ascii.h"

/* am_ascii_printable - see ascii.h */
int
am_ascii_printable(const char *s, size_t n)
{
	size_t		 i;
	unsigned char	 c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f)
			return 0;
	}
	return 1;
}

/* am_ascii_append - see ascii.h */
void
am_ascii_append(char *out, size_t len, const char *text)
{
	size_t	 o = strlen(out), n = strlen(text);

	if (o + 1 >= len)
		return;
	if (n > len - 1 - o)
		n = len - 1 - o;
	memcpy(out + o, text, n);
	out[o + n] = '\0';
}

/* am_ascii_dns_name - letters, digits, '-', '_' labels of 1..63, <= 253 */
int
am_ascii_dns_name(const char *s)
{
	size_t	 label = 0, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)*s) || *s == '-' || *s == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return label > 0;
}

/* is_atext - RFC 5322 3.2.3 atext */
static int
is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* am_ascii_dot_atom - see ascii.h */
int
am_ascii_dot_atom(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (i + 1 < n && s[i + 1] == '.')
				return 0;
		} else if (!is_atext((unsigned char)s[i]))
			return 0;
	}
	return 1;
}
