/* testkit.c: makes keys, public JWKs and signed tokens with OpenSSL so tests need no fixtures or network. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/jws_sign.h"
#include "testkit.h"

EVP_PKEY *tk_keygen_rsa(int bits)
{
	if (bits <= 0)
		return NULL;
	return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
}

EVP_PKEY *tk_keygen(enum jws_alg_id id)
{
	const struct jws_alg *alg = jws_alg_by_id(id);

	if (alg == NULL)
		return NULL;
	switch (alg->kind) {
	case JWS_SIG_RSA_PKCS1:
	case JWS_SIG_RSA_PSS: return tk_keygen_rsa(2048);
	case JWS_SIG_ECDSA: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", alg->crv);
	case JWS_SIG_EDDSA: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	}
	return NULL;
}

EVP_PKEY *tk_key_load(const char *path)
{
	EVP_PKEY *pkey;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return pkey;
}

/* Returns 0 on success, -1 on error. The file is created 0600: it holds a private key. */
int tk_key_save(EVP_PKEY *pkey, const char *path)
{
	FILE *f;
	int fd, ok;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (fchmod(fd, 0600) != 0 || (f = fdopen(fd, "w")) == NULL) {
		close(fd);
		return -1;
	}
	ok = PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) == 1;
	if (fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

char *tk_strf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

char *tk_join(const char *h, const char *p, const char *s)
{
	return tk_strf("%s.%s.%s", h, p, s);
}

/* A JSON string literal for s (quotes, backslashes and control characters escaped). malloc'd. */
static char *json_quote(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *q;

	if ((q = malloc(len * 6 + 3)) == NULL)
		return NULL;
	q[o++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c != '\0'; c++) {
		if (*c == '"' || *c == '\\') {
			q[o++] = '\\';
			q[o++] = (char)*c;
		} else if (*c < 0x20) {
			o += (size_t)sprintf(q + o, "\\u%04x", *c);
		} else {
			q[o++] = (char)*c;
		}
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

unsigned char *tk_sign_bytes(enum jws_alg_id id, EVP_PKEY *pkey, const unsigned char *data, size_t len,
                             size_t *siglen)
{
	return jws_sign_bytes(id, pkey, data, len, siglen);
}

char *tk_sign(enum jws_alg_id id, EVP_PKEY *pkey, const char *header_json, const char *payload_json)
{
	return jws_sign_compact(id, pkey, header_json, payload_json);
}

char *tk_jwk_json(EVP_PKEY *pkey, const char *kid, const char *alg, const char *extra)
{
	char *key = NULL, *qkid = NULL, *qalg = NULL, *out = NULL;

	if ((key = jwk_public_members(pkey)) == NULL)
		goto out;
	if (kid != NULL && (qkid = json_quote(kid)) == NULL)
		goto out;
	if (alg != NULL && (qalg = json_quote(alg)) == NULL)
		goto out;
	out = tk_strf("{%s%s%s%s%s%s%s}", key, qkid ? ",\"kid\":" : "", qkid ? qkid : "",
	              qalg ? ",\"alg\":" : "", qalg ? qalg : "", extra ? "," : "", extra ? extra : "");
out:
	ERR_clear_error();
	free(key);
	free(qkid);
	free(qalg);
	return out;
}

void tk_write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

char *tk_path(const char *dir, const char *name)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

void tk_write_file(const char *path, const char *text, unsigned mode)
{
	tk_write_text(path, text);
	if (chmod(path, (mode_t)mode) != 0)
		abort();
}

static char captured[1 << 16];

void tk_log_emit(void *arg, int priority, const char *message)
{
	size_t used = strlen(captured);

	(void)arg;
	snprintf(captured + used, sizeof(captured) - used, "%d:%s\n", priority, message);
}

void tk_log_clear(void)
{
	captured[0] = '\0';
}

bool tk_logged(const char *needle)
{
	return strstr(captured, needle) != NULL;
}

void tk_copy_file(const char *src, const char *dst, unsigned mode)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	char buf[8192];
	size_t n;

	if (in == NULL || out == NULL)
		abort();
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			abort();
	if (ferror(in) || fclose(in) != 0 || fclose(out) != 0 || chmod(dst, mode) != 0)
		abort();
}
