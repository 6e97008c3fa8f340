/* fuzz_diff.c: differential libFuzzer target: pam_jwt's decoders and signature checks against OpenSSL. */
/* The first input byte picks the check: base64url (against OpenSSL's base64), ES256 and RS256 signatures
 * (against OpenSSL with DER and the modulus length), JSON numbers (against POSIX regex for the RFC 8259
 * grammar, OpenSSL's BIGNUM for integer range and value, strtod for reals). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <math.h>
#include <regex.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/error.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/jws_sig.h"
#include "pam_jwt/json_strict.h"
#include "testkit.h"

static const unsigned char msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";
static EVP_PKEY *ec_key, *rsa_key;
static unsigned char *ec_sig, *rsa_sig;
static size_t ec_siglen, rsa_siglen;
static regex_t json_number;
static BIGNUM *int64_min, *uint64_max;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if ((ec_key = tk_keygen(JWS_ES256)) == NULL || (rsa_key = tk_keygen(JWS_RS256)) == NULL ||
	    (ec_sig = tk_sign_bytes(JWS_ES256, ec_key, msg, sizeof(msg) - 1, &ec_siglen)) == NULL ||
	    (rsa_sig = tk_sign_bytes(JWS_RS256, rsa_key, msg, sizeof(msg) - 1, &rsa_siglen)) == NULL ||
	    regcomp(&json_number, "^-?(0|[1-9][0-9]*)([.][0-9]+)?([eE][+-]?[0-9]+)?$",
	            REG_EXTENDED | REG_NOSUB) != 0 ||
	    BN_dec2bn(&int64_min, "-9223372036854775808") == 0 ||
	    BN_dec2bn(&uint64_max, "18446744073709551615") == 0)
		abort();
	return 0;
}

static void disagree(const char *what, int ours, int ref)
{
	fprintf(stderr, "%s: pam_jwt says %s, the OpenSSL reference says %s\n", what,
	        ours ? "valid" : "invalid", ref ? "valid" : "invalid");
	abort();
}

/* The reference for strict base64url: the url alphabet, no padding, no length of 1 mod 4, and the text
 * is the canonical encoding of what OpenSSL's standard base64 decoder makes of it. */
static void diff_b64url(const uint8_t *in, size_t len)
{
	struct pj_error err = {0};
	unsigned char *ours = NULL, *ref = NULL;
	char *std = NULL, *again = NULL;
	size_t ourlen = 0, i, pad = (4 - len % 4) % 4;
	int ok = b64url_decode((const char *)in, len, &ours, &ourlen, &err) == PJ_OK, ref_ok = len % 4 != 1;
	int n = 0;

	for (i = 0; i < len && ref_ok; i++)
		ref_ok = (in[i] >= 'A' && in[i] <= 'Z') || (in[i] >= 'a' && in[i] <= 'z') ||
		         (in[i] >= '0' && in[i] <= '9') || in[i] == '-' || in[i] == '_';
	if (ref_ok) {
		if ((std = malloc(len + pad + 1)) == NULL || (ref = malloc(len + pad + 1)) == NULL ||
		    (again = malloc(len + pad + 8)) == NULL)
			abort();
		for (i = 0; i < len; i++)
			std[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : (char)in[i];
		memset(std + len, '=', pad);
		n = len ? EVP_DecodeBlock(ref, (const unsigned char *)std, (int)(len + pad)) : 0;
		if (n < 0)
			abort(); /* the alphabet was checked */
		n -= (int)pad;   /* EVP_DecodeBlock counts the padding as zero bytes */
		EVP_EncodeBlock((unsigned char *)again, ref, n);
		ref_ok = strncmp(again, std, len + pad) == 0;
	}
	if (ok != ref_ok)
		disagree("base64url", ok, ref_ok);
	if (ok && (ourlen != (size_t)n || memcmp(ours, ref, ourlen) != 0)) {
		fprintf(stderr, "base64url: both accept, the bytes differ\n");
		abort();
	}
	free(ours);
	free(ref);
	free(std);
	free(again);
}

/* The reference for ES256: exactly 64 bytes r||s, both non-zero, verified as DER by OpenSSL. */
static int ref_es256(const unsigned char *sig, size_t len)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	EVP_MD_CTX *ctx = NULL;
	int derlen, ok = 0;

	if (len != 64 || (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL || BN_is_zero(r) || BN_is_zero(s) ||
	    (es = ECDSA_SIG_new()) == NULL)
		goto out;
	ECDSA_SIG_set0(es, r, s);
	r = s = NULL;
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0 || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, ec_key) != 1)
		goto out;
	ok = EVP_DigestVerify(ctx, der, (size_t)derlen, msg, sizeof(msg) - 1) == 1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* The reference for RS256: PKCS#1 v1.5 by OpenSSL, the signature exactly the modulus length. */
static int ref_rs256(const unsigned char *sig, size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx != NULL && len == (size_t)EVP_PKEY_get_size(rsa_key) &&
	         EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, rsa_key) == 1 &&
	         EVP_DigestVerify(ctx, sig, len, msg, sizeof(msg) - 1) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

