/* pam_dpop.h: DPoP in the PAM conversation: the nonce in the prompt, the proof beside the token. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_PAM_DPOP_H
#define PAM_JWT_PAM_DPOP_H

#include <stdbool.h>
#include <time.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/error.h"
#include "pam_jwt/verify.h"

/* One conversation's nonce. It lives in this pam_authenticate call only (issued before the prompt, checked
 * after the answer, wiped at the end), so it cannot be used twice, nor by another host, service or user. */
struct pam_dpop {
	bool offered;
	char nonce[PJ_DPOP_NONCE_LEN + 1];
	time_t issued;
	char *prompt; /* "[DPoP nonce=NONCE service=SERVICE] " + the prompt, when offered */
};

/* When cfg offers DPoP: a fresh nonce, and *prompt set to the prompt that carries it (else unchanged). */
pj_status pam_dpop_begin(const struct pj_config *cfg, const char *service, struct pam_dpop *d,
                         const char **prompt, struct pj_error *err);

/* The DPoP step for a verified token (dpop_check_login with this conversation's nonce). */
pj_status pam_dpop_check(const struct pj_config *cfg, const char *service, const struct pam_dpop *d,
                         const struct pj_identity *id, const char *token, const char *proof,
                         struct pj_error *err);

void pam_dpop_end(struct pam_dpop *d);

#endif
