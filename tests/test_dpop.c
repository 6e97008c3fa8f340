/* test_dpop.c: DPoP proofs (dpop.c, dpop_client.c): a good proof passes, each broken rule has its reason. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pam_jwt/authz.h"
#include "pam_jwt/b64url.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/hostname.h"
#include "pam_jwt/keystore.h"
#include "pam_jwt/verify.h"
#include "tap.h"
#include "testkit.h"

#define ISS   "https://idp.example.com"
#define NONCE "nonce-of-this-login-0123"

static char dir[] = "/tmp/pj_dpop_XXXXXX";
static struct pj_config *cfg;
static EVP_PKEY *idp_key, *client_es, *client_ed, *other_key;
static time_t now;
static char htu[600];
static char *kept[1024]; /* the many throw-away strings the cases build, freed at exit */
static size_t n_kept;

static char *keep(char *p)
{
	if (p != NULL && n_kept < sizeof(kept) / sizeof(kept[0]))
		kept[n_kept++] = p;
	return p;
}

static char *ksign(enum jws_alg_id alg, EVP_PKEY *key, const char *hdr, const char *pl)
{
	return keep(tk_sign(alg, key, hdr, pl));
}

#define kstrf(...) keep(tk_strf(__VA_ARGS__))

static void setup(void)
{
	struct pj_host_names names;
	struct pj_error err;
	char *jwks, *conf, *path;

	if (mkdtemp(dir) == NULL)
		exit(1);
	now = time(NULL);
	idp_key = tk_keygen(JWS_ES256);
	client_es = tk_keygen(JWS_ES256);
	client_ed = tk_keygen(JWS_EDDSA);
	other_key = tk_keygen(JWS_ES256);
	jwks = tk_jwk_json(idp_key, "k1", NULL, NULL);
	path = tk_strf("%s/jwks.json", dir);
	tk_write_text(path, kstrf("{\"keys\":[%s]}", jwks));
	chmod(path, 0644);
	conf = tk_strf(
	    "[global]\ndpop = yes\ndpop_host_names = Alias.Example.ORG\n"
	    "[issuer t]\nissuer = " ISS "\naudience = pam\nalgorithms = ES256\njwks_file = %s\n"
	    "[issuer strict]\nissuer = https://strict.example.com\naudience = pam\nalgorithms = ES256\n"
	    "jwks_file = %s\nrequire_dpop = yes\n"
	    "[service sudo]\nrequire_dpop = yes\n[service sshd]\n",
	    path, path);
	if (config_parse("test.conf", conf, strlen(conf), &cfg, &err) != PJ_OK) {
		printf("Bail out! %s\n", err.reason);
		exit(1);
	}
	if (pj_host_names_get(&names, &err) != PJ_OK)
		exit(1);
	snprintf(htu, sizeof(htu), "pam://%s/sshd", names.shortname);
	free(conf);
	free(path);
	free(jwks);
}

/* The RFC 7638 thumbprint of key's public JWK. */
static char *jkt_of(EVP_PKEY *key)
{
	char *jwk = tk_jwk_json(key, NULL, NULL, NULL), out[64];
	json_object *o = json_tokener_parse(jwk);
	struct pj_error err;

	if (dpop_jwk_thumbprint(o, out, sizeof(out), &err) != PJ_OK)
		out[0] = '\0';
	json_object_put(o);
	free(jwk);
	return strdup(out);
}

/* A token for alice from iss, with cnf as given (JSON members text, may be ""). */
static char *token(const char *iss, const char *cnf)
{
	char *pl = tk_strf("{\"iss\":\"%s\",\"aud\":\"pam\",\"sub\":\"s\",\"exp\":%lld,\"iat\":%lld,"
	                   "\"preferred_username\":\"alice\"%s}",
	                   iss, (long long)now + 300, (long long)now, cnf);
	char *t = ksign(JWS_ES256, idp_key, "{\"alg\":\"ES256\",\"kid\":\"k1\"}", pl);

	free(pl);
	return t;
}

