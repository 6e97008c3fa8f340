/* dpop_client.c: the client side of DPoP (RFC 9449): the key pair beside the token, and the proofs. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "b64url.h"
#include "dpop.h"
#include "dpop_client.h"
#include "jws_sign.h"
#include "trusted_file.h"

pj_status dpop_key_generate(const char *alg, EVP_PKEY **out, struct pj_error *err)
{
	if (strcmp(alg, "ES256") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else if (strcmp(alg, "EdDSA") == 0)
		*out = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		return pj_fail(err, PJ_ERR_CONFIG, "DPoP key: alg %.32s: ES256 or EdDSA only", alg);
	if (*out == NULL)
		return pj_fail(err, PJ_ERR_SYSTEM, "DPoP key: OpenSSL could not make a key pair");
	return PJ_OK;
}

pj_status dpop_key_save(const char *path, EVP_PKEY *key, struct pj_error *err)
{
	BIO *pem = BIO_new(BIO_s_secmem()); /* the private key: cleared when freed */
	const char *data;
	long len;
	pj_status r;

	if (pem == NULL || PEM_write_bio_PrivateKey(pem, key, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(pem, &data)) <= 0)
		r = pj_fail(err, PJ_ERR_SYSTEM, "%s: cannot write the key", path);
	else
		r = atomic_write_file(path, data, (size_t)len, 0600, err);
	BIO_free(pem);
	ERR_clear_error();
	return r;
}

pj_status dpop_key_load(const char *path, EVP_PKEY **out, struct pj_error *err)
{
	struct stat st;
	FILE *f;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return pj_fail(err, PJ_ERR_CONFIG, "DPoP key %s: cannot open: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		return pj_fail(err, PJ_ERR_CONFIG, "DPoP key %s: must be a regular file of yours, mode 0600",
		               path);
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return pj_fail(err, PJ_ERR_SYSTEM, "DPoP key %s: %s", path, strerror(errno));
	}
	*out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	if (*out == NULL)
		return pj_fail(err, PJ_ERR_CONFIG, "DPoP key %s: not a PEM private key", path);
	if (!EVP_PKEY_is_a(*out, "ED25519") &&
	    !(EVP_PKEY_is_a(*out, "EC") && EVP_PKEY_get_bits(*out) == 256)) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return pj_fail(err, PJ_ERR_CONFIG, "DPoP key %s: neither P-256 (ES256) nor Ed25519 (EdDSA)",
		               path);
	}
	return PJ_OK;
}

/* The proof's claims as JSON (json-c escapes htu and nonce, which come from a server's prompt). */
static pj_status proof_payload(const char *htm, const char *htu, const char *nonce, const char *token,
                               size_t token_len, time_t now, char **out, struct pj_error *err)
{
	unsigned char raw[16];
	char ath[PJ_DPOP_THUMBPRINT_LEN + 8], *jti = NULL;
	json_object *o = json_object_new_object();
	pj_status r = PJ_OK;

	*out = NULL;
	if (o == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw) ||
	    (jti = b64url_encode(raw, sizeof(raw))) == NULL) {
		r = pj_fail(err, PJ_ERR_SYSTEM, "DPoP proof: no random jti");
		goto out;
	}
	json_object_object_add(o, "jti", json_object_new_string(jti));
	json_object_object_add(o, "htm", json_object_new_string(htm));
	json_object_object_add(o, "htu", json_object_new_string(htu));
	json_object_object_add(o, "iat", json_object_new_int64((int64_t)now));
	if (token != NULL) {
		if ((r = dpop_sha256_b64(token, token_len, ath, sizeof(ath), err)) != PJ_OK)
			goto out;
		json_object_object_add(o, "ath", json_object_new_string(ath));
	}
	if (nonce != NULL)
		json_object_object_add(o, "nonce", json_object_new_string(nonce));
	if ((*out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	                                                         JSON_C_TO_STRING_NOSLASHESCAPE))) == NULL)
		r = pj_fail(err, PJ_ERR_NOMEM, "out of memory");
out:
	free(jti);
	json_object_put(o);
	return r;
}

pj_status dpop_proof_make(EVP_PKEY *key, const char *htm, const char *htu, const char *nonce,
                          const char *token, size_t token_len, time_t now, char **out, struct pj_error *err)
{
	enum jws_alg_id alg = EVP_PKEY_is_a(key, "ED25519") ? JWS_EDDSA : JWS_ES256;
	char *members = NULL, *header = NULL, *payload = NULL;
	pj_status r;

	*out = NULL;
	if ((members = jwk_public_members(key)) == NULL ||
	    asprintf(&header, "{\"typ\":\"dpop+jwt\",\"alg\":\"%s\",\"jwk\":{%s}}", jws_alg_by_id(alg)->name,
	             members) < 0) {
		header = NULL;
		r = pj_fail(err, PJ_ERR_NOMEM, "DPoP proof: cannot write the public key");
		goto out;
	}
	if ((r = proof_payload(htm, htu, nonce, token, token_len, now, &payload, err)) != PJ_OK)
		goto out;
	if ((*out = jws_sign_compact(alg, key, header, payload)) == NULL)
		r = pj_fail(err, PJ_ERR_SYSTEM, "DPoP proof: signing failed");
out:
	free(members);
	free(header);
	free(payload);
	return r;
}
