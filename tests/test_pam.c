/* test_pam.c: pam_jwt.so through the real libpam (pam_start_confdir): return codes, prompts, syslog. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "pam_jwt/continuation.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/hostname.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/mapping.h"
#include "tap.h"
#include "testkit.h"

static char dir[] = "/tmp/pj_pam_XXXXXX";
static char *module_path;
static EVP_PKEY *keys[JWS_ALG_COUNT];
static const char *answer;  /* what the conversation types at every prompt, unless a script is set */
static const char **script; /* else: one answer per prompt, and a conversation error after the last */
static int script_len;
static int prompts;
static char prompt_text[4][64];                /* the first four prompts */
static char logbuf[65536];                     /* everything libpam sent to syslog */
static char *(*answer_fn)(const char *prompt); /* when set: computes each answer from its prompt (DPoP) */

/* libpam logs through __syslog_chk; defining it here captures pam_syslog output for the assertions. */
void __syslog_chk(int priority, int flag, const char *fmt, ...);
void __syslog_chk(int priority, int flag, const char *fmt, ...)
{
	size_t used = strlen(logbuf);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(logbuf + used, sizeof(logbuf) - used - 1, fmt, ap);
	va_end(ap);
	strncat(logbuf, "\n", sizeof(logbuf) - strlen(logbuf) - 1);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	const char *a;

	(void)data;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
			if (prompts < 4)
				snprintf(prompt_text[prompts], sizeof(prompt_text[0]), "%s", msg[i]->msg);
			a = script != NULL ? (prompts < script_len ? script[prompts] : NULL) : answer;
			prompts++;
			if (answer_fn != NULL) {
				r[i].resp = answer_fn(msg[i]->msg);
				continue;
			}
			if (a == NULL) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(a);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* dir/name, written with mode (testkit aborts when it cannot). */
static void write_file(const char *name, const char *text, mode_t mode)
{
	char *path = tk_strf("%s/%s", dir, name);

	tk_write_file(path, text, mode);
	free(path);
}

static void write_service(const char *name, const char *auth_line_args)
{
	char *text = tk_strf("auth required %s config=%s/pam_jwt.conf %s\naccount required pam_permit.so\n",
	                     module_path, dir, auth_line_args);
	write_file(name, text, 0644);
	free(text);
}

static void setup(void)
{
	char *jwks, *parts[JWS_ALG_COUNT], *conf;
	size_t total = 64;

	if (mkdtemp(dir) == NULL)
		exit(1);
	module_path = tk_strf("%s/.libs/pam_jwt.so", getenv("TOP_BUILDDIR") ? getenv("TOP_BUILDDIR") : ".");
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		const char *name = jws_alg_by_id((enum jws_alg_id)a)->name;
		keys[a] = tk_keygen((enum jws_alg_id)a);
		parts[a] = tk_jwk_json(keys[a], name, NULL, NULL);
		total += strlen(parts[a]) + 1;
	}
	jwks = calloc(1, total);
	strcpy(jwks, "{\"keys\":[");
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		if (a)
			strcat(jwks, ",");
		strcat(jwks, parts[a]);
		free(parts[a]);
	}
	strcat(jwks, "]}");
	write_file("jwks.json", jwks, 0644);
	free(jwks);
	conf = tk_strf(
	    "[global]\nstate_dir = %s/state\n"
	    "[issuer test]\nissuer = https://idp.example.com\naudience = pam\n"
	    "groups_claim = groups\n"
	    "algorithms = RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA\n"
	    "jwks_file = %s/jwks.json\n"
	    "[issuer gone]\nissuer = https://gone.example.com\naudience = pam\njwks_file = %s/missing.json\n"
	    "[service jwt-svc]\nrequire_groups = admins\n"
	    "[service shared]\nrequire_claim = acr=mfa\n",
	    dir, dir, dir);
	write_file("pam_jwt.conf", conf, 0644);
	free(conf);
	/* the same issuer with a [service default], for a PAM service without a section of its own */
	conf =
	    tk_strf("[global]\nstate_dir = %s/state\n"
	            "[issuer test]\nissuer = https://idp.example.com\naudience = pam\ngroups_claim = groups\n"
	            "algorithms = ES256\njwks_file = %s/jwks.json\n"
	            "[service default]\nrequire_groups = admins\n[service jwt-own]\nrequire_groups = devs\n",
	            dir, dir);
	write_file("default.conf", conf, 0644);
	free(conf);
	conf = tk_strf("auth required %s config=%s/default.conf\n", module_path, dir);
	write_file("jwt-nosection", conf, 0644);
	write_file("jwt-own", conf, 0644);
	free(conf);
	conf = tk_strf("[issuer test]\nissuer = https://idp.example.com\naudience = pam\nbogus_key = 1\n");
	write_file("bad.conf", conf, 0644);
	write_file("open.conf", conf, 0666);
	free(conf);
	write_service("jwt", "");
	write_service("jwt-ignore", "ignore_non_jwt");
	write_service("jwt-use-first", "use_first_pass");
	write_service("jwt-try-first", "try_first_pass");
	write_service("jwt-badarg", "no_such_argument");
	write_service("jwt-prompt", "prompt=Token_please:");
	conf = tk_strf("auth required %s config=%s/bad.conf\n", module_path, dir);
	write_file("jwt-badconf", conf, 0644);
	free(conf);
	conf = tk_strf("auth required %s config=%s/open.conf\n", module_path, dir);
	write_file("jwt-openconf", conf, 0644);
	free(conf);
	conf =
	    tk_strf("auth required %s config=%s/pam_jwt.conf\nauth required pam_deny.so\n", module_path, dir);
	write_file("jwt-then-deny", conf, 0644);
	free(conf);
	conf = tk_strf("auth [ignore=1 default=die] %s config=%s/pam_jwt.conf ignore_non_jwt\n"
	               "auth required pam_deny.so\nauth required pam_permit.so\n",
	               module_path, dir);
	write_file("jwt-ignore-probe", conf, 0644);
	free(conf);
	/* pam_unix prompts first and leaves the answer in PAM_AUTHTOK, as a real stack would. */
	conf = tk_strf("auth optional pam_unix.so\nauth required %s config=%s/pam_jwt.conf use_first_pass\n",
	               module_path, dir);
	write_file("unix-then-use-first", conf, 0644);
	free(conf);
	conf = tk_strf("auth optional pam_unix.so\nauth required %s config=%s/pam_jwt.conf try_first_pass\n",
	               module_path, dir);
	write_file("unix-then-try-first", conf, 0644);
	free(conf);
	conf =
	    tk_strf("auth sufficient %s config=%s/pam_jwt.conf ignore_non_jwt\nauth required pam_deny.so\n",
	            module_path, dir);
	write_file("jwt-or-deny", conf, 0644);
	free(conf);
	/* The second module takes the first one's PAM_AUTHTOK: the token as joined from its parts. */
	conf = tk_strf("auth required %s config=%s/pam_jwt.conf\nauth required %s config=%s/pam_jwt.conf "
	               "use_first_pass\n",
	               module_path, dir, module_path, dir);
	write_file("jwt-twice", conf, 0644);
	free(conf);
	write_service("jwt-admins", "require_groups=admins,ops");
	write_service("jwt-acr", "require_claim=acr=mfa,amr=otp,org.level=3");
	write_service("jwt-issuer-gone", "require_issuer=gone");
	write_service("jwt-issuer-test", "require_issuer=test");
	write_service("jwt-badclaim", "require_claim=acr");
	write_service("jwt-emptyarg", "require_groups=");
	write_service("jwt-repeated", "debug debug");
	write_service("jwt-emptyprompt", "prompt=");
	write_service("jwt-svc", "");
	write_service("jwt-svc-alias", "service=jwt-svc");
	write_service("jwt-svc-nosuch", "service=nosuch");
	write_service("jwt-svc-both", "service=shared require_groups=admins");
	conf = tk_strf("auth required %s config=%s/pam_jwt.conf\naccount required %s config=%s/pam_jwt.conf\n"
	               "session required %s config=%s/pam_jwt.conf\n",
	               module_path, dir, module_path, dir, module_path, dir);
	write_file("jwt-session", conf, 0644);
	free(conf);
	conf = tk_strf("account required %s config=%s/aged.conf\n", module_path, dir);
	write_file("jwt-acct", conf, 0644);
	free(conf);
	/* Succeeds only when pam_jwt returns PAM_IGNORE (ignore=1 jumps over pam_deny). */
	conf = tk_strf("account [ignore=1 default=bad] %s config=%s/aged.conf\naccount required pam_deny.so\n"
	               "account required pam_permit.so\n",
	               module_path, dir);
	write_file("jwt-acct-probe", conf, 0644);
	free(conf);
	conf = tk_strf("account required %s config=%s/aged.conf\n", module_path, dir);
	write_file("jwt-acct-admins", conf, 0644);
	write_file("jwt-acct-mfa", conf, 0644);
	free(conf);
	conf = tk_strf(
	    "[global]\nstate_dir = %s/state\naccount_max_age = 1d\n"
	    "[issuer test]\nissuer = https://idp.example.com\naudience = pam\njwks_file = %s/jwks.json\n"
	    "[service jwt-acct-admins]\nrequire_groups = admins\n[service jwt-acct-mfa]\nrequire_claim = "
	    "acr=mfa\n",
	    dir, dir);
	write_file("aged.conf", conf, 0644);
	free(conf);
	/* the account step's other rule sources: service=, the module line, [service default] */
	conf = tk_strf("account required %s config=%s/aged.conf service=jwt-acct-admins\n", module_path, dir);
	write_file("jwt-acct-alias", conf, 0644);
	free(conf);
	conf = tk_strf("account required %s config=%s/aged.conf require_groups=admins\n", module_path, dir);
	write_file("jwt-acct-line", conf, 0644);
	free(conf);
	conf = tk_strf("account required %s config=%s/aged-default.conf\n", module_path, dir);
	write_file("jwt-acct-default", conf, 0644);
	free(conf);
	conf = tk_strf(
	    "[global]\nstate_dir = %s/state\naccount_max_age = 1d\n"
	    "[issuer test]\nissuer = https://idp.example.com\naudience = pam\njwks_file = %s/jwks.json\n"
	    "[service default]\nrequire_groups = admins\n",
	    dir, dir);
	write_file("aged-default.conf", conf, 0644);
	free(conf);
	conf = tk_strf(
	    "[global]\nstate_dir = %s/openstate\n"
	    "[issuer test]\nissuer = https://idp.example.com\naudience = pam\njwks_file = %s/jwks.json\n",
	    dir, dir);
	write_file("openstate.conf", conf, 0644);
	free(conf);
	conf = tk_strf("%s/openstate", dir);
	mkdir(conf, 0777);
	chmod(conf, 0777);
	free(conf);
	conf = tk_strf("auth required %s config=%s/openstate.conf\n", module_path, dir);
	write_file("jwt-openstate", conf, 0644);
	free(conf);
	conf = tk_strf("account [ignore=1 default=bad] %s config=%s/openstate.conf\naccount required "
	               "pam_deny.so\naccount required pam_permit.so\n",
	               module_path, dir);
	write_file("jwt-acct-openstate-probe", conf, 0644);
	free(conf);
}