static char *bound_token(EVP_PKEY *key)
{
	char *jkt = jkt_of(key), *cnf = tk_strf(",\"cnf\":{\"jkt\":\"%s\"}", jkt), *t = token(ISS, cnf);

	free(jkt);
	free(cnf);
	return t;
}

/* A proof made by hand: header and payload texts as given (for the malformed cases). */
static char *hand_proof(enum jws_alg_id alg, EVP_PKEY *key, const char *hdr_fmt_extra, const char *payload)
{
	char *members = tk_jwk_json(key, NULL, NULL, NULL);
	char *hdr = tk_strf("{\"typ\":\"dpop+jwt\",\"alg\":\"%s\",\"jwk\":%s%s}", jws_alg_by_id(alg)->name,
	                    members, hdr_fmt_extra);
	char *p = ksign(alg, key, hdr, payload);

	free(members);
	free(hdr);
	return p;
}

/* The claims of a good proof for token, with one member replaced: name=NULL for none. */
static char *claims(const char *tok, const char *name, const char *value_json)
{
	char ath[64];
	struct pj_error err;

	dpop_sha256_b64(tok, strlen(tok), ath, sizeof(ath), &err);
#define M(n, v) (name != NULL && strcmp(name, n) == 0 ? value_json : v)
	return kstrf("{\"jti\":%s,\"htm\":%s,\"htu\":%s,\"iat\":%s,\"ath\":%s,\"nonce\":%s}",
	             M("jti", "\"j1\""), M("htm", "\"PAM\""), M("htu", kstrf("\"%s\"", htu)),
	             M("iat", kstrf("%lld", (long long)now)), M("ath", kstrf("\"%s\"", ath)),
	             M("nonce", "\"" NONCE "\""));
#undef M
}

/* Verifies tok, then the DPoP step for service with proof; checks status and reason. */
static void expect(const char *tok, const char *proof, const char *service, time_t issued, bool by_hand,
                   pj_status want, const char *reason, const char *desc)
{
	struct pj_dpop_expect x = {.service = service,
	                           .nonce = by_hand ? NULL : NONCE,
	                           .nonce_issued = issued,
	                           .now = now,
	                           .by_hand = by_hand};
	struct pj_identity id;
	struct pj_error err;
	pj_status got = pj_verify(cfg, NULL, tok, strlen(tok), NULL, now, &id, &err);
	bool good;

	if (got == PJ_OK)
		got = dpop_check_login(cfg, authz_service_section(cfg, service), &id, tok, strlen(tok), proof,
		                       &x, &err);
	good = got == want && (reason == NULL || strstr(err.reason, reason) != NULL);
	ok(good, "%s: %s", desc, got == PJ_OK ? "accepted" : err.reason);
	if (!good)
		tap_diag("wanted %s (%s)", pj_status_name(want), reason ? reason : "");
	pj_identity_free(&id);
}

static char *good_proof(EVP_PKEY *key, const char *tok, const char *the_htu, const char *nonce)
{
	struct pj_error err;
	char *p = NULL;

	if (dpop_proof_make(key, "PAM", the_htu, nonce, tok, strlen(tok), now, &p, &err) != PJ_OK)
		tap_diag("dpop_proof_make: %s", err.reason);
	return keep(p);
}

static char *kb64(const unsigned char *in, size_t len)
{
	return keep(b64url_encode(in, len));
}

