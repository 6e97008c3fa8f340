/* b64url.c: strict unpadded base64url decoding and encoding for JWS segments (see b64url.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "b64url.h"

static const char b64url_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 1 + the 6-bit value of each alphabet character; 0 for every other byte. A table because decoding is on
 * every login's path: the compare chain it replaced was a sixth of pj_verify outside the signature. */
static const unsigned char b64url_table[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
};

/* The 6-bit value of c, or -1 when c is not in the base64url alphabet (locale-free). */
static int b64url_value(unsigned char c)
{
	return (int)b64url_table[c] - 1;
}

bool b64url_alphabet_only(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (b64url_value((unsigned char)in[i]) < 0)
			return false;
	return true;
}

/* Refuses the first character outside the alphabet, naming padding separately since it is a common
 * sign of a standard-base64 encoder rather than of tampering. */
static pj_status b64url_check_chars(const char *in, size_t len, struct pj_error *err)
{
	for (size_t i = 0; i < len; i++) {
		if (b64url_value((unsigned char)in[i]) >= 0)
			continue;
		if (in[i] == '=')
			return pj_fail(err, PJ_ERR_TOKEN, "base64url padding not allowed (offset %zu)", i);
		return pj_fail(err, PJ_ERR_TOKEN, "invalid base64url character at offset %zu", i);
	}
	return PJ_OK;
}

/* Bytes that len characters decode to: 3 per full quad plus 1 or 2 for a 2- or 3-character tail. Below len
 * whenever len > 0, so a NUL after them cannot overflow. */
static size_t decoded_len(size_t len)
{
	return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

/* The refusal of an input known to hold a character outside the alphabet: b64url_check_chars names it
 * (the fallback only keeps this failing should the two ever disagree). */
static pj_status bad_char(const char *in, size_t len, struct pj_error *err)
{
	pj_status r = b64url_check_chars(in, len, err);

	return r != PJ_OK ? r : pj_fail(err, PJ_ERR_TOKEN, "invalid base64url character");
}

/* Decodes in (len characters, len % 4 != 1) into buf (decoded_len(len) + 1 bytes), in one pass: a character
 * outside the alphabet has table value 0, and the first quad holding one sends the whole input to
 * bad_char for the reason. */
static pj_status decode_into(const char *in, size_t len, unsigned char *buf, size_t *outlen,
                             struct pj_error *err)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0, i;
	uint32_t acc = 0;
	int bits;

	for (i = 0; i + 4 <= len; i += 4) {
		unsigned a = b64url_table[s[i]], b = b64url_table[s[i + 1]], c = b64url_table[s[i + 2]],
		         d = b64url_table[s[i + 3]];

		if (a == 0 || b == 0 || c == 0 || d == 0)
			return bad_char(in, len, err);
		acc = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
		buf[n++] = (unsigned char)(acc >> 16);
		buf[n++] = (unsigned char)(acc >> 8);
		buf[n++] = (unsigned char)acc;
	}
	acc = 0;
	for (bits = 0; i < len; i++) {
		unsigned v = b64url_table[s[i]];

		if (v == 0)
			return bad_char(in, len, err);
		acc = (acc << 6) | (v - 1);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two different strings would decode to the same bytes. */
	if (acc != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "base64url has non-zero trailing bits");
	buf[n] = '\0';
	*outlen = n;
	return PJ_OK;
}

/* The checks that come before any byte is decoded: input present, and a possible length (a bad character
 * is named first, as a length of 1 mod 4 is often a symptom of one). */
static pj_status check_input(const char *in, size_t len, struct pj_error *err)
{
	pj_status r;

	if (in == NULL && len != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "base64url input missing");
	if (len % 4 == 1) {
		if ((r = b64url_check_chars(in, len, err)) != PJ_OK)
			return r;
		return pj_fail(err, PJ_ERR_TOKEN, "base64url length %zu is impossible (1 mod 4)", len);
	}
	return PJ_OK;
}

pj_status b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen, struct pj_error *err)
{
	unsigned char *buf;
	pj_status r;

	*out = NULL;
	*outlen = 0;
	if ((r = check_input(in, len, err)) != PJ_OK)
		return r;
	if ((buf = malloc(decoded_len(len) + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory decoding base64url");
	if ((r = decode_into(len ? in : "", len, buf, outlen, err)) != PJ_OK) {
		free(buf);
		*outlen = 0;
		return r;
	}
	*out = buf;
	return PJ_OK;
}

pj_status b64url_decode_buf(const char *in, size_t len, unsigned char *buf, size_t size, size_t *outlen,
                            struct pj_error *err)
{
	pj_status r;

	*outlen = 0;
	if ((r = check_input(in, len, err)) != PJ_OK)
		return r;
	if (size < decoded_len(len) + 1)
		return pj_fail(err, PJ_ERR_TOKEN, "base64url input of %zu characters too long here", len);
	if ((r = decode_into(len ? in : "", len, buf, outlen, err)) != PJ_OK)
		*outlen = 0;
	return r;
}

size_t b64url_decoded_size(size_t len)
{
	return decoded_len(len) + 1;
}

char *b64url_encode(const unsigned char *in, size_t len)
{
	size_t outlen, o = 0, i;
	char *s;

	/* outlen + 1 <= (len / 3 + 1) * 4 + 1 must not wrap. */
	if (len / 3 > (SIZE_MAX - 5) / 4)
		return NULL;
	outlen = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
	if ((s = malloc(outlen + 1)) == NULL)
		return NULL;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		s[o++] = b64url_chars[v >> 18 & 63];
		s[o++] = b64url_chars[v >> 12 & 63];
		s[o++] = b64url_chars[v >> 6 & 63];
		s[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		s[o++] = b64url_chars[v >> 18 & 63];
		s[o++] = b64url_chars[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		s[o++] = b64url_chars[v >> 18 & 63];
		s[o++] = b64url_chars[v >> 12 & 63];
		s[o++] = b64url_chars[v >> 6 & 63];
	}
	s[o] = '\0';
	return s;
}
