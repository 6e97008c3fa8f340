/* pktoken.h: verifying an OpenPubkey PK Token (what opkssh puts in its certificates) for one public key. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_PKTOKEN_H
#define PAM_JWT_PKTOKEN_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "config_file.h"
#include "error.h"
#include "identity.h"
#include "log.h"

/* Verifies the compact PK Token pkt (len bytes: at most 2 * max_token_size) and that it speaks for key:
 *   - form: payload:protOP:sigOP:protCIC:sigCIC[:protCOS:sigCOS], optionally followed by "." and a
 *     refreshed ID token of three segments (syntax-checked, never trusted: no policy here uses it);
 *     each protected header is classified by typ (absent, JWT or at+jwt: the OP's; CIC; COS): exactly one
 *     OP and one CIC signature, at most one COS (not checked: pam_jwt has no cosigner);
 *   - the OP's: the ID token protOP.payload.sigOP as a login token's JWS (jws.h), from the [issuer] whose
 *     issuer equals iss and that sets opkssh_client_id; its signature by kid through the issuer's keys
 *     (keystore.h); GQ256 is refused as not supported;
 *   - claims: iss, aud = opkssh_client_id (a string, or an array holding it), sub a non-empty string, nbf
 *     if present, and opkssh_expiration: iat + 12h/24h/48h/1week > now (iat required, not in the future
 *     beyond leeway) or, for oidc, exp + leeway > now;
 *   - the CIC header: typ "CIC", alg ES256, EdDSA or RS256, rz a non-empty string, upk a public JWK whose
 *     alg equals alg, no crit; its signature over protCIC.payload by upk;
 *   - the commitment: nonce = base64url(SHA3-256(the CIC header as Go's json.Marshal writes it: json_go.h));
 *   - upk is key (EVP_PKEY_eq).
 * On success id holds issuer, iss, sub, kid, alg, claims (verified) and exp (when the token stops being
 * good under the policy); the username is not mapped yet (pj_map_identity). On refusal id holds what was
 * seen, for the log. Refusals: PJ_ERR_TOKEN with a reason; PJ_ERR_NO_KEYS, PJ_ERR_NOMEM as for tokens. */
pj_status pktoken_verify(const struct pj_config *cfg, const struct pj_log *log, const char *pkt, size_t len,
                         EVP_PKEY *key, time_t now, struct pj_identity *id, struct pj_error *err);

#endif
