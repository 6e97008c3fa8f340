/* jws_sig.h: verifying a JWS signature with an OpenSSL EVP key. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWS_SIG_H
#define PAM_JWT_JWS_SIG_H

#include <stddef.h>

#include <openssl/evp.h>

#include "error.h"
#include "jws_alg.h"

/* Verifies sig over data with pkey as alg requires: PKCS#1 v1.5; PSS with MGF1 of the same hash and
 * salt length = digest length (set explicitly: OpenSSL 3 would otherwise auto-detect it); ECDSA with a
 * raw r||s signature of exactly alg->sig_len bytes (DER or any other length refused, r or s zero refused);
 * Ed25519. The caller has already checked that pkey fits alg; this checks the key type again.
 * PJ_OK: valid. PJ_ERR_TOKEN: invalid, with a reason. PJ_ERR_NOMEM on allocation failure. */
pj_status jws_sig_verify(const struct jws_alg *alg, EVP_PKEY *pkey, const unsigned char *data, size_t datalen,
                         const unsigned char *sig, size_t siglen, struct pj_error *err);

/* As jws_sig_verify, for a key jwk.c built from a JWK whose crv is crv (struct jwk's; NULL: as
 * jws_sig_verify): jwk.c makes an EC key on crv's curve and nothing else, so an ECDSA key's curve is checked
 * by comparing crv with alg's instead of reading the group back from OpenSSL (3.4k of the ~40k instructions
 * pj_verify_token adds to an ES256 EVP_DigestVerify). */
pj_status jws_sig_verify_crv(const struct jws_alg *alg, EVP_PKEY *pkey, const char *crv,
                             const unsigned char *data, size_t datalen, const unsigned char *sig,
                             size_t siglen, struct pj_error *err);

#endif
