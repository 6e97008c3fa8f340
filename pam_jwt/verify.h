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
#include "log.h"

/* What is known about a token; filled in as verification goes, so a refusal can be logged with the
 * issuer, kid, alg and subject that were seen (unverified until verified is true). */
struct pj_identity {
	bool verified;
	const struct pj_issuer *issuer; /* config section, NULL until matched */
	char *iss;
	char *kid;
	char alg[16];
	char *sub;
	char *username;
	char **groups; /* NULL-terminated */
	size_t n_groups;
	int64_t exp;
	json_object *claims; /* the payload (a reference) once signature and claims passed, else NULL */
};

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

/* Logs the outcome in one line: "accepted" or "refused: REASON", with issuer, kid, alg, sub, user. */
void pj_log_outcome(const struct pj_log *log, const struct pj_identity *id, pj_status status,
                    const struct pj_error *err, const char *pam_user);

void pj_identity_free(struct pj_identity *id);

#endif
