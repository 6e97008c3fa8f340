/* test_wycheproof.c: runs jws_sig_verify over Project Wycheproof's vectors for each of the ten JWS algs. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "pam_jwt/jws_alg.h"
#include "pam_jwt/jws_sig.h"
#include "tap.h"

#define MAX_DIAG 5

/* Which file holds which alg, and the group parameters that make it exactly the JWS variant. */
struct vector_file {
	enum jws_alg_id alg;
	const char *file;
	const char *type;    /* testGroups[].type */
	const char *sha;     /* testGroups[].sha, NULL for EdDSA */
	const char *mgf_sha; /* PSS: testGroups[].mgfSha */
	int slen;            /* PSS: testGroups[].sLen */
	const char *curve;   /* ECDSA/EdDSA: testGroups[].publicKey.curve */
};

static const struct vector_file files[] = {
    {JWS_RS256, "rsa_signature_2048_sha256_test.json", "RsassaPkcs1Verify", "SHA-256", NULL, 0, NULL},
    {JWS_RS384, "rsa_signature_3072_sha384_test.json", "RsassaPkcs1Verify", "SHA-384", NULL, 0, NULL},
    {JWS_RS512, "rsa_signature_4096_sha512_test.json", "RsassaPkcs1Verify", "SHA-512", NULL, 0, NULL},
    {JWS_PS256, "rsa_pss_2048_sha256_mgf1_32_test.json", "RsassaPssVerify", "SHA-256", "SHA-256", 32, NULL},
    {JWS_PS384, "rsa_pss_2048_sha384_mgf1_48_test.json", "RsassaPssVerify", "SHA-384", "SHA-384", 48, NULL},
    {JWS_PS512, "rsa_pss_4096_sha512_mgf1_64_test.json", "RsassaPssVerify", "SHA-512", "SHA-512", 64, NULL},
    {JWS_ES256, "ecdsa_secp256r1_sha256_p1363_test.json", "EcdsaP1363Verify", "SHA-256", NULL, 0,
     "secp256r1"},
    {JWS_ES384, "ecdsa_secp384r1_sha384_p1363_test.json", "EcdsaP1363Verify", "SHA-384", NULL, 0,
     "secp384r1"},
    {JWS_ES512, "ecdsa_secp521r1_sha512_p1363_test.json", "EcdsaP1363Verify", "SHA-512", NULL, 0,
     "secp521r1"},
    {JWS_EDDSA, "ed25519_test.json", "EddsaVerify", NULL, NULL, 0, "edwards25519"},
};

struct tally {
	int valid_ok, valid_bad, invalid_ok, invalid_bad, acc_accepted, acc_refused;
	int errors; /* unusable vectors or groups: the run does not cover what it claims */
	int diags;
};

