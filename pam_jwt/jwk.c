/* jwk.c: parses a JWKS into OpenSSL 3 public keys, built on first use, and picks a token's key. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "b64url.h"
#include "json_strict.h"
#include "jwk.h"
#include "log.h"
#include "ossl_nomem.h"

#define JWK_RSA_E_MAX_BYTES 8
#define JWK_KID_SHOW        80 /* kid as shown in reasons: escaped and truncated, it comes from outside */

/* Members that only a private JWK carries (RFC 7518 6.2.2, 6.3.2; OKP "d" from RFC 8037). */
static const char *const jwk_private_members[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};

const char *jwk_private_member(json_object *obj)
{
	for (size_t i = 0; i < sizeof(jwk_private_members) / sizeof(jwk_private_members[0]); i++)
		if (json_object_object_get_ex(obj, jwk_private_members[i], NULL))
			return jwk_private_members[i];
	return NULL;
}

/* Marks key unusable with a reason; the first reason recorded is kept. */
__attribute__((format(printf, 2, 3))) static void jwk_skip(struct jwk *key, const char *fmt, ...)
{
	va_list ap;

	EVP_PKEY_free(key->pkey);
	key->pkey = NULL;
	key->pending = false; /* never built: a checked key that turns out unusable (a duplicate kid) */
	if (!key->usable && key->skip_reason[0] != '\0')
		return;
	key->usable = false;
	va_start(ap, fmt);
	vsnprintf(key->skip_reason, sizeof(key->skip_reason), fmt, ap);
	va_end(ap);
}

/* The kid escaped for messages (it is untrusted and ends up in logs). */
static const char *kid_show(const char *kid, char *buf, size_t buflen)
{
	if (kid == NULL)
		return "(none)";
	return pj_escape(buf, buflen, kid, strlen(kid));
}

/* Copies the string member name into *out when present. Returns false (key marked unusable) when the
 * member has another type; PJ_ERR_NOMEM is reported through *st. */
static bool jwk_opt_string(json_object *obj, const char *name, struct jwk *key, char **out, size_t maxlen,
                           pj_status *st)
{
	const char *s;
	size_t len;

	switch (json_get_string(obj, name, &s, &len)) {
	case JSON_GET_ABSENT: return true;
	case JSON_GET_WRONG_TYPE: jwk_skip(key, "\"%s\" is not a string", name); return false;
	case JSON_GET_OK: break;
	}
	if (len > maxlen) {
		jwk_skip(key, "\"%s\" longer than %zu bytes", name, maxlen);
		return false;
	}
	if ((*out = strndup(s, len)) == NULL) {
		*st = PJ_ERR_NOMEM;
		return false;
	}
	return true;
}

/* Decodes the base64url string member name. Missing or malformed members mark key unusable and return
 * PJ_ERR_TOKEN; allocation failure returns PJ_ERR_NOMEM. */
static pj_status jwk_b64_member(json_object *obj, const char *name, struct jwk *key, unsigned char **out,
                                size_t *outlen)
{
	struct pj_error e;
	const char *s;
	size_t len;
	pj_status r;

	switch (json_get_string(obj, name, &s, &len)) {
	case JSON_GET_ABSENT: jwk_skip(key, "no \"%s\"", name); return PJ_ERR_TOKEN;
	case JSON_GET_WRONG_TYPE: jwk_skip(key, "\"%s\" is not a string", name); return PJ_ERR_TOKEN;
	case JSON_GET_OK: break;
	}
	if ((r = b64url_decode(s, len, out, outlen, &e)) == PJ_ERR_NOMEM)
		return r;
	if (r != PJ_OK) {
		jwk_skip(key, "\"%s\" is not valid base64url", name);
		return PJ_ERR_TOKEN;
	}
	if (*outlen == 0) {
		free(*out);
		*out = NULL;
		jwk_skip(key, "\"%s\" is empty", name);
		return PJ_ERR_TOKEN;
	}
	return PJ_OK;
}

/* Bits of an unsigned big-endian integer without leading zero octets. */
static size_t be_bits(const unsigned char *b, size_t len)
{
	size_t bits = (len - 1) * 8;
	unsigned char top = b[0];

	while (top != 0) {
		bits++;
		top >>= 1;
	}
	return bits;
}

