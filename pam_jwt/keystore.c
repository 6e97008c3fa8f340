/* keystore.c: issuer key sets from a file or fetched; parsed once, refcounted, cached (see keystore.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwks_cache.h"
#include "https.h"
#include "keystore.h"
#include "oidc.h"
#include "store/store_read.h"
#include "trusted_file.h"
#include "store/analyzer.h"

#define KS_JWKS_FILE_MAX  (1024 * 1024)
#define KS_CACHE_OVERHEAD (64 * 1024)

/* A parsed key set. The table holds one reference to the current set of an issuer; every caller of
 * keystore_get holds another until keystore_release, so a set replaced meanwhile stays alive. */
struct keystore_ref {
	struct jwk_set *set;
	unsigned long refs; /* under ks_lock */
};

/* One issuer's state, keyed by section name and source, so a reloaded config that changes the source
 * never sees keys from the old one. */
struct ks_entry {
	struct ks_entry *next;
	char *name;               /* issuer section name */
	char *source;             /* "file:PATH", "uri:URL" or "discovery:ISSUER" */
	struct keystore_ref *cur; /* NULL until loaded */
	/* jwks_file: the file cur was read from, to notice edits */
	bool have_stat;
	struct store_file_id
	    file; /* its ctime moves on chmod and chown too: a file made writable is re-checked */
	/* fetched sources: what cur came from and when, mirrored in the cache file */
	char *jwks_text; /* the text cur was parsed from, to notice a different set on disk */
	size_t jwks_len;
	char *url;
	time_t fetched_at, fresh_until, last_attempt;
	char last_error[PJ_REASON_MAX]; /* "" when the last attempt succeeded */
};

/* One lock for the table and the refcounts, held across a fetch too: logins are rare, a fetch is bounded by
 * its timeouts, and threads waiting for the same issuer then find the fresh keys instead of fetching again.
 */
static pthread_mutex_t ks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ks_entry *ks_entries;

static struct keystore_ref *ks_ref_new(struct jwk_set *set)
{
	struct keystore_ref *ref = calloc(1, sizeof(*ref));

	if (ref == NULL)
		return NULL;
	ref->set = set;
	ref->refs = 1;
	return ref;
}

/* Drops one reference; the caller holds ks_lock. */
static void ks_ref_drop_locked(struct keystore_ref *ref)
{
	if (ref == NULL || --ref->refs > 0)
		return;
	jwk_set_free(ref->set);
	free(ref);
}

