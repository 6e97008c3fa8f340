/* json_strict.c: a strict RFC 8259 parser building json-c trees as it validates; type-checked getters. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"

/* The parser recurses once per nested object or array; whatever the caller asks, keep the stack small. */
#define JSON_STRICT_DEPTH_CAP 256

/* Texts shorter than this (token headers and payloads) decode their strings on the stack. */
#define JV_STACK_SCRATCH 4096

/* Arrays start this small: a token's arrays (aud, groups) hold a handful of elements. */
#define JV_ARRAY_INITIAL 4

struct jv {
	const unsigned char *s;
	size_t len, pos;
	int max_depth;
	/* len + 1 bytes. A string or number that needs a decoded or NUL-terminated copy gets it at its own
	 * offset: decoding never lengthens the raw text, and the byte after it (closing quote, delimiter or
	 * end) belongs to no other token, so copies never overlap and each lives as long as the parse. */
	unsigned char *scratch;
	/* NULL, or (JSON_STRICT_NAMES_IN_ROOT) len + 1 bytes laid out as the scratch, where member names are
	 * copied instead, to stay with the tree (json-c then keeps the pointer:
	 * JSON_C_OBJECT_ADD_CONSTANT_KEY) */
	unsigned char *names;
	locale_t c_locale; /* for strtod_l: the application's LC_NUMERIC must not change what a number is */
	struct pj_error *err;
};

/* Refuses the text, naming what and where (never the content: it may be a token payload). */
static pj_status jv_fail(struct jv *v, const char *what)
{
	return pj_fail(v->err, PJ_ERR_TOKEN, "invalid JSON: %s at offset %zu", what, v->pos);
}

static pj_status jv_nomem(struct jv *v)
{
	return pj_fail(v->err, PJ_ERR_NOMEM, "out of memory validating JSON");
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s[0..n), or 0: no overlongs, no surrogates, max U+10FFFF
 * (RFC 3629 table 3-7). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 2;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 3;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0; /* overlong */
	else if (s[0] == 0xed)
		hi = 0x9f; /* U+D800..U+DFFF */
	else if (s[0] == 0xf0)
		lo = 0x90; /* overlong */
	else if (s[0] == 0xf4)
		hi = 0x8f; /* above U+10FFFF */
	if (n < need + 1)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i <= need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need + 1;
}

