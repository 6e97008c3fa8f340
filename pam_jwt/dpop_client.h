/* dpop_client.h: the client side of DPoP: a key pair kept beside the token, and proofs made with it. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_DPOP_CLIENT_H
#define PAM_JWT_DPOP_CLIENT_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "error.h"

/* A new key pair: alg "ES256" (P-256) or "EdDSA" (Ed25519). Refusals: PJ_ERR_CONFIG for another alg. */
pj_status dpop_key_generate(const char *alg, EVP_PKEY **out, struct pj_error *err);

/* Writes the private key as PKCS#8 PEM, mode 0600, atomically (atomic_write_file: a temp file created
 * O_EXCL|O_NOFOLLOW, fsync'd, renamed over path). */
pj_status dpop_key_save(const char *path, EVP_PKEY *key, struct pj_error *err);

/* Reads a private key written by dpop_key_save: a regular file (no symlink), owned by this user, with no
 * group or other permission; ES256 or EdDSA only. */
pj_status dpop_key_load(const char *path, EVP_PKEY **out, struct pj_error *err);

/* A proof signed with key: header {"typ":"dpop+jwt","alg":ES256|EdDSA,"jwk":public}, claims jti (random),
 * htm, htu, iat = now, and when given nonce and ath = base64url(SHA-256(token)). malloc'd into *out. */
pj_status dpop_proof_make(EVP_PKEY *key, const char *htm, const char *htu, const char *nonce,
                          const char *token, size_t token_len, time_t now, char **out, struct pj_error *err);

#endif