/* Makes set the entry's current set (taking ownership); the old one lives on while held elsewhere. */
static pj_status ks_entry_install(struct ks_entry *e, struct jwk_set *set, struct pj_error *err)
{
	struct keystore_ref *ref = ks_ref_new(set);

	if (ref == NULL) {
		jwk_set_free(set);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	ks_ref_drop_locked(e->cur);
	e->cur = ref;
	return PJ_OK;
}

/* Parses a JWKS text and insists on at least one usable key: a set with none can only refuse. */
static pj_status ks_parse_jwks(const char *text, size_t len, struct jwk_set **out, struct pj_error *err)
{
	struct jwk_set *set = NULL;
	bool any;
	pj_status r;

	*out = NULL;
	if ((r = jwk_set_parse(text, len, &set, err)) != PJ_OK)
		return r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS;
	/* builds keys only until one is usable (usually the first): the others when a token needs them; it
	 * fails only when out of memory, which no test reaches without fault injection */
	if ((r = jwk_set_any_usable(set, &any)) != PJ_OK || !any) {
		jwk_set_free(set);
		return r != PJ_OK ? pj_fail(err, r, "out of memory")
		                  : pj_fail(err, PJ_ERR_NO_KEYS, "no usable key in the key set");
	}
	*out = set;
	return PJ_OK;
}

static char *ks_source_name(const struct pj_issuer *iss)
{
	char *s = NULL;
	int n;

	if (iss->jwks_file != NULL)
		n = asprintf(&s, "file:%s", iss->jwks_file);
	else if (iss->jwks_uri != NULL)
		n = asprintf(&s, "uri:%s", iss->jwks_uri);
	else
		n = asprintf(&s, "discovery:%s", iss->issuer != NULL ? iss->issuer : "");
	return n < 0 ? NULL : s;
}

/* Finds or adds the entry for (issuer name, source); the caller holds ks_lock. */
static pj_status ks_entry_find(const struct pj_issuer *iss, struct ks_entry **out, struct pj_error *err)
{
	struct ks_entry *e;
	char *source;

	/* out of memory only: no test reaches the refusal without fault injection (also below) */
	if ((source = ks_source_name(iss)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (e = ks_entries; e != NULL; e = e->next) {
		if (strcmp(e->name, iss->name) == 0 && strcmp(e->source, source) == 0) {
			free(source);
			*out = e;
			return PJ_OK;
		}
	}
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->name = strdup(iss->name)) == NULL) {
		free(e);
		free(source);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	e->source = source;
	e->next = ks_entries;
	ks_entries = e;
	*out = e;
	return PJ_OK;
}

static bool ks_same_file(const struct ks_entry *e, const struct stat *st)
{
	return e->have_stat && store_file_id_same(&e->file, st);
}

/* jwks_file: read and parse once; again only when the file's inode, size, mtime or ctime changed. The stat is
 * taken before the read, so an edit racing the read at worst causes one more reload later. */
static pj_status ks_file_load(struct ks_entry *e, const struct pj_issuer *iss, const struct pj_log *log,
                              struct pj_error *err)
{
	struct pj_error ferr;
	struct jwk_set *set = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	pj_status r;

	if (stat(iss->jwks_file, &st) == -1)
		return pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: jwks_file %s: %s", iss->name, iss->jwks_file,
		               strerror(errno));
	if (e->cur != NULL && ks_same_file(e, &st))
		return PJ_OK;
	pj_error_clear(&ferr);
	if ((r = trusted_file_read(iss->jwks_file, KS_JWKS_FILE_MAX, &text, &len, &ferr)) != PJ_OK)
		return pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "issuer %s: jwks_file: %s",
		               iss->name, ferr.reason);
	r = ks_parse_jwks(text, len, &set, &ferr);
	free(text);
	if (r != PJ_OK)
		return pj_fail(err, r, "issuer %s: jwks_file %s: %s", iss->name, iss->jwks_file, ferr.reason);
	/* gcc 12's analyzer loses what is stored in an entry of the ks_entries list and calls it leaked: the
	 * entry owns its set (here and in ks_adopt_set below) */
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	if ((r = ks_entry_install(e, set, err)) != PJ_OK)
		return r;
	PJ_ANALYZER_END()
	e->have_stat = true;
	e->file = store_file_id_of(&st);
	pj_logf(log, LOG_DEBUG, "issuer %s: loaded %zu keys from %s", iss->name, e->cur->set->n_keys,
	        iss->jwks_file);
	return PJ_OK;
}

/* Everything one remote lookup needs, so the steps below stay small. */
struct ks_ctx {
	const struct pj_config *cfg;
	const struct pj_issuer *iss;
	const struct pj_log *log;
	struct ks_entry *e;
	time_t now;
	bool disk;         /* the issuer's name can name a cache file */
	bool privileged;   /* root: may take the lock and write the cache; others fetch into memory only */
	bool disk_ignored; /* the cache file is there but was not read (untrusted, damaged, out of memory) */
	char path[PATH_MAX];
	char lock[PATH_MAX];
};

static const char *ks_cache_dir(const struct pj_config *cfg)
{
	return cfg != NULL && cfg->cache_dir != NULL ? cfg->cache_dir : PJ_DEFAULT_CACHE_DIR;
}

static void ks_ctx_init(struct ks_ctx *c, const struct pj_config *cfg, const struct pj_issuer *iss,
                        struct ks_entry *e, time_t now, const struct pj_log *log)
{
	struct pj_error perr;
	const char *dir = ks_cache_dir(cfg);

