/* test_jwk.c: JWKS parsing into OpenSSL keys, the per-key usability rules and key selection. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/jwk.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/jws_sig.h"
#include "tap.h"
#include "testkit.h"

/* Strings made during the tests, freed at the end (so valgrind stays quiet). */
static char *pool[4096];
static size_t pool_n;

static char *keep(char *s)
{
	if (s == NULL) {
		tap_diag("allocation failed");
		exit(2);
	}
	if (pool_n < sizeof(pool) / sizeof(pool[0]))
		pool[pool_n++] = s;
	return s;
}

static void pool_free(void)
{
	for (size_t i = 0; i < pool_n; i++)
		free(pool[i]);
}

static const struct jws_alg *A(enum jws_alg_id id)
{
	return jws_alg_by_id(id);
}

static char *b64(const unsigned char *b, size_t n)
{
	return keep(b64url_encode(b, n));
}

/* {"keys":[j1,j2,...]} from a NULL-terminated list of JWK texts. */
static char *jwks(const char *first, ...)
{
	va_list ap;
	size_t len = 16;
	char *s;
	const char *j;

	va_start(ap, first);
	for (j = first; j != NULL; j = va_arg(ap, const char *))
		len += strlen(j) + 1;
	va_end(ap);
	s = keep(calloc(1, len));
	strcpy(s, "{\"keys\":[");
	va_start(ap, first);
	for (j = first; j != NULL; j = va_arg(ap, const char *)) {
		if (j != first)
			strcat(s, ",");
		strcat(s, j);
	}
	va_end(ap);
	strcat(s, "]}");
	return s;
}

static struct jwk_set *parse(const char *json)
{
	struct jwk_set *set = NULL;
	struct pj_error err;

	if (jwk_set_parse(json, strlen(json), &set, &err) != PJ_OK) {
		tap_diag("parse failed: %s", err.reason);
		return NULL;
	}
	return set;
}

static const struct jwk *by_kid(const struct jwk_set *set, const char *kid)
{
	for (size_t i = 0; set != NULL && i < set->n_keys; i++) {
		if (set->keys[i].kid != NULL && strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	}
	return NULL;
}

/* usable() and skipped() judge a key as `pam-jwt jwks status` shows it: every key built (a parse leaves the
 * keys that pass its checks pending, built when a token selects them; test_lazy covers that path). */
static bool usable(const struct jwk_set *set, const char *kid)
{
	const struct jwk *k = (jwk_set_build_all(set), by_kid(set, kid));

	return k != NULL && k->usable && k->pkey != NULL;
}

/* Unusable with a skip reason containing what. */
static bool skipped(const struct jwk_set *set, const char *kid, const char *what)
{
	const struct jwk *k = (jwk_set_build_all(set), by_kid(set, kid));

	if (k == NULL)
		return false;
	if (k->usable || k->pkey != NULL)
		return false;
	if (strstr(k->skip_reason, what) == NULL) {
		tap_diag("kid %s skipped for \"%s\", expected \"%s\"", kid, k->skip_reason, what);
		return false;
	}
	return true;
}

/* Selection result: PJ_OK with the expected kid, or a refusal whose reason contains what. */
static bool selects(const struct jwk_set *set, enum jws_alg_id alg, const char *kid, const char *want_kid)
{
	const struct jwk *k = NULL;
	struct pj_error err;

	if (jwk_set_select(set, A(alg), kid, &k, &err) != PJ_OK) {
		tap_diag("select refused: %s", err.reason);
		return false;
	}
	return k != NULL && k->kid != NULL && strcmp(k->kid, want_kid) == 0;
}

static bool refuses(const struct jwk_set *set, enum jws_alg_id alg, const char *kid, const char *what)
{
	const struct jwk *k = NULL;
	struct pj_error err;
	pj_status r = jwk_set_select(set, A(alg), kid, &k, &err);

	if (r != PJ_ERR_TOKEN || k != NULL)
		return false;
	if (strstr(err.reason, what) == NULL) {
		tap_diag("refused for \"%s\", expected \"%s\"", err.reason, what);
		return false;
	}
	return true;
}

static bool doc_refused(const char *json, size_t len, const char *what)
{
	struct jwk_set *set = NULL;
	struct pj_error err;
	pj_status r = jwk_set_parse(json, len, &set, &err);

	jwk_set_free(set);
	if (r != PJ_ERR_TOKEN || set != NULL)
		return false;
	if (strncmp(err.reason, "JWKS: ", 6) != 0 || strstr(err.reason, what) == NULL) {
		tap_diag("refused for \"%s\", expected \"%s\"", err.reason, what);
		return false;
	}
	return true;
}

static EVP_PKEY *gen(enum jws_alg_id alg)
{
	EVP_PKEY *k = tk_keygen(alg);

	if (k == NULL) {
		tap_diag("keygen failed");
		exit(2);
	}
	return k;
}

static char *jwk_of(EVP_PKEY *k, const char *kid, const char *alg, const char *extra)
{
	return keep(tk_jwk_json(k, kid, alg, extra));
}

/* RSA n or e as unsigned big-endian bytes. */
static unsigned char *rsa_part(EVP_PKEY *k, const char *name, size_t *len)
{
	BIGNUM *bn = NULL;
	unsigned char *b;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		exit(2);
	*len = (size_t)BN_num_bytes(bn);
	b = (unsigned char *)keep(malloc(*len + 1));
	BN_bn2bin(bn, b);
	BN_free(bn);
	return b;
}

static char *rsa_jwk_raw(const char *kid, const unsigned char *n, size_t nlen, const unsigned char *e,
                         size_t elen)
{
	return keep(tk_strf("{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}", kid, b64(n, nlen),
	                    b64(e, elen)));
}

/* The uncompressed point 04||x||y of an EC key. */
static size_t ec_point(EVP_PKEY *k, unsigned char *buf, size_t buflen)
{
	size_t len = 0;

	if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, buf, buflen, &len) != 1 ||
	    buf[0] != 4)
		exit(2);
	return len;
}

