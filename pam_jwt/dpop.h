/* dpop.h: DPoP (RFC 9449) for logins: a token bound to a key (cnf.jkt) comes with a proof for this login. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_DPOP_H
#define PAM_JWT_DPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <json-c/json.h>

#include "config_file.h"
#include "error.h"

struct pj_identity;

/*
 * A login has no HTTP request, so pam_jwt defines the request a proof names:
 *   htm = "PAM"; htu = "pam://HOST/SERVICE", HOST this host's short or fully qualified name (or one of
 *   dpop_host_names; compared ignoring case), SERVICE the PAM service whose [service] rules apply.
 * The module issues a nonce for each conversation (16 random bytes, base64url) and puts it in its prompt:
 *   "[DPoP nonce=NONCE service=SERVICE] JWT: "
 * The answer is the token, '~' and the proof ("TOKEN~PROOF"; '~' is in neither, and the continuation
 * protocol carries it), so long answers pass OpenSSH's and sudo's limits as plain tokens do.
 * A proof is accepted when: it is a compact JWS under the same strict rules as tokens, typ "dpop+jwt", alg
 * one of the asymmetric algorithms (none and HS* never), a public "jwk" in its header (no private member,
 * no kty oct) that fits alg and verifies the signature, whose RFC 7638 SHA-256 thumbprint equals the
 * token's cnf.jkt; claims htm and htu as above, iat within dpop_proof_max_age of now, jti a string,
 * ath = base64url(SHA-256(token)), nonce the one issued for this conversation, issued at most
 * dpop_nonce_lifetime ago. The nonce lives in the memory of the one pam_authenticate call that issued and
 * checks it, so it is single-use and bound to this host, service and user by construction.
 */
#define PJ_DPOP_HTM            "PAM"
#define PJ_DPOP_SEP            '~'
#define PJ_DPOP_PROOF_MAX      8192
#define PJ_DPOP_NONCE_LEN      22 /* characters of a nonce: 16 bytes in base64url */
#define PJ_DPOP_PROMPT_PREFIX  "[DPoP nonce="
#define PJ_DPOP_JTI_MAX        256
#define PJ_DPOP_THUMBPRINT_LEN 43 /* SHA-256 in base64url */

/* What a proof must name, besides the token. */
struct pj_dpop_expect {
	const char *service; /* the PAM service htu must name */
	const char *nonce;   /* the nonce issued; NULL: none was (refused), or by_hand without --nonce */
	time_t nonce_issued;
	time_t now;
	bool by_hand; /* pam-jwt verify --dpop: a missing nonce means "not checked" */
};

/* base64url(SHA-256(data)) into out (at least PJ_DPOP_THUMBPRINT_LEN + 1 bytes): ath, thumbprints. */
pj_status dpop_sha256_b64(const void *data, size_t len, char *out, size_t outlen, struct pj_error *err);

/* A fresh nonce (getrandom). */
pj_status dpop_nonce_new(char out[PJ_DPOP_NONCE_LEN + 1], struct pj_error *err);

/* Splits an answer "TOKEN~PROOF" in place: *proof points after the '~', NULL when there is none. */
void dpop_split_answer(char *answer, char **proof);

/* The RFC 7638 SHA-256 thumbprint of a public JWK (RSA, EC or OKP), base64url, into out (at least
 * PJ_DPOP_THUMBPRINT_LEN + 1 bytes). Refusals: PJ_ERR_TOKEN. */
pj_status dpop_jwk_thumbprint(json_object *jwk, char *out, size_t outlen, struct pj_error *err);

/* Checks proof (len bytes) for token (the bound token, token_len bytes) whose cnf.jkt is jkt, as described
 * above. Refusals: PJ_ERR_TOKEN, every rule with its own reason starting "DPoP proof". */
pj_status dpop_check_proof(const struct pj_config *cfg, const char *proof, size_t len, const char *jkt,
                           const char *token, size_t token_len, const struct pj_dpop_expect *x,
                           struct pj_error *err);

/* The DPoP step of a login, after the token is verified (id->claims): a token with cnf.jkt needs a proof;
 * so does every token when its issuer or the service (svc, may be NULL) has require_dpop (the token must then
 * be bound); a proof with an unbound token, or a cnf that binds to anything but a jkt, is refused. */
pj_status dpop_check_login(const struct pj_config *cfg, const struct pj_service *svc,
                           const struct pj_identity *id, const char *token, size_t token_len,
                           const char *proof, const struct pj_dpop_expect *x, struct pj_error *err);

#endif
