/* fuzz_jws.c: libFuzzer target for the compact JWS parser and the whole token verification path. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/error.h"
#include "pam_jwt/jws.h"
#include "pam_jwt/log.h"
#include "testkit.h"
#include "pam_jwt/verify.h"

/* The time claims are checked against; make-corpus.sh mints tokens valid at this time. */
#define FUZZ_NOW 1800000000
#define FUZZ_ISS "https://idp.fuzz.test"
#define FUZZ_AUD "fuzz-aud"

static char dir[] = "/tmp/pam_jwt_fuzz_jws.XXXXXX";
static struct pj_config *cfg;

/* Keys from $PJ_FUZZ_KEYS/{rsa,ec,ed}.pem (so corpus tokens signed by make-corpus.sh verify), else fresh. */
static EVP_PKEY *key_for(enum jws_alg_id alg, const char *file)
{
	const char *kdir = getenv("PJ_FUZZ_KEYS");
	EVP_PKEY *pkey = NULL;
	char *path;

	if (kdir != NULL && (path = tk_strf("%s/%s", kdir, file)) != NULL) {
		pkey = tk_key_load(path);
		free(path);
	}
	return pkey != NULL ? pkey : tk_keygen(alg);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_jws: setup: %s\n", what);
	exit(1);
}

/* Log lines go nowhere, or to stderr with PJ_FUZZ_LOG set (to see why a reproducer is refused). */
static void emit(void *arg, int priority, const char *message)
{
	(void)arg;
	(void)priority;
	if (getenv("PJ_FUZZ_LOG") != NULL)
		fprintf(stderr, "log: %s\n", message);
}

/* The temp dir goes at exit (libFuzzer exits through exit() when a run ends or finds something). */
static void cleanup(void)
{
	char p[sizeof(dir) + 32];

	snprintf(p, sizeof(p), "%s/keys.jwks", dir);
	unlink(p);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *rsa = key_for(JWS_RS256, "rsa.pem"), *ec = key_for(JWS_ES256, "ec.pem");
	EVP_PKEY *ed = key_for(JWS_EDDSA, "ed.pem");
	char *jwks, *path, *text, *k[4];
	struct pj_error err = {0};
	int fd;

	(void)argc;
	(void)argv;
	if (rsa == NULL || ec == NULL || ed == NULL || mkdtemp(dir) == NULL || atexit(cleanup) != 0)
		die("keys or temp dir");
	/* the RSA key serves RS* and PS* (and again as "rsa-ps", bound to PS256, so that a kid-less RSA
	 * token meets two fitting keys); ec is P-256 (ES256) */
	k[0] = tk_jwk_json(rsa, "rsa", NULL, "\"use\":\"sig\"");
	k[1] = tk_jwk_json(ec, "ec", "ES256", NULL);
	k[2] = tk_jwk_json(ed, "ed", NULL, NULL);
	k[3] = tk_jwk_json(rsa, "rsa-ps", "PS256", "\"key_ops\":[\"verify\"]");
	if (k[0] == NULL || k[1] == NULL || k[2] == NULL || k[3] == NULL)
		die("jwk");
	jwks = tk_strf("{\"keys\":[%s,%s,%s,%s]}", k[0], k[1], k[2], k[3]);
	for (size_t i = 0; i < 4; i++)
		free(k[i]);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	path = tk_strf("%s/keys.jwks", dir);
	if (jwks == NULL || path == NULL || (fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644)) < 0 ||
	    write(fd, jwks, strlen(jwks)) != (ssize_t)strlen(jwks) || close(fd) != 0)
		die("jwks file");
	text = tk_strf("[global]\ncache_dir = %s\nstate_dir = %s\n"
	               "[issuer fuzz]\nissuer = " FUZZ_ISS "\naudience = " FUZZ_AUD " other-aud\n"
	               "algorithms = RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA\n"
	               "jwks_file = %s\ngroups_claim = realm_access.roles\n"
	               "[issuer second]\nissuer = https://second.fuzz.test\naudience = " FUZZ_AUD "\n"
	               "algorithms = ES256\njwks_file = %s\nusername_claim = email\n"
	               "username_transform = lowercase strip_domain\n",
	               dir, dir, path, path);
	if (text == NULL || config_parse("fuzz.conf", text, strlen(text), &cfg, &err) != PJ_OK)
		die(err.reason[0] ? err.reason : "config");
	free(text);
	free(path);
	free(jwks);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct pj_log log = {.emit = emit, .debug = true};
	struct pj_error err = {0};
	struct jws_token tok = {0};
	struct pj_identity id = {0};
	pj_status st;

	(void)jws_looks_like_jwt((const char *)data, size);
	(void)jws_parse((const char *)data, size, 16384, &tok, &err);
	jws_token_free(&tok);

	memset(&err, 0, sizeof(err));
	st = pj_verify_token(cfg, &log, (const char *)data, size, FUZZ_NOW, &id, &err);
	if (getenv("PJ_FUZZ_LOG") != NULL)
		fprintf(stderr, "pj_verify_token: %d %s\n", st, err.reason);
	if (st == PJ_OK) {
		/* a token that verifies (from the corpus): the mapping to a user too */
		pj_identity_free(&id);
		memset(&id, 0, sizeof(id));
		memset(&err, 0, sizeof(err));
		pj_log_outcome(&log, &id,
		               pj_verify(cfg, &log, (const char *)data, size, NULL, FUZZ_NOW, &id, &err),
		               &err, NULL);
	}
	pj_identity_free(&id);
	return 0;
}
