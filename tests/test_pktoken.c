/* test_pktoken.c: the pieces behind opkssh logins: Go's JSON form, the certificate parser, the PK Token. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/json_go.h"
#include "pam_jwt/json_strict.h"
#include "pam_jwt/pktoken.h"
#include "pam_jwt/sshcert.h"
#include "tap.h"
#include "testkit.h"

/* ---- json_go ---- */

/* Go's json.Marshal of text parsed as a map, or NULL when refused (reason in why). */
static char *go(const char *text, char *why, size_t whylen)
{
	json_object *obj = NULL;
	struct pj_error err;
	char *out = NULL;
	size_t len;

	why[0] = '\0';
	if (json_strict_parse_object(text, strlen(text), 16, &obj, &err) != PJ_OK ||
	    json_go_marshal(obj, &out, &len, &err) != PJ_OK)
		snprintf(why, whylen, "%s", err.reason);
	json_object_put(obj);
	return out;
}

static void test_json_go(void)
{
	char why[PJ_REASON_MAX], *s;

	s = go("{ \"b\" : 1, \"a\" : {\"d\": true, \"c\": null, \"B\": [1, \"x\", false]} }", why,
	       sizeof(why));
	ok(s && strcmp(s, "{\"a\":{\"B\":[1,\"x\",false],\"c\":null,\"d\":true},\"b\":1}") == 0,
	   "json_go: keys sorted by byte (B before c), nested, compact (%s)", s ? s : why);
	free(s);
	s = go("{\"k\":\"<a&b>\\\"\\\\/ \\u2028x\\u2029\\u00e9\"}", why, sizeof(why));
	ok(s && strcmp(s, "{\"k\":\"\\u003ca\\u0026b\\u003e\\\"\\\\/ \\u2028x\\u2029\xc3\xa9\"}") == 0,
	   "json_go: Go's escapes: < & > as \\u003c \\u0026 \\u003e, \\\" \\\\, U+2028/9; / and e-acute as "
	   "is (%s)",
	   s ? s : why);
	free(s);
	s = go("{\"<k>\":-9007199254740992}", why, sizeof(why));
	ok(s && strcmp(s, "{\"\\u003ck\\u003e\":-9007199254740992}") == 0,
	   "json_go: keys escaped too; -2^53 kept");
	free(s);
	s = go("{\"k\":\"a\\nb\"}", why, sizeof(why));
	ok(s == NULL && strstr(why, "control character"), "json_go: a control character is refused (%s)",
	   why);
	free(s);
	s = go("{\"k\":1.5}", why, sizeof(why));
	ok(s == NULL && strstr(why, "not an integer"), "json_go: a fraction is refused (%s)", why);
	free(s);
	s = go("{\"k\":9007199254740993}", why, sizeof(why));
	ok(s == NULL && strstr(why, "2^53"), "json_go: an integer beyond 2^53 is refused (%s)", why);
	free(s);
}

/* A real PK Token's CIC and nonce, from openpubkey's documentation (openpubkey/openpubkey, docs/pktoken.md,
 * "Nonce-Commitment PK Token - Google Example": a Google ID token extended by openpubkey's client). Only
 * the CIC protected header and the payload's nonce are used: the commitment must open exactly as the Go
 * client made it. The header is written here in another member order and spacing on purpose. */
static void test_real_commitment(void)
{
	static const char cic[] = "{\"upk\": {\"y\": \"Whl5jJUIz7ujFvlB5Hzhaz6DIlpyWQmIIA3J7VMj53o\", \"x\": "
	                          "\"cvqyUFNs1OUdRcDSmzJfS7ynuTHAjlDqoeinCZy_r1Q\", \"kty\": \"EC\", "
	                          "\"crv\": \"P-256\", \"alg\": \"ES256\"},"
	                          " \"typ\": \"CIC\", \"rz\": "
	                          "\"b9522b5c4cff90687ec6787236184659e077a619b82827227114108440fec26a\", "
	                          "\"alg\": \"ES256\"}";
	unsigned char digest[32];
	unsigned int dlen = 0;
	char why[PJ_REASON_MAX], *s, *b64 = NULL;

	s = go(cic, why, sizeof(why));
	if (s != NULL && EVP_Digest(s, strlen(s), digest, &dlen, EVP_sha3_256(), NULL) == 1)
		b64 = b64url_encode(digest, dlen);
	ok(b64 && strcmp(b64, "fsTLlOIUqtJHomMB2t6HymoAqJi-wORIFtg3y8c65VY") == 0,
	   "a real PK Token (openpubkey docs, Google): base64url(SHA3-256(Go JSON of its CIC)) is its nonce");
	free(s);
	free(b64);
}

