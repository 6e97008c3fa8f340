/* test_sig.c: the alg table and signature verification accept exactly what each JWS alg allows, nothing else.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/jws_sig.h"
#include "tap.h"
#include "testkit.h"

static const unsigned char data[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
#define DATALEN (sizeof(data) - 1)

static pj_status verify(enum jws_alg_id id, EVP_PKEY *pkey, const unsigned char *d, size_t dlen,
                        const unsigned char *sig, size_t siglen, struct pj_error *err)
{
	struct pj_error local;

	return jws_sig_verify(jws_alg_by_id(id), pkey, d, dlen, sig, siglen, err ? err : &local);
}

/* Verifies with OpenSSL directly, with the given RSA padding / PSS salt length (-1: leave default). */
static int raw_verify(EVP_PKEY *pkey, const char *md, int pad, int saltlen, const unsigned char *sig,
                      size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if (EVP_DigestVerifyInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) == 1 &&
	    (pad < 0 || EVP_PKEY_CTX_set_rsa_padding(pctx, pad) > 0) &&
	    (saltlen == -1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) > 0))
		rc = EVP_DigestVerify(ctx, sig, siglen, data, DATALEN);
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/* A PSS signature over data with a chosen MGF1 digest and salt length (to prove verify pins both). */
static unsigned char *sign_pss(EVP_PKEY *pkey, const char *md, const char *mgf1, int saltlen, size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;

	*siglen = 0;
	if (EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pkey, NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, mgf1, NULL) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, saltlen) <= 0 ||
	    EVP_DigestSign(ctx, NULL, siglen, data, DATALEN) != 1 || (sig = malloc(*siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, siglen, data, DATALEN) != 1) {
		free(sig);
		sig = NULL;
	}
	EVP_MD_CTX_free(ctx);
	return sig;
}

/* The DER form of a raw r||s signature. */
static unsigned char *raw_to_der(const unsigned char *raw, size_t rawlen, size_t *derlen)
{
	ECDSA_SIG *esig = ECDSA_SIG_new();
	unsigned char *der = NULL;
	int len;

	ECDSA_SIG_set0(esig, BN_bin2bn(raw, (int)rawlen / 2, NULL),
	               BN_bin2bn(raw + rawlen / 2, (int)rawlen / 2, NULL));
	len = i2d_ECDSA_SIG(esig, &der);
	ECDSA_SIG_free(esig);
	*derlen = len > 0 ? (size_t)len : 0;
	return der;
}

static unsigned char *dup_bytes(const unsigned char *p, size_t len, size_t extra)
{
	unsigned char *d = calloc(1, len + extra + 1);

	memcpy(d, p, len);
	return d;
}

