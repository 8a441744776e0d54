/*
 * fuzz_authres.c - A-R authserv-id extraction (am_rfc5322_authserv_id),
 * am_authres_is_ours, and the value quoting of am_authres_add_value.
 *
 * Input: "A-R value\nour authserv-id".  Properties: an id that is
 * extracted fits its buffer; a value we build from an id with
 * am_authres_add_value is recognised as ours (the forged-header check
 * and the builder agree), for every printable id.
 */
#include <assert.h>

#include "message/authres.h"
#include "common/buf.h"
#include "fuzz.h"
#include "message/rfc5322.h"

/* printable - non-empty printable ASCII without CR/LF */
static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s = fuzz_str(data, size), *ours, id[256];
	struct am_buf	 b;

	ours = fuzz_split(s, "\n");
	if (am_rfc5322_authserv_id(s, id, sizeof(id)) == 0)
		assert(strlen(id) < sizeof(id));
	(void)am_rfc5322_authserv_id(s, id, 1);
	(void)am_authres_is_ours(s, ours);
	(void)am_authres_is_ours(s, "");

	am_buf_init(&b, 4096);
	am_authres_add_value(&b, ours);
	am_buf_adds(&b, "; spf=pass smtp.mailfrom=x@example.com");
	if (!am_buf_failed(&b) && printable(ours) && strlen(ours) < 256)
		assert(am_authres_is_ours(am_buf_str(&b), ours) == 1);
	am_buf_clear(&b);
	free(s);
	return 0;
}
