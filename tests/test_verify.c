/* test_verify.c: end-to-end verification of minted tokens through pj_verify, one negative test per rule. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pam_jwt/b64url.h"
#include "pam_jwt/claims.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/identity.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/keystore.h"
#include "tap.h"
#include "testkit.h"
#include "pam_jwt/verify.h"

static char dir[] = "/tmp/pj_verify_XXXXXX";
static struct pj_config *cfg;
static EVP_PKEY *keys[JWS_ALG_COUNT]; /* main issuer: one key per alg, kid = alg name */
static EVP_PKEY *other_rsa, *attacker_rsa, *nokid_rsa, *weak_rsa, *twin_a, *twin_b;
static time_t now;

#define ISS       "https://idp.example.com"
#define OTHER_ISS "https://other.example.com"

/* dir/name, mode 0644 (testkit aborts when it cannot). */
static void write_file(const char *name, const char *text)
{
	char *path = tk_strf("%s/%s", dir, name);

	tk_write_file(path, text, 0644);
	free(path);
}

static void write_jwks(const char *name, int n, char **jwks)
{
	size_t total = 32;
	char *doc;

	for (int i = 0; i < n; i++)
		total += strlen(jwks[i]) + 2;
	doc = calloc(1, total);
	strcat(doc, "{\"keys\":[");
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(doc, ",");
		strcat(doc, jwks[i]);
		free(jwks[i]);
	}
	strcat(doc, "]}");
	write_file(name, doc);
	free(doc);
}

static void setup(void)
{
	char *main_keys[JWS_ALG_COUNT], *config;
	struct pj_error err;

	if (mkdtemp(dir) == NULL)
		exit(1);
	now = time(NULL);
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		const char *name = jws_alg_by_id((enum jws_alg_id)a)->name;
		keys[a] = tk_keygen((enum jws_alg_id)a);
		main_keys[a] = tk_jwk_json(keys[a], name, name, "\"use\":\"sig\"");
	}
	write_jwks("main.jwks", JWS_ALG_COUNT, main_keys);

	other_rsa = tk_keygen(JWS_RS256);
	attacker_rsa = tk_keygen(JWS_RS256);
	nokid_rsa = tk_keygen(JWS_RS256);
	weak_rsa = tk_keygen_rsa(1024);
	twin_a = tk_keygen(JWS_RS256);
	twin_b = tk_keygen(JWS_RS256);
	write_jwks("other.jwks", 1, (char *[]){tk_jwk_json(other_rsa, "other-key", NULL, NULL)});
	write_jwks("nokid.jwks", 2,
	           (char *[]){tk_jwk_json(nokid_rsa, NULL, NULL, NULL),
	                      tk_jwk_json(keys[JWS_ES256], NULL, NULL, NULL)});
	write_jwks("twokeys.jwks", 2,
	           (char *[]){tk_jwk_json(twin_a, NULL, NULL, NULL), tk_jwk_json(twin_b, NULL, NULL, NULL)});
	write_jwks(
	    "dupkid.jwks", 2,
	    (char *[]){tk_jwk_json(twin_a, "same", NULL, NULL), tk_jwk_json(twin_b, "same", NULL, NULL)});
	write_jwks("weak.jwks", 1, (char *[]){tk_jwk_json(weak_rsa, "weak", NULL, NULL)});
	write_jwks("binding.jwks", 3,
	           (char *[]){tk_jwk_json(twin_a, "alg-rs512", "RS512", NULL),
	                      tk_jwk_json(twin_b, "use-enc", NULL, "\"use\":\"enc\""),
	                      tk_jwk_json(other_rsa, "ops-sign", NULL, "\"key_ops\":[\"sign\"]")});

	config =
	    tk_strf("# test configuration\n"
	            "[global]\nmax_token_size = 16384\n"
	            "[issuer main]\nissuer = " ISS "\naudience = pam-test second-aud\n"
	            "algorithms = RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA\n"
	            "jwks_file = %s/main.jwks\ngroups_claim = realm_access.roles\n"
	            "[issuer other]\nissuer = " OTHER_ISS "\naudience = pam-test\njwks_file = %s/other.jwks\n"
	            "[issuer rsonly]\nissuer = https://rsonly.example.com\naudience = pam-test\n"
	            "jwks_file = %s/main.jwks\n"
	            "[issuer xform]\nissuer = https://xform.example.com\naudience = pam-test\n"
	            "jwks_file = %s/main.jwks\nusername_claim = email\n"
	            "username_transform = lowercase strip_domain\nusername_domains = example.com\n"
	            "[issuer nokid]\nissuer = https://nokid.example.com\naudience = pam-test\n"
	            "algorithms = RS256 ES256\njwks_file = %s/nokid.jwks\n"
	            "[issuer twokeys]\nissuer = https://twokeys.example.com\naudience = pam-test\n"
	            "jwks_file = %s/twokeys.jwks\n"
	            "[issuer dupkid]\nissuer = https://dupkid.example.com\naudience = pam-test\n"
	            "jwks_file = %s/dupkid.jwks\n"
	            "[issuer weak]\nissuer = https://weak.example.com\naudience = pam-test\n"
	            "jwks_file = %s/weak.jwks\n"
	            "[issuer binding]\nissuer = https://binding.example.com\naudience = pam-test\n"
	            "jwks_file = %s/binding.jwks\n",
	            dir, dir, dir, dir, dir, dir, dir, dir, dir);
	if (config_parse("test.conf", config, strlen(config), &cfg, &err) != PJ_OK) {
		printf("Bail out! config: %s\n", err.reason);
		exit(1);
	}
	free(config);
}