/* sig: the valid signature with the input XORed over it (so the fuzzer starts near valid ones), or the
 * input itself when its first byte is odd. */
static void diff_sig(enum jws_alg_id id, const unsigned char *valid, size_t validlen, const uint8_t *in,
                     size_t len)
{
	struct pj_error err = {0};
	unsigned char *sig;
	size_t siglen, i;
	int ours, ref;

	if (len > 0 && (in[0] & 1)) {
		siglen = len - 1;
		if ((sig = malloc(siglen + 1)) == NULL)
			abort();
		memcpy(sig, in + 1, siglen);
	} else {
		siglen = validlen;
		if ((sig = malloc(siglen)) == NULL)
			abort();
		memcpy(sig, valid, siglen);
		for (i = 1; i < len && i - 1 < siglen; i++)
			sig[i - 1] ^= in[i];
	}
	ours = jws_sig_verify(jws_alg_by_id(id), id == JWS_ES256 ? ec_key : rsa_key, msg, sizeof(msg) - 1,
	                      sig, siglen, &err) == PJ_OK;
	ref = id == JWS_ES256 ? ref_es256(sig, siglen) : ref_rs256(sig, siglen);
	if (ours != ref)
		disagree(id == JWS_ES256 ? "ES256 signature" : "RS256 signature", ours, ref);
	free(sig);
}

/* The reference's view of a number text: whether it is valid, and then its value as text (integers, in
 * decimal from a BIGNUM) or as a double (reals, from strtod). A number is valid when it matches RFC 8259's
 * grammar and, as pam_jwt promises, an integer fits int64 or uint64 and a real is finite. */
static int ref_number(const char *text, char **int_value, double *real_value)
{
	BIGNUM *bn = NULL;
	char *end;
	int ok = 0;

	*int_value = NULL;
	if (regexec(&json_number, text, 0, NULL, 0) != 0)
		return 0;
	if (strpbrk(text, ".eE") == NULL) {
		if (BN_dec2bn(&bn, text) == 0)
			abort();
		if ((ok = BN_cmp(bn, int64_min) >= 0 && BN_cmp(bn, uint64_max) <= 0) &&
		    (*int_value = BN_is_zero(bn) ? OPENSSL_strdup("0") : BN_bn2dec(bn)) == NULL)
			abort();
		BN_free(bn);
		return ok;
	}
	*real_value = strtod(text, &end); /* the fuzzer runs in the C locale */
	return *end == '\0' && isfinite(*real_value);
}

/* in: a number text, alone as the value of a member; pam_jwt's strict parser against the reference. Only
 * inputs made of number characters are tried: anything else could make the object mean something else. */
static void diff_number(const uint8_t *in, size_t len)
{
	char text[80], number[64], *ref_int = NULL, ours_text[32];
	struct pj_error err = {0};
	json_object *doc = NULL, *val = NULL;
	double ref_real = 0;
	int ours, ref;

	if (len == 0 || len >= sizeof(number))
		return;
	for (size_t i = 0; i < len; i++)
		if (strchr("0123456789+-.eE", in[i]) == NULL || in[i] == '\0')
			return;
	memcpy(number, in, len);
	number[len] = '\0';
	snprintf(text, sizeof(text), "{\"n\":%s}", number);
	ours = json_strict_parse_object(text, strlen(text), 4, &doc, &err) == PJ_OK &&
	       json_object_object_get_ex(doc, "n", &val);
	ref = ref_number(number, &ref_int, &ref_real);
	if (ours != ref) {
		fprintf(stderr, "JSON number \"%s\": ", number);
		disagree("JSON number", ours, ref);
	}
	if (ours && ref_int != NULL) {
		if (!json_object_is_type(val, json_type_int))
			disagree("JSON integer kept as an integer", 0, 1);
		if (json_object_get_int64(val) < 0)
			snprintf(ours_text, sizeof(ours_text), "%lld", (long long)json_object_get_int64(val));
		else
			snprintf(ours_text, sizeof(ours_text), "%llu",
			         (unsigned long long)json_object_get_uint64(val));
		if (strcmp(ours_text, ref_int) != 0) {
			fprintf(stderr, "JSON integer \"%s\": pam_jwt %s, BIGNUM %s\n", number, ours_text,
			        ref_int);
			abort();
		}
	} else if (ours && (!json_object_is_type(val, json_type_double) ||
	                    memcmp(&(double){json_object_get_double(val)}, &ref_real, sizeof(double)) != 0)) {
		fprintf(stderr, "JSON real \"%s\": pam_jwt %.17g, strtod %.17g\n", number,
		        json_object_get_double(val), ref_real);
		abort();
	}
	OPENSSL_free(ref_int);
	json_object_put(doc);
}

/* The first byte picks the check; the rest is its input. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0: diff_b64url(data + 1, size - 1); break;
	case 1: diff_sig(JWS_ES256, ec_sig, ec_siglen, data + 1, size - 1); break;
	case 2: diff_sig(JWS_RS256, rsa_sig, rsa_siglen, data + 1, size - 1); break;
	default: diff_number(data + 1, size - 1); break;
	}
	return 0;
}
