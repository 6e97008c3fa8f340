/* b64url.h: strict base64url (RFC 4648 section 5) without padding, as JWS uses it. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_B64URL_H
#define PAM_JWT_B64URL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* Decodes len characters of in. Strict: only A-Z a-z 0-9 - _, no '=' padding, no whitespace, a length
 * that is not 1 mod 4, and unused trailing bits must be zero. On success *out is a malloc'd buffer
 * (NUL-terminated one past *outlen, for convenience) that the caller frees. Refusals: PJ_ERR_TOKEN. */
pj_status b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen,
                        struct pj_error *err);

/* As b64url_decode, into buf (size bytes, at least b64url_decoded_size(len), else PJ_ERR_TOKEN): for a
 * caller that decodes a short segment on its stack instead of the heap. */
pj_status b64url_decode_buf(const char *in, size_t len, unsigned char *buf, size_t size, size_t *outlen,
                            struct pj_error *err);

/* The buffer b64url_decode_buf needs for len characters: the decoded bytes and a NUL. */
size_t b64url_decoded_size(size_t len);

/* Encodes len bytes into a malloc'd NUL-terminated string without padding; NULL on allocation failure. */
char *b64url_encode(const unsigned char *in, size_t len);

/* True when every one of the len characters is in the base64url alphabet. */
bool b64url_alphabet_only(const char *in, size_t len);

#endif
