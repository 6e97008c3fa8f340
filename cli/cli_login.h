/* cli_login.h: `pam-jwt login`: the device flow from the command line, for admins testing a configuration. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_LOGIN_H
#define PAM_JWT_CLI_LOGIN_H

#include <getopt.h>

#include "pam_jwt/config_file.h"

/* The options (getopt_long), described below. */
extern const struct option cli_login_options[];

/* argv[0] is "login", then options: --issuer NAME (default: the first issuer with device_client_id),
 * --user NAME (the identity must map to this user, as at a login), --token-file PATH (write the verified
 * token there, mode 0600, replaced atomically, for the askpass helper), and --config FILE / --config=FILE,
 * which are skipped (the caller loads cfg from them). The instructions and the QR code go to stderr, the
 * verified identity to stdout. Returns the exit status (enum cli_exit): 0 accepted, 1 refused or failed, 2
 * usage or configuration error (unknown issuer, no device_client_id). */
int cli_login_main(const struct pj_config *cfg, int argc, char **argv);

#endif