/* A payload for the main issuer with user alice; extra members (JSON text, leading comma) appended. */
static char *payload(const char *extra)
{
	return tk_strf("{\"iss\":\"" ISS
	               "\",\"aud\":\"pam-test\",\"sub\":\"alice-sub\",\"exp\":%lld,\"iat\":%lld,"
	               "\"preferred_username\":\"alice\"%s}",
	               (long long)now + 300, (long long)now, extra ? extra : "");
}

static char *header(enum jws_alg_id a, const char *kid, const char *extra)
{
	return tk_strf("{\"alg\":\"%s\",\"typ\":\"JWT\"%s%s%s%s}", jws_alg_by_id(a)->name,
	               kid ? ",\"kid\":\"" : "", kid ? kid : "", kid ? "\"" : "", extra ? extra : "");
}

/* tk_sign that takes ownership of the header and payload texts. */
static char *sign_owned(enum jws_alg_id a, EVP_PKEY *key, char *hdr, char *pl)
{
	char *t = tk_sign(a, key, hdr, pl);

	free(hdr);
	free(pl);
	return t;
}

/* Verifies token as user (NULL: any) and checks the status and that the reason mentions want. */
static void expect(const char *token, const char *user, pj_status want, const char *reason, const char *desc)
{
	struct pj_identity id;
	struct pj_error err;
	pj_status got = pj_verify(cfg, NULL, token, strlen(token), user, now, &id, &err);
	bool good = got == want && (reason == NULL || strstr(err.reason, reason) != NULL);

	ok(good, "%s", desc);
	if (!good)
		tap_diag("got %s (%s), wanted %s (%s)", pj_status_name(got), err.reason, pj_status_name(want),
		         reason ? reason : "");
	pj_identity_free(&id);
}

/* Signs header/payload texts with the main key of alg, checks, frees both texts. */
static void expect_signed(enum jws_alg_id a, EVP_PKEY *key, char *hdr, char *pl, pj_status want,
                          const char *reason, const char *desc)
{
	char *token = tk_sign(a, key, hdr, pl);

	expect(token, "alice", want, reason, desc);
	free(token);
	free(hdr);
	free(pl);
}

static void test_all_algorithms(void)
{
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		const char *name = jws_alg_by_id((enum jws_alg_id)a)->name;
		char *desc = tk_strf("%s token accepted", name);
		expect_signed((enum jws_alg_id)a, keys[a], header((enum jws_alg_id)a, name, NULL),
		              payload(NULL), PJ_OK, NULL, desc);
		free(desc);
	}
}

static void test_input_shape(void)
{
	char *good = sign_owned(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "RS256", NULL), payload(NULL));
	char *t, *big;
	size_t n;

	t = tk_strf("%s.e30.e30", good);
	expect(t, "alice", PJ_ERR_TOKEN, "five segments", "JWE-shaped (five segments) refused");
	free(t);
	t = tk_strf("%s.e30", good);
	expect(t, "alice", PJ_ERR_TOKEN, "segments", "four segments refused");
	free(t);
	t = strdup(good);
	*strrchr(t, '.') = '\0';
	expect(t, "alice", PJ_ERR_TOKEN, "segments", "two segments refused");
	free(t);
	t = tk_strf("%s=", good);
	expect(t, "alice", PJ_ERR_TOKEN, NULL, "padding '=' refused");
	free(t);
	t = tk_strf("%s\n", good);
	expect(t, "alice", PJ_ERR_TOKEN, NULL, "trailing newline refused");
	free(t);
	t = tk_strf(" %s", good);
	expect(t, "alice", PJ_ERR_NOT_JWT, NULL, "leading whitespace is not a JWT");
	free(t);
	n = strlen(good);
	t = malloc(n + 2);
	memcpy(t, good, n + 1);
	memmove(t + 21, t + 20, n - 20 + 1);
	t[20] = ' ';
	expect(t, "alice", PJ_ERR_TOKEN, NULL, "whitespace inside refused");
	free(t);
	t = tk_strf("%s", good);
	n = strlen(t);
	/* RS256 signatures are 256 bytes: 342 characters with 4 unused bits in the last one. */
	t[n - 1] = (char)(t[n - 1] + 1); /* the last character is one of A Q g w: +1 sets an unused bit */
	expect(t, "alice", PJ_ERR_TOKEN, NULL, "non-zero trailing bits in the signature refused");
	free(t);
	big = malloc(20000);
	memset(big, 'A', 19999);
	big[19999] = '\0';
	memcpy(big, "eyJ.", 4);
	expect(big, "alice", PJ_ERR_TOKEN, "max_token_size",
	       "token over max_token_size refused before decoding");
	free(big);
	expect("{\"payload\":\"e30\",\"signatures\":[]}", "alice", PJ_ERR_NOT_JWT, NULL,
	       "JSON serialization is not a JWT");
	expect("hunter2", "alice", PJ_ERR_NOT_JWT, NULL, "a password is not a JWT");
	free(good);
}

