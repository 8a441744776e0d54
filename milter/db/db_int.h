/*
 * db_int.h - what db.c shares with its two back-ends (db_sqlite.c,
 * db_pg.c).  Not for use outside milter/db/.
 */
#ifndef AM_DB_INT_H
#define AM_DB_INT_H

#include <stdarg.h>

#include "db/db.h"

struct am_db_ops {
	long	(*exec)(struct am_db *, const char *, int, const char *const *);
	struct am_db_rows *(*query)(struct am_db *, const char *, int,
		    const char *const *);
	int	(*next)(struct am_db_rows *);
	const char *(*col)(const struct am_db_rows *, int);
	int	(*ncols)(const struct am_db_rows *);
	void	(*rows_free)(struct am_db_rows *);
	int	(*broken)(const struct am_db *);
	void	(*close)(struct am_db *);
};

struct am_db {
	enum am_db_kind		 kind;
	const struct am_db_ops	*ops;
	void			*h;		/* sqlite3 * or PGconn * */
	void			*cache;		/* back-end's statement cache */
	char			 name[160];	/* for error texts */
	char			 err[AM_DB_ERR_MAX];
};

struct am_db_rows {
	struct am_db	*db;
	void		*r;		/* sqlite3_stmt * or PGresult * */
	int		 row;		/* PostgreSQL: current row, -1 before the first */
	int		 cached;	/* SQLite: the statement belongs to the cache */
};

void	am_db_seterr(struct am_db *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

int	am_db_sqlite_open(struct am_db *, const char *path);
int	am_db_pg_open(struct am_db *, const char *uri);

#endif /* AM_DB_INT_H */
