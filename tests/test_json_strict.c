/* test_json_strict.c: every rule of the strict JSON parser, the json-c tree it builds, and the type-checked
 * getters. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pam_jwt/json_strict.h"
#include "tap.h"

/* Parses text[0..len) with max_depth and flags; returns the status and checks the out/err contract. On
 * success *text_out (when not NULL) gets the tree as json-c writes it (malloc'd). */
static pj_status parse_flags(const char *text, size_t len, int max_depth, unsigned flags,
                             struct pj_error *err, char **text_out)
{
	json_object *obj = (json_object *)&obj; /* must be overwritten */
	pj_status r;

	pj_error_clear(err);
	r = json_strict_parse_object_ext(text, len, max_depth, flags, &obj, err);
	if (r == PJ_OK) {
		if (!json_object_is_type(obj, json_type_object))
			r = PJ_ERR_SYSTEM; /* makes the calling ok() fail */
		else if (text_out != NULL)
			*text_out = strdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
		json_object_put(obj);
	} else if (obj != NULL || err->status != r || err->reason[0] == '\0') {
		r = PJ_ERR_SYSTEM;
	}
	return r;
}

/* Parses text[0..len) with max_depth both ways (names with the tree, names with the root): the two must give
 * the same answer, reason and tree; returns the status. */
static pj_status parse_len(const char *text, size_t len, int max_depth, struct pj_error *err)
{
	struct pj_error err_root;
	char *tree = NULL, *tree_root = NULL;
	pj_status r = parse_flags(text, len, max_depth, 0, err, &tree),
	          r_root =
	              parse_flags(text, len, max_depth, JSON_STRICT_NAMES_IN_ROOT, &err_root, &tree_root);

	if (r_root != r || strcmp(err_root.reason, err->reason) != 0 ||
	    (r == PJ_OK && (tree == NULL || tree_root == NULL || strcmp(tree, tree_root) != 0))) {
		tap_diag("JSON_STRICT_NAMES_IN_ROOT differs: %d \"%s\" vs %d \"%s\"", r, err->reason, r_root,
		         err_root.reason);
		r = PJ_ERR_SYSTEM;
	}
	free(tree);
	free(tree_root);
	return r;
}

static int accepted_depth(const char *text, int max_depth)
{
	struct pj_error err;

	return parse_len(text, strlen(text), max_depth, &err) == PJ_OK;
}

static int accepted(const char *text)
{
	return accepted_depth(text, JSON_STRICT_DEFAULT_DEPTH);
}

/* Refused as PJ_ERR_TOKEN with a reason containing why. */
static int refused_len(const char *text, size_t len, int max_depth, const char *why)
{
	struct pj_error err;

	if (parse_len(text, len, max_depth, &err) != PJ_ERR_TOKEN)
		return 0;
	if (strstr(err.reason, why) == NULL) {
		tap_diag("reason was \"%s\", expected \"%s\"", err.reason, why);
		return 0;
	}
	return 1;
}

static int refused(const char *text, const char *why)
{
	return refused_len(text, strlen(text), JSON_STRICT_DEFAULT_DEPTH, why);
}

static void test_accepts(void)
{
	ok(accepted("{}"), "empty object");
	ok(accepted("{\"a\":1,\"b\":[true,false,null,\"x\",-0.5e+3,0,-0,1E2,2e-2],\"c\":{\"d\":\"\\\"\\\\\\/"
	            "\\b\\f\\n\\r"
	            "\\t\\u00e9\\u00C9\\ud83d\\ude00\"},\"e\":[]}"),
	   "every kind of value and escape");
	ok(accepted(" \t\r\n{} \t\r\n"), "leading and trailing whitespace (space, tab, CR, LF)");
	ok(accepted("{\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\":\"\xef\xbf\xbf\"}"),
	   "valid multi-byte UTF-8 up to U+10FFFF");
	ok(accepted("{\"a\":1e308,\"b\":-1e308,\"c\":1e-999,\"d\":2.2250738585072014e-308}"),
	   "large finite and underflowing numbers");
	ok(accepted("{\"u\":18446744073709551615,\"i\":-9223372036854775808}"),
	   "integers at the uint64 and int64 limits");
	struct pj_error e;

	ok(parse_len("{\"a\":1}trailing", 7, JSON_STRICT_DEFAULT_DEPTH, &e) == PJ_OK,
	   "only len bytes are read (text need not be NUL-terminated)");
	ok(accepted("{\"a\":{\"a\":1},\"b\":{\"a\":2},\"c\":[{\"a\":1},{\"a\":1}]}"),
	   "the same name in different objects is fine");
	ok(accepted("{\"a\":1,\"a \":2,\"A\":3,\"ab\":4,\"\":5}"), "similar but distinct names");

	struct pj_error err;
	json_object *obj = NULL;
	const char *s = NULL;
	size_t len = 0;

	ok(json_strict_parse_object("{\"k\\u00e9\":\"v\\ud83d\\ude00\"}", 27, 4, &obj, &err) == PJ_OK &&
	       json_get_string(obj, "k\xc3\xa9", &s, &len) == JSON_GET_OK && len == 5 &&
	       memcmp(s, "v\xf0\x9f\x98\x80", 5) == 0,
	   "escaped names and values decode as expected");
	json_object_put(obj);
}

