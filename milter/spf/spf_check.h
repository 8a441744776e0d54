/*
 * spf_check.h - RFC 7208 record syntax, record rewriting for libspf2, and
 * macro expansion of explanations: what libspf2 gets wrong, done before
 * and after it.
 *
 * am_spf_record_check validates a whole "v=spf1" record against the ABNF
 * of RFC 7208 section 12 plus the rules of 4.6.1 (terms), 5 (mechanisms),
 * 6 (at most one redirect= and one exp=), 7.1 (macro syntax; c, r, t only
 * in explanations), and rejects anything outside printable ASCII (3.1).
 * libspf2 accepts many of these (a:foo, a:1.2.3.4, ip4 /032, %(, two
 * redirect=, ...) and rejects a valid one (CIDR /0).
 *
 * am_spf_record_rewrite turns a valid record into one libspf2 evaluates
 * the way RFC 7208 says:
 *   - a CIDR length of 0 on a/mx (which libspf2 refuses) becomes a marker
 *     label in front of the target name (AM_SPF_ANY4 / AM_SPF_ANY6, see
 *     dns_spf.c, which answers an address lookup under it with the client
 *     address whenever the real name has any address); ip4:x/0 becomes
 *     ip4:0.0.0.0/1 ip4:128.0.0.0/1, ip6:x/0 likewise;
 *   - unknown modifiers are dropped (6.3: ignored; libspf2 refuses some
 *     valid names), redirect= is dropped when the record has "all" (6.1)
 *     and otherwise moved to the end (libspf2 follows it where it stands);
 *   - exp=D becomes exp=D.<AM_SPF_EXP_MARK><n>, so dns_spf.c sees which TXT
 *     lookup is the explanation and can keep its text for us (we expand it
 *     ourselves, libspf2's expansion is broken: spaces become '%', several
 *     macros stay unexpanded).
 *
 * am_spf_macro_expand expands a macro-string or an explain-string (7.3,
 * 7.4) into out.  All functions are pure and thread-safe.
 */
#ifndef AM_SPF_CHECK_H
#define AM_SPF_CHECK_H

#include <stddef.h>

#define AM_SPF_ANY4	"_am-any4"	/* marker label: ip4 cidr was /0 */
#define AM_SPF_ANY6	"_am-any6"	/* marker label: ip6 cidr was /0 */
#define AM_SPF_ANY46	"_am-any46"	/* both */
#define AM_SPF_EXP_MARK	"_am-exp"	/* last label of an exp= target */

/* NULL if rec (starting "v=spf1") is valid; else a static reason */
const char	*am_spf_record_check(const char *rec);

/* Is rec an SPF record at all (4.5: "v=spf1" then SP or end)? */
int		 am_spf_is_record(const char *rec);
/* mechanisms (terms that are not modifiers) of an SPF record; 0 if it is none */
size_t		 am_spf_record_mechanisms(const char *rec);

/*
 * Rewrite a valid record into out (outlen bytes).  exp_index numbers the
 * exp= marker.  Returns 0, or -1 if out is too small (then use rec as is).
 */
int		 am_spf_record_rewrite(const char *rec, unsigned int exp_index,
		    char *out, size_t outlen);

/* Values the macros expand to (7.3); all strings borrowed. */
struct am_spf_macros {
	const char	*sender;	/* s: local@domain */
	const char	*local;		/* l */
	const char	*sender_dom;	/* o */
	const char	*domain;	/* d: current domain */
	const char	*ip;		/* c: client address as text */
	int		 ipv6;		/* i, v */
	unsigned char	 addr[16];	/* 4 or 16 bytes */
	const char	*ptr;		/* p: validated name or "unknown" */
	const char	*helo;		/* h */
	const char	*receiver;	/* r */
	long long	 now;		/* t */
};

/*
 * Expand in; exp_text allows SP and the c, r, t letters (explain-string).
 * Returns 0, or -1 on a syntax error or if out is too small.
 */
int	am_spf_macro_expand(const char *in, int exp_text,
	    const struct am_spf_macros *m, char *out, size_t outlen);

/* Does an explain-string use %{p}?  (so the caller can look it up) */
int	am_spf_macro_uses_p(const char *in);

#endif /* AM_SPF_CHECK_H */
