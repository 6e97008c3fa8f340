/* jws.h: splitting a compact JWS into its parts and checking the protected header. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JWS_H
#define PAM_JWT_JWS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "error.h"
#include "jws_alg.h"

struct jws_token {
	json_object *header;       /* protected header (object) */
	json_object *payload;      /* claims (object) */
	const char *alg_name;      /* header "alg" (points into header), NULL if absent */
	const struct jws_alg *alg; /* supported alg, NULL if alg_name is not one */
	const char *kid;           /* header "kid" (points into header), NULL if absent */
	const char *signing_input; /* header.payload, points into the caller's token */
	size_t signing_input_len;
	unsigned char *signature; /* decoded */
	size_t signature_len;
};

/* True when input looks like it is meant to be a JWT (so a password typed at the prompt is not taken
 * for a malformed token): it starts with "eyJ" and holds a '.'. */
bool jws_looks_like_jwt(const char *input, size_t len);

/* Parses a compact JWS of len bytes. Checks, in order: len <= max_len (before anything is decoded);
 * exactly three '.'-separated segments (five: JWE, refused); each segment strict base64url; header and
 * payload strict JSON objects; header: alg a string naming a supported algorithm (none/HS* never), no
 * "crit", no "b64", kid a string of at most 256 bytes, typ absent or JWT / at+jwt / application/at+jwt
 * (case-insensitive as RFC 7515 says for media types). jwk/jku/x5u/x5c are ignored: keys only ever come
 * from the issuer's JWKS. Refusals: PJ_ERR_NOT_JWT when !jws_looks_like_jwt, else PJ_ERR_TOKEN.
 * On any return, jws_token_free(out) is safe. */
pj_status jws_parse(const char *token, size_t len, size_t max_len, struct jws_token *out,
                    struct pj_error *err);

/* Which typ a JWS must carry: a login token (above), or a DPoP proof (RFC 9449: typ "dpop+jwt", required;
 * its key is in the header "jwk", which dpop.c reads). */
enum jws_typ_rule { JWS_TYP_LOGIN, JWS_TYP_DPOP };

/* Decodes one base64url segment (a protected header, a payload) and parses it as a strict JSON object whose
 * member names its root owns (JSON_STRICT_NAMES_IN_ROOT: the caller keeps the tree whole, never an inner
 * object past the root). Refusals are "WHAT: reason". */
pj_status jws_decode_json_segment(const char *seg, size_t len, const char *what, json_object **out,
                                  struct pj_error *err);

/* jws_parse with the typ rule given. */
pj_status jws_parse_typed(const char *token, size_t len, size_t max_len, enum jws_typ_rule typ,
                          struct jws_token *out, struct pj_error *err);
void jws_token_free(struct jws_token *t);

#endif
