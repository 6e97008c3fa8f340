/* cli_user.h: `pam-jwt user list|show|add|del|unbind|init`, managing the user store. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_USER_H
#define PAM_JWT_CLI_USER_H

#include <getopt.h>

#include "pam_jwt/config_file.h"

/* The options (getopt_long): --uid N and --gecos TEXT (add only), --config FILE (skipped: the caller loads
 * cfg). */
extern const struct option cli_user_options[];

/* argv[0] is "user", then the action and its options, in any order:
 *   list                                  users: name, uid, last token login, bound iss and sub
 *   show NAME                             one user in full, with its groups
 *   add NAME [--uid N] [--gecos TEXT]     an unbound user (the first token login binds it)
 *   del NAME                              removes a user (its files keep their uid)
 *   unbind NAME                           releases the (iss, sub) binding: the next login binds anew
 *   init                                  writes the store (empty if there is none) with the NSS
 *                                         parameters from cfg: needed before nss_preauth can answer
 * Every writing action also refreshes those parameters. Output on stdout, errors on stderr.
 * Returns the exit status (enum cli_exit): 0 done, 1 failed (no such user, refused, store trouble), 2 usage.
 */
int cli_user_main(const struct pj_config *cfg, int argc, char **argv);

#endif
