/* testkit.h: keys, JWKs and signed tokens made with OpenSSL for the tests and the demo (not installed). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_TESTKIT_H
#define PAM_JWT_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "pam_jwt/jws_alg.h"

/* A fresh key for alg: RSA 2048 (RS*, PS*), EC P-256/P-384/P-521 (ES*), Ed25519 (EdDSA). NULL on error. */
EVP_PKEY *tk_keygen(enum jws_alg_id alg);

/* An RSA key of the given size (for the under-2048-bit tests). */
EVP_PKEY *tk_keygen_rsa(int bits);

/* Reads / writes a private key as PEM. */
EVP_PKEY *tk_key_load(const char *path);
int tk_key_save(EVP_PKEY *pkey, const char *path);

/* The public JWK of pkey as a JSON object text: kty and the key members (n/e, crv/x/y, crv/x), then
 * "kid" when kid != NULL, "alg" when alg != NULL, then extra (raw JSON members such as "\"use\":\"enc\"",
 * without braces) when extra != NULL. malloc'd. */
char *tk_jwk_json(EVP_PKEY *pkey, const char *kid, const char *alg, const char *extra);

/* Signs with alg: returns "B64(header_json).B64(payload_json).B64(sig)" where the JSON texts are encoded
 * exactly as given (so tests can send malformed JSON). ECDSA signatures are raw r||s as JWS wants. */
char *tk_sign(enum jws_alg_id alg, EVP_PKEY *pkey, const char *header_json, const char *payload_json);

/* The raw signature bytes over data (DER converted to r||s for ECDSA). *siglen receives the length. */
unsigned char *tk_sign_bytes(enum jws_alg_id alg, EVP_PKEY *pkey, const unsigned char *data, size_t len,
                             size_t *siglen);

/* Joins three already-encoded segments with dots. */
char *tk_join(const char *h, const char *p, const char *s);

/* Writes text to path (created or truncated; mode from the umask); aborts on failure. */
void tk_write_text(const char *path, const char *text);

/* dir/name in one of eight static buffers used in turn (so a few may be alive at once); names that do not
 * fit are cut. */
char *tk_path(const char *dir, const char *name);

/* tk_write_text, then chmod path to mode; aborts on failure. */
void tk_write_file(const char *path, const char *text, unsigned mode);

/* Log capture: one in-memory log for tests that check what the library logged. A test declares
 * `static const struct pj_log cap_log = {.emit = tk_log_emit, .debug = ...};` and passes &cap_log. Each
 * line is "PRIORITY:message\n"; the text is cut at 64 KiB. */
void tk_log_emit(void *arg, int priority, const char *message);
/* Forgets what was captured. */
void tk_log_clear(void);
/* Whether the captured text holds needle. */
bool tk_logged(const char *needle);

/* Copies the file src to dst (created, or truncated) with mode; aborts on failure. Tests copy what another
 * user must run into a world-readable temporary directory: the build tree may sit under a 0700 home. */
void tk_copy_file(const char *src, const char *dst, unsigned mode);

/* printf into a malloc'd string. */
char *tk_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
