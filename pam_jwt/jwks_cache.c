/* jwks_cache.c: the per-issuer cache file and refresh lock under cache_dir (see jwks_cache.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json_strict.h"
#include "jwks_cache.h"
#include "trusted_file.h"

#define JWKS_CACHE_VERSION 1
#define JWKS_CACHE_DEPTH   4
#define JWKS_LOCK_POLL_MS  10

void jwks_cache_clear(struct jwks_cache *c)
{
	if (c == NULL)
		return;
	free(c->source);
	free(c->url);
	free(c->jwks);
	free(c->last_error);
	memset(c, 0, sizeof(*c));
}

static bool cache_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > JWKS_CACHE_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	return true;
}

pj_status jwks_cache_path(const char *dir, const char *name, const char *suffix, char *buf, size_t buflen,
                          struct pj_error *err)
{
	int n;

	if (!cache_name_ok(name))
		return pj_fail(err, PJ_ERR_CONFIG, "issuer name \"%s\" cannot name a cache file", name);
	n = snprintf(buf, buflen, "%s/%s.%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= buflen)
		return pj_fail(err, PJ_ERR_CONFIG, "cache path under %s too long", dir);
	return PJ_OK;
}

/* The directory part of path, checked like every directory that holds trust. */
static pj_status cache_dir_check(const char *path, struct pj_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	pj_status r;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if (dir == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	r = trusted_dir_check(dir, err);
	free(dir);
	return r;
}

static pj_status dup_member(json_object *doc, const char *key, bool required, char **out, size_t *outlen,
                            const char *path, struct pj_error *err)
{
	const char *s;
	size_t len;

	switch (json_get_string(doc, key, &s, &len)) {
	case JSON_GET_OK: break;
	case JSON_GET_ABSENT:
		if (!required)
			return PJ_OK;
		/* fall through */
	default: return pj_fail(err, PJ_ERR_NO_KEYS, "cache file %s: bad or missing \"%s\"", path, key);
	}
	if ((*out = malloc(len + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	if (outlen != NULL)
		*outlen = len;
	return PJ_OK;
}

static pj_status int_member(json_object *doc, const char *key, bool required, int64_t *out, const char *path,
                            struct pj_error *err)
{
	switch (json_get_int64(doc, key, out)) {
	case JSON_GET_OK:
		return *out >= 0 ? PJ_OK
		                 : pj_fail(err, PJ_ERR_NO_KEYS, "cache file %s: bad \"%s\"", path, key);
	case JSON_GET_ABSENT:
		if (!required)
			return PJ_OK;
		/* fall through */
	default: return pj_fail(err, PJ_ERR_NO_KEYS, "cache file %s: bad or missing \"%s\"", path, key);
	}
}

static pj_status cache_decode(json_object *doc, const char *path, struct jwks_cache *c, struct pj_error *err)
{
	int64_t version = 0;
	pj_status r;

	if ((r = int_member(doc, "version", true, &version, path, err)) != PJ_OK)
		return r;
	if (version != JWKS_CACHE_VERSION)
		return pj_fail(err, PJ_ERR_NO_KEYS, "cache file %s: unknown version", path);
	if ((r = dup_member(doc, "source", true, &c->source, NULL, path, err)) != PJ_OK ||
	    (r = int_member(doc, "last_attempt", true, &c->last_attempt, path, err)) != PJ_OK ||
	    (r = dup_member(doc, "last_error", false, &c->last_error, NULL, path, err)) != PJ_OK ||
	    (r = dup_member(doc, "jwks", false, &c->jwks, &c->jwks_len, path, err)) != PJ_OK)
		return r;
	if (c->jwks == NULL)
		return PJ_OK;
	/* a key set is only meaningful with where and when it was fetched */
	if ((r = dup_member(doc, "url", true, &c->url, NULL, path, err)) != PJ_OK ||
	    (r = int_member(doc, "fetched_at", true, &c->fetched_at, path, err)) != PJ_OK ||
	    (r = int_member(doc, "fresh_until", true, &c->fresh_until, path, err)) != PJ_OK)
		return r;
	return PJ_OK;
}

pj_status jwks_cache_read(const char *path, size_t max_size, struct jwks_cache *c, bool *missing,
                          struct pj_error *err)
{
	struct pj_error ferr;
	json_object *doc = NULL;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	pj_status r;

	memset(c, 0, sizeof(*c));
	*missing = false;
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		*missing = true;
		return pj_fail(err, PJ_ERR_NO_KEYS, "cache file %s: missing", path);
	}
	pj_error_clear(&ferr);
	if ((r = cache_dir_check(path, &ferr)) != PJ_OK ||
	    (r = trusted_file_read(path, max_size, &text, &len, &ferr)) != PJ_OK) {
		r = pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "cache file refused: %s",
		            ferr.reason);
		goto out;
	}
	if ((r = json_strict_parse_object(text, len, JWKS_CACHE_DEPTH, &doc, &ferr)) != PJ_OK) {
		r = pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_NO_KEYS, "cache file %s: %s", path,
		            ferr.reason);
		goto out;
	}
	r = cache_decode(doc, path, c, err);
out:
	if (r != PJ_OK)
		jwks_cache_clear(c);
	if (doc != NULL)
		json_object_put(doc);
	free(text);
	return r;
}

static int add_string(json_object *doc, const char *key, const char *s, size_t len)
{
	json_object *v;

	if (s == NULL)
		return 0;
	if ((v = json_object_new_string_len(s, (int)len)) == NULL)
		return -1;
	return json_object_object_add(doc, key, v);
}

static int add_int(json_object *doc, const char *key, int64_t n)
{
	json_object *v = json_object_new_int64(n);

	return v == NULL ? -1 : json_object_object_add(doc, key, v);
}

static json_object *cache_encode(const struct jwks_cache *c)
{
	json_object *doc = json_object_new_object();

	if (doc == NULL)
		return NULL;
	if (add_int(doc, "version", JWKS_CACHE_VERSION) != 0 ||
	    add_string(doc, "source", c->source, c->source ? strlen(c->source) : 0) != 0 ||
	    add_int(doc, "last_attempt", c->last_attempt) != 0 ||
	    add_string(doc, "last_error", c->last_error, c->last_error ? strlen(c->last_error) : 0) != 0)
		goto fail;
	if (c->jwks != NULL && (add_string(doc, "url", c->url, c->url ? strlen(c->url) : 0) != 0 ||
	                        add_int(doc, "fetched_at", c->fetched_at) != 0 ||
	                        add_int(doc, "fresh_until", c->fresh_until) != 0 ||
	                        add_string(doc, "jwks", c->jwks, c->jwks_len) != 0))
		goto fail;
	return doc;
fail:
	json_object_put(doc);
	return NULL;
}

static bool same_string(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* Whether the record read back (b) is the one written (a). */
static bool same_record(const struct jwks_cache *a, const struct jwks_cache *b)
{
	if (!same_string(a->source, b->source) || a->last_attempt != b->last_attempt ||
	    !same_string(a->last_error, b->last_error) || (a->jwks == NULL) != (b->jwks == NULL))
		return false;
	return a->jwks == NULL || (a->jwks_len == b->jwks_len && memcmp(a->jwks, b->jwks, a->jwks_len) == 0 &&
	                           same_string(a->url, b->url) && a->fetched_at == b->fetched_at &&
	                           a->fresh_until == b->fresh_until);
}

/* json-c drops what it cannot allocate while printing (a string comes out empty or cut short) without
 * an error: the text is read back and compared with the record before it replaces the cache file, which
 * would otherwise lose the keys for a passing allocation failure. */
static pj_status check_encoded(const char *path, const char *text, size_t len, const struct jwks_cache *c,
                               struct pj_error *err)
{
	struct jwks_cache back;
	struct pj_error ferr;
	json_object *doc = NULL;
	pj_status r;

	memset(&back, 0, sizeof(back));
	if ((r = json_strict_parse_object(text, len, JWKS_CACHE_DEPTH, &doc, &ferr)) == PJ_OK)
		r = cache_decode(doc, path, &back, &ferr);
	if (r == PJ_OK && !same_record(c, &back))
		r = PJ_ERR_NOMEM;
	json_object_put(doc);
	jwks_cache_clear(&back);
	return r == PJ_OK ? PJ_OK
	                  : pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_SYSTEM,
	                            "cache file %s: the text made is not the record (out of memory?)", path);
}

pj_status jwks_cache_write(const char *path, const struct jwks_cache *c, struct pj_error *err)
{
	json_object *doc = NULL;
	const char *text;
	size_t len = 0;
	pj_status r;

	if (c->source == NULL || (c->jwks != NULL && c->url == NULL) || c->jwks_len > INT32_MAX)
		return pj_fail(err, PJ_ERR_SYSTEM, "cache file %s: incomplete record", path);
	if ((r = cache_dir_check(path, err)) != PJ_OK)
		return r;
	if ((doc = cache_encode(c)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if ((text = json_object_to_json_string_length(
	         doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len)) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = check_encoded(path, text, len, c, err)) == PJ_OK)
		r = atomic_write_file(path, text, len, 0644, err);
out:
	json_object_put(doc);
	return r;
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

pj_status jwks_cache_lock(const char *path, long wait_ms, int *fd, struct pj_error *err)
{
	const struct timespec poll = {0, JWKS_LOCK_POLL_MS * 1000000L};
	struct timespec start;
	int lfd;
	pj_status r;

	*fd = -1;
	if ((r = cache_dir_check(path, err)) != PJ_OK)
		return r == PJ_ERR_SYSTEM ? pj_fail(err, PJ_ERR_CONFIG, "%s", "cache directory not usable")
		                          : r;
	if ((lfd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return pj_fail(err, PJ_ERR_CONFIG, "lock file %s: %s", path, strerror(errno));
	if (trusted_file_check_fd(lfd, path, err) != PJ_OK) {
		close(lfd);
		return PJ_ERR_CONFIG;
	}
	/* bounded: a process stuck in a fetch must not hold every login hostage */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (flock(lfd, LOCK_EX | LOCK_NB) == -1) {
		int e = errno;

		if ((e != EWOULDBLOCK && e != EINTR) || elapsed_ms(&start) >= wait_ms) {
			r = pj_fail(err, PJ_ERR_SYSTEM, "lock file %s: %s", path,
			            e == EWOULDBLOCK || e == EINTR ? "held by another process" : strerror(e));
			close(lfd);
			return r;
		}
		nanosleep(&poll, NULL);
	}
	*fd = lfd;
	return PJ_OK;
}

void jwks_cache_unlock(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}
