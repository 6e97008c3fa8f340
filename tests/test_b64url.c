/* test_b64url.c: strict base64url: round trips, RFC 4648 vectors and every refusal rule. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pam_jwt/b64url.h"
#include "tap.h"

/* b64url_decode_buf: the same bytes into a buffer of exactly b64url_decoded_size, and a buffer one byte
 * short refused without a byte written. */
static int decodes_to_buf(const char *in, size_t len, const void *want, size_t wantlen)
{
	size_t size = b64url_decoded_size(len), outlen = 7;
	unsigned char *buf = malloc(size + 1);
	struct pj_error err;
	int good;

	if (buf == NULL)
		return 0;
	memset(buf, 0xa5, size + 1);
	pj_error_clear(&err);
	good = size == wantlen + 1 &&
	       b64url_decode_buf(in, len, buf, size - 1, &outlen, &err) == PJ_ERR_TOKEN && outlen == 0 &&
	       buf[0] == 0xa5;
	good = good && b64url_decode_buf(in, len, buf, size, &outlen, &err) == PJ_OK && outlen == wantlen &&
	       memcmp(buf, want, wantlen) == 0 && buf[wantlen] == '\0' && buf[size] == 0xa5;
	free(buf);
	return good;
}

/* True when in[0..len) decodes to exactly want[0..wantlen), by b64url_decode and b64url_decode_buf. */
static int decodes_to(const char *in, size_t len, const void *want, size_t wantlen)
{
	struct pj_error err;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int good;

	pj_error_clear(&err);
	if (b64url_decode(in, len, &out, &outlen, &err) != PJ_OK)
		return 0;
	good = outlen == wantlen && memcmp(out, want, wantlen) == 0 && out[outlen] == '\0' &&
	       err.status == PJ_OK;
	free(out);
	return good && decodes_to_buf(in, len, want, wantlen);
}

/* b64url_decode_buf refuses it too, for the same reason, given room enough. */
static int refused_buf(const char *in, size_t len, const char *why)
{
	size_t size = b64url_decoded_size(len), outlen = 7;
	unsigned char *buf = malloc(size);
	struct pj_error err;
	int good;

	if (buf == NULL)
		return 0;
	pj_error_clear(&err);
	good = b64url_decode_buf(in, len, buf, size, &outlen, &err) == PJ_ERR_TOKEN && outlen == 0 &&
	       strstr(err.reason, why) != NULL;
	free(buf);
	return good;
}

/* True when in[0..len) is refused as PJ_ERR_TOKEN with a reason containing why, and *out stays NULL. */
static int refused(const char *in, size_t len, const char *why)
{
	struct pj_error err;
	unsigned char *out = (unsigned char *)"x";
	size_t outlen = 7;
	pj_status r;

	pj_error_clear(&err);
	r = b64url_decode(in, len, &out, &outlen, &err);
	if (r == PJ_OK)
		free(out);
	if (!(r == PJ_ERR_TOKEN && err.status == PJ_ERR_TOKEN && out == NULL && outlen == 0 &&
	      strstr(err.reason, why) != NULL))
		return 0;
	return refused_buf(in, len, why);
}

/* The reference encoding from OpenSSL's padded standard base64, translated to unpadded base64url. */
static char *reference_encode(const unsigned char *in, size_t len)
{
	char *s = malloc(4 * (len / 3 + 1) + 1);
	size_t n;

	if (s == NULL)
		return NULL;
	EVP_EncodeBlock((unsigned char *)s, in, (int)len);
	for (n = 0; s[n] != '\0' && s[n] != '='; n++) {
		if (s[n] == '+')
			s[n] = '-';
		else if (s[n] == '/')
			s[n] = '_';
	}
	s[n] = '\0';
	return s;
}

static void test_round_trips(void)
{
	unsigned char buf[64];
	int all_ok = 1, all_ref = 1;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 37 + 0xf9); /* covers high bytes and the 62/63 characters */
	for (size_t len = 0; len <= sizeof(buf); len++) {
		char *enc = b64url_encode(buf, len);
		char *ref = reference_encode(buf, len);

		if (enc == NULL || ref == NULL || strcmp(enc, ref) != 0)
			all_ref = 0;
		if (enc == NULL || !b64url_alphabet_only(enc, strlen(enc)) ||
		    !decodes_to(enc, strlen(enc), buf, len))
			all_ok = 0;
		free(enc);
		free(ref);
	}
	ok(all_ref, "encode matches OpenSSL's base64 (translated, unpadded) for lengths 0..64");
	ok(all_ok, "encode/decode round trip for lengths 0..64");

	/* every byte value, so every alphabet character appears in both directions */
	unsigned char all[256];
	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	char *enc = b64url_encode(all, sizeof(all));
	ok(enc != NULL && decodes_to(enc, strlen(enc), all, sizeof(all)),
	   "round trip of all 256 byte values");
	free(enc);
}