/* Builds a key of type name from params (EVP_PKEY_PUBLIC_KEY only: never private material). */
static EVP_PKEY *pkey_fromdata(const char *name, OSSL_PARAM_BLD *bld)
{
	EVP_PKEY_CTX *ctx = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY *pkey = NULL;

	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* Keeps the checked public key material for the build: n||e (split at nlen) for RSA, the point for EC, x
 * for OKP. */
static pj_status jwk_keep(struct jwk *key, const unsigned char *a, size_t alen, const unsigned char *b,
                          size_t blen)
{
	if ((key->raw = malloc(alen + blen)) == NULL)
		return PJ_ERR_NOMEM;
	memcpy(key->raw, a, alen);
	if (blen > 0)
		memcpy(key->raw + alen, b, blen);
	key->raw_len = alen + blen;
	key->raw_split = alen;
	return PJ_OK;
}

/* RFC 7518 6.3.1: n and e, unsigned big-endian without leading zero octets. Checks them and keeps them for
 * jwk_build_rsa. */
static pj_status jwk_prepare_rsa(json_object *obj, struct jwk *key)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0, bits;
	pj_status r;

	if ((r = jwk_b64_member(obj, "n", key, &n, &nlen)) != PJ_OK)
		goto out;
	if ((r = jwk_b64_member(obj, "e", key, &e, &elen)) != PJ_OK)
		goto out;
	r = PJ_ERR_TOKEN;
	if (n[0] == 0) {
		jwk_skip(key, "\"n\" has a leading zero octet");
		goto out;
	}
	if (nlen > JWK_RSA_MAX_BITS / 8 + 1 || (bits = be_bits(n, nlen)) > JWK_RSA_MAX_BITS) {
		jwk_skip(key, "RSA modulus over %d bits", JWK_RSA_MAX_BITS);
		goto out;
	}
	key->bits = (int)bits;
	if (bits < JWK_RSA_MIN_BITS) {
		jwk_skip(key, "RSA modulus of %zu bits, under %d", bits, JWK_RSA_MIN_BITS);
		goto out;
	}
	if ((n[nlen - 1] & 1) == 0) {
		jwk_skip(key, "RSA modulus is even");
		goto out;
	}
	if (e[0] == 0) {
		jwk_skip(key, "\"e\" has a leading zero octet");
		goto out;
	}
	if (elen > JWK_RSA_E_MAX_BYTES) {
		jwk_skip(key, "RSA exponent longer than %d bytes", JWK_RSA_E_MAX_BYTES);
		goto out;
	}
	if ((e[elen - 1] & 1) == 0 || (elen == 1 && e[0] == 1)) {
		jwk_skip(key, "RSA exponent must be odd and greater than 1");
		goto out;
	}
	r = jwk_keep(key, n, nlen, e, elen);
out:
	free(n);
	free(e);
	return r;
}

static pj_status jwk_build_rsa(struct jwk *key)
{
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	pj_status r = PJ_ERR_NOMEM;

	if ((bn_n = BN_bin2bn(key->raw, (int)key->raw_split, NULL)) == NULL ||
	    (bn_e = BN_bin2bn(key->raw + key->raw_split, (int)(key->raw_len - key->raw_split), NULL)) == NULL)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	if ((key->pkey = pkey_fromdata("RSA", bld)) == NULL) {
		if (ossl_nomem())
			goto out;
		jwk_skip(key, "OpenSSL refused the RSA key");
		r = PJ_ERR_TOKEN;
		goto out;
	}
	/* OpenSSL notes a key's size when it builds it; an allocation that failed then leaves 0, and every
	 * signature would be refused for its length while the key lived: built again next time */
	if (EVP_PKEY_get_size(key->pkey) != (key->bits + 7) / 8) {
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
		goto out;
	}
	r = PJ_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

/* The signature algorithm of this kind whose JWK crv is crv (the alg table knows the curves). */
static const struct jws_alg *alg_for_curve(enum jws_sig_kind kind, const char *crv)
{
	const struct jws_alg *a;

	for (int id = 0; id < JWS_ALG_COUNT; id++) {
		a = jws_alg_by_id((enum jws_alg_id)id);
		if (a != NULL && a->kind == kind && a->crv != NULL && strcmp(a->crv, crv) == 0)
			return a;
	}
	return NULL;
}

/* True when OpenSSL's public key check accepts pkey (for EC: the point is not infinity, its coordinates are
 * in range and it is on the curve). The quick check is the whole check for P-256/384/521: their cofactor is
 * 1, so every such point has order n, and the full check's n*Q multiplication (with its blinding, which seeds
 * the DRBG) only costs a cold login about a millisecond per key. */
static bool pkey_public_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx;
	bool good;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL)
		return false;
	good = EVP_PKEY_public_check_quick(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	return good;
}

