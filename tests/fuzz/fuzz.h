/*
 * fuzz.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Every target gets untrusted bytes; these turn them into the NUL-terminated
 * strings the parsers take.  Built by tests/fuzz/build, not by automake.
 */
#ifndef AM_FUZZ_H
#define AM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* fuzz_str - the input as a malloc'd C string (stops at the first NUL) */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char	*s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * fuzz_split - cut s in place at the first occurrence of sep; returns the
 * part after it, or "" when there is none.
 */
static inline char *
fuzz_split(char *s, const char *sep)
{
	char	*p = strstr(s, sep);

	if (p == NULL)
		return s + strlen(s);
	*p = '\0';
	return p + strlen(sep);
}

#endif /* AM_FUZZ_H */