	memset(c, 0, sizeof(*c));
	c->cfg = cfg;
	c->iss = iss;
	c->log = log;
	c->e = e;
	c->now = now;
	c->privileged = geteuid() == 0;
	pj_error_clear(&perr);
	c->disk = jwks_cache_path(dir, iss->name, "json", c->path, sizeof(c->path), &perr) == PJ_OK &&
	          jwks_cache_path(dir, iss->name, "lock", c->lock, sizeof(c->lock), &perr) == PJ_OK;
	if (!c->disk)
		pj_logf(log, LOG_DEBUG, "issuer %s: keys kept in memory only: %s", iss->name, perr.reason);
}

static size_t ks_max_body(const struct pj_issuer *iss)
{
	return iss->http_max_body > 0 ? iss->http_max_body : 1024 * 1024;
}

static bool ks_fresh(const struct ks_ctx *c)
{
	return c->e->cur != NULL && c->now < c->e->fresh_until;
}

static bool ks_kid_known(const struct ks_ctx *c, const char *kid)
{
	return kid == NULL || (c->e->cur != NULL && jwk_set_has_kid(c->e->cur->set, kid));
}

/* One attempt per jwks_refresh_interval, whatever its outcome; a clock stepped back does not block it. */
static bool ks_may_attempt(const struct ks_ctx *c)
{
	const struct ks_entry *e = c->e;

	return e->last_attempt == 0 || c->now < e->last_attempt ||
	       c->now - e->last_attempt >= c->iss->jwks_refresh_interval;
}

static void ks_set_error(struct ks_entry *e, const char *reason)
{
	snprintf(e->last_error, sizeof(e->last_error), "%s", reason != NULL ? reason : "");
}

/* Takes a parsed set with its text and times into the entry. It owns set and text from the call on, refused
 * (out of memory) or not: the caller forgets both either way. */