static char *mint(enum jws_alg_id a, const char *iss, const char *user, long exp_delta)
{
	char *hdr = tk_strf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", jws_alg_by_id(a)->name,
	                    jws_alg_by_id(a)->name);
	char *pl = tk_strf(
	    "{\"iss\":\"%s\",\"aud\":\"pam\",\"sub\":\"sub-%s\",\"exp\":%lld,\"preferred_username\":\"%s\"}",
	    iss, user, (long long)time(NULL) + exp_delta, user);
	char *t = tk_sign(a, keys[a], hdr, pl);

	free(hdr);
	free(pl);
	return t;
}

/* A token for user with sub, exp in exp_delta seconds and extra payload members (",..." or ""). */
static char *mint_claims(const char *user, const char *sub, long exp_delta, const char *extra)
{
	char *hdr = strdup("{\"alg\":\"ES256\",\"kid\":\"ES256\"}");
	char *pl = tk_strf("{\"iss\":\"https://idp.example.com\",\"aud\":\"pam\",\"sub\":\"%s\",\"exp\":%lld,"
	                   "\"preferred_username\":\"%s\"%s}",
	                   sub, (long long)time(NULL) + exp_delta, user, extra);
	char *t = tk_sign(JWS_ES256, keys[JWS_ES256], hdr, pl);

	free(hdr);
	free(pl);
	return t;
}

static size_t b64len(size_t n)
{
	return (4 * n + 2) / 3;
}

/* An ES256 token for alice of exactly size bytes: padding in the header and the payload (an ES256
 * signature is always 86 characters). */
static char *sized_token(size_t size)
{
	long long exp = (long long)time(NULL) + 600;
	char *pad = malloc(size + 1), *hdr, *pl, *t = NULL;

	memset(pad, 'x', size);
	pad[size] = '\0';
	for (int h = 0; h < 4 && t == NULL; h++) {
		hdr = tk_strf("{\"alg\":\"ES256\",\"kid\":\"ES256\",\"h\":\"%.*s\"}", h, pad);
		for (int p = 0; t == NULL; p++) {
			pl = tk_strf(
			    "{\"iss\":\"https://idp.example.com\",\"aud\":\"pam\",\"sub\":\"sub-alice\","
			    "\"exp\":%lld,\"preferred_username\":\"alice\",\"p\":\"%.*s\"}",
			    exp, p, pad);
			size_t len = b64len(strlen(hdr)) + 1 + b64len(strlen(pl)) + 1 + 86;
			if (len == size)
				t = tk_sign(JWS_ES256, keys[JWS_ES256], hdr, pl);
			free(pl);
			if (len >= size)
				break;
		}
		free(hdr);
	}
	free(pad);
	if (t == NULL || strlen(t) != size) {
		printf("Bail out! cannot make a token of %zu bytes\n", size);
		exit(1);
	}
	return t;
}

