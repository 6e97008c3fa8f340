/* jws_sign.h: signing a compact JWS and writing a public JWK (client side: DPoP proofs; and the tests). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWS_SIGN_H
#define PAM_JWT_JWS_SIGN_H

#include <stddef.h>

#include <openssl/evp.h>

#include "jws_alg.h"

/* The public members of pkey's JWK, without braces: "kty":"RSA","n":..,"e":.. / "kty":"EC","crv":..,"x":..,
 * "y":.. / "kty":"OKP","crv":"Ed25519","x":.. . Never a private member. malloc'd; NULL on error. */
char *jwk_public_members(EVP_PKEY *pkey);

/* The raw JWS signature over data with pkey as alg wants it (PKCS#1 v1.5, PSS with salt = digest length,
 * ECDSA as fixed-size r||s, Ed25519). malloc'd, *siglen its length; NULL on error. */
unsigned char *jws_sign_bytes(enum jws_alg_id alg, EVP_PKEY *pkey, const unsigned char *data, size_t len,
                              size_t *siglen);

/* "B64(header_json).B64(payload_json).B64(sig)", the texts encoded exactly as given. malloc'd; NULL on
 * error. */
char *jws_sign_compact(enum jws_alg_id alg, EVP_PKEY *pkey, const char *header_json,
                       const char *payload_json);

#endif