/* A token from raw header and payload texts and a valid RS256 signature over them. */
static void expect_raw(const char *hdr, const char *pl, pj_status want, const char *reason, const char *desc)
{
	expect_signed(JWS_RS256, keys[JWS_RS256], strdup(hdr), strdup(pl), want, reason, desc);
}

static void test_json(void)
{
	char *pl = payload(NULL), *t;

	/* A header that is not an object cannot start with "eyJ" ('{"'), so it is not even taken for a JWT.
	 */
	expect_raw("[\"RS256\"]", pl, PJ_ERR_NOT_JWT, NULL, "header that is not an object refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", "[1]", PJ_ERR_TOKEN, "payload",
	           "payload that is not an object refused");
	t = payload(",\"sub\":\"bob-sub\"");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "duplicate claim refused");
	free(t);
	t = payload(",\"s\\u0075b\":\"bob-sub\"");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "duplicate claim spelled with an escape refused");
	free(t);
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"alg\":\"RS256\"}", pl, PJ_ERR_TOKEN, "header",
	           "duplicate header member refused");
	t = payload(",\"x\\u0000\":1");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "member name holding NUL refused");
	free(t);
	t = payload(",\"deep\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "over-deep JSON refused");
	free(t);
	t = tk_strf("%s {}", pl);
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "content after the JSON object refused");
	free(t);
	t = payload(",\"n\":NaN");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload", "NaN refused");
	free(t);
	t = payload(",\"n\":1e999");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", t, PJ_ERR_TOKEN, "payload",
	           "infinite number refused");
	free(t);
	free(pl);
}

static void test_header(void)
{
	char *pl = payload(NULL), *h, *p, *t, *s;

	/* alg none: unsigned, empty signature. */
	h = b64url_encode((const unsigned char *)"{\"alg\":\"none\"}", 14);
	p = b64url_encode((const unsigned char *)pl, strlen(pl));
	t = tk_strf("%s.%s.", h, p);
	expect(t, "alice", PJ_ERR_TOKEN, "not supported", "alg none refused");
	free(t);
	t = tk_strf("%s.%s.AAAA", h, p);
	expect(t, "alice", PJ_ERR_TOKEN, "not supported", "alg none with a signature refused");
	free(t);
	free(h);
	/* HS256 "signed" with the RSA public key bytes: the classic confusion attack; any HS* is refused by
	 * name. */
	h = b64url_encode((const unsigned char *)"{\"alg\":\"HS256\",\"kid\":\"RS256\"}", 29);
	t = tk_strf("%s.%s.c2lnbmF0dXJl", h, p);
	expect(t, "alice", PJ_ERR_TOKEN, "not supported", "alg HS256 refused");
	free(t);
	free(h);
	free(p);
	expect_raw("{\"kid\":\"RS256\"}", pl, PJ_ERR_TOKEN, "no alg", "missing alg refused");
	expect_raw("{\"alg\":[\"RS256\"],\"kid\":\"RS256\"}", pl, PJ_ERR_TOKEN, "alg",
	           "alg that is not a string refused");
	expect_raw("{\"alg\":\"rs256\",\"kid\":\"RS256\"}", pl, PJ_ERR_TOKEN, "not supported",
	           "alg names are case-sensitive");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"crit\":[\"exp\"]}", pl, PJ_ERR_TOKEN, "crit",
	           "crit refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}", pl, PJ_ERR_TOKEN,
	           NULL, "RFC 7797 unencoded payload refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"b64\":false}", pl, PJ_ERR_TOKEN, "b64",
	           "b64 member refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"typ\":\"logout+jwt\"}", pl, PJ_ERR_TOKEN, "typ",
	           "typ logout+jwt refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"typ\":\"dpop+jwt\"}", pl, PJ_ERR_TOKEN, "typ",
	           "typ dpop+jwt refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"typ\":1}", pl, PJ_ERR_TOKEN, "typ",
	           "typ that is not a string refused");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"typ\":\"at+jwt\"}", pl, PJ_OK, NULL,
	           "typ at+jwt accepted");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"typ\":\"application/at+jwt\"}", pl, PJ_OK, NULL,
	           "typ application/at+jwt accepted");
	expect_raw("{\"alg\":\"RS256\",\"kid\":\"RS256\"}", pl, PJ_OK, NULL, "no typ accepted");
	expect_raw("{\"alg\":\"RS256\",\"kid\":5}", pl, PJ_ERR_TOKEN, "kid",
	           "kid that is not a string refused");
	s = malloc(300);
	memset(s, 'k', 257);
	s[257] = '\0';
	h = tk_strf("{\"alg\":\"RS256\",\"kid\":\"%s\"}", s);
	expect_raw(h, pl, PJ_ERR_TOKEN, "kid longer", "kid of 257 bytes refused");
	free(h);
	free(s);

	/* Embedded keys never verify: signed by the attacker, carrying the attacker's key or a URL to it. */
	s = tk_jwk_json(attacker_rsa, "RS256", NULL, NULL);
	h = tk_strf("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"jwk\":%s}", s);
	expect_signed(JWS_RS256, attacker_rsa, h, strdup(pl), PJ_ERR_TOKEN, "signature",
	              "embedded jwk never used");
	free(s);
	expect_signed(
	    JWS_RS256, attacker_rsa,
	    strdup("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"jku\":\"https://attacker.example/jwks\"}"),
	    strdup(pl), PJ_ERR_TOKEN, "signature", "jku never used");
	expect_signed(
	    JWS_RS256, attacker_rsa,
	    strdup("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"x5u\":\"https://attacker.example/cert\"}"),
	    strdup(pl), PJ_ERR_TOKEN, "signature", "x5u never used");
	expect_signed(JWS_RS256, attacker_rsa,
	              strdup("{\"alg\":\"RS256\",\"kid\":\"RS256\",\"x5c\":[\"MIIB\"]}"), strdup(pl),
	              PJ_ERR_TOKEN, "signature", "x5c never used");

	/* The issuer's allow-list: rsonly accepts RS256 only. */
	t = tk_strf("{\"iss\":\"https://rsonly.example.com\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,"
	            "\"preferred_username\":\"alice\"}",
	            (long long)now + 300);
	expect_signed(JWS_ES256, keys[JWS_ES256], header(JWS_ES256, "ES256", NULL), strdup(t), PJ_ERR_TOKEN,
	              "algorithms", "alg outside the issuer's allow-list refused");
	expect_signed(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "RS256", NULL), t, PJ_OK, NULL,
	              "alg inside the issuer's allow-list accepted");
	free(pl);
}

