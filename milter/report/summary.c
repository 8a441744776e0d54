/*
 * summary.c - authmilter-report --summary (summary.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "report/summary.h"

/* one domain's line */
struct line {
	char		 domain[254];
	long long	 msgs, pass, fail, dkim, spf, none, quar, rej;
	char		 top[AM_SUMMARY_TOP][64];
	long long	 topn[AM_SUMMARY_TOP];
	int		 ntop;
};

/* am_summary_text - see summary.h */
void
am_summary_text(const char *s, char *out, size_t len)
{
	size_t	 i;

	if (len == 0)
		return;
	if (s == NULL)
		s = "";
	for (i = 0; s[i] != '\0' && i + 1 < len; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[i] = '\0';
}

/* am_summary_json - see summary.h */
void
am_summary_json(FILE *out, const char *s)
{
	const unsigned char	*p;

	fputc('"', out);
	for (p = (const unsigned char *)(s != NULL ? s : ""); *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(out, "\\u%04x", *p);	/* bytes: no UTF-8 claim */
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

/* ll - a column as a number */
static long long
ll(struct am_db_rows *r, int i)
{
	const char	*s = am_db_col(r, i);

	return s != NULL ? strtoll(s, NULL, 10) : 0;
}

#define SUM(cond)	"SUM(CASE WHEN " cond " THEN 1 ELSE 0 END)"

/* domains - the per-domain counts, most messages first */
static int
domains(struct am_db *db, const char *since, struct line **out, size_t *n,
    long long *more)
{
	struct am_db_rows	*r;
	struct line		*v;
	int			 rc;

	*n = 0;
	*more = 0;
	if ((v = calloc(AM_SUMMARY_DOMAINS_MAX, sizeof(*v))) == NULL)
		return -1;
	r = am_db_query(db, "SELECT policy_domain, COUNT(*), "
	    SUM("dmarc_result = 'pass'") ", " SUM("dmarc_result = 'fail'") ", "
	    SUM("dkim_aligned = 1") ", " SUM("spf_aligned = 1") ", "
	    SUM("disposition = 'quarantine'") ", "
	    SUM("disposition = 'reject'") " FROM am_message WHERE t >= $1 "
	    "GROUP BY policy_domain ORDER BY COUNT(*) DESC, policy_domain",
	    1, &since);
	if (r == NULL) {
		free(v);
		return -1;
	}
	while ((rc = am_db_next(r)) == 1) {
		struct line	*l = &v[*n];

		if (*n == AM_SUMMARY_DOMAINS_MAX) {
			(*more)++;
			continue;
		}
		snprintf(l->domain, sizeof(l->domain), "%s",
		    am_db_col(r, 0) != NULL ? am_db_col(r, 0) : "");
		l->msgs = ll(r, 1);
		l->pass = ll(r, 2);
		l->fail = ll(r, 3);
		l->dkim = ll(r, 4);
		l->spf = ll(r, 5);
		l->quar = ll(r, 6);
		l->rej = ll(r, 7);
		l->none = l->msgs - l->quar - l->rej;
		(*n)++;
	}
	am_db_rows_free(r);
	*out = v;
	return rc == 0 ? 0 : -1;
}

/* top - the sources of the most messages that did not pass DMARC */
static int
top(struct am_db *db, const char *since, struct line *l)
{
	const char		*p[2] = { l->domain, since };
	struct am_db_rows	*r;
	int			 rc;

	r = am_db_query(db, "SELECT source_ip, COUNT(*) FROM am_message "
	    "WHERE policy_domain = $1 AND t >= $2 AND dmarc_result <> 'pass' "
	    "GROUP BY source_ip ORDER BY COUNT(*) DESC, source_ip", 2, p);
	if (r == NULL)
		return -1;
	while ((rc = am_db_next(r)) == 1 && l->ntop < AM_SUMMARY_TOP) {
		snprintf(l->top[l->ntop], sizeof(l->top[0]), "%s",
		    am_db_col(r, 0) != NULL ? am_db_col(r, 0) : "");
		l->topn[l->ntop++] = ll(r, 1);
	}
	am_db_rows_free(r);
	return rc < 0 ? -1 : 0;
}

/* pct - n of total as a whole percentage */
static int
pct(long long n, long long total)
{
	return total > 0 ? (int)((n * 100 + total / 2) / total) : 0;
}

/* table - the lines for a terminal */
static void
table(FILE *out, const struct line *v, size_t n)
{
	char	 d[40], ip[64];
	size_t	 i;
	int	 j;

	fprintf(out, "%-28s %8s %13s %13s %13s %13s %7s %7s %7s\n", "DOMAIN",
	    "MESSAGES", "DMARC-PASS", "DMARC-FAIL", "DKIM-ALIGNED",
	    "SPF-ALIGNED", "NONE", "QUARANT", "REJECT");
	for (i = 0; i < n; i++) {
		const struct line	*l = &v[i];

		am_summary_text(l->domain, d, sizeof(d));
		fprintf(out, "%-28s %8lld %7lld %4d%% %7lld %4d%% %7lld %4d%% "
		    "%7lld %4d%% %7lld %7lld %7lld\n", d, l->msgs, l->pass,
		    pct(l->pass, l->msgs), l->fail, pct(l->fail, l->msgs),
		    l->dkim, pct(l->dkim, l->msgs), l->spf,
		    pct(l->spf, l->msgs), l->none, l->quar, l->rej);
		if (l->ntop == 0)
			continue;
		fprintf(out, "    top sources not passing:");
		for (j = 0; j < l->ntop; j++) {
			am_summary_text(l->top[j], ip, sizeof(ip));
			fprintf(out, "%s %s (%lld)", j > 0 ? "," : "", ip,
			    l->topn[j]);
		}
		fputc('\n', out);
	}
}

/* json_lines - the lines as a JSON array */
static void
json_lines(FILE *out, const struct line *v, size_t n)
{
	size_t	 i;
	int	 j;

	fputs("\"domains\": [", out);
	for (i = 0; i < n; i++) {
		const struct line	*l = &v[i];

		fprintf(out, "%s\n  {\"domain\": ", i > 0 ? "," : "");
		am_summary_json(out, l->domain);
		fprintf(out, ", \"messages\": %lld, \"dmarc\": {\"pass\": %lld, "
		    "\"fail\": %lld, \"other\": %lld}, \"dkim_aligned\": %lld, "
		    "\"spf_aligned\": %lld, \"disposition\": {\"none\": %lld, "
		    "\"quarantine\": %lld, \"reject\": %lld}, "
		    "\"top_failing_sources\": [", l->msgs, l->pass, l->fail,
		    l->msgs - l->pass - l->fail, l->dkim, l->spf, l->none,
		    l->quar, l->rej);
		for (j = 0; j < l->ntop; j++) {
			fprintf(out, "%s{\"ip\": ", j > 0 ? ", " : "");
			am_summary_json(out, l->top[j]);
			fprintf(out, ", \"messages\": %lld}", l->topn[j]);
		}
		fputs("]}", out);
	}
	fputs("\n]", out);
}

/* reports - the period's reports by state, and troubled destinations */
static int
reports(struct am_db *db, const char *since, int json, FILE *out)
{
	struct am_db_rows	*r;
	char			 a[256], e[256];
	int			 rc, first = 1;

	if ((r = am_db_query(db, "SELECT state, COUNT(*) FROM am_report "
	    "WHERE end_t >= $1 GROUP BY state ORDER BY state", 1, &since)) ==
	    NULL)
		return -1;
	fputs(json ? ",\n\"reports\": {" : "\nreports:", out);
	while ((rc = am_db_next(r)) == 1) {
		if (json) {
			fprintf(out, "%s", first ? "" : ", ");
			am_summary_json(out, am_db_col(r, 0));
			fprintf(out, ": %lld", ll(r, 1));
		} else
			fprintf(out, " %s %lld", am_db_col(r, 0), ll(r, 1));
		first = 0;
	}
	am_db_rows_free(r);
	if (rc != 0)
		return -1;
	fputs(json ? "},\n\"destinations\": [" : first ? " none\n" : "\n", out);
	if ((r = am_db_query(db, "SELECT address, failures, suppressed, "
	    "last_error FROM am_dest WHERE failures > 0 OR suppressed = 1 "
	    "ORDER BY address", 0, NULL)) == NULL)
		return -1;
	first = 1;
	while ((rc = am_db_next(r)) == 1) {
		if (json) {
			fputs(first ? "\n  {\"address\": " : ",\n  {\"address\": ",
			    out);
			am_summary_json(out, am_db_col(r, 0));
			fprintf(out, ", \"failures\": %lld, \"suppressed\": %s, "
			    "\"last_error\": ", ll(r, 1), ll(r, 2) ?
			    "true" : "false");
			am_summary_json(out, am_db_col(r, 3));
			fputc('}', out);
		} else {
			am_summary_text(am_db_col(r, 0), a, sizeof(a));
			am_summary_text(am_db_col(r, 3), e, sizeof(e));
			fprintf(out, "destination %s: %lld failed runs%s (%s)\n",
			    a, ll(r, 1), ll(r, 2) ? ", suppressed" : "", e);
		}
		first = 0;
	}
	am_db_rows_free(r);
	if (json)
		fputs("\n]", out);
	return rc == 0 ? 0 : -1;
}

/* am_summary - see summary.h */
int
am_summary(struct am_db *db, long long since, const char *label, int json,
    FILE *out)
{
	struct line	*v = NULL;
	char		 s[24], when[32];
	size_t		 n, i;
	long long	 more;
	time_t		 t = (time_t)since;
	struct tm	 tm;
	int		 rc;

	snprintf(s, sizeof(s), "%lld", since);
	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	if (domains(db, s, &v, &n, &more) != 0) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (top(db, s, &v[i]) != 0) {
			free(v);
			return -1;
		}
	if (json) {
		fputs("{\"store\": ", out);
		am_summary_json(out, am_db_name(db));
		fprintf(out, ", \"since\": %lld, ", since);
		json_lines(out, v, n);
	} else {
		fprintf(out, "%s, since %s (%s): %zu domains\n\n",
		    am_db_name(db), when, label, n + (size_t)more);
		table(out, v, n);
		if (more > 0)
			fprintf(out, "... and %lld more domains\n", more);
	}
	free(v);
	rc = reports(db, s, json, out);
	if (json)
		fputs("}\n", out);
	return rc;
}
