/*
 * db.h - a small SQL layer over SQLite (libsqlite3) and PostgreSQL (libpq)
 * for the history store (issue 13; schema: README "History").
 *
 * One handle, one connection, one thread at a time: a handle is not
 * thread-safe (the milter's writer thread and authmilter-report each own
 * theirs).  Statements take text parameters written $1, $2, ... in both
 * back-ends (SQLite reads "$1" as a named parameter), and rows come back as
 * text.  am_db_open() creates or migrates the schema (db/schema.c), so every
 * program that opens the store sees the current version.
 *
 * Errors: every function that can fail returns -1 (or NULL) and leaves one
 * line of text in am_db_error(); am_db_open() writes its error into the
 * caller's buffer.  The text names the back-end and the store
 * ("sqlite /var/lib/authmilter/history.db: attempt to write a readonly
 * database"), so it reads well in the log and in authmilter-report's output.
 * Passwords in a PostgreSQL URI are never part of an error text.
 */
#ifndef AM_DB_H
#define AM_DB_H

#include <stddef.h>

#define AM_DB_ERR_MAX		256	/* one error line */
#define AM_DB_BUSY_MS		2000	/* SQLite: wait this long for another writer's lock */
#define AM_DB_CONNECT_TIMEOUT	"5"	/* PostgreSQL connect_timeout (s) unless the URI sets one */
#define AM_DB_PG_DEAD_MS	"10000"	/* PostgreSQL tcp_user_timeout (ms); keepalives 10 s + 2 x 5 s */
#define AM_DB_SPEC_MAX		1024	/* longest HistoryDB value */
#define AM_DB_PARAMS_MAX	64	/* most parameters of one statement */

enum am_db_kind {
	AM_DB_INVALID = -1,
	AM_DB_NONE = 0,		/* "none": no store */
	AM_DB_SQLITE,		/* "/path" or "sqlite:/path" */
	AM_DB_PG		/* "postgresql://..." or "postgres://..." */
};

struct am_db;
struct am_db_rows;

/*
 * am_db_spec_kind - which back-end a HistoryDB value names.  A SQLite path
 * must be absolute; *path (if not NULL) gets the file name (for SQLite) or
 * the URI (for PostgreSQL), a pointer into spec.
 */
enum am_db_kind	 am_db_spec_kind(const char *spec, const char **path);

/*
 * am_db_open - connect (SQLite: open or create the file, WAL mode, busy
 * timeout AM_DB_BUSY_MS) and bring the schema to AM_DB_SCHEMA_VERSION.
 * NULL on failure, with the reason in err.  A store whose schema is newer
 * than this program's is an error (an older program must not write it).
 */
struct am_db	*am_db_open(const char *spec, char *err, size_t errlen);
void		 am_db_close(struct am_db *);	/* NULL is fine */

enum am_db_kind	 am_db_kind(const struct am_db *);
const char	*am_db_name(const struct am_db *);	/* "sqlite /path" or "postgresql host/db" */
const char	*am_db_error(const struct am_db *);	/* last error, "" if none */
/*
 * am_db_broken - 1 when the connection is gone (PostgreSQL stopped, socket
 * closed): the owner closes the handle and opens a new one later.  SQLite
 * handles are never broken (each statement retries the file).
 */
int		 am_db_broken(const struct am_db *);

/*
 * am_db_cache_kb - cap the handle's page cache at kb KiB: SQLite's
 * cache_size, which otherwise grows to 2 MB per handle and stays (the
 * history writer's inserts touch a few pages, issue 17); PostgreSQL's
 * cache is the server's, a no-op.  0, or -1 with the error set.
 */
int		 am_db_cache_kb(struct am_db *, int kb);

/* am_db_exec - run one statement; rows changed (>= 0) or -1 */
long		 am_db_exec(struct am_db *, const char *sql, int nparams,
		    const char *const *params);

/*
 * am_db_query - run one statement that returns rows; NULL on error.
 * am_db_next() moves to the next row: 1 a row, 0 the end, -1 an error
 * (am_db_error() of the handle says which).  am_db_col() is the column's
 * text, valid until the next am_db_next()/am_db_rows_free(); NULL for SQL
 * NULL or a column out of range.
 */
struct am_db_rows *am_db_query(struct am_db *, const char *sql, int nparams,
		    const char *const *params);
int		 am_db_next(struct am_db_rows *);
int		 am_db_ncols(const struct am_db_rows *);
const char	*am_db_col(const struct am_db_rows *, int col);
void		 am_db_rows_free(struct am_db_rows *);	/* NULL is fine */

/*
 * Transactions.  am_db_begin_write() takes the write lock at once (SQLite
 * BEGIN IMMEDIATE: a writer that must wait waits here, up to
 * AM_DB_BUSY_MS, not in the middle of a batch); in PostgreSQL it is BEGIN.
 */
int		 am_db_begin(struct am_db *);
int		 am_db_begin_write(struct am_db *);
int		 am_db_commit(struct am_db *);
int		 am_db_rollback(struct am_db *);	/* never fails loudly */

/* schema.c */
#define AM_DB_SCHEMA_VERSION	1
int		 am_db_schema_version(struct am_db *);	/* as stored, -1 on error */
int		 am_db_migrate(struct am_db *);		/* am_db_open() calls it */

#endif /* AM_DB_H */