/* The name with control characters shown as '?', so a TAP line stays one line. */
static const char *printable(const char *s)
{
	static char buf[64];
	size_t i;

	for (i = 0; s[i] != '\0' && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static void test_alg_table(void)
{
	static const char *names[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
	                              "PS512", "ES256", "ES384", "ES512", "EdDSA"};
	static const char *bad[] = {"none",    "None",    "NONE",    "HS256",   "HS384", "HS512",
	                            "rs256",   "RS256 ",  " RS256",  "RS",      "",      "ES256K",
	                            "EdDSA\n", "Ed25519", "PS256\t", "RSA-OAEP"};
	int all = 1;

	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		const struct jws_alg *a = jws_alg_by_name(names[i]);

		if (a == NULL || a->id != (enum jws_alg_id)i || strcmp(a->name, names[i]) != 0 ||
		    jws_alg_by_id((enum jws_alg_id)i) != a)
			all = 0;
	}
	ok(all, "all ten algs are found by name and id");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(jws_alg_by_name(bad[i]) == NULL, "alg name \"%s\" unknown", printable(bad[i]));
	ok(jws_alg_by_name(NULL) == NULL, "NULL alg name unknown");
	ok(jws_alg_by_id(JWS_ALG_COUNT) == NULL && jws_alg_by_id((enum jws_alg_id) - 1) == NULL,
	   "id out of range");
	ok(jws_alg_by_id(JWS_ES512)->sig_len == 132 &&
	       strcmp(jws_alg_by_id(JWS_ES512)->group, "secp521r1") == 0 &&
	       jws_alg_by_id(JWS_ES384)->sig_len == 96 && jws_alg_by_id(JWS_ES256)->sig_len == 64 &&
	       jws_alg_by_id(JWS_EDDSA)->sig_len == 64 && jws_alg_by_id(JWS_PS384)->digest_len == 48,
	   "table carries the JWS signature lengths and digest sizes");
}

/* The checks every alg must pass: valid accepted; any change to signature, data or key refused. */
static void test_common(enum jws_alg_id id, EVP_PKEY *key, EVP_PKEY *other)
{
	const char *name = jws_alg_by_id(id)->name;
	unsigned char *sig, *mod, *d;
	size_t siglen;
	struct pj_error err;
	int refused;

	sig = tk_sign_bytes(id, key, data, DATALEN, &siglen);
	if (!ok(sig != NULL, "%s: signed", name))
		return;
	ok(verify(id, key, data, DATALEN, sig, siglen, &err) == PJ_OK, "%s: fresh signature verifies", name);
	refused = 1;
	for (size_t pos = 0; pos < siglen; pos += siglen / 7 + 1) {
		mod = dup_bytes(sig, siglen, 0);
		mod[pos] ^= 0x01;
		if (verify(id, key, data, DATALEN, mod, siglen, &err) != PJ_ERR_TOKEN)
			refused = 0;
		free(mod);
	}
	mod = dup_bytes(sig, siglen, 0);
	mod[siglen - 1] ^= 0x80;
	if (verify(id, key, data, DATALEN, mod, siglen, &err) != PJ_ERR_TOKEN)
		refused = 0;
	free(mod);
	ok(refused, "%s: flipped bits in the signature refused", name);
	ok(ERR_peek_error() == 0, "%s: OpenSSL error queue empty after a refusal", name);
	d = dup_bytes(data, DATALEN, 0);
	d[DATALEN / 2] ^= 0x04;
	ok(verify(id, key, d, DATALEN, sig, siglen, &err) == PJ_ERR_TOKEN,
	   "%s: flipped bit in the data refused", name);
	free(d);
	ok(verify(id, key, data, DATALEN - 1, sig, siglen, &err) == PJ_ERR_TOKEN,
	   "%s: truncated data refused", name);
	/* Refused for its length before OpenSSL sees it. */
	ok(verify(id, key, data, DATALEN, sig, siglen - 1, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "length") != NULL,
	   "%s: truncated signature refused (%s)", name, err.reason);
	ok(verify(id, key, data, DATALEN, sig, 0, &err) == PJ_ERR_TOKEN, "%s: empty signature refused", name);
	mod = dup_bytes(sig, siglen, 1);
	ok(verify(id, key, data, DATALEN, mod, siglen + 1, &err) == PJ_ERR_TOKEN,
	   "%s: signature with a zero byte appended refused", name);
	free(mod);
	mod = calloc(1, siglen + 1);
	memcpy(mod + 1, sig, siglen);
	ok(verify(id, key, data, DATALEN, mod, siglen + 1, &err) == PJ_ERR_TOKEN,
	   "%s: signature with a zero byte prepended refused", name);
	free(mod);
	ok(verify(id, other, data, DATALEN, sig, siglen, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "signature invalid") != NULL,
	   "%s: signature checked with another key of the same type refused (%s)", name, err.reason);
	ok(verify(id, key, data, DATALEN, NULL, 0, &err) == PJ_ERR_TOKEN, "%s: NULL signature refused", name);
	free(sig);
}

/* RFC 8017: an RSA signature is exactly k octets. OpenSSL alone would take a PSS one with a leading zero
 * byte stripped; we must not. PSS is randomized, so sign until the first byte is zero. */
static void test_rsa_short(enum jws_alg_id id, EVP_PKEY *key)
{
	const char *name = jws_alg_by_id(id)->name;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int tries;

	for (tries = 0; tries < 8192; tries++) {
		sig = tk_sign_bytes(id, key, data, DATALEN, &siglen);
		if (sig != NULL && sig[0] == 0)
			break;
		free(sig);
		sig = NULL;
	}
	if (sig == NULL) {
		tap_skip(1, "no signature with a leading zero byte found");
		return;
	}
	ok(verify(id, key, data, DATALEN, sig, siglen, NULL) == PJ_OK &&
	       verify(id, key, data, DATALEN, sig + 1, siglen - 1, NULL) == PJ_ERR_TOKEN,
	   "%s: signature with its leading zero byte stripped refused", name);
	free(sig);
}

static void test_pss_params(enum jws_alg_id id, EVP_PKEY *key)
{
	const struct jws_alg *alg = jws_alg_by_id(id);
	unsigned char *sig;
	size_t siglen;

	sig = sign_pss(key, alg->digest, alg->digest, 0, &siglen);
	ok(sig != NULL &&
	       raw_verify(key, alg->digest, RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_AUTO, sig, siglen) == 1 &&
	       verify(id, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "%s: valid PSS signature with salt length 0 refused", alg->name);
	free(sig);
	sig = sign_pss(key, alg->digest, alg->digest, RSA_PSS_SALTLEN_MAX, &siglen);
	ok(sig != NULL &&
	       raw_verify(key, alg->digest, RSA_PKCS1_PSS_PADDING, RSA_PSS_SALTLEN_AUTO, sig, siglen) == 1 &&
	       verify(id, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "%s: valid PSS signature with maximum salt length refused", alg->name);
	free(sig);
	sig = sign_pss(key, alg->digest, alg->digest, (int)alg->digest_len + 1, &siglen);
	ok(sig != NULL && verify(id, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "%s: PSS signature with salt length digest+1 refused", alg->name);
	free(sig);
	sig = sign_pss(key, alg->digest, "SHA1", (int)alg->digest_len, &siglen);
	ok(sig != NULL && verify(id, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "%s: PSS signature with MGF1-SHA1 refused", alg->name);
	free(sig);
}

static void test_rsa_padding_confusion(EVP_PKEY *key)
{
	unsigned char *sig;
	size_t siglen;

	sig = tk_sign_bytes(JWS_RS256, key, data, DATALEN, &siglen);
	ok(verify(JWS_PS256, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "RS256 (PKCS#1 v1.5) signature verified as PS256 refused");
	free(sig);
	sig = tk_sign_bytes(JWS_PS256, key, data, DATALEN, &siglen);
	ok(verify(JWS_RS256, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "PS256 signature verified as RS256 refused");
	free(sig);
	sig = tk_sign_bytes(JWS_RS384, key, data, DATALEN, &siglen);
	ok(verify(JWS_RS256, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "RS384 signature verified as RS256 refused");
	free(sig);
}

static void test_ecdsa_encoding(enum jws_alg_id id, EVP_PKEY *key)
{
	const struct jws_alg *alg = jws_alg_by_id(id);
	size_t half = alg->sig_len / 2, siglen, derlen;
	unsigned char *sig, *der, *mod;
	struct pj_error err;
	int refused;

	sig = tk_sign_bytes(id, key, data, DATALEN, &siglen);
	der = raw_to_der(sig, siglen, &derlen);
	ok(der != NULL && raw_verify(key, alg->digest, -1, -1, der, derlen) == 1 &&
	       verify(id, key, data, DATALEN, der, derlen, NULL) == PJ_ERR_TOKEN,
	   "%s: valid DER-encoded signature refused", alg->name);
	OPENSSL_free(der);
	/* OpenSSL refuses these too; the reason shows our own check caught them first. */
	mod = dup_bytes(sig, siglen, 0);
	memset(mod, 0, half);
	ok(verify(id, key, data, DATALEN, mod, siglen, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "zero") != NULL,
	   "%s: r = 0 refused (%s)", alg->name, err.reason);
	memcpy(mod, sig, siglen);
	memset(mod + half, 0, half);
	ok(verify(id, key, data, DATALEN, mod, siglen, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "zero") != NULL,
	   "%s: s = 0 refused (%s)", alg->name, err.reason);
	memset(mod, 0, siglen);
	ok(verify(id, key, data, DATALEN, mod, siglen, NULL) == PJ_ERR_TOKEN,
	   "%s: all-zero signature refused", alg->name);
	free(mod);
	refused = 1;
	for (size_t len = 1; len <= 140; len++) {
		if (len == alg->sig_len)
			continue;
		mod = calloc(1, len);
		memcpy(mod, sig, len < siglen ? len : siglen);
		if (verify(id, key, data, DATALEN, mod, len, NULL) != PJ_ERR_TOKEN) {
			tap_diag("%s: signature of length %zu accepted", alg->name, len);
			refused = 0;
		}
		free(mod);
	}
	ok(refused, "%s: signatures of every other length 1..140 refused", alg->name);
	free(sig);
}

/* Many signatures, so that r and s of every shape go through the DER encoding (jws_sig.c writes it itself):
 * with the top bit set (a 0x00 in front), with leading zero bytes (dropped). Each must verify, and with one
 * bit flipped in r or s, fail. */
static void test_ecdsa_shapes(enum jws_alg_id id, EVP_PKEY *key)
{
	const struct jws_alg *alg = jws_alg_by_id(id);
	size_t half = alg->sig_len / 2, siglen;
	/* a leading zero byte of r or s comes once in 64 signatures for P-256 and P-384: 1000 make missing
	 * one as likely as 1 in 6 million; P-521's 66-byte halves start with 0x00 or 0x01 */
	int n = id == JWS_ES512 ? 200 : 1000, bad = 0, pad = 0, zero = 0;

	for (int i = 0; i < n; i++) {
		unsigned char *sig = tk_sign_bytes(id, key, data, DATALEN, &siglen);
		if (sig == NULL || siglen != alg->sig_len) {
			bad++;
			free(sig);
			continue;
		}
		for (size_t h = 0; h < 2; h++) {
			const unsigned char *v = sig + h * half;
			size_t k = 0;
			while (k + 1 < half && v[k] == 0)
				k++;
			zero += k > 0;
			pad += (v[k] & 0x80) != 0;
		}
		bad += verify(id, key, data, DATALEN, sig, siglen, NULL) != PJ_OK;
		sig[i % 2 ? alg->sig_len - 1 : half - 1] ^= 0x01;
		bad += verify(id, key, data, DATALEN, sig, siglen, NULL) != PJ_ERR_TOKEN;
		free(sig);
	}
	ok(bad == 0 && pad > 0,
	   "%s: %d signatures verify, and fail with a bit flipped (%d halves needing a 0x00 in DER, %d with "
	   "leading zeros)",
	   alg->name, n, pad, zero);
}

/* r = n (the P-256 group order) with a real s: out of range, must be refused. */
static void test_ecdsa_r_order(EVP_PKEY *key)
{
	static const unsigned char n[32] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	                                    0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
	unsigned char *sig;
	size_t siglen;

	sig = tk_sign_bytes(JWS_ES256, key, data, DATALEN, &siglen);
	memcpy(sig, n, sizeof(n));
	ok(verify(JWS_ES256, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "ES256: r = group order refused");
	memcpy(sig + 32, n, sizeof(n));
	ok(verify(JWS_ES256, key, data, DATALEN, sig, siglen, NULL) == PJ_ERR_TOKEN,
	   "ES256: r = s = order refused");
	free(sig);
}

static int mismatch(enum jws_alg_id sign_id, enum jws_alg_id verify_id, EVP_PKEY *key)
{
	struct pj_error err;
	unsigned char *sig;
	size_t siglen;
	int refused;

	sig = tk_sign_bytes(sign_id, key, data, DATALEN, &siglen);
	refused = sig != NULL && verify(verify_id, key, data, DATALEN, sig, siglen, &err) == PJ_ERR_TOKEN &&
	          strstr(err.reason, "does not fit") != NULL;
	free(sig);
	return refused;
}

/* A P-256 signature padded out to ES384's 96 bytes: numerically the same r and s, so only the group
 * check stands between it and acceptance. */
static void test_curve_confusion(EVP_PKEY *p256)
{
	unsigned char *sig, padded[96] = {0};
	size_t siglen;
	struct pj_error err;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t derlen = sizeof(der);
	ECDSA_SIG *esig;
	const unsigned char *p = der;
	const BIGNUM *r, *s;

	/* ECDSA P-256 over SHA-384, as an ES384 verifier would compute. */
	EVP_DigestSignInit_ex(ctx, NULL, "SHA384", NULL, NULL, p256, NULL);
	EVP_DigestSign(ctx, der, &derlen, data, DATALEN);
	EVP_MD_CTX_free(ctx);
	esig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	ECDSA_SIG_get0(esig, &r, &s);
	BN_bn2binpad(r, padded, 48);
	BN_bn2binpad(s, padded + 48, 48);
	ECDSA_SIG_free(esig);
	sig = padded;
	siglen = sizeof(padded);
	ok(raw_verify(p256, "SHA384", -1, -1, der, derlen) == 1 &&
	       verify(JWS_ES384, p256, data, DATALEN, sig, siglen, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "does not fit") != NULL,
	   "P-256 key with ES384 (a signature OpenSSL alone would accept) refused");
}

/* jws_sig_verify_crv (pj_verify's call, with the JWK crv the key was built from): for ECDSA the curve is
 * the crv named, compared with the alg's; a crv of another curve is refused as not fitting even though the
 * key itself fits, and NULL reads the curve from OpenSSL as jws_sig_verify does. */
static void test_verify_crv(EVP_PKEY *keys[JWS_ALG_COUNT][2])
{
	static const char *const other[] = {"P-384", "P-521", "P-256"}; /* for ES256, ES384, ES512 */

	for (int i = JWS_ES256; i <= JWS_ES512; i++) {
		const struct jws_alg *alg = jws_alg_by_id((enum jws_alg_id)i);
		EVP_PKEY *key = keys[i][0];
		size_t siglen = 0;
		unsigned char *sig = tk_sign_bytes((enum jws_alg_id)i, key, data, DATALEN, &siglen);
		struct pj_error err;

		ok(sig != NULL &&
		       jws_sig_verify_crv(alg, key, alg->crv, data, DATALEN, sig, siglen, &err) == PJ_OK,
		   "%s: verified with its key named by crv %s", alg->name, alg->crv);
		ok(jws_sig_verify_crv(alg, key, NULL, data, DATALEN, sig, siglen, &err) == PJ_OK,
		   "%s: verified with crv NULL (the curve read from OpenSSL)", alg->name);
		ok(jws_sig_verify_crv(alg, key, other[i - JWS_ES256], data, DATALEN, sig, siglen, &err) ==
		           PJ_ERR_TOKEN &&
		       strstr(err.reason, "does not fit") != NULL,
		   "%s: a key said to be on %s refused as not fitting", alg->name, other[i - JWS_ES256]);
		ok(jws_sig_verify_crv(alg, keys[JWS_RS256][0], alg->crv, data, DATALEN, sig, siglen, &err) ==
		           PJ_ERR_TOKEN &&
		       strstr(err.reason, "does not fit") != NULL,
		   "%s: an RSA key named by crv %s still refused (the key's type is OpenSSL's)", alg->name,
		   alg->crv);
		free(sig);
	}
}

/* The decoded length of a base64url JWK member, or 0. */
static size_t member_len(json_object *jwk, const char *key)
{
	json_object *v;
	unsigned char *buf;
	size_t len = 0;
	const char *str;

	if (!json_object_object_get_ex(jwk, key, &v) || (str = json_object_get_string(v)) == NULL)
		return 0;
	if (b64url_decode(str, strlen(str), &buf, &len, NULL) != PJ_OK)
		return 0;
	free(buf);
	return len;
}

static const char *member_str(json_object *jwk, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(jwk, key, &v) ? json_object_get_string(v) : "";
}

/* The testkit's own output: JWK members sized as RFC 7518 wants, tokens that verify over "h.p". */
static void test_testkit(EVP_PKEY *keys[JWS_ALG_COUNT][2])
{
	static const size_t coord[] = {32, 48, 66};
	char *text, *tok, *dot2;
	json_object *jwk;
	size_t siglen;
	unsigned char *sig;

	text = tk_jwk_json(keys[JWS_RS256][0], "k\"1", "RS256", "\"use\":\"sig\"");
	jwk = text ? json_tokener_parse(text) : NULL;
	ok(jwk != NULL && strcmp(member_str(jwk, "kty"), "RSA") == 0 && member_len(jwk, "n") == 256 &&
	       member_len(jwk, "e") == 3 && strcmp(member_str(jwk, "kid"), "k\"1") == 0 &&
	       strcmp(member_str(jwk, "alg"), "RS256") == 0 && strcmp(member_str(jwk, "use"), "sig") == 0,
	   "testkit: RSA JWK with n, e, kid (escaped), alg and extra members");
	json_object_put(jwk);
	free(text);
	for (int i = 0; i < 3; i++) {
		const struct jws_alg *alg = jws_alg_by_id((enum jws_alg_id)(JWS_ES256 + i));

		text = tk_jwk_json(keys[JWS_ES256 + i][0], NULL, NULL, NULL);
		jwk = text ? json_tokener_parse(text) : NULL;
		ok(jwk != NULL && strcmp(member_str(jwk, "crv"), alg->crv) == 0 &&
		       member_len(jwk, "x") == coord[i] && member_len(jwk, "y") == coord[i] &&
		       !json_object_object_get_ex(jwk, "kid", NULL),
		   "testkit: %s JWK with %zu-byte coordinates and no kid", alg->crv, coord[i]);
		json_object_put(jwk);
		free(text);
	}
	text = tk_jwk_json(keys[JWS_EDDSA][0], "ed", NULL, NULL);
	jwk = text ? json_tokener_parse(text) : NULL;
	ok(jwk != NULL && strcmp(member_str(jwk, "kty"), "OKP") == 0 &&
	       strcmp(member_str(jwk, "crv"), "Ed25519") == 0 && member_len(jwk, "x") == 32,
	   "testkit: Ed25519 JWK");
	json_object_put(jwk);
	free(text);

	tok = tk_sign(JWS_ES512, keys[JWS_ES512][0], "{\"alg\":\"ES512\"}", "{\"sub\":\"a\"}");
	dot2 = tok ? strrchr(tok, '.') : NULL;
	sig = NULL;
	ok(dot2 != NULL &&
	       strncmp(tok, "eyJhbGciOiJFUzUxMiJ9.eyJzdWIiOiJhIn0.", (size_t)(dot2 - tok) + 1) == 0 &&
	       b64url_decode(dot2 + 1, strlen(dot2 + 1), &sig, &siglen, NULL) == PJ_OK &&
	       verify(JWS_ES512, keys[JWS_ES512][0], (const unsigned char *)tok, (size_t)(dot2 - tok), sig,
	              siglen, NULL) == PJ_OK,
	   "testkit: tk_sign encodes header and payload as given and its signature verifies");
	free(sig);
	free(tok);
}

/* An RSA key restricted to PSS (type "RSA-PSS"); EVP_PKEY_Q_keygen cannot make one. */
static EVP_PKEY *keygen_rsa_pss(void)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA-PSS", NULL);
	EVP_PKEY *pkey = NULL;

	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 2048) <= 0 || EVP_PKEY_generate(ctx, &pkey) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

int main(void)
{
	EVP_PKEY *rsa1 = tk_keygen(JWS_RS256), *rsa2 = tk_keygen(JWS_RS256);
	EVP_PKEY *keys[JWS_ALG_COUNT][2] = {{NULL}};
	EVP_PKEY *pss_key;

	test_alg_table();
	if (!ok(rsa1 != NULL && rsa2 != NULL, "RSA keys generated"))
		return tap_done();
	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		const struct jws_alg *alg = jws_alg_by_id((enum jws_alg_id)i);

		if (alg->kind == JWS_SIG_RSA_PKCS1 || alg->kind == JWS_SIG_RSA_PSS) {
			keys[i][0] = rsa1;
			keys[i][1] = rsa2;
		} else {
			keys[i][0] = tk_keygen((enum jws_alg_id)i);
			keys[i][1] = tk_keygen((enum jws_alg_id)i);
		}
		test_common((enum jws_alg_id)i, keys[i][0], keys[i][1]);
	}
	for (int i = JWS_PS256; i <= JWS_PS512; i++)
		test_pss_params((enum jws_alg_id)i, rsa1);
	test_rsa_short(JWS_PS256, rsa1);
	test_rsa_padding_confusion(rsa1);
	for (int i = JWS_ES256; i <= JWS_ES512; i++) {
		test_ecdsa_encoding((enum jws_alg_id)i, keys[i][0]);
		test_ecdsa_shapes((enum jws_alg_id)i, keys[i][0]);
	}
	test_ecdsa_r_order(keys[JWS_ES256][0]);
	test_testkit(keys);

	ok(mismatch(JWS_RS256, JWS_ES256, rsa1), "RSA key with ES256 refused as not fitting");
	ok(mismatch(JWS_ES384, JWS_ES256, keys[JWS_ES384][0]), "P-384 key with ES256 refused as not fitting");
	ok(mismatch(JWS_ES256, JWS_ES512, keys[JWS_ES256][0]), "P-256 key with ES512 refused as not fitting");
	ok(mismatch(JWS_EDDSA, JWS_RS256, keys[JWS_EDDSA][0]),
	   "Ed25519 key with RS256 refused as not fitting");
	ok(mismatch(JWS_ES256, JWS_EDDSA, keys[JWS_ES256][0]), "P-256 key with EdDSA refused as not fitting");
	ok(mismatch(JWS_RS256, JWS_EDDSA, rsa1), "RSA key with EdDSA refused as not fitting");
	ok(mismatch(JWS_EDDSA, JWS_ES256, keys[JWS_EDDSA][0]),
	   "Ed25519 key with ES256 refused as not fitting");
	test_curve_confusion(keys[JWS_ES256][0]);
	test_verify_crv(keys);

	pss_key = keygen_rsa_pss();
	ok(pss_key != NULL && mismatch(JWS_PS256, JWS_PS256, pss_key),
	   "an RSA-PSS-typed key is not taken for PS256");
	EVP_PKEY_free(pss_key);
	ok(jws_sig_verify(NULL, rsa1, data, DATALEN, (const unsigned char *)"x", 1, NULL) == PJ_ERR_TOKEN &&
	       jws_sig_verify(jws_alg_by_id(JWS_RS256), NULL, data, DATALEN, (const unsigned char *)"x", 1,
	                      NULL) == PJ_ERR_TOKEN,
	   "NULL alg or key refused");
	{
		/* no data (NULL, length 0) is the empty message: an Ed25519 signature over "" verifies */
		size_t elen = 0;
		unsigned char *esig =
		    tk_sign_bytes(JWS_EDDSA, keys[JWS_EDDSA][0], (const unsigned char *)"", 0, &elen);

		ok(esig != NULL && jws_sig_verify(jws_alg_by_id(JWS_EDDSA), keys[JWS_EDDSA][0], NULL, 0, esig,
		                                  elen, NULL) == PJ_OK,
		   "NULL data is the empty message");
		free(esig);
	}

	for (int i = JWS_ES256; i < JWS_ALG_COUNT; i++) {
		EVP_PKEY_free(keys[i][0]);
		EVP_PKEY_free(keys[i][1]);
	}
	EVP_PKEY_free(rsa1);
	EVP_PKEY_free(rsa2);
	return tap_done();
}
