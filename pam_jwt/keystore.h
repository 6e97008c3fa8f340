/* keystore.h: the issuer's keys for a login: from jwks_file, or fetched by jwks_uri / OIDC discovery. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Kept in memory and under cache_dir, refreshed on expiry or an unknown kid (rate-limited), served stale
 * during outages. */
#ifndef PAM_JWT_KEYSTORE_H
#define PAM_JWT_KEYSTORE_H

#include <time.h>

#include "config_file.h"
#include "error.h"
#include "jwk.h"
#include "log.h"

struct keystore_ref; /* a held reference to a key set; release it when done */

/* Returns the current key set of issuer. kid (may be NULL) is the token's kid: when the set has no key
 * with that kid, the store may refresh the set (rate-limited) before answering. The set stays valid
 * until keystore_release, even if another thread replaces it.
 * No usable source or no keys at all: PJ_ERR_NO_KEYS. */
pj_status keystore_get(const struct pj_config *cfg, const struct pj_issuer *issuer, const char *kid,
                       time_t now, const struct pj_log *log, const struct jwk_set **set,
                       struct keystore_ref **ref, struct pj_error *err);
void keystore_release(struct keystore_ref *ref);

/* What `pam-jwt jwks status` shows about an issuer; gathered without any network access. */
struct keystore_info {
	char *source;        /* "file:PATH", "uri:URL" or "discovery:ISSUER" */
	char *url;           /* where the keys were fetched from; NULL for a file or when never fetched */
	time_t fetched_at;   /* 0: never; for a file its mtime */
	time_t fresh_until;  /* 0 for a file */
	time_t last_attempt; /* 0: never */
	char *last_error;    /* NULL when none */
	const struct jwk_set *set; /* NULL when no keys are held */
	struct keystore_ref *ref;  /* holds set */
};

/* Fills info for issuer (reading jwks_file or the cache file, never the network). Returns PJ_OK when keys
 * would serve a login at now (fresh, or stale within jwks_max_stale), else PJ_ERR_NO_KEYS with a reason;
 * info is filled in both cases and must be freed with keystore_info_free. */
pj_status keystore_info_get(const struct pj_config *cfg, const struct pj_issuer *issuer, time_t now,
                            const struct pj_log *log, struct keystore_info *info, struct pj_error *err);
void keystore_info_free(struct keystore_info *info);

/* Fetches the issuer's keys now, ignoring freshness and jwks_refresh_interval (`pam-jwt jwks refresh`).
 * A jwks_file is just re-read. Returns the fetch's own failure (PJ_ERR_NO_KEYS with a reason), or
 * PJ_ERR_SYSTEM when the cache file (root only) cannot be locked or written: the keys are then fetched into
 * memory only, which serves a login but is not what a refresh is for. */
pj_status keystore_refresh(const struct pj_config *cfg, const struct pj_issuer *issuer, time_t now,
                           const struct pj_log *log, struct pj_error *err);

/* Drops every cached set (tests; a config reload). */
void keystore_flush(void);

#endif
