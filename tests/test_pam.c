/* test_pam.c: pam_jwt.so through the real libpam (pam_start_confdir), return codes and what reaches syslog. */
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

#include "jws_alg.h"
#include "tap.h"
#include "testkit.h"

static char dir[] = "/tmp/pj_pam_XXXXXX";
static char *module_path;
static EVP_PKEY *keys[JWS_ALG_COUNT];
static const char *answer; /* what the conversation types at the prompt */
static int prompts;
static char logbuf[65536];  /* everything libpam sent to syslog */

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

	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF) {
			prompts++;
			if (answer == NULL) {
				free(r);
				return PAM_CONV_ERR;
			}
			r[i].resp = strdup(answer);
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char *path = tk_strf("%s/%s", dir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	chmod(path, mode);
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
	conf = tk_strf("[issuer test]\nissuer = https://idp.example.com\naudience = pam\n"
		       "algorithms = RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA\n"
		       "jwks_file = %s/jwks.json\n"
		       "[issuer gone]\nissuer = https://gone.example.com\naudience = pam\njwks_file = %s/missing.json\n",
		       dir, dir);
	write_file("pam_jwt.conf", conf, 0644);
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
	conf = tk_strf("auth required %s config=%s/pam_jwt.conf\nauth required pam_deny.so\n", module_path, dir);
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
	conf = tk_strf("auth sufficient %s config=%s/pam_jwt.conf ignore_non_jwt\nauth required pam_deny.so\n",
		       module_path, dir);
	write_file("jwt-or-deny", conf, 0644);
	free(conf);
}

static char *mint(enum jws_alg_id a, const char *iss, const char *user, long exp_delta)
{
	char *hdr = tk_strf("{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", jws_alg_by_id(a)->name,
			    jws_alg_by_id(a)->name);
	char *pl = tk_strf("{\"iss\":\"%s\",\"aud\":\"pam\",\"sub\":\"sub-%s\",\"exp\":%lld,\"preferred_username\":\"%s\"}",
			   iss, user, (long long)time(NULL) + exp_delta, user);
	char *t = tk_sign(a, keys[a], hdr, pl);

	free(hdr);
	free(pl);
	return t;
}

/* Runs pam_authenticate for service and user with the conversation answering token (NULL: conversation
 * fails). */
static int authenticate(const char *service, const char *user, const char *token)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	answer = token;
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
		ok(authenticate("jwt", "alice", t) == PAM_SUCCESS, "%s token logs in through libpam",
		   jws_alg_by_id((enum jws_alg_id)a)->name);
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
	ok(authenticate("jwt", "alice", gone) == PAM_AUTHINFO_UNAVAIL, "no keys for the issuer: PAM_AUTHINFO_UNAVAIL");
	ok(authenticate("jwt-or-deny", "alice", "hunter2") == PAM_AUTH_ERR,
	   "ignore_non_jwt passes a password on to the next module");
	ok(authenticate("jwt-or-deny", "alice", good) == PAM_SUCCESS, "sufficient pam_jwt ends the stack on success");
	ok(authenticate("jwt-then-deny", "alice", good) == PAM_AUTH_ERR, "required pam_jwt then pam_deny fails");
	ok(authenticate("jwt-badconf", "alice", good) == PAM_SERVICE_ERR, "config with an unknown key: PAM_SERVICE_ERR");
	ok(authenticate("jwt-openconf", "alice", good) == PAM_SERVICE_ERR,
	   "config writable by others: PAM_SERVICE_ERR");
	ok(authenticate("jwt-badarg", "alice", good) == PAM_SERVICE_ERR, "unknown module argument: PAM_SERVICE_ERR");
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
	ok(strstr(logbuf, "expired") != NULL && strstr(logbuf, "issuer=test") != NULL && strstr(logbuf, "kid=RS256") &&
		   strstr(logbuf, "alg=RS256") && strstr(logbuf, "sub=sub-alice"),
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
		char *pl = tk_strf("{\"iss\":\"https://idp.example.com\",\"aud\":\"pam\",\"sub\":\"x\",\"exp\":%lld,"
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

static void test_setcred(void)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;

	pam_start_confdir("jwt", "alice", &c, dir, &pamh);
	ok(pam_setcred(pamh, PAM_ESTABLISH_CRED) == PAM_SUCCESS, "pam_setcred: PAM_SUCCESS");
	pam_end(pamh, PAM_SUCCESS);
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
	test_setcred();
	for (int a = 0; a < JWS_ALG_COUNT; a++)
		EVP_PKEY_free(keys[a]);
	cmd = tk_strf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(cmd);
	free(module_path);
	return tap_done();
}
