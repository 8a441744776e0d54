/*
 * db.c - the back-end independent half of the history store's SQL layer:
 * which back-end a HistoryDB value names, the handle, error texts, and
 * transactions (db.h says what callers may expect).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"
#include "db/db_int.h"

/* am_db_spec_kind - "none", an absolute path, sqlite:, postgres(ql):// */
enum am_db_kind
am_db_spec_kind(const char *spec, const char **path)
{
	const char	*p;

	if (spec == NULL || *spec == '\0' || strlen(spec) > AM_DB_SPEC_MAX)
		return AM_DB_INVALID;
	if (strcasecmp(spec, "none") == 0)
		return AM_DB_NONE;
	if (strncmp(spec, "postgresql://", 13) == 0 ||
	    strncmp(spec, "postgres://", 11) == 0) {
		if (path != NULL)
			*path = spec;
		return AM_DB_PG;
	}
	p = spec;
	if (strncmp(p, "sqlite:", 7) == 0) {
		p += 7;
		if (strncmp(p, "///", 3) == 0)	/* sqlite:///var/... */
			p += 2;
	}
	if (*p != '/' || p[strlen(p) - 1] == '/')
		return AM_DB_INVALID;
	if (path != NULL)
		*path = p;
	return AM_DB_SQLITE;
}

/* am_db_seterr - the handle's one-line error text, prefixed with its name */
void
am_db_seterr(struct am_db *db, const char *fmt, ...)
{
	char	 msg[AM_DB_ERR_MAX];
	char	*nl;
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	while ((nl = strpbrk(msg, "\r\n\t")) != NULL)	/* libpq ends with \n */
		*nl = (nl[1] == '\0') ? '\0' : ' ';
	snprintf(db->err, sizeof(db->err), "%.100s: %.150s", db->name, msg);
}

/* am_db_open - connect to the store a spec names and migrate its schema */
struct am_db *
am_db_open(const char *spec, char *err, size_t errlen)
{
	struct am_db	*db;
	const char	*path;
	int		 rc;

	switch (am_db_spec_kind(spec, &path)) {
	case AM_DB_SQLITE:
	case AM_DB_PG:
		break;
	case AM_DB_NONE:
		snprintf(err, errlen, "history store is \"none\"");
		return NULL;
	default:
		snprintf(err, errlen, "history store \"%.64s\": not an absolute "
		    "path, sqlite:/path, postgresql:// or postgres:// URI",
		    spec == NULL ? "" : spec);
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "history store: out of memory");
		return NULL;
	}
	if (am_db_spec_kind(spec, NULL) == AM_DB_SQLITE)
		rc = am_db_sqlite_open(db, path);
	else
		rc = am_db_pg_open(db, path);
	if (rc == 0 && am_db_migrate(db) == 0) {
		db->err[0] = '\0';
		return db;
	}
	snprintf(err, errlen, "%s", db->err);
	am_db_close(db);
	return NULL;
}

void
am_db_close(struct am_db *db)
{
	if (db == NULL)
		return;
	if (db->ops != NULL)
		db->ops->close(db);
	free(db);
}

enum am_db_kind
am_db_kind(const struct am_db *db)
{
	return db->kind;
}

const char *
am_db_name(const struct am_db *db)
{
	return db->name;
}

const char *
am_db_error(const struct am_db *db)
{
	return db->err;
}

int
am_db_broken(const struct am_db *db)
{
	return db->ops->broken(db);
}

/* too many parameters is a programming error, said like any other */
static int
params_ok(struct am_db *db, int nparams)
{
	if (nparams >= 0 && nparams <= AM_DB_PARAMS_MAX)
		return 1;
	am_db_seterr(db, "%d parameters (at most %d)", nparams,
	    AM_DB_PARAMS_MAX);
	return 0;
}

int
am_db_cache_kb(struct am_db *db, int kb)
{
	char	 sql[48];

	if (db->kind != AM_DB_SQLITE)
		return 0;
	/* a negative cache_size is in KiB, a positive one in pages */
	snprintf(sql, sizeof(sql), "PRAGMA cache_size=-%d", kb);
	return am_db_exec(db, sql, 0, NULL) < 0 ? -1 : 0;
}

long
am_db_exec(struct am_db *db, const char *sql, int nparams,
    const char *const *params)
{
	if (!params_ok(db, nparams))
		return -1;
	return db->ops->exec(db, sql, nparams, params);
}

struct am_db_rows *
am_db_query(struct am_db *db, const char *sql, int nparams,
    const char *const *params)
{
	if (!params_ok(db, nparams))
		return NULL;
	return db->ops->query(db, sql, nparams, params);
}

int
am_db_next(struct am_db_rows *rows)
{
	return rows->db->ops->next(rows);
}

int
am_db_ncols(const struct am_db_rows *rows)
{
	return rows->db->ops->ncols(rows);
}

const char *
am_db_col(const struct am_db_rows *rows, int col)
{
	return rows->db->ops->col(rows, col);
}

void
am_db_rows_free(struct am_db_rows *rows)
{
	if (rows != NULL)
		rows->db->ops->rows_free(rows);
}

int
am_db_begin(struct am_db *db)
{
	return am_db_exec(db, "BEGIN", 0, NULL) < 0 ? -1 : 0;
}

/* am_db_begin_write - SQLite: take the write lock now (BEGIN IMMEDIATE) */
int
am_db_begin_write(struct am_db *db)
{
	const char	*sql;

	sql = db->kind == AM_DB_SQLITE ? "BEGIN IMMEDIATE" : "BEGIN";
	return am_db_exec(db, sql, 0, NULL) < 0 ? -1 : 0;
}

int
am_db_commit(struct am_db *db)
{
	return am_db_exec(db, "COMMIT", 0, NULL) < 0 ? -1 : 0;
}

/* am_db_rollback - keeps the error that made the caller roll back */
int
am_db_rollback(struct am_db *db)
{
	char	 keep[AM_DB_ERR_MAX];
	int	 rc;

	memcpy(keep, db->err, sizeof(keep));
	rc = am_db_exec(db, "ROLLBACK", 0, NULL) < 0 ? -1 : 0;
	memcpy(db->err, keep, sizeof(keep));
	return rc;
}
