/* json_go.c: re-serialising parsed JSON the way Go's encoding/json does (sorted keys, compact, HTML-safe). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_go.h"

struct gobuf {
	char *p;
	size_t len, cap;
	pj_status st;
	struct pj_error *err;
};

static void put(struct gobuf *b, const char *s, size_t n)
{
	if (b->st != PJ_OK)
		return;
	if (b->len + n > JSON_GO_MAX_OUT) {
		b->st = pj_fail(b->err, PJ_ERR_TOKEN, "JSON re-serialised is over %d bytes", JSON_GO_MAX_OUT);
		return;
	}
	if (b->p == NULL || b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1)
			cap *= 2;
		if ((np = realloc(b->p, cap)) == NULL) {
			b->st = pj_fail(b->err, PJ_ERR_NOMEM, "out of memory");
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Go's encodeState.string with escapeHTML: the input was valid UTF-8 already (json_strict). */
static void put_string(struct gobuf *b, const char *s, size_t n)
{
	size_t start = 0;

	put(b, "\"", 1);
	for (size_t i = 0; i < n && b->st == PJ_OK; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;

		if (c < 0x20) {
			b->st = pj_fail(
			    b->err, PJ_ERR_TOKEN,
			    "a string holds a control character (its Go encoding depends on the Go version)");
			return;
		}
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '<': esc = "\\u003c"; break;
		case '>': esc = "\\u003e"; break;
		case '&': esc = "\\u0026"; break;
		case 0xe2: /* U+2028 and U+2029 are E2 80 A8 / E2 80 A9 */
			if (i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
			    ((unsigned char)s[i + 2] == 0xa8 || (unsigned char)s[i + 2] == 0xa9)) {
				put(b, s + start, i - start);
				put(b, (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
				i += 2;
				start = i + 1;
			}
			continue;
		default: continue;
		}
		put(b, s + start, i - start);
		put(b, esc, strlen(esc));
		start = i + 1;
	}
	put(b, s + start, n - start);
	put(b, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
	const char *ka = *(const char *const *)a, *kb = *(const char *const *)b;

	return strcmp(ka, kb); /* keys hold no NUL (json_strict): byte order, as Go's sort.Strings */
}

static void put_value(struct gobuf *b, json_object *v, int depth);

static void put_object(struct gobuf *b, json_object *obj, int depth)
{
	size_t n = (size_t)json_object_object_length(obj), i = 0;
	const char **keys;

	if ((keys = calloc(n + 1, sizeof(*keys))) == NULL) {
		b->st = pj_fail(b->err, PJ_ERR_NOMEM, "out of memory");
		return;
	}
	json_object_object_foreach(obj, k, val)
	{
		(void)val;
		keys[i++] = k;
	}
	qsort(keys, n, sizeof(*keys), cmp_keys);
	put(b, "{", 1);
	for (i = 0; i < n && b->st == PJ_OK; i++) {
		if (i > 0)
			put(b, ",", 1);
		put_string(b, keys[i], strlen(keys[i]));
		put(b, ":", 1);
		put_value(b, json_object_object_get(obj, keys[i]), depth + 1);
	}
	put(b, "}", 1);
	free(keys);
}

static void put_value(struct gobuf *b, json_object *v, int depth)
{
	char num[32];

	if (b->st != PJ_OK)
		return;
	if (depth > 64) {
		b->st = pj_fail(b->err, PJ_ERR_TOKEN, "JSON nested too deep");
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_null: put(b, "null", 4); break;
	case json_type_boolean: json_object_get_boolean(v) ? put(b, "true", 4) : put(b, "false", 5); break;
	case json_type_int: {
		int64_t x = json_object_get_int64(v);

		/* json-c keeps an integer above INT64_MAX as uint64 (reported here as INT64_MAX): refused too
		 */
		if (x > JSON_GO_MAX_INT || x < -JSON_GO_MAX_INT) {
			b->st = pj_fail(b->err, PJ_ERR_TOKEN, "a number beyond 2^53 (Go would round it)");
			return;
		}
		snprintf(num, sizeof(num), "%" PRId64, x);
		put(b, num, strlen(num));
		break;
	}
	case json_type_double:
		b->st = pj_fail(b->err, PJ_ERR_TOKEN, "a number that is not an integer (Go's float format)");
		break;
	case json_type_string:
		put_string(b, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		break;
	case json_type_object: put_object(b, v, depth); break;
	case json_type_array:
		put(b, "[", 1);
		for (size_t i = 0; i < json_object_array_length(v) && b->st == PJ_OK; i++) {
			if (i > 0)
				put(b, ",", 1);
			put_value(b, json_object_array_get_idx(v, i), depth + 1);
		}
		put(b, "]", 1);
		break;
	}
}

pj_status json_go_marshal(json_object *obj, char **out, size_t *outlen, struct pj_error *err)
{
	struct gobuf b = {NULL, 0, 0, PJ_OK, err};

	*out = NULL;
	put_value(&b, obj, 0);
	if (b.st != PJ_OK) {
		free(b.p);
		return b.st;
	}
	*out = b.p;
	*outlen = b.len;
	return PJ_OK;
}