/* RFC 7518 6.2.1: crv, and x and y each exactly the field size, kept as the uncompressed point 04||x||y. */
static pj_status jwk_prepare_ec(json_object *obj, struct jwk *key)
{
	const struct jws_alg *a;
	unsigned char *x = NULL, *y = NULL, *point = NULL;
	size_t xlen = 0, ylen = 0, flen;
	pj_status r = PJ_ERR_TOKEN;

	if (key->crv == NULL) {
		jwk_skip(key, "EC key without \"crv\"");
		goto out;
	}
	if ((a = alg_for_curve(JWS_SIG_ECDSA, key->crv)) == NULL) {
		jwk_skip(key, "EC curve not supported");
		goto out;
	}
	flen = a->sig_len / 2;
	if ((r = jwk_b64_member(obj, "x", key, &x, &xlen)) != PJ_OK)
		goto out;
	if ((r = jwk_b64_member(obj, "y", key, &y, &ylen)) != PJ_OK)
		goto out;
	r = PJ_ERR_TOKEN;
	if (xlen != flen || ylen != flen) {
		jwk_skip(key, "EC %s \"x\" and \"y\" must be %zu bytes each", key->crv, flen);
		goto out;
	}
	r = PJ_ERR_NOMEM;
	if ((point = malloc(1 + 2 * flen)) == NULL)
		goto out;
	point[0] = 0x04;
	memcpy(point + 1, x, flen);
	memcpy(point + 1 + flen, y, flen);
	r = jwk_keep(key, point, 1 + 2 * flen, NULL, 0);
out:
	free(point);
	free(x);
	free(y);
	return r;
}

/* The point must be on the curve (OpenSSL's public key check), as before any use. */
static pj_status jwk_build_ec(struct jwk *key)
{
	const struct jws_alg *a = alg_for_curve(JWS_SIG_ECDSA, key->crv); /* checked by jwk_prepare_ec */
	OSSL_PARAM_BLD *bld = NULL;
	pj_status r = PJ_ERR_NOMEM;

	if (a == NULL) {
		jwk_skip(key, "EC curve not supported");
		return PJ_ERR_TOKEN;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, a->group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, key->raw, key->raw_len))
		goto out;
	if ((key->pkey = pkey_fromdata("EC", bld)) == NULL || !pkey_public_ok(key->pkey)) {
		EVP_PKEY_free(key->pkey);
		key->pkey = NULL;
		if (ossl_nomem())
			goto out;
		jwk_skip(key, "EC point is not a valid %s public key", key->crv);
		r = PJ_ERR_TOKEN;
		goto out;
	}
	key->bits = EVP_PKEY_get_bits(key->pkey);
	r = PJ_OK;
out:
	OSSL_PARAM_BLD_free(bld);
	return r;
}

/* RFC 8037: OKP with crv Ed25519 and a 32-byte x. X25519 is for key agreement, Ed448 is not supported. */
static pj_status jwk_prepare_okp(json_object *obj, struct jwk *key)
{
	unsigned char *x = NULL;
	size_t xlen = 0;
	pj_status r = PJ_ERR_TOKEN;

	if (key->crv == NULL) {
		jwk_skip(key, "OKP key without \"crv\"");
		goto out;
	}
	if (alg_for_curve(JWS_SIG_EDDSA, key->crv) == NULL || strcmp(key->crv, "Ed25519") != 0) {
		jwk_skip(key, "OKP curve not supported");
		goto out;
	}
	if ((r = jwk_b64_member(obj, "x", key, &x, &xlen)) != PJ_OK)
		goto out;
	r = PJ_ERR_TOKEN;
	if (xlen != 32) {
		jwk_skip(key, "Ed25519 \"x\" must be 32 bytes");
		goto out;
	}
	r = jwk_keep(key, x, xlen, NULL, 0);
out:
	free(x);
	return r;
}