static char *issuer_payload(const char *iss, const char *extra)
{
	return tk_strf("{\"iss\":\"%s\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,"
	               "\"preferred_username\":\"alice\"%s}",
	               iss, (long long)now + 300, extra ? extra : "");
}

static void test_keys(void)
{
	/* Another configured issuer's key: signed by other's key, kid of other's key, iss of main. */
	expect_signed(JWS_RS256, other_rsa, header(JWS_RS256, "other-key", NULL), payload(NULL), PJ_ERR_TOKEN,
	              NULL, "a key of another configured issuer never verifies");
	expect_signed(JWS_RS256, other_rsa, header(JWS_RS256, "other-key", NULL),
	              issuer_payload(OTHER_ISS, NULL), PJ_OK, NULL,
	              "the same key verifies for its own issuer");
	expect_signed(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "nope", NULL), payload(NULL),
	              PJ_ERR_TOKEN, NULL, "unknown kid refused");
	expect_signed(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "ES256", NULL), payload(NULL),
	              PJ_ERR_TOKEN, NULL, "kid of a key of another type refused");
	expect_signed(JWS_RS256, nokid_rsa, header(JWS_RS256, NULL, NULL),
	              issuer_payload("https://nokid.example.com", NULL), PJ_OK, NULL,
	              "no kid: the one RSA key that fits is used");
	expect_signed(JWS_ES256, keys[JWS_ES256], header(JWS_ES256, NULL, NULL),
	              issuer_payload("https://nokid.example.com", NULL), PJ_OK, NULL,
	              "no kid: the one EC key that fits is used");
	expect_signed(JWS_RS256, twin_a, header(JWS_RS256, NULL, NULL),
	              issuer_payload("https://twokeys.example.com", NULL), PJ_ERR_TOKEN, NULL,
	              "no kid and two keys fit: refused");
	expect_signed(JWS_RS256, twin_a, header(JWS_RS256, "same", NULL),
	              issuer_payload("https://dupkid.example.com", NULL), PJ_ERR_NO_KEYS, NULL,
	              "a kid listed twice is unusable");
	expect_signed(JWS_RS256, weak_rsa, header(JWS_RS256, "weak", NULL),
	              issuer_payload("https://weak.example.com", NULL), PJ_ERR_NO_KEYS, NULL,
	              "an RSA key under 2048 bits is unusable");
	expect_signed(JWS_RS256, twin_a, header(JWS_RS256, "alg-rs512", NULL),
	              issuer_payload("https://binding.example.com", NULL), PJ_ERR_TOKEN, NULL,
	              "a JWK alg different from the header alg refused");
	expect_signed(JWS_RS256, twin_b, header(JWS_RS256, "use-enc", NULL),
	              issuer_payload("https://binding.example.com", NULL), PJ_ERR_TOKEN, NULL,
	              "a key with use=enc refused");
	expect_signed(JWS_RS256, other_rsa, header(JWS_RS256, "ops-sign", NULL),
	              issuer_payload("https://binding.example.com", NULL), PJ_ERR_TOKEN, NULL,
	              "a key whose key_ops lack verify refused");
}

