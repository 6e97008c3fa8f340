/* pam_opkssh.h: the session step for logins made with an opkssh certificate (pam-jwt authorized-keys). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_PAM_OPKSSH_H
#define PAM_JWT_PAM_OPKSSH_H

#include <stdbool.h>

#include <security/pam_modules.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/identity.h"
#include "pam_jwt/log.h"

/* When sshd authenticated user with a public-key certificate that carries an openpubkey-pkt extension
 * (found in SSH_AUTH_INFO_0, which sshd puts in the PAM environment before the session), verifies it
 * again exactly as `pam-jwt authorized-keys` did (opkssh_check, service = service) and records the login in
 * the user store (mapping_record_login: binding, uid, groups). *handled is false when there is no such
 * certificate. On success *accepted (zeroed by the caller; pj_identity_free it) holds the last verified
 * identity, for the session's PAM_JWT_* environment. Returns PAM_SUCCESS, or a failure code (PAM_SESSION_ERR)
 * when the certificate is refused or cannot be recorded, or SSH_AUTH_INFO_0 is too long to be read. */
int pam_opkssh_session(pam_handle_t *pamh, const struct pj_config *cfg, const struct pj_log *log,
                       const char *user, const char *service, bool *handled, struct pj_identity *accepted);

#endif
