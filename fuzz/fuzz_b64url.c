/* fuzz_b64url.c: libFuzzer target for the strict base64url decoder, with an encode(decode(x)) == x check. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	unsigned char *out = NULL;
	size_t outlen = 0;
	char *again;

	(void)b64url_alphabet_only((const char *)data, size);
	if (b64url_decode((const char *)data, size, &out, &outlen, &err) != PJ_OK)
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