static char *ec_jwk_raw(const char *kid, const char *crv, const unsigned char *x, size_t xlen,
                        const unsigned char *y, size_t ylen)
{
	return keep(tk_strf("{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid,
	                    crv, b64(x, xlen), b64(y, ylen)));
}

static char *okp_jwk_raw(const char *kid, const char *crv, const unsigned char *x, size_t xlen)
{
	return keep(
	    tk_strf("{\"kty\":\"OKP\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\"}", kid, crv, b64(x, xlen)));
}

static void test_document(void)
{
	const char *s;
	struct jwk_set *set;
	char *big;
	size_t len;

	ok(doc_refused("[]", 2, ""), "a JSON array as the document is refused");
	ok(doc_refused("\"keys\"", 6, ""), "a JSON string as the document is refused");
	ok(doc_refused("{\"keys\":[]", 10, ""), "truncated JSON is refused");
	ok(doc_refused("{}", 2, "keys"), "a document without \"keys\" is refused");
	s = "{\"keys\":{}}";
	ok(doc_refused(s, strlen(s), "not an array"), "\"keys\" as an object is refused");
	s = "{\"keys\":\"abc\"}";
	ok(doc_refused(s, strlen(s), "not an array"), "\"keys\" as a string is refused");
	s = "{\"keys\":null}";
	ok(doc_refused(s, strlen(s), "not an array"), "\"keys\" null is refused");
	s = "{\"keys\":[],\"keys\":[]}";
	ok(doc_refused(s, strlen(s), ""), "duplicate \"keys\" members are refused (strict JSON)");

	set = parse("{\"keys\":[]}");
	ok(set != NULL && set->n_keys == 0, "an empty key set parses");
	jwk_set_free(set);

	/* 256 entries are allowed, 257 are not */
	len = 16 + 257 * 3;
	big = keep(calloc(1, len));
	strcpy(big, "{\"keys\":[");
	for (int i = 0; i < 256; i++)
		strcat(big, i ? ",{}" : "{}");
	strcat(big, "]}");
	set = parse(big);
	ok(set != NULL && set->n_keys == 256 && !set->keys[255].usable, "256 entries are accepted");
	jwk_set_free(set);
	big[strlen(big) - 2] = '\0';
	strcat(big, ",{}]}");
	ok(doc_refused(big, strlen(big), "more than 256"), "257 entries are refused");
}

