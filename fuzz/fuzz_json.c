/* fuzz_json.c: libFuzzer target for the strict JSON parser and the typed member getters. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "pam_jwt/error.h"
#include "pam_jwt/json_strict.h"

/* Every typed getter on every member, and once more one level down, so type checks meet every kind. */
static void get_all(json_object *obj, int depth)
{
	json_object_object_foreach(obj, key, val)
	{
		const char *s;
		size_t len;
		int64_t n;
		json_object *sub;

		(void)json_get_string(obj, key, &s, &len);
		(void)json_get_string(obj, key, &s, NULL);
		(void)json_get_int64(obj, key, &n);
		(void)json_get_array(obj, key, &sub);
		if (json_get_object(obj, key, &sub) == JSON_GET_OK && depth < 2)
			get_all(sub, depth + 1);
		(void)val;
	}
	/* absent members and a non-object */
	(void)json_get_int64(obj, "", &(int64_t){0});
	(void)json_get_string(obj, "absent-member", &(const char *){NULL}, NULL);
	(void)json_get_array(NULL, "x", &(json_object *){NULL});
}

/* The same text with JSON_STRICT_NAMES_IN_ROOT (as a token's header and payload are parsed) must give the
 * same answer, reason and tree as without: a difference aborts. */
static void same_with_names_in_root(const uint8_t *data, size_t size, pj_status want,
                                    const struct pj_error *want_err, const char *want_tree)
{
	struct pj_error err = {0};
	json_object *obj = NULL;
	pj_status r = json_strict_parse_object_ext((const char *)data, size, JSON_STRICT_DEFAULT_DEPTH,
	                                           JSON_STRICT_NAMES_IN_ROOT, &obj, &err);

	if (r != want || (r != PJ_OK && (obj != NULL || strcmp(err.reason, want_err->reason) != 0)))
		abort();
	if (r != PJ_OK)
		return;
	get_all(obj, 0);
	if (strcmp(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN), want_tree) != 0)
		abort();
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	json_object *obj = NULL;
	pj_status r =
	    json_strict_parse_object((const char *)data, size, JSON_STRICT_DEFAULT_DEPTH, &obj, &err);

	if (r != PJ_OK) {
		if (obj != NULL)
			abort(); /* a refusal leaves *out NULL */
		same_with_names_in_root(data, size, r, &err, NULL);
		return 0;
	}
	if (!json_object_is_type(obj, json_type_object))
		abort();
	get_all(obj, 0);
	same_with_names_in_root(data, size, r, &err,
	                        json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return 0;
}
