/*
 * outcome.h - what the end of one message comes to: the verdict, the
 * results it was made from, and the header edits the MTA is to apply.
 *
 * am_msg_end (session.h) fills one; the engine callbacks apply its edits
 * and reply with its verdict, the offline checker (authmilter -t) prints
 * them, so both give the same header set for the same message and config.
 * A plain struct: nothing in it points into the message, so it outlives
 * am_msg_free (a per-message report can be made from it).
 *
 * The edits are in the order to apply them:
 *	insert Received-SPF at 0	(RFC 7208 9.1; AddReceivedSPF)
 *	delete Authentication-Results n	(RFC 8601 5: forged ones claiming our
 *					 authserv-id, highest n first so the
 *					 lower indexes stay valid)
 *	insert DKIM-Signature at 0	(issue 18: ours, when signing)
 *	insert Authentication-Results at 0	(ours, inserted last: on top)
 * A refused message (reject, tempfail) gets no edits; its A-R text is
 * still built, for the log and the offline checker.
 *
 * Pure helpers; thread-safe on distinct outcomes.
 */
#ifndef AM_OUTCOME_H
#define AM_OUTCOME_H

#include <stddef.h>

#include "common/buf.h"
#include "common/results.h"
#include "dkim/signtable.h"
#include "message/policy.h"

#define AM_AUTHRES_MAX		(8 * 1024)	/* our A-R value's cap */
#define AM_AUTHRES_FORGED_MAX	100	/* A-R fields claiming our id that we remove */
#define AM_EDITS_MAX		(AM_AUTHRES_FORGED_MAX + 2 + AM_SIGN_PER_MSG_MAX)

enum am_edit_kind {
	AM_EDIT_DELETE,		/* the index-th field called name (1-based) */
	AM_EDIT_INSERT		/* a new field at position index (0: top) */
};

struct am_edit {
	enum am_edit_kind	 kind;
	const char		*name;	/* static field name */
	const char		*value;	/* INSERT: value without leading space,
					   valid until am_outcome_clear; DELETE: NULL */
	size_t			 index;
};

struct am_outcome {
	struct am_verdict	 verdict;	/* what happens to the message */
	/* the results it was decided on: the message's own (am_msg_end), so
	   valid while the message is, never NULL (am_outcome_init: none) */
	const struct am_results	*res;
	const char		*exempt;	/* static: why no checks ran, or NULL */
	enum am_err		 err;		/* the sticky error the verdict saw */
	char			 errwhy[128];
	size_t			 nforged;	/* forged A-R fields (deleted if delivered) */
	struct am_buf		 authres;	/* our A-R value ("" if it could not be built) */
	struct am_buf		 received_spf;	/* Received-SPF value, or "" */
	char			*dkim_sig[AM_SIGN_PER_MSG_MAX];	/* our DKIM-Signature
						   values (issue 18), or NULL */
	size_t			 nedits;
	struct am_edit		 edits[AM_EDITS_MAX];
};

void	am_outcome_init(struct am_outcome *);
void	am_outcome_clear(struct am_outcome *);	/* frees the texts */

/* append one edit; -1 when AM_EDITS_MAX are there already */
int	am_outcome_add(struct am_outcome *, enum am_edit_kind, const char *name,
	    const char *value, size_t index);

/* does the verdict deliver the message (so that headers are edited)? */
int	am_outcome_delivers(const struct am_outcome *);

#endif /* AM_OUTCOME_H */