/* Splits token into parts of at most part_size bytes each, every one but the last ending in '\\', as
 * pam-jwt-askpass does; returns the number of parts. */
static int split_token(const char *token, size_t part_size, char **parts, int max)
{
	size_t len = strlen(token), chunk = part_size - 1;
	int n = 0;

	if (len <= part_size) {
		parts[0] = strdup(token);
		return 1;
	}
	for (size_t off = 0; off < len && n < max; off += chunk, n++) {
		size_t take = len - off < chunk ? len - off : chunk;
		parts[n] = tk_strf("%.*s%s", (int)take, token + off, off + take < len ? "\\" : "");
	}
	return n;
}

static void free_parts(char **parts, int n)
{
	for (int i = 0; i < n; i++)
		free(parts[i]);
}

/* Runs pam_authenticate answering the prompts with parts, one each, then failing the conversation. */
static int authenticate_parts(const char *service, const char *user, char **parts, int n)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	answer = NULL;
	script = (const char **)parts;
	script_len = n;
	prompts = 0;
	if ((rc = pam_start_confdir(service, user, &c, dir, &pamh)) != PAM_SUCCESS)
		return -1000 - rc;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	script = NULL;
	return rc;
}

/* Runs pam_authenticate for service and user with the conversation answering token (NULL: conversation
 * fails). */
static int authenticate(const char *service, const char *user, const char *token)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	answer = token;
	script = NULL;
	prompts = 0;
	if ((rc = pam_start_confdir(service, user, &c, dir, &pamh)) != PAM_SUCCESS)
		return -1000 - rc;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static void test_algorithms(void)
{
	for (int a = 0; a < JWS_ALG_COUNT; a++) {
		char *t = mint((enum jws_alg_id)a, "https://idp.example.com", "alice", 300);
		logbuf[0] = '\0';
		if (!ok(authenticate("jwt", "alice", t) == PAM_SUCCESS, "%s token logs in through libpam",
		        jws_alg_by_id((enum jws_alg_id)a)->name))
			tap_diag("log: %s", logbuf);
		free(t);
	}
}

static void test_refusals(void)
{
	char *good = mint(JWS_ES256, "https://idp.example.com", "alice", 300);
	char *expired = mint(JWS_ES256, "https://idp.example.com", "alice", -3600);
	char *gone = mint(JWS_RS256, "https://gone.example.com", "alice", 300);

	ok(authenticate("jwt", "bob", good) == PAM_AUTH_ERR, "another user's token: PAM_AUTH_ERR");
	ok(authenticate("jwt", "alice", expired) == PAM_AUTH_ERR, "expired token: PAM_AUTH_ERR");
	ok(authenticate("jwt", "alice", "hunter2") == PAM_AUTH_ERR, "a password: PAM_AUTH_ERR by default");
	/* jwt-ignore-probe succeeds only when pam_jwt returns PAM_IGNORE (ignore=1 jumps over pam_deny). */
	ok(authenticate("jwt-ignore-probe", "alice", "hunter2") == PAM_SUCCESS,
	   "a password with ignore_non_jwt: PAM_IGNORE");
	ok(authenticate("jwt-ignore-probe", "alice", expired) == PAM_AUTH_ERR,
	   "a bad token with ignore_non_jwt: PAM_AUTH_ERR");
	ok(authenticate("jwt", "alice", gone) == PAM_AUTHINFO_UNAVAIL,
	   "no keys for the issuer: PAM_AUTHINFO_UNAVAIL");
	ok(authenticate("jwt-or-deny", "alice", "hunter2") == PAM_AUTH_ERR,
	   "ignore_non_jwt passes a password on to the next module");
	ok(authenticate("jwt-or-deny", "alice", good) == PAM_SUCCESS,
	   "sufficient pam_jwt ends the stack on success");
	ok(authenticate("jwt-then-deny", "alice", good) == PAM_AUTH_ERR,
	   "required pam_jwt then pam_deny fails");
	ok(authenticate("jwt-badconf", "alice", good) == PAM_SERVICE_ERR,
	   "config with an unknown key: PAM_SERVICE_ERR");
	ok(authenticate("jwt-openconf", "alice", good) == PAM_SERVICE_ERR,
	   "config writable by others: PAM_SERVICE_ERR");
	ok(authenticate("jwt-badarg", "alice", good) == PAM_SERVICE_ERR,
	   "unknown module argument: PAM_SERVICE_ERR");
	ok(authenticate("jwt", "alice", NULL) != PAM_SUCCESS, "conversation failure is not success");
	ok(authenticate("jwt", "alice", "") == PAM_AUTH_ERR, "empty answer: PAM_AUTH_ERR");
	free(good);
	free(expired);
	free(gone);
}

static void test_token_sources(void)
{
	char *good = mint(JWS_EDDSA, "https://idp.example.com", "alice", 300);

	ok(authenticate("unix-then-use-first", "alice", good) == PAM_SUCCESS && prompts == 1,
	   "use_first_pass takes PAM_AUTHTOK from the module before it, without prompting again");
	ok(authenticate("jwt-use-first", "alice", good) == PAM_AUTH_ERR && prompts == 0,
	   "use_first_pass without PAM_AUTHTOK fails without prompting");
	ok(authenticate("unix-then-try-first", "alice", good) == PAM_SUCCESS && prompts == 1,
	   "try_first_pass uses PAM_AUTHTOK when set");
	ok(authenticate("jwt-try-first", "alice", good) == PAM_SUCCESS && prompts == 1,
	   "try_first_pass prompts when PAM_AUTHTOK is not set");
	ok(authenticate("jwt", "alice", good) == PAM_SUCCESS && prompts == 1,
	   "without first_pass options the module prompts");
	free(good);
}

static void test_logging(void)
{
	char *good = mint(JWS_RS256, "https://idp.example.com", "alice", 300);
	char *expired = mint(JWS_RS256, "https://idp.example.com", "alice", -3600);
	char *sig = strrchr(expired, '.') + 1;
	char payload_part[40];
	const char *p1 = strchr(expired, '.') + 1;

	snprintf(payload_part, sizeof(payload_part), "%.30s", p1);
	logbuf[0] = '\0';
	authenticate("jwt", "alice", expired);
	ok(strstr(logbuf, "expired") != NULL && strstr(logbuf, "issuer=test") != NULL &&
	       strstr(logbuf, "kid=RS256") && strstr(logbuf, "alg=RS256") && strstr(logbuf, "sub=sub-alice"),
	   "refusal logged with reason, issuer, kid, alg and subject");
	ok(strstr(logbuf, sig) == NULL && strstr(logbuf, payload_part) == NULL,
	   "neither the signature nor the payload is logged");
	logbuf[0] = '\0';
	authenticate("jwt", "alice", good);
	ok(strstr(logbuf, "accepted token for alice") != NULL, "acceptance logged");
	logbuf[0] = '\0';
	authenticate("jwt-badarg", "alice", good);
	ok(strstr(logbuf, "no_such_argument") != NULL, "unknown module argument logged");
	free(good);
	free(expired);
	{
		/* A kid with control characters is escaped in the log. */
		char *hdr = strdup("{\"alg\":\"RS256\",\"kid\":\"evil\\nkid\\u001b[31m\"}");
		char *pl =
		    tk_strf("{\"iss\":\"https://idp.example.com\",\"aud\":\"pam\",\"sub\":\"x\",\"exp\":%lld,"
		            "\"preferred_username\":\"alice\"}",
		            (long long)time(NULL) + 300);
		char *t = tk_sign(JWS_RS256, keys[JWS_RS256], hdr, pl);
		logbuf[0] = '\0';
		authenticate("jwt", "alice", t);
		ok(strstr(logbuf, "evil\\x0akid\\x1b[31m") != NULL && strchr(logbuf, '\x1b') == NULL,
		   "control characters in a kid are escaped");
		free(hdr);
		free(pl);
		free(t);
	}
}

