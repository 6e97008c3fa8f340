/* jwks_cache.h: the per-issuer cache file (cache_dir/NAME.json) and refresh lock (cache_dir/NAME.lock). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWKS_CACHE_H
#define PAM_JWT_JWKS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define JWKS_CACHE_NAME_MAX  128
#define JWKS_CACHE_ERROR_MAX 512

/* What a cache file holds. jwks is NULL when no fetch has succeeded yet (the file then only records the
 * failed attempt, which still rate-limits the next one). */
struct jwks_cache {
	char *source; /* the configured source it belongs to ("uri:URL" / "discovery:ISSUER") */
	char *url;    /* where the JWKS was fetched from; NULL with jwks */
	char *jwks;   /* the JWKS text as received */
	size_t jwks_len;
	int64_t fetched_at; /* 0 when never */
	int64_t fresh_until;
	int64_t last_attempt;
	char *last_error; /* NULL when the last attempt succeeded */
};

void jwks_cache_clear(struct jwks_cache *c);

/* dir/NAME.SUFFIX into buf. Section names with anything but [A-Za-z0-9_.-], empty, starting with '.' or
 * longer than JWKS_CACHE_NAME_MAX: PJ_ERR_CONFIG (the caller then keeps keys in memory only). */
pj_status jwks_cache_path(const char *dir, const char *name, const char *suffix, char *buf, size_t buflen,
                          struct pj_error *err);

/* Reads a cache file through trusted_file_read (regular, root-owned, not group/other-writable, at most
 * max_size bytes) after checking its directory with trusted_dir_check, and parses it with json_strict.
 * *missing is set when the file does not exist (then PJ_ERR_NO_KEYS without a log-worthy reason).
 * Anything refused: PJ_ERR_NO_KEYS with a reason. */
pj_status jwks_cache_read(const char *path, size_t max_size, struct jwks_cache *c, bool *missing,
                          struct pj_error *err);

/* Serialises c and writes it with atomic_write_file, mode 0644, after checking the directory. */
pj_status jwks_cache_write(const char *path, const struct jwks_cache *c, struct pj_error *err);

/* Takes an exclusive flock on path (created 0600 with O_NOFOLLOW), waiting at most wait_ms.
 * *fd receives the lock's descriptor. Held by another process past wait_ms: PJ_ERR_SYSTEM; the directory or
 * the file untrusted or unusable: PJ_ERR_CONFIG. */
pj_status jwks_cache_lock(const char *path, long wait_ms, int *fd, struct pj_error *err);
void jwks_cache_unlock(int fd);

#endif
