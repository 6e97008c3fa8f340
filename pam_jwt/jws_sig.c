/* jws_sig.c: verifies one JWS signature with OpenSSL 3 EVP, pinning every parameter the alg fixes. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jws_sig.h"
#include "ossl_nomem.h"

/* Longest OpenSSL group name we compare against ("prime256v1", "secp521r1"). */
#define GROUP_NAME_MAX 64

static bool ec_group_is(EVP_PKEY *pkey, const char *group)
{
	char name[GROUP_NAME_MAX];
	size_t len = 0;

	if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) != 1)
		return false;
	return strcmp(name, group) == 0;
}

/* The key must be of the very type the alg names: a JWKS could pair any key with any header. The type is
 * the key's id, which asks OpenSSL for nothing (EVP_PKEY_is_a looks its name up, and can fail for want of
 * memory: a good key would be called unfit). An EC key's curve is crv's when the caller names the JWK crv
 * jwk.c built the key from (a string compare); else it is read from OpenSSL, which can fail for want of
 * memory and says so (ossl_nomem). */
static pj_status check_key(const struct jws_alg *alg, EVP_PKEY *pkey, const char *crv, struct pj_error *err)
{
	bool fits = false;

	switch (alg->kind) {
	case JWS_SIG_RSA_PKCS1:
	case JWS_SIG_RSA_PSS:
		/* Only plain RSA: JWKs never carry RSA-PSS-restricted keys. */
		fits = EVP_PKEY_get_id(pkey) == EVP_PKEY_RSA;
		break;
	case JWS_SIG_ECDSA:
		fits = EVP_PKEY_get_id(pkey) == EVP_PKEY_EC &&
		       (crv != NULL ? alg->crv != NULL && strcmp(crv, alg->crv) == 0
		                    : ec_group_is(pkey, alg->group));
		break;
	case JWS_SIG_EDDSA: fits = EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519; break;
	}
	if (!fits)
		return ossl_nomem() ? pj_fail(err, PJ_ERR_NOMEM, "out of memory checking the key")
		                    : pj_fail(err, PJ_ERR_TOKEN, "key does not fit alg %s", alg->name);
	return PJ_OK;
}

/* Empties OpenSSL's error queue of this thread. ERR_clear_error walks all of its slots (about 800
 * instructions, twice per token); an empty queue, the usual case, needs only the look. */
static void clear_ossl_errors(void)
{
	if (ERR_peek_error() != 0)
		ERR_clear_error();
}

/* The largest DER ECDSA-Sig-Value of ES512 (66-byte r and s): SEQUENCE header 3, two INTEGERs of at most
 * 2 + 67 bytes each. */
#define ECDSA_DER_MAX 160

/* A DER length (at most 0xffff here) at out; returns the bytes written. */
static size_t der_length(size_t n, unsigned char *out)
{
	if (n < 0x80) {
		out[0] = (unsigned char)n;
		return 1;
	}
	if (n < 0x100) {
		out[0] = 0x81;
		out[1] = (unsigned char)n;
		return 2;
	}
	/* unreachable by design: the longest DER content, P-521's, is 138 bytes; kept for a correct encoder
	 */
	out[0] = 0x82;                    /* GCOVR_EXCL_LINE */
	out[1] = (unsigned char)(n >> 8); /* GCOVR_EXCL_LINE */
	out[2] = (unsigned char)n;        /* GCOVR_EXCL_LINE */
	return 3;                         /* GCOVR_EXCL_LINE */
}

/* The unsigned big-endian integer v (len >= 1 bytes) as a DER INTEGER at out: leading zero bytes dropped (one
 * kept for zero), a 0x00 put in front when the top bit is set (DER integers are signed). Returns the bytes
 * written. */
static size_t der_uint(const unsigned char *v, size_t len, unsigned char *out)
{
	size_t skip = 0, n, o = 0;
	bool pad;

	while (skip + 1 < len && v[skip] == 0)
		skip++;
	n = len - skip;
	pad = (v[skip] & 0x80) != 0;
	out[o++] = 0x02;
	o += der_length(n + pad, out + o);
	if (pad)
		out[o++] = 0x00;
	memcpy(out + o, v + skip, n);
	return o + n;
}

static bool all_zero(const unsigned char *v, size_t len)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= v[i];
	return acc == 0;
}

/* JWS carries ECDSA as fixed-size big-endian r||s; OpenSSL verifies DER (RFC 3279 ECDSA-Sig-Value). The
 * encoding is written straight into der (ECDSA_DER_MAX bytes): no BIGNUM or ECDSA_SIG allocations. Only the
 * exact length is taken, and r or s of zero is refused here (OpenSSL refuses r or s >= the group order). */
static pj_status ecdsa_raw_to_der(const struct jws_alg *alg, const unsigned char *sig, size_t siglen,
                                  unsigned char *der, size_t *derlen, struct pj_error *err)
{
	size_t half = alg->sig_len / 2, body, o = 0;
	unsigned char ints[ECDSA_DER_MAX];

	*derlen = 0;
	if (siglen != alg->sig_len || half == 0 || half > 66)
		return pj_fail(err, PJ_ERR_TOKEN, "signature length %zu is not %zu as %s requires", siglen,
		               alg->sig_len, alg->name);
	if (all_zero(sig, half) || all_zero(sig + half, half))
		return pj_fail(err, PJ_ERR_TOKEN, "signature invalid (r or s is zero)");
	body = der_uint(sig, half, ints);
	body += der_uint(sig + half, half, ints + body);
	der[o++] = 0x30;
	o += der_length(body, der + o);
	memcpy(der + o, ints, body);
	*derlen = o + body;
	return PJ_OK;
}