static void test_rsa(void)
{
	EVP_PKEY *k1024 = tk_keygen_rsa(1024), *k2048 = gen(JWS_RS256);
	unsigned char *n, *e, *n0, big[2049], e9[9] = {1, 0, 0, 0, 0, 0, 0, 0, 1};
	unsigned char e8[8] = {1, 0, 0, 0, 0, 0, 0, 1}, e_even[3] = {1, 0, 0}, e_one[1] = {1};
	unsigned char e_lz[4] = {0, 1, 0, 1};
	size_t nlen, elen;
	struct jwk_set *set;

	n = rsa_part(k2048, OSSL_PKEY_PARAM_RSA_N, &nlen);
	e = rsa_part(k2048, OSSL_PKEY_PARAM_RSA_E, &elen);
	n0 = (unsigned char *)keep(malloc(nlen + 1));
	n0[0] = 0;
	memcpy(n0 + 1, n, nlen);
	memset(big, 0xff, sizeof(big));
	big[0] = 0x01; /* 16385 bits, odd */

	set = parse(
	    jwks(jwk_of(k1024, "r1024", NULL, NULL), jwk_of(k2048, "r2048", NULL, NULL),
	         rsa_jwk_raw("lz", n0, nlen + 1, e, elen), rsa_jwk_raw("huge", big, sizeof(big), e, elen),
	         rsa_jwk_raw("e9", n, nlen, e9, sizeof(e9)), rsa_jwk_raw("e8", n, nlen, e8, sizeof(e8)),
	         rsa_jwk_raw("eeven", n, nlen, e_even, sizeof(e_even)),
	         rsa_jwk_raw("eone", n, nlen, e_one, sizeof(e_one)),
	         rsa_jwk_raw("elz", n, nlen, e_lz, sizeof(e_lz)),
	         "{\"kty\":\"RSA\",\"kid\":\"noe\",\"n\":\"AQAB\"}",
	         "{\"kty\":\"RSA\",\"kid\":\"nnum\",\"n\":5,\"e\":\"AQAB\"}",
	         "{\"kty\":\"RSA\",\"kid\":\"nb64\",\"n\":\"a+b/\",\"e\":\"AQAB\"}",
	         "{\"kty\":\"RSA\",\"kid\":\"nempty\",\"n\":\"\",\"e\":\"AQAB\"}", NULL));
	ok(set != NULL && set->n_keys == 13, "RSA set parses with every entry kept");
	ok(skipped(set, "r1024", "under 2048"), "RSA 1024-bit key is unusable");
	ok(by_kid(set, "r1024") && by_kid(set, "r1024")->bits == 1024, "its size is kept for status output");
	ok(usable(set, "r2048") && by_kid(set, "r2048")->bits == 2048, "RSA 2048-bit key is usable");
	ok(refuses(set, JWS_RS256, "r1024", "under 2048"),
	   "selecting the 1024-bit key is refused with its reason");
	ok(selects(set, JWS_RS256, "r2048", "r2048"), "the 2048-bit key is selected for RS256");
	ok(selects(set, JWS_PS512, "r2048", "r2048"), "the 2048-bit key is selected for PS512");
	ok(skipped(set, "lz", "leading zero"), "n with a leading zero octet is unusable");
	ok(skipped(set, "huge", "over 16384"), "a modulus over 16384 bits is unusable");
	ok(skipped(set, "e9", "longer than 8"), "an exponent over 8 bytes is unusable");
	ok(usable(set, "e8"), "an 8-byte odd exponent is usable");
	ok(skipped(set, "eeven", "odd"), "an even exponent is unusable");
	ok(skipped(set, "eone", "greater than 1"), "exponent 1 is unusable");
	ok(skipped(set, "elz", "leading zero"), "e with a leading zero octet is unusable");
	ok(skipped(set, "noe", "no \"e\""), "a missing e makes the key unusable");
	ok(skipped(set, "nnum", "not a string"), "n as a number makes the key unusable");
	ok(skipped(set, "nb64", "base64url"), "n in standard base64 makes the key unusable");
	ok(skipped(set, "nempty", "empty"), "an empty n makes the key unusable");
	jwk_set_free(set);

	/* an even modulus cannot be RSA */
	n[nlen - 1] &= 0xfe;
	set = parse(jwks(rsa_jwk_raw("neven", n, nlen, e, elen), NULL));
	ok(skipped(set, "neven", "even"), "an even modulus is unusable");
	jwk_set_free(set);
	EVP_PKEY_free(k1024);
	EVP_PKEY_free(k2048);
}

