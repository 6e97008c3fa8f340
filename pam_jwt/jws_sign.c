/* jws_sign.c: signing a compact JWS and writing a public JWK with OpenSSL EVP (DPoP proofs, the tests). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "b64url.h"
#include "jws_sign.h"

static char *b64_bn_param(EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	char *out = NULL;
	int len;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	len = BN_num_bytes(bn);
	if ((buf = malloc(len > 0 ? (size_t)len : 1)) == NULL)
		goto out;
	BN_bn2bin(bn, buf);
	out = b64url_encode(buf, (size_t)len);
out:
	free(buf);
	BN_free(bn);
	return out;
}

/* "n":"...","e":"..." */
static char *rsa_members(EVP_PKEY *pkey)
{
	char *n = b64_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N), *e = b64_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E);
	char *out = NULL;

	if (n != NULL && e != NULL)
		if (asprintf(&out, "\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", n, e) < 0)
			out = NULL;
	free(n);
	free(e);
	return out;
}

static const char *ec_crv(EVP_PKEY *pkey)
{
	char group[64];

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
		return NULL;
	for (int id = 0; id < JWS_ALG_COUNT; id++) {
		const struct jws_alg *alg = jws_alg_by_id((enum jws_alg_id)id);

		if (alg->group != NULL && strcmp(alg->group, group) == 0)
			return alg->crv;
	}
	return NULL;
}

/* "crv":"P-256","x":"...","y":"..." from the uncompressed point 0x04||x||y (coordinates field-sized). */
static char *ec_members(EVP_PKEY *pkey)
{
	unsigned char pt[1 + 2 * 66];
	size_t len = 0, flen;
	const char *crv = ec_crv(pkey);
	char *x = NULL, *y = NULL, *out = NULL;

	if (crv == NULL || EVP_PKEY_get_bits(pkey) <= 0)
		return NULL;
	flen = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &len) !=
	    1)
		return NULL;
	if (len != 1 + 2 * flen || pt[0] != 0x04)
		return NULL;
	x = b64url_encode(pt + 1, flen);
	y = b64url_encode(pt + 1 + flen, flen);
	if (x != NULL && y != NULL)
		if (asprintf(&out, "\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"", crv, x, y) < 0)
			out = NULL;
	free(x);
	free(y);
	return out;
}

static char *okp_members(EVP_PKEY *pkey)
{
	unsigned char raw[32];
	size_t len = sizeof(raw);
	char *x, *out;

	if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != sizeof(raw))
		return NULL;
	if ((x = b64url_encode(raw, len)) == NULL)
		return NULL;
	if (asprintf(&out, "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"", x) < 0)
		out = NULL;
	free(x);
	return out;
}

char *jwk_public_members(EVP_PKEY *pkey)
{
	char *key = NULL;

	if (EVP_PKEY_is_a(pkey, "RSA"))
		key = rsa_members(pkey);
	else if (EVP_PKEY_is_a(pkey, "EC"))
		key = ec_members(pkey);
	else if (EVP_PKEY_is_a(pkey, "ED25519"))
		key = okp_members(pkey);
	ERR_clear_error();
	return key;
}

/* DER ECDSA-Sig-Value to fixed-size r||s, each half zero-padded to sig_len / 2 (as JWS wants). */
static unsigned char *ecdsa_der_to_raw(const struct jws_alg *alg, const unsigned char *der, size_t derlen)
{
	const unsigned char *p = der;
	const BIGNUM *r, *s;
	ECDSA_SIG *esig;
	unsigned char *raw = NULL;
	int half = (int)alg->sig_len / 2;

	if ((esig = d2i_ECDSA_SIG(NULL, &p, (long)derlen)) == NULL)
		return NULL;
	ECDSA_SIG_get0(esig, &r, &s);
	if ((raw = malloc(alg->sig_len)) != NULL &&
	    (BN_bn2binpad(r, raw, half) != half || BN_bn2binpad(s, raw + half, half) != half)) {
		free(raw);
		raw = NULL;
	}
	ECDSA_SIG_free(esig);
	return raw;
}

unsigned char *jws_sign_bytes(enum jws_alg_id id, EVP_PKEY *pkey, const unsigned char *data, size_t len,
                              size_t *siglen)
{
	const struct jws_alg *alg = jws_alg_by_id(id);
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL, *raw;
	size_t slen = 0;

	if (alg == NULL || (ctx = EVP_MD_CTX_new()) == NULL)
		goto fail;
	if (EVP_DigestSignInit_ex(ctx, &pctx, alg->digest, NULL, NULL, pkey, NULL) != 1)
		goto fail;
	if (alg->kind == JWS_SIG_RSA_PKCS1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
		goto fail;
	if (alg->kind == JWS_SIG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg->digest, NULL) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)alg->digest_len) <= 0))
		goto fail;
	if (EVP_DigestSign(ctx, NULL, &slen, data, len) != 1 || (sig = malloc(slen)) == NULL)
		goto fail;
	if (EVP_DigestSign(ctx, sig, &slen, data, len) != 1)
		goto fail;
	if (alg->kind == JWS_SIG_ECDSA) {
		if ((raw = ecdsa_der_to_raw(alg, sig, slen)) == NULL)
			goto fail;
		free(sig);
		sig = raw;
		slen = alg->sig_len;
	}
	EVP_MD_CTX_free(ctx);
	*siglen = slen;
	return sig;
fail:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(sig);
	*siglen = 0;
	return NULL;
}

char *jws_sign_compact(enum jws_alg_id id, EVP_PKEY *pkey, const char *header_json, const char *payload_json)
{
	char *h = NULL, *p = NULL, *input = NULL, *s = NULL, *out = NULL;
	unsigned char *sig = NULL;
	size_t siglen;

	if ((h = b64url_encode((const unsigned char *)header_json, strlen(header_json))) == NULL ||
	    (p = b64url_encode((const unsigned char *)payload_json, strlen(payload_json))) == NULL)
		goto out;
	if (asprintf(&input, "%s.%s", h, p) < 0) {
		input = NULL;
		goto out;
	}
	if ((sig = jws_sign_bytes(id, pkey, (const unsigned char *)input, strlen(input), &siglen)) == NULL ||
	    (s = b64url_encode(sig, siglen)) == NULL)
		goto out;
	if (asprintf(&out, "%s.%s.%s", h, p, s) < 0)
		out = NULL;
out:
	free(h);
	free(p);
	free(input);
	free(sig);
	free(s);
	return out;
}
