/* fuzz_continuation.c: libFuzzer target for the continuation joiner and the askpass prompt parser. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pam_jwt/continuation.h"
#include "pam_jwt/error.h"

/* The input is the answers a client sends, one a line (the first byte picks max_token_size); every line
 * is also a prompt for pj_cont_prompt_part. Checked: the joiner never exceeds its bounds, and what it
 * joins is exactly the answers without their markers (part 1 whole when it is not a first part). A crash
 * or an abort() is a finding. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pj_error err = {0};
	struct pj_cont c;
	size_t max_len, pos = 0, expect_len = 0;
	char *expect, *line;
	bool more = true;

	if (size < 1)
		return 0;
	max_len = (size_t)data[0] * 64;
	data++, size--;
	if ((expect = malloc(size + 1)) == NULL)
		abort();
	pj_cont_init(&c, max_len);
	while (pos <= size && more) {
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - (data + pos)) : size - pos;

		if ((line = strndup((const char *)data + pos, len)) == NULL)
			abort();
		(void)pj_cont_prompt_part(line); /* a prompt: askpass reads it */
		free(line);
		if (pj_cont_add(&c, (const char *)data + pos, len, &err) != PJ_OK)
			break;
		/* the answer, minus its marker when it asked for more (part 1 only when it is a first part)
		 */
		memcpy(expect + expect_len, data + pos, len - (c.more ? 1 : 0));
		expect_len += len - (c.more ? 1 : 0);
		if (c.len != expect_len || memcmp(c.buf, expect, expect_len) != 0 || c.buf[c.len] != '\0') {
			fprintf(stderr, "joined token differs from the answers without their markers\n");
			abort();
		}
		/* bounds: a first answer taken whole is the verifier's to bound (max_token_size); a joined
		 * one is the joiner's */
		if (((c.parts > 1 || c.more) && c.len > max_len) || c.parts > PJ_CONT_MAX_PARTS)
			abort();
		more = c.more;
		pos += len + 1;
	}
	pj_cont_free(&c);
	free(expect);
	return 0;
}