/* ---- sshcert: certificates written field by field ---- */

struct wbuf {
	unsigned char b[4096];
	size_t n;
};

static void w_u32(struct wbuf *w, uint32_t v)
{
	w->b[w->n++] = (unsigned char)(v >> 24);
	w->b[w->n++] = (unsigned char)(v >> 16);
	w->b[w->n++] = (unsigned char)(v >> 8);
	w->b[w->n++] = (unsigned char)v;
}

static void w_bytes(struct wbuf *w, const void *p, size_t n)
{
	w_u32(w, (uint32_t)n);
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void w_str(struct wbuf *w, const char *s)
{
	w_bytes(w, s, strlen(s));
}

static void w_buf(struct wbuf *w, const struct wbuf *inner)
{
	w_bytes(w, inner->b, inner->n);
}

struct cert_spec {
	uint32_t type;   /* 1 user, 2 host */
	const char *pkt; /* openpubkey-pkt value, NULL: none */
	bool other_ca;   /* signed by another key */
	bool flat_value; /* the extension's value not wrapped in a nested string */
	bool twice;      /* the extension twice */
	const char *principals[3];
	const char *ca_type; /* the signature key's type name; NULL: ssh-ed25519 */
};

/* An ssh-ed25519 certificate as ssh-keygen writes one. */
static void make_cert(const struct cert_spec *c, struct wbuf *out)
{
	static const unsigned char pk[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
	                                     17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	unsigned char other[32];
	struct wbuf pr = {.n = 0}, ext = {.n = 0}, val = {.n = 0}, ca = {.n = 0}, sig = {.n = 0};

	memcpy(other, pk, sizeof(other));
	other[0] = 99;
	out->n = 0;
	w_str(out, "ssh-ed25519-cert-v01@openssh.com");
	w_str(out, "nonce-nonce-nonce-nonce-nonce-nn");
	w_bytes(out, pk, sizeof(pk));
	w_u32(out, 0), w_u32(out, 7); /* serial */
	w_u32(out, c->type);
	w_str(out, "key id");
	for (int i = 0; i < 3 && c->principals[i]; i++)
		w_str(&pr, c->principals[i]);
	w_buf(out, &pr);
	w_u32(out, 0), w_u32(out, 0);                   /* valid after */
	w_u32(out, 0xffffffff), w_u32(out, 0xffffffff); /* valid before */
	w_u32(out, 0);                                  /* critical options */
	w_str(&ext, "openpubkey-pkt-not-this");
	w_u32(&ext, 0);
	if (c->pkt != NULL) {
		for (int i = 0; i < (c->twice ? 2 : 1); i++) {
			w_str(&ext, "openpubkey-pkt");
			val.n = 0;
			if (c->flat_value) {
				memcpy(val.b, c->pkt, strlen(c->pkt));
				val.n = strlen(c->pkt);
			} else {
				w_str(&val, c->pkt);
			}
			w_buf(&ext, &val);
		}
	}
	w_str(&ext, "permit-pty");
	w_u32(&ext, 0);
	w_buf(out, &ext);
	w_u32(out, 0); /* reserved */
	w_str(&ca, c->ca_type ? c->ca_type : "ssh-ed25519");
	w_bytes(&ca, c->other_ca ? other : pk, 32);
	w_buf(out, &ca);
	w_str(&sig, "ssh-ed25519");
	w_bytes(&sig, pk, 32); /* 32 of the 64 bytes: nothing here checks it */
	w_buf(out, &sig);
}

static pj_status parse(const struct wbuf *w, struct sshcert *c, char *why, size_t whylen)
{
	struct pj_error err;
	pj_status r = sshcert_parse(w->b, w->n, c, &err);

	snprintf(why, whylen, "%s", r == PJ_OK ? "" : err.reason);
	return r;
}

static void test_sshcert(void)
{
	struct cert_spec good = {
	    SSHCERT_TYPE_USER, "PKT", false, false, false, {"opkssh-wildcard", "alice", NULL}, NULL};
	struct cert_spec spec;
	struct wbuf w;
	struct sshcert c;
	const struct sshcert_ext *e;
	struct pj_error err;
	char why[PJ_REASON_MAX], *text, *b64;
	bool all_refused = true;

	make_cert(&good, &w);
	ok(parse(&w, &c, why, sizeof(why)) == PJ_OK, "sshcert: an ed25519 user certificate parses (%s)", why);
	e = sshcert_extension(&c, "openpubkey-pkt");
	ok(e && e->value_len == 3 && memcmp(e->value, "PKT", 3) == 0,
	   "sshcert: openpubkey-pkt's nested string");
	ok(c.cert_type == SSHCERT_TYPE_USER && c.n_principals == 2 && strcmp(c.principals[1], "alice") == 0 &&
	       c.self_signed && strcmp(c.plain_type, "ssh-ed25519") == 0 && c.serial == 7,
	   "sshcert: type, principals, serial, self-signed");
	text = sshcert_ca_key_text(&c);
	ok(text && strncmp(text, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQF", 44) == 0,
	   "sshcert: the CA key as an authorized_keys key (%.44s)", text ? text : "-");
	free(text);
	sshcert_free(&c);

	for (size_t n = 0; n < w.n; n++) {
		struct wbuf cut = w;

		cut.n = n;
		if (sshcert_parse(cut.b, cut.n, &c, &err) == PJ_OK)
			all_refused = false;
		sshcert_free(&c);
	}
	ok(all_refused, "sshcert: each of the %zu shorter prefixes is refused", w.n);
	w.b[w.n++] = 0;
	ok(parse(&w, &c, why, sizeof(why)) != PJ_OK && strstr(why, "after the signature"),
	   "sshcert: a byte after the signature is refused (%s)", why);
	sshcert_free(&c);

	spec = good;
	spec.twice = true;
	make_cert(&spec, &w);
	ok(parse(&w, &c, why, sizeof(why)) != PJ_OK && strstr(why, "appears twice"),
	   "sshcert: openpubkey-pkt twice is refused (%s)", why);
	sshcert_free(&c);
	spec = good;
	spec.flat_value = true;
	spec.pkt = "eyJhbGciOiJFUzI1NiJ9";
	make_cert(&spec, &w);
	ok(parse(&w, &c, why, sizeof(why)) != PJ_OK && strstr(why, "not one SSH string"),
	   "sshcert: an extension value that is not a nested string is refused (%s)", why);
	sshcert_free(&c);
	spec = good;
	spec.other_ca = true;
	spec.type = SSHCERT_TYPE_HOST;
	make_cert(&spec, &w);
	ok(parse(&w, &c, why, sizeof(why)) == PJ_OK && !c.self_signed && c.cert_type == SSHCERT_TYPE_HOST,
	   "sshcert: a host certificate signed by another key parses as such (opkssh.c refuses it)");
	sshcert_free(&c);

	spec = good;
	spec.ca_type = "ssh-ed25519 AAAA";
	make_cert(&spec, &w);
	ok(parse(&w, &c, why, sizeof(why)) != PJ_OK && strstr(why, "bad signature key"),
	   "sshcert: a signature key type with a space (it would split the authorized_keys line) is refused "
	   "(%s)",
	   why);
	sshcert_free(&c);

	make_cert(&good, &w);
	b64 = malloc(4 * (w.n / 3 + 1) + 1);
	EVP_EncodeBlock((unsigned char *)b64, w.b, (int)w.n);
	ok(sshcert_parse_text("ssh-ed25519-cert-v01@openssh.com", b64, &c, &err) == PJ_OK,
	   "sshcert: from sshd's %%t and %%k");
	sshcert_free(&c);
	ok(sshcert_parse_text("ecdsa-sha2-nistp256-cert-v01@openssh.com", b64, &c, &err) != PJ_OK,
	   "sshcert: %%t must be the blob's type (%s)", err.reason);
	sshcert_free(&c);
	b64[5] = '*';
	ok(sshcert_parse_text("ssh-ed25519-cert-v01@openssh.com", b64, &c, &err) != PJ_OK,
	   "sshcert: %%k that is not base64 is refused (%s)", err.reason);
	sshcert_free(&c);
	free(b64);
	ok(sshcert_parse_text("ssh-ed25519",
	                      "AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g", &c,
	                      &err) != PJ_OK &&
	       strstr(err.reason, "plain key"),
	   "sshcert: a plain key is not a certificate (%s)", err.reason);
	sshcert_free(&c);
}

/* ---- pktoken: the compact form's rules, before any key is needed ---- */

static char *seg(const char *json)
{
	return b64url_encode((const unsigned char *)json, strlen(json));
}

static void pkt_refused(const struct pj_config *cfg, EVP_PKEY *key, const char *pkt, const char *want,
                        const char *what)
{
	struct pj_identity id;
	struct pj_error err;
	pj_status r = pktoken_verify(cfg, NULL, pkt, strlen(pkt), key, 1700000000, &id, &err);

	ok(r != PJ_OK && strstr(err.reason, want) != NULL, "pktoken: %s (%s)", what, err.reason);
	pj_identity_free(&id);
}

/* The parts of test PK Tokens, by letter: P payload, O an OP header, C a CIC header, S a COS header, G a
 * GQ256 OP header, X a header of unknown typ, J a header that is JSON but no object, s a signature; anything
 * else stands for itself. */
static const struct form_case {
	const char *shape, *want, *what;
} form_cases[] = {
    {"P:O:s", "3 \":\"-separated parts", "three parts are refused"},
    {"P:O:s:C:s:S:s:S:s", "more than 7", "nine parts are refused"},
    {"P:O:s:C:s:S:s", "ID token: issuer t", "seven parts (a COS) get as far as the OP's keys"},
    {"P:C:s:C:s", "0 OP signatures", "no OP signature is refused"},
    {"P:O:s:O:s", "2 OP signatures", "two OP signatures are refused"},
    {"P:O:s:S:s", "0 CIC signatures", "no CIC signature is refused"},
    {"P:O:s:C:s:C:s", "2 CIC signatures", "two CIC signatures are refused"},
    {"P:X:s:C:s", "typ XYZ", "an unknown typ is refused"},
    {"P:G:s:C:s", "GQ256", "a GQ256 OP signature is refused as not supported"},
    {"P:O:s:C:s.a.b", "refreshed ID token", "a refreshed ID token of two segments is refused"},
    {"P:O:c2l*:C:s", "not base64url", "a part out of the base64url alphabet is refused"},
    {"P:O:s:J:s", "protected header 2: invalid JSON",
     "a protected header that is not a JSON object is refused"},
};

static void test_pktoken_form(void)
{
	static const char conf[] =
	    "[issuer t]\nissuer = https://t.example\naudience = a\njwks_file = /nonexistent\n"
	    "algorithms = ES256\nopkssh_client_id = c\n";
	static const char *const headers[][2] = {
	    {"P", "{\"iss\":\"https://t.example\"}"},
	    {"O", "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"},
	    {"C", "{\"alg\":\"ES256\",\"typ\":\"CIC\"}"},
	    {"S", "{\"alg\":\"ES256\",\"typ\":\"COS\"}"},
	    {"G", "{\"alg\":\"GQ256\",\"typ\":\"JWT\"}"},
	    {"X", "{\"typ\":\"XYZ\"}"},
	    {"J", "[1]"},
	};
	struct pj_config *cfg = NULL;
	struct pj_error err;
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char buf[2048];

	if (config_parse("test", conf, sizeof(conf) - 1, &cfg, &err) != PJ_OK || key == NULL) {
		ok(0, "pktoken: test configuration: %s", err.reason);
		goto out;
	}
	for (size_t i = 0; i < sizeof(form_cases) / sizeof(form_cases[0]); i++) {
		size_t n = 0;

		for (const char *c = form_cases[i].shape; *c; c++) {
			const char *part = NULL;
			char *enc = NULL;

			for (size_t h = 0; h < sizeof(headers) / sizeof(headers[0]); h++)
				if (*c == headers[h][0][0])
					part = enc = seg(headers[h][1]);
			if (*c == 's')
				part = "c2ln";
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%.*s", part ? (int)strlen(part) : 1,
			                      part ? part : c);
			free(enc);
		}
		pkt_refused(cfg, key, buf, form_cases[i].want, form_cases[i].what);
	}
out:
	config_free(cfg);
	EVP_PKEY_free(key);
}

/* ---- pktoken: signed PK Tokens, the rules after the OP's signature ---- */

#define PK_NOW 1700000000LL

/* One signed PK Token: the OP's ID token (ES256, kid "op") and the CIC signed by the user's key. Members
 * left NULL take the good value; "-" leaves a claim out. */
struct pk_spec {
	const char *iss, *aud, *sub, *iat, *exp, *nbf;
	const char *cic;     /* the CIC header's members but upk; NULL: alg ES256, rz, typ CIC */
	const char *upk_alg; /* upk's alg; NULL: ES256 */
	bool upk_string;     /* upk a string, not a JWK */
	bool wrong_nonce;    /* a nonce that is not the commitment */
	bool cic_by_other;   /* the CIC signed by another key than upk */
};

struct pk_keys {
	EVP_PKEY *op, *user, *other;
};

static void member(char *buf, size_t len, size_t *n, const char *name, const char *value, const char *dflt)
{
	const char *v = value != NULL ? value : dflt;

	if (strcmp(v, "-") != 0)
		*n += (size_t)snprintf(buf + *n, len - *n, "%s\"%s\":%s", *n > 1 ? "," : "", name, v);
}

/* base64url(SHA3-256(Go's JSON of header)), as the OP's nonce commits to it. */
static char *commitment(const char *header)
{
	unsigned char digest[32];
	unsigned int dlen = 0;
	char why[PJ_REASON_MAX], *go_json = go(header, why, sizeof(why)), *out = NULL;

	if (go_json != NULL && EVP_Digest(go_json, strlen(go_json), digest, &dlen, EVP_sha3_256(), NULL) == 1)
		out = b64url_encode(digest, dlen);
	free(go_json);
	return out;
}

/* "payload:protOP:sigOP:protCIC:sigCIC" (a compact JWS split at its dots gives the parts). */
static char *make_pk(const struct pk_keys *k, const struct pk_spec *c)
{
	char payload[1024], iat[32], exp[32], *upk, *cic, *nonce, *op_jws, *cic_jws, *out, *d1, *d2, *c1;
	size_t n = 1;

	upk = tk_jwk_json(k->user, NULL, c->upk_alg ? c->upk_alg : "ES256", NULL);
	cic = tk_strf("{%s,\"upk\":%s}", c->cic ? c->cic : "\"alg\":\"ES256\",\"rz\":\"r1\",\"typ\":\"CIC\"",
	              c->upk_string ? "\"upk\"" : upk);
	nonce = c->wrong_nonce ? strdup("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") : commitment(cic);
	snprintf(iat, sizeof(iat), "%lld", PK_NOW - 60);
	snprintf(exp, sizeof(exp), "%lld", PK_NOW + 300);
	payload[0] = '{';
	member(payload, sizeof(payload), &n, "iss", c->iss, "\"https://t.example\"");
	member(payload, sizeof(payload), &n, "aud", c->aud, "\"c\"");
	member(payload, sizeof(payload), &n, "sub", c->sub, "\"s-alice\"");
	member(payload, sizeof(payload), &n, "iat", c->iat, iat);
	member(payload, sizeof(payload), &n, "exp", c->exp, exp);
	member(payload, sizeof(payload), &n, "nbf", c->nbf, "-");
	n += (size_t)snprintf(payload + n, sizeof(payload) - n, ",\"nonce\":\"%s\"}", nonce ? nonce : "");
	op_jws = tk_sign(JWS_ES256, k->op, "{\"alg\":\"ES256\",\"kid\":\"op\",\"typ\":\"JWT\"}", payload);
	cic_jws = tk_sign(JWS_ES256, c->cic_by_other ? k->other : k->user, cic, payload);
	/* op_jws = H.P.S, cic_jws = C.P.T: the PK Token is P:H:S:C:T */
	d1 = strchr(op_jws, '.');
	d2 = strchr(d1 + 1, '.');
	c1 = strchr(cic_jws, '.');
	out = tk_strf("%.*s:%.*s:%s:%.*s:%s", (int)(d2 - d1 - 1), d1 + 1, (int)(d1 - op_jws), op_jws, d2 + 1,
	              (int)(c1 - cic_jws), cic_jws, strrchr(cic_jws, '.') + 1);
	free(upk);
	free(cic);
	free(nonce);
	free(op_jws);
	free(cic_jws);
	return out;
}

static const struct pk_case {
	struct pk_spec spec;
	const char *want, *what;
} pk_cases[] = {
    {{.iss = "\"https://nobody.example\""}, "iss is not a configured issuer", "an unknown iss is refused"},
    {{.iss = "\"https://n.example\""}, "takes no opkssh certificates", "an issuer without opkssh_client_id"},
    {{.aud = "\"d\""}, "aud is not opkssh_client_id of issuer t", "another aud is refused"},
    {{.aud = "[\"d\",1]"}, "not a string", "an aud array holding a number is refused"},
    {{.aud = "\"o-client\""}, "opkssh_client_id of issuer o, not of issuer t", "another issuer's client id"},
    {{.sub = "\"\""}, "sub is missing", "an empty sub is refused"},
    {{.sub = "-"}, "sub is missing", "no sub is refused"},
    {{.iat = "-"}, "no iat claim", "no iat is refused (opkssh_expiration 24h)"},
    {{.iat = "1700001000"}, "iat is in the future", "an iat beyond the leeway is refused"},
    {{.iat = "1699900000"}, "expired by opkssh_expiration", "an iat older than 24h is refused"},
    {{.nbf = "1700001000"}, "not yet valid (nbf)", "an nbf beyond the leeway is refused"},
    {{.nbf = "\"x\""}, "nbf is not a number", "a string nbf is refused"},
    {{.iss = "\"https://o.example\"", .aud = "\"o-client\"", .exp = "1699999000"},
     "expired (exp, opkssh_expiration oidc)",
     "opkssh_expiration oidc: an exp past is refused"},
    {{.iss = "\"https://o.example\"", .aud = "\"o-client\"", .exp = "-"},
     "no exp claim",
     "opkssh_expiration oidc: no exp is refused"},
    {{.cic = "\"alg\":\"ES384\",\"rz\":\"r1\",\"typ\":\"CIC\""},
     "CIC: alg ES384 is not",
     "a CIC alg other than ES256, EdDSA, RS256 is refused"},
    {{.cic = "\"alg\":\"ES256\",\"typ\":\"CIC\""}, "CIC: rz is missing", "a CIC without rz"},
    {{.cic = "\"alg\":\"ES256\",\"rz\":\"\",\"typ\":\"CIC\""},
     "CIC: rz is missing",
     "a CIC with an empty rz"},
    {{.cic = "\"alg\":\"ES256\",\"crit\":[\"x\"],\"rz\":\"r1\",\"typ\":\"CIC\""},
     "CIC: crit is not supported",
     "a CIC with crit is refused"},
    {{.upk_string = true}, "CIC: upk is missing or not an object", "a CIC whose upk is not an object"},
    {{.upk_alg = "RS256"}, "CIC: upk.alg is not the CIC's alg ES256", "upk.alg other than the CIC's alg"},
    {{.wrong_nonce = true}, "nonce is not the commitment", "a nonce that is not the commitment"},
    {{.cic_by_other = true}, "CIC signature: ", "a CIC signed by another key than upk"},
};

static void test_pktoken_signed(void)
{
	char dir[] = "/tmp/test_pktoken.XXXXXX", *jwk, *jwks, *conf = NULL, *pk;
	struct pk_keys k = {tk_keygen(JWS_ES256), tk_keygen(JWS_ES256), tk_keygen(JWS_ES256)};
	struct pk_spec far = {.nbf = "-9223372036854775808"}, oidc_far = {.iss = "\"https://o.example\"",
	                                                                  .aud = "\"o-client\"",
	                                                                  .exp = "9223372036854775807"};
	struct pj_config *cfg = NULL;
	struct pj_identity id;
	struct pj_error err;
	pj_status r;

	if (mkdtemp(dir) == NULL || k.op == NULL || k.user == NULL || k.other == NULL) {
		ok(0, "pktoken: test keys and directory");
		goto out;
	}
	jwk = tk_jwk_json(k.op, "op", "ES256", NULL);
	jwks = tk_strf("{\"keys\":[%s]}", jwk);
	tk_write_file(tk_path(dir, "op.jwks"), jwks, 0644);
	free(jwks);
	free(jwk);
	conf = tk_strf("[issuer t]\nissuer = https://t.example\naudience = a\njwks_file = %s\n"
	               "algorithms = ES256\nopkssh_client_id = c\n"
	               "[issuer o]\nissuer = https://o.example\naudience = a\njwks_file = %s\n"
	               "algorithms = ES256\nopkssh_client_id = o-client\nopkssh_expiration = oidc\n"
	               "[issuer n]\nissuer = https://n.example\naudience = a\njwks_file = %s\n"
	               "algorithms = ES256\n",
	               tk_path(dir, "op.jwks"), tk_path(dir, "op.jwks"), tk_path(dir, "op.jwks"));
	if (config_parse("test", conf, strlen(conf), &cfg, &err) != PJ_OK) {
		ok(0, "pktoken: test configuration: %s", err.reason);
		goto out;
	}
	pk = make_pk(&k, &(struct pk_spec){0});
	r = pktoken_verify(cfg, NULL, pk, strlen(pk), k.user, (time_t)PK_NOW, &id, &err);
	ok(r == PJ_OK && id.issuer == &cfg->issuers[0] && strcmp(id.sub, "s-alice") == 0 &&
	       id.exp == PK_NOW - 60 + 86400,
	   "pktoken: a good PK Token is accepted, good for 24h after iat (%s)", r == PJ_OK ? "" : err.reason);
	pj_identity_free(&id);
	pkt_refused(cfg, k.other, pk, "the certificate's key is not the PK Token's upk",
	            "a good PK Token for another key is refused");
	free(pk);
	for (size_t i = 0; i < sizeof(pk_cases) / sizeof(pk_cases[0]); i++) {
		pk = make_pk(&k, &pk_cases[i].spec);
		pkt_refused(cfg, k.user, pk, pk_cases[i].want, pk_cases[i].what);
		free(pk);
	}
	/* claims at the ends of int64: compared without overflow (the leeway moves to the side of now) */
	pk = make_pk(&k, &far);
	r = pktoken_verify(cfg, NULL, pk, strlen(pk), k.user, (time_t)PK_NOW, &id, &err);
	ok(r == PJ_OK, "pktoken: nbf at the least int64 is long past (%s)", r == PJ_OK ? "" : err.reason);
	pj_identity_free(&id);
	free(pk);
	pk = make_pk(&k, &oidc_far);
	r = pktoken_verify(cfg, NULL, pk, strlen(pk), k.user, (time_t)PK_NOW, &id, &err);
	ok(r == PJ_OK && id.exp == INT64_MAX,
	   "pktoken: opkssh_expiration oidc, exp at the largest int64 (%s)", r == PJ_OK ? "" : err.reason);
	pj_identity_free(&id);
	free(pk);
out:
	if (dir[sizeof(dir) - 7] != 'X') {
		unlink(tk_path(dir, "op.jwks"));
		rmdir(dir);
	}
	free(conf);
	config_free(cfg);
	EVP_PKEY_free(k.op);
	EVP_PKEY_free(k.user);
	EVP_PKEY_free(k.other);
}

int main(void)
{
	test_json_go();
	test_real_commitment();
	test_sshcert();
	test_pktoken_form();
	test_pktoken_signed();
	return tap_done();
}
