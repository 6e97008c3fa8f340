/* pam_dpop.c: DPoP in the PAM conversation: a nonce per pam_authenticate call, carried by the prompt. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_dpop.h"
#include "pam_jwt/authz.h"

pj_status pam_dpop_begin(const struct pj_config *cfg, const char *service, struct pam_dpop *d,
                         const char **prompt, struct pj_error *err)
{
	pj_status r;

	memset(d, 0, sizeof(*d));
	if (!cfg->dpop_offered)
		return PJ_OK;
	if ((r = dpop_nonce_new(d->nonce, err)) != PJ_OK)
		return r;
	d->issued = time(NULL);
	if (asprintf(&d->prompt, PJ_DPOP_PROMPT_PREFIX "%s service=%s] %s", d->nonce, service, *prompt) < 0) {
		d->prompt = NULL;
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	d->offered = true;
	*prompt = d->prompt;
	return PJ_OK;
}

pj_status pam_dpop_check(const struct pj_config *cfg, const char *service, const struct pam_dpop *d,
                         const struct pj_identity *id, const char *token, const char *proof,
                         struct pj_error *err)
{
	struct pj_dpop_expect x = {
	    .service = service,
	    .nonce = d->offered ? d->nonce : NULL,
	    .nonce_issued = d->issued,
	    .now = time(NULL),
	};

	return dpop_check_login(cfg, authz_service_section(cfg, service), id, token, strlen(token), proof, &x,
	                        err);
}

void pam_dpop_end(struct pam_dpop *d)
{
	free(d->prompt);
	explicit_bzero(d, sizeof(*d));
}