static pj_status ks_adopt_set(struct ks_entry *e, struct jwk_set *set, char *text, size_t len,
                              const char *url, time_t fetched_at, time_t fresh_until, struct pj_error *err)
{
	char *u = strdup(url);
	pj_status r;

	/* out of memory only (ks_entry_install too): no test reaches these without fault injection */
	if (u == NULL) {
		jwk_set_free(set);
		free(text);
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	if ((r = ks_entry_install(e, set, err)) != PJ_OK) {
		free(text);
		free(u);
		return r;
	}
	PJ_ANALYZER_END()
	free(e->jwks_text);
	free(e->url);
	e->jwks_text = text;
	e->jwks_len = len;
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	e->url = u;
	e->fetched_at = fetched_at;
	e->fresh_until = fresh_until;
	return PJ_OK;
	PJ_ANALYZER_END()
}

static bool ks_same_text(const struct ks_entry *e, const struct jwks_cache *dc)
{
	return e->jwks_text != NULL && e->jwks_len == dc->jwks_len &&
	       memcmp(e->jwks_text, dc->jwks, dc->jwks_len) == 0;
}

/* Takes the key set from a cache file that is newer than what memory holds; parses only a different text. */
static void ks_adopt_cached_set(struct ks_ctx *c, struct jwks_cache *dc)
{
	struct ks_entry *e = c->e;
	struct jwk_set *set = NULL;
	struct pj_error perr;

	if (dc->jwks == NULL || (e->cur != NULL && dc->fetched_at < e->fetched_at))
		return;
	if (e->cur != NULL && ks_same_text(e, dc)) {
		e->fetched_at = dc->fetched_at;
		e->fresh_until = dc->fresh_until;
		return;
	}
	pj_error_clear(&perr);
	if (dc->jwks_len > ks_max_body(c->iss) ||
	    ks_parse_jwks(dc->jwks, dc->jwks_len, &set, &perr) != PJ_OK) {
		pj_logf(c->log, LOG_WARNING, "issuer %s: ignoring cache file %s: %s", c->iss->name, c->path,
		        perr.reason[0] ? perr.reason : "key set too large");
		c->disk_ignored = true;
		return;
	}
	(void)ks_adopt_set(e, set, dc->jwks, dc->jwks_len, dc->url, (time_t)dc->fetched_at,
	                   (time_t)dc->fresh_until, &perr);
	dc->jwks = NULL; /* the entry's now, or freed by ks_adopt_set's refusal */
}

/* Brings memory up to date with the cache file, which other processes may have refreshed. A cache file that
 * cannot be trusted or read is ignored with a log line, never fatal. */
static void ks_disk_adopt(struct ks_ctx *c)
{
	struct jwks_cache dc;
	struct pj_error cerr;
	bool missing = false;

	if (!c->disk)
		return;
	pj_error_clear(&cerr);
	if (jwks_cache_read(c->path, 2 * ks_max_body(c->iss) + KS_CACHE_OVERHEAD, &dc, &missing, &cerr) !=
	    PJ_OK) {
		if (!missing)
			pj_logf(c->log, LOG_WARNING, "issuer %s: ignoring cache: %s", c->iss->name,
			        cerr.reason);
		c->disk_ignored = !missing;
		return;
	}
	if (strcmp(dc.source, c->e->source) != 0) {
		pj_logf(c->log, LOG_INFO, "issuer %s: ignoring cache file %s: it is for %s", c->iss->name,
		        c->path, dc.source);
		goto out;
	}
	if (dc.last_attempt > c->e->last_attempt) {
		c->e->last_attempt = (time_t)dc.last_attempt;
		ks_set_error(c->e, dc.last_error);
	}
	ks_adopt_cached_set(c, &dc);
out:
	jwks_cache_clear(&dc);
}

/* Writes memory's view to the cache file: the keys (the last good ones, never a bad response) and the
 * attempt that was just made. A failure is logged, and returned for pam-jwt jwks refresh, whose job the
 * cache file is (a login goes on with the keys in memory). */
static pj_status ks_disk_store(struct ks_ctx *c, struct pj_error *err)
{
	struct ks_entry *e = c->e;
	struct jwks_cache dc = {
	    .source = e->source,
	    .url = e->url,
	    .jwks = e->jwks_text,
	    .jwks_len = e->jwks_len,
	    .fetched_at = e->fetched_at,
	    .fresh_until = e->fresh_until,
	    .last_attempt = e->last_attempt,
	    .last_error = e->last_error[0] ? e->last_error : NULL,
	};
	struct pj_error werr;

	if (!c->disk || !c->privileged)
		return PJ_OK;
	/* A file this process could not read may hold keys (its reading failed for want of memory, say):
	 * only new keys replace it, never the record of a failed attempt. */
	if (c->disk_ignored && e->jwks_text == NULL) {
		pj_logf(c->log, LOG_WARNING,
		        "issuer %s: cache file %s left as it is: it was not read, and no keys replace it",
		        c->iss->name, c->path);
		return PJ_OK;
	}
	pj_error_clear(&werr);
	if (jwks_cache_write(c->path, &dc, &werr) == PJ_OK)
		return PJ_OK;
	pj_logf(c->log, LOG_WARNING, "issuer %s: cannot write cache: %s", c->iss->name, werr.reason);
	return pj_fail(err, PJ_ERR_SYSTEM, "issuer %s: cannot write cache: %s", c->iss->name, werr.reason);
}

static time_t ks_ttl(const struct pj_issuer *iss, long max_age)
{
	long ttl = max_age < 0 ? iss->jwks_min_ttl : max_age;

	if (ttl < iss->jwks_min_ttl)
		ttl = iss->jwks_min_ttl;
	if (ttl > iss->jwks_max_ttl)
		ttl = iss->jwks_max_ttl;
	return ttl > 0 ? (time_t)ttl : 0;
}

/* Discovery (when there is no jwks_uri), GET, parse; a set without a usable key is a failed fetch. */
static pj_status ks_fetch(struct ks_ctx *c, struct pj_error *err)
{
	const struct pj_issuer *iss = c->iss;
	struct https_opts o;
	struct https_body body = {0};
	struct jwk_set *set = NULL;
	struct pj_error perr;
	char *discovered = NULL;
	const char *url = iss->jwks_uri;
	pj_status r;

	https_opts_init(&o, iss);
	if (url == NULL) {
		if ((r = oidc_jwks_uri(&o, iss->issuer, &discovered, err)) != PJ_OK)
			goto out;
		url = discovered;
	}
	if ((r = https_get(&o, url, &body, err)) != PJ_OK)
		goto out;
	pj_error_clear(&perr);
	if ((r = ks_parse_jwks(body.data, body.len, &set, &perr)) != PJ_OK) {
		r = pj_fail(err, r, "%s: %s", url, perr.reason);
		goto out;
	}
	/* fails only when out of memory: no test reaches this goto without fault injection */
	r = ks_adopt_set(c->e, set, body.data, body.len, url, c->now, c->now + ks_ttl(iss, body.max_age),
	                 err);
	body.data = NULL; /* the entry's now, or freed by ks_adopt_set's refusal */
	if (r != PJ_OK)
		goto out;
	pj_logf(c->log, LOG_INFO, "issuer %s: fetched %zu keys from %s, fresh for %lld s", iss->name,
	        c->e->cur->set->n_keys, url, (long long)(c->e->fresh_until - c->now));
out:
	https_body_free(&body);
	free(discovered);
	return r;
}

/* One refresh attempt: recorded (time and outcome) in memory and, for root, in the cache file. force (pam-jwt
 * jwks refresh): a cache file that could not be written fails it too. */
static pj_status ks_refresh_once(struct ks_ctx *c, bool force, struct pj_error *err)
{
	struct pj_error ferr;
	pj_status r, w;

	pj_error_clear(&ferr);
	c->e->last_attempt = c->now;
	r = ks_fetch(c, &ferr);
	ks_set_error(c->e, r == PJ_OK ? NULL : ferr.reason);
	if (r != PJ_OK)
		pj_logf(c->log, LOG_WARNING, "issuer %s: key refresh failed: %s", c->iss->name, ferr.reason);
	w = ks_disk_store(c, err);
	if (r != PJ_OK)
		return pj_fail(err, r, "issuer %s: %s", c->iss->name, ferr.reason);
	return force ? w : PJ_OK;
}

/* Answers from what is held: fresh keys; stale ones within jwks_max_stale (with a warning); else no keys. */
static pj_status ks_serve(const struct ks_ctx *c, bool quiet, struct pj_error *err)
{
	const struct ks_entry *e = c->e;
	const char *why = e->last_error[0] ? e->last_error : "no fetch has succeeded yet";

	if (e->cur == NULL)
		return pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: no keys: %s", c->iss->name, why);
	if (c->now < e->fresh_until)
		return PJ_OK;
	if (c->now - e->fresh_until < c->iss->jwks_max_stale) {
		if (!quiet)
			pj_logf(
			    c->log, LOG_WARNING,
			    "issuer %s: using stale keys from %s, expired %lld s ago (kept up to %ld s): %s",
			    c->iss->name, e->url != NULL ? e->url : "cache",
			    (long long)(c->now - e->fresh_until), c->iss->jwks_max_stale,
			    e->last_error[0] ? e->last_error : "not refreshed yet");
		return PJ_OK;
	}
	return pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: keys expired %lld s ago and were not refreshed: %s",
	               c->iss->name, (long long)(c->now - e->fresh_until), why);
}

