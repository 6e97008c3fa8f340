/* json_go.h: JSON written byte for byte as Go's encoding/json writes a map[string]any (PK Token commitments).
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_JSON_GO_H
#define PAM_JWT_JSON_GO_H

#include <stddef.h>

#include <json-c/json.h>

#include "error.h"

#define JSON_GO_MAX_OUT (64 * 1024)        /* bytes written at most */
#define JSON_GO_MAX_INT 9007199254740992LL /* 2^53: Go holds numbers as float64 */

/* Writes obj as Go's json.Marshal writes the same value decoded into map[string]any: object members
 * sorted by name (byte order, as Go sorts map keys), nothing between tokens, strings with Go's escapes
 * (\" \\, and the HTML-safe \u003c \u003e \u0026 for < > &, \u2028 \u2029), other characters as they are.
 * Refused, because Go versions or float formatting would make the bytes uncertain: control characters in
 * strings (Go 1.22 changed how \b and \f are written), numbers that are not integers or whose magnitude
 * exceeds 2^53, more than JSON_GO_MAX_OUT bytes. *out is malloc'd and NUL-terminated.
 * Refusals: PJ_ERR_TOKEN with a reason. */
pj_status json_go_marshal(json_object *obj, char **out, size_t *outlen, struct pj_error *err);

#endif
