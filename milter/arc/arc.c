/*
 * arc.c - ARC chain validation of one message (arc.h; RFC 8617 5.2).
 *
 * Headers are kept as they come (an AMS may sign any of them); at EOH the
 * ARC sets are parsed and their structure checked (4.2.1, 5.2 steps 1-4)
 * and one body hash per distinct (c=, l=) of the AMS is started, fed by
 * am_arc_body as the body goes by; at EOM the newest AMS and then every
 * ARC-Seal are verified (steps 5-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arc/arc.h"
#include "common/fmt.h"
#include "arc/arc_canon.h"
#include "arc/arc_int.h"
#include "arc/arc_key.h"
#include "arc/arc_parse.h"
#include "common/buf.h"

/* am_arc_new - see arc.h */
struct am_arc *
am_arc_new(unsigned int min_key_bits)
{
	struct am_arc	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->min_key_bits = min_key_bits;
	return a;
}

/* am_arc_free - see arc.h */
void
am_arc_free(struct am_arc *a)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nhdr; i++) {
		free(a->hdr[i].name);
		free(a->hdr[i].value);
		free(a->hdr[i].tags);
	}
	free(a->hdr);
	for (i = 0; i < a->nbody; i++)
		am_bodyhash_free(&a->body[i].h);
	for (i = 0; i < a->nkeys; i++)
		EVP_PKEY_free(a->keys[i].pkey);
	free(a);
}

/* arc_kind - which ARC field a name is, or ARC_NOT */
static int
arc_kind(const char *name)
{
	if (strcasecmp(name, "ARC-Seal") == 0)
		return ARC_AS;
	if (strcasecmp(name, "ARC-Message-Signature") == 0)
		return ARC_AMS;
	if (strcasecmp(name, "ARC-Authentication-Results") == 0)
		return ARC_AAR;
	return ARC_NOT;
}

/* am_arc_limit - see arc.h */
void
am_arc_limit(struct am_arc *a, const char *why)
{
	if (a->limit == NULL)
		a->limit = why;
	a->stopped = 1;
}

/* am_arc_header - see arc.h */
int
am_arc_header(struct am_arc *a, const char *name, const char *value)
{
	struct arc_hdr	*h;
	size_t		 cap;
	int		 kind = arc_kind(name);

	if (kind != ARC_NOT)
		a->present = 1;
	if (a->stopped)
		return 0;
	if (kind != ARC_NOT && strlen(value) > AM_ARC_FIELD_MAX) {
		am_arc_limit(a, "ARC header field too long");
		return 0;
	}
	if (a->nhdr == a->caphdr) {
		cap = a->caphdr ? a->caphdr * 2 : 32;
		if ((h = realloc(a->hdr, cap * sizeof(*h))) == NULL)
			goto nomem;
		a->hdr = h;
		a->caphdr = cap;
	}
	h = &a->hdr[a->nhdr];
	h->kind = kind;
	h->tags = NULL;
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		goto nomem;
	}
	a->nhdr++;
	return 0;
nomem:
	am_arc_limit(a, "out of memory");
	return -1;
}

/* am_arc_present - see arc.h */
int
am_arc_present(const struct am_arc *a)
{
	return a->present;
}

/* set_fail - the first structural problem sticks */
static void
set_fail(struct am_arc *a, const char *why)
{
	if (a->fail == NULL)
		a->fail = why;
}

/* place - one ARC field into its set; structural problems stick */
static void
place(struct am_arc *a, size_t idx)
{
	struct arc_hdr	*h = &a->hdr[idx];
	struct arc_set	*s;
	const char	*payload;
	unsigned int	 i;

	if (h->kind == ARC_AAR)
		i = am_arc_aar_instance(h->value, &payload);
	else if ((h->tags = malloc(sizeof(*h->tags))) == NULL) {
		set_fail(a, "out of memory");
		return;
	} else if (am_arc_tags_parse(h->value, h->tags) == -1) {
		set_fail(a, h->kind == ARC_AS ? "ARC-Seal malformed" :
		    "ARC-Message-Signature malformed");
		return;
	} else
		i = am_arc_instance(am_arc_tag(h->tags, "i"));
	if (i == 0) {
		set_fail(a, "invalid or missing instance (i=)");
		return;
	}
	s = &a->set[i - 1];
	if (s->idx[h->kind] != 0) {
		set_fail(a, "two ARC fields of one kind in one instance");
		return;
	}
	s->idx[h->kind] = idx + 1;
	if (i > a->nsets)
		a->nsets = i;
}

/* check_seal_tags - RFC 8617 4.1.3: what an ARC-Seal must (not) have */
static const char *
check_seal_tags(const struct arc_hdr *as, unsigned int i)
{
	char		 cv[16], v[32];
	const char	*s;

	if (am_arc_tag(as->tags, "h") != NULL)
		return "ARC-Seal with h=";
	if (*am_arc_tagv(as, "a", v, sizeof(v)) == '\0' ||
	    am_arc_tag(as->tags, "b") == NULL ||
	    am_arc_tag(as->tags, "d") == NULL ||
	    am_arc_tag(as->tags, "s") == NULL)
		return "ARC-Seal without a=, b=, d= or s=";
	s = am_arc_tagv(as, "cv", cv, sizeof(cv));
	/* 5.2 step 4: cv=none at i=1 only, cv=pass above it */
	if (strcmp(s, i == 1 ? "none" : "pass") == 0)
		return NULL;
	if (strcmp(s, "fail") == 0)
		return "ARC-Seal cv=fail";
	return "ARC-Seal cv= wrong for its instance";
}

