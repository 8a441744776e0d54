/*
 * rules.c - period, suppression list and back-off of authmilter-report
 * (rules.h).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "report/rules.h"

/* am_rules_day - see rules.h */
void
am_rules_day(long long t, long long *begin, long long *end)
{
	long long	 d = t >= 0 ? t / AM_RULES_DAY :
	    (t - AM_RULES_DAY + 1) / AM_RULES_DAY;

	*begin = d * AM_RULES_DAY;
	*end = *begin + AM_RULES_DAY - 1;
}

/* digits - n decimal digits at s into *v */
static int
digits(const char *s, int n, int *v)
{
	int	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* am_rules_parse_day - see rules.h */
int
am_rules_parse_day(const char *s, long long *begin)
{
	struct tm	 tm;
	int		 y, m, d;
	time_t		 t;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    digits(s, 4, &y) == -1 || digits(s + 5, 2, &m) == -1 ||
	    digits(s + 8, 2, &d) == -1 || y < 1970 || m < 1 || m > 12 ||
	    d < 1 || d > 31)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	t = timegm(&tm);
	/* timegm normalizes 2026-02-30: refuse what it moved */
	if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != m - 1)
		return -1;
	*begin = (long long)t;
	return 0;
}

/* am_rules_parse_since - see rules.h */
int
am_rules_parse_since(const char *s, long long *secs)
{
	long long	 v = 0, unit = 1;
	const char	*p;

	for (p = s; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > 100LL * 365 * AM_RULES_DAY)
			return -1;
	}
	if (p == s)
		return -1;
	switch (*p) {
	case '\0': break;
	case 'd': unit = AM_RULES_DAY; p++; break;
	case 'h': unit = 3600; p++; break;
	case 'm': unit = 60; p++; break;
	case 's': p++; break;
	default: return -1;
	}
	if (*p != '\0')
		return -1;
	*secs = v * unit;
	return 0;
}

/* am_rules_backoff - see rules.h */
void
am_rules_backoff(unsigned int n, unsigned int max, long long now,
    long long *next_try, int *suppressed)
{
	long long	 wait = AM_RULES_DAY;
	unsigned int	 i;

	for (i = 1; i < n && wait < AM_RULES_BACKOFF_MAX; i++)
		wait *= 2;
	if (wait > AM_RULES_BACKOFF_MAX)
		wait = AM_RULES_BACKOFF_MAX;
	*next_try = now + wait - AM_RULES_SLACK;
	*suppressed = n >= max;
}

/* am_rules_suppress_parse - see rules.h */
int
am_rules_suppress_parse(const char *text, struct am_rules_suppress *s)
{
	const char	*p = text, *e, *end;
	size_t		 i;

	memset(s, 0, sizeof(*s));
	if ((s->v = calloc(AM_RULES_SUPPRESS_MAX, sizeof(*s->v))) == NULL)
		return -1;
	for (; *p != '\0'; p = *end == '\n' ? end + 1 : end) {
		end = p + strcspn(p, "\n");
		e = p + strcspn(p, "#\n");
		while (p < e && isspace((unsigned char)*p))
			p++;
		while (e > p && isspace((unsigned char)e[-1]))
			e--;
		if (e == p)
			continue;
		if (s->n == AM_RULES_SUPPRESS_MAX) {
			s->over++;
			continue;
		}
		if ((s->v[s->n] = strndup(p, (size_t)(e - p))) == NULL)
			return -1;
		for (i = 0; s->v[s->n][i] != '\0'; i++)
			s->v[s->n][i] = (char)tolower((unsigned char)s->v[s->n][i]);
		s->n++;
	}
	return 0;
}

/* am_rules_suppress_free - see rules.h */
void
am_rules_suppress_free(struct am_rules_suppress *s)
{
	size_t	 i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* am_rules_domain_of - see rules.h */
const char *
am_rules_domain_of(const char *addr)
{
	const char	*at = strrchr(addr, '@');

	return at != NULL ? at + 1 : addr;
}

/* under - domain d is e or a subdomain of it (case-insensitively) */
static int
under(const char *d, const char *e)
{
	size_t	 dl = strlen(d), el = strlen(e);

	if (el == 0 || dl < el || strcasecmp(d + dl - el, e) != 0)
		return 0;
	return dl == el || d[dl - el - 1] == '.';
}

/* am_rules_suppressed - see rules.h */
int
am_rules_suppressed(const struct am_rules_suppress *s, const char *addr)
{
	const char	*dom = am_rules_domain_of(addr);
	size_t		 i;

	for (i = 0; i < s->n; i++) {
		if (strchr(s->v[i], '@') != NULL) {
			if (strcasecmp(s->v[i], addr) == 0)
				return 1;
		} else if (under(dom, s->v[i]))
			return 1;
	}
	return 0;
}
