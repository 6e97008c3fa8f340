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

pj_status b64url_decode(const char *in, size_t len, unsigned char **out, size_t *outlen, struct pj_error *err)
{
	unsigned char *buf = NULL;
	size_t n = 0, i, tail, need;
	uint32_t acc = 0;
	int bits = 0;
	pj_status r;

	*out = NULL;
	*outlen = 0;
	if (in == NULL && len != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "base64url input missing");
	if ((r = b64url_check_chars(in, len, err)) != PJ_OK)
		return r;
	tail = len % 4;
	if (tail == 1)
		return pj_fail(err, PJ_ERR_TOKEN, "base64url length %zu is impossible (1 mod 4)", len);
	/* 3 bytes per full quad plus 1 or 2 for a 2- or 3-character tail; need < len whenever len > 0, so
	 * need + 1 for the NUL cannot overflow. */
	need = len / 4 * 3 + (tail ? tail - 1 : 0);
	if ((buf = malloc(need + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory decoding base64url");
	/* Every character is in the alphabet now: whole quads give 3 bytes each, then the tail. */
	for (i = 0; i + 4 <= len; i += 4) {
		const unsigned char *q = (const unsigned char *)in + i;

		acc = (uint32_t)b64url_value(q[0]) << 18 | (uint32_t)b64url_value(q[1]) << 12 |
		      (uint32_t)b64url_value(q[2]) << 6 | (uint32_t)b64url_value(q[3]);
		buf[n++] = (unsigned char)(acc >> 16);
		buf[n++] = (unsigned char)(acc >> 8);
		buf[n++] = (unsigned char)acc;
	}
	acc = 0;
	for (bits = 0; i < len; i++) {
		acc = (acc << 6) | (uint32_t)b64url_value((unsigned char)in[i]);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two different strings would decode to the same bytes. */
	if (acc != 0) {
		free(buf);
		return pj_fail(err, PJ_ERR_TOKEN, "base64url has non-zero trailing bits");
	}
	buf[n] = '\0';
	*out = buf;
	*outlen = n;
	return PJ_OK;
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
