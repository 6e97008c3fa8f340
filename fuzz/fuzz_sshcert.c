/* fuzz_sshcert.c: libFuzzer target for the OpenSSH certificate parser and Go's JSON form (opkssh logins). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "pam_jwt/error.h"
#include "pam_jwt/json_go.h"
#include "pam_jwt/json_strict.h"
#include "pam_jwt/sshcert.h"

/* A parsed certificate must answer for every extension it holds, and its CA key text must decode back to
 * the signature key's bytes. */
static void check_cert(const struct sshcert *c)
{
	unsigned char *back;
	char *text;
	int n;

	for (size_t i = 0; i < c->n_extensions; i++)
		if (sshcert_extension(c, c->extensions[i].name) != &c->extensions[i])
			abort();
	if ((text = sshcert_ca_key_text(c)) == NULL)
		abort();
	const char *b64 = strchr(text, ' ') + 1;
	if ((back = malloc(strlen(b64))) == NULL)
		abort();
	n = EVP_DecodeBlock(back, (const unsigned char *)b64, (int)strlen(b64));
	if (n < (int)c->ca_blob_len || memcmp(back, c->ca_blob, c->ca_blob_len) != 0)
		abort();
	free(back);
	free(text);
}

/* Go's form is a fixed point: written, parsed again and written again, it is the same bytes. */
static void check_go(const uint8_t *data, size_t size)
{
	json_object *obj = NULL, *again = NULL;
	struct pj_error err = {0};
	char *out = NULL, *out2 = NULL;
	size_t len, len2;

	if (json_strict_parse_object((const char *)data, size, 16, &obj, &err) != PJ_OK ||
	    json_go_marshal(obj, &out, &len, &err) != PJ_OK)
		goto done;
	if (json_strict_parse_object(out, len, 64, &again, &err) != PJ_OK ||
	    json_go_marshal(again, &out2, &len2, &err) != PJ_OK || len2 != len ||
	    memcmp(out, out2, len) != 0) {
		fprintf(stderr, "json_go: not a fixed point\n");
		abort();
	}
done:
	free(out);
	free(out2);
	json_object_put(obj);
	json_object_put(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshcert c;
	struct pj_error err = {0};

	if (sshcert_parse(data, size, &c, &err) == PJ_OK)
		check_cert(&c);
	sshcert_free(&c);
	if (size > 0 && data[0] == '{')
		check_go(data, size);
	return 0;
}
