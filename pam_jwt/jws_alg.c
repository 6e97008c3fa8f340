/* jws_alg.c: the fixed table of JWS signature algorithms we accept; anything not listed (none, HS*) is
 * unknown. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <string.h>

#include "jws_alg.h"

/* Indexed by enum jws_alg_id. There is deliberately no HMAC and no "none" entry. */
static const struct jws_alg jws_algs[JWS_ALG_COUNT] = {
    [JWS_RS256] = {JWS_RS256, "RS256", JWS_SIG_RSA_PKCS1, "SHA256", 32, "RSA", NULL, NULL, 0},
    [JWS_RS384] = {JWS_RS384, "RS384", JWS_SIG_RSA_PKCS1, "SHA384", 48, "RSA", NULL, NULL, 0},
    [JWS_RS512] = {JWS_RS512, "RS512", JWS_SIG_RSA_PKCS1, "SHA512", 64, "RSA", NULL, NULL, 0},
    [JWS_PS256] = {JWS_PS256, "PS256", JWS_SIG_RSA_PSS, "SHA256", 32, "RSA", NULL, NULL, 0},
    [JWS_PS384] = {JWS_PS384, "PS384", JWS_SIG_RSA_PSS, "SHA384", 48, "RSA", NULL, NULL, 0},
    [JWS_PS512] = {JWS_PS512, "PS512", JWS_SIG_RSA_PSS, "SHA512", 64, "RSA", NULL, NULL, 0},
    [JWS_ES256] = {JWS_ES256, "ES256", JWS_SIG_ECDSA, "SHA256", 32, "EC", "P-256", "prime256v1", 64},
    [JWS_ES384] = {JWS_ES384, "ES384", JWS_SIG_ECDSA, "SHA384", 48, "EC", "P-384", "secp384r1", 96},
    [JWS_ES512] = {JWS_ES512, "ES512", JWS_SIG_ECDSA, "SHA512", 64, "EC", "P-521", "secp521r1", 132},
    [JWS_EDDSA] = {JWS_EDDSA, "EdDSA", JWS_SIG_EDDSA, NULL, 0, "OKP", "Ed25519", NULL, 64},
};

const struct jws_alg *jws_alg_by_name(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < JWS_ALG_COUNT; i++) {
		if (strcmp(jws_algs[i].name, name) == 0)
			return &jws_algs[i];
	}
	return NULL;
}

const struct jws_alg *jws_alg_by_id(enum jws_alg_id id)
{
	if ((unsigned)id >= JWS_ALG_COUNT)
		return NULL;
	return &jws_algs[id];
}
