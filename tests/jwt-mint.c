/* jwt-mint.c: a small CLI over the testkit that makes keys, JWKS documents and signed tokens for shell tests.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pam_jwt/jws_alg.h"
#include "testkit.h"

#define EXIT_USAGE 2
#define NOW_N_MAX  100000000000LL /* bound on N in "@now+N": about 3000 years */

static int usage(void)
{
	fprintf(stderr,
	        "usage: jwt-mint keygen ALG OUT.pem\n"
	        "       jwt-mint jwks KEY.pem:KID[:ALG] [KEY.pem:KID[:ALG] ...]\n"
	        "       jwt-mint sign ALG KEY.pem KID PAYLOAD_JSON [HEADER_JSON]\n"
	        "KID \"-\" means no kid. In PAYLOAD_JSON, @now, @now+N and @now-N become Unix times.\n");
	return EXIT_USAGE;
}

static const struct jws_alg *alg_arg(const char *name)
{
	const struct jws_alg *alg = jws_alg_by_name(name);

	if (alg == NULL)
		fprintf(stderr, "jwt-mint: unknown alg \"%s\"\n", name);
	return alg;
}

static int cmd_keygen(int argc, char **argv)
{
	const struct jws_alg *alg;
	EVP_PKEY *pkey;
	int rc;

	if (argc != 4)
		return usage();
	if ((alg = alg_arg(argv[2])) == NULL)
		return EXIT_USAGE;
	if ((pkey = tk_keygen(alg->id)) == NULL) {
		fprintf(stderr, "jwt-mint: key generation failed\n");
		return 1;
	}
	rc = tk_key_save(pkey, argv[3]) == 0 ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "jwt-mint: cannot write %s\n", argv[3]);
	EVP_PKEY_free(pkey);
	return rc;
}

/* One "KEY.pem:KID[:ALG]" argument as a public JWK. */
static char *jwk_arg(const char *spec, int *rc)
{
	char *copy = strdup(spec), *path, *kid, *alg, *json = NULL;
	EVP_PKEY *pkey = NULL;

	*rc = 1;
	if (copy == NULL)
		return NULL;
	path = copy;
	if ((kid = strchr(path, ':')) == NULL) {
		*rc = usage();
		goto out;
	}
	*kid++ = '\0';
	if ((alg = strchr(kid, ':')) != NULL)
		*alg++ = '\0';
	if (alg != NULL && alg_arg(alg) == NULL) {
		*rc = EXIT_USAGE;
		goto out;
	}
	if ((pkey = tk_key_load(path)) == NULL) {
		fprintf(stderr, "jwt-mint: cannot read a private key from %s\n", path);
		goto out;
	}
	if ((json = tk_jwk_json(pkey, strcmp(kid, "-") == 0 ? NULL : kid, alg, NULL)) == NULL)
		fprintf(stderr, "jwt-mint: cannot export %s as a JWK\n", path);
	else
		*rc = 0;
out:
	EVP_PKEY_free(pkey);
	free(copy);
	return json;
}

static int cmd_jwks(int argc, char **argv)
{
	char *doc = NULL, *next;
	int rc = 0;

	if (argc < 3)
		return usage();
	/* Built whole before printing, so a failure leaves no half document on stdout. */
	for (int i = 2; i < argc && rc == 0; i++) {
		char *jwk = jwk_arg(argv[i], &rc);

		if (jwk == NULL)
			break;
		next = tk_strf("%s%s%s", doc ? doc : "", doc ? "," : "", jwk);
		free(jwk);
		free(doc);
		if ((doc = next) == NULL)
			rc = 1;
	}
	if (rc == 0) {
		printf("{\"keys\":[%s]}\n", doc);
		rc = fflush(stdout) == 0 ? 0 : 1;
	}
	free(doc);
	return rc;
}

/* Parses the "+N" / "-N" after "@now" at *p; returns the offset and advances *p past it. */
static long long now_offset(const char **p)
{
	const char *s = *p;
	long long n = 0;
	int sign;

	if (*s != '+' && *s != '-')
		return 0;
	sign = *s == '-' ? -1 : 1;
	if (!isdigit((unsigned char)s[1]))
		return 0;
	for (s++; isdigit((unsigned char)*s); s++) {
		if (n < NOW_N_MAX)
			n = n * 10 + (*s - '0');
	}
	*p = s;
	return sign * (n < NOW_N_MAX ? n : NOW_N_MAX);
}

/* The payload with every "@now", "@now+N", "@now-N" replaced by the Unix time as a number. malloc'd. */
static char *expand_now(const char *in)
{
	long long now = (long long)time(NULL);
	/* Each "@now" (4 chars) becomes at most 13 characters (offsets are bounded by NOW_N_MAX). */
	size_t cap = strlen(in) * 4 + 64, o = 0;
	char *out = malloc(cap);
	const char *p = in;

	if (out == NULL)
		return NULL;
	while (*p != '\0') {
		if (strncmp(p, "@now", 4) == 0) {
			long long off;

			p += 4;
			off = now_offset(&p);
			o += (size_t)snprintf(out + o, cap - o, "%lld", now + off);
		} else {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	return out;
}

static int cmd_sign(int argc, char **argv)
{
	const struct jws_alg *alg;
	const char *kid;
	char *payload = NULL, *header = NULL, *token = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = 1;

	if (argc != 6 && argc != 7)
		return usage();
	if ((alg = alg_arg(argv[2])) == NULL)
		return EXIT_USAGE;
	kid = strcmp(argv[4], "-") == 0 ? NULL : argv[4];
	if ((pkey = tk_key_load(argv[3])) == NULL) {
		fprintf(stderr, "jwt-mint: cannot read a private key from %s\n", argv[3]);
		goto out;
	}
	if ((payload = expand_now(argv[5])) == NULL)
		goto out;
	if (argc == 7)
		header = strdup(argv[6]);
	else if (kid != NULL)
		header = tk_strf("{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg->name, kid);
	else
		header = tk_strf("{\"alg\":\"%s\",\"typ\":\"JWT\"}", alg->name);
	if (header == NULL)
		goto out;
	if ((token = tk_sign(alg->id, pkey, header, payload)) == NULL) {
		fprintf(stderr, "jwt-mint: signing failed (does the key fit %s?)\n", alg->name);
		goto out;
	}
	printf("%s\n", token);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(token);
	free(header);
	free(payload);
	EVP_PKEY_free(pkey);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc, argv);
	if (strcmp(argv[1], "jwks") == 0)
		return cmd_jwks(argc, argv);
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc, argv);
	return usage();
}