size_t json_strict_utf8_check(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;
	uint64_t w;

	while (i < len) {
		/* eight ASCII bytes at a time: tokens are almost all ASCII */
		if (len - i >= 8) {
			memcpy(&w, s + i, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if ((n = utf8_seq(s + i, len - i)) == 0)
			return i;
		i += n;
	}
	return len;
}

/* The whole text first, so invalid UTF-8 is named as such wherever it is. */
static pj_status jv_utf8(struct jv *v)
{
	size_t bad = json_strict_utf8_check((const char *)v->s, v->len);

	if (bad < v->len) {
		v->pos = bad;
		return jv_fail(v, "invalid UTF-8");
	}
	return PJ_OK;
}

/* ---- lexical helpers ---- */

static void jv_ws(struct jv *v)
{
	while (v->pos < v->len &&
	       (v->s[v->pos] == ' ' || v->s[v->pos] == '\t' || v->s[v->pos] == '\n' || v->s[v->pos] == '\r'))
		v->pos++;
}

static int jv_peek(const struct jv *v)
{
	return v->pos < v->len ? v->s[v->pos] : -1;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits at s[i..i+4) (all before end), or -1. */
static long hex4(const unsigned char *s, size_t i, size_t end)
{
	long cp = 0;

	if (end < 4 || i > end - 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int h = hexval(s[i + k]);

		if (h < 0)
			return -1;
		cp = cp << 4 | h;
	}
	return cp;
}

static size_t utf8_put(unsigned char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | cp >> 6);
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | cp >> 12);
		out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | cp >> 18);
	out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* ---- strings ---- */

/* Decodes the escape whose letter is at s[*i] inside a string ending at end, leaving *i on its last
 * character; writes its UTF-8 bytes to out and their count to *n. Escapes of U+0000 and unpaired
 * surrogates are refused: json-c would turn them into a truncated or ill-formed string. */
static pj_status jv_escape(struct jv *v, size_t *i, size_t end, unsigned char *out, size_t *n)
{
	size_t at = *i;
	long cp, lo;

	*n = 1;
	v->pos = at - 1; /* the backslash, should this fail */
	switch (v->s[at]) {
	case '"': out[0] = '"'; return PJ_OK;
	case '\\': out[0] = '\\'; return PJ_OK;
	case '/': out[0] = '/'; return PJ_OK;
	case 'b': out[0] = '\b'; return PJ_OK;
	case 'f': out[0] = '\f'; return PJ_OK;
	case 'n': out[0] = '\n'; return PJ_OK;
	case 'r': out[0] = '\r'; return PJ_OK;
	case 't': out[0] = '\t'; return PJ_OK;
	case 'u': break;
	default: return jv_fail(v, "invalid escape");
	}
	if ((cp = hex4(v->s, at + 1, end)) < 0)
		return jv_fail(v, "malformed \\u escape");
	if (cp == 0)
		return jv_fail(v, "\\u0000 in string");
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return jv_fail(v, "unpaired low surrogate escape");
	*i = at + 4;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* the low half must follow at once as \uDC00..\uDFFF */
		if (end < 6 || at + 5 > end - 6 || v->s[at + 5] != '\\' || v->s[at + 6] != 'u' ||
		    (lo = hex4(v->s, at + 7, end)) < 0xdc00 || lo > 0xdfff)
			return jv_fail(v, "unpaired high surrogate escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*i = at + 10;
	}
	*n = utf8_put(out, (unsigned long)cp);
	return PJ_OK;
}

/* The string with escapes (or an error) whose opening quote is at pos, decoded into base (the scratch or
 * the names) at its own offset. The closing quote is found first, so an unterminated string is named as
 * such whatever else is wrong. */
static pj_status jv_string_escaped(struct jv *v, unsigned char *base, const char **p, size_t *len)
{
	size_t start = v->pos + 1, end, i, o = 0, n;
	unsigned char *buf = base + start;
	pj_status r;

	for (end = start; end < v->len && v->s[end] != '"'; end++) {
		if (v->s[end] == '\\')
			end++;
	}
	if (end >= v->len)
		return jv_fail(v, "unterminated string");
	for (i = start; i < end; i++) {
		unsigned char c = v->s[i];

		if (c < 0x20) {
			v->pos = i;
			return jv_fail(v, "control character in string");
		}
		if (c != '\\') {
			buf[o++] = c;
			continue;
		}
		i++;
		if ((r = jv_escape(v, &i, end, buf + o, &n)) != PJ_OK)
			return r;
		o += n;
	}
	buf[o] = '\0';
	*p = (const char *)buf;
	*len = o;
	v->pos = end + 1;
	return PJ_OK;
}

/* The string whose opening quote is at pos, leaving pos after the closing quote; *p and *len receive its
 * decoded bytes, which never contain NUL. They point into the text when it has no escapes, unless
 * terminate asks for a NUL-terminated copy in base (member names, which json-c takes as C strings). */
static pj_status jv_string(struct jv *v, unsigned char *terminate, const char **p, size_t *len)
{
	size_t start = v->pos + 1, end = start;
	unsigned char *buf;

	while (end < v->len && v->s[end] != '"' && v->s[end] != '\\' && v->s[end] >= 0x20)
		end++;
	if (end >= v->len || v->s[end] != '"')
		return jv_string_escaped(v, terminate != NULL ? terminate : v->scratch, p, len);
	*len = end - start;
	if (terminate != NULL) {
		buf = terminate + start;
		memcpy(buf, v->s + start, *len);
		buf[*len] = '\0';
		*p = (const char *)buf;
	} else {
		*p = (const char *)v->s + start;
	}
	v->pos = end + 1;
	return PJ_OK;
}

/* ---- numbers and literals ---- */

static size_t jv_digits(struct jv *v)
{
	size_t n = 0;

	while (v->pos < v->len && v->s[v->pos] >= '0' && v->s[v->pos] <= '9') {
		v->pos++;
		n++;
	}
	return n;
}

/* The integer s[start..pos) must fit int64 or uint64: json-c would clamp a larger one silently. It is
 * kept as int64 when it fits, as json-c's own parser does. */
static pj_status jv_integer(struct jv *v, size_t start, json_object **out)
{
	const uint64_t int64_min_mag = (uint64_t)INT64_MAX + 1;
	bool negative = v->s[start] == '-';
	uint64_t u = 0;

	for (size_t i = negative ? start + 1 : start; i < v->pos; i++) {
		unsigned d = v->s[i] - '0';

		if (u > (UINT64_MAX - d) / 10)
			goto range;
		u = u * 10 + d;
	}
	if (negative && u > int64_min_mag)
		goto range;
	if (negative)
		*out = json_object_new_int64(u == int64_min_mag ? INT64_MIN : -(int64_t)u);
	else if (u <= (uint64_t)INT64_MAX)
		*out = json_object_new_int64((int64_t)u);
	else
		*out = json_object_new_uint64(u);
	return *out != NULL ? PJ_OK : jv_nomem(v);
range:
	v->pos = start;
	return jv_fail(v, "number out of range");
}

/* The real s[start..pos) must be finite as a double. */
static pj_status jv_real(struct jv *v, size_t start, json_object **out)
{
	char *num = (char *)v->scratch + start, *ep;
	size_t n = v->pos - start;
	double d;

	/* strtod wants a NUL-terminated string and the C locale's decimal point */
	if (v->c_locale == (locale_t)0 &&
	    (v->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)) == (locale_t)0)
		return jv_nomem(v);
	memcpy(num, v->s + start, n);
	num[n] = '\0';
	d = strtod_l(num, &ep, v->c_locale);
	if (!isfinite(d) || ep != num + n) {
		v->pos = start;
		return jv_fail(v, "number out of range");
	}
	if ((*out = json_object_new_double(d)) == NULL)
		return jv_nomem(v);
	return PJ_OK;
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static pj_status jv_number(struct jv *v, json_object **out)
{
	size_t start = v->pos;
	bool integer = true;

	if (jv_peek(v) == '-')
		v->pos++;
	if (jv_peek(v) == '0') {
		v->pos++;
		if (jv_peek(v) >= '0' && jv_peek(v) <= '9')
			return jv_fail(v, "leading zero in number");
	} else if (jv_digits(v) == 0) {
		return jv_fail(v, "invalid value");
	}
	if (jv_peek(v) == '.') {
		v->pos++;
		integer = false;
		if (jv_digits(v) == 0)
			return jv_fail(v, "digit expected after decimal point");
	}
	if (jv_peek(v) == 'e' || jv_peek(v) == 'E') {
		v->pos++;
		integer = false;
		if (jv_peek(v) == '+' || jv_peek(v) == '-')
			v->pos++;
		if (jv_digits(v) == 0)
			return jv_fail(v, "digit expected in exponent");
	}
	return integer ? jv_integer(v, start, out) : jv_real(v, start, out);
}

static pj_status jv_literal(struct jv *v, const char *word)
{
	size_t n = strlen(word);

	if (v->len - v->pos < n || memcmp(v->s + v->pos, word, n) != 0)
		return jv_fail(v, "invalid value");
	v->pos += n;
	return PJ_OK;
}

/* ---- containers ---- */

static pj_status jv_value(struct jv *v, int depth, json_object **out);

/* One member at pos (its name's opening quote) into obj. The names so far are obj's keys, so a duplicate
 * (compared after unescaping; names hold no NUL, so C-string equality is byte equality) is refused at
 * its second occurrence. */
static pj_status jv_member(struct jv *v, int depth, json_object *obj)
{
	size_t at = v->pos, name_len;
	const char *name;
	json_object *val = NULL;
	pj_status r;

	if ((r = jv_string(v, v->names != NULL ? v->names : v->scratch, &name, &name_len)) != PJ_OK)
		return r;
	if (json_object_object_get_ex(obj, name, NULL)) {
		v->pos = at;
		return jv_fail(v, "duplicate member name");
	}
	jv_ws(v);
	if (jv_peek(v) != ':')
		return jv_fail(v, "':' expected");
	v->pos++;
	jv_ws(v);
	if ((r = jv_value(v, depth, &val)) != PJ_OK)
		return r;
	/* the name is in the scratch or the names, untouched by the value's parse, which uses its own
	 * offsets; in the names it stays as long as the root */
	if (json_object_object_add_ex(obj, name, val,
	                              JSON_C_OBJECT_ADD_KEY_IS_NEW |
	                                  (v->names != NULL ? JSON_C_OBJECT_ADD_CONSTANT_KEY : 0)) != 0) {
		json_object_put(val);
		return jv_nomem(v);
	}
	return PJ_OK;
}

/* An object whose '{' is at pos; depth counts it. */
static pj_status jv_object(struct jv *v, int depth, json_object **out)
{
	json_object *obj;
	size_t n = 0;
	pj_status r = PJ_OK;

	if ((obj = json_object_new_object()) == NULL)
		return jv_nomem(v);
	v->pos++;
	jv_ws(v);
	if (jv_peek(v) == '}') {
		v->pos++;
		goto out;
	}
	for (;;) {
		if (jv_peek(v) != '"') {
			r = jv_fail(v, "member name expected");
			goto out;
		}
		if (n++ >= JSON_STRICT_MAX_MEMBERS) {
			r = jv_fail(v, "too many object members");
			goto out;
		}
		if ((r = jv_member(v, depth, obj)) != PJ_OK)
			goto out;
		jv_ws(v);
		if (jv_peek(v) == '}') {
			v->pos++;
			break;
		}
		if (jv_peek(v) != ',') {
			r = jv_fail(v, "',' or '}' expected");
			goto out;
		}
		v->pos++;
		jv_ws(v);
	}
out:
	if (r != PJ_OK) {
		json_object_put(obj);
		obj = NULL;
	}
	*out = obj;
	return r;
}

/* An array whose '[' is at pos; depth counts it. */
static pj_status jv_array(struct jv *v, int depth, json_object **out)
{
	json_object *arr, *val;
	size_t n = 0;
	pj_status r = PJ_OK;

	if ((arr = json_object_new_array_ext(JV_ARRAY_INITIAL)) == NULL)
		return jv_nomem(v);
	v->pos++;
	jv_ws(v);
	if (jv_peek(v) == ']') {
		v->pos++;
		goto out;
	}
	for (;;) {
		if (n++ >= JSON_STRICT_MAX_ELEMENTS) {
			r = jv_fail(v, "too many array elements");
			goto out;
		}
		if ((r = jv_value(v, depth, &val)) != PJ_OK)
			goto out;
		if (json_object_array_add(arr, val) != 0) {
			json_object_put(val);
			r = jv_nomem(v);
			goto out;
		}
		jv_ws(v);
		if (jv_peek(v) == ']') {
			v->pos++;
			break;
		}
		if (jv_peek(v) != ',') {
			r = jv_fail(v, "',' or ']' expected");
			goto out;
		}
		v->pos++;
		jv_ws(v);
	}
out:
	if (r != PJ_OK) {
		json_object_put(arr);
		arr = NULL;
	}
	*out = arr;
	return r;
}

static pj_status jv_string_value(struct jv *v, json_object **out)
{
	const char *p;
	size_t len;
	pj_status r;

	if ((r = jv_string(v, NULL, &p, &len)) != PJ_OK)
		return r;
	if ((*out = json_object_new_string_len(p, (int)len)) == NULL)
		return jv_nomem(v);
	return PJ_OK;
}

static pj_status jv_boolean(struct jv *v, bool b, json_object **out)
{
	pj_status r;

	if ((r = jv_literal(v, b ? "true" : "false")) != PJ_OK)
		return r;
	if ((*out = json_object_new_boolean(b)) == NULL)
		return jv_nomem(v);
	return PJ_OK;
}

/* A value at pos, inside depth containers, into *out (NULL for null and on refusal). */
static pj_status jv_value(struct jv *v, int depth, json_object **out)
{
	*out = NULL;
	switch (jv_peek(v)) {
	case '{':
	case '[':
		if (depth >= v->max_depth)
			return jv_fail(v, "nested too deeply");
		return jv_peek(v) == '{' ? jv_object(v, depth + 1, out) : jv_array(v, depth + 1, out);
	case '"': return jv_string_value(v, out);
	case 't': return jv_boolean(v, true, out);
	case 'f': return jv_boolean(v, false, out);
	case 'n': return jv_literal(v, "null");
	case -1: return jv_fail(v, "value expected");
	default: return jv_number(v, out);
	}
}

/* The whole text: one object and nothing but whitespace around it. */
static pj_status jv_parse(struct jv *v, json_object **out)
{
	json_object *obj = NULL;
	pj_status r;

	if ((r = jv_utf8(v)) != PJ_OK)
		return r;
	jv_ws(v);
	if (jv_peek(v) != '{')
		return jv_fail(v, "top-level value is not an object");
	if ((r = jv_value(v, 0, &obj)) != PJ_OK)
		return r;
	jv_ws(v);
	if (v->pos != v->len) {
		json_object_put(obj);
		return jv_fail(v, "data after the top-level object");
	}
	*out = obj;
	return PJ_OK;
}

/* json-c's user_delete of a root that owns its member names (JSON_STRICT_NAMES_IN_ROOT). json-c calls it
 * before it frees the tree, which is fine: freeing a table never reads a constant key. */
static void free_names(json_object *root, void *names)
{
	(void)root;
	free(names);
}

pj_status json_strict_parse_object_ext(const char *text, size_t len, int max_depth, unsigned flags,
                                       json_object **out, struct pj_error *err)
{
	struct jv v = {.s = (const unsigned char *)text, .len = len, .err = err};
	unsigned char stack[JV_STACK_SCRATCH], *heap = NULL;
	pj_status r;

	*out = NULL;
	if (text == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: no text");
	if (len > INT_MAX)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: text too long");
	if (max_depth < 1)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: nesting limit below 1");
	v.max_depth = max_depth > JSON_STRICT_DEPTH_CAP ? JSON_STRICT_DEPTH_CAP : max_depth;
	if (len < sizeof(stack))
		v.scratch = stack;
	else if ((v.scratch = heap = malloc(len + 1)) == NULL)
		return jv_nomem(&v);
	if ((flags & JSON_STRICT_NAMES_IN_ROOT) != 0 && (v.names = malloc(len + 1)) == NULL) {
		r = jv_nomem(&v);
		goto out;
	}
	if ((r = jv_parse(&v, out)) == PJ_OK && v.names != NULL) {
		json_object_set_userdata(*out, v.names, free_names);
		v.names = NULL;
	}
out:
	if (v.c_locale != (locale_t)0)
		freelocale(v.c_locale);
	free(v.names); /* after a refusal: its partial tree is freed already */
	free(heap);
	return r;
}

pj_status json_strict_parse_object(const char *text, size_t len, int max_depth, json_object **out,
                                   struct pj_error *err)
{
	return json_strict_parse_object_ext(text, len, max_depth, 0, out, err);
}

/* ---- typed getters ---- */

/* The member key of obj (NULL for a JSON null member), or ABSENT. */
static enum json_get member(json_object *obj, const char *key, json_object **val)
{
	*val = NULL;
	if (obj == NULL || key == NULL || !json_object_is_type(obj, json_type_object))
		return JSON_GET_ABSENT;
	if (!json_object_object_get_ex(obj, key, val))
		return JSON_GET_ABSENT;
	return JSON_GET_OK;
}

enum json_get json_get_string(json_object *obj, const char *key, const char **out, size_t *len)
{
	json_object *val;
	enum json_get g;

	if ((g = member(obj, key, &val)) != JSON_GET_OK)
		return g;
	if (!json_object_is_type(val, json_type_string))
		return JSON_GET_WRONG_TYPE;
	*out = json_object_get_string(val);
	if (len != NULL)
		*len = (size_t)json_object_get_string_len(val);
	return JSON_GET_OK;
}

enum json_get json_get_int64(json_object *obj, const char *key, int64_t *out)
{
	json_object *val;
	enum json_get g;
	double d;
	int64_t i;

	if ((g = member(obj, key, &val)) != JSON_GET_OK)
		return g;
	switch (json_object_get_type(val)) {
	case json_type_int:
		i = json_object_get_int64(val);
		/* json-c keeps integers above INT64_MAX as uint64 and clamps them here */
		if (i == INT64_MAX && json_object_get_uint64(val) > (uint64_t)INT64_MAX)
			return JSON_GET_WRONG_TYPE;
		*out = i;
		return JSON_GET_OK;
	case json_type_double:
		d = json_object_get_double(val);
		/* -2^63 is exact as a double; 2^63 is the first value that does not fit */
		if (!isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0)
			return JSON_GET_WRONG_TYPE;
		*out = (int64_t)d;
		return JSON_GET_OK;
	default: return JSON_GET_WRONG_TYPE;
	}
}

enum json_get json_get_array(json_object *obj, const char *key, json_object **out)
{
	json_object *val;
	enum json_get g;

	if ((g = member(obj, key, &val)) != JSON_GET_OK)
		return g;
	if (!json_object_is_type(val, json_type_array))
		return JSON_GET_WRONG_TYPE;
	*out = val;
	return JSON_GET_OK;
}

enum json_get json_get_object(json_object *obj, const char *key, json_object **out)
{
	json_object *val;
	enum json_get g;

	if ((g = member(obj, key, &val)) != JSON_GET_OK)
		return g;
	if (!json_object_is_type(val, json_type_object))
		return JSON_GET_WRONG_TYPE;
	*out = val;
	return JSON_GET_OK;
}
