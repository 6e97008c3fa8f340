/* json_strict.c: a strict RFC 8259 validator in front of json-c, and type-checked member getters. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_strict.h"

/* The validator recurses once per nested object or array; whatever the caller asks, keep the stack small. */
#define JSON_STRICT_DEPTH_CAP 256

/* One decoded member name: points into the text when it had no escapes, else into owned. */
struct jv_name {
	const unsigned char *p;
	size_t len;
	size_t offset; /* of its opening quote, for the reason */
	unsigned char *owned;
};

struct jv {
	const unsigned char *s;
	size_t len, pos;
	int max_depth;
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

static pj_status jv_utf8(struct jv *v)
{
	size_t i = 0, n;

	while (i < v->len) {
		if ((n = utf8_seq(v->s + i, v->len - i)) == 0) {
			v->pos = i;
			return jv_fail(v, "invalid UTF-8");
		}
		i += n;
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

/* Validates the string whose opening quote is at pos, leaving pos after the closing quote. When name is
 * not NULL the decoded bytes are recorded there (pointing into the text when there are no escapes). */
static pj_status jv_string(struct jv *v, struct jv_name *name)
{
	size_t quote = v->pos, start = v->pos + 1, end, i, o = 0, n;
	unsigned char tmp[4], *buf = NULL;
	bool escapes = false;
	pj_status r;

	/* find the closing quote first: escapes never make the decoded text longer than the raw text */
	for (end = start; end < v->len && v->s[end] != '"'; end++) {
		if (v->s[end] == '\\') {
			escapes = true;
			end++;
		}
	}
	if (end >= v->len)
		return jv_fail(v, "unterminated string");
	if (name != NULL && escapes && (buf = malloc(end - start + 1)) == NULL)
		return jv_nomem(v);
	for (i = start; i < end; i++) {
		unsigned char c = v->s[i];

		if (c < 0x20) {
			v->pos = i;
			r = jv_fail(v, "control character in string");
			goto fail;
		}
		if (c != '\\') {
			if (buf != NULL)
				buf[o++] = c;
			continue;
		}
		i++;
		if ((r = jv_escape(v, &i, end, buf != NULL ? buf + o : tmp, &n)) != PJ_OK)
			goto fail;
		o += n;
	}
	if (name != NULL) {
		name->offset = quote;
		name->owned = buf;
		name->p = buf != NULL ? buf : v->s + start;
		name->len = buf != NULL ? o : end - start;
	}
	v->pos = end + 1;
	return PJ_OK;
fail:
	free(buf);
	return r;
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

/* The number s[start..end) must be finite as a double; an integer must also fit int64 or uint64, since
 * json-c clamps larger ones silently. */
static bool jv_number_in_range(struct jv *v, const char *num, bool integer)
{
	char *ep;

	if (!isfinite(strtod_l(num, &ep, v->c_locale)) || *ep != '\0')
		return false;
	if (!integer)
		return true;
	errno = 0;
	if (num[0] == '-')
		(void)strtoll(num, &ep, 10);
	else
		(void)strtoull(num, &ep, 10);
	return errno != ERANGE && *ep == '\0';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static pj_status jv_number(struct jv *v)
{
	size_t start = v->pos;
	bool integer = true, in_range;
	char *copy;

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
	/* strtod wants a NUL-terminated string and the C locale's decimal point */
	if (v->c_locale == (locale_t)0 &&
	    (v->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)) == (locale_t)0)
		return jv_nomem(v);
	if ((copy = strndup((const char *)v->s + start, v->pos - start)) == NULL)
		return jv_nomem(v);
	in_range = jv_number_in_range(v, copy, integer);
	free(copy);
	if (!in_range) {
		v->pos = start;
		return jv_fail(v, "number out of range");
	}
	return PJ_OK;
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

static pj_status jv_value(struct jv *v, int depth);

static int name_cmp(const void *a, const void *b)
{
	const struct jv_name *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->p, y->p, x->len);
}

/* Sorting keeps this O(n log n) however the names are chosen. */
static pj_status jv_duplicates(struct jv *v, struct jv_name *names, size_t n)
{
	if (n < 2)
		return PJ_OK;
	qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 1; i < n; i++) {
		if (name_cmp(&names[i - 1], &names[i]) == 0) {
			size_t at =
			    names[i - 1].offset > names[i].offset ? names[i - 1].offset : names[i].offset;

			v->pos = at;
			return jv_fail(v, "duplicate member name");
		}
	}
	return PJ_OK;
}

/* An object whose '{' is at pos; depth counts it. */
static pj_status jv_object(struct jv *v, int depth)
{
	struct jv_name *names = NULL, *tmp;
	size_t n = 0, cap = 0;
	pj_status r = PJ_OK;

	v->pos++;
	jv_ws(v);
	if (jv_peek(v) == '}') {
		v->pos++;
		return PJ_OK;
	}
	for (;;) {
		if (jv_peek(v) != '"') {
			r = jv_fail(v, "member name expected");
			goto out;
		}
		if (n >= JSON_STRICT_MAX_MEMBERS) {
			r = jv_fail(v, "too many object members");
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			if ((tmp = reallocarray(names, cap, sizeof(*names))) == NULL) {
				r = jv_nomem(v);
				goto out;
			}
			names = tmp;
		}
		if ((r = jv_string(v, &names[n])) != PJ_OK)
			goto out;
		n++;
		jv_ws(v);
		if (jv_peek(v) != ':') {
			r = jv_fail(v, "':' expected");
			goto out;
		}
		v->pos++;
		jv_ws(v);
		if ((r = jv_value(v, depth)) != PJ_OK)
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
	r = jv_duplicates(v, names, n);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i].owned);
	free(names);
	return r;
}

/* An array whose '[' is at pos; depth counts it. */
static pj_status jv_array(struct jv *v, int depth)
{
	size_t n = 0;
	pj_status r;

	v->pos++;
	jv_ws(v);
	if (jv_peek(v) == ']') {
		v->pos++;
		return PJ_OK;
	}
	for (;;) {
		if (n++ >= JSON_STRICT_MAX_ELEMENTS)
			return jv_fail(v, "too many array elements");
		if ((r = jv_value(v, depth)) != PJ_OK)
			return r;
		jv_ws(v);
		if (jv_peek(v) == ']') {
			v->pos++;
			return PJ_OK;
		}
		if (jv_peek(v) != ',')
			return jv_fail(v, "',' or ']' expected");
		v->pos++;
		jv_ws(v);
	}
}

/* A value at pos, inside depth containers. */
static pj_status jv_value(struct jv *v, int depth)
{
	switch (jv_peek(v)) {
	case '{':
	case '[':
		if (depth >= v->max_depth)
			return jv_fail(v, "nested too deeply");
		return jv_peek(v) == '{' ? jv_object(v, depth + 1) : jv_array(v, depth + 1);
	case '"': return jv_string(v, NULL);
	case 't': return jv_literal(v, "true");
	case 'f': return jv_literal(v, "false");
	case 'n': return jv_literal(v, "null");
	case -1: return jv_fail(v, "value expected");
	default: return jv_number(v);
	}
}

/* Validates the whole text; *value_end receives the offset just past the top-level object. */
static pj_status jv_validate(struct jv *v, size_t *value_end)
{
	pj_status r;

	if ((r = jv_utf8(v)) != PJ_OK)
		return r;
	jv_ws(v);
	if (jv_peek(v) != '{')
		return jv_fail(v, "top-level value is not an object");
	if ((r = jv_value(v, 0)) != PJ_OK)
		return r;
	*value_end = v->pos;
	jv_ws(v);
	if (v->pos != v->len)
		return jv_fail(v, "data after the top-level object");
	return PJ_OK;
}

/* ---- parsing ---- */

/* json-c parses exactly the validated object; json-c's depth counts every value, a container's scalar
 * members included, hence max_depth + 1. */
static pj_status jsonc_parse(const char *text, size_t value_end, int max_depth, json_object **out,
			     struct pj_error *err)
{
	json_tokener *tok;
	json_object *obj = NULL;
	enum json_tokener_error jerr;
	pj_status r = PJ_OK;

	if ((tok = json_tokener_new_ex(max_depth + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory parsing JSON");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)value_end);
	jerr = json_tokener_get_error(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		r = pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: %s", json_tokener_error_desc(jerr));
		goto out;
	}
	/* the validator and json-c must agree on where the object ends */
	if (json_tokener_get_parse_end(tok) != value_end || !json_object_is_type(obj, json_type_object)) {
		r = pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: parser disagreement");
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return r;
}

pj_status json_strict_parse_object(const char *text, size_t len, int max_depth, json_object **out,
				   struct pj_error *err)
{
	struct jv v = {.s = (const unsigned char *)text, .len = len, .err = err};
	size_t value_end = 0;
	pj_status r;

	*out = NULL;
	if (text == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: no text");
	if (len > INT_MAX)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: text too long");
	if (max_depth < 1)
		return pj_fail(err, PJ_ERR_TOKEN, "invalid JSON: nesting limit below 1");
	v.max_depth = max_depth > JSON_STRICT_DEPTH_CAP ? JSON_STRICT_DEPTH_CAP : max_depth;
	r = jv_validate(&v, &value_end);
	if (v.c_locale != (locale_t)0)
		freelocale(v.c_locale);
	if (r != PJ_OK)
		return r;
	return jsonc_parse(text, value_end, v.max_depth, out, err);
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