static void test_duplicates(void)
{
	ok(refused("{\"a\":1,\"a\":2}", "duplicate member name at offset 7"),
	   "plain duplicate names refused");
	ok(refused("{\"a\":1,\"b\":2,\"a\":1}", "duplicate member name"), "non-adjacent duplicate refused");
	ok(refused("{\"a\":1,\"\\u0061\":2}", "duplicate member name"), "duplicate via \\u escape refused");
	ok(refused("{\"\\u0061\":1,\"a\":2}", "duplicate member name"),
	   "duplicate via \\u escape (first) refused");
	ok(refused("{\"\\/\":1,\"/\":2}", "duplicate member name"), "duplicate via \\/ refused");
	ok(refused("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "duplicate member name"),
	   "duplicate via 2-byte escape refused");
	ok(refused("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}", "duplicate member name"),
	   "duplicate via surrogate-pair escape refused");
	ok(refused("{\"\\uD83D\\uDE00\":1,\"\\ud83d\\ude00\":2}", "duplicate member name"),
	   "duplicate via differently-cased surrogate pairs refused");
	ok(refused("{\"x\":{\"a\":1,\"a\":2}}", "duplicate member name"),
	   "duplicate in a nested object refused");
	ok(refused("{\"x\":[{\"b\":1},{\"a\":1,\"a\":2}]}", "duplicate member name"),
	   "duplicate in an object inside an array refused");
	ok(refused("{\"\":1,\"\":2}", "duplicate member name"), "duplicate empty names refused");
}

static void test_nul(void)
{
	ok(refused("{\"a\\u0000b\":1}", "\\u0000"), "\\u0000 in a name refused");
	ok(refused("{\"a\":\"x\\u0000\"}", "\\u0000"), "\\u0000 in a value refused");
	ok(refused("{\"a\":[\"\\u0000\"]}", "\\u0000"), "\\u0000 in an array string refused");
	ok(refused_len("{\"a\0\":1}", 8, JSON_STRICT_DEFAULT_DEPTH, "control character"),
	   "raw NUL in a name refused");
	ok(refused_len("{\"a\":\"\0\"}", 8, JSON_STRICT_DEFAULT_DEPTH, "control character"),
	   "raw NUL in a value refused");
	ok(refused_len("{}\0", 3, JSON_STRICT_DEFAULT_DEPTH, "after the top-level"),
	   "NUL after the object refused");
	ok(refused("{\"a\":\"tab\there\"}", "control character"), "raw tab in a string refused");
	ok(refused("{\"a\":\"x\ny\"}", "control character"), "raw newline in a string refused");
	ok(refused("{\"a\":\"\x1f\"}", "control character"), "raw 0x1f in a string refused");
	ok(accepted("{\"a\":\"\x7f \\u0001\"}"), "DEL and escaped control characters other than U+0000 ok");
}

static void test_escapes(void)
{
	ok(refused("{\"a\":\"\\ud800\"}", "unpaired high surrogate"), "lone high surrogate refused");
	ok(refused("{\"a\":\"\\udc00\"}", "unpaired low surrogate"), "lone low surrogate refused");
	ok(refused("{\"a\":\"\\ude00\\ud83d\"}", "unpaired low surrogate"),
	   "reversed surrogate pair refused");
	ok(refused("{\"a\":\"\\ud83d\\u0041\"}", "unpaired high surrogate"),
	   "high surrogate + non-surrogate refused");
	ok(refused("{\"a\":\"\\ud83d\\ud83d\"}", "unpaired high surrogate"), "two high surrogates refused");
	ok(refused("{\"a\":\"\\ud83dx\"}", "unpaired high surrogate"), "high surrogate then text refused");
	ok(refused("{\"\\ud83d\":1}", "unpaired high surrogate"), "lone surrogate in a name refused");
	ok(refused("{\"a\":\"\\ud83d\\ude0\"}", "unpaired high surrogate"), "truncated low half refused");
	ok(refused("{\"a\":\"\\u12\"}", "malformed \\u escape"), "short \\u escape refused");
	ok(refused("{\"a\":\"\\u12g4\"}", "malformed \\u escape"), "non-hex \\u escape refused");
	ok(refused("{\"a\":\"\\x41\"}", "invalid escape"), "\\x refused");
	ok(refused("{\"a\":\"\\U0041\"}", "invalid escape"), "\\U refused");
	ok(refused("{\"a\":\"\\'\"}", "invalid escape"), "\\' refused");
	ok(refused("{\"a\":\"\\\"}", "unterminated string"), "escaped closing quote leaves the string open");
	ok(refused("{\"a\":\"abc", "unterminated string"), "unterminated string refused");
}

static void test_numbers(void)
{
	ok(refused("{\"a\":NaN}", "invalid value"), "NaN refused");
	ok(refused("{\"a\":Infinity}", "invalid value"), "Infinity refused");
	ok(refused("{\"a\":-Infinity}", "invalid value"), "-Infinity refused");
	ok(refused("{\"a\":1e999}", "number out of range"), "1e999 refused");
	ok(refused("{\"a\":-1e999}", "number out of range"), "-1e999 refused");
	ok(refused("{\"a\":[1.8e308]}", "number out of range"), "1.8e308 in an array refused");
	ok(refused("{\"a\":18446744073709551616}", "number out of range"), "integer above uint64 refused");
	ok(refused("{\"a\":-9223372036854775809}", "number out of range"), "integer below int64 refused");
	ok(refused("{\"a\":01}", "leading zero"), "leading zero refused");
	ok(refused("{\"a\":-01}", "leading zero"), "negative leading zero refused");
	ok(refused("{\"a\":00}", "leading zero"), "double zero refused");
	ok(refused("{\"a\":+1}", "invalid value"), "leading '+' refused");
	ok(refused("{\"a\":0x10}", "',' or '}' expected"), "hex refused");
	ok(refused("{\"a\":.5}", "invalid value"), "missing integer part refused");
	ok(refused("{\"a\":1.}", "digit expected after decimal point"), "missing fraction digits refused");
	ok(refused("{\"a\":1e}", "digit expected in exponent"), "missing exponent digits refused");
	ok(refused("{\"a\":1e+}", "digit expected in exponent"), "signed exponent without digits refused");
	ok(refused("{\"a\":-}", "invalid value"), "lone minus refused");
	ok(refused("{\"a\":- 1}", "invalid value"), "minus then space refused");

	/* the application's LC_NUMERIC must not change what a number is */
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL || setlocale(LC_NUMERIC, "fr_FR.UTF-8") != NULL) {
		ok(accepted("{\"a\":1.5}"), "1.5 accepted under a locale with a decimal comma");
		setlocale(LC_NUMERIC, "C");
	} else {
		tap_skip(1, "no locale with a decimal comma installed");
	}
}

