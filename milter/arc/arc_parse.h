/*
 * arc_parse.h - the three ARC header fields (RFC 8617 section 4.1) as
 * values: ARC-Seal and ARC-Message-Signature are DKIM tag lists (RFC 6376
 * section 3.2), ARC-Authentication-Results is "i=N;" and an RFC 8601
 * payload.
 *
 * Pure: no I/O, no allocation; thread-safe.  Parsed values point into the
 * caller's string, which must outlive them.
 */
#ifndef AM_ARC_PARSE_H
#define AM_ARC_PARSE_H

#include <stddef.h>

#include "common/results.h"

#define AM_ARC_TAGS_MAX		32	/* tags of one tag list; more is malformed */
#define AM_ARC_SETS_MAX		50	/* RFC 8617 4.2.1: instance numbers 1..50 */

/* one tag=value: name and value as found (value with any inner FWS) */
struct am_arc_tag {
	const char	*name;
	size_t		 nlen;
	const char	*val;
	size_t		 vlen;
};

struct am_arc_tags {
	struct am_arc_tag	 t[AM_ARC_TAGS_MAX];
	size_t			 n;
};

/*
 * am_arc_tags_parse - RFC 6376 3.2 tag-list (tag names are case-sensitive;
 * a duplicate tag, an empty tag-spec, a bad name or a value with a bad
 * character is malformed).  0, or -1 when malformed.
 */
int	am_arc_tags_parse(const char *s, struct am_arc_tags *out);

/* am_arc_tag - the tag named name (exact case), or NULL */
const struct am_arc_tag *am_arc_tag(const struct am_arc_tags *, const char *name);

/*
 * am_arc_tag_copy - the value into out (len bytes), folding whitespace
 * removed when strip (b=, bh=, h=, p=); -1 if it does not fit
 */
int	am_arc_tag_copy(const struct am_arc_tag *, int strip, char *out, size_t len);

/*
 * am_arc_instance - RFC 8617 4.2.1 i= value: 1..AM_ARC_SETS_MAX digits
 * only; 0 if missing or invalid
 */
unsigned int	am_arc_instance(const struct am_arc_tag *);

/*
 * am_arc_aar_instance - the "i=N;" that opens an ARC-Authentication-Results
 * value (RFC 8617 4.1.1), CFWS allowed around it.  The instance (0 when
 * malformed) and *payload set past the ';'.
 */
unsigned int	am_arc_aar_instance(const char *value, const char **payload);

/*
 * What an AAR payload says passed, for the trusted-sealer decision
 * (arc_trust.h), and the first hop's client address.
 */
struct am_arc_aar_info {
	char	 pass[AM_ARC_AAR_PASS_MAX];	/* "method:domain" words, see results.h */
	char	 remote_ip[46];			/* smtp.remote-ip, or policy.iprev */
};

/*
 * am_arc_aar_payload - RFC 8601 2.2 authres-payload after "i=N;":
 * authserv-id, then resinfo; each "dmarc=pass" gives "dmarc:<header.from>",
 * "dkim=pass" "dkim:<header.d or the domain of header.i>", "spf=pass"
 * "spf:<domain of smtp.mailfrom>".  Comments skipped; a payload that cannot
 * be parsed gives what was read before the problem.  0, or -1 if the
 * authserv-id is missing.
 */
int	am_arc_aar_payload(const char *payload, struct am_arc_aar_info *out);

#endif /* AM_ARC_PARSE_H */