/* check_ams_tags - RFC 8617 4.1.2: the AMS tags this module needs */
static const char *
check_ams_tags(const struct arc_hdr *ams)
{
	static const char *const need[] = { "a", "b", "bh", "d", "s", "h" };
	size_t	 i;

	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (am_arc_tag(ams->tags, need[i]) == NULL)
			return "ARC-Message-Signature without a required tag";
	return NULL;
}

/* check_sets - every instance 1..N complete, tags and cv= right */
static void
check_sets(struct am_arc *a)
{
	struct arc_set	*s;
	unsigned int	 i;
	const char	*why;

	for (i = 1; i <= a->nsets && a->fail == NULL; i++) {
		s = &a->set[i - 1];
		if (!s->idx[ARC_AS] || !s->idx[ARC_AMS] || !s->idx[ARC_AAR]) {
			set_fail(a, "ARC set incomplete or instances not 1..N");
			return;
		}
		if ((why = check_seal_tags(SET_HDR(a, s, ARC_AS), i)) != NULL ||
		    (why = check_ams_tags(SET_HDR(a, s, ARC_AMS))) != NULL)
			set_fail(a, why);
	}
}

/* am_arc_eoh - see arc.h */
void
am_arc_eoh(struct am_arc *a)
{
	size_t	 i;

	if (!a->present || a->stopped)
		return;
	for (i = 0; i < a->nhdr && a->fail == NULL; i++) {
		if (a->hdr[i].kind == ARC_NOT)
			continue;
		/* 4.2.1: more than AM_ARC_SETS_MAX sets is a failed chain */
		if (++a->narc > 3 * AM_ARC_SETS_MAX) {
			set_fail(a, "more than 50 ARC sets");
			break;
		}
		place(a, i);
	}
	if (a->fail == NULL)
		check_sets(a);
	if (a->fail == NULL)
		am_arc_body_setup(a);
}

/* am_arc_body - see arc.h */
void
am_arc_body(struct am_arc *a, const unsigned char *p, size_t n)
{
	size_t	 i;

	for (i = 0; i < a->nbody; i++)
		am_bodyhash_update(&a->body[i].h, p, n);
}

/* fill_hops - sealers and AAR passes, newest first; the i=1 client */
static void
fill_hops(struct am_arc *a, struct am_arc_res *out)
{
	struct am_arc_aar_info	 info;
	struct am_arc_hop	*hop;
	const char		*payload;
	unsigned int		 i;

	for (i = a->nsets; i >= 1; i--) {
		struct arc_set	*s = &a->set[i - 1];

		am_arc_aar_instance(SET_HDR(a, s, ARC_AAR)->value, &payload);
		if (am_arc_aar_payload(payload, &info) == -1)
			memset(&info, 0, sizeof(info));
		if (i == 1)
			memcpy(out->remote_ip, info.remote_ip,
			    sizeof(out->remote_ip));
		if (out->nhops == AM_ARC_KEEP)
			continue;
		hop = &out->hop[out->nhops++];
		hop->instance = i;
		am_arc_tagv(SET_HDR(a, s, ARC_AS), "d", hop->sealer,
		    sizeof(hop->sealer));
		memcpy(hop->aar_pass, info.pass, sizeof(hop->aar_pass));
	}
}

/* result - the outcome and why */
static void
result(struct am_arc_res *out, enum am_arc_result r, const char *why)
{
	out->result = r;
	am_fmt(out->reason, sizeof(out->reason), "%s", why ? why : "");
}

/*
 * oldest_pass - RFC 8617 5.2 steps 6-7 on a chain that passed: the oldest
 * instance whose AMS still verifies when an older one does not; 0 when
 * every AMS checked verified, or when the walk reached one that could not
 * be checked (its body hash not kept, its key not had): then nothing is
 * claimed about it
 */
static unsigned int
oldest_pass(struct am_arc *a)
{
	char		 why[AM_REASON_MAX];
	unsigned int	 i;
	int		 rc;

	for (i = a->nsets - 1; i >= 1; i--)
		if ((rc = am_arc_verify_ams(a, i, why, sizeof(why))) != 0)
			return rc == 1 ? 0 : i + 1;
	return 0;
}

/* am_arc_eom - see arc.h */
void
am_arc_eom(struct am_arc *a, struct am_dns *dns, struct am_dns_budget *b,
    struct am_arc_res *out)
{
	char		 why[AM_REASON_MAX];
	unsigned int	 i;

	memset(out, 0, sizeof(*out));
	if (!a->present)
		return;			/* arc=none */
	out->nsets = a->nsets;
	if (a->limit != NULL) {
		am_fmt(why, sizeof(why), "not verified: %s", a->limit);
		result(out, AM_ARC_FAIL, why);
		return;
	}
	if (a->fail == NULL && a->nsets == 0)	/* EOH never came */
		a->fail = "ARC fields not checked";
	if (a->fail != NULL) {
		result(out, AM_ARC_FAIL, a->fail);
		return;
	}
	fill_hops(a, out);
	a->dns = dns;
	a->budget = b;
	/* 5.2 step 5: the newest AMS */
	if (am_arc_verify_ams(a, a->nsets, why, sizeof(why)) != 0) {
		result(out, AM_ARC_FAIL, why);
		return;
	}
	/*
	 * step 8: every ARC-Seal, newest first.  Before the optional steps
	 * 6-7 (oldest-pass), so that the older AMS, which the verdict does not
	 * need, cannot spend AM_ARC_KEYS_MAX (and the look-ups of the DNS
	 * budget) that the seals need.
	 */
	for (i = a->nsets; i >= 1; i--)
		if (am_arc_verify_seal(a, i, why, sizeof(why)) != 0) {
			result(out, AM_ARC_FAIL, why);
			return;
		}
	result(out, AM_ARC_PASS, NULL);
	out->oldest_pass = oldest_pass(a);
}