/* The continuation protocol: sizes at and past the known client limits, parts as pam-jwt-askpass sends
 * them for sudo (511 bytes) and for ssh (1023), and the bound (max_token_size 16384). */
static void test_continuation_sizes(void)
{
	static const size_t sizes[] = {511, 1023, 1024, 4096, 16384};
	static const size_t part_sizes[] = {511, 1023};
	char *parts[80];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *t = sized_token(sizes[i]);

		ok(authenticate("jwt", "alice", t) == PAM_SUCCESS && prompts == 1, "%zu bytes in one answer",
		   sizes[i]);
		for (size_t j = 0; j < 2; j++) {
			int n = split_token(t, part_sizes[j], parts, 80), longest = 0;

			for (int k = 0; k < n; k++)
				if ((int)strlen(parts[k]) > longest)
					longest = (int)strlen(parts[k]);
			int rc = authenticate_parts("jwt", "alice", parts, n);

			ok(rc == PAM_SUCCESS && prompts == n && longest <= (int)part_sizes[j],
			   "%zu bytes in %d answers of at most %zu bytes: accepted after %d prompts",
			   sizes[i], n, part_sizes[j], prompts);
			free_parts(parts, n);
		}
		free(t);
	}
}

static void test_continuation_bounds(void)
{
	char *t = sized_token(16385), *parts[80], *many[70];
	int n = split_token(t, 511, parts, 80), rc;

	logbuf[0] = '\0';
	ok(authenticate("jwt", "alice", t) == PAM_AUTH_ERR && strstr(logbuf, "max_token_size") != NULL,
	   "16385 bytes (max_token_size + 1) in one answer: refused");
	logbuf[0] = '\0';
	ok(authenticate_parts("jwt", "alice", parts, n) == PAM_AUTH_ERR && prompts == n &&
	       strstr(logbuf, "longer than max_token_size 16384 at part 33") != NULL,
	   "16385 bytes in 33 parts: refused at part 33, the part that passes the bound");
	free_parts(parts, n);
	/* 64 parts of one character each, all asking for more. */
	many[0] = strdup("eyJhbGciOi\\");
	for (int i = 1; i < 70; i++)
		many[i] = strdup("A\\");
	logbuf[0] = '\0';
	rc = authenticate_parts("jwt", "alice", many, 70);
	ok(rc == PAM_AUTH_ERR && prompts == PJ_CONT_MAX_PARTS && strstr(logbuf, "more than 64 parts") != NULL,
	   "a 64th part that asks for more is refused without a 65th prompt (%d prompts)", prompts);
	free_parts(many, 70);
	free(t);
}

static void test_continuation_rules(void)
{
	char *t = sized_token(1500), *parts[8];
	int n = split_token(t, 511, parts, 8);
	char *bad[3], *pw[2] = {"hunter2\\", NULL}, *two[2];

	authenticate_parts("jwt", "alice", parts, n);
	ok(strcmp(prompt_text[0], "JWT: ") == 0 && strcmp(prompt_text[1], "JWT (continued, part 2): ") == 0 &&
	       strcmp(prompt_text[2], "JWT (continued, part 3): ") == 0,
	   "prompts: \"JWT: \", then \"JWT (continued, part N): \"");
	ok(authenticate_parts("jwt-twice", "alice", parts, n) == PAM_SUCCESS && prompts == n,
	   "the joined token is PAM_AUTHTOK for the next module (use_first_pass)");
	/* The last part may be empty: a person ends with a line of its own. */
	two[0] = tk_strf("%s\\", t);
	two[1] = strdup("");
	ok(authenticate_parts("jwt", "alice", two, 2) == PAM_SUCCESS && prompts == 2,
	   "a whole token ending in '\\', then an empty last part: accepted");
	free_parts(two, 2);
	/* A character that cannot be in a token, in a later part. */
	bad[0] = parts[0];
	bad[1] = tk_strf("%.*s \\", 20, parts[1]);
	bad[2] = parts[2];
	logbuf[0] = '\0';
	ok(authenticate_parts("jwt", "alice", bad, 3) == PAM_AUTH_ERR && prompts == 2 &&
	       strstr(logbuf, "part 2 holds a character") != NULL,
	   "a part with a space is refused at once");
	free(bad[1]);
	/* The conversation ends before the last part. */
	logbuf[0] = '\0';
	ok(authenticate_parts("jwt", "alice", parts, 2) != PAM_SUCCESS && prompts == 3 &&
	       strstr(logbuf, "conversation failed at part 3") != NULL,
	   "a conversation that fails at part 3 fails the authentication, logged");
	/* A password ending in '\\' is a password: no second prompt, passed on with ignore_non_jwt. */
	ok(authenticate_parts("jwt-ignore-probe", "alice", pw, 1) == PAM_SUCCESS && prompts == 1,
	   "a password ending in '\\' is taken whole (PAM_IGNORE with ignore_non_jwt, one prompt)");
	ok(authenticate_parts("jwt-or-deny", "alice", pw, 1) == PAM_AUTH_ERR && prompts == 1,
	   "and is not a token");
	free_parts(parts, n);
	free(t);
}

/* A token cut where a client cuts answers names the cause in the log; other lengths do not. */
static void test_truncation_hint(void)
{
	char *t = sized_token(1555), *cut;

	cut = strndup(t, 511);
	logbuf[0] = '\0';
	ok(authenticate("jwt", "alice", cut) == PAM_AUTH_ERR && strstr(logbuf, "exactly 511 bytes") != NULL &&
	       strstr(logbuf, "sudo") != NULL && strstr(logbuf, "pam-jwt-askpass") != NULL,
	   "a token cut to 511 bytes: the log says sudo probably cut it and names pam-jwt-askpass");
	free(cut);
	cut = strndup(t, 1023);
	logbuf[0] = '\0';
	ok(authenticate("jwt", "alice", cut) == PAM_AUTH_ERR &&
	       strstr(logbuf, "exactly 1023 bytes") != NULL && strstr(logbuf, "OpenSSH") != NULL,
	   "a token cut to 1023 bytes: the log names the OpenSSH client's buffer");
	free(cut);
	free(t);
	t = sized_token(5000);
	cut = strndup(t, 4095);
	logbuf[0] = '\0';
	ok(authenticate("jwt", "alice", cut) == PAM_AUTH_ERR &&
	       strstr(logbuf, "exactly 4095 bytes") != NULL && strstr(logbuf, "su, login") != NULL,
	   "a token cut to 4095 bytes: the log names pam_misc's line buffer");
	free(cut);
	cut = strndup(t, 1024);
	logbuf[0] = '\0';
	ok(authenticate("jwt", "alice", cut) == PAM_AUTH_ERR && strstr(logbuf, "cut off") == NULL,
	   "a token cut to 1024 bytes: no such hint");
	free(cut);
	{
		char *parts[2] = {tk_strf("%.510s\\", t), strndup(t + 510, 511)};

		logbuf[0] = '\0';
		ok(authenticate_parts("jwt", "alice", parts, 2) == PAM_AUTH_ERR &&
		       strstr(logbuf, "answer 2 is exactly 511 bytes") != NULL,
		   "a last part cut to 511 bytes: the hint names the part");
		free_parts(parts, 2);
	}
	free(t);
}

