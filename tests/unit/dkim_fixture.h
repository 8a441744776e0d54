/*
 * dkim_fixture.h - what the DKIM unit tests share (check_dkim,
 * check_dkim_bhfail): keys served through am_dns local data, and a
 * message fed to am_dkim header by header and in odd-sized body chunks,
 * as an MTA hands them over.  Fixtures are in data/dkim (see its README).
 */
#ifndef DKIM_FIXTURE_H
#define DKIM_FIXTURE_H

#include "dkim/dkim.h"
#include "dns/dns.h"

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))
#define DATA		TESTDATA "/dkim/"
#define MAXHDRS		64
#define NSIGS		AM_DKIM_SIGS_MAX

/* one key record to serve: "<sel>._domainkey.<domain>" TXT */
struct key {
	const char	*sel;
	const char	*domain;
	const char	*file;		/* record read from DATA file, or */
	const char	*record;	/* this literal record */
};

/* one verification run: what to feed and what came out */
struct run {
	const char		*file;		/* message in DATA */
	const char		*from, *to;	/* optional text edit */
	int			 no_leadspc;	/* strip value's leading WSP */
	int			 crlf;		/* folds as CRLF, not LF */
	unsigned int		 min_bits;
	unsigned int		 max_sigs;
	struct am_dns_budget	*budget;	/* for eoh and eom, or NULL */
	int			 rc;		/* am_dkim_eom */
	size_t			 n;
	struct am_dkim_sig	 sig[NSIGS];
};

char			*slurp(const char *path);
struct am_dns		*dns_local(const struct key *keys, size_t nkeys);
struct am_dkim_lib	*lib_new(struct am_dns *dns);
char			*edit(char *text, const char *from, const char *to);
char			*feed_headers(struct am_dkim *d, char *text,
			    int no_leadspc, int crlf);
void			 feed_body(struct am_dkim *d, const char *body);
void			 verify(struct am_dkim_lib *lib, struct run *r);
void			 run_std(struct run *r);

#endif /* DKIM_FIXTURE_H */
