/* sshcert.c: reads an OpenSSH certificate's wire form field by field, every length checked. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "sshcert.h"
#include "store/analyzer.h"

/* The certificate types we read, their key's own type and how the key fields are laid out. */
enum key_layout { LAYOUT_ECDSA_P256, LAYOUT_ED25519, LAYOUT_RSA };
static const struct cert_kind {
	const char *type;
	const char *plain_type;
	enum key_layout layout;
} cert_kinds[] = {
    {"ecdsa-sha2-nistp256-cert-v01@openssh.com", "ecdsa-sha2-nistp256", LAYOUT_ECDSA_P256},
    {"ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519", LAYOUT_ED25519},
    {"ssh-rsa-cert-v01@openssh.com", "ssh-rsa", LAYOUT_RSA},
};

/* A cursor over the blob: every read checks what is left. */
struct rd {
	const unsigned char *p;
	size_t left;
};

static bool rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/* An SSH string: uint32 length, then that many bytes (pointing into the blob). */
static bool rd_string(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (!rd_u32(r, &n) || n > r->left)
		return false;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

/* A string that must hold no NUL, copied and NUL-terminated. */
static pj_status rd_cstring(struct rd *r, const char *what, char **out, struct pj_error *err)
{
	const unsigned char *s;
	size_t n;

	if (!rd_string(r, &s, &n))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: %s is cut short", what);
	if (memchr(s, '\0', n) != NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: %s holds a NUL byte", what);
	/* gcc 12's analyzer loses *out when it is an element of a heap array (read_principals) and calls it
	 * leaked: the certificate owns it (sshcert_free) */
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	if ((*out = strndup((const char *)s, n)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	PJ_ANALYZER_END()
	return PJ_OK;
}

static EVP_PKEY *pkey_from_params(const char *name, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* An SSH mpint that must be positive (RFC 4251 5: two's complement, no needless leading zero). */
static BIGNUM *mpint_positive(const unsigned char *s, size_t n)
{
	if (n == 0 || (s[0] & 0x80) != 0 || (n > 1 && s[0] == 0 && (s[1] & 0x80) == 0))
		return NULL;
	return BN_bin2bn(s, (int)n, NULL);
}

static pj_status read_rsa(struct rd *r, struct sshcert *c, struct pj_error *err)
{
	const unsigned char *e, *n;
	size_t elen, nlen;
	BIGNUM *be = NULL, *bn = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	pj_status st = PJ_OK;

	if (!rd_string(r, &e, &elen) || !rd_string(r, &n, &nlen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: RSA key cut short");
	if (nlen > 16384 / 8 + 1 || elen > 8 || (be = mpint_positive(e, elen)) == NULL ||
	    (bn = mpint_positive(n, nlen)) == NULL) {
		st = pj_fail(err, PJ_ERR_TOKEN, "certificate: bad RSA key");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (c->key = pkey_from_params("RSA", bld)) == NULL)
		st = pj_fail(err, PJ_ERR_TOKEN, "certificate: bad RSA key");
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(be);
	BN_free(bn);
	return st;
}

static pj_status read_ecdsa_p256(struct rd *r, struct sshcert *c, struct pj_error *err)
{
	const unsigned char *curve, *q;
	size_t curvelen, qlen;
	OSSL_PARAM_BLD *bld = NULL;
	pj_status st = PJ_OK;

	if (!rd_string(r, &curve, &curvelen) || !rd_string(r, &q, &qlen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: ECDSA key cut short");
	if (curvelen != 8 || memcmp(curve, "nistp256", 8) != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: ECDSA key is not on nistp256");
	if (qlen != 65 || q[0] != 0x04)
		return pj_fail(err, PJ_ERR_TOKEN,
		               "certificate: ECDSA point is not an uncompressed P-256 point");
	/* fromdata checks the point is on the curve */
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) ||
	    (c->key = pkey_from_params("EC", bld)) == NULL)
		st = pj_fail(err, PJ_ERR_TOKEN, "certificate: bad ECDSA key");
	OSSL_PARAM_BLD_free(bld);
	return st;
}

static pj_status read_ed25519(struct rd *r, struct sshcert *c, struct pj_error *err)
{
	const unsigned char *pk;
	size_t pklen;

	if (!rd_string(r, &pk, &pklen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: Ed25519 key cut short");
	if (pklen != 32 || (c->key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, pklen)) == NULL)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: bad Ed25519 key");
	return PJ_OK;
}

/* The principals list: a string holding strings. */
static pj_status read_principals(const unsigned char *s, size_t n, struct sshcert *c, struct pj_error *err)
{
	struct rd r = {s, n};
	pj_status st;

	if ((c->principals = calloc(SSHCERT_MAX_PRINCIPALS + 1, sizeof(char *))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	while (r.left > 0) {
		if (c->n_principals == SSHCERT_MAX_PRINCIPALS)
			return pj_fail(err, PJ_ERR_TOKEN, "certificate: more than %d principals",
			               SSHCERT_MAX_PRINCIPALS);
		if ((st = rd_cstring(&r, "a principal", &c->principals[c->n_principals], err)) != PJ_OK)
			return st;
		c->n_principals++;
	}
	return PJ_OK;
}

/* Critical options or extensions: (string name, string data) pairs, data empty or one nested string.
 * Critical options are only checked for form and number: sshd enforces them itself (force-command,
 * source-address; a certificate with one it does not know is refused), and they can only restrict. */
static pj_status read_options(const unsigned char *s, size_t n, bool critical, struct sshcert *c,
                              struct pj_error *err)
{
	const char *what = critical ? "critical option" : "extension";
	struct rd r = {s, n};
	struct sshcert_ext *e;
	const unsigned char *data, *inner;
	size_t datalen, innerlen, count = 0;
	pj_status st;

	if (!critical && (c->extensions = calloc(SSHCERT_MAX_OPTIONS, sizeof(*c->extensions))) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	while (r.left > 0) {
		char *name = NULL;

		if (count == SSHCERT_MAX_OPTIONS)
			return pj_fail(err, PJ_ERR_TOKEN, "certificate: more than %d %ss",
			               SSHCERT_MAX_OPTIONS, what);
		if ((st = rd_cstring(&r, what, &name, err)) != PJ_OK)
			return st;
		if (!rd_string(&r, &data, &datalen)) {
			free(name);
			return pj_fail(err, PJ_ERR_TOKEN, "certificate: %s data cut short", what);
		}
		count++;
		if (critical) {
			free(name);
			continue;
		}
		e = &c->extensions[c->n_extensions++];
		e->name = name;
		if (sshcert_extension(c, name) != e)
			return pj_fail(err, PJ_ERR_TOKEN, "certificate: extension %.64s appears twice", name);
		if (datalen == 0)
			continue;
		struct rd d = {data, datalen};
		if (!rd_string(&d, &inner, &innerlen) || d.left != 0)
			return pj_fail(err, PJ_ERR_TOKEN,
			               "certificate: extension %.64s: value is not one SSH string", name);
		if ((e->value = malloc(innerlen + 1)) == NULL)
			return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
		memcpy(e->value, inner, innerlen);
		e->value[innerlen] = '\0';
		e->value_len = innerlen;
	}
	return PJ_OK;
}

static pj_status read_key(struct rd *r, const struct cert_kind *kind, struct sshcert *c, struct pj_error *err)
{
	switch (kind->layout) {
	case LAYOUT_ECDSA_P256: return read_ecdsa_p256(r, c, err);
	case LAYOUT_ED25519: return read_ed25519(r, c, err);
	case LAYOUT_RSA: return read_rsa(r, c, err);
	}
	return pj_fail(err, PJ_ERR_TOKEN, "certificate: unknown key layout");
}

/* Whether the signature key blob is the certified key itself: string plain_type, then the same key
 * fields, byte for byte, as they stand in the certificate. */
static bool is_self_signed(const struct sshcert *c, const unsigned char *fields, size_t fields_len)
{
	size_t tlen = strlen(c->plain_type);

	return c->ca_blob_len == 4 + tlen + fields_len && c->ca_blob[0] == 0 && c->ca_blob[1] == 0 &&
	       ((size_t)c->ca_blob[2] << 8 | c->ca_blob[3]) == tlen &&
	       memcmp(c->ca_blob + 4, c->plain_type, tlen) == 0 &&
	       memcmp(c->ca_blob + 4 + tlen, fields, fields_len) == 0;
}

/* A key type name as it may stand in an authorized_keys line: 1..64 of [A-Za-z0-9@._-] (found by
 * fuzz_sshcert: a space in it would split the line). */
static bool key_type_name_ok(const unsigned char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '@' || s[i] == '.' || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

pj_status sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *out, struct pj_error *err)
{
	struct rd r = {blob, len}, ca;
	const struct cert_kind *kind = NULL;
	const unsigned char *type, *nonce, *fields, *lst, *crit, *ext, *reserved, *sigkey, *sig, *catype;
	size_t typelen, noncelen, listlen, critlen, extlen, reservedlen, sigkeylen, siglen, catypelen;
	pj_status st;

	memset(out, 0, sizeof(*out));
	if (len > SSHCERT_MAX_BLOB)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: %zu bytes, more than %d", len,
		               SSHCERT_MAX_BLOB);
	if (!rd_string(&r, &type, &typelen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: no key type");
	for (size_t i = 0; i < sizeof(cert_kinds) / sizeof(cert_kinds[0]); i++)
		if (strlen(cert_kinds[i].type) == typelen && memcmp(cert_kinds[i].type, type, typelen) == 0)
			kind = &cert_kinds[i];
	if (kind == NULL)
		return pj_fail(
		    err, PJ_ERR_TOKEN,
		    "not an ecdsa-sha2-nistp256, ssh-ed25519 or ssh-rsa certificate (a plain key, or "
		    "another type)");
	out->type = kind->type;
	out->plain_type = kind->plain_type;
	if (!rd_string(&r, &nonce, &noncelen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: cut short");
	fields = r.p;
	if ((st = read_key(&r, kind, out, err)) != PJ_OK)
		return st;
	size_t fields_len = (size_t)(r.p - fields);
	if (!rd_u64(&r, &out->serial) || !rd_u32(&r, &out->cert_type))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: cut short");
	if ((st = rd_cstring(&r, "key id", &out->key_id, err)) != PJ_OK)
		return st;
	if (!rd_string(&r, &lst, &listlen) || !rd_u64(&r, &out->valid_after) ||
	    !rd_u64(&r, &out->valid_before) || !rd_string(&r, &crit, &critlen) ||
	    !rd_string(&r, &ext, &extlen) || !rd_string(&r, &reserved, &reservedlen) ||
	    !rd_string(&r, &sigkey, &sigkeylen) || !rd_string(&r, &sig, &siglen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: cut short");
	if (r.left != 0)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: %zu bytes after the signature", r.left);
	if ((st = read_principals(lst, listlen, out, err)) != PJ_OK ||
	    (st = read_options(crit, critlen, true, out, err)) != PJ_OK ||
	    (st = read_options(ext, extlen, false, out, err)) != PJ_OK)
		return st;
	ca = (struct rd){sigkey, sigkeylen};
	if (sigkeylen == 0 || !rd_string(&ca, &catype, &catypelen) || !key_type_name_ok(catype, catypelen))
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: bad signature key");
	if ((out->ca_type = strndup((const char *)catype, catypelen)) == NULL ||
	    (out->ca_blob = malloc(sigkeylen)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	memcpy(out->ca_blob, sigkey, sigkeylen);
	out->ca_blob_len = sigkeylen;
	out->self_signed = is_self_signed(out, fields, fields_len);
	return PJ_OK;
}

pj_status sshcert_parse_text(const char *type, const char *b64, struct sshcert *out, struct pj_error *err)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *blob = NULL;
	int got;
	pj_status st;

	memset(out, 0, sizeof(*out));
	/* strict standard base64 with padding, as sshd prints %k */
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > SSHCERT_MAX_BLOB)
		return pj_fail(err, PJ_ERR_TOKEN, "certificate: not base64 of at most %d bytes",
		               SSHCERT_MAX_BLOB);
	for (size_t i = 0; i < n; i++) {
		char ch = b64[i];
		bool alpha = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		             (ch >= '0' && ch <= '9') || ch == '+' || ch == '/';
		if (ch == '=' && i >= n - 2 && (i == n - 1 || b64[n - 1] == '='))
			pad++;
		else if (!alpha || pad > 0)
			return pj_fail(err, PJ_ERR_TOKEN, "certificate: not base64");
	}
	if ((blob = malloc(n / 4 * 3 + 1)) == NULL)
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	if ((got = EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n)) < 0 || (size_t)got < pad) {
		st = pj_fail(err, PJ_ERR_TOKEN, "certificate: not base64");
		goto out;
	}
	if ((st = sshcert_parse(blob, (size_t)got - pad, out, err)) != PJ_OK)
		goto out;
	if (strcmp(type, out->type) != 0)
		st = pj_fail(err, PJ_ERR_TOKEN, "certificate: sshd says type %.64s, the blob says %s", type,
		             out->type);
out:
	free(blob);
	return st;
}

const struct sshcert_ext *sshcert_extension(const struct sshcert *c, const char *name)
{
	for (size_t i = 0; i < c->n_extensions; i++)
		if (strcmp(c->extensions[i].name, name) == 0)
			return &c->extensions[i];
	return NULL;
}

char *sshcert_ca_key_text(const struct sshcert *c)
{
	size_t tlen = strlen(c->ca_type), blen = 4 * ((c->ca_blob_len + 2) / 3);
	char *out = malloc(tlen + 1 + blen + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, c->ca_type, tlen);
	out[tlen] = ' ';
	EVP_EncodeBlock((unsigned char *)out + tlen + 1, c->ca_blob, (int)c->ca_blob_len);
	return out;
}

void sshcert_free(struct sshcert *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	free(c->key_id);
	if (c->principals != NULL)
		for (size_t i = 0; i < c->n_principals; i++)
			free(c->principals[i]);
	free(c->principals);
	for (size_t i = 0; i < c->n_extensions; i++) {
		free(c->extensions[i].name);
		free(c->extensions[i].value);
	}
	free(c->extensions);
	free(c->ca_blob);
	free(c->ca_type);
	memset(c, 0, sizeof(*c));
}
