/* fuzz_b64url.c: libFuzzer target for the strict base64url decoders, with an encode(decode(x)) == x check. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/error.h"

/* b64url_decode_buf must agree with b64url_decode: the same answer, reason and bytes. */
static void same_into_buffer(const uint8_t *data, size_t size, pj_status want,
                             const struct pj_error *want_err, const unsigned char *want_out, size_t want_len)
{
	struct pj_error err = {0};
	size_t bufsize = b64url_decoded_size(size), outlen = 0;
	unsigned char *buf = malloc(bufsize);
	pj_status r;

	if (buf == NULL)
		return;
	r = b64url_decode_buf((const char *)data, size, buf, bufsize, &outlen, &err);
	if (r != want || (r != PJ_OK && strcmp(err.reason, want_err->reason) != 0) ||
	    (r == PJ_OK &&
	     (outlen != want_len || memcmp(buf, want_out, outlen) != 0 || buf[outlen] != '\0'))) {
		fprintf(stderr, "b64url_decode_buf disagrees with b64url_decode\n");
		abort();
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	unsigned char *out = NULL;
	size_t outlen = 0;
	char *again;
	pj_status r;

	(void)b64url_alphabet_only((const char *)data, size);
	r = b64url_decode((const char *)data, size, &out, &outlen, &err);
	same_into_buffer(data, size, r, &err, out, outlen);
	if (r != PJ_OK)
		return 0;
	/* strict decoding means one text per byte string: the encoding of what was decoded is the input */
	if (out[outlen] != '\0' || (again = b64url_encode(out, outlen)) == NULL)
		abort();
	if (strlen(again) != size || memcmp(again, data, size) != 0) {
		fprintf(stderr, "b64url round trip mismatch\n");
		abort();
	}
	free(again);
	free(out);
	return 0;
}