static pj_status jwk_build_okp(struct jwk *key)
{
	if ((key->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key->raw, key->raw_len)) ==
	    NULL) {
		if (ossl_nomem())
			return PJ_ERR_NOMEM;
		jwk_skip(key, "OpenSSL refused the Ed25519 key");
		return PJ_ERR_TOKEN;
	}
	key->bits = EVP_PKEY_get_bits(key->pkey);
	return PJ_OK;
}

static pj_status jwk_build_once(struct jwk *key)
{
	if (!ossl_initialised()) /* the key stays pending, OpenSSL alone */
		return PJ_ERR_NOMEM;
	ERR_clear_error(); /* a failure's cause is read from the queue (ossl_nomem) */
	if (strcmp(key->kty, "RSA") == 0)
		return jwk_build_rsa(key);
	if (strcmp(key->kty, "EC") == 0)
		return jwk_build_ec(key);
	return jwk_build_okp(key);
}

/* Builds the EVP_PKEY of a checked key (pending): usable when OpenSSL takes it, else unusable with the
 * reason, as if the parse had found it. PJ_ERR_NOMEM leaves it pending. A key OpenSSL refuses is tried
 * once more before it is unusable for the set's life: OpenSSL does not always say that an allocation
 * failed (a method it could not fetch reads as unsupported), and a passing shortage must not spoil a good
 * key in a process that keeps its key set. */
static pj_status jwk_build(struct jwk *key)
{
	pj_status r;

	if (!key->pending)
		return PJ_OK;
	if ((r = jwk_build_once(key)) == PJ_ERR_TOKEN)
		r = jwk_build_once(key);
	if (r == PJ_ERR_NOMEM)
		return r;
	key->pending = false;
	free(key->raw);
	key->raw = NULL;
	key->raw_len = key->raw_split = 0;
	if (r == PJ_OK) {
		key->usable = true;
		key->skip_reason[0] = '\0';
	}
	return PJ_OK;
}

/* "use" must be "sig" when present; "key_ops" must be an array of strings holding "verify". */
static bool jwk_check_usage(json_object *obj, struct jwk *key)
{
	json_object *ops, *op;
	const char *s;
	bool verify = false;
	size_t n;

	switch (json_get_string(obj, "use", &s, NULL)) {
	case JSON_GET_ABSENT: break;
	case JSON_GET_WRONG_TYPE: jwk_skip(key, "\"use\" is not a string"); return false;
	case JSON_GET_OK:
		if (strcmp(s, "sig") != 0) {
			jwk_skip(key, "\"use\" is not \"sig\"");
			return false;
		}
		break;
	}
	switch (json_get_array(obj, "key_ops", &ops)) {
	case JSON_GET_ABSENT: return true;
	case JSON_GET_WRONG_TYPE: jwk_skip(key, "\"key_ops\" is not an array"); return false;
	case JSON_GET_OK: break;
	}
	n = json_object_array_length(ops);
	for (size_t i = 0; i < n; i++) {
		op = json_object_array_get_idx(ops, i);
		if (!json_object_is_type(op, json_type_string)) {
			jwk_skip(key, "\"key_ops\" is not an array of strings");
			return false;
		}
		if (strcmp(json_object_get_string(op), "verify") == 0)
			verify = true;
	}
	if (!verify) {
		jwk_skip(key, "\"key_ops\" does not include \"verify\"");
		return false;
	}
	return true;
}

/* Fills key from one JWKS entry and checks it: a key that passes every check short of OpenSSL building it
 * is left pending (not yet usable). Only allocation failure is an error; anything else leaves the key
 * unusable with a reason. */