static void test_vectors(void)
{
	static const struct {
		const char *plain, *enc;
	} v[] = {
	    {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
	    {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char *enc = b64url_encode((const unsigned char *)v[i].plain, strlen(v[i].plain));

		ok(enc != NULL && strcmp(enc, v[i].enc) == 0, "RFC 4648 vector encode \"%s\"", v[i].plain);
		ok(decodes_to(v[i].enc, strlen(v[i].enc), v[i].plain, strlen(v[i].plain)),
		   "RFC 4648 vector decode \"%s\"", v[i].enc);
		free(enc);
	}
	ok(decodes_to("-_8", 3, "\xfb\xff", 2), "'-' and '_' are the characters 62 and 63");
	ok(decodes_to(NULL, 0, "", 0), "empty input (even NULL) decodes to an empty, NUL-terminated buffer");
	ok(decodes_to("Zm9vYmFyx", 8, "foobar", 6), "only len characters are read");
}

static void test_bad_characters(void)
{
	ok(refused("ab+d", 4, "invalid base64url character at offset 2"), "'+' (standard base64) refused");
	ok(refused("ab/d", 4, "invalid base64url character at offset 2"), "'/' (standard base64) refused");
	ok(refused("Zg==", 4, "padding not allowed"), "'=' padding refused");
	ok(refused("Zm8=", 4, "padding not allowed"), "single '=' padding refused");
	ok(refused("Zm9v=", 5, "padding not allowed"), "'=' after a full quad refused");
	ok(refused("Zm 9v", 5, "invalid base64url character at offset 2"), "space refused");
	ok(refused("Zm9v\n", 5, "invalid base64url character at offset 4"), "newline refused");
	ok(refused("Zm\r\n9v", 6, "invalid base64url character at offset 2"), "CRLF refused");
	ok(refused("Zm\t9v", 5, "invalid base64url character"), "tab refused");
	ok(refused("Zm9v\0Zg", 7, "invalid base64url character at offset 4"), "NUL inside refused");
	ok(refused("Zm9\xc3\xa9", 5, "invalid base64url character at offset 3"), "UTF-8 high bytes refused");
	ok(refused("\xff\xff", 2, "invalid base64url character at offset 0"), "0xFF refused");
	ok(refused("Zm9v.Zg", 7, "invalid base64url character at offset 4"), "'.' refused");

	/* every byte outside the alphabet, in a position where it would otherwise be valid */
	int all = 1;
	for (int c = 0; c < 256; c++) {
		char in[4] = {'Q', 'U', 'F', 'B'}; /* "QUFB" = "AAA" */
		int member = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		             c == '-' || c == '_';

		in[1] = (char)c;
		if (member != b64url_alphabet_only(in, 4))
			all = 0;
		if (!member && !refused(in, 4, "offset 1"))
			all = 0;
	}
	ok(all, "each of the 192 bytes outside the alphabet is refused, and alphabet_only agrees");
	ok(b64url_alphabet_only("", 0), "alphabet_only on empty input");
	ok(!b64url_alphabet_only("ab=", 3), "alphabet_only refuses '='");
}

static void test_lengths_and_bits(void)
{
	ok(refused("Q", 1, "1 mod 4"), "length 1 refused");
	ok(refused("QUFBQ", 5, "1 mod 4"), "length 5 refused");
	ok(refused("QUFBQUFBQ", 9, "1 mod 4"), "length 9 refused");

	/* 2-character tail: 12 bits, 8 used, the low 4 bits of the second character must be zero */
	ok(decodes_to("QQ", 2, "A", 1), "\"QQ\" (zero trailing bits) ok");
	ok(refused("QR", 2, "non-zero trailing bits"), "\"QR\" (trailing bit 0 set) refused");
	ok(refused("QY", 2, "non-zero trailing bits"), "\"QY\" (trailing bit 3 set) refused");
	ok(refused("QUFBQR", 6, "non-zero trailing bits"), "2-character tail after a quad checked");
	/* 3-character tail: 18 bits, 16 used, the low 2 bits of the third character must be zero */
	ok(decodes_to("QUE", 3, "AA", 2), "\"QUE\" (zero trailing bits) ok");
	ok(refused("QUF", 3, "non-zero trailing bits"), "\"QUF\" (trailing bit 0 set) refused");
	ok(refused("QUG", 3, "non-zero trailing bits"), "\"QUG\" (trailing bit 1 set) refused");
	ok(refused("QUFBQUF", 7, "non-zero trailing bits"), "3-character tail after a quad checked");

	/* every non-canonical tail character is refused, every canonical one accepted */
	int all = 1;
	for (int v = 0; v < 64; v++) {
		const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		char two[2] = {'Q', alpha[v]}, three[3] = {'Q', 'U', alpha[v]};
		struct pj_error err;
		unsigned char *out;
		size_t outlen;
		pj_status r2 = b64url_decode(two, 2, &out, &outlen, &err);

		if (r2 == PJ_OK)
			free(out);
		pj_status r3 = b64url_decode(three, 3, &out, &outlen, &err);
		if (r3 == PJ_OK)
			free(out);
		if ((r2 == PJ_OK) != ((v & 15) == 0) || (r3 == PJ_OK) != ((v & 3) == 0))
			all = 0;
	}
	ok(all, "trailing-bit rule exact for all 64 tail characters of 2- and 3-character tails");
}

static void test_nul_termination(void)
{
	struct pj_error err;
	unsigned char *out = NULL;
	size_t outlen = 0;

	ok(b64url_decode("Zm9vYmFy", 8, &out, &outlen, &err) == PJ_OK && outlen == 6 && out[6] == '\0' &&
	       strcmp((char *)out, "foobar") == 0,
	   "output NUL-terminated one past outlen");
	free(out);
	/* an embedded NUL byte in the decoded data is kept, outlen counts it */
	ok(decodes_to("AEEA", 4, "\0A\0", 3), "decoded NUL bytes kept");
}

int main(void)
{
	test_round_trips();
	test_vectors();
	test_bad_characters();
	test_lengths_and_bits();
	test_nul_termination();
	return tap_done();
}
