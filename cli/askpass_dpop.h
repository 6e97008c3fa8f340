/* askpass_dpop.h: pam-jwt-askpass's guard and DPoP: which hosts get the token, and token~proof answers. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_ASKPASS_DPOP_H
#define PAM_JWT_ASKPASS_DPOP_H

#include <stdbool.h>
#include <stddef.h>

#define ASKPASS_HOST_MAX 256

/* "pam-jwt-askpass: MESSAGE" on stderr, then exit 1. */
__attribute__((format(printf, 1, 2), noreturn)) void askpass_die(const char *fmt, ...);

/* The default token file: $XDG_CONFIG_HOME/pam_jwt/token, else ~/.config/pam_jwt/token. */
void askpass_default_token_file(char *path, size_t len);

/* Who asks: OpenSSH puts "(user@host) " in front of keyboard-interactive prompts (the name the user gave
 * ssh); a prompt without it comes from a program on this machine (sudo, su), and names this host. */
struct askpass_peer {
	bool remote;
	char host[ASKPASS_HOST_MAX];
};

/* Reads the peer from the start of prompt. False when the prefix is there but malformed. */
bool askpass_peer(const char *prompt, struct askpass_peer *peer);

/* Whether the token may go to peer: a local program always; a remote host only when it matches one of the
 * patterns (fnmatch, ignoring case) in PAM_JWT_HOSTS (space-separated) or, without it, in
 * $XDG_CONFIG_HOME/pam_jwt/hosts (~/.config/pam_jwt/hosts: one pattern per line, # comments). */
bool askpass_host_allowed(const struct askpass_peer *peer);

/* The nonce and service of a DPoP prompt ("[DPoP nonce=N service=S] ..."); false when it has none. */
bool askpass_dpop_prompt(const char *prompt, char *nonce, size_t nlen, char *service, size_t slen);

/* The DPoP key file: PAM_JWT_DPOP_KEY, else token_file + ".key" (token_file NULL: the default token file's).
 * Returns false when there is no such file (then the token goes without a proof). */
bool askpass_dpop_key(const char *token_file, char *path, size_t len);

/* token (len bytes) + '~' + a fresh proof from `pam-jwt dpop proof` (PAM_JWT_PROGRAM, else the installed
 * pam-jwt) for htu pam://HOST/SERVICE and nonce, into out (outlen bytes). Dies on failure. */
size_t askpass_dpop_answer(const char *token, size_t len, const char *key, const struct askpass_peer *peer,
                           const char *nonce, const char *service, char *out, size_t outlen);

/* The cache of a DPoP answer between the runs that send its parts (each run answers one prompt, and a
 * proof cannot be made twice alike): $XDG_RUNTIME_DIR (else ~/.cache)/pam_jwt/answer.PPID, 0600. Dropped
 * after the last part; put removes the answers of runs whose ssh (PPID) is gone, a login given up between
 * parts. */
void askpass_cache_put(const char *answer, size_t len);
bool askpass_cache_get(char *out, size_t outlen, size_t *len);
void askpass_cache_drop(void);

#endif