static bool ks_satisfied(const struct ks_ctx *c, const char *kid, bool force)
{
	return !force && ks_fresh(c) && ks_kid_known(c, kid);
}

static long ks_lock_wait_ms(const struct pj_issuer *iss)
{
	struct https_opts o;

	https_opts_init(&o, iss);
	/* discovery and JWKS, each bounded by the total timeout, plus a second of slack */
	return 2000L * o.timeout + 1000L;
}

/* Creates cache_dir when root and it is missing: a fresh host then caches from the first login. */
static void ks_make_cache_dir(const struct ks_ctx *c)
{
	if (c->privileged && mkdir(ks_cache_dir(c->cfg), 0755) == -1 && errno != EEXIST)
		pj_logf(c->log, LOG_DEBUG, "cannot create %s: %s", ks_cache_dir(c->cfg), strerror(errno));
}

/* Fetched sources. Memory first (no system call at all when fresh), then the cache file, then - at most
 * once per jwks_refresh_interval host-wide, under the lock, re-checking the file once it is held - the
 * network. force (pam-jwt jwks refresh) skips the freshness and rate checks and returns the fetch result. */
static pj_status ks_remote_load(struct ks_ctx *c, const char *kid, bool force, struct pj_error *err)
{
	struct pj_error lerr;
	int lfd = -1;
	pj_status r, lr;

	if (ks_satisfied(c, kid, force))
		return PJ_OK;
	ks_disk_adopt(c);
	if (ks_satisfied(c, kid, force))
		return PJ_OK;
	if (!force && !ks_may_attempt(c))
		return ks_serve(c, false, err);
	if (c->privileged && c->disk) {
		ks_make_cache_dir(c);
		pj_error_clear(&lerr);
		if ((lr = jwks_cache_lock(c->lock, ks_lock_wait_ms(c->iss), &lfd, &lerr)) != PJ_OK) {
			if (lr == PJ_ERR_SYSTEM) {
				/* another process is fetching right now: answer with what it left */
				pj_logf(c->log, LOG_WARNING, "issuer %s: not refreshing: %s", c->iss->name,
				        lerr.reason);
				ks_disk_adopt(c);
				if (force)
					return pj_fail(err, PJ_ERR_NO_KEYS, "issuer %s: %s", c->iss->name,
					               lerr.reason);
				return ks_serve(c, false, err);
			}
			pj_logf(c->log, LOG_WARNING, "issuer %s: cache not usable, keys kept in memory: %s",
			        c->iss->name, lerr.reason);
			/* a refresh is for the cache file: it fails without one */
			if (force)
				return pj_fail(err, PJ_ERR_SYSTEM, "issuer %s: cache not usable: %s",
				               c->iss->name, lerr.reason);
			c->disk = false;
		} else {
			ks_disk_adopt(c);
			if (!force && (ks_satisfied(c, kid, force) || !ks_may_attempt(c))) {
				jwks_cache_unlock(lfd);
				return ks_serve(c, false, err);
			}
		}
	}
	r = ks_refresh_once(c, force, err);
	jwks_cache_unlock(lfd);
	if (force)
		return r;
	return ks_serve(c, false, err);
}