static void test_literals_and_grammar(void)
{
	ok(refused("{\"a\":True}", "invalid value"), "True refused");
	ok(refused("{\"a\":nul}", "invalid value"), "truncated null refused");
	ok(refused("{\"a\":undefined}", "invalid value"), "undefined refused");
	ok(refused("{/* c */\"a\":1}", "member name expected"), "block comment refused");
	ok(refused("{\"a\":1}// c", "after the top-level"), "line comment after the object refused");
	ok(refused("{\"a\":1 // c\n}", "',' or '}' expected"), "line comment inside refused");
	ok(refused("{'a':1}", "member name expected"), "single-quoted name refused");
	ok(refused("{\"a\":'b'}", "invalid value"), "single-quoted value refused");
	ok(refused("{a:1}", "member name expected"), "unquoted name refused");
	ok(refused("{\"a\":1,}", "member name expected"), "trailing comma in object refused");
	ok(refused("{\"a\":[1,]}", "invalid value"), "trailing comma in array refused");
	ok(refused("{\"a\":[,1]}", "invalid value"), "leading comma in array refused");
	ok(refused("{,}", "member name expected"), "lone comma refused");
	ok(refused("{\"a\" 1}", "':' expected"), "missing colon refused");
	ok(refused("{\"a\"=1}", "':' expected"), "'=' for ':' refused");
	ok(refused("{\"a\":1 \"b\":2}", "',' or '}' expected"), "missing comma refused");
	ok(refused("{\"a\":[1 2]}", "',' or ']' expected"), "missing comma in array refused");
	ok(refused("{\"a\":}", "invalid value"), "missing value refused");
	ok(refused("{\"a\":1", "',' or '}' expected"), "unterminated object refused");
	ok(refused("{\"a\":[1", "',' or ']' expected"), "unterminated array refused");
	ok(refused("{\"a\":", "value expected"), "truncated after colon refused");
	ok(refused("{\f}", "member name expected"), "form feed is not whitespace");
	ok(refused("\v{}", "not an object"), "vertical tab is not whitespace");
	ok(refused("{}\xc2\xa0", "after the top-level"), "no-break space is not whitespace");
	ok(refused("\xef\xbb\xbf{}", "not an object"), "byte order mark refused");
}