static pj_status jwk_parse_entry(json_object *obj, struct jwk *key)
{
	pj_status st = PJ_OK, r;

	key->usable = false;
	if (!json_object_is_type(obj, json_type_object)) {
		jwk_skip(key, "entry is not a JSON object");
		return PJ_OK;
	}
	if (!jwk_opt_string(obj, "kid", key, &key->kid, JWK_KID_MAX, &st) ||
	    !jwk_opt_string(obj, "kty", key, &key->kty, 64, &st) ||
	    !jwk_opt_string(obj, "alg", key, &key->alg, 64, &st) ||
	    !jwk_opt_string(obj, "crv", key, &key->crv, 64, &st))
		return st;
	if (key->kty == NULL) {
		jwk_skip(key, "no \"kty\"");
		return PJ_OK;
	}
	if (jwk_private_member(obj) != NULL) {
		jwk_skip(key, "private key material published");
		return PJ_OK;
	}
	if (!jwk_check_usage(obj, key))
		return PJ_OK;
	if (key->alg != NULL && jws_alg_by_name(key->alg) == NULL) {
		jwk_skip(key, "\"alg\" is not a supported signature algorithm");
		return PJ_OK;
	}
	if (strcmp(key->kty, "RSA") == 0)
		r = jwk_prepare_rsa(obj, key);
	else if (strcmp(key->kty, "EC") == 0)
		r = jwk_prepare_ec(obj, key);
	else if (strcmp(key->kty, "OKP") == 0)
		r = jwk_prepare_okp(obj, key);
	else if (strcmp(key->kty, "oct") == 0) {
		jwk_skip(key, "symmetric key (kty oct) not supported");
		return PJ_OK;
	} else {
		jwk_skip(key, "kty not supported");
		return PJ_OK;
	}
	if (r == PJ_ERR_NOMEM)
		return r;
	key->pending = r == PJ_OK; /* checked; its EVP_PKEY is built on first use (jwk_build) */
	return PJ_OK;
}

/* A kid listed twice makes the choice ambiguous: every entry carrying it becomes unusable. The kids
 * stay in place while marking, so a quadratic scan (at most JWKS_MAX_KEYS entries) needs no scratch. */
static void jwk_set_mark_duplicates(struct jwk_set *set)
{
	struct jwk *key;

	for (size_t i = 0; i < set->n_keys; i++) {
		key = &set->keys[i];
		if (key->kid == NULL)
			continue;
		for (size_t j = 0; j < set->n_keys; j++) {
			if (j == i || set->keys[j].kid == NULL || strcmp(key->kid, set->keys[j].kid) != 0)
				continue;
			key->usable = false;
			key->skip_reason[0] = '\0'; /* this reason replaces any other */
			jwk_skip(key, "kid listed twice");
			break;
		}
	}
}

pj_status jwk_set_parse(const char *json, size_t len, struct jwk_set **out, struct pj_error *err)
{
	json_object *root = NULL, *arr;
	struct jwk_set *set = NULL;
	struct pj_error e;
	size_t n;
	pj_status r;

	*out = NULL;
	if ((r = json_strict_parse_object(json, len, JSON_STRICT_DEFAULT_DEPTH, &root, &e)) != PJ_OK) {
		if (r == PJ_ERR_NOMEM)
			r = pj_fail(err, r, "JWKS: out of memory");
		else
			r = pj_fail(err, PJ_ERR_TOKEN, "JWKS: %s", e.reason);
		goto out;
	}
	switch (json_get_array(root, "keys", &arr)) {
	case JSON_GET_ABSENT: r = pj_fail(err, PJ_ERR_TOKEN, "JWKS: no \"keys\" member"); goto out;
	case JSON_GET_WRONG_TYPE: r = pj_fail(err, PJ_ERR_TOKEN, "JWKS: \"keys\" is not an array"); goto out;
	case JSON_GET_OK: break;
	}
	if ((n = json_object_array_length(arr)) > JWKS_MAX_KEYS) {
		r = pj_fail(err, PJ_ERR_TOKEN, "JWKS: %zu keys, more than %d", n, JWKS_MAX_KEYS);
		goto out;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "JWKS: out of memory");
		goto out;
	}
	pthread_mutex_init(&set->lock, NULL);
	if ((set->keys = calloc(n + 1, sizeof(*set->keys))) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "JWKS: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		set->n_keys = i + 1;
		if (jwk_parse_entry(json_object_array_get_idx(arr, i), &set->keys[i]) != PJ_OK) {
			r = pj_fail(err, PJ_ERR_NOMEM, "JWKS: out of memory");
			goto out;
		}
	}
	set->n_keys = n;
	jwk_set_mark_duplicates(set);
	*out = set;
	set = NULL;
	r = PJ_OK;
out:
	jwk_set_free(set);
	json_object_put(root);
	return r;
}