static void test_ec(void)
{
	EVP_PKEY *p256 = gen(JWS_ES256), *p384 = gen(JWS_ES384), *p521 = gen(JWS_ES512);
	EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
	unsigned char pt[1 + 2 * 66], k1pt[65], x33[33];
	size_t len;
	struct jwk_set *set;
	const char *kids[] = {"p256", "p384", "p521"};
	enum jws_alg_id algs[] = {JWS_ES256, JWS_ES384, JWS_ES512};
	const char *crvs[] = {"P-256", "P-384", "P-521"};
	char *off, *xlong, *xshort, *ylong, *k1jwk, *wrongcrv, *nocrv;

	len = ec_point(p256, pt, sizeof(pt));
	ok(len == 65, "P-256 point is 65 bytes");
	x33[0] = 0;
	memcpy(x33 + 1, pt + 1, 32);
	xlong = ec_jwk_raw("xlong", "P-256", x33, 33, pt + 33, 32);
	xshort = ec_jwk_raw("xshort", "P-256", pt + 2, 31, pt + 33, 32);
	ylong = ec_jwk_raw("ylong", "P-256", pt + 1, 32, x33, 33);
	/* P-256 coordinates under a P-384 name: wrong length for that curve */
	wrongcrv = ec_jwk_raw("wrongcrv", "P-384", pt + 1, 32, pt + 33, 32);
	nocrv = keep(tk_strf("{\"kty\":\"EC\",\"kid\":\"nocrv\",\"x\":\"%s\",\"y\":\"%s\"}", b64(pt + 1, 32),
	                     b64(pt + 33, 32)));
	pt[64] ^= 0x01;
	off = ec_jwk_raw("off", "P-256", pt + 1, 32, pt + 33, 32);
	pt[64] ^= 0x01;
	ok(k1 != NULL && ec_point(k1, k1pt, sizeof(k1pt)) == 65, "secp256k1 key made");
	k1jwk = ec_jwk_raw("k1", "secp256k1", k1pt + 1, 32, k1pt + 33, 32);

	set = parse(jwks(jwk_of(p256, "p256", NULL, NULL), jwk_of(p384, "p384", NULL, NULL),
	                 jwk_of(p521, "p521", NULL, NULL), off, xlong, xshort, ylong, k1jwk, wrongcrv, nocrv,
	                 ec_jwk_raw("samecoords", "P-256", pt + 1, 32, pt + 33, 32), NULL));
	ok(set != NULL && set->n_keys == 11, "EC set parses");
	for (int i = 0; i < 3; i++) {
		ok(usable(set, kids[i]), "%s key is usable", crvs[i]);
		for (int j = 0; j < 3; j++) {
			char want[64];

			snprintf(want, sizeof(want), "is EC %s, token alg %s", crvs[i], A(algs[j])->name);
			if (i == j)
				ok(selects(set, algs[j], kids[i], kids[i]), "%s key selected for %s", crvs[i],
				   A(algs[j])->name);
			else
				ok(refuses(set, algs[j], kids[i], want), "%s key refused for %s", crvs[i],
				   A(algs[j])->name);
		}
		ok(refuses(set, JWS_RS256, kids[i], "is EC, token alg RS256"), "%s key refused for RS256",
		   crvs[i]);
		ok(refuses(set, JWS_EDDSA, kids[i], "token alg EdDSA"), "%s key refused for EdDSA", crvs[i]);
	}
	ok(by_kid(set, "p521") && by_kid(set, "p521")->bits == 521, "P-521 key reports 521 bits");
	ok(skipped(set, "off", "not a valid P-256"), "an off-curve point is unusable");
	ok(skipped(set, "xlong", "32 bytes"), "x of 33 bytes (leading zero) is unusable");
	ok(skipped(set, "xshort", "32 bytes"), "x of 31 bytes is unusable");
	ok(skipped(set, "ylong", "32 bytes"), "y of 33 bytes is unusable");
	ok(skipped(set, "k1", "curve not supported"), "secp256k1 is unusable");
	ok(skipped(set, "wrongcrv", "48 bytes"), "P-256 coordinates named P-384 are unusable");
	ok(skipped(set, "nocrv", "without \"crv\""), "an EC key without crv is unusable");
	ok(usable(set, "samecoords"), "the unmodified point (control for the off-curve test) is usable");
	jwk_set_free(set);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(k1);
}

static void test_okp_and_unsupported(void)
{
	EVP_PKEY *ed = gen(JWS_EDDSA), *p256 = gen(JWS_ES256);
	EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519"),
	         *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	unsigned char raw[57];
	size_t len = sizeof(raw);
	char *xj, *e448j, *ed31;
	struct jwk_set *set;

	ok(x25519 != NULL && EVP_PKEY_get_raw_public_key(x25519, raw, &len) == 1 && len == 32,
	   "X25519 key made");
	xj = okp_jwk_raw("x25519", "X25519", raw, 32);
	ed31 = okp_jwk_raw("ed31", "Ed25519", raw, 31);
	len = sizeof(raw);
	ok(ed448 != NULL && EVP_PKEY_get_raw_public_key(ed448, raw, &len) == 1 && len == 57,
	   "Ed448 key made");
	e448j = okp_jwk_raw("ed448", "Ed448", raw, 57);

	set = parse(jwks(
	    xj, jwk_of(ed, "ed", NULL, NULL), e448j, "{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"c2VjcmV0\"}",
	    jwk_of(p256, "p256", NULL, NULL), "{\"kty\":\"XYZ\",\"kid\":\"xyz\"}",
	    "{\"kid\":\"nokty\",\"n\":\"AQAB\",\"e\":\"AQAB\"}", "{\"kty\":7,\"kid\":\"ktynum\"}", ed31,
	    "{\"kty\":\"OKP\",\"kid\":\"okpnocrv\",\"x\":\"AAAA\"}", "17", "\"str\"", "[]", "null", NULL));
	ok(set != NULL && set->n_keys == 14, "mixed set parses with every entry kept");
	ok(usable(set, "ed"), "Ed25519 key is usable");
	ok(selects(set, JWS_EDDSA, "ed", "ed"), "Ed25519 key selected for EdDSA");
	ok(refuses(set, JWS_ES256, "ed", "is OKP, token alg ES256"), "Ed25519 key refused for ES256");
	ok(refuses(set, JWS_RS256, "ed", "token alg RS256"), "Ed25519 key refused for RS256");
	ok(skipped(set, "x25519", "not supported"), "X25519 is unusable");
	ok(skipped(set, "ed448", "not supported"), "Ed448 is unusable");
	ok(skipped(set, "oct", "oct"), "a symmetric (oct) key is unusable");
	ok(skipped(set, "xyz", "kty not supported"), "an unknown kty is unusable");
	ok(skipped(set, "ktynum", "not a string"), "kty as a number is unusable");
	ok(skipped(set, "ed31", "32 bytes"), "an Ed25519 x of 31 bytes is unusable");
	ok(skipped(set, "okpnocrv", "crv"), "OKP without crv is unusable");
	ok(by_kid(set, "nokty") && !by_kid(set, "nokty")->usable, "an entry without kty is unusable");
	for (size_t i = 10; set != NULL && i < 14; i++)
		ok(!set->keys[i].usable && strstr(set->keys[i].skip_reason, "not a JSON object"),
		   "entry %zu (not an object) is unusable", i);
	ok(usable(set, "p256") && selects(set, JWS_ES256, "p256", "p256"),
	   "the P-256 key in the same set is usable");
	ok(selects(set, JWS_EDDSA, NULL, "ed"), "without kid the one Ed25519 key is selected");
	ok(selects(set, JWS_ES256, NULL, "p256"), "without kid the one P-256 key is selected");
	ok(refuses(set, JWS_ES256, "x25519", "not usable"), "selecting the X25519 kid is refused");
	ok(refuses(set, JWS_EDDSA, "oct", "oct"), "selecting the oct kid is refused with its reason");
	jwk_set_free(set);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(x25519);
	EVP_PKEY_free(ed448);
}

