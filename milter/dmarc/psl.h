/*
 * psl.h - Public Suffix List, for the RFC 7489 organizational domain
 * (section 3.2) when PublicSuffixList is configured.
 *
 * Loaded once at config time; read-only afterwards and safe to share between
 * threads.  Rules, wildcards (*.ck) and exceptions (!www.ck) per
 * https://publicsuffix.org/list/ ; unlisted TLDs count as public suffixes ("*").
 */
#ifndef AM_PSL_H
#define AM_PSL_H

#include <stddef.h>

struct am_psl;

/*
 * Largest list file read.  Debian's public_suffix_list.dat is about 230 KB
 * and grows slowly; 16 MiB leaves room for decades of growth yet stops a
 * runaway file or a device (/dev/zero) from filling memory.
 */
#define AM_PSL_FILE_MAX		(16 * 1024 * 1024)

/*
 * Load a list: a regular file of at most AM_PSL_FILE_MAX bytes without NUL
 * bytes.  NULL with a message in err ("path: No such file or directory",
 * "path:12: NUL byte", ...).
 */
struct am_psl	*am_psl_load(const char *path, char *err, size_t errlen);
void		 am_psl_free(struct am_psl *);		/* NULL is fine */

/*
 * RFC 7489 3.2: the organizational domain of a (lower-case, no final dot)
 * domain: the public suffix plus one label.  Writes it to out and returns 0;
 * returns -1 if the domain is itself a public suffix or does not fit.
 */
int	am_psl_org_domain(const struct am_psl *, const char *domain, char *out, size_t outlen);

#endif /* AM_PSL_H */
