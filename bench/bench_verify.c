/* bench_verify.c: token verification throughput per alg on one core with warm keys. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* pj_verify_token (decode, JSON, key lookup, signature, claims: the path issue #6 names; with BENCH_FULL=1 in
 * the environment the whole pj_verify, whose identity step adds one getpwnam_r through the host's NSS)
 * against a bare EVP_DigestVerify of the same signature with the very same key object (the limit), and
 * against libjwt 1.10's jwt_decode on the same tokens, interleaved round by round so noise hits every side
 * alike. Usage: bench_verify SCENE_DIR [SECONDS_PER_BLOCK [ROUNDS [ALG]]] (ALG: that alg only); prints one
 * line per alg and method. bench_verify SCENE_DIR profile ALG N: N pj_verify calls only, for perf or
 * callgrind. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pam_jwt/b64url.h"
#include "benchkit.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/jwk.h"
#include "pam_jwt/keystore.h"
#include "../tests/testkit.h"
#include "pam_jwt/verify.h"

#define MAX_ROUNDS 64
#define USER       "alice"

enum method { M_PAMJWT, M_BARE, M_LIBJWT, M_COUNT };
static const char *method_name[M_COUNT] = {"pam_jwt", "bare", "libjwt"};

/* One alg under test, prepared once. */
struct subject {
	const struct jws_alg *alg;
	char *token;
	size_t token_len;
	size_t signing_input_len; /* the token's first two segments */
	unsigned char *sig;       /* what EVP_DigestVerify takes: raw for RSA and EdDSA, DER for ECDSA */
	size_t sig_len;
	EVP_PKEY *pub; /* the key object pj_verify selects from the keystore */
	char *pem;     /* the same public key as PEM, which is how libjwt takes keys */
	bool libjwt;
	long iters; /* per block, calibrated */
	double ops[M_COUNT][MAX_ROUNDS];
};

static struct pj_config *cfg;
static time_t now;
static struct subject subjects[BK_N_ALGS];

/* JWS r||s to DER, done once here: the bare side is EVP_DigestVerify alone, the conversion is ours to pay. */
static void raw_to_der(struct subject *s, const unsigned char *raw, size_t len)
{
	ECDSA_SIG *esig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL),
	       *sv = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	unsigned char *der = NULL;
	int n;

	if (esig == NULL || r == NULL || sv == NULL || ECDSA_SIG_set0(esig, r, sv) != 1 ||
	    (n = i2d_ECDSA_SIG(esig, &der)) <= 0)
		bk_die("cannot convert an ECDSA signature to DER");
	s->sig = malloc((size_t)n);
	memcpy(s->sig, der, (size_t)n);
	s->sig_len = (size_t)n;
	OPENSSL_free(der);
	ECDSA_SIG_free(esig);
}

static char *public_pem(EVP_PKEY *pkey)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	if (b == NULL || PEM_write_bio_PUBKEY(b, pkey) != 1)
		bk_die("cannot write a public key as PEM");
	len = BIO_get_mem_data(b, &data);
	out = strndup(data, (size_t)len);
	BIO_free(b);
	return out;
}

/* The key pj_verify will use: from the keystore (warm), selected as pj_verify selects it. */
static EVP_PKEY *keystore_key(const struct jws_alg *alg)
{
	const struct pj_issuer *iss = config_find_issuer(cfg, BK_ISSUER, strlen(BK_ISSUER));
	const struct jwk_set *set;
	const struct jwk *key;
	struct keystore_ref *ref;
	struct pj_error err;

	if (iss == NULL || keystore_get(cfg, iss, alg->name, now, NULL, &set, &ref, &err) != PJ_OK ||
	    jwk_set_select(set, alg, alg->name, &key, &err) != PJ_OK)
		bk_die("no %s key in the keystore: %s", alg->name, err.reason);
	/* the reference is kept for the whole run, so the key object stays the one pj_verify uses */
	return key->pkey;
}

static void prepare(const char *dir)
{
	char *path = tk_strf("%s/pam_jwt.conf", dir);
	struct pj_error err;

	if (access(path, F_OK) != 0)
		bk_scene(dir, "pam_jwt.so", now);
	if (config_load(path, &cfg, &err) != PJ_OK)
		bk_die("%s", err.reason);
	free(path);
	for (int i = 0; i < BK_N_ALGS; i++) {
		struct subject *s = &subjects[i];
		EVP_PKEY *priv = bk_key(dir, bk_algs[i]);
		const char *dot;
		unsigned char *raw;
		size_t rawlen;

		s->alg = jws_alg_by_id(bk_algs[i]);
		s->token = bk_token(bk_algs[i], priv, USER, now);
		s->token_len = strlen(s->token);
		dot = strrchr(s->token, '.');
		s->signing_input_len = (size_t)(dot - s->token);
		if (b64url_decode(dot + 1, strlen(dot + 1), &raw, &rawlen, &err) != PJ_OK)
			bk_die("%s", err.reason);
		if (s->alg->kind == JWS_SIG_ECDSA) {
			raw_to_der(s, raw, rawlen);
			free(raw);
		} else {
			s->sig = raw;
			s->sig_len = rawlen;
		}
		s->pub = keystore_key(s->alg);
		s->pem = public_pem(s->pub);
		s->libjwt = bk_algs[i] == JWS_RS256 || bk_algs[i] == JWS_ES256;
		EVP_PKEY_free(priv);
	}
}

static bool full_path; /* BENCH_FULL=1: pj_verify with the identity step */

