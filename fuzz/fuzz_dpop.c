/* fuzz_dpop.c: libFuzzer target for DPoP proofs (dpop.c): JWS parse, header jwk, thumbprint, signature,
 * claims. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/error.h"
#include "pam_jwt/json_strict.h"

/* The token the proofs are for (ath); make-corpus.sh signs its seed proofs over the same text. */
#define FUZZ_TOKEN "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJmdXp6In0.c2ln"

static struct pj_config *cfg;

static void setup(void)
{
	static const char text[] =
	    "[global]\ndpop = yes\ndpop_host_names = fuzz.test\n"
	    "[issuer f]\nissuer = https://idp.fuzz.test\naudience = a\njwks_file = /nonexistent\n";
	struct pj_error err;

	if (config_parse("fuzz.conf", text, sizeof(text) - 1, &cfg, &err) != PJ_OK) {
		fprintf(stderr, "fuzz_dpop: setup: %s\n", err.reason);
		exit(1);
	}
}

/* The jkt the proof is checked against: the thumbprint of its own header jwk when there is one (so that
 * a seed proof reaches the signature and the claims), else a fixed value. */
static void header_jkt(const char *proof, size_t len, char *jkt, size_t jlen)
{
	const char *dot = memchr(proof, '.', len);
	unsigned char *raw = NULL;
	json_object *hdr = NULL, *jwk;
	struct pj_error err;
	size_t rawlen;

	snprintf(jkt, jlen, "%s", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	if (dot == NULL || b64url_decode(proof, (size_t)(dot - proof), &raw, &rawlen, &err) != PJ_OK)
		return;
	if (json_strict_parse_object((const char *)raw, rawlen, JSON_STRICT_DEFAULT_DEPTH, &hdr, &err) ==
	        PJ_OK &&
	    json_get_object(hdr, "jwk", &jwk) == JSON_GET_OK)
		dpop_jwk_thumbprint(jwk, jkt, jlen, &err);
	json_object_put(hdr);
	free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_dpop_expect x = {
	    .service = "sshd", .nonce = "fuzz-nonce", .now = time(NULL), .by_hand = false};
	char *proof, jkt[64];
	struct pj_error err;

	if (cfg == NULL)
		setup();
	x.nonce_issued = x.now;
	if ((proof = malloc(size + 1)) == NULL)
		return 0;
	memcpy(proof, data, size);
	proof[size] = '\0';
	header_jkt(proof, size, jkt, sizeof(jkt));
	dpop_check_proof(cfg, proof, size, jkt, FUZZ_TOKEN, strlen(FUZZ_TOKEN), &x, &err);
	free(proof);
	return 0;
}