static const char *str_member(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex to a malloc'd buffer (never NULL on success, even when empty); NULL on bad hex. */
static unsigned char *unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	unsigned char *out;

	if (n % 2 != 0 || (out = malloc(n / 2 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static EVP_PKEY *group_key(json_object *group)
{
	const char *hex = str_member(group, "publicKeyDer");
	unsigned char *der;
	const unsigned char *p;
	size_t len;
	EVP_PKEY *pkey;

	if (hex == NULL || (der = unhex(hex, &len)) == NULL)
		return NULL;
	p = der;
	pkey = d2i_PUBKEY(NULL, &p, (long)len);
	free(der);
	ERR_clear_error();
	return pkey;
}

/* The group must be the JWS variant of the alg: same hash, MGF1 hash, salt length and curve. */
static int group_fits(const struct vector_file *vf, json_object *group)
{
	json_object *pk, *slen;
	const char *s;

	if ((s = str_member(group, "type")) == NULL || strcmp(s, vf->type) != 0)
		return 0;
	if (vf->sha != NULL && ((s = str_member(group, "sha")) == NULL || strcmp(s, vf->sha) != 0))
		return 0;
	if (vf->mgf_sha != NULL) {
		if ((s = str_member(group, "mgfSha")) == NULL || strcmp(s, vf->mgf_sha) != 0 ||
		    (s = str_member(group, "mgf")) == NULL || strcmp(s, "MGF1") != 0)
			return 0;
		if (!json_object_object_get_ex(group, "sLen", &slen) || json_object_get_int(slen) != vf->slen)
			return 0;
	}
	if (vf->curve != NULL) {
		if (!json_object_object_get_ex(group, "publicKey", &pk) ||
		    (s = str_member(pk, "curve")) == NULL || strcmp(s, vf->curve) != 0)
			return 0;
	}
	return 1;
}

static void run_test(const struct jws_alg *alg, EVP_PKEY *pkey, json_object *t, struct tally *ty)
{
	const char *msg_hex = str_member(t, "msg"), *sig_hex = str_member(t, "sig");
	const char *result = str_member(t, "result"), *comment = str_member(t, "comment");
	json_object *id;
	unsigned char *msg = NULL, *sig = NULL;
	size_t msglen = 0, siglen = 0;
	struct pj_error err;
	pj_status r;
	int tcid = json_object_object_get_ex(t, "tcId", &id) ? json_object_get_int(id) : -1;
	int want_ok;

	if (msg_hex == NULL || sig_hex == NULL || result == NULL || (msg = unhex(msg_hex, &msglen)) == NULL ||
	    (sig = unhex(sig_hex, &siglen)) == NULL) {
		ty->errors++;
		goto out;
	}
	r = jws_sig_verify(alg, pkey, msg, msglen, sig, siglen, &err);
	if (ERR_peek_error() != 0) {
		tap_diag("%s tcId %d: OpenSSL error queue not empty after verify", alg->name, tcid);
		ty->errors++;
	}
	if (strcmp(result, "acceptable") == 0) {
		if (r == PJ_OK)
			ty->acc_accepted++;
		else
			ty->acc_refused++;
		goto out;
	}
	if (strcmp(result, "valid") != 0 && strcmp(result, "invalid") != 0) {
		ty->errors++;
		goto out;
	}
	want_ok = strcmp(result, "valid") == 0;
	if (want_ok && r == PJ_OK)
		ty->valid_ok++;
	else if (!want_ok && r == PJ_ERR_TOKEN)
		ty->invalid_ok++;
	else {
		if (want_ok)
			ty->valid_bad++;
		else
			ty->invalid_bad++;
		if (ty->diags++ < MAX_DIAG)
			tap_diag("%s tcId %d (%s): expected %s, got %s%s%s", alg->name, tcid,
			         comment ? comment : "", result, pj_status_name(r), r == PJ_OK ? "" : ": ",
			         r == PJ_OK ? "" : err.reason);
	}
out:
	free(msg);
	free(sig);
}

static void run_file(const char *dir, const struct vector_file *vf)
{
	const struct jws_alg *alg = jws_alg_by_id(vf->alg);
	struct tally ty = {0};
	json_object *root = NULL, *groups, *n_tests;
	char path[4096];
	int expected = -1, total, n_groups;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, vf->file) >= sizeof(path) ||
	    (root = json_object_from_file(path)) == NULL ||
	    !json_object_object_get_ex(root, "testGroups", &groups) ||
	    !json_object_is_type(groups, json_type_array)) {
		ok(0, "%s: %s readable with testGroups", alg->name, vf->file);
		json_object_put(root);
		return;
	}
	if (json_object_object_get_ex(root, "numberOfTests", &n_tests))
		expected = json_object_get_int(n_tests);
	n_groups = (int)json_object_array_length(groups);
	for (int g = 0; g < n_groups; g++) {
		json_object *group = json_object_array_get_idx(groups, (size_t)g), *tests;
		EVP_PKEY *pkey;

		if (!group_fits(vf, group)) {
			tap_diag("%s: group %d has parameters other than JWS uses", alg->name, g);
			ty.errors++;
			continue;
		}
		if ((pkey = group_key(group)) == NULL || !json_object_object_get_ex(group, "tests", &tests) ||
		    !json_object_is_type(tests, json_type_array)) {
			tap_diag("%s: group %d has no usable key or tests", alg->name, g);
			ty.errors++;
			EVP_PKEY_free(pkey);
			continue;
		}
		for (size_t i = 0; i < json_object_array_length(tests); i++)
			run_test(alg, pkey, json_object_array_get_idx(tests, i), &ty);
		EVP_PKEY_free(pkey);
	}
	json_object_put(root);
	total =
	    ty.valid_ok + ty.valid_bad + ty.invalid_ok + ty.invalid_bad + ty.acc_accepted + ty.acc_refused;
	ok(ty.valid_bad == 0 && ty.invalid_bad == 0 && ty.errors == 0 && total > 0 && total == expected,
	   "%s: %d/%d valid accepted, %d/%d invalid refused, %d acceptable (%d accepted) [%d of %d vectors, "
	   "%d errors]",
	   alg->name, ty.valid_ok, ty.valid_ok + ty.valid_bad, ty.invalid_ok, ty.invalid_ok + ty.invalid_bad,
	   ty.acc_accepted + ty.acc_refused, ty.acc_accepted, total, expected, ty.errors);
}

int main(void)
{
	const char *base = getenv("TESTVECTORS_DIR");
	char dir[4096];
	struct stat st;

	if (base == NULL || base[0] == '\0')
		base = "../shared/testvectors";
	if ((size_t)snprintf(dir, sizeof(dir), "%s/wycheproof", base) >= sizeof(dir) || stat(dir, &st) != 0 ||
	    !S_ISDIR(st.st_mode))
		tap_skip_all("no ../shared/testvectors");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		run_file(dir, &files[i]);
	return tap_done();
}