/* The entry for issuer, its keys loaded as a login would (force: a refresh). Holds ks_lock. */
static pj_status ks_load_locked(const struct pj_config *cfg, const struct pj_issuer *issuer, const char *kid,
                                time_t now, const struct pj_log *log, bool force, struct ks_entry **out,
                                struct pj_error *err)
{
	struct ks_ctx c;
	struct ks_entry *e = NULL;
	pj_status r;

	*out = NULL;
	if (issuer == NULL || issuer->name == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "no issuer");
	if ((r = ks_entry_find(issuer, &e, err)) != PJ_OK)
		return r;
	*out = e;
	if (issuer->jwks_file != NULL) {
		if (force)
			e->have_stat = false;
		return ks_file_load(e, issuer, log, err);
	}
	if (issuer->jwks_uri == NULL && issuer->issuer == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "issuer %s: no key source", issuer->name);
	/* The common case, fresh keys that know the kid, answered before any path or system call is made. */
	if (!force && e->cur != NULL && now < e->fresh_until &&
	    (kid == NULL || jwk_set_has_kid(e->cur->set, kid)))
		return PJ_OK;
	ks_ctx_init(&c, cfg, issuer, e, now, log);
	return ks_remote_load(&c, kid, force, err);
}

pj_status keystore_get(const struct pj_config *cfg, const struct pj_issuer *issuer, const char *kid,
                       time_t now, const struct pj_log *log, const struct jwk_set **set,
                       struct keystore_ref **ref, struct pj_error *err)
{
	struct ks_entry *e = NULL;
	pj_status r;

