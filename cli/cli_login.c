/* cli_login.c: `pam-jwt login`: runs the device flow in the terminal and shows the verified identity. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_common.h"
#include "cli_identity.h"
#include "cli_login.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/device_flow.h"
#include "pam_jwt/log.h"
#include "pam_jwt/trusted_file.h"
#include "pam_jwt/verify.h"

static void usage(void)
{
	fprintf(stderr,
	        "usage: pam-jwt login [--config FILE] [--issuer NAME] [--user NAME] [--token-file PATH]\n"
	        "                     [--dpop[=ES256|EdDSA]]\n");
}

static void cli_emit(void *arg, int priority, const char *message)
{
	(void)arg;
	if (priority <= LOG_WARNING || priority == LOG_DEBUG)
		fprintf(stderr, "pam-jwt: %s\n", message);
}

static void info_stderr(void *arg, const char *text)
{
	(void)arg;
	fprintf(stderr, "%s\n", text);
	fflush(stderr);
}

/* The token file: the token and a newline, 0600, replaced atomically. */
static int write_token(const char *path, const char *token)
{
	size_t len = strlen(token);
	char *buf = malloc(len + 2);
	struct pj_error err;
	int rc = 0;

	if (buf == NULL)
		return -1;
	memcpy(buf, token, len);
	buf[len] = '\n';
	if (atomic_write_file(path, buf, len + 1, 0600, &err) != PJ_OK) {
		fprintf(stderr, "pam-jwt: %s\n", err.reason);
		rc = -1;
	}
	explicit_bzero(buf, len + 1);
	free(buf);
	return rc;
}

const struct option cli_login_options[] = {CLI_OPTION_CONFIG,
                                           {"issuer", required_argument, NULL, 'i'},
                                           {"user", required_argument, NULL, 'u'},
                                           {"token-file", required_argument, NULL, 't'},
                                           {"dpop", optional_argument, NULL, 'd'},
                                           {NULL, 0, NULL, 0}};

/* --dpop[=ES256|EdDSA]: a new key pair; the IdP binds the token to it, and the private key is kept beside
 * the token (TOKEN_FILE.key, 0600) for pam-jwt-askpass. */
static int dpop_begin(const char *alg, const char *token_file, EVP_PKEY **key)
{
	struct pj_error err;

	if (token_file == NULL) {
		fprintf(stderr, "pam-jwt: --dpop needs --token-file (the key is kept beside the token)\n");
		return CLI_EXIT_USAGE;
	}
	if (dpop_key_generate(alg != NULL ? alg : "ES256", key, &err) != PJ_OK) {
		fprintf(stderr, "pam-jwt: %s\n", err.reason);
		return CLI_EXIT_USAGE;
	}
	return CLI_EXIT_OK;
}

static int dpop_keep(const char *token_file, EVP_PKEY *key)
{
	struct pj_error err;
	char path[4096];

	if ((size_t)snprintf(path, sizeof(path), "%s.key", token_file) >= sizeof(path) ||
	    dpop_key_save(path, key, &err) != PJ_OK) {
		fprintf(stderr, "pam-jwt: cannot keep the DPoP key beside %s\n", token_file);
		return CLI_EXIT_REFUSED;
	}
	printf("DPoP key written to %s\n", path);
	return CLI_EXIT_OK;
}

int cli_login_main(const struct pj_config *cfg, int argc, char **argv)
{
	const char *issuer = NULL, *user = NULL, *token_file = NULL, *dpop_alg = NULL;
	bool dpop = false;
	struct pj_log log = {.emit = cli_emit};
	struct pj_conv conv = {.info = info_stderr};
	struct pj_device_opts dopts = {.ask_enter = false, .service = "pam-jwt login"};
	const struct pj_issuer *iss;
	struct pj_identity id;
	struct pj_error err;
	char *token = NULL;
	pj_status r;
	int c, rc;

	memset(&id, 0, sizeof(id));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", cli_login_options, NULL)) != -1) {
		switch (c) {
		case 'c': break;
		case 'i': issuer = optarg; break;
		case 'u': user = optarg; break;
		case 't': token_file = optarg; break;
		case 'd':
			dpop = true;
			dpop_alg = optarg;
			break;
		default: usage(); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return CLI_EXIT_USAGE;
	}
	iss = issuer != NULL ? config_find_issuer_by_name(cfg, issuer) : pj_device_issuer(cfg);
	if (iss == NULL || iss->device_client_id == NULL) {
		fprintf(stderr, "pam-jwt: %s%s%s\n", issuer ? "issuer " : "no issuer with device_client_id",
		        issuer ? issuer : "",
		        issuer ? (iss ? " has no device_client_id" : ": no such issuer") : "");
		return CLI_EXIT_USAGE;
	}
	if (dpop && (rc = dpop_begin(dpop_alg, token_file, &dopts.dpop_key)) != CLI_EXIT_OK)
		return rc;
	dopts.user = user;
	r = pj_device_login(cfg, iss, &conv, &dopts, &log, user, &id, &token, &err);
	if (r != PJ_OK) {
		char esc[PJ_REASON_MAX * 4];

		printf("refused: %s\nstatus:   %s\n",
		       pj_escape(esc, sizeof(esc), err.reason, strlen(err.reason)), pj_status_name(r));
		rc = r == PJ_ERR_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_REFUSED;
		goto out;
	}
	cli_print_identity(&id);
	rc = CLI_EXIT_OK;
	if (token_file != NULL) {
		if (write_token(token_file, token) != 0)
			rc = CLI_EXIT_REFUSED;
		else
			printf("token written to %s\n", token_file);
		if (rc == CLI_EXIT_OK && dopts.dpop_key != NULL)
			rc = dpop_keep(token_file, dopts.dpop_key);
	}
out:
	EVP_PKEY_free(dopts.dpop_key);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	pj_identity_free(&id);
	return rc;
}
