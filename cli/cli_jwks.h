/* cli_jwks.h: the `pam-jwt jwks status|refresh [--issuer NAME]` subcommands. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_JWKS_H
#define PAM_JWT_CLI_JWKS_H

#include <getopt.h>

#include "pam_jwt/config_file.h"

/* The options (getopt_long): --issuer NAME, and --config FILE, which is skipped (the caller loads cfg). */
extern const struct option cli_jwks_options[];

/* argv[0] is "jwks", then the subcommand ("status" or "refresh") and the options in any order. Prints
 * results to stdout, problems to stderr. Returns the exit status (enum cli_exit): 0 when every issuer shown
 * has usable keys (status) or was refreshed (refresh), 1 otherwise, 2 on a usage error or an unknown
 * --issuer. */
int cli_jwks_main(const struct pj_config *cfg, int argc, char **argv);

#endif