static void test_members(void)
{
	EVP_PKEY *r = gen(JWS_RS256), *p256 = gen(JWS_ES256);
	struct jwk_set *set;
	char kid256[JWK_KID_MAX + 1], kid257[JWK_KID_MAX + 2];

	memset(kid256, 'k', JWK_KID_MAX);
	kid256[JWK_KID_MAX] = '\0';
	memset(kid257, 'l', JWK_KID_MAX + 1);
	kid257[JWK_KID_MAX + 1] = '\0';

	set = parse(jwks(jwk_of(r, "rs256", "RS256", NULL), jwk_of(p256, "es256", "ES256", NULL),
	                 jwk_of(r, "ps384", "PS384", NULL), jwk_of(r, "oaep", "RSA-OAEP", NULL),
	                 jwk_of(r, "hs", "HS256", NULL), jwk_of(r, "usesig", NULL, "\"use\":\"sig\""),
	                 jwk_of(r, "useenc", NULL, "\"use\":\"enc\""), jwk_of(r, "usenum", NULL, "\"use\":1"),
	                 jwk_of(r, "opsverify", NULL, "\"key_ops\":[\"verify\"]"),
	                 jwk_of(r, "opsboth", NULL, "\"key_ops\":[\"sign\",\"verify\"]"),
	                 jwk_of(r, "opsencrypt", NULL, "\"key_ops\":[\"encrypt\"]"),
	                 jwk_of(r, "opsempty", NULL, "\"key_ops\":[]"),
	                 jwk_of(r, "opsstring", NULL, "\"key_ops\":\"verify\""),
	                 jwk_of(r, "opsmixed", NULL, "\"key_ops\":[\"verify\",1]"),
	                 jwk_of(r, "priv", NULL, "\"d\":\"AQAB\""),
	                 jwk_of(p256, "ecpriv", NULL, "\"d\":\"AQAB\""),
	                 jwk_of(r, "privp", NULL, "\"p\":\"AQAB\""), jwk_of(r, kid256, NULL, NULL),
	                 jwk_of(r, kid257, NULL, NULL), jwk_of(r, "algnum", NULL, "\"alg\":5"),
	                 "{\"kty\":\"RSA\",\"kid\":5}", NULL));
	ok(set != NULL && set->n_keys == 21, "member-rule set parses");
	ok(selects(set, JWS_RS256, "rs256", "rs256"), "a key with alg RS256 is selected for RS256");
	ok(refuses(set, JWS_PS256, "rs256", "is for alg RS256, token alg PS256"),
	   "... and refused for PS256");
	ok(refuses(set, JWS_RS384, "rs256", "is for alg RS256"), "... and refused for RS384");
	ok(selects(set, JWS_PS384, "ps384", "ps384"), "a key with alg PS384 is selected for PS384");
	ok(refuses(set, JWS_RS256, "ps384", "is for alg PS384"), "... and refused for RS256");
	ok(selects(set, JWS_ES256, "es256", "es256"), "an EC key with alg ES256 is selected for ES256");
	ok(skipped(set, "oaep", "alg"), "a key with an encryption alg is unusable");
	ok(skipped(set, "hs", "alg"), "a key with alg HS256 is unusable");
	ok(skipped(set, "algnum", "\"alg\" is not a string"), "alg as a number is unusable");
	ok(usable(set, "usesig"), "use sig is usable");
	ok(skipped(set, "useenc", "use"), "use enc is unusable");
	ok(refuses(set, JWS_RS256, "useenc", "use"), "selecting the use=enc key is refused");
	ok(skipped(set, "usenum", "use"), "use as a number is unusable");
	ok(usable(set, "opsverify"), "key_ops [verify] is usable");
	ok(usable(set, "opsboth"), "key_ops [sign, verify] is usable");
	ok(skipped(set, "opsencrypt", "verify"), "key_ops [encrypt] is unusable");
	ok(skipped(set, "opsempty", "verify"), "key_ops [] is unusable");
	ok(skipped(set, "opsstring", "not an array"), "key_ops as a string is unusable");
	ok(skipped(set, "opsmixed", "array of strings"), "key_ops with a number in it is unusable");
	ok(skipped(set, "priv", "private key material published"), "an RSA key with d is unusable");
	ok(skipped(set, "ecpriv", "private key material published"), "an EC key with d is unusable");
	ok(skipped(set, "privp", "private key material published"), "an RSA key with p is unusable");
	ok(usable(set, kid256), "a kid of 256 bytes is usable");
	ok(selects(set, JWS_RS256, kid256, kid256), "... and selectable");
	ok(set != NULL && !set->keys[18].usable && set->keys[18].kid == NULL &&
	       strstr(set->keys[18].skip_reason, "longer than 256"),
	   "a kid of 257 bytes is unusable");
	ok(refuses(set, JWS_RS256, kid257, "no key with kid"), "... and never selected");
	ok(set != NULL && !set->keys[20].usable &&
	       strstr(set->keys[20].skip_reason, "\"kid\" is not a string"),
	   "kid as a number is unusable");
	jwk_set_free(set);
	EVP_PKEY_free(r);
	EVP_PKEY_free(p256);
}

