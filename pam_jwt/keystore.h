/* keystore.h: the issuer's keys for a login: parsed once per process and kept (later: fetched and cached). */
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
pj_status keystore_get(const struct pj_config *cfg, const struct pj_issuer *issuer, const char *kid, time_t now,
		       const struct pj_log *log, const struct jwk_set **set, struct keystore_ref **ref,
		       struct pj_error *err);
void keystore_release(struct keystore_ref *ref);

/* Drops every cached set (tests; a config reload). */
void keystore_flush(void);

#endif
