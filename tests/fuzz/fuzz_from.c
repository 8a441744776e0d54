/*
 * fuzz_from.c - am_rfc5322_from_domains (RFC 5322 mailbox-list in From).
 *
 * Properties checked besides "no crash": the count is -1 or >= 0, and
 * every domain written is NUL-terminated, lower-case ASCII (U-labels
 * become A-labels), non-empty, without a final dot.
 */
#include <assert.h>
#include <ctype.h>

#include "fuzz.h"
#include "message/rfc5322.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 dom[AM_FROM_ADDRS_MAX][AM_DOMAIN_MAX + 1];
	char	*s = fuzz_str(data, size);
	int	 n, i;
	size_t	 len;

	memset(dom, 'X', sizeof(dom));
	n = am_rfc5322_from_domains(s, dom, AM_FROM_ADDRS_MAX);
	assert(n >= -1);
	for (i = 0; i >= 0 && i < n && i < AM_FROM_ADDRS_MAX; i++) {
		len = strnlen(dom[i], AM_DOMAIN_MAX + 1);
		assert(len > 0 && len <= AM_DOMAIN_MAX);
		assert(dom[i][len - 1] != '.');
		for (size_t j = 0; j < len; j++)
			assert(!isupper((unsigned char)dom[i][j]) &&
			    (unsigned char)dom[i][j] < 0x80);
	}
	/* a small array must never be overrun either */
	(void)am_rfc5322_from_domains(s, dom, 1);
	(void)am_rfc5322_from_domains(s, dom, 0);
	free(s);
	return 0;
}