static void test_selection(void)
{
	EVP_PKEY *r1 = gen(JWS_RS256), *r2 = gen(JWS_RS256), *p256 = gen(JWS_ES256);
	struct jwk_set *set;
	const struct jwk *k;
	struct pj_error err;

	/* a kid listed twice: both entries unusable, others unaffected */
	set = parse(jwks(jwk_of(r1, "dup", NULL, NULL), jwk_of(r2, "dup", NULL, NULL),
	                 jwk_of(p256, "other", NULL, NULL), NULL));
	ok(set != NULL && !set->keys[0].usable && !set->keys[1].usable && set->keys[0].pkey == NULL &&
	       strstr(set->keys[0].skip_reason, "kid listed twice") &&
	       strstr(set->keys[1].skip_reason, "kid listed twice"),
	   "both entries of a duplicated kid are unusable");
	ok(refuses(set, JWS_RS256, "dup", "kid listed twice"), "selecting the duplicated kid is refused");
	ok(refuses(set, JWS_RS256, NULL, "no kid and 0 keys fit"), "without kid the duplicates do not count");
	ok(!jwk_set_has_kid(set, "dup"), "has_kid is false for a duplicated kid");
	ok(jwk_set_has_kid(set, "other"), "has_kid is true for a usable kid");
	ok(selects(set, JWS_ES256, "other", "other"), "the other key is still selected");
	jwk_set_free(set);

	/* a duplicated kid where one copy was unusable anyway still blocks the usable one */
	set = parse(jwks(jwk_of(r1, "dup2", NULL, NULL), jwk_of(r2, "dup2", NULL, "\"use\":\"enc\""), NULL));
	ok(refuses(set, JWS_RS256, "dup2", "kid listed twice"),
	   "a duplicate with an unusable twin is refused");
	jwk_set_free(set);

	/* without kid: exactly one fitting key */
	set = parse(jwks(jwk_of(r1, "a", NULL, NULL), jwk_of(p256, "b", NULL, NULL), NULL));
	ok(selects(set, JWS_RS256, NULL, "a"), "without kid the one RSA key is selected for RS256");
	ok(selects(set, JWS_ES256, NULL, "b"), "without kid the one EC key is selected for ES256");
	ok(refuses(set, JWS_ES384, NULL, "no kid and 0 keys fit"), "without kid and no fitting key: refused");
	ok(refuses(set, JWS_RS256, "nope", "no key with kid=nope"), "a kid not in the set is refused");
	ok(!jwk_set_has_kid(set, "nope"), "has_kid is false for a missing kid");
	ok(!jwk_set_has_kid(set, NULL), "has_kid is false for no kid");
	jwk_set_free(set);

	set = parse(jwks(jwk_of(r1, "a", NULL, NULL), jwk_of(r2, "b", NULL, NULL),
	                 jwk_of(p256, "c", NULL, NULL), NULL));
	ok(refuses(set, JWS_RS256, NULL, "no kid and 2 keys fit"),
	   "without kid and two fitting keys: refused");
	ok(selects(set, JWS_RS256, "b", "b"), "... while the kid picks one");
	ok(selects(set, JWS_ES256, NULL, "c"), "... and the one EC key is still found without kid");
	jwk_set_free(set);

	/* the JWK alg narrows kid-less selection */
	set = parse(jwks(jwk_of(r1, "a", "RS256", NULL), jwk_of(r2, "b", "PS256", NULL), NULL));
	ok(selects(set, JWS_RS256, NULL, "a"), "without kid the key with alg RS256 is picked for RS256");
	ok(selects(set, JWS_PS256, NULL, "b"), "without kid the key with alg PS256 is picked for PS256");
	ok(refuses(set, JWS_RS512, NULL, "no kid and 0 keys fit"), "neither fits RS512");
	jwk_set_free(set);

	/* kid-less keys are selectable without kid; an unusable key without kid does not count */
	set = parse(jwks(jwk_of(r1, NULL, NULL, NULL), jwk_of(r2, NULL, NULL, "\"use\":\"enc\""), NULL));
	ok(set != NULL && jwk_set_build_all(set) == PJ_OK && set->keys[0].usable && set->keys[0].kid == NULL,
	   "a key without kid is usable");
	k = NULL;
	ok(set != NULL && jwk_set_select(set, A(JWS_RS256), NULL, &k, &err) == PJ_OK && k == &set->keys[0],
	   "the one usable kid-less key is selected");
	ok(refuses(set, JWS_RS256, "x", "no key with kid=x"), "a kid is not matched by a kid-less key");
	ok(jwk_set_select(NULL, A(JWS_RS256), NULL, &k, &err) == PJ_ERR_TOKEN && k == NULL &&
	       jwk_set_select(set, NULL, NULL, &k, &err) == PJ_ERR_TOKEN,
	   "no key set or no alg: refused");
	jwk_set_free(set);

	/* kids shown in reasons are escaped */
	set = parse(jwks(jwk_of(p256, NULL, NULL, "\"kid\":\"ctl\\u0001x\""), NULL));
	ok(refuses(set, JWS_RS256, "ctl\001x", "kid=ctl\\x01x"), "a control character in a kid is escaped");
	jwk_set_free(set);

	EVP_PKEY_free(r1);
	EVP_PKEY_free(r2);
	EVP_PKEY_free(p256);
}