/* Pins padding, MGF1 digest and salt length; OpenSSL's defaults (auto salt length) must not apply. */
static bool set_rsa_params(const struct jws_alg *alg, EVP_PKEY_CTX *pctx)
{
	if (alg->kind == JWS_SIG_RSA_PKCS1)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	       EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, alg->digest, NULL) > 0 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)alg->digest_len) > 0;
}

/* Checks the signature's shape for alg and returns the bytes OpenSSL should verify (maybe a DER copy). */
static pj_status prepare_sig(const struct jws_alg *alg, EVP_PKEY *pkey, const unsigned char *sig,
                             size_t siglen, unsigned char *der, const unsigned char **vsig, size_t *vlen,
                             struct pj_error *err)
{
	int keysize;
	pj_status r;

	*vsig = sig;
	*vlen = siglen;
	switch (alg->kind) {
	case JWS_SIG_RSA_PKCS1:
	case JWS_SIG_RSA_PSS:
		/* RFC 8017 8.1.2/8.2.2 step 1: exactly k octets; OpenSSL would take a shorter PSS one. */
		keysize = EVP_PKEY_get_size(pkey);
		if (keysize <= 0 || siglen != (size_t)keysize)
			return pj_fail(err, PJ_ERR_TOKEN, "signature length %zu does not match the RSA key",
			               siglen);
		return PJ_OK;
	case JWS_SIG_ECDSA:
		if ((r = ecdsa_raw_to_der(alg, sig, siglen, der, vlen, err)) != PJ_OK)
			return r;
		*vsig = der;
		return PJ_OK;
	case JWS_SIG_EDDSA:
		if (siglen != alg->sig_len)
			return pj_fail(err, PJ_ERR_TOKEN, "signature length %zu is not %zu as %s requires",
			               siglen, alg->sig_len, alg->name);
		return PJ_OK;
	}
	/* unreachable by design: the switch names every kind of jws_alg.c's table */
	return pj_fail(err, PJ_ERR_TOKEN, "unsupported signature kind"); /* GCOVR_EXCL_LINE */
}

pj_status jws_sig_verify(const struct jws_alg *alg, EVP_PKEY *pkey, const unsigned char *data, size_t datalen,
                         const unsigned char *sig, size_t siglen, struct pj_error *err)
{
	return jws_sig_verify_crv(alg, pkey, NULL, data, datalen, sig, siglen, err);
}

pj_status jws_sig_verify_crv(const struct jws_alg *alg, EVP_PKEY *pkey, const char *crv,
                             const unsigned char *data, size_t datalen, const unsigned char *sig,
                             size_t siglen, struct pj_error *err)
{
	static const unsigned char empty[1];
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char der[ECDSA_DER_MAX];
	const unsigned char *vsig;
	size_t vlen;
	int rc;
	pj_status r;

	if (alg == NULL || pkey == NULL || sig == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "no signature, key or alg to verify with");
	if (data == NULL)
		data = empty; /* datalen is then 0 */
	/* once, here: a failure's cause is read from the queue (ossl_nomem), and nothing between this and
	 * OpenSSL's verify leaves anything in it but a failure that ends the check */
	clear_ossl_errors();
	if ((r = check_key(alg, pkey, crv, err)) != PJ_OK)
		goto out;
	if ((r = prepare_sig(alg, pkey, sig, siglen, der, &vsig, &vlen, err)) != PJ_OK)
		goto out;
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory verifying the signature");
		goto out;
	}
	/* digest is NULL for Ed25519, which signs the message itself (one-shot only). */
	if (EVP_DigestVerifyInit_ex(ctx, &pctx, alg->digest, NULL, NULL, pkey, NULL) != 1 ||
	    ((alg->kind == JWS_SIG_RSA_PKCS1 || alg->kind == JWS_SIG_RSA_PSS) &&
	     !set_rsa_params(alg, pctx))) {
		/* the key fits the alg (check_key) and the alg fixes every parameter: nothing the token holds
		 * makes this fail, only OpenSSL (a method it could not fetch, memory) */
		r = ossl_nomem()
		        ? pj_fail(err, PJ_ERR_NOMEM, "out of memory verifying the signature")
		        : pj_fail(err, PJ_ERR_SYSTEM, "OpenSSL could not set up %s verification", alg->name);
		goto out;
	}
	rc = EVP_DigestVerify(ctx, vsig, vlen, data, datalen);
	if (rc != 1) {
		r = ossl_nomem() ? pj_fail(err, PJ_ERR_NOMEM, "out of memory verifying the signature")
		                 : pj_fail(err, PJ_ERR_TOKEN, "signature invalid");
		goto out;
	}
	r = PJ_OK;
out:
	/* A refused signature leaves errors in OpenSSL's queue; they must not surface in later calls. */
	clear_ossl_errors();
	EVP_MD_CTX_free(ctx);
	return r;
}
