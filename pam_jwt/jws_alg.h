/* jws_alg.h: the supported JWS algorithms, the key each one needs, and the limits tokens and keys share. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWS_ALG_H
#define PAM_JWT_JWS_ALG_H

#include <stddef.h>

enum jws_alg_id {
	JWS_RS256 = 0,
	JWS_RS384,
	JWS_RS512,
	JWS_PS256,
	JWS_PS384,
	JWS_PS512,
	JWS_ES256,
	JWS_ES384,
	JWS_ES512,
	JWS_EDDSA,
	JWS_ALG_COUNT
};

enum jws_sig_kind {
	JWS_SIG_RSA_PKCS1, /* RSASSA-PKCS1-v1_5 */
	JWS_SIG_RSA_PSS,   /* RSASSA-PSS, MGF1 with the same hash, salt length = digest length */
	JWS_SIG_ECDSA,     /* ECDSA, signature as raw r||s of fixed length */
	JWS_SIG_EDDSA,     /* Ed25519 (pure) */
};

struct jws_alg {
	enum jws_alg_id id;
	const char *name; /* as in the JWS "alg" header: "RS256" */
	enum jws_sig_kind kind;
	const char *digest; /* OpenSSL digest name ("SHA256"), NULL for EdDSA */
	size_t digest_len;  /* bytes; PSS salt length */
	const char *kty;    /* JWK kty the key must have: "RSA", "EC", "OKP" */
	const char *crv;    /* JWK crv for EC/OKP ("P-256", "Ed25519"), NULL for RSA */
	const char *group;  /* OpenSSL group name for EC ("prime256v1"), NULL otherwise */
	size_t sig_len;     /* exact signature length for ECDSA (64/96/132) and EdDSA (64), 0 for RSA */
};

/* Bytes in a key id: a token header's "kid" (jws.c) and a JWKS key's (jwk.c) are held to the same bound. */
#define JWK_KID_MAX 256

#define JWS_ALG_BIT(id) (1u << (id))
#define JWS_ALG_ALL     ((1u << JWS_ALG_COUNT) - 1u)

/* The algorithm with exactly this name, or NULL. Never returns anything for "none" or HS*. */
const struct jws_alg *jws_alg_by_name(const char *name);
const struct jws_alg *jws_alg_by_id(enum jws_alg_id id);

#endif