static void test_good(void)
{
	char *t = bound_token(client_es), *te = bound_token(client_ed);
	char *alias = kstrf("pam://alias.example.org/sshd"), *upper = keep(strdup(htu));

	for (char *c = upper + 6; *c != '/'; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	expect(t, good_proof(client_es, t, htu, NONCE), "sshd", now, false, PJ_OK, NULL,
	       "a bound token with an ES256 proof from its key");
	expect(te, good_proof(client_ed, te, htu, NONCE), "sshd", now, false, PJ_OK, NULL,
	       "a bound token with an EdDSA proof from its key");
	expect(t, good_proof(client_es, t, alias, NONCE), "sshd", now, false, PJ_OK, NULL,
	       "htu naming a dpop_host_names alias (other case)");
	expect(t, good_proof(client_es, t, upper, NONCE), "sshd", now, false, PJ_OK, NULL,
	       "htu host in upper case");
	expect(t, good_proof(client_es, t, htu, "any"), "sshd", now, true, PJ_OK, NULL,
	       "by hand (pam-jwt verify --dpop without --nonce): the nonce is not compared");
	expect(token(ISS, ""), NULL, "sshd", now, false, PJ_OK, NULL,
	       "an unbound token without a proof where nothing requires DPoP (sshd)");
}

static void test_refusals(void)
{
	char *t = bound_token(client_es), *t2 = bound_token(client_es), *other_htu;
	struct pj_host_names names;
	struct pj_error err;

	pj_host_names_get(&names, &err);
	expect(t, NULL, "sshd", now, false, PJ_ERR_TOKEN, "DPoP-bound (cnf.jkt) but no DPoP proof",
	       "a bound token without a proof");
	expect(t, good_proof(other_key, t, htu, NONCE), "sshd", now, false, PJ_ERR_TOKEN,
	       "not the one the token is bound to", "a proof from another key");
	other_htu = kstrf("pam://not-%s/sshd", names.shortname);
	expect(t, good_proof(client_es, t, other_htu, NONCE), "sshd", now, false, PJ_ERR_TOKEN,
	       "htu names host \"not-", "a proof for another host");
	expect(t, good_proof(client_es, t, htu, NONCE), "sudo", now, false, PJ_ERR_TOKEN,
	       "htu names service \"sshd\", not sudo", "a proof for another service");
	expect(t, good_proof(client_es, t, htu, "an-earlier-nonce"), "sshd", now, false, PJ_ERR_TOKEN,
	       "nonce is not the one issued for this login", "a proof with a replayed (other) nonce");
	expect(t, good_proof(client_es, t, htu, NONCE), "sshd", now - 121, false, PJ_ERR_TOKEN,
	       "nonce expired (issued 121s ago, dpop_nonce_lifetime 120s)", "an expired nonce");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "iat", kstrf("%lld", (long long)now - 61))),
	       "sshd", now, false, PJ_ERR_TOKEN, "is not within dpop_proof_max_age 60s", "proof iat too old");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "iat", kstrf("%lld", (long long)now + 61))),
	       "sshd", now, false, PJ_ERR_TOKEN, "is not within dpop_proof_max_age",
	       "proof iat in the future");
	expect(t, good_proof(client_es, t2, htu, NONCE), "sshd", now, false, PJ_ERR_TOKEN,
	       "ath is not the hash of this token", "a proof made for another token (wrong ath)");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "ath", "null")), "sshd", now, false,
	       PJ_ERR_TOKEN, "ath is not a string", "ath null");
	expect(t,
	       kstrf("%s.%s.c2ln",
	             kb64((const unsigned char *)"{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\"}", 32),
	             kb64((const unsigned char *)"{}", 2)),
	       "sshd", now, false, PJ_ERR_TOKEN, "DPoP proof: header: alg HS256 is not supported",
	       "an HMAC proof");
	expect(t,
	       kstrf("%s.%s.c2ln", kb64((const unsigned char *)"{\"typ\":\"dpop+jwt\",\"alg\":\"none\"}", 31),
	             kb64((const unsigned char *)"{}", 2)),
	       "sshd", now, false, PJ_ERR_TOKEN, "DPoP proof: header: alg none is not supported",
	       "a none proof");
	{
		char *members = tk_jwk_json(client_es, NULL, NULL, "\"d\":\"AAAA\"");
		char *hdr = kstrf("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}", members);
		expect(t, ksign(JWS_ES256, client_es, hdr, claims(t, NULL, NULL)), "sshd", now, false,
		       PJ_ERR_TOKEN, "header jwk holds private or symmetric key material (\"d\")",
		       "a proof whose header jwk holds the private key");
		free(members);
	}
	expect(t,
	       ksign(JWS_ES256, client_es,
	             "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
	             claims(t, NULL, NULL)),
	       "sshd", now, false, PJ_ERR_TOKEN, "private or symmetric key material (\"k\")",
	       "a symmetric jwk");
	expect(t, ksign(JWS_ES256, client_es, "{\"typ\":\"JWT\",\"alg\":\"ES256\"}", claims(t, NULL, NULL)),
	       "sshd", now, false, PJ_ERR_TOKEN, "typ is not dpop+jwt", "typ JWT");
	expect(t, ksign(JWS_ES256, client_es, "{\"alg\":\"ES256\"}", claims(t, NULL, NULL)), "sshd", now,
	       false, PJ_ERR_TOKEN, "typ is not dpop+jwt", "no typ");
	expect(t,
	       ksign(JWS_ES256, client_es, "{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\"}", claims(t, NULL, NULL)),
	       "sshd", now, false, PJ_ERR_TOKEN, "no jwk object", "no jwk");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "htm", "\"POST\"")), "sshd", now, false,
	       PJ_ERR_TOKEN, "htm is \"POST\", not PAM", "htm POST");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "htu", "\"https://host/sshd\"")), "sshd",
	       now, false, PJ_ERR_TOKEN, "is not pam://HOST/SERVICE", "htu https://");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "jti", "\"\"")), "sshd", now, false,
	       PJ_ERR_TOKEN, "jti is empty", "empty jti");
	expect(t, hand_proof(JWS_ES256, client_es, "", claims(t, "nonce", "7")), "sshd", now, false,
	       PJ_ERR_TOKEN, "nonce is not a string", "nonce a number");
	expect(t, hand_proof(JWS_ES256, other_key, "", claims(t, NULL, NULL)), "sshd", now, false,
	       PJ_ERR_TOKEN, "not the one the token is bound to", "hand-made proof from another key");
	{
		/* the header names the bound key, the signature is another key's */
		char *members = tk_jwk_json(client_es, NULL, NULL, NULL);
		char *hdr = kstrf("{\"typ\":\"dpop+jwt\",\"alg\":\"ES256\",\"jwk\":%s}", members);
		expect(t, ksign(JWS_ES256, other_key, hdr, claims(t, NULL, NULL)), "sshd", now, false,
		       PJ_ERR_TOKEN, "DPoP proof: ", "a proof signed by a key other than its jwk");
		free(members);
	}
	{
		/* PJ_DPOP_PROOF_MAX bounds a proof before anything in it is decoded */
		char pad[PJ_DPOP_PROOF_MAX + 1];

		memset(pad, 'a', sizeof(pad) - 1);
		pad[sizeof(pad) - 1] = '\0';
		expect(t,
		       hand_proof(JWS_ES256, client_es, kstrf(",\"pad\":\"%s\"", pad), claims(t, NULL, NULL)),
		       "sshd", now, false, PJ_ERR_TOKEN, "bytes, more than the proof limit of 8192",
		       "a proof over PJ_DPOP_PROOF_MAX bytes");
	}
	expect(t, good_proof(client_es, t, htu, NONCE), "sshd", now, true, PJ_OK, NULL, "control: by hand");
	{
		struct pj_dpop_expect x = {.service = "sshd", .nonce = NULL, .now = now};
		struct pj_identity id;
		pj_status r = pj_verify(cfg, NULL, t, strlen(t), NULL, now, &id, &err);

		if (r == PJ_OK)
			r = dpop_check_login(cfg, NULL, &id, t, strlen(t),
			                     good_proof(client_es, t, htu, NONCE), &x, &err);
		ok(r == PJ_ERR_TOKEN && strstr(err.reason, "no nonce was offered"),
		   "in the module, no nonce issued: refused: %s", err.reason);
		pj_identity_free(&id);
	}
}