	*set = NULL;
	*ref = NULL;
	pthread_mutex_lock(&ks_lock);
	if ((r = ks_load_locked(cfg, issuer, kid, now, log, false, &e, err)) != PJ_OK)
		goto out;
	e->cur->refs++;
	*ref = e->cur;
	*set = e->cur->set;
out:
	pthread_mutex_unlock(&ks_lock);
	return r;
}

pj_status keystore_refresh(const struct pj_config *cfg, const struct pj_issuer *issuer, time_t now,
                           const struct pj_log *log, struct pj_error *err)
{
	struct ks_entry *e = NULL;
	pj_status r;

	pthread_mutex_lock(&ks_lock);
	r = ks_load_locked(cfg, issuer, NULL, now, log, true, &e, err);
	pthread_mutex_unlock(&ks_lock);
	return r;
}

static char *ks_strdup_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* Status: the same reads as a login (file, cache file) but no fetch; ks_lock held. */
static pj_status ks_info_locked(const struct pj_config *cfg, const struct pj_issuer *issuer, time_t now,
                                const struct pj_log *log, struct keystore_info *info, struct pj_error *err)
{
	struct ks_entry *e = NULL;
	struct ks_ctx c;
	pj_status r;

	if (issuer == NULL || issuer->name == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "no issuer");
	if ((r = ks_entry_find(issuer, &e, err)) != PJ_OK)
		return r;
	/* out of memory only: no test reaches the refusal without fault injection */
	if ((info->source = strdup(e->source)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (issuer->jwks_file != NULL) {
		r = ks_file_load(e, issuer, log, err);
		info->fetched_at = e->have_stat ? (time_t)e->file.mtime_sec : 0;
		if (r != PJ_OK)
			info->last_error = strdup(err != NULL ? err->reason : "unreadable");
	} else {
		ks_ctx_init(&c, cfg, issuer, e, now, log);
		ks_disk_adopt(&c);
		r = ks_serve(&c, true, err);
		info->url = ks_strdup_or_null(e->url);
		info->fetched_at = e->fetched_at;
		info->fresh_until = e->fresh_until;
		info->last_attempt = e->last_attempt;
		info->last_error = ks_strdup_or_null(e->last_error);
	}
	if (e->cur != NULL && (issuer->jwks_file == NULL || r == PJ_OK)) {
		e->cur->refs++;
		info->ref = e->cur;
		info->set = e->cur->set;
		/* status shows every key's verdict, OpenSSL's included (it fails only when out of memory: no
		 * test reaches the refusal without fault injection) */
		if (jwk_set_build_all(info->set) != PJ_OK && r == PJ_OK)
			r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	return r;
}

pj_status keystore_info_get(const struct pj_config *cfg, const struct pj_issuer *issuer, time_t now,
                            const struct pj_log *log, struct keystore_info *info, struct pj_error *err)
{
	pj_status r;

	memset(info, 0, sizeof(*info));
	pthread_mutex_lock(&ks_lock);
	r = ks_info_locked(cfg, issuer, now, log, info, err);
	pthread_mutex_unlock(&ks_lock);
	return r;
}

void keystore_info_free(struct keystore_info *info)
{
	if (info == NULL)
		return;
	keystore_release(info->ref);
	free(info->source);
	free(info->url);
	free(info->last_error);
	memset(info, 0, sizeof(*info));
}

void keystore_release(struct keystore_ref *ref)
{
	if (ref == NULL)
		return;
	pthread_mutex_lock(&ks_lock);
	ks_ref_drop_locked(ref);
	pthread_mutex_unlock(&ks_lock);
}

void keystore_flush(void)
{
	struct ks_entry *e, *next;

	pthread_mutex_lock(&ks_lock);
	for (e = ks_entries; e != NULL; e = next) {
		next = e->next;
		ks_ref_drop_locked(e->cur);
		free(e->name);
		free(e->source);
		free(e->jwks_text);
		free(e->url);
		free(e);
	}
	ks_entries = NULL;
	pthread_mutex_unlock(&ks_lock);
}
