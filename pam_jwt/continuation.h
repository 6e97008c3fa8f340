/* continuation.h: a token sent as several answers (clients cut answers at 511 or 1023 bytes). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CONTINUATION_H
#define PAM_JWT_CONTINUATION_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * The protocol, shared by pam_jwt.so and pam-jwt-askpass:
 *  - The module asks with its prompt ("JWT: "). An answer that ends in a backslash ('\', which no token
 *    holds) and whose text before it looks like the start of a token (it begins with "eyJ" and holds only
 *    base64url characters, dots and '~') is part 1 of a token: the backslash says "more follows". ('~'
 *    joins a token and its DPoP proof: "TOKEN~PROOF", dpop.h.)
 *  - The module then asks "JWT (continued, part N): " (N = 2, 3, ...) for each further part. A part ending
 *    in a backslash is followed by another; a part without one is the last (it may be empty). Every part
 *    holds only base64url characters, dots and '~'.
 *  - The token is the parts joined without their backslashes. At most PJ_CONT_MAX_PARTS parts, and the
 *    joined token at most max_token_size bytes: the module stops asking as soon as either is passed.
 *  - Any other first answer (a password ending in '\' included) is taken whole, as it is.
 */
#define PJ_CONT_MARKER         '\\'
#define PJ_CONT_MAX_PARTS      64
#define PJ_CONT_PROMPT_FMT     "JWT (continued, part %u): "
#define PJ_CONT_PROMPT_PREFIX  "JWT (continued, part "
#define PJ_CONT_DEFAULT_PROMPT "JWT: "

/* Known client limits on one answer, in bytes: sudo refuses replies of 512 bytes or more (PAM's
 * PAM_MAX_RESP_SIZE); the OpenSSH client reads answers (askpass included) into a 1024-byte buffer;
 * pam_misc's text conversation (su, login, pamtester) reads at most 4095 bytes of a line. */
#define PJ_CONT_SUDO_LIMIT 511
#define PJ_CONT_SSH_LIMIT  1023
#define PJ_CONT_MISC_LIMIT 4095

struct pj_cont {
	char *buf; /* the token so far, NUL-terminated */
	size_t len;
	size_t max_len;  /* max_token_size */
	unsigned parts;  /* answers taken so far */
	size_t last_len; /* length of the last answer as received (with its marker) */
	bool more;       /* the last answer asked for another part */
};

/* Starts an empty token of at most max_len bytes. */
void pj_cont_init(struct pj_cont *c, size_t max_len);

/* Takes the next answer (len bytes). Afterwards c->more says whether to ask for part c->parts + 1.
 * Refusals (PJ_ERR_TOKEN, with the part number in the reason): a part after the first holding a character
 * that cannot be in a token, more than PJ_CONT_MAX_PARTS parts, more than max_len bytes. */
pj_status pj_cont_add(struct pj_cont *c, const char *answer, size_t len, struct pj_error *err);

/* Whether s (len bytes) holds only base64url characters, dots and '~'. */
bool pj_cont_token_chars(const char *s, size_t len);

/* Whether an answer of len bytes is part 1 of a longer token (see the protocol above). */
bool pj_cont_is_first_part(const char *answer, size_t len);

/* The part number a continuation prompt asks for, or 0 when prompt does not end in one. Text before the
 * prompt (OpenSSH prefixes "(user@host) ") is allowed. */
unsigned pj_cont_prompt_part(const char *prompt);

/* Wipes and frees the buffer. */
void pj_cont_free(struct pj_cont *c);

#endif