static void test_top_level(void)
{
	ok(refused("{}x", "after the top-level object at offset 2"), "\"{}x\" refused");
	ok(refused("{} {}", "after the top-level"), "two objects refused");
	ok(refused("{}{}", "after the top-level"), "two adjacent objects refused");
	ok(refused("{}}", "after the top-level"), "extra brace refused");
	ok(refused("{},", "after the top-level"), "trailing comma after the object refused");
	ok(refused("[]", "not an object"), "top-level array refused");
	ok(refused("[{}]", "not an object"), "top-level array of an object refused");
	ok(refused("\"s\"", "not an object"), "top-level string refused");
	ok(refused("1", "not an object"), "top-level number refused");
	ok(refused("true", "not an object"), "top-level true refused");
	ok(refused("null", "not an object"), "top-level null refused");
	ok(refused("", "not an object"), "empty text refused");
	ok(refused(" \n", "not an object"), "whitespace only refused");

	struct pj_error err;
	json_object *obj = NULL;

	ok(json_strict_parse_object(NULL, 0, 4, &obj, &err) == PJ_ERR_TOKEN && obj == NULL,
	   "NULL text refused");
	ok(json_strict_parse_object("{}", (size_t)INT_MAX + 1, 4, &obj, &err) == PJ_ERR_TOKEN &&
	       obj == NULL && strstr(err.reason, "too long") != NULL,
	   "length beyond INT_MAX refused before reading (json-c takes an int)");
}

static void test_utf8(void)
{
	ok(refused("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8 at offset 6"), "2-byte overlong refused");
	ok(refused("{\"a\":\"\xc1\xbf\"}", "invalid UTF-8"), "C1 lead byte refused");
	ok(refused("{\"a\":\"\xe0\x80\xaf\"}", "invalid UTF-8"), "3-byte overlong refused");
	ok(refused("{\"a\":\"\xf0\x80\x80\xaf\"}", "invalid UTF-8"), "4-byte overlong refused");
	ok(refused("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"), "UTF-8-encoded high surrogate refused");
	ok(refused("{\"a\":\"\xed\xbf\xbf\"}", "invalid UTF-8"), "UTF-8-encoded low surrogate refused");
	ok(refused("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8"), "above U+10FFFF refused");
	ok(refused("{\"a\":\"\xf5\x80\x80\x80\"}", "invalid UTF-8"), "lead byte F5 refused");
	ok(refused("{\"a\":\"\xe2\x82\"}", "invalid UTF-8"), "truncated 3-byte sequence refused");
	ok(refused("{\"a\":\"\xf0\x9f\x98\"}", "invalid UTF-8"), "truncated 4-byte sequence refused");
	ok(refused_len("{\"a\":1}\xe2\x82", 9, JSON_STRICT_DEFAULT_DEPTH, "invalid UTF-8"),
	   "sequence truncated by the end of text refused");
	ok(refused_len("{}\xe2\x82\xac", 4, JSON_STRICT_DEFAULT_DEPTH, "invalid UTF-8 at offset 2"),
	   "sequence cut by len refused even when the bytes beyond would complete it");
	ok(refused("{\"a\":\"\x80\"}", "invalid UTF-8"), "lone continuation byte refused");
	ok(refused("{\"a\":\"\xff\"}", "invalid UTF-8"), "0xFF refused");
	ok(refused("{\"\xfe\":1}", "invalid UTF-8"), "0xFE in a name refused");
	ok(refused("{\"a\":\"\xc3\x28\"}", "invalid UTF-8"), "bad continuation byte refused");
	ok(refused("{}\xff", "invalid UTF-8"), "invalid UTF-8 after the object refused");
}

/* "{"a":" repeated (depth - 1) times around {} (depth objects), or [[...]] inside one object. */
static char *nested(int depth, bool arrays, const char *inner)
{
	size_t cap = (size_t)depth * 6 + strlen(inner) + 16;
	char *s = malloc(cap), *p = s;

	if (s == NULL)
		abort();
	p += sprintf(p, "{");
	for (int i = 1; i < depth; i++)
		p += sprintf(p, arrays ? "[" : "\"a\":{");
	p += sprintf(p, "%s", inner);
	for (int i = 1; i < depth; i++)
		p += sprintf(p, arrays ? "]" : "}");
	if (arrays && depth > 1) {
		/* the arrays must hang off a member of the outer object */
		memmove(s + 5, s + 1, strlen(s + 1) + 1);
		memcpy(s + 1, "\"a\":", 4);
	}
	strcat(s, "}");
	return s;
}