static void test_rules(void)
{
	char *plain = token(ISS, ""), *t = bound_token(client_es),
	     *strict_plain = token("https://strict.example.com", "");

	expect(plain, good_proof(client_es, plain, htu, NONCE), "sshd", now, false, PJ_ERR_TOKEN,
	       "a DPoP proof came with a token that is not DPoP-bound", "a proof with an unbound token");
	expect(strict_plain, NULL, "sshd", now, false, PJ_ERR_TOKEN,
	       "require_dpop (issuer): the token is not DPoP-bound",
	       "require_dpop in the issuer: an unbound token is refused");
	expect(plain, NULL, "sudo", now, false, PJ_ERR_TOKEN, "require_dpop (service)",
	       "[service sudo] require_dpop: an unbound token is refused for sudo");
	expect(plain, NULL, "sshd", now, false, PJ_OK, NULL, "while sshd takes it");
	{
		char *htu_sudo = keep(strdup(htu));
		char *sudo_htu = kstrf("%.*s/sudo", (int)(strrchr(htu_sudo, '/') - htu_sudo), htu_sudo);
		expect(t, good_proof(client_es, t, sudo_htu, NONCE), "sudo", now, false, PJ_OK, NULL,
		       "and sudo takes a bound token with its proof");
	}
	{
		/* [service default]: services without a section of their own take its require_dpop */
		struct pj_config *saved = cfg;
		struct pj_error err;
		char *conf =
		    kstrf("[issuer t]\nissuer = " ISS "\naudience = pam\nalgorithms = ES256\njwks_file = %s\n"
		          "[service default]\nrequire_dpop = yes\n[service sshd]\n",
		          saved->issuers[0].jwks_file);

		if (config_parse("default.conf", conf, strlen(conf), &cfg, &err) == PJ_OK) {
			expect(plain, NULL, "login", now, false, PJ_ERR_TOKEN, "require_dpop (service)",
			       "[service default] require_dpop: login (no section) refuses a plain token");
			expect(plain, NULL, "sshd", now, false, PJ_OK, NULL,
			       "sshd, with a section of its own, takes it");
			ok(cfg->dpop_offered, "and DPoP is offered");
			config_free(cfg);
		} else {
			ok(0, "config with [service default]: %s", err.reason);
		}
		cfg = saved;
	}
	{
		/* an issuer's require_dpop alone (no dpop = yes, no service rule) must offer the nonce too,
		 * or every token of that issuer is refused for want of one */
		struct pj_config *own = NULL;
		struct pj_error err;
		char *conf = kstrf("[issuer t]\nissuer = " ISS "\naudience = pam\nalgorithms = ES256\n"
		                   "jwks_file = %s\nrequire_dpop = yes\n",
		                   cfg->issuers[0].jwks_file);

		ok(config_parse("issuer.conf", conf, strlen(conf), &own, &err) == PJ_OK && own->dpop_offered,
		   "an [issuer] require_dpop alone offers DPoP");
		config_free(own);
	}
	expect(token(ISS, ",\"cnf\":{\"x5t#S256\":\"abc\"}"), NULL, "sshd", now, false, PJ_ERR_TOKEN,
	       "cnf binds the token to something other than a DPoP key",
	       "a certificate-bound token (cnf x5t#S256)");
	expect(token(ISS, ",\"cnf\":\"x\""), NULL, "sshd", now, false, PJ_ERR_TOKEN, "cnf is not an object",
	       "cnf not an object");
	expect(token(ISS, ",\"cnf\":{\"jkt\":\"abc\"}"), kstrf("%s", "x.y.z"), "sshd", now, false,
	       PJ_ERR_TOKEN, "no 43-character jkt", "a cnf.jkt that cannot be a SHA-256 thumbprint");
}

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
static void test_thumbprint_vector(void)
{
	static const char jwk[] =
	    "{\"kty\":\"RSA\",\"n\":"
	    "\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tS"
	    "oc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
	    "FDW2QvzqY368QQ"
	    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
	    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksIN"
	    "HaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\",\"alg\":\"RS256\",\"kid\":"
	    "\"2011-04-29\"}";
	json_object *o = json_tokener_parse(jwk);
	struct pj_error err;
	char out[64] = "";

	ok(dpop_jwk_thumbprint(o, out, sizeof(out), &err) == PJ_OK &&
	       strcmp(out, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs") == 0,
	   "RFC 7638 example thumbprint: %s", out);
	json_object_put(o);
}

static void test_client_keys(void)
{
	char *path = tk_strf("%s/dpop.key", dir);
	EVP_PKEY *k = NULL, *back = NULL;
	struct pj_error err;
	struct stat st;

	ok(dpop_key_generate("ES256", &k, &err) == PJ_OK && dpop_key_save(path, k, &err) == PJ_OK,
	   "an ES256 key pair saved");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "the private key file is 0600");
	ok(dpop_key_load(path, &back, &err) == PJ_OK && EVP_PKEY_eq(k, back) == 1, "and reads back");
	EVP_PKEY_free(back);
	back = NULL;
	chmod(path, 0640);
	ok(dpop_key_load(path, &back, &err) == PJ_ERR_CONFIG && strstr(err.reason, "mode 0600"),
	   "a key readable by the group is refused: %s", err.reason);
	ok(dpop_key_generate("RS256", &back, &err) == PJ_ERR_CONFIG, "RS256 keys are not made: %s",
	   err.reason);
	chmod(path, 0600);
	{
		char *link = tk_strf("%s/dpop.link", dir), *p384 = tk_strf("%s/p384.key", dir),
		     *text = tk_strf("%s/text.key", dir);
		EVP_PKEY *other = tk_keygen(JWS_ES384);

		unlink(link);
		ok(symlink(path, link) == 0 && dpop_key_load(link, &back, &err) == PJ_ERR_CONFIG &&
		       back == NULL && strstr(err.reason, "cannot open"),
		   "a key reached through a symlink is refused: %s", err.reason);
		ok(chown(path, 65534, 65534) == 0 && dpop_key_load(path, &back, &err) == PJ_ERR_CONFIG &&
		       back == NULL && strstr(err.reason, "of yours"),
		   "another user's key file is refused: %s", err.reason);
		ok(other != NULL && tk_key_save(other, p384) == 0 && chmod(p384, 0600) == 0 &&
		       dpop_key_load(p384, &back, &err) == PJ_ERR_CONFIG && back == NULL &&
		       strstr(err.reason, "neither P-256"),
		   "a P-384 key is refused: %s", err.reason);
		tk_write_file(text, "not a key\n", 0600);
		ok(dpop_key_load(text, &back, &err) == PJ_ERR_CONFIG && back == NULL &&
		       strstr(err.reason, "not a PEM private key"),
		   "a file that is no PEM private key is refused: %s", err.reason);
		EVP_PKEY_free(other);
		free(link);
		free(p384);
		free(text);
	}
	EVP_PKEY_free(k);
	free(path);
}

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("key files must be root-owned: run as root");
	setup();
	test_good();
	test_refusals();
	test_rules();
	test_thumbprint_vector();
	test_client_keys();
	keystore_flush();
	config_free(cfg);
	if (system(kstrf("rm -rf '%s'", dir)) != 0)
		tap_diag("could not remove %s", dir);
	EVP_PKEY_free(idp_key);
	EVP_PKEY_free(client_es);
	EVP_PKEY_free(client_ed);
	EVP_PKEY_free(other_key);
	while (n_kept > 0)
		free(kept[--n_kept]);
	return tap_done();
}
