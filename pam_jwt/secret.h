/* secret.h: memory that held a secret (a token, a device code, a client secret) is wiped before it is freed.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_SECRET_H
#define PAM_JWT_SECRET_H

/* Overwrites the string s (up to its NUL) with explicit_bzero, then frees it. NULL is fine. */
void pj_free_secret(char *s);

#endif