static void test_authorization(void)
{
	char *devs = mint_claims("alice", "sub-alice", 300, ",\"groups\":[\"devs\"]");
	char *ops = mint_claims("alice", "sub-alice", 300, ",\"groups\":[\"devs\",\"ops\"]");
	char *mfa = mint_claims("alice", "sub-alice", 300,
	                        ",\"acr\":\"mfa\",\"amr\":[\"pwd\",\"otp\"],\"org\":{\"level\":3}");
	char *nomfa = mint_claims("alice", "sub-alice", 300,
	                          ",\"acr\":\"mfa\",\"amr\":[\"pwd\"],\"org\":{\"level\":3}");
	char *lowlevel = mint_claims("alice", "sub-alice", 300,
	                             ",\"acr\":\"mfa\",\"amr\":[\"otp\"],\"org\":{\"level\":30}");

	ok(authenticate("jwt-admins", "alice", ops) == PAM_SUCCESS,
	   "require_groups=admins,ops: a token in ops");
	logbuf[0] = '\0';
	ok(authenticate("jwt-admins", "alice", devs) == PAM_AUTH_ERR &&
	       strstr(logbuf, "none of the required groups") != NULL,
	   "require_groups=admins,ops: a token in devs only is refused, logged");
	ok(authenticate("jwt", "alice", devs) == PAM_SUCCESS, "the same token without the rule is accepted");
	ok(authenticate("jwt-acr", "alice", mfa) == PAM_SUCCESS,
	   "require_claim: string, array element and nested integer all hold");
	ok(authenticate("jwt-acr", "alice", nomfa) == PAM_AUTH_ERR,
	   "require_claim: an array without the value");
	ok(authenticate("jwt-acr", "alice", lowlevel) == PAM_AUTH_ERR,
	   "require_claim: a nested integer of another value (30 is not 3)");
	ok(authenticate("jwt-acr", "alice", devs) == PAM_AUTH_ERR, "require_claim: a missing claim");
	ok(authenticate("jwt-issuer-test", "alice", devs) == PAM_SUCCESS, "require_issuer=test: accepted");
	ok(authenticate("jwt-issuer-gone", "alice", devs) == PAM_AUTH_ERR,
	   "require_issuer=gone: a token of [issuer test] is refused");
	ok(authenticate("jwt-badclaim", "alice", devs) == PAM_SERVICE_ERR,
	   "require_claim without a value: PAM_SERVICE_ERR");
	ok(authenticate("jwt-emptyarg", "alice", devs) == PAM_SERVICE_ERR,
	   "an empty argument: PAM_SERVICE_ERR");
	ok(authenticate("jwt-repeated", "alice", devs) == PAM_SERVICE_ERR,
	   "a repeated argument: PAM_SERVICE_ERR");
	logbuf[0] = '\0';
	ok(authenticate("jwt-emptyprompt", "alice", devs) == PAM_SERVICE_ERR &&
	       strstr(logbuf, "malformed or repeated module argument: prompt=") != NULL,
	   "an empty prompt= (which nothing after the argument parser would refuse): PAM_SERVICE_ERR, "
	   "logged");
	free(mfa);
	/* [service NAME] sections of pam_jwt.conf */
	mfa = mint_claims("alice", "sub-alice", 300, ",\"acr\":\"mfa\",\"groups\":[\"admins\"]");
	logbuf[0] = '\0';
	ok(authenticate("jwt-svc", "alice", devs) == PAM_AUTH_ERR &&
	       strstr(logbuf, "[service jwt-svc]") != NULL,
	   "[service jwt-svc] applies to PAM service jwt-svc: a token in devs only is refused, logged");
	ok(authenticate("jwt-svc", "alice", ops) == PAM_AUTH_ERR, "and one in devs and ops");
	ok(authenticate("jwt-svc", "alice", mfa) == PAM_SUCCESS, "and one in admins is accepted");
	ok(authenticate("jwt-svc-alias", "alice", devs) == PAM_AUTH_ERR &&
	       authenticate("jwt-svc-alias", "alice", mfa) == PAM_SUCCESS,
	   "service=jwt-svc picks that section for another PAM service name");
	ok(authenticate("jwt-svc-nosuch", "alice", mfa) == PAM_SERVICE_ERR,
	   "service= naming a missing section: PAM_SERVICE_ERR");
	ok(authenticate("jwt-svc-both", "alice", mfa) == PAM_SUCCESS,
	   "section (acr=mfa) and module line (require_groups=admins) both hold: accepted");
	ok(authenticate("jwt-svc-both", "alice", ops) == PAM_AUTH_ERR,
	   "the section's rule alone fails: refused");
	free(mfa);
	mfa = mint_claims("alice", "sub-alice", 300, ",\"acr\":\"mfa\",\"groups\":[\"devs\"]");
	ok(authenticate("jwt-svc-both", "alice", mfa) == PAM_AUTH_ERR,
	   "the module line's rule alone fails: refused");
	/* [service default]: the rules of a PAM service that has no section (su, login, polkit-1...) */
	logbuf[0] = '\0';
	ok(authenticate("jwt-nosection", "alice", devs) == PAM_AUTH_ERR &&
	       strstr(logbuf, "[service default]") != NULL,
	   "[service default] applies to a PAM service without a section: devs only is refused, logged");
	free(mfa);
	mfa = mint_claims("alice", "sub-alice", 300, ",\"groups\":[\"admins\"]");
	ok(authenticate("jwt-nosection", "alice", mfa) == PAM_SUCCESS, "and admins is accepted");
	ok(authenticate("jwt-own", "alice", devs) == PAM_SUCCESS,
	   "a service with a section of its own gets only that section's rules");
	free(devs);
	free(ops);
	free(mfa);
	free(nomfa);
	free(lowlevel);
}

