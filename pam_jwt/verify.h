/* verify.h: the whole verification path, token to identity; the PAM module and `pam-jwt verify` share it. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_VERIFY_H
#define PAM_JWT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

#include "config_file.h"
#include "error.h"
#include "identity.h"
#include "jws.h"
#include "log.h"

/* Verifies token (len bytes) and maps it to a user: JWS parse, issuer lookup by iss, key lookup in that
 * issuer's JWKS, signature, claims, username and groups. pam_user NULL means "any user" (pam-jwt verify
 * without --user); otherwise the username must equal it. now: the time to check claims against.
 * Returns PJ_OK only when everything passed; the error class says how to answer PAM. */
pj_status pj_verify(const struct pj_config *cfg, const struct pj_log *log, const char *token, size_t len,
                    const char *pam_user, time_t now, struct pj_identity *id, struct pj_error *err);

/* The token part of pj_verify alone: JWS parse, issuer, key lookup, signature, claims; on success
 * id->claims holds the payload. No username or account checks (verified stays false). */
pj_status pj_verify_token(const struct pj_config *cfg, const struct pj_log *log, const char *token,
                          size_t len, time_t now, struct pj_identity *id, struct pj_error *err);

/* The signature step alone (pktoken.c verifies a PK Token's OP signature through it): jws->alg must be in
 * the issuer's algorithms, the key is the issuer's (keystore.h) with the token's kid. */
pj_status pj_verify_signature(const struct pj_config *cfg, const struct pj_log *log,
                              const struct jws_token *jws, const struct pj_issuer *issuer, time_t now,
                              struct pj_error *err);

/* The [issuer] section named by the (not yet verified) iss claim of payload: only its keys may verify the
 * token. Refusals: PJ_ERR_TOKEN (no iss, not a string, not a configured issuer). */
pj_status pj_find_issuer(const struct pj_config *cfg, json_object *payload, const struct pj_issuer **out,
                         struct pj_error *err);

/* Records alg, kid, iss and sub as jws states them (whatever of it was parsed), into id for the log line.
 * PJ_ERR_NOMEM when out of memory. */
pj_status pj_note_claimed(const struct jws_token *jws, struct pj_identity *id);

/* The identity step on id->claims (verified) and id->issuer: username (must equal pam_user unless NULL,
 * not root nor a system account) and groups. */
pj_status pj_map_identity(struct pj_identity *id, const char *pam_user, struct pj_error *err);

/* Logs the outcome in one line: "accepted" or "refused: REASON", with issuer, kid, alg, sub, user. */
void pj_log_outcome(const struct pj_log *log, const struct pj_identity *id, pj_status status,
                    const struct pj_error *err, const char *pam_user);

#endif
