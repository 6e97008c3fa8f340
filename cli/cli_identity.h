/* cli_identity.h: how pam-jwt shows an accepted identity (verify and login print it alike). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_IDENTITY_H
#define PAM_JWT_CLI_IDENTITY_H

#include "pam_jwt/identity.h"

/* Prints "accepted" and the identity on stdout: issuer (name and iss), subject, username, groups, alg and
 * exp (Unix time and UTC ISO 8601). What came from the token is escaped. */
void cli_print_identity(const struct pj_identity *id);

#endif
