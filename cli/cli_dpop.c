/* cli_dpop.c: `pam-jwt dpop keygen|jkt|proof`: the client side of DPoP from a shell or pam-jwt-askpass. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli_common.h"
#include "cli_dpop.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/jws_sign.h"

#define TOKEN_MAX 65536

static int usage(void)
{
	fprintf(stderr,
	        "usage: pam-jwt dpop keygen --key FILE [--alg ES256|EdDSA]\n"
	        "       pam-jwt dpop jkt --key FILE\n"
	        "       pam-jwt dpop proof --key FILE --htu URL [--htm METHOD] [--nonce NONCE] [--no-ath] "
	        "< token\n");
	return CLI_EXIT_USAGE;
}

static int fail(const struct pj_error *err)
{
	fprintf(stderr, "pam-jwt: %s\n", err->reason);
	return err->status == PJ_ERR_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_REFUSED;
}

/* The thumbprint of key's public JWK into out. */
static pj_status key_jkt(EVP_PKEY *key, char *out, size_t outlen, struct pj_error *err)
{
	char *members = jwk_public_members(key), *text = NULL;
	json_object *o = NULL;
	pj_status r;

	if (members != NULL && asprintf(&text, "{%s}", members) < 0)
		text = NULL;
	if (text == NULL || (o = json_tokener_parse(text)) == NULL)
		r = pj_fail(err, PJ_ERR_NOMEM, "cannot write the public key");
	else
		r = dpop_jwk_thumbprint(o, out, outlen, err);
	json_object_put(o);
	free(members);
	free(text);
	return r;
}

/* The token on stdin: at most TOKEN_MAX bytes, a trailing newline dropped. */
static char *read_stdin_token(size_t *len)
{
	char *buf = malloc(TOKEN_MAX + 2);
	size_t n;

	if (buf == NULL)
		return NULL;
	n = fread(buf, 1, TOKEN_MAX + 1, stdin);
	if (n > TOKEN_MAX || ferror(stdin)) {
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*len = n;
	return buf;
}

struct dpop_args {
	const char *key, *alg, *htu, *htm, *nonce;
	bool no_ath;
};

static int parse(int argc, char **argv, struct dpop_args *a)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
	                                     {"alg", required_argument, NULL, 'a'},
	                                     {"htu", required_argument, NULL, 'u'},
	                                     {"htm", required_argument, NULL, 'm'},
	                                     {"nonce", required_argument, NULL, 'n'},
	                                     {"no-ath", no_argument, NULL, 'A'},
	                                     {NULL, 0, NULL, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	a->alg = "ES256";
	a->htm = PJ_DPOP_HTM;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': a->key = optarg; break;
		case 'a': a->alg = optarg; break;
		case 'u': a->htu = optarg; break;
		case 'm': a->htm = optarg; break;
		case 'n': a->nonce = optarg; break;
		case 'A': a->no_ath = true; break;
		default: return -1;
		}
	}
	return optind == argc && a->key != NULL ? 0 : -1;
}

static int cmd_keygen(const struct dpop_args *a)
{
	char jkt[64];
	struct pj_error err;
	EVP_PKEY *key = NULL;
	int rc = CLI_EXIT_OK;

	if (dpop_key_generate(a->alg, &key, &err) != PJ_OK || dpop_key_save(a->key, key, &err) != PJ_OK ||
	    key_jkt(key, jkt, sizeof(jkt), &err) != PJ_OK)
		rc = fail(&err);
	else
		printf("%s\n", jkt);
	EVP_PKEY_free(key);
	return rc;
}

static int cmd_jkt(const struct dpop_args *a)
{
	char jkt[64];
	struct pj_error err;
	EVP_PKEY *key = NULL;
	int rc = CLI_EXIT_OK;

	if (dpop_key_load(a->key, &key, &err) != PJ_OK || key_jkt(key, jkt, sizeof(jkt), &err) != PJ_OK)
		rc = fail(&err);
	else
		printf("%s\n", jkt);
	EVP_PKEY_free(key);
	return rc;
}

static int cmd_proof(const struct dpop_args *a)
{
	struct pj_error err;
	EVP_PKEY *key = NULL;
	char *token = NULL, *proof = NULL;
	size_t len = 0;
	int rc = CLI_EXIT_OK;

	if (a->htu == NULL)
		return usage();
	if (!a->no_ath && (token = read_stdin_token(&len)) == NULL) {
		fprintf(stderr, "pam-jwt: cannot read the token from standard input\n");
		return CLI_EXIT_REFUSED;
	}
	if (dpop_key_load(a->key, &key, &err) != PJ_OK ||
	    dpop_proof_make(key, a->htm, a->htu, a->nonce, token, len, time(NULL), &proof, &err) != PJ_OK)
		rc = fail(&err);
	else
		printf("%s\n", proof);
	if (token != NULL) {
		explicit_bzero(token, len);
		free(token);
	}
	free(proof);
	EVP_PKEY_free(key);
	return rc;
}

int cli_dpop_main(int argc, char **argv)
{
	struct dpop_args a;

	if (argc < 2 || parse(argc - 1, argv + 1, &a) != 0)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(&a);
	if (strcmp(argv[1], "jkt") == 0)
		return cmd_jkt(&a);
	if (strcmp(argv[1], "proof") == 0)
		return cmd_proof(&a);
	return usage();
}