/* One key per algorithm, kid = alg name: each alg selects its key and the key verifies a signature. */
static void test_realistic(void)
{
	EVP_PKEY *keys[JWS_ALG_COUNT];
	char *jwk_text[JWS_ALG_COUNT];
	const unsigned char data[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
	size_t total = 32;
	char *doc;
	struct jwk_set *set;

	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		keys[i] = gen((enum jws_alg_id)i);
		/* half of them carry "alg" and "use", as IdPs publish them */
		jwk_text[i] =
		    jwk_of(keys[i], A(i)->name, i % 2 ? A(i)->name : NULL, i % 2 ? "\"use\":\"sig\"" : NULL);
		total += strlen(jwk_text[i]) + 1;
	}
	doc = keep(calloc(1, total));
	strcpy(doc, "{\"keys\":[");
	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		strcat(doc, jwk_text[i]);
		strcat(doc, i + 1 < JWS_ALG_COUNT ? "," : "]}");
	}
	set = parse(doc);
	ok(set != NULL && set->n_keys == JWS_ALG_COUNT, "a JWKS with one key per algorithm parses");
	for (int i = 0; set != NULL && i < JWS_ALG_COUNT; i++) {
		const struct jwk *k = NULL;
		struct pj_error err;
		unsigned char *sig;
		size_t siglen = 0;
		bool good = false, bad = false;

		ok(selects(set, (enum jws_alg_id)i, A(i)->name, A(i)->name), "%s selects its key",
		   A(i)->name);
		if (jwk_set_select(set, A(i), A(i)->name, &k, &err) != PJ_OK)
			continue;
		sig = tk_sign_bytes((enum jws_alg_id)i, keys[i], data, sizeof(data) - 1, &siglen);
		if (sig != NULL) {
			good =
			    jws_sig_verify(A(i), k->pkey, data, sizeof(data) - 1, sig, siglen, &err) == PJ_OK;
			sig[0] ^= 0x40;
			bad =
			    jws_sig_verify(A(i), k->pkey, data, sizeof(data) - 1, sig, siglen, &err) == PJ_OK;
			free(sig);
		}
		ok(good, "%s: the JWKS key verifies a signature made with the private key", A(i)->name);
		ok(!bad, "%s: ... and not a corrupted one", A(i)->name);
	}
	/* a key from the JWKS does not verify another key's signature */
	if (set != NULL) {
		const struct jwk *k = NULL;
		struct pj_error err;
		unsigned char *sig;
		size_t siglen = 0;
		bool verified = true;

		if (jwk_set_select(set, A(JWS_RS256), "RS256", &k, &err) == PJ_OK &&
		    (sig = tk_sign_bytes(JWS_RS256, keys[JWS_RS384], data, sizeof(data) - 1, &siglen)) !=
		        NULL) {
			verified = jws_sig_verify(A(JWS_RS256), k->pkey, data, sizeof(data) - 1, sig, siglen,
			                          &err) == PJ_OK;
			free(sig);
		}
		ok(!verified, "the RS256 key does not verify a signature from the RS384 key");
	}
	jwk_set_free(set);
	for (int i = 0; i < JWS_ALG_COUNT; i++)
		EVP_PKEY_free(keys[i]);
}

