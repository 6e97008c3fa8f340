/* cli_dpop.h: `pam-jwt dpop`: the client's DPoP key pair and proofs (pam-jwt-askpass calls it to sign). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CLI_DPOP_H
#define PAM_JWT_CLI_DPOP_H

/* argv[0] is "dpop", then:
 *   keygen --key FILE [--alg ES256|EdDSA]   a new key pair, private key in FILE (0600); prints its jkt
 *   jkt --key FILE                          prints the RFC 7638 thumbprint (what cnf.jkt must hold)
 *   proof --key FILE --htu URL [--htm M] [--nonce N] [--no-ath]
 *                                           reads a token on stdin, prints a proof for it (htm PAM)
 * Needs no configuration: it runs on the client. Returns 0, 1 on failure, 2 on usage errors. */
int cli_dpop_main(int argc, char **argv);

#endif
