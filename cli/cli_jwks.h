/* cli_jwks.h: the `pam-jwt jwks status|refresh [--issuer NAME]` subcommands. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_JWKS_H
#define PAM_JWT_CLI_JWKS_H

#include "pam_jwt/config_file.h"

/* argv[0] is "jwks", argv[1] the subcommand ("status" or "refresh"), then options: --issuer NAME, and
 * --config FILE / --config=FILE, which are skipped (the caller loads cfg from them). Prints results to
 * stdout, problems to stderr. Returns the exit status: 0 when every issuer shown has usable keys (status) or
 * was refreshed (refresh), 1 otherwise, 2 on a usage error or an unknown --issuer. */
int cli_jwks_main(const struct pj_config *cfg, int argc, char **argv);

#endif
