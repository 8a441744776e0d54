/*
 * outcome.c - the outcome of one message: verdict, results, header edits.
 *
 * Pure: no I/O; thread-safe on distinct outcomes.
 */
#include <stdlib.h>
#include <string.h>

#include "message/outcome.h"

/* the results of an outcome that has none (an internal error's) */
static const struct am_results	no_results;

/* am_outcome_init - an empty outcome: accept, no edits, no results */
void
am_outcome_init(struct am_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->res = &no_results;
	o->verdict.action = AM_ACT_ACCEPT;
	o->verdict.why = "";
	am_buf_init(&o->authres, AM_AUTHRES_MAX);
	am_buf_init(&o->received_spf, AM_AUTHRES_MAX);
}

/* am_outcome_clear - free the header texts (the edits point into them) */
void
am_outcome_clear(struct am_outcome *o)
{
	size_t	 i;

	am_buf_clear(&o->authres);
	am_buf_clear(&o->received_spf);
	for (i = 0; i < AM_SIGN_PER_MSG_MAX; i++) {
		free(o->dkim_sig[i]);
		o->dkim_sig[i] = NULL;
	}
	o->nedits = 0;
}

/* am_outcome_add - one more header edit, applied after the ones before */
int
am_outcome_add(struct am_outcome *o, enum am_edit_kind kind,
    const char *name, const char *value, size_t index)
{
	struct am_edit	*e;

	if (o->nedits >= AM_EDITS_MAX)
		return -1;
	e = &o->edits[o->nedits++];
	e->kind = kind;
	e->name = name;
	e->value = kind == AM_EDIT_INSERT ? value : NULL;
	e->index = index;
	return 0;
}

/* am_outcome_delivers - accept and quarantine deliver; the MTA takes edits */
int
am_outcome_delivers(const struct am_outcome *o)
{
	return o->verdict.action == AM_ACT_ACCEPT ||
	    o->verdict.action == AM_ACT_QUARANTINE;
}