/* After a login the user is in the store, bound to the token's (iss, sub). */
static void test_user_store(void)
{
	char *erin = mint_claims("erin", "sub-erin", 300, ",\"groups\":[\"devs\"]");
	char *other = mint_claims("erin", "another-erin", 300, "");
	char *path = tk_strf("%s/state", dir);
	struct userstore *us = NULL;
	struct us_user *u;
	struct pj_error err;

	ok(authenticate("jwt", "erin", erin) == PAM_SUCCESS, "erin logs in");
	ok(userstore_open(path, false, &us, &err) == PJ_OK && (u = userstore_user(us, "erin")) != NULL &&
	       strcmp(u->iss, "https://idp.example.com") == 0 && strcmp(u->sub, "sub-erin") == 0 &&
	       u->last_login > 0,
	   "erin is recorded in the store, bound to her (iss, sub)");
	userstore_close(us);
	logbuf[0] = '\0';
	ok(authenticate("jwt", "erin", other) == PAM_AUTH_ERR &&
	       strstr(logbuf, "refused token for erin") != NULL,
	   "a token for erin with another sub is refused (binding conflict), logged");
	ok(authenticate("jwt-openstate", "erin", erin) != PAM_SUCCESS && strstr(logbuf, "openstate") != NULL,
	   "a store that cannot be trusted fails the authentication");
	free(erin);
	free(other);
	free(path);
}

