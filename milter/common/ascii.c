/* ascii.c - see ascii.h */
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
