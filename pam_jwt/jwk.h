/* jwk.h: a JSON Web Key Set parsed once into OpenSSL keys, and key selection by alg and kid. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWK_H
#define PAM_JWT_JWK_H

#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "error.h"
#include "jws_alg.h"

#define JWKS_MAX_KEYS    256
#define JWK_RSA_MIN_BITS 2048
#define JWK_RSA_MAX_BITS 16384

struct jwk {
	char *kid;             /* NULL when the key has none */
	char *kty;             /* as published ("RSA", "EC", "OKP", "oct", ...) */
	char *alg;             /* JWK "alg", NULL when absent */
	char *crv;             /* JWK "crv", NULL when absent */
	int bits;              /* RSA modulus bits, EC/OKP curve bits; 0 when unknown */
	bool usable;           /* false: kept for status output only, never selected (or still pending) */
	bool pending;          /* in a set: passed every check but OpenSSL's, EVP_PKEY not built yet */
	char skip_reason[128]; /* why it is not usable */
	EVP_PKEY *pkey;        /* NULL when not usable */
	unsigned char *raw;    /* pending: the checked public key material (RSA n||e, EC point, OKP x) */
	size_t raw_len, raw_split;
};

/* A key set is parsed once and shared between threads (keystore.c, refcounted). Each key's EVP_PKEY is built
 * when a token first selects it (0.1-0.2 ms each in a fresh process: a login needs one), under lock. */
struct jwk_set {
	struct jwk *keys;
	size_t n_keys;
	pthread_mutex_t lock; /* held to build a pending key and to read the keys' usable/pkey state */
};

/* Parses a JWKS document ({"keys":[...]}) with json_strict. Entries that cannot be used (unknown kty,
 * unsupported curve, RSA under 2048 bits, use other than "sig", key_ops without "verify", bad or missing
 * members, a kid that appears twice) are kept with usable = false and a skip_reason; they are not fatal.
 * A document that is not a JSON object with a "keys" array, or more than JWKS_MAX_KEYS keys: PJ_ERR_TOKEN
 * (the caller reports it as a bad key set). */
pj_status jwk_set_parse(const char *json, size_t len, struct jwk_set **out, struct pj_error *err);
void jwk_set_free(struct jwk_set *set);

/* jwk_set_parse checks every entry but leaves the usable ones pending: the EVP_PKEY (and OpenSSL's own
 * checks, such as an EC point on its curve) comes when jwk_set_select or jwk_set_has_kid first needs that
 * key, and a key OpenSSL refuses then becomes unusable with the same reason as if parsed eagerly. Direct
 * readers of keys[i].usable (status output) call jwk_set_build_all first. Only PJ_ERR_NOMEM fails. */
pj_status jwk_set_build_all(const struct jwk_set *set);

/* Whether the set has at least one usable key, building pending keys in order until one is. */
pj_status jwk_set_any_usable(const struct jwk_set *set, bool *any);

/* Picks the key that verifies a token with this alg and kid (kid may be NULL). With a kid: the usable key
 * with that kid, which must fit alg. Without: the one usable key that fits alg; none or several: refused.
 * A key fits alg when kty and curve match, RSA has >= 2048 bits, and its "alg", when present, equals alg.
 * Not found: PJ_ERR_TOKEN with a reason. *out points into set. */
pj_status jwk_set_select(const struct jwk_set *set, const struct jws_alg *alg, const char *kid,
                         const struct jwk **out, struct pj_error *err);

/* Fills key from one JWK object (as for a JWKS entry: private members, use, key_ops, kty, sizes); an
 * unusable key has usable = false and a skip_reason. Only allocation failure is an error. jwk_clear frees
 * what it filled. */
pj_status jwk_parse_one(json_object *obj, struct jwk *key);

/* The first member of obj that only a private RSA, EC or OKP JWK carries ("d", "p", ...), or NULL. */
const char *jwk_private_member(json_object *obj);
void jwk_clear(struct jwk *key);

/* True when the set holds a usable key with this kid (for deciding whether a refresh could help). */
bool jwk_set_has_kid(const struct jwk_set *set, const char *kid);

/* True when key fits alg (see jwk_set_select); otherwise writes why into why (may be NULL). */
bool jwk_fits_alg(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen);

#endif