static int account(const char *service, const char *user)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	if ((rc = pam_start_confdir(service, user, &c, dir, &pamh)) != PAM_SUCCESS)
		return -1000 - rc;
	rc = pam_acct_mgmt(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

static void test_account(void)
{
	char *path = tk_strf("%s/state", dir), *frank = mint_claims("frank", "sub-frank", 300, "");
	struct userstore *us = NULL;
	struct us_user *u = NULL;
	struct pj_error err;

	/* A user added by the administrator who never logged in with a token. */
	if (userstore_open(path, true, &us, &err) != PJ_OK ||
	    mapping_add_user(us, "gina", 0, "Gina", time(NULL), NULL, NULL, &u, &err) != PJ_OK ||
	    userstore_commit(us, time(NULL), &err) != PJ_OK) {
		printf("Bail out! cannot add gina: %s\n", err.reason);
		exit(1);
	}
	userstore_close(us);
	ok(authenticate("jwt", "frank", frank) == PAM_SUCCESS, "frank logs in");
	ok(account("jwt-acct", "frank") == PAM_SUCCESS, "acct_mgmt: a token user within account_max_age");
	logbuf[0] = '\0';
	ok(account("jwt-acct", "gina") == PAM_ACCT_EXPIRED && strstr(logbuf, "gina expired") != NULL,
	   "acct_mgmt: a stored user without a token login in account_max_age: PAM_ACCT_EXPIRED");
	ok(account("jwt-acct-probe", "nosuchuser") == PAM_SUCCESS,
	   "acct_mgmt: PAM_IGNORE for a user not in the store");
	ok(account("jwt-acct-probe", "frank") != PAM_SUCCESS,
	   "acct_mgmt: and not PAM_IGNORE for a stored user");
	/* the service's rules, on every login method, from what the last token login recorded */
	logbuf[0] = '\0';
	ok(account("jwt-acct-admins", "frank") == PAM_PERM_DENIED &&
	       strstr(logbuf, "account frank refused: [service jwt-acct-admins]") != NULL,
	   "acct_mgmt: a token user outside the service's require_groups is refused, whatever the login "
	   "method");
	ok(account("jwt-acct-mfa", "frank") == PAM_PERM_DENIED, "and outside its require_claim");
	free(frank);
	frank = mint_claims("frank", "sub-frank", 300, ",\"acr\":\"mfa\",\"groups\":[\"admins\"]");
	ok(authenticate("jwt", "frank", frank) == PAM_SUCCESS &&
	       account("jwt-acct-admins", "frank") == PAM_SUCCESS &&
	       account("jwt-acct-mfa", "frank") == PAM_SUCCESS,
	   "after a token login in admins with acr=mfa, both services admit frank");
	ok(account("jwt-acct-alias", "frank") == PAM_SUCCESS &&
	       account("jwt-acct-line", "frank") == PAM_SUCCESS &&
	       account("jwt-acct-default", "frank") == PAM_SUCCESS,
	   "and so do service=jwt-acct-admins, require_groups=admins on the line and [service default]");
	free(frank);
	frank = mint_claims("frank", "sub-frank", 300, ",\"groups\":[\"devs\"]");
	ok(authenticate("jwt", "frank", frank) == PAM_SUCCESS &&
	       account("jwt-acct-admins", "frank") == PAM_PERM_DENIED,
	   "the IdP moved frank out of admins: his next token login anywhere ends the admins service for "
	   "him");
	ok(account("jwt-acct-alias", "frank") == PAM_PERM_DENIED,
	   "acct_mgmt: service= names the section whose rules apply");
	ok(account("jwt-acct-line", "frank") == PAM_PERM_DENIED &&
	       strstr(logbuf, "account frank refused: module arguments") != NULL,
	   "acct_mgmt: the module line's require_groups applies, logged");
	logbuf[0] = '\0';
	ok(account("jwt-acct-default", "frank") == PAM_PERM_DENIED &&
	       strstr(logbuf, "account frank refused: [service default]") != NULL,
	   "acct_mgmt: [service default] applies to a PAM service without a section, logged");
	ok(account("jwt-acct", "frank") == PAM_SUCCESS, "a service without rules still admits him");
	logbuf[0] = '\0';
	ok(account("jwt-acct-openstate-probe", "frank") == PAM_SUCCESS &&
	       strstr(logbuf, "account check for frank") != NULL && strstr(logbuf, "openstate") != NULL,
	   "acct_mgmt: a store that cannot be trusted: PAM_IGNORE (documented: local accounts keep working), "
	   "logged");
	/* the login records' directory, made afresh by a login under a restrictive umask, is 0755 like the
	 * store's (its records are 0644) */
	{
		char *logins = tk_strf("%s/logins", path), *rm = tk_strf("rm -rf '%s'", logins);
		mode_t old_mask = umask(077);
		struct stat st;

		ok(system(rm) == 0 && authenticate("jwt", "frank", frank) == PAM_SUCCESS &&
		       stat(logins, &st) == 0 && (st.st_mode & 07777) == 0755,
		   "a login under umask 077 makes the login records' directory 0755");
		umask(old_mask);
		free(rm);
		free(logins);
	}
	free(frank);
	free(path);
}

static int env_is(pam_handle_t *pamh, const char *name, const char *want)
{
	const char *v = pam_getenv(pamh, name);

	if (want == NULL)
		return v == NULL;
	return v != NULL && strcmp(v, want) == 0;
}

static int env_none(pam_handle_t *pamh)
{
	return env_is(pamh, "PAM_JWT_ISSUER", NULL) && env_is(pamh, "PAM_JWT_SUBJECT", NULL) &&
	       env_is(pamh, "PAM_JWT_USER", NULL) && env_is(pamh, "PAM_JWT_GROUPS", NULL) &&
	       env_is(pamh, "PAM_JWT_EXP", NULL);
}

/* The identity in the PAM environment: set by authentication, kept or rebuilt by the session. */
static void test_session_env(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	char *t = mint_claims("alice", "sub-alice", 300, ",\"groups\":[\"devs\",\"ops\",\"a\\nb\"]");
	char exp[32];
	int rc;

	snprintf(exp, sizeof(exp), "%lld", (long long)time(NULL) + 300);
	answer = t;
	pam_start_confdir("jwt-session", "alice", &c, dir, &pamh);
	pam_putenv(pamh, "PAM_JWT_GROUPS=admins");
	rc = pam_authenticate(pamh, 0);
	ok(rc == PAM_SUCCESS && env_is(pamh, "PAM_JWT_ISSUER", "https://idp.example.com") &&
	       env_is(pamh, "PAM_JWT_SUBJECT", "sub-alice") && env_is(pamh, "PAM_JWT_USER", "alice") &&
	       env_is(pamh, "PAM_JWT_GROUPS", "devs,ops,a\\x0ab"),
	   "authentication puts issuer, subject, user and groups (escaped) in the PAM environment");
	{
		const char *e = pam_getenv(pamh, "PAM_JWT_EXP");
		long long d = e != NULL ? strtoll(e, NULL, 10) - atoll(exp) : 99;
		ok(d >= -5 && d <= 5, "and PAM_JWT_EXP, the token's exp");
	}
	/* Something changes the environment between authentication and the session. */
	pam_putenv(pamh, "PAM_JWT_USER=mallory");
	pam_putenv(pamh, "PAM_JWT_GROUPS=admins");
	ok(pam_open_session(pamh, 0) == PAM_SUCCESS && env_is(pamh, "PAM_JWT_USER", "alice") &&
	       env_is(pamh, "PAM_JWT_GROUPS", "devs,ops,a\\x0ab"),
	   "open_session in the same process rebuilds the values from the authentication");
	pam_close_session(pamh, 0);
	/* A failed authentication on the same handle leaves nothing behind. */
	answer = "not a token";
	ok(pam_authenticate(pamh, 0) == PAM_AUTH_ERR && env_none(pamh),
	   "a failed authentication removes every PAM_JWT_* variable");
	ok(pam_open_session(pamh, 0) == PAM_SUCCESS && env_none(pamh), "and a session after it exports none");
	pam_end(pamh, PAM_SUCCESS);

	/* sshd's case: the authentication ran in another process; only the environment came over. */
	pam_start_confdir("jwt-session", "alice", &c, dir, &pamh);
	pam_putenv(pamh, "PAM_JWT_ISSUER=https://idp.example.com");
	pam_putenv(pamh, "PAM_JWT_USER=alice");
	pam_putenv(pamh, "PAM_JWT_GROUPS=devs");
	ok(pam_open_session(pamh, 0) == PAM_SUCCESS && env_is(pamh, "PAM_JWT_USER", "alice") &&
	       env_is(pamh, "PAM_JWT_GROUPS", "devs"),
	   "open_session keeps values carried over from another process for the same user");
	pam_end(pamh, PAM_SUCCESS);
	pam_start_confdir("jwt-session", "alice", &c, dir, &pamh);
	pam_putenv(pamh, "PAM_JWT_USER=bob");
	pam_putenv(pamh, "PAM_JWT_GROUPS=admins");
	ok(pam_open_session(pamh, 0) == PAM_SUCCESS && env_none(pamh),
	   "and removes them all when they name another user");
	pam_end(pamh, PAM_SUCCESS);
	free(t);
}

/* PAM_JWT_GROUPS is a comma-separated list: a group name holding a comma must not read as two groups. */
static void test_session_groups_separator(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	char *t = mint_claims("alice", "sub-alice", 300, ",\"groups\":[\"devs\",\"x,admins\",\"a\\\\b\"]");
	const char *v;

	answer = t;
	pam_start_confdir("jwt-session", "alice", &c, dir, &pamh);
	ok(pam_authenticate(pamh, 0) == PAM_SUCCESS && (v = pam_getenv(pamh, "PAM_JWT_GROUPS")) != NULL &&
	       strcmp(v, "devs,x\\x2cadmins,a\\\\b") == 0,
	   "a comma inside a group name is escaped in PAM_JWT_GROUPS (no group \"admins\" appears)");
	pam_end(pamh, PAM_SUCCESS);
	free(t);
}

/* The session step reads the opkssh certificates sshd names in SSH_AUTH_INFO_0 (pam/pam_opkssh.c); one it
 * cannot read, for the variable's size, is a refusal, not a session left unrecorded. */
static void test_session_auth_info_too_long(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	static const char head[] = "SSH_AUTH_INFO_0=publickey ssh-ed25519-cert-v01@openssh.com ";
	size_t n = sizeof(head) - 1 + 300 * 1024;
	char *env = malloc(n + 1);

	memcpy(env, head, sizeof(head) - 1);
	memset(env + sizeof(head) - 1, 'A', n - (sizeof(head) - 1));
	env[n] = '\0';
	pam_start_confdir("jwt-session", "alice", &c, dir, &pamh);
	pam_putenv(pamh, env);
	ok(pam_open_session(pamh, 0) == PAM_SESSION_ERR,
	   "a certificate in an SSH_AUTH_INFO_0 over 256 KiB: the session step refuses (PAM_SESSION_ERR)");
	pam_end(pamh, PAM_SUCCESS);
	free(env);
}

static void test_setcred(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;

	pam_start_confdir("jwt", "alice", &c, dir, &pamh);
	ok(pam_setcred(pamh, PAM_ESTABLISH_CRED) == PAM_SUCCESS, "pam_setcred: PAM_SUCCESS");
	pam_end(pamh, PAM_SUCCESS);
}

/* ---- DPoP (issue #13): the nonce in the prompt, "TOKEN~PROOF" in the answer ---- */

static struct {
	EVP_PKEY *key;       /* signs the proofs */
	const char *token;   /* the token sent */
	bool no_proof;       /* send the token alone */
	const char *nonce;   /* NULL: the prompt's; else this one (replay) */
	const char *service; /* NULL: the prompt's */
	unsigned delay;      /* seconds to wait before answering */
	size_t part_size;    /* 0: one answer; else parts as pam-jwt-askpass sends them */
	char last_nonce[64]; /* the nonce of the last prompt */
	char *parts[16];
	int n_parts, next_part;
} dp;

/* The conversation of a DPoP client: reads nonce and service from the prompt, answers token~proof. */
static char *dpop_answer(const char *prompt)
{
	const char *n = strstr(prompt, PJ_DPOP_PROMPT_PREFIX), *sv;
	char service[64] = "", *htu, *proof = NULL, *full;
	struct pj_host_names names;
	struct pj_error err;

	if (pj_cont_prompt_part(prompt) > 0)
		return dp.next_part < dp.n_parts ? strdup(dp.parts[dp.next_part++]) : NULL;
	if (n == NULL || (sv = strstr(n, " service=")) == NULL)
		return strdup(dp.token);
	n += strlen(PJ_DPOP_PROMPT_PREFIX);
	snprintf(dp.last_nonce, sizeof(dp.last_nonce), "%.*s", (int)strcspn(n, " "), n);
	sv += strlen(" service=");
	snprintf(service, sizeof(service), "%.*s", (int)strcspn(sv, "]"), sv);
	if (dp.no_proof)
		return strdup(dp.token);
	if (dp.delay > 0)
		sleep(dp.delay);
	pj_host_names_get(&names, &err);
	htu = tk_strf("pam://%s/%s", names.fqdn, dp.service ? dp.service : service);
	dpop_proof_make(dp.key, "PAM", htu, dp.nonce ? dp.nonce : dp.last_nonce, dp.token, strlen(dp.token),
	                time(NULL), &proof, &err);
	full = tk_strf("%s~%s", dp.token, proof);
	free(htu);
	free(proof);
	if (dp.part_size == 0)
		return full;
	dp.n_parts = split_token(full, dp.part_size, dp.parts, 16);
	dp.next_part = 1;
	free(full);
	return strdup(dp.parts[0]);
}

static int dpop_login(const char *service, const char *token)
{
	int rc;

	dp.token = token;
	answer_fn = dpop_answer;
	logbuf[0] = '\0';
	rc = authenticate(service, "alice", token);
	answer_fn = NULL;
	free_parts(dp.parts, dp.n_parts);
	dp.n_parts = 0;
	return rc;
}

static void test_dpop(void)
{
	char *conf, *jwk, *jkt, *cnf, *bound, *plain, first_nonce[64];
	struct pj_error err;
	int rc;
	json_object *o;
	char thumb[64];

	dp.key = tk_keygen(JWS_ES256);
	jwk = tk_jwk_json(dp.key, NULL, NULL, NULL);
	o = json_tokener_parse(jwk);
	dpop_jwk_thumbprint(o, thumb, sizeof(thumb), &err);
	json_object_put(o);
	jkt = thumb;
	cnf = tk_strf(",\"cnf\":{\"jkt\":\"%s\"}", jkt);
	bound = mint_claims("alice", "sub-alice", 300, cnf);
	plain = mint_claims("alice", "sub-alice", 300, "");
	for (int i = 0; i < 2; i++) {
		conf = tk_strf(
		    "[global]\nstate_dir = %s/state\ndpop = yes\ndpop_nonce_lifetime = %d\n"
		    "[issuer test]\nissuer = https://idp.example.com\naudience = pam\nalgorithms = ES256\n"
		    "jwks_file = %s/jwks.json\n[service jwt-dpop-sudo]\nrequire_dpop = yes\n",
		    dir, i == 0 ? 120 : 1, dir);
		write_file(i == 0 ? "dpop.conf" : "dpop-short.conf", conf, 0644);
		free(conf);
	}
	conf = tk_strf("auth required %s config=%s/dpop.conf\n", module_path, dir);
	write_file("jwt-dpop", conf, 0644);
	write_file("jwt-dpop-sudo", conf, 0644);
	free(conf);
	conf = tk_strf("auth required %s config=%s/dpop-short.conf\n", module_path, dir);
	write_file("jwt-dpop-short", conf, 0644);
	free(conf);

	ok(dpop_login("jwt-dpop", bound) == PAM_SUCCESS && strncmp(prompt_text[0], "[DPoP nonce=", 12) == 0 &&
	       strstr(prompt_text[0], " service=jwt-dpop] JWT: ") != NULL,
	   "a bound token with a proof for the nonce in the prompt (\"%s\") logs in", prompt_text[0]);
	snprintf(first_nonce, sizeof(first_nonce), "%s", dp.last_nonce);
	ok(strstr(logbuf, "accepted token for alice") != NULL && strstr(logbuf, bound + 40) == NULL,
	   "logged as accepted, and no part of the token in the log");
	dp.no_proof = true;
	ok(dpop_login("jwt-dpop", bound) == PAM_AUTH_ERR &&
	       strstr(logbuf, "DPoP-bound (cnf.jkt) but no DPoP proof came with it") != NULL,
	   "the same token without a proof: refused, logged why");
	dp.no_proof = false;
	ok(strcmp(first_nonce, dp.last_nonce) != 0 && strlen(dp.last_nonce) == PJ_DPOP_NONCE_LEN,
	   "every conversation has its own nonce");
	dp.nonce = first_nonce;
	ok(dpop_login("jwt-dpop", bound) == PAM_AUTH_ERR &&
	       strstr(logbuf, "nonce is not the one issued for this login") != NULL,
	   "a proof for an earlier conversation's nonce (replayed): refused, logged why");
	dp.nonce = NULL;
	dp.service = "sshd";
	ok(dpop_login("jwt-dpop", bound) == PAM_AUTH_ERR &&
	       strstr(logbuf, "htu names service \"sshd\", not jwt-dpop"),
	   "a proof for another service: refused, logged why");
	dp.service = NULL;
	dp.delay = 2;
	ok(dpop_login("jwt-dpop-short", bound) == PAM_AUTH_ERR &&
	       strstr(logbuf, "DPoP proof: nonce expired") != NULL,
	   "a nonce older than dpop_nonce_lifetime (1s here): refused, logged why");
	dp.delay = 0;
	ok(dpop_login("jwt-dpop", plain) == PAM_AUTH_ERR &&
	       strstr(logbuf, "a DPoP proof came with a token that is not DPoP-bound") != NULL,
	   "a plain token with a proof: refused, logged why");
	dp.no_proof = true;
	ok(dpop_login("jwt-dpop", plain) == PAM_SUCCESS,
	   "a plain token where DPoP is offered but not required");
	ok(dpop_login("jwt-dpop-sudo", plain) == PAM_AUTH_ERR &&
	       strstr(logbuf, "require_dpop (service)") != NULL,
	   "the same plain token for a service with require_dpop: refused, logged why");
	dp.no_proof = false;
	ok(dpop_login("jwt-dpop-sudo", bound) == PAM_SUCCESS,
	   "and the bound token with its proof passes there");
	dp.part_size = PJ_CONT_SUDO_LIMIT;
	rc = dpop_login("jwt-dpop-sudo", bound);
	ok(rc == PAM_SUCCESS && prompts > 1, "token~proof in %d parts of at most 511 bytes, as for sudo",
	   prompts);
	dp.part_size = 0;
	ok(dpop_login("jwt", bound) == PAM_AUTH_ERR && strcmp(prompt_text[0], "JWT: ") == 0,
	   "without dpop in the configuration the prompt has no nonce and a bound token is refused");
	EVP_PKEY_free(dp.key);
	free(jwk);
	free(cnf);
	free(bound);
	free(plain);
}

int main(void)
{
	char *cmd;

	if (geteuid() != 0)
		tap_skip_all("key and config files must be root-owned: run as root");
	setup();
	test_algorithms();
	test_refusals();
	test_token_sources();
	test_logging();
	test_continuation_sizes();
	test_continuation_bounds();
	test_continuation_rules();
	test_truncation_hint();
	test_authorization();
	test_user_store();
	test_account();
	test_session_env();
	test_session_auth_info_too_long();
	test_session_groups_separator();
	test_setcred();
	test_dpop();
	for (int a = 0; a < JWS_ALG_COUNT; a++)
		EVP_PKEY_free(keys[a]);
	cmd = tk_strf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(cmd);
	free(module_path);
	return tap_done();
}
