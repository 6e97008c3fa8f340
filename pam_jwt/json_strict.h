/* json_strict.h: strict RFC 8259 JSON for untrusted input (token header and payload, JWKS, discovery). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JSON_STRICT_H
#define PAM_JWT_JSON_STRICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

#define JSON_STRICT_DEFAULT_DEPTH 16
#define JSON_STRICT_MAX_MEMBERS   1024  /* members of one object */
#define JSON_STRICT_MAX_ELEMENTS  16384 /* elements of one array */

/* Parses text (len bytes, need not be NUL-terminated, len <= INT_MAX) as one JSON object and nothing
 * else, building the json-c tree as it validates (json-c's parser never sees the text): valid UTF-8;
 * RFC 8259 grammar only (no NaN, Infinity, comments, single quotes, trailing commas, leading zeros); at
 * most max_depth objects and arrays nested ("{}" is depth 1, {"a":[1]} depth 2; max_depth >= 1, capped
 * at 256); nothing but whitespace (space, tab, CR, LF) around the value; no duplicate member names in an
 * object (compared after unescaping; refused at the second occurrence); no string containing U+0000
 * (escaped or not) and no \u escape of a lone surrogate; every number finite as a double, and an
 * integer (no fraction or exponent) within int64 or uint64, since json-c would clamp it silently (kept
 * as int64 when it fits); member and element counts bounded as above.
 * On success *out holds a new json-c object (json_object_put it); on refusal *out is NULL.
 * Refusals: PJ_ERR_TOKEN with a reason naming what was wrong and its offset, never the content;
 * allocation failure: PJ_ERR_NOMEM. */
pj_status json_strict_parse_object(const char *text, size_t len, int max_depth, json_object **out,
                                   struct pj_error *err);

/* Flags of json_strict_parse_object_ext. */
enum json_strict_flags {
	/* Every member name of the tree lives in one block the root owns (freed with it), instead of one
	 * allocation per name: for a tree that is only ever kept whole, as a token's header and payload are.
	 * A caller that asks for it must not keep any object inside the tree beyond the root's life. */
	JSON_STRICT_NAMES_IN_ROOT = 1 << 0,
};

/* json_strict_parse_object with flags (enum json_strict_flags). */
pj_status json_strict_parse_object_ext(const char *text, size_t len, int max_depth, unsigned flags,
                                       json_object **out, struct pj_error *err);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Returns the offset of
 * the first byte that does not start a well-formed sequence, or len when all of text is well formed. The
 * one UTF-8 rule: JSON text and pam_jwt.conf lines are both held to it. */
size_t json_strict_utf8_check(const char *text, size_t len);

/* Typed member access. json-c converts types silently (a string "123" or true as an int); these do not. */
enum json_get {
	JSON_GET_OK = 0,
	JSON_GET_ABSENT = 1,     /* no such member (or obj is not an object) */
	JSON_GET_WRONG_TYPE = 2, /* present but of another JSON type */
};

/* A JSON string. *out points into obj (valid while obj lives); *len may be NULL. */
enum json_get json_get_string(json_object *obj, const char *key, const char **out, size_t *len);

/* A JSON number (integer or real; never string, boolean or null). Reals are truncated toward zero
 * only if they fit in int64; a real beyond int64 range is WRONG_TYPE. */
enum json_get json_get_int64(json_object *obj, const char *key, int64_t *out);

/* A JSON array (its element type is not checked). */
enum json_get json_get_array(json_object *obj, const char *key, json_object **out);

/* A JSON object. */
enum json_get json_get_object(json_object *obj, const char *key, json_object **out);

#endif