/* Each key's EVP_PKEY is built when a token first selects it: a fresh process pays for the token's key only,
 * and a key OpenSSL refuses is refused at that point exactly as an eager parse refused it. */
struct lazy_arg {
	const struct jwk_set *set;
	int bad;
};

static void *lazy_thread(void *arg)
{
	struct lazy_arg *a = arg;
	const enum jws_alg_id algs[] = {JWS_ES256, JWS_RS256, JWS_EDDSA};
	const char *kids[] = {"a", "r", "e"};

	for (int i = 0; i < 300; i++) {
		const struct jwk *k = NULL;
		struct pj_error err;
		int j = i % 3;
		if (jwk_set_select(a->set, A(algs[j]), kids[j], &k, &err) != PJ_OK || k->pkey == NULL ||
		    jwk_set_has_kid(a->set, "off"))
			a->bad++;
	}
	return NULL;
}

static void test_lazy(void)
{
	EVP_PKEY *p256 = gen(JWS_ES256), *rsa = gen(JWS_RS256), *ed = gen(JWS_EDDSA);
	unsigned char pt[1 + 2 * 66];
	const struct jwk *k = NULL;
	struct lazy_arg args[8];
	pthread_t th[8];
	struct pj_error err;
	struct jwk_set *set;
	char *off, *doc;
	bool none_built = true, any = false;
	int bad = 0;

	ok(ec_point(p256, pt, sizeof(pt)) == 65, "P-256 point");
	pt[64] ^= 0x01;
	off = ec_jwk_raw("off", "P-256", pt + 1, 32, pt + 33, 32);
	doc = jwks(off, jwk_of(p256, "a", NULL, NULL), jwk_of(rsa, "r", NULL, NULL),
	           jwk_of(ed, "e", NULL, NULL), NULL);
	set = parse(doc);
	for (size_t i = 0; set != NULL && i < set->n_keys; i++)
		none_built =
		    none_built && set->keys[i].pkey == NULL && set->keys[i].pending && !set->keys[i].usable;
	ok(set != NULL && none_built, "a parse builds no key: all four checked keys are pending");
	ok(selects(set, JWS_ES256, "a", "a") && by_kid(set, "a")->pkey != NULL && by_kid(set, "r")->pending &&
	       by_kid(set, "e")->pending && by_kid(set, "off")->pending,
	   "selecting kid a builds that key only");
	ok(refuses(set, JWS_ES256, "off",
	           "key kid=off is not usable: EC point is not a valid P-256 public key"),
	   "an off-curve point is refused when selected, with the eager parse's reason");
	ok(!by_kid(set, "off")->pending && !by_kid(set, "off")->usable && !jwk_set_has_kid(set, "off"),
	   "and stays unusable (jwk_set_has_kid: no such usable kid)");
	ok(jwk_set_has_kid(set, "r") && by_kid(set, "r")->usable && by_kid(set, "e")->pending,
	   "jwk_set_has_kid builds the key it asks about");
	ok(selects(set, JWS_EDDSA, NULL, "e"), "without kid the alg's one fitting key is built and picked");
	jwk_set_free(set);

	/* without kid, a key that OpenSSL refuses does not count, as before */
	set = parse(jwks(off, jwk_of(p256, "a", NULL, NULL), NULL));
	ok(selects(set, JWS_ES256, NULL, "a") && !by_kid(set, "off")->usable,
	   "without kid: the off-curve P-256 key is built, refused and not counted; the good one is picked");
	jwk_set_free(set);
	set = parse(jwks(off, jwk_of(p256, "a", NULL, NULL), NULL));
	ok(jwk_set_any_usable(set, &any) == PJ_OK && any && !by_kid(set, "off")->usable &&
	       by_kid(set, "a")->usable,
	   "any_usable builds in order until a key is usable");
	jwk_set_free(set);
	set = parse(jwks(off, NULL));
	ok(jwk_set_any_usable(set, &any) == PJ_OK && !any, "a set whose only key OpenSSL refuses has none");
	jwk_set_free(set);

	/* a shared set: threads select (and so build) its keys at once */
	set = parse(doc);
	for (int i = 0; i < 8; i++) {
		args[i] = (struct lazy_arg){set, 0};
		pthread_create(&th[i], NULL, lazy_thread, &args[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		bad += args[i].bad;
	}
	ok(bad == 0 && jwk_set_select(set, A(JWS_RS256), "r", &k, &err) == PJ_OK,
	   "8 threads selecting from one set as it builds its keys: %d failures", bad);
	jwk_set_free(set);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

int main(void)
{
	test_document();
	test_rsa();
	test_ec();
	test_okp_and_unsupported();
	test_members();
	test_selection();
	test_realistic();
	test_lazy();
	pool_free();
	return tap_done();
}