static bool run_pamjwt(const struct subject *s)
{
	struct pj_identity id;
	struct pj_error err;
	pj_status r = full_path ? pj_verify(cfg, NULL, s->token, s->token_len, USER, now, &id, &err)
	                        : pj_verify_token(cfg, NULL, s->token, s->token_len, now, &id, &err);

	pj_identity_free(&id);
	return r == PJ_OK;
}

/* The least any EVP verifier does per token: a context, the init (digest fetch, key binding, the padding
 * parameters the alg pins) and the verification itself. */
static bool run_bare(const struct subject *s)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok =
	    ctx != NULL && EVP_DigestVerifyInit_ex(ctx, &pctx, s->alg->digest, NULL, NULL, s->pub, NULL) == 1;

	if (ok && s->alg->kind == JWS_SIG_RSA_PKCS1)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
	if (ok && s->alg->kind == JWS_SIG_RSA_PSS)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, s->alg->digest, NULL) > 0 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)s->alg->digest_len) > 0;
	ok = ok && EVP_DigestVerify(ctx, s->sig, s->sig_len, (const unsigned char *)s->token,
	                            s->signing_input_len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool run_libjwt(const struct subject *s)
{
	jwt_t *jwt = NULL;
	int rc = jwt_decode(&jwt, s->token, (const unsigned char *)s->pem, (int)strlen(s->pem));

	jwt_free(jwt);
	return rc == 0;
}

static bool run_once(const struct subject *s, enum method m)
{
	switch (m) {
	case M_PAMJWT: return run_pamjwt(s);
	case M_BARE: return run_bare(s);
	case M_LIBJWT: return run_libjwt(s);
	default: return false;
	}
}

/* Verifications per CPU second over one block of iters. */
static double block(const struct subject *s, enum method m, long iters)
{
	double t0 = bk_cpu();

	for (long i = 0; i < iters; i++)
		if (!run_once(s, m))
			bk_die("%s refused the %s token", method_name[m], s->alg->name);
	return (double)iters / (bk_cpu() - t0);
}

static const char *only; /* the one alg to measure, or NULL */

static bool selected(const struct subject *s)
{
	return only == NULL || strcmp(s->alg->name, only) == 0;
}

static bool applies(const struct subject *s, enum method m)
{
	return selected(s) && (m != M_LIBJWT || s->libjwt);
}

static int profile(const char *name, long n)
{
	for (int i = 0; i < BK_N_ALGS; i++)
		if (strcmp(subjects[i].alg->name, name) == 0) {
			block(&subjects[i], M_PAMJWT, n);
			return 0;
		}
	bk_die("no alg %s", name);
}

int main(int argc, char **argv)
{
	double block_s = argc > 2 ? atof(argv[2]) : 0.1;
	int rounds = argc > 3 ? atoi(argv[3]) : 9;
	bool profiling = argc == 5 && strcmp(argv[2], "profile") == 0;

	if (argc < 2 || (!profiling && (rounds < 1 || rounds > MAX_ROUNDS || block_s <= 0)))
		bk_die("usage: bench_verify SCENE_DIR [SECONDS_PER_BLOCK [ROUNDS [ALG]]] | SCENE_DIR profile "
		       "ALG N");
	now = time(NULL);
	full_path = getenv("BENCH_FULL") != NULL && strcmp(getenv("BENCH_FULL"), "1") == 0;
	prepare(argv[1]);
	if (profiling)
		return profile(argv[3], atol(argv[4]));
	only = argc > 4 ? argv[4] : NULL;
	/* calibrate on the slowest method, then warm every path once more */
	for (int i = 0; i < BK_N_ALGS; i++) {
		struct subject *s = &subjects[i];
		double ops;
		if (!selected(s))
			continue;
		ops = block(s, M_PAMJWT, 50);
		s->iters = (long)(ops * block_s) + 1;
		for (int m = 0; m < M_COUNT; m++)
			if (applies(s, (enum method)m))
				block(s, (enum method)m, 20);
	}
	/* ABAB: every round runs every method of every alg once, the order reversed on odd rounds */
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < BK_N_ALGS; i++)
			for (int k = 0; k < M_COUNT; k++) {
				enum method m = (enum method)(r % 2 ? M_COUNT - 1 - k : k);
				if (applies(&subjects[i], m))
					subjects[i].ops[m][r] = block(&subjects[i], m, subjects[i].iters);
			}
	/* "verify ALG METHOD median_ops ratio_to_bare_median ..." plus the raw rounds for the record */
	for (int i = 0; i < BK_N_ALGS; i++) {
		struct subject *s = &subjects[i];
		double ratio_bare[MAX_ROUNDS], ratio_lib[MAX_ROUNDS];
		if (!selected(s))
			continue;
		for (int r = 0; r < rounds; r++) {
			ratio_bare[r] = s->ops[M_PAMJWT][r] / s->ops[M_BARE][r];
			ratio_lib[r] = s->libjwt ? s->ops[M_PAMJWT][r] / s->ops[M_LIBJWT][r] : 0;
		}
		for (int m = 0; m < M_COUNT; m++) {
			double v[MAX_ROUNDS];
			if (!applies(s, (enum method)m))
				continue;
			memcpy(v, s->ops[m], sizeof(double) * (size_t)rounds);
			printf("verify %s %s ops %.1f\n", s->alg->name, method_name[m],
			       bk_median(v, (size_t)rounds));
		}
		printf("verify %s ratio_bare %.4f\n", s->alg->name, bk_median(ratio_bare, (size_t)rounds));
		if (s->libjwt)
			printf("verify %s ratio_libjwt %.4f\n", s->alg->name,
			       bk_median(ratio_lib, (size_t)rounds));
		printf("verify %s token_bytes %zu\n", s->alg->name, s->token_len);
	}
	config_free(cfg);
	return 0;
}
