/*
 * load.c - a "Key value" configuration file into a struct am_config
 * snapshot (config.h); the keys and what they accept are config.c's.
 *
 * The file format: one "Key value" per line, key names case-insensitive;
 * blank lines and lines whose first non-blank character is '#' are
 * ignored.  A '#' after a value is part of the value.  Trailing white space
 * is dropped, and a value in double quotes has them removed.  A key given
 * twice is a problem, not an override.
 *
 * Every problem is reported ("file:line: Key: problem") and parsing goes on
 * to the end of the file, so a user sees all of them at once.  The file
 * must be a regular file of at most AM_CONFIG_FILE_MAX bytes (config.h); a
 * NUL byte in a line is a problem at that line, as it would silently cut
 * the value short or hide the rest of the line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/readfile.h"
#include "config/config.h"
#include "config/keys.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* the state of one am_config_load run */
struct loader {
	const char		*path;
	char			*dir;
	struct am_config	*cfg;
	am_config_err_fn	 errfn;
	void			*arg;
	size_t			 nerr;
	size_t			*seen;		/* line each key was set on */
};

/*
 * report - "file:line: Key: problem", "file:line: problem" (no key) or
 * "file: problem" (line 0)
 */
static void
report(struct loader *L, size_t line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
report(struct loader *L, size_t line, const char *key, const char *fmt, ...)
{
	char	 where[AM_CONFIG_ERR_MAX], msg[AM_CONFIG_ERR_MAX], out[2 * AM_CONFIG_ERR_MAX + 8];
	va_list	 ap;

	L->nerr++;
	if (line > 0 && key != NULL)
		snprintf(where, sizeof(where), "%s:%zu: %s: ", L->path, line,
		    key);
	else if (line > 0)
		snprintf(where, sizeof(where), "%s:%zu: ", L->path, line);
	else
		snprintf(where, sizeof(where), "%s: ", L->path);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "%s%s", where, msg);
	if (L->errfn != NULL)
		L->errfn(L->arg, out);
}

/* lower - lower-case copy of s into buf (truncated) */
static void
lower(const char *s, char *buf, size_t buflen)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < buflen; i++)
		buf[i] = (char)tolower((unsigned char)s[i]);
	buf[i] = '\0';
}

/* distance - Levenshtein distance of two short lower-case strings */
static size_t
distance(const char *a, const char *b)
{
	size_t	 row[64], la = strlen(a), lb = strlen(b), i, j, diag, up;

	if (la >= nitems(row) || lb >= nitems(row))
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* suggest - the key within two typos of name, or NULL */
static const char *
suggest(const char *name)
{
	char	 a[64], b[64];
	size_t	 i;

	lower(name, a, sizeof(a));
	for (i = 0; i < am_config_nkeys(); i++) {
		lower(am_config_key_name(i), b, sizeof(b));
		if (strlen(a) > 3 && distance(a, b) <= 2)
			return am_config_key_name(i);
	}
	return NULL;
}

/* unquote - strip one pair of double quotes in place; -1 if unbalanced */
static int
unquote(char **val)
{
	char	*v = *val;
	size_t	 len = strlen(v);

	if (v[0] != '"')
		return 0;
	if (len < 2 || v[len - 1] != '"')
		return -1;
	v[len - 1] = '\0';
	*val = v + 1;
	return 0;
}

/* split_line - trim, and split into key and value; 0 for a blank line */
static int
split_line(char *line, char **key, char **val)
{
	char	*p = line, *end = line + strlen(line);

	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	*key = p;
	while (*p != '\0' && !isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		*p++ = '\0';
	while (isspace((unsigned char)*p))
		p++;
	*val = p;
	return 1;
}

/* apply - check and set one known key */
static void
apply(struct loader *L, size_t lineno, int ki, char *val)
{
	const char	*name = am_config_key_name((size_t)ki);
	char		 err[AM_CONFIG_ERR_MAX];

	if (L->seen[ki] != 0) {
		report(L, lineno, name, "given twice, first at line %zu",
		    L->seen[ki]);
		return;
	}
	L->seen[ki] = lineno;
	if (unquote(&val) == -1)
		report(L, lineno, name, "unbalanced double quote");
	else if (*val == '\0')
		report(L, lineno, name, "missing value");
	else if (am_config_key_set((size_t)ki, L->cfg, L->dir, val, err,
	    sizeof(err)) == -1)
		report(L, lineno, name, "%s", err);
}

/* parse_line - one line of the file */
static void
parse_line(struct loader *L, size_t lineno, char *line)
{
	char		*key, *val;
	const char	*hint;
	int		 ki;

	if (!split_line(line, &key, &val))
		return;
	if ((ki = am_config_key_find(key)) != -1) {
		apply(L, lineno, ki, val);
		return;
	}
	if ((hint = suggest(key)) != NULL)
		report(L, lineno, key, "unknown key (did you mean %s?)", hint);
	else
		report(L, lineno, key, "unknown key");
}

/* parse_file - read the file and parse every line of it */
static void
parse_file(struct loader *L)
{
	char	*buf, *pos, *line, err[AM_CONFIG_ERR_MAX];
	size_t	 len, lineno = 0;
	int	 nul;

	if (am_readfile(L->path, AM_CONFIG_FILE_MAX, &buf, &len, err,
	    sizeof(err)) == -1) {
		report(L, 0, NULL, "%s", err);
		return;
	}
	pos = buf;
	while ((line = am_readfile_line(&pos, buf + len, &nul)) != NULL) {
		if (nul)
			report(L, ++lineno, NULL, "NUL byte");
		else
			parse_line(L, ++lineno, line);
	}
	free(buf);
}

/* dir_of - the directory part of path ("." if none); NULL on ENOMEM */
static char *
dir_of(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* am_config_load - parse a file into a new snapshot */
struct am_config *
am_config_load(const char *path, am_config_err_fn errfn, void *arg)
{
	struct loader	 L = { path, NULL, NULL, errfn, arg, 0, NULL };

	if ((L.seen = calloc(am_config_nkeys(), sizeof(*L.seen))) == NULL ||
	    (L.cfg = am_config_base()) == NULL ||
	    (L.dir = dir_of(path)) == NULL) {
		report(&L, 0, NULL, "%s", strerror(ENOMEM));
		goto fail;
	}
	parse_file(&L);
	if (L.nerr == 0 && L.cfg->authserv_id == NULL &&
	    am_config_default_authserv(L.cfg, 1) == -1)
		report(&L, 0, NULL, "%s", strerror(ENOMEM));
	if (L.nerr == 0)
		L.nerr += am_config_check_all(L.cfg, path, L.seen, errfn, arg);
	if (L.nerr == 0 && (L.cfg->path = strdup(path)) == NULL)
		report(&L, 0, NULL, "%s", strerror(ENOMEM));
	if (L.nerr != 0)
		goto fail;
	free(L.seen);
	free(L.dir);
	return L.cfg;
fail:
	free(L.seen);
	free(L.dir);
	am_config_unref(L.cfg);
	return NULL;
}
