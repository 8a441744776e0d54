/*
 * fuzz_arc.c - the ARC header parsers (arc/arc_parse.c: tag lists, i=, the
 * AAR payload), the key record parser (arc/arc_key.c) and the verifier's
 * set assembly and structure checks up to the body hashes (arc/arc.c; no
 * DNS: am_arc_eom is not called).
 *
 * Input: a message, "Name: value" lines (a line starting with a space or
 * tab continues the field), an empty line, the body.  Every field value
 * is also given to each parser.  Properties: parsed tags lie inside the
 * value; a copied tag fits its buffer; the AAR passes and remote-ip are
 * NUL-terminated within their arrays.
 */
#include <assert.h>

#include "arc/arc.h"
#include "arc/arc_key.h"
#include "arc/arc_parse.h"
#include "fuzz.h"

/* parsers - every parser on one field value */
static void
parsers(const char *v)
{
	struct am_arc_tags	 t;
	struct am_arc_aar_info	 info;
	const char		*payload;
	char			 buf[64];
	EVP_PKEY		*k = NULL;
	size_t			 i, len = strlen(v);

	if (am_arc_tags_parse(v, &t) == 0) {
		for (i = 0; i < t.n; i++) {
			assert(t.t[i].name >= v && t.t[i].val + t.t[i].vlen <=
			    v + len);
			if (am_arc_tag_copy(&t.t[i], i & 1, buf,
			    sizeof(buf)) == 0)
				assert(strlen(buf) < sizeof(buf));
		}
		(void)am_arc_instance(am_arc_tag(&t, "i"));
	}
	(void)am_arc_aar_instance(v, &payload);
	if (am_arc_aar_payload(payload, &info) == 0) {
		assert(memchr(info.pass, '\0', sizeof(info.pass)) != NULL);
		assert(memchr(info.remote_ip, '\0', sizeof(info.remote_ip)) !=
		    NULL);
	}
	if (am_arc_key_parse(v, AM_ARC_ALG_RSA_SHA256, 1024, &k) == NULL)
		EVP_PKEY_free(k);
	k = NULL;
	if (am_arc_key_parse(v, AM_ARC_ALG_ED25519_SHA256, 1024, &k) == NULL)
		EVP_PKEY_free(k);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*s = fuzz_str(data, size), *body, *line, *next, *colon;
	struct am_arc	*a = am_arc_new(1024);

	assert(a != NULL);
	body = fuzz_split(s, "\n\n");
	for (line = s; *line != '\0'; line = next) {
		/* the field ends at a newline not followed by WSP */
		for (next = line; (next = strchr(next, '\n')) != NULL &&
		    (next[1] == ' ' || next[1] == '\t'); next++)
			continue;
		if (next == NULL)
			next = line + strlen(line);
		else
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		parsers(colon + 1);
		(void)am_arc_header(a, line, colon + 1);
	}
	am_arc_eoh(a);
	am_arc_body(a, (const unsigned char *)body, strlen(body));
	(void)am_arc_present(a);
	am_arc_free(a);
	free(s);
	return 0;
}
