/* test_ossl_nomem.c: OpenSSL out of memory while building a key or checking a signature: refused as out of
 * memory, the key still good after. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "pam_jwt/error.h"
#include "pam_jwt/jwk.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/jws_sig.h"
#include "tap.h"
#include "testkit.h"

/* OpenSSL's allocator for this program (CRYPTO_set_mem_functions, before OpenSSL allocates anything): when
 * armed, the fail_at-th allocation from then on fails, once. */
static bool armed;
static long fail_at, allocations;

static bool fails_now(void)
{
	return armed && ++allocations == fail_at;
}

static void *t_malloc(size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return fails_now() ? NULL : malloc(n);
}

static void *t_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file, (void)line;
	return fails_now() ? NULL : realloc(p, n);
}

static void t_free(void *p, const char *file, int line)
{
	(void)file, (void)line;
	free(p);
}

static void arm(long n)
{
	allocations = 0;
	fail_at = n;
	armed = true;
}

/* disarm: whether the armed allocation was reached (past the last allocation, a sweep is over) */
static bool disarm(void)
{
	armed = false;
	return allocations >= fail_at;
}

static const unsigned char data[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9";

/* Every allocation OpenSSL makes while checking a good and a forged signature with a built key fails in
 * turn: the forged one is always refused; the good one is verified, or refused as out of memory, as
 * OpenSSL's failure (it could not set the check up), or, where OpenSSL gave no cause (the count is
 * shown), as an invalid signature; never as a key that does not fit. */
static void sig_sweep(const struct jws_alg *alg, EVP_PKEY *pkey, const unsigned char *sig, size_t siglen)
{
	unsigned char forged[1024];
	struct pj_error err;
	long points = 0, bad = 0, silent = 0, accepted = 0;
	char first_bad[PJ_REASON_MAX + 32] = "";
	pj_status r;

	memcpy(forged, sig, siglen);
	forged[siglen / 2] ^= 0x01;
	for (long n = 1;; n++) {
		arm(n);
		r = jws_sig_verify(alg, pkey, data, sizeof(data) - 1, sig, siglen, &err);
		if (!disarm())
			break;
		points++;
		if (r == PJ_ERR_TOKEN && strcmp(err.reason, "signature invalid") == 0)
			silent++;
		else if (r != PJ_OK && r != PJ_ERR_NOMEM && r != PJ_ERR_SYSTEM && bad++ == 0)
			snprintf(first_bad, sizeof(first_bad), "allocation %ld: %s", n, err.reason);
		arm(n);
		accepted += jws_sig_verify(alg, pkey, data, sizeof(data) - 1, forged, siglen, &err) == PJ_OK;
		disarm();
	}
	ok(points > 0 && bad == 0,
	   "%s: %ld allocations failed checking a good signature: verified, out of memory or OpenSSL's "
	   "failure, "
	   "%ld invalid where OpenSSL gave no cause, %ld else %s",
	   alg->name, points, silent, bad, first_bad);
	ok(points > 0 && accepted == 0, "%s: the same for a forged signature: each refused (%ld not)",
	   alg->name, accepted);
}

/* For every allocation OpenSSL makes while the key of a parsed JWKS is built (its first selection) and
 * while a signature is checked with it, in a process that has verified before (a PAM application that
 * keeps its key set): the failure of that one allocation gives PJ_OK or PJ_ERR_NOMEM, never a refusal
 * that blames the key or the token, and the key is built and verifies at the next try. */
static void sweep(enum jws_alg_id id)
{
	const struct jws_alg *alg = jws_alg_by_id(id);
	EVP_PKEY *pkey = tk_keygen(id);
	char *jwk = tk_jwk_json(pkey, "k1", NULL, NULL);
	char *jwks = tk_strf("{\"keys\":[%s]}", jwk);
	size_t siglen = 0;
	unsigned char *sig = tk_sign_bytes(id, pkey, data, sizeof(data) - 1, &siglen);
	struct jwk_set *set = NULL;
	const struct jwk *key = NULL;
	struct pj_error err;
	long points = 0, bad = 0, spoiled = 0;
	char first_bad[PJ_REASON_MAX + 32] = "";
	pj_status r;

	/* warm: OpenSSL's method stores hold what a first verification fetched, as in a running process */
	ok(sig != NULL && jwk_set_parse(jwks, strlen(jwks), &set, &err) == PJ_OK &&
	       jwk_set_select(set, alg, "k1", &key, &err) == PJ_OK &&
	       jws_sig_verify(alg, key->pkey, data, sizeof(data) - 1, sig, siglen, &err) == PJ_OK,
	   "%s: a key built from its JWK verifies the signature", alg->name);
	jwk_set_free(set);
	for (long n = 1;; n++) {
		if (jwk_set_parse(jwks, strlen(jwks), &set, &err) != PJ_OK)
			break;
		arm(n);
		r = jwk_set_select(set, alg, "k1", &key, &err);
		if (!disarm()) {
			jwk_set_free(set);
			break;
		}
		points++;
		if (r != PJ_OK && r != PJ_ERR_NOMEM) {
			if (bad++ == 0)
				snprintf(first_bad, sizeof(first_bad), "allocation %ld: %s", n, err.reason);
		}
		if (jwk_set_select(set, alg, "k1", &key, &err) != PJ_OK ||
		    jws_sig_verify(alg, key->pkey, data, sizeof(data) - 1, sig, siglen, &err) != PJ_OK) {
			if (spoiled++ == 0)
				printf("# %s: after allocation %ld failed (%d): %s\n", alg->name, n, (int)r,
				       err.reason);
		}
		jwk_set_free(set);
	}
	ok(points > 0 && bad == 0,
	   "%s: %ld allocations failed building the key: each out of memory or built (%ld not) %s", alg->name,
	   points, bad, first_bad);
	ok(points > 0 && spoiled == 0,
	   "%s: the key is built and verifies at the next try after each (%ld not)", alg->name, spoiled);

	jwk_set_parse(jwks, strlen(jwks), &set, &err);
	jwk_set_select(set, alg, "k1", &key, &err);
	sig_sweep(alg, key->pkey, sig, siglen);
	jwk_set_free(set);
	free(sig);
	free(jwks);
	free(jwk);
	EVP_PKEY_free(pkey);
}

int main(void)
{
	if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
		printf("Bail out! OpenSSL allocated before main\n");
		return 1;
	}
	/* the thread's error queue exists before any fault: an error OpenSSL cannot record says nothing */
	ERR_raise(ERR_LIB_USER, 1);
	ERR_clear_error();
	sweep(JWS_ES256);
	sweep(JWS_RS256);
	sweep(JWS_PS256);
	sweep(JWS_EDDSA);
	return tap_done();
}
