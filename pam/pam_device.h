/* pam_device.h: pam_jwt.so's side of the device flow: the mode= argument and the PAM conversation. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_PAM_DEVICE_H
#define PAM_JWT_PAM_DEVICE_H

#include <stdbool.h>

#include <security/pam_modules.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/error.h"
#include "pam_jwt/log.h"
#include "pam_jwt/verify.h"

/* mode=token (the default): a pasted token; mode=device: always the device flow; mode=auto: the prompt
 * offers both, and an empty answer (Enter) starts the device flow. */
enum pam_jwt_mode { PAM_JWT_MODE_TOKEN, PAM_JWT_MODE_DEVICE, PAM_JWT_MODE_AUTO };

#define PAM_JWT_AUTO_PROMPT "JWT (or press Enter to sign in with a browser): "

/* Parses the value of mode= (NULL: token). False for anything else. */
bool pam_device_mode(const char *value, enum pam_jwt_mode *mode);

/* The prompt for the token: with mode=auto and the default prompt, PAM_JWT_AUTO_PROMPT. */
const char *pam_device_prompt(enum pam_jwt_mode mode, const char *prompt, const char *default_prompt);

/* Runs the device flow for the first issuer with device_client_id through the PAM conversation (the
 * instructions and QR code in the text of a "press Enter when you have approved" prompt, so that OpenSSH,
 * sudo and login all show them at once) and verifies the token exactly as a pasted one, for user.
 * Returns what pj_device_login returns, but PJ_ERR_TOKEN for an answer that is not a JWT (never
 * PJ_ERR_NOT_JWT, which ignore_non_jwt would turn into PAM_IGNORE); *id as pj_verify fills it. */
pj_status pam_device_login(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *log,
                           const char *user, struct pj_identity *id, struct pj_error *err);

#endif
