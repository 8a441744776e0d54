/*
 * fuzz_dns_txt.c - TXT rdata joining (am_dns_txt_rdata), the code that
 * turns every DNS answer SPF, DKIM and DMARC read into a string.
 *
 * Input: one rdata as it comes off the wire.  Properties: the result is
 * -1 or at most len - (number of strings) long, and out is NUL-terminated
 * at that length; nothing past len + 1 bytes of out is touched (ASan).
 */
#include <assert.h>

#include "dns/dns.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*out = malloc(size + 1);
	int	 n;

	if (out == NULL)
		abort();
	n = am_dns_txt_rdata(data, size, out);
	assert(n >= -1);
	if (n >= 0) {
		assert((size_t)n <= size);
		assert(out[n] == '\0');
		assert(size == 0 || (size_t)n < size);
	}
	free(out);
	return 0;
}