static void test_depth(void)
{
	char *s;

	s = nested(JSON_STRICT_DEFAULT_DEPTH, false, "");
	ok(accepted(s), "objects nested exactly the default depth ok");
	free(s);
	s = nested(JSON_STRICT_DEFAULT_DEPTH, false, "\"x\":1");
	ok(accepted(s), "a scalar inside the deepest object ok");
	free(s);
	s = nested(JSON_STRICT_DEFAULT_DEPTH + 1, false, "");
	ok(refused(s, "nested too deeply"), "objects nested one deeper than the default refused");
	free(s);
	s = nested(JSON_STRICT_DEFAULT_DEPTH, true, "1");
	ok(accepted(s), "arrays nested to exactly the default depth ok");
	free(s);
	s = nested(JSON_STRICT_DEFAULT_DEPTH + 1, true, "1");
	ok(refused(s, "nested too deeply"), "arrays nested one deeper than the default refused");
	free(s);
	s = nested(100000, true, "");
	ok(refused(s, "nested too deeply"), "100000 nested arrays refused (no deep recursion)");
	free(s);

	ok(accepted_depth("{\"a\":1}", 1), "max_depth 1: flat object ok");
	ok(refused_len("{\"a\":{}}", 8, 1, "nested too deeply"), "max_depth 1: nested object refused");
	ok(refused_len("{\"a\":[]}", 8, 1, "nested too deeply"), "max_depth 1: nested array refused");
	ok(accepted_depth("{\"a\":{\"b\":[1]}}", 3), "max_depth 3: three levels with a scalar ok");
	ok(refused_len("{\"a\":{\"b\":[[]]}}", 16, 3, "nested too deeply"),
	   "max_depth 3: four levels refused");
	ok(refused_len("{}", 2, 0, "nesting limit"), "max_depth 0 refuses everything");
}

static char *members(int n)
{
	char *s = malloc((size_t)n * 16 + 8), *p = s;

	if (s == NULL)
		abort();
	*p++ = '{';
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s\"m%d\":%d", i ? "," : "", i, i);
	strcpy(p, "}");
	return s;
}

static char *elements(int n)
{
	char *s = malloc((size_t)n * 2 + 16), *p = s;

	if (s == NULL)
		abort();
	p += sprintf(p, "{\"a\":[");
	for (int i = 0; i < n; i++)
		p += sprintf(p, "%s0", i ? "," : "");
	strcpy(p, "]}");
	return s;
}

static void test_counts(void)
{
	char *s;

	s = members(JSON_STRICT_MAX_MEMBERS);
	ok(accepted(s), "%d members ok", JSON_STRICT_MAX_MEMBERS);
	free(s);
	s = members(JSON_STRICT_MAX_MEMBERS + 1);
	ok(refused(s, "too many object members"), "%d members refused", JSON_STRICT_MAX_MEMBERS + 1);
	free(s);
	s = elements(JSON_STRICT_MAX_ELEMENTS);
	ok(accepted(s), "%d array elements ok", JSON_STRICT_MAX_ELEMENTS);
	free(s);
	s = elements(JSON_STRICT_MAX_ELEMENTS + 1);
	ok(refused(s, "too many array elements"), "%d array elements refused", JSON_STRICT_MAX_ELEMENTS + 1);
	free(s);
}

/* The tree is built by the parser itself (json-c's own parser never sees the text): every value must come
 * out with the right type and content. */
static json_object *parse_ok(const char *text, size_t len)
{
	struct pj_error err;
	json_object *obj = NULL;

	if (json_strict_parse_object(text, len, JSON_STRICT_DEFAULT_DEPTH, &obj, &err) != PJ_OK) {
		tap_diag("refused: %s", err.reason);
		return NULL;
	}
	return obj;
}

static json_object *member_of(json_object *obj, const char *key, enum json_type type)
{
	json_object *val = NULL;

	if (!json_object_object_get_ex(obj, key, &val) || !json_object_is_type(val, type))
		return NULL;
	return val;
}

static int is_int(json_object *obj, const char *key, int64_t want)
{
	json_object *v = member_of(obj, key, json_type_int);

	return v != NULL && json_object_get_int64(v) == want;
}

static int is_real(json_object *obj, const char *key, double want)
{
	json_object *v = member_of(obj, key, json_type_double);

	return v != NULL && json_object_get_double(v) == want;
}

static int is_str(json_object *obj, const char *key, const char *want, size_t want_len)
{
	json_object *v = member_of(obj, key, json_type_string);

	return v != NULL && (size_t)json_object_get_string_len(v) == want_len &&
	       memcmp(json_object_get_string(v), want, want_len) == 0;
}