pj_status jwk_parse_one(json_object *obj, struct jwk *key)
{
	pj_status r;

	memset(key, 0, sizeof(*key));
	if ((r = jwk_parse_entry(obj, key)) != PJ_OK)
		return r;
	return jwk_build(key); /* one key, for use now */
}

void jwk_clear(struct jwk *key)
{
	free(key->kid);
	free(key->kty);
	free(key->alg);
	free(key->crv);
	free(key->raw);
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof(*key));
}

void jwk_set_free(struct jwk_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; set->keys != NULL && i < set->n_keys; i++)
		jwk_clear(&set->keys[i]);
	free(set->keys);
	pthread_mutex_destroy(&set->lock);
	free(set);
}

/* The OpenSSL key type the JWK kty means (checked again on the EVP_PKEY itself). */
static bool pkey_matches(const struct jwk *key, const struct jws_alg *alg)
{
	switch (alg->kind) {
	case JWS_SIG_RSA_PKCS1:
	case JWS_SIG_RSA_PSS: return EVP_PKEY_get_id(key->pkey) == EVP_PKEY_RSA;
	case JWS_SIG_ECDSA: return EVP_PKEY_get_id(key->pkey) == EVP_PKEY_EC;
	case JWS_SIG_EDDSA: return EVP_PKEY_get_id(key->pkey) == EVP_PKEY_ED25519;
	}
	return false;
}

static bool jwk_could_fit(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen,
                          const char *k);
static bool pkey_fits(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen,
                      const char *k);

bool jwk_fits_alg(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen)
{
	char kb[JWK_KID_SHOW];
	const char *k = kid_show(key->kid, kb, sizeof(kb));
	char tmp[1];

	if (why == NULL) {
		why = tmp;
		whylen = sizeof(tmp);
	}
	if (!key->usable || key->pkey == NULL) {
		snprintf(why, whylen, "key kid=%s is not usable: %s", k, key->skip_reason);
		return false;
	}
	return jwk_could_fit(key, alg, why, whylen, k) && pkey_fits(key, alg, why, whylen, k);
}

/* The checks of jwk_fits_alg that need no EVP_PKEY (so a key not built yet can be passed over). */
static bool jwk_could_fit(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen,
                          const char *k)
{
	if (strcmp(key->kty, alg->kty) != 0) {
		snprintf(why, whylen, "key kid=%s is %s, token alg %s", k, key->kty, alg->name);
		return false;
	}
	if (alg->crv != NULL && (key->crv == NULL || strcmp(key->crv, alg->crv) != 0)) {
		snprintf(why, whylen, "key kid=%s is %s %s, token alg %s", k, key->kty,
		         key->crv != NULL ? key->crv : "without crv", alg->name);
		return false;
	}
	if (strcmp(alg->kty, "RSA") == 0 && key->bits < JWK_RSA_MIN_BITS) {
		snprintf(why, whylen, "key kid=%s is RSA %d bits, under %d", k, key->bits, JWK_RSA_MIN_BITS);
		return false;
	}
	if (key->alg != NULL && strcmp(key->alg, alg->name) != 0) {
		snprintf(why, whylen, "key kid=%s is for alg %s, token alg %s", k, key->alg, alg->name);
		return false;
	}
	return true;
}

static bool pkey_fits(const struct jwk *key, const struct jws_alg *alg, char *why, size_t whylen,
                      const char *k)
{
	if (!pkey_matches(key, alg)) {
		snprintf(why, whylen, "key kid=%s: OpenSSL key type does not fit token alg %s", k, alg->name);
		return false;
	}
	return true;
}

/* Builds every pending key with this kid. Called with set->lock held. */
static pj_status build_kid(struct jwk_set *set, const char *kid)
{
	pj_status r = PJ_OK;

	for (size_t i = 0; i < set->n_keys && r == PJ_OK; i++) {
		if (set->keys[i].kid != NULL && strcmp(set->keys[i].kid, kid) == 0)
			r = jwk_build(&set->keys[i]);
	}
	return r;
}

