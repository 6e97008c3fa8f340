/* cli_authkeys.h: `pam-jwt authorized-keys`, sshd's AuthorizedKeysCommand for opkssh certificates. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_AUTHKEYS_H
#define PAM_JWT_CLI_AUTHKEYS_H

/* argv[0] is "authorized-keys", then [--config FILE] [--service NAME] [--explain] USER KEY TYPE (sshd's
 * %u %k %t). An accepted certificate prints one authorized_keys line on stdout (opkssh.h); anything else
 * prints nothing. The outcome goes to syslog (sshd discards the command's stderr); --explain also writes
 * it to stderr for an admin. Returns 0 when accepted, for a plain key (not ours, nothing printed) and for a
 * refusal (nothing printed: sshd would log a failing command's arguments, the certificate among them);
 * and for a configuration that cannot be loaded (logged); with --explain 1 refused, 2 configuration error;
 * 2 for bad usage (wrong arguments: sshd_config needs fixing). */
int cli_authkeys_main(int argc, char **argv);

#endif