static void test_tree_scalars(void)
{
	const char *doc =
	    "{\"i\":123,\"n\":-7,\"z\":-0,\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808,\"u\":18446744073709551615,\"u63\":9223372036854775808,"
	    "\"r\":1.5,\"e\":-0.5e+3,\"E\":1E2,\"tiny\":2.5e-3,\"t\":true,\"f\":false,\"nl\":null,"
	    "\"s\":\"plain\",\"es\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\\u0001\","
	    "\"empty\":\"\"}";
	json_object *obj = parse_ok(doc, strlen(doc)), *v;

	ok(obj != NULL, "scalar document parses");
	ok(is_int(obj, "i", 123) && is_int(obj, "n", -7) && is_int(obj, "z", 0), "small integers");
	ok(is_int(obj, "max", INT64_MAX) && is_int(obj, "min", INT64_MIN), "int64 limits");
	ok((v = member_of(obj, "u", json_type_int)) != NULL && json_object_get_uint64(v) == UINT64_MAX,
	   "2^64-1 kept whole as uint64");
	ok((v = member_of(obj, "u63", json_type_int)) != NULL &&
	       json_object_get_uint64(v) == (uint64_t)INT64_MAX + 1 && json_object_get_int64(v) == INT64_MAX,
	   "2^63 kept as uint64 (json-c clamps it as int64)");
	ok((v = member_of(obj, "max", json_type_int)) != NULL && json_object_get_int64(v) == INT64_MAX &&
	       json_object_get_uint64(v) == (uint64_t)INT64_MAX,
	   "an integer that fits int64 is int64");
	ok(is_real(obj, "r", 1.5) && is_real(obj, "e", -500.0) && is_real(obj, "E", 100.0) &&
	       is_real(obj, "tiny", 2.5e-3),
	   "reals (fraction or exponent) are doubles with the right value");
	ok((v = member_of(obj, "t", json_type_boolean)) != NULL && json_object_get_boolean(v) == 1,
	   "true is boolean true");
	ok((v = member_of(obj, "f", json_type_boolean)) != NULL && json_object_get_boolean(v) == 0,
	   "false is boolean false");
	v = obj;
	ok(json_object_object_get_ex(obj, "nl", &v) && v == NULL, "null is a member with a NULL value");
	ok(is_str(obj, "s", "plain", 5) && is_str(obj, "empty", "", 0), "plain and empty strings");
	ok(is_str(obj, "es", "\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\x01", 15), "every escape decodes");
	ok(json_object_object_length(obj) == 17, "every member present once");
	json_object_put(obj);

	/* the application's LC_NUMERIC must not change a number's value either */
	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") != NULL || setlocale(LC_NUMERIC, "fr_FR.UTF-8") != NULL) {
		obj = parse_ok("{\"r\":1.25}", 10);
		ok(is_real(obj, "r", 1.25), "1.25 is 1.25 under a locale with a decimal comma");
		json_object_put(obj);
		setlocale(LC_NUMERIC, "C");
	} else {
		tap_skip(1, "no locale with a decimal comma installed");
	}
}

static void test_tree_containers(void)
{
	const char *doc = "{\"k\\u00e9\":{\"x\\u0041\":[\"a\\tb\",{\"\\/\":1},[],[2,[3]]],\"q\":{}},"
	                  "\"after\":\"v\"}";
	json_object *obj = parse_ok(doc, strlen(doc)), *o, *a, *e;
	const char *order[] = {"b", "a", "c"};
	size_t i = 0;

	ok(obj != NULL, "nested document parses");
	o = member_of(obj, "k\xc3\xa9", json_type_object);
	a = member_of(o, "xA", json_type_array);
	ok(o != NULL && a != NULL && json_object_array_length(a) == 4,
	   "escaped names decode and keep their values");
	ok(a != NULL && (e = json_object_array_get_idx(a, 0)) != NULL &&
	       json_object_is_type(e, json_type_string) && strcmp(json_object_get_string(e), "a\tb") == 0,
	   "array element 0: an escaped string");
	ok(a != NULL && is_int(json_object_array_get_idx(a, 1), "/", 1), "array element 1: an object");
	ok(a != NULL && (e = json_object_array_get_idx(a, 2)) != NULL &&
	       json_object_is_type(e, json_type_array) && json_object_array_length(e) == 0,
	   "array element 2: an empty array");
	ok(a != NULL && (e = json_object_array_get_idx(a, 3)) != NULL && json_object_array_length(e) == 2 &&
	       json_object_get_int64(json_object_array_get_idx(e, 0)) == 2 &&
	       json_object_get_int64(json_object_array_get_idx(json_object_array_get_idx(e, 1), 0)) == 3,
	   "array element 3: nested arrays in order");
	ok(o != NULL && member_of(o, "q", json_type_object) != NULL &&
	       json_object_object_length(member_of(o, "q", json_type_object)) == 0,
	   "an empty object");
	ok(is_str(obj, "after", "v", 1) && json_object_object_length(obj) == 2, "members after a nested one");
	json_object_put(obj);

	obj = parse_ok("{\"b\":1,\"a\":2,\"c\":3}", 19);
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		if (i < 3 && strcmp(key, order[i]) == 0)
			i++;
	}
	ok(obj != NULL && i == 3 && json_object_object_length(obj) == 3, "members kept in text order");
	json_object_put(obj);
}

