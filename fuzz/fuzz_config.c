/* fuzz_config.c: libFuzzer target for the pam_jwt.conf parser and its lookups. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	struct pj_config *cfg = NULL;

	if (config_parse("fuzz.conf", (const char *)data, size, &cfg, &err) != PJ_OK) {
		config_free(cfg);
		return 0;
	}
	for (size_t i = 0; i < cfg->n_issuers; i++) {
		const struct pj_issuer *is = &cfg->issuers[i];

		if (config_find_issuer_by_name(cfg, is->name) == NULL)
			abort();
		if (is->issuer != NULL && config_find_issuer(cfg, is->issuer, strlen(is->issuer)) == NULL)
			abort();
	}
	for (size_t i = 0; i < cfg->n_services; i++)
		if (config_find_service(cfg, cfg->services[i].name) == NULL)
			abort();
	config_free(cfg);
	return 0;
}