/* Called with set->lock held; the token's kid selects the only key built. */
static pj_status jwk_select_kid(struct jwk_set *set, const struct jws_alg *alg, const char *kid,
                                const struct jwk **out, struct pj_error *err)
{
	char kb[JWK_KID_SHOW], why[256];
	const struct jwk *unusable = NULL;

	if (build_kid(set, kid) != PJ_OK)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < set->n_keys; i++) {
		const struct jwk *key = &set->keys[i];

		if (key->kid == NULL || strcmp(key->kid, kid) != 0)
			continue;
		if (!key->usable) {
			if (unusable == NULL)
				unusable = key;
			continue;
		}
		if (!jwk_fits_alg(key, alg, why, sizeof(why)))
			return pj_fail(err, PJ_ERR_TOKEN, "%s", why);
		*out = key;
		return PJ_OK;
	}
	if (unusable != NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "key kid=%s is not usable: %s",
		               kid_show(kid, kb, sizeof(kb)), unusable->skip_reason);
	return pj_fail(err, PJ_ERR_TOKEN, "no key with kid=%s in the JWKS", kid_show(kid, kb, sizeof(kb)));
}

/* Without a kid: builds the pending keys that could fit alg (the others cannot fit either way), then
 * counts those that do. Called with set->lock held. */
static pj_status jwk_select_alg(struct jwk_set *set, const struct jws_alg *alg, const struct jwk **out,
                                struct pj_error *err)
{
	const struct jwk *found = NULL;
	size_t fit = 0;

	for (size_t i = 0; i < set->n_keys; i++) {
		struct jwk *key = &set->keys[i];
		if (key->pending && jwk_could_fit(key, alg, NULL, 0, "") && jwk_build(key) != PJ_OK)
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		if (jwk_fits_alg(key, alg, NULL, 0)) {
			found = key;
			fit++;
		}
	}
	if (fit != 1)
		return pj_fail(err, PJ_ERR_TOKEN, "no kid and %zu keys fit alg %s", fit, alg->name);
	*out = found;
	return PJ_OK;
}

/* The set is shared (keystore.c hands it to every thread, refcounted) and logically constant: building a
 * pending key only completes what the parse decided, under set->lock, which every reader of the keys'
 * state below holds. A key once built never changes until jwk_set_free. */
static struct jwk_set *set_locked(const struct jwk_set *cset)
{
	struct jwk_set *set = (struct jwk_set *)cset;

	pthread_mutex_lock(&set->lock);
	return set;
}

pj_status jwk_set_select(const struct jwk_set *cset, const struct jws_alg *alg, const char *kid,
                         const struct jwk **out, struct pj_error *err)
{
	struct jwk_set *set;
	pj_status r;

	*out = NULL;
	if (cset == NULL || alg == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "no key set or no alg");
	set = set_locked(cset);
	r = kid != NULL ? jwk_select_kid(set, alg, kid, out, err) : jwk_select_alg(set, alg, out, err);
	pthread_mutex_unlock(&set->lock);
	return r;
}

bool jwk_set_has_kid(const struct jwk_set *cset, const char *kid)
{
	struct jwk_set *set;
	bool found = false;

	if (cset == NULL || kid == NULL)
		return false;
	set = set_locked(cset);
	if (build_kid(set, kid) == PJ_OK) {
		for (size_t i = 0; i < set->n_keys && !found; i++)
			found = set->keys[i].usable && set->keys[i].kid != NULL &&
			        strcmp(set->keys[i].kid, kid) == 0;
	}
	pthread_mutex_unlock(&set->lock);
	return found;
}

pj_status jwk_set_build_all(const struct jwk_set *cset)
{
	struct jwk_set *set;
	pj_status r = PJ_OK;

	if (cset == NULL)
		return PJ_OK;
	set = set_locked(cset);
	for (size_t i = 0; i < set->n_keys && r == PJ_OK; i++)
		r = jwk_build(&set->keys[i]);
	pthread_mutex_unlock(&set->lock);
	return r;
}

pj_status jwk_set_any_usable(const struct jwk_set *cset, bool *any)
{
	struct jwk_set *set;
	pj_status r = PJ_OK;

	*any = false;
	if (cset == NULL)
		return PJ_OK;
	set = set_locked(cset);
	for (size_t i = 0; i < set->n_keys && r == PJ_OK && !*any; i++) {
		if ((r = jwk_build(&set->keys[i])) == PJ_OK)
			*any = set->keys[i].usable;
	}
	pthread_mutex_unlock(&set->lock);
	return r;
}