/* A text beyond the parser's stack scratch: long escaped strings and names still decode. */
static void test_tree_long(void)
{
	size_t n = 6000, len;
	char *doc = malloc(4 * n + 64), *p = doc;
	json_object *obj, *v;
	int good = 1;

	if (doc == NULL)
		return;
	p += sprintf(p, "{\"long\\u0041\":\"");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, i % 2 ? "\\n" : "x");
	p += sprintf(p, "\",\"r\":0.125,\"");
	for (size_t i = 0; i < n; i++)
		*p++ = 'k';
	p += sprintf(p, "\":\"\\u00e9\"}");
	len = (size_t)(p - doc);
	obj = parse_ok(doc, len);
	ok(obj != NULL && len > 8192, "a %zu-byte text parses", len);
	v = member_of(obj, "longA", json_type_string);
	ok(v != NULL && (size_t)json_object_get_string_len(v) == n, "long escaped string keeps its length");
	for (size_t i = 0; v != NULL && i < n; i++)
		good &= json_object_get_string(v)[i] == (i % 2 ? '\n' : 'x');
	ok(v != NULL && good, "long escaped string decodes");
	ok(is_real(obj, "r", 0.125), "a real after it");
	memset(doc, 'k', n);
	doc[n] = '\0';
	ok(is_str(obj, doc, "\xc3\xa9", 2), "a long name after it");
	json_object_put(obj);
	free(doc);
}

static void test_getters(void)
{
	static const char doc[] =
	    "{\"s\":\"x\",\"e\":\"\",\"n\":123,\"neg\":-7,\"ns\":\"123\",\"t\":true,\"f\":false,"
	    "\"z\":null,\"d\":1.5,\"nd\":-1.5,\"big\":1e300,\"p63\":9223372036854775808.0,"
	    "\"m63\":-9223372036854775808.0,\"u\":18446744073709551615,"
	    "\"u63\":9223372036854775808,\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808,\"a\":[1],\"o\":{\"k\":1}}";
	struct pj_error err;
	json_object *obj = NULL, *sub;
	const char *s;
	size_t len;
	int64_t i;

	if (json_strict_parse_object(doc, strlen(doc), 4, &obj, &err) != PJ_OK) {
		ok(0, "getter document parses: %s", err.reason);
		return;
	}
	len = 99;
	ok(json_get_string(obj, "s", &s, &len) == JSON_GET_OK && strcmp(s, "x") == 0 && len == 1,
	   "string ok");
	ok(json_get_string(obj, "e", &s, NULL) == JSON_GET_OK && s[0] == '\0',
	   "empty string ok, len may be NULL");
	ok(json_get_string(obj, "n", &s, &len) == JSON_GET_WRONG_TYPE, "number is not a string");
	ok(json_get_string(obj, "t", &s, &len) == JSON_GET_WRONG_TYPE, "true is not a string");
	ok(json_get_string(obj, "z", &s, &len) == JSON_GET_WRONG_TYPE, "null is not a string");
	ok(json_get_string(obj, "a", &s, &len) == JSON_GET_WRONG_TYPE, "array is not a string");
	ok(json_get_string(obj, "o", &s, &len) == JSON_GET_WRONG_TYPE, "object is not a string");
	ok(json_get_string(obj, "missing", &s, &len) == JSON_GET_ABSENT, "missing string is ABSENT");

	ok(json_get_int64(obj, "n", &i) == JSON_GET_OK && i == 123, "integer ok");
	ok(json_get_int64(obj, "neg", &i) == JSON_GET_OK && i == -7, "negative integer ok");
	ok(json_get_int64(obj, "ns", &i) == JSON_GET_WRONG_TYPE, "string \"123\" is not a number");
	ok(json_get_int64(obj, "t", &i) == JSON_GET_WRONG_TYPE, "true is not a number");
	ok(json_get_int64(obj, "f", &i) == JSON_GET_WRONG_TYPE, "false is not a number");
	ok(json_get_int64(obj, "z", &i) == JSON_GET_WRONG_TYPE, "null is not a number");
	ok(json_get_int64(obj, "a", &i) == JSON_GET_WRONG_TYPE, "array is not a number");
	ok(json_get_int64(obj, "d", &i) == JSON_GET_OK && i == 1, "1.5 truncates to 1");
	ok(json_get_int64(obj, "nd", &i) == JSON_GET_OK && i == -1, "-1.5 truncates toward zero to -1");
	ok(json_get_int64(obj, "big", &i) == JSON_GET_WRONG_TYPE, "1e300 is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "p63", &i) == JSON_GET_WRONG_TYPE, "real 2^63 is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "m63", &i) == JSON_GET_OK && i == INT64_MIN, "real -2^63 fits int64");
	ok(json_get_int64(obj, "u", &i) == JSON_GET_WRONG_TYPE, "integer 2^64-1 is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "u63", &i) == JSON_GET_WRONG_TYPE, "integer 2^63 is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "max", &i) == JSON_GET_OK && i == INT64_MAX, "INT64_MAX ok");
	ok(json_get_int64(obj, "min", &i) == JSON_GET_OK && i == INT64_MIN, "INT64_MIN ok");
	ok(json_get_int64(obj, "missing", &i) == JSON_GET_ABSENT, "missing number is ABSENT");

	ok(json_get_array(obj, "a", &sub) == JSON_GET_OK && json_object_array_length(sub) == 1, "array ok");
	ok(json_get_array(obj, "o", &sub) == JSON_GET_WRONG_TYPE, "object is not an array");
	ok(json_get_array(obj, "s", &sub) == JSON_GET_WRONG_TYPE, "string is not an array");
	ok(json_get_array(obj, "z", &sub) == JSON_GET_WRONG_TYPE, "null is not an array");
	ok(json_get_array(obj, "missing", &sub) == JSON_GET_ABSENT, "missing array is ABSENT");
	ok(json_get_object(obj, "o", &sub) == JSON_GET_OK && json_get_int64(sub, "k", &i) == JSON_GET_OK &&
	       i == 1,
	   "object ok");
	ok(json_get_object(obj, "a", &sub) == JSON_GET_WRONG_TYPE, "array is not an object");
	ok(json_get_object(obj, "z", &sub) == JSON_GET_WRONG_TYPE, "null is not an object");
	ok(json_get_object(obj, "missing", &sub) == JSON_GET_ABSENT, "missing object is ABSENT");

	/* the validator never lets these through, but the getter must not rely on that */
	json_object_object_add(obj, "nan", json_object_new_double(NAN));
	json_object_object_add(obj, "inf", json_object_new_double(INFINITY));
	json_object_object_add(obj, "ninf", json_object_new_double(-INFINITY));
	ok(json_get_int64(obj, "nan", &i) == JSON_GET_WRONG_TYPE, "NaN is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "inf", &i) == JSON_GET_WRONG_TYPE, "Infinity is WRONG_TYPE for int64");
	ok(json_get_int64(obj, "ninf", &i) == JSON_GET_WRONG_TYPE, "-Infinity is WRONG_TYPE for int64");

	json_get_array(obj, "a", &sub);
	ok(json_get_string(sub, "s", &s, &len) == JSON_GET_ABSENT, "getter on a non-object is ABSENT");
	ok(json_get_int64(NULL, "n", &i) == JSON_GET_ABSENT, "getter on NULL is ABSENT");
	json_object_put(obj);
}