static void test_signature(void)
{
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		const char *name = jws_alg_by_id((enum jws_alg_id)a)->name;
		char *t = sign_owned((enum jws_alg_id)a, keys[a], header((enum jws_alg_id)a, name, NULL),
		                     payload(NULL));
		char *desc = tk_strf("%s: a changed signature refused", name);
		char *last = strrchr(t, '.') + 3;
		*last = *last == 'A' ? 'Q' : 'A';
		expect(t, "alice", PJ_ERR_TOKEN, "signature", desc);
		free(desc);
		free(t);
	}
	/* A changed payload under a valid signature. */
	{
		char *t =
		    sign_owned(JWS_ES256, keys[JWS_ES256], header(JWS_ES256, "ES256", NULL), payload(NULL));
		char *p2 = payload(",\"x\":1"), *p2b = b64url_encode((unsigned char *)p2, strlen(p2));
		char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
		char *t2;
		*dot1 = '\0';
		t2 = tk_strf("%s.%s%s", t, p2b, dot2);
		expect(t2, "alice", PJ_ERR_TOKEN, "signature",
		       "payload changed under a valid signature refused");
		free(t);
		free(t2);
		free(p2);
		free(p2b);
	}
}

static void test_claims(void)
{
	char *h = header(JWS_RS256, "RS256", NULL);
	struct {
		const char *payload_fmt; /* %lld = now-relative base filled below */
		long long t1;
		pj_status want;
		const char *reason;
		const char *desc;
	} cases[] = {
	    {"{\"iss\":\"https://idp.example.com/"
	     "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "configured issuer", "iss with a trailing slash refused"},
	    {"{\"iss\":\"https://"
	     "unknown.example.com\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":"
	     "\"alice\"}",
	     300, PJ_ERR_TOKEN, "configured issuer", "unconfigured iss refused"},
	    {"{\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}", 300,
	     PJ_ERR_TOKEN, "iss", "missing iss refused"},
	    {"{\"iss\":[\"" ISS
	     "\"],\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "iss", "iss that is not a string refused"},
	    {"{\"iss\":\"" ISS "\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}", 300,
	     PJ_ERR_TOKEN, "aud", "missing aud refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"other\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "aud", "wrong aud refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test \",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "aud", "aud must match exactly"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":[\"x\",\"second-aud\"],\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_OK, NULL, "aud array containing a configured audience accepted"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":[\"x\",\"y\"],\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "aud", "aud array without a configured audience refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":[\"pam-test\",1],\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "aud", "aud array with a non-string refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":{\"a\":\"pam-test\"},\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "aud", "aud object refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"preferred_username\":\"alice\",\"x\":%lld}",
	     0, PJ_ERR_TOKEN, "no exp claim", "missing exp refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     -61, PJ_ERR_TOKEN, "expired", "expired beyond the leeway refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     -30, PJ_OK, NULL, "expired within the leeway accepted"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":\"%lld\",\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "exp is not a number", "exp as a string refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":true,\"preferred_username\":"
	     "\"alice\",\"x\":%lld}",
	     0, PJ_ERR_TOKEN, "exp is not a number", "exp as a boolean refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":null,\"preferred_username\":"
	     "\"alice\",\"x\":%lld}",
	     0, PJ_ERR_TOKEN, "exp is not a number", "exp null refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":9223372036854775807,\"nbf\":%"
	     "lld,\"preferred_username\":\"alice\"}",
	     61, PJ_ERR_TOKEN, "not valid before", "nbf beyond the leeway refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":9223372036854775807,\"nbf\":%"
	     "lld,\"preferred_username\":\"alice\"}",
	     30, PJ_OK, NULL, "nbf within the leeway accepted (and exp at INT64_MAX does not overflow)"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":99999999999,\"nbf\":\"%lld\","
	     "\"preferred_username\":\"alice\"}",
	     0, PJ_ERR_TOKEN, "nbf is not a number", "nbf as a string refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":99999999999,\"iat\":%lld,"
	     "\"preferred_username\":\"alice\"}",
	     61, PJ_ERR_TOKEN, "future", "iat beyond the leeway in the future refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":99999999999,\"iat\":%lld,"
	     "\"preferred_username\":\"alice\"}",
	     30, PJ_OK, NULL, "iat within the leeway accepted"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":99999999999,\"iat\":[%lld],"
	     "\"preferred_username\":\"alice\"}",
	     0, PJ_ERR_TOKEN, "iat is not a number", "iat as an array refused"},
	    {"{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"exp\":%lld,\"preferred_username\":\"alice\"}", 300,
	     PJ_ERR_TOKEN, "sub", "missing sub refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":\"\",\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "sub is empty", "empty sub refused"},
	    {"{\"iss\":\"" ISS
	     "\",\"aud\":\"pam-test\",\"sub\":42,\"exp\":%lld,\"preferred_username\":\"alice\"}",
	     300, PJ_ERR_TOKEN, "sub is not a string", "sub as a number refused"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		char *pl = tk_strf(cases[i].payload_fmt, (long long)now + cases[i].t1);
#pragma GCC diagnostic pop
		expect_signed(JWS_RS256, keys[JWS_RS256], strdup(h), pl, cases[i].want, cases[i].reason,
		              cases[i].desc);
	}
	free(h);
}

static void test_identity(void)
{
	struct {
		const char *iss;
		const char *members; /* username-related members */
		const char *user;
		pj_status want;
		const char *reason;
		const char *desc;
	} cases[] = {
	    {ISS, "\"preferred_username\":\"alice\"", "bob", PJ_ERR_USER, "not bob",
	     "token for another user refused"},
	    {ISS, "\"x\":1", "alice", PJ_ERR_USER, "preferred_username", "missing username claim refused"},
	    {ISS, "\"preferred_username\":7", "alice", PJ_ERR_USER, "not a string",
	     "numeric username refused"},
	    {ISS, "\"preferred_username\":\"Alice\"", "Alice", PJ_ERR_USER, "safe",
	     "uppercase refused without lowercase"},
	    {ISS, "\"preferred_username\":\"a:b\"", "a:b", PJ_ERR_USER, "safe", "':' in a username refused"},
	    {ISS, "\"preferred_username\":\"12345\"", "12345", PJ_ERR_USER, "safe",
	     "all-digit username refused"},
	    {ISS, "\"preferred_username\":\"-alice\"", "-alice", PJ_ERR_USER, "safe", "leading '-' refused"},
	    {ISS, "\"preferred_username\":\"al\\u00efce\"", NULL, PJ_ERR_USER, "safe",
	     "non-ASCII username refused"},
	    {ISS, "\"preferred_username\":\"abcdefghijabcdefghijabcdefghijabc\"", NULL, PJ_ERR_USER, "safe",
	     "33-character username refused"},
	    {ISS, "\"preferred_username\":\"abcdefghijabcdefghijabcdefghijab\"",
	     "abcdefghijabcdefghijabcdefghijab", PJ_OK, NULL, "32-character username accepted"},
	    {ISS, "\"preferred_username\":\"root\"", "root", PJ_ERR_USER, "never log in as root",
	     "root refused by name"},
	    {ISS, "\"preferred_username\":\"daemon\"", "daemon", PJ_ERR_USER, "system account",
	     "system account refused"},
	    {ISS, "\"preferred_username\":\"\"", NULL, PJ_ERR_USER, "bad length (0)",
	     "empty username refused"},
	    {"https://xform.example.com", "\"email\":\"Alice@Example.com\"", "alice", PJ_OK, NULL,
	     "lowercase + strip_domain with an allowed domain accepted"},
	    {"https://xform.example.com", "\"email\":\"alice@evil.example\"", "alice", PJ_ERR_USER,
	     "username_domains", "strip_domain with a domain not allowed refused"},
	    {"https://xform.example.com", "\"email\":\"alice\"", "alice", PJ_ERR_USER, "no domain",
	     "no domain while username_domains is set refused"},
	    {ISS, "\"preferred_username\":\"alice\",\"realm_access\":{\"roles\":[\"devs\",\"ops\"]}", "alice",
	     PJ_OK, NULL, "groups from a dotted path accepted"},
	    {ISS, "\"preferred_username\":\"alice\",\"realm_access\":{\"roles\":[\"devs\",1]}", "alice",
	     PJ_ERR_USER, "groups", "groups with a non-string refused"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *pl = tk_strf("{\"iss\":\"%s\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld,%s}",
		                   cases[i].iss, (long long)now + 300, cases[i].members);
		char *t =
		    sign_owned(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "RS256", NULL), strdup(pl));
		expect(t, cases[i].user, cases[i].want, cases[i].reason, cases[i].desc);
		free(t);
		free(pl);
	}
	/* Groups come out in order. */
	{
		char *pl = payload(",\"realm_access\":{\"roles\":[\"devs\",\"ops\"]}");
		char *t =
		    sign_owned(JWS_RS256, keys[JWS_RS256], header(JWS_RS256, "RS256", NULL), strdup(pl));
		struct pj_identity id;
		struct pj_error err;
		pj_status st = pj_verify(cfg, NULL, t, strlen(t), NULL, now, &id, &err);
		ok(st == PJ_OK && id.verified && id.n_groups == 2 && strcmp(id.groups[0], "devs") == 0 &&
		       strcmp(id.groups[1], "ops") == 0 && strcmp(id.username, "alice") == 0 &&
		       strcmp(id.sub, "alice-sub") == 0,
		   "identity carries username, subject and groups");
		pj_identity_free(&id);
		free(t);
		free(pl);
	}
}

/* claims_check on its own: iss is checked again after the signature, whatever chose the issuer. */
static void test_claims_unit(void)
{
	const struct pj_issuer *main_issuer = config_find_issuer_by_name(cfg, "main");
	char *text = tk_strf("{\"iss\":\"" OTHER_ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld}",
	                     (long long)now + 300);
	json_object *payload = json_tokener_parse(text);
	struct pj_error err;

	ok(claims_check(payload, main_issuer, now, NULL, &err) == PJ_ERR_TOKEN && strstr(err.reason, "iss"),
	   "claims_check refuses an iss that is not the issuer's");
	json_object_put(payload);
	free(text);
}

/* identity_username on its own: the claim's length is bounded before any transform, and a buffer too
 * small for the name is a refusal, never a cut name. */
static void test_identity_unit(void)
{
	const struct pj_issuer *xform = config_find_issuer_by_name(cfg, "xform");
	const struct pj_issuer *main_issuer = config_find_issuer_by_name(cfg, "main");
	char domain[291], out[PJ_USERNAME_MAX + 1];
	struct pj_error err;
	char *text;
	json_object *payload;

	memset(domain, 'd', sizeof(domain) - 1);
	domain[sizeof(domain) - 1] = '\0';
	/* strip_domain would leave "alice": the 300-byte claim is refused first */
	text = tk_strf("{\"email\":\"alice@%s\"}", domain);
	payload = json_tokener_parse(text);
	ok(identity_username(payload, xform, out, sizeof(out), &err) == PJ_ERR_USER &&
	       strstr(err.reason, "bad length (296)") != NULL,
	   "a username claim of 296 bytes refused before the domain is stripped (%s)", err.reason);
	json_object_put(payload);
	free(text);
	payload = json_tokener_parse("{\"preferred_username\":\"alice\"}");
	ok(identity_username(payload, main_issuer, out, 5, &err) == PJ_ERR_USER &&
	       strcmp(err.reason, "username too long") == 0,
	   "a name that does not fit the caller's buffer refused, never cut (%s)", err.reason);
	ok(identity_username(payload, main_issuer, out, 6, &err) == PJ_OK && strcmp(out, "alice") == 0,
	   "the same name in a buffer of its length + 1: alice");
	json_object_put(payload);
}

/* Issue #13: max_token_age (iat required, not older than the limit) and the jti replay_protection needs. */
static void test_freshness(void)
{
	struct pj_issuer is = *config_find_issuer_by_name(cfg, "main");
	struct {
		const char *extra;
		long max_age;
		bool jti;
		pj_status want;
		const char *reason;
	} cases[] = {
	    {",\"iat\":%lld", 3600, false, PJ_OK, NULL},
	    {",\"iat\":%lld", 600, false, PJ_ERR_TOKEN, "more than max_token_age 600s ago"},
	    {",\"x\":%lld", 3600, false, PJ_ERR_TOKEN, "no iat claim (max_token_age is set)"},
	    {",\"iat\":\"%lld\"", 3600, false, PJ_ERR_TOKEN, "iat is not a number"},
	    {",\"x\":%lld", 0, true, PJ_ERR_TOKEN, "no jti claim"},
	    {",\"jti\":\"\",\"x\":%lld", 0, true, PJ_ERR_TOKEN, "jti is empty"},
	    {",\"jti\":7,\"x\":%lld", 0, true, PJ_ERR_TOKEN, "jti is not a string"},
	    {",\"jti\":\"abc\",\"x\":%lld", 0, true, PJ_OK, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		char *extra = tk_strf(cases[i].extra, (long long)now - 1800);
#pragma GCC diagnostic pop
		char *text =
		    tk_strf("{\"iss\":\"" ISS "\",\"aud\":\"pam-test\",\"sub\":\"s\",\"exp\":%lld%s}",
		            (long long)now + 300, extra);
		json_object *pl = json_tokener_parse(text);
		struct pj_error err;
		pj_status got;

		is.max_token_age = cases[i].max_age;
		is.replay_jti = cases[i].jti;
		got = claims_check(pl, &is, now, NULL, &err);
		ok(got == cases[i].want && (cases[i].reason == NULL || strstr(err.reason, cases[i].reason)),
		   "max_token_age %ld, jti %s, payload ...%s: %s", cases[i].max_age,
		   cases[i].jti ? "on" : "off", extra, got == PJ_OK ? "accepted" : err.reason);
		json_object_put(pl);
		free(text);
		free(extra);
	}
}

/* groups from payload with an issuer whose extra config lines are given; the groups joined with "|" in
 * out (or the refusal's reason). */
static pj_status groups_of(const char *extra_conf, const char *payload_json, char *out, size_t outlen)
{
	char *text = tk_strf("[issuer g]\nissuer = https://g.example.com\naudience = a\n"
	                     "jwks_file = /nonexistent.jwks\n%s%s",
	                     strstr(extra_conf, "groups_claim") ? "" : "groups_claim = groups\n", extra_conf);
	struct pj_config *c = NULL;
	struct pj_error err;
	json_object *pl = json_tokener_parse(payload_json);
	char **groups = NULL;
	size_t n = 0;
	pj_status st;

	out[0] = '\0';
	if ((st = config_parse("g.conf", text, strlen(text), &c, &err)) == PJ_OK)
		st = identity_groups(pl, &c->issuers[0], &groups, &n, &err);
	if (st != PJ_OK)
		snprintf(out, outlen, "%s", err.reason);
	for (size_t i = 0; st == PJ_OK && i < n; i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%s%s", i ? "|" : "", groups[i]);
	identity_groups_free(groups);
	json_object_put(pl);
	config_free(c);
	free(text);
	return st;
}

/* String-valued groups claims (Glewlwyd's "devs,ops") and Entra ID's groups overage (issue #11). */
static void test_groups_claim_shapes(void)
{
	static const struct {
		const char *conf, *payload;
		pj_status want;
		const char *result, *desc;
	} cases[] = {
	    {"", "{\"groups\":\"devs\"}", PJ_OK, "devs", "a string without separators is one group"},
	    {"", "{\"groups\":\"devs,ops\"}", PJ_ERR_USER, "set groups_separator",
	     "without groups_separator a comma-joined string is refused, the fix named"},
	    {"", "{\"groups\":\"devs ops\"}", PJ_ERR_USER, "set groups_separator",
	     "without groups_separator a space-joined string is refused"},
	    {"groups_separator = ,\n", "{\"groups\":\" devs, ops,,admins \"}", PJ_OK, "devs|ops|admins",
	     "groups_separator = , splits, trims and skips empty items"},
	    {"groups_separator = space\n", "{\"groups\":\"devs  ops\\tadmins\"}", PJ_OK, "devs|ops|admins",
	     "groups_separator = space splits at runs of spaces and tabs"},
	    {"groups_separator = ;\n", "{\"groups\":\"devs;ops\"}", PJ_OK, "devs|ops",
	     "groups_separator = ;"},
	    {"groups_separator = ,\n", "{\"groups\":[\"a,b\",\"c\"]}", PJ_OK, "a,b|c",
	     "an array is taken as it is, never split"},
	    {"groups_separator = ,\n", "{\"groups\":\",, ,\"}", PJ_OK, "", "only separators: no group"},
	    {"", "{\"sub\":\"x\"}", PJ_OK, "", "no groups claim: no group"},
	    {"",
	     "{\"_claim_names\":{\"groups\":\"src1\"},\"_claim_sources\":{\"src1\":{\"endpoint\":"
	     "\"https://graph.microsoft.com/v1.0/users/x/getMemberObjects\"}}}",
	     PJ_ERR_USER, "overage",
	     "Entra ID groups overage (_claim_names) is refused, never an empty list"},
	    {"", "{\"hasgroups\":true}", PJ_ERR_USER, "overage", "Entra ID hasgroups is refused"},
	    {"", "{\"hasgroups\":false}", PJ_OK, "", "hasgroups false: no group"},
	    {"groups_claim = https://example.com/groups\n",
	     "{\"https://example.com/groups\":[\"devs\"],\"https://example\":{\"com/groups\":[\"x\"]}}",
	     PJ_OK, "devs",
	     "a claim named with dots (Auth0's namespaced claims) is found by its whole name first"},
	    {"groups_claim = a.b\n", "{\"a\":{\"b\":[\"nested\"]}}", PJ_OK, "nested",
	     "without such a claim the name is a dotted path"},
	    {"groups_separator = x\n", "{}", PJ_ERR_CONFIG, "groups_separator",
	     "groups_separator = x is refused"},
	    {"groups_separator = ,,\n", "{}", PJ_ERR_CONFIG, "groups_separator",
	     "groups_separator = ,, is refused"},
	};
	char out[512], *many;
	size_t len = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pj_status st = groups_of(cases[i].conf, cases[i].payload, out, sizeof(out));

		ok(st == cases[i].want && (st == PJ_OK ? strcmp(out, cases[i].result) == 0
		                                       : strstr(out, cases[i].result) != NULL),
		   "%s (%s)", cases[i].desc, out);
	}
	/* A split string is bounded like an array. */
	many = malloc(PJ_GROUPS_MAX * 3 + 64);
	len = (size_t)sprintf(many, "{\"groups\":\"");
	for (int i = 0; i <= PJ_GROUPS_MAX; i++)
		len += (size_t)sprintf(many + len, "g,");
	sprintf(many + len, "\"}");
	ok(groups_of("groups_separator = ,\n", many, out, sizeof(out)) == PJ_ERR_USER &&
	       strstr(out, "more than"),
	   "a split string with more than %d groups is refused", PJ_GROUPS_MAX);
	free(many);
}

int main(void)
{
	char *cmd;

	if (geteuid() != 0)
		tap_skip_all("key files must be root-owned: run as root");
	setup();
	test_all_algorithms();
	test_input_shape();
	test_json();
	test_header();
	test_keys();
	test_signature();
	test_claims();
	test_identity();
	test_claims_unit();
	test_identity_unit();
	test_freshness();
	test_groups_claim_shapes();
	keystore_flush();
	config_free(cfg);
	for (int a = 0; a < JWS_ALG_COUNT; a++)
		EVP_PKEY_free(keys[a]);
	EVP_PKEY_free(other_rsa);
	EVP_PKEY_free(attacker_rsa);
	EVP_PKEY_free(nokid_rsa);
	EVP_PKEY_free(weak_rsa);
	EVP_PKEY_free(twin_a);
	EVP_PKEY_free(twin_b);
	cmd = tk_strf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(cmd);
	return tap_done();
}
