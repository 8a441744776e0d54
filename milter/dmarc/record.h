/*
 * record.h - one DMARC policy record: parsing a TXT string into its tags
 * (RFC 9989 4.7, 4.8; RFC 7489 6.3) and the policy it imposes on an author
 * domain (p, sp or np: RFC 9989 4.10.1, RFC 7489 6.6.3).
 *
 * Pure: no DNS, no configuration, no clock, no shared state; every
 * function is thread-safe and all pointers are borrowed.  Finding the
 * record (the DNS tree walk, the PSL) and alignment are dmarc.c's.
 */
#ifndef AM_DMARC_RECORD_H
#define AM_DMARC_RECORD_H

#include "common/results.h"

enum am_dmarc_tag {			/* how a policy tag was given */
	AM_DMARC_TAG_ABSENT = 0,
	AM_DMARC_TAG_VALID,
	AM_DMARC_TAG_INVALID		/* present, value not none/quarantine/reject */
};

/* One parsed DMARC policy record (RFC 9989 4.7, 4.8; RFC 7489 6.3). */
struct am_dmarc_record {
	enum am_dmarc_policy	 p;		/* UNSPEC unless p_tag is VALID */
	enum am_dmarc_policy	 sp;		/* likewise */
	enum am_dmarc_policy	 np;		/* likewise */
	enum am_dmarc_tag	 p_tag;
	enum am_dmarc_tag	 sp_tag;
	enum am_dmarc_tag	 np_tag;
	char			 psd;		/* 'y', 'n' or 'u' (default, or invalid) */
	int			 testing;	/* t=y */
	int			 adkim_strict;	/* adkim=s */
	int			 aspf_strict;	/* aspf=s */
	int			 pct;		/* 0..100; 100 if absent or invalid */
	int			 rua_ok;	/* rua has a syntactically valid URI */
	/* raw values for the history (issue 13), "" if absent; a longer
	   rua/ruf keeps its whole URIs that fit (results.h) */
	char			 fo[AM_DMARC_FO_MAX];
	char			 rua[AM_DMARC_URIS_MAX];
	char			 ruf[AM_DMARC_URIS_MAX];
};

/*
 * Parse one TXT string (character-strings already joined).  Returns 0 and
 * fills *out for a DMARC record (first tag v=DMARC1), -1 for anything else
 * (which the caller ignores).  Unknown tags are ignored; a bad value
 * leaves that tag at its default (p/sp/np: AM_DMARC_TAG_INVALID); of a
 * tag given twice the first counts.
 */
int	am_dmarc_record_parse(const char *txt, struct am_dmarc_record *out);

/*
 * RFC 9989 4.10.1 / RFC 7489 6.6.3: the policy a record imposes on an
 * author domain.  at_author: the record is the author domain's own;
 * nonexistent: the author domain does not exist (np; RFC 9989 only);
 * rfc7489: legacy rules (p required, np ignored).  Sets *policy and *tag
 * ("p", "sp", "np"); returns -1 if the record is unusable (a bad p, sp or
 * np and no valid rua: no DMARC processing), else 0.
 */
int	am_dmarc_policy_pick(const struct am_dmarc_record *, int at_author,
	    int nonexistent, int rfc7489, enum am_dmarc_policy *policy,
	    const char **tag);

#endif /* AM_DMARC_RECORD_H */