/* True when every member name of obj and of the objects inside it lies in names[0..size). */
static bool names_within(json_object *obj, const char *names, size_t size)
{
	if (json_object_is_type(obj, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(obj); i++)
			if (!names_within(json_object_array_get_idx(obj, i), names, size))
				return false;
		return true;
	}
	if (!json_object_is_type(obj, json_type_object))
		return true;
	json_object_object_foreach(obj, key, val)
	{
		if (key < names || key + strlen(key) >= names + size || !names_within(val, names, size))
			return false;
	}
	return true;
}

/* JSON_STRICT_NAMES_IN_ROOT: one block for every name (a token's header and payload then cost no allocation
 * per claim name), owned by the root: the tree's names are in it, and freeing the root frees it (ASan and
 * valgrind see a leak or a double free otherwise). */
static void test_names_in_root(void)
{
	static const char text[] =
	    "{\"iss\":\"i\",\"a\\u0062c\":{\"in\":[{\"deep\":1}],\"x\":2},\"groups\":[\"g\"]}";
	struct pj_error err;
	json_object *obj = NULL, *inner;
	const char *names;

	ok(json_strict_parse_object_ext(text, strlen(text), JSON_STRICT_DEFAULT_DEPTH,
	                                JSON_STRICT_NAMES_IN_ROOT, &obj, &err) == PJ_OK,
	   "names-in-root parse accepted");
	names = json_object_get_userdata(obj);
	ok(names != NULL && names_within(obj, names, sizeof(text)),
	   "every name, nested and escaped ones too, lies in the root's one block");
	ok(json_get_object(obj, "abc", &inner) == JSON_GET_OK && json_object_object_get_ex(inner, "x", NULL),
	   "names are found by their decoded text");
	json_object_put(obj);
	obj = NULL;
	ok(json_strict_parse_object(text, strlen(text), JSON_STRICT_DEFAULT_DEPTH, &obj, &err) == PJ_OK &&
	       json_object_get_userdata(obj) == NULL,
	   "without the flag the tree owns its names (no block on the root)");
	json_object_put(obj);
}

int main(void)
{
	test_accepts();
	test_duplicates();
	test_nul();
	test_escapes();
	test_numbers();
	test_literals_and_grammar();
	test_top_level();
	test_utf8();
	test_depth();
	test_counts();
	test_tree_scalars();
	test_tree_containers();
	test_tree_long();
	test_getters();
	test_names_in_root();
	return tap_done();
}
