/*
 * dns_cache.c - answer cache in front of libunbound; see dns_cache.h.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include "dns/dns_cache.h"

#define NBUCKETS	1024
#define KEY_MAX		256		/* name without the final dot + NUL */

struct entry {
	struct entry		*next;
	char			 name[KEY_MAX];
	int			 rrtype;
	enum am_dns_status	 st;
	time_t			 expires;	/* CLOCK_MONOTONIC seconds */
	struct ub_result	*res;		/* AM_DNS_OK only */
};

struct am_dns_cache {
	pthread_rwlock_t lock;		/* readers: get; writer: put, flush */
	struct entry	*buckets[NBUCKETS];
	size_t		 n;
};

/* now_sec - CLOCK_MONOTONIC seconds */
static time_t
now_sec(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* make_key - lower-cased name without the final dot; -1 if too long */
static int
make_key(const char *name, char *key)
{
	size_t	i, len = strlen(name);

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= KEY_MAX)
		return -1;
	for (i = 0; i < len; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[len] = '\0';
	return 0;
}

/* hash - FNV-1a of key and type */
static unsigned int
hash(const char *key, int rrtype)
{
	uint32_t	h = 2166136261u ^ (uint32_t)rrtype;

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h % NBUCKETS;
}

/* dup_mem - malloc'd copy of len bytes (NULL for NULL) ; *ok cleared on ENOMEM */
static void *
dup_mem(const void *p, size_t len, int *ok)
{
	void	*d;

	if (p == NULL)
		return NULL;
	if ((d = malloc(len ? len : 1)) == NULL) {
		*ok = 0;
		return NULL;
	}
	memcpy(d, p, len);
	return d;
}

/* copy_result - deep copy freeable with ub_resolve_free; NULL on ENOMEM */
static struct ub_result *
copy_result(const struct ub_result *r)
{
	struct ub_result	*c;
	size_t			 n = 0, i;
	int			 ok = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	*c = *r;
	c->qname = c->canonname = c->why_bogus = NULL;
	c->data = NULL;
	c->len = NULL;
	c->answer_packet = NULL;
	c->qname = dup_mem(r->qname, r->qname ? strlen(r->qname) + 1 : 0, &ok);
	c->canonname = r->canonname == r->qname ? c->qname :
	    dup_mem(r->canonname, r->canonname ? strlen(r->canonname) + 1 : 0,
	    &ok);
	c->answer_packet = dup_mem(r->answer_packet, (size_t)r->answer_len,
	    &ok);
	while (r->data != NULL && r->data[n] != NULL)
		n++;
	if (r->data != NULL && (c->data = calloc(n + 1, sizeof(char *))) == NULL)
		ok = 0;
	if (r->len != NULL && (c->len = calloc(n + 1, sizeof(int))) == NULL)
		ok = 0;
	for (i = 0; ok && c->data != NULL && i < n; i++) {
		c->data[i] = dup_mem(r->data[i], (size_t)r->len[i], &ok);
		if (c->len != NULL)
			c->len[i] = r->len[i];
	}
	if (!ok) {
		ub_resolve_free(c);
		return NULL;
	}
	return c;
}

/* entry_free - one entry and its answer */
static void
entry_free(struct entry *e)
{
	if (e->res != NULL)
		ub_resolve_free(e->res);
	free(e);
}

/* flush_locked - drop every entry; lock held */
static void
flush_locked(struct am_dns_cache *c)
{
	struct entry	*e, *next;
	size_t		 i;

	for (i = 0; i < NBUCKETS; i++) {
		for (e = c->buckets[i]; e != NULL; e = next) {
			next = e->next;
			entry_free(e);
		}
		c->buckets[i] = NULL;
	}
	c->n = 0;
}

/* am_dns_cache_new - an empty cache */
struct am_dns_cache *
am_dns_cache_new(void)
{
	struct am_dns_cache	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pthread_rwlock_init(&c->lock, NULL) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

/* am_dns_cache_free - every entry, then the cache */
void
am_dns_cache_free(struct am_dns_cache *c)
{
	if (c == NULL)
		return;
	flush_locked(c);
	pthread_rwlock_destroy(&c->lock);
	free(c);
}

/* am_dns_cache_get - a live cached answer, copied; 1 hit, 0 miss */
int
am_dns_cache_get(struct am_dns_cache *c, const char *name, int rrtype,
    enum am_dns_status *st, struct ub_result **res)
{
	struct entry	**pe, *e;
	char		 key[KEY_MAX];
	int		 hit = 0;

	if (c == NULL || make_key(name, key) == -1)
		return 0;
	if (res != NULL)
		*res = NULL;
	/*
	 * A read lock: look-ups of every thread at once (six to ten per
	 * message).  An expired entry is a miss and stays until put()
	 * replaces it in front of it or the cache is emptied.
	 */
	pthread_rwlock_rdlock(&c->lock);
	for (pe = &c->buckets[hash(key, rrtype)]; (e = *pe) != NULL;
	    pe = &e->next) {
		if (e->rrtype != rrtype || strcmp(e->name, key) != 0)
			continue;
		if (e->expires <= now_sec())	/* expired: a miss */
			break;
		hit = 1;
		*st = e->st;
		if (e->st == AM_DNS_OK && res != NULL) {
			if ((*res = copy_result(e->res)) == NULL)
				hit = 0;
			else		/* what is left of the TTL */
				(*res)->ttl = (int)(e->expires - now_sec());
		}
		break;
	}
	pthread_rwlock_unlock(&c->lock);
	return hit;
}

/* am_dns_cache_put - remember a final answer for its TTL */
void
am_dns_cache_put(struct am_dns_cache *c, const char *name, int rrtype,
    enum am_dns_status st, const struct ub_result *r)
{
	struct entry	*e;
	unsigned int	 h;
	int		 ttl;

	if (c == NULL || r == NULL || r->bogus || (st != AM_DNS_OK &&
	    st != AM_DNS_NXDOMAIN && st != AM_DNS_NODATA))
		return;
	if ((ttl = r->ttl) <= 0)
		return;
	if (ttl > AM_DNS_CACHE_TTL_MAX)
		ttl = AM_DNS_CACHE_TTL_MAX;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	if (make_key(name, e->name) == -1 ||
	    (st == AM_DNS_OK && (e->res = copy_result(r)) == NULL)) {
		entry_free(e);
		return;
	}
	e->rrtype = rrtype;
	e->st = st;
	e->expires = now_sec() + ttl;
	h = hash(e->name, rrtype);
	pthread_rwlock_wrlock(&c->lock);
	if (c->n >= AM_DNS_CACHE_MAX)
		flush_locked(c);
	e->next = c->buckets[h];	/* a racing duplicate is harmless */
	c->buckets[h] = e;
	c->n++;
	pthread_rwlock_unlock(&c->lock);
}
