/* fuzz_jwks.c: libFuzzer target for JWKS parsing and key selection for every algorithm. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>

#include "pam_jwt/error.h"
#include "pam_jwt/jwk.h"
#include "pam_jwt/jws_alg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	struct jwk_set *set = NULL;
	char why[128];

	if (jwk_set_parse((const char *)data, size, &set, &err) != PJ_OK) {
		jwk_set_free(set);
		return 0;
	}
	for (int id = 0; id < JWS_ALG_COUNT; id++) {
		const struct jws_alg *alg = jws_alg_by_id(id);
		const struct jwk *key = NULL;

		(void)jwk_set_select(set, alg, NULL, &key, &err);
		for (size_t i = 0; i < set->n_keys; i++) {
			struct jwk *k = &set->keys[i];

			(void)jwk_fits_alg(k, alg, why, sizeof(why));
			if (k->kid != NULL) {
				key = NULL;
				if (jwk_set_select(set, alg, k->kid, &key, &err) == PJ_OK &&
				    (key == NULL || !key->usable || key->pkey == NULL))
					abort(); /* a selected key is always usable */
				(void)jwk_set_has_kid(set, k->kid);
			}
		}
		(void)jwk_set_select(set, alg, "no-such-kid", &key, &err);
	}
	jwk_set_free(set);
	return 0;
}
