/* cli_common.h: what the pam-jwt commands and pam-jwt-askpass share: exit codes, option parsing. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_COMMON_H
#define PAM_JWT_CLI_COMMON_H

#include <getopt.h>

/* The exit status of every command (pam-jwt --help documents them for verify). */
enum cli_exit {
	CLI_EXIT_OK = 0,      /* accepted, done */
	CLI_EXIT_REFUSED = 1, /* refused, or the work failed (a fetch, a store change) */
	CLI_EXIT_USAGE = 2,   /* a usage or configuration error */
};

/* Options are parsed with getopt_long everywhere, long options only ("" as optstring), and every parse
 * starts with optind = 0 (glibc: a full reinitialisation), since the tests run several subcommands in one
 * process. Subcommands that take the loaded configuration list "config" (required_argument, 'c') in their
 * table: pam-jwt finds --config with that same table (cli.c with_config) and the subcommand skips it. */
#define CLI_OPTION_CONFIG                                                                                    \
	{                                                                                                    \
		"config", required_argument, NULL, 'c'                                                       \
	}

#endif
