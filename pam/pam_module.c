/* pam_module.c: pam_jwt.so, the PAM entry points; verification itself is pj_verify in the library. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <openssl/crypto.h>

#include "pam_jwt/authz.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/continuation.h"
#include "pam_jwt/keystore.h"
#include "pam_jwt/log.h"
#include "pam_jwt/login_record.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/secret.h"
#include "pam_device.h"
#include "pam_dpop.h"
#include "pam_jwt/jws.h"
#include "pam_opkssh.h"
#include "pam_jwt/replay.h"
#include "pam_jwt/verify.h"
#include "store/analyzer.h"

#define DATA_NAME      "pam_jwt_identity" /* pam_set_data: the identity, from authentication to the session */
#define ENV_GROUPS_MAX 8192               /* bytes of PAM_JWT_GROUPS; longer lists are cut at a whole group */

/* The session environment, in the order it is set. */
static const char *const env_names[] = {
    "PAM_JWT_ISSUER", "PAM_JWT_SUBJECT", "PAM_JWT_USER", "PAM_JWT_GROUPS", "PAM_JWT_EXP",
};
#define N_ENV (sizeof(env_names) / sizeof(env_names[0]))

struct module_args {
	const char *config;
	const char *prompt;
	const char *service;
	const char *require_issuer;
	const char *require_groups;
	const char *require_claim;
	const char *mode; /* token, device or auto: see pam_device.h */
	bool debug;
	bool try_first_pass;
	bool use_first_pass;
	bool ignore_non_jwt;
};

enum arg_kind { ARG_FLAG, ARG_VALUE };

/* The module arguments, one row each: name, kind, where it goes. */
static const struct arg_spec {
	const char *name;
	enum arg_kind kind;
	size_t offset;
} arg_table[] = {
    {"config", ARG_VALUE, offsetof(struct module_args, config)},
    {"prompt", ARG_VALUE, offsetof(struct module_args, prompt)},
    {"service", ARG_VALUE, offsetof(struct module_args, service)},
    {"require_issuer", ARG_VALUE, offsetof(struct module_args, require_issuer)},
    {"require_groups", ARG_VALUE, offsetof(struct module_args, require_groups)},
    {"require_claim", ARG_VALUE, offsetof(struct module_args, require_claim)},
    {"mode", ARG_VALUE, offsetof(struct module_args, mode)},
    {"debug", ARG_FLAG, offsetof(struct module_args, debug)},
    {"try_first_pass", ARG_FLAG, offsetof(struct module_args, try_first_pass)},
    {"use_first_pass", ARG_FLAG, offsetof(struct module_args, use_first_pass)},
    {"ignore_non_jwt", ARG_FLAG, offsetof(struct module_args, ignore_non_jwt)},
};
#define N_ARGS (sizeof(arg_table) / sizeof(arg_table[0]))

/* What authentication hands to the session in the same process (pam_set_data). */
struct session_id {
	char *value[N_ENV];
};

static void emit_syslog(void *arg, int priority, const char *message)
{
	pam_syslog((pam_handle_t *)arg, priority, "%s", message);
}

/* Returns false when an argument is unknown, malformed or repeated; every such argument is logged. */
static bool parse_args(pam_handle_t *pamh, int argc, const char **argv, struct module_args *args)
{
	bool good = true, seen[N_ARGS] = {false};

	memset(args, 0, sizeof(*args));
	args->config = PJ_DEFAULT_CONFIG;
	args->prompt = PJ_CONT_DEFAULT_PROMPT;
	for (int i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		size_t namelen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]), j;

		for (j = 0; j < N_ARGS; j++)
			if (strlen(arg_table[j].name) == namelen &&
			    strncmp(argv[i], arg_table[j].name, namelen) == 0)
				break;
		if (j == N_ARGS || (arg_table[j].kind == ARG_VALUE) != (eq != NULL) || seen[j] ||
		    (eq != NULL && eq[1] == '\0')) {
			pam_syslog(pamh, LOG_ERR, "unknown, malformed or repeated module argument: %s",
			           argv[i]);
			good = false;
			continue;
		}
		seen[j] = true;
		if (arg_table[j].kind == ARG_FLAG)
			*(bool *)((char *)args + arg_table[j].offset) = true;
		else
			*(const char **)((char *)args + arg_table[j].offset) = eq + 1;
	}
	return good;
}

static int pam_code(pj_status status, const struct module_args *args)
{
	switch (status) {
	case PJ_OK: return PAM_SUCCESS;
	case PJ_ERR_NOT_JWT: return args->ignore_non_jwt ? PAM_IGNORE : PAM_AUTH_ERR;
	case PJ_ERR_TOKEN:
	case PJ_ERR_USER: return PAM_AUTH_ERR;
	case PJ_ERR_NO_KEYS: return PAM_AUTHINFO_UNAVAIL;
	case PJ_ERR_CONFIG: return PAM_SERVICE_ERR;
	case PJ_ERR_NOMEM: return PAM_BUF_ERR;
	case PJ_ERR_SYSTEM: return PAM_SYSTEM_ERR;
	}
	return PAM_AUTH_ERR;
}

/* Loads the configuration and the common items every entry point needs. */
static int begin(pam_handle_t *pamh, int argc, const char **argv, struct module_args *args,
                 struct pj_log *log, struct pj_config **cfg, const char **user)
{
	struct pj_error err;
	pj_status status;
	int rc;

	log->emit = emit_syslog;
	log->arg = pamh;
	if (!parse_args(pamh, argc, argv, args))
		return PAM_SERVICE_ERR;
	log->debug = args->debug;
	if ((status = config_load(args->config, cfg, &err)) != PJ_OK) {
		pam_syslog(pamh, LOG_ERR, "%s", err.reason);
		return pam_code(status, args);
	}
	if ((rc = pam_get_user(pamh, user, NULL)) != PAM_SUCCESS || *user == NULL || **user == '\0') {
		pam_syslog(pamh, LOG_NOTICE, "cannot determine the user name");
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;
	}
	return PAM_SUCCESS;
}

/* ---- getting the token ---- */

/* What is known about the answers, for the log when the token is refused. */
struct answers {
	unsigned parts;
	size_t last_len;
};

static int conversation_failed(const struct pj_log *log, pam_handle_t *pamh, int rc, unsigned part)
{
	pj_logf(
	    log, LOG_NOTICE,
	    "conversation failed at part %u: %s (sudo fails it for answers of 512 bytes or more: send a long "
	    "token in parts that end in '\\', as pam-jwt-askpass does)",
	    part, pam_strerror(pamh, rc));
	return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
}

/* Asks for the token, and for further parts while an answer ends in the continuation marker (see
 * continuation.h), within max_token_size and PJ_CONT_MAX_PARTS. */
static int prompt_token(pam_handle_t *pamh, const struct module_args *args, const struct pj_config *cfg,
                        const struct pj_log *log, char **token, struct answers *ans)
{
	struct pj_cont cont;
	struct pj_error err;
	char *resp = NULL;
	pj_status status;
	int rc;

	pj_cont_init(&cont, cfg->max_token_size);
	do {
		resp = NULL;
		if (cont.parts == 0)
			rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", args->prompt);
		else
			rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, PJ_CONT_PROMPT_FMT, cont.parts + 1);
		if (rc != PAM_SUCCESS) {
			pj_free_secret(resp);
			rc = conversation_failed(log, pamh, rc, cont.parts + 1);
			goto out;
		}
		if (resp == NULL) {
			rc = PAM_AUTH_ERR;
			goto out;
		}
		status = pj_cont_add(&cont, resp, strlen(resp), &err);
		pj_free_secret(resp);
		ans->parts = cont.parts;
		ans->last_len = cont.last_len;
		if (status != PJ_OK) {
			pj_logf(log, LOG_NOTICE, "refused token for the answers given: %s", err.reason);
			rc = status == PJ_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTH_ERR;
			goto out;
		}
	} while (cont.more);
	if (cont.parts > 1)
		pj_logf(log, LOG_DEBUG, "token of %zu bytes in %u parts", cont.len, cont.parts);
	/* Kept as PAM_AUTHTOK, so that a password typed here can pass on to pam_unix with try_first_pass
	 * when ignore_non_jwt lets it through. */
	if ((rc = pam_set_item(pamh, PAM_AUTHTOK, cont.buf)) != PAM_SUCCESS)
		goto out;
	*token = cont.buf;
	cont.buf = NULL;
out:
	pj_cont_free(&cont);
	return rc;
}

/* Gets the token: PAM_AUTHTOK under use_first_pass (required) or try_first_pass (if set), else prompts
 * with echo off. */
static int get_token(pam_handle_t *pamh, const struct module_args *args, const struct pj_config *cfg,
                     const struct pj_log *log, char **token, struct answers *ans)
{
	const void *item = NULL;
	int rc;

	*token = NULL;
	if (args->use_first_pass || args->try_first_pass) {
		rc = pam_get_item(pamh, PAM_AUTHTOK, &item);
		if (rc == PAM_SUCCESS && item != NULL) {
			if ((*token = strdup(item)) == NULL)
				return PAM_BUF_ERR;
			ans->parts = 1;
			ans->last_len = strlen(*token);
			return PAM_SUCCESS;
		}
		if (args->use_first_pass) {
			pam_syslog(pamh, LOG_NOTICE, "use_first_pass: no token from an earlier module");
			return PAM_AUTH_ERR;
		}
	}
	return prompt_token(pamh, args, cfg, log, token, ans);
}

/* Where known clients cut an answer short (see continuation.h), and what to say about it. */
static const struct client_limit {
	size_t len;
	const char *cause;
	const char *fix;
} client_limits[] = {
    {PJ_CONT_SUDO_LIMIT, "at a client's 512-byte limit (sudo)", "pam-jwt-askpass as SUDO_ASKPASS does"},
    {PJ_CONT_SSH_LIMIT, "by the OpenSSH client's 1024-byte buffer", "pam-jwt-askpass as SSH_ASKPASS does"},
    {PJ_CONT_MISC_LIMIT, "by a text conversation's 4096-byte line (pam_misc: su, login)", "by hand"},
};

/* A refusal where the last answer is exactly as long as a known client cuts answers names the likely
 * cause; a cut-off part has lost its continuation marker, so it looks like the last one. */
static void hint_truncation(const struct pj_log *log, pj_status status, const struct answers *ans)
{
	if (status != PJ_ERR_TOKEN && status != PJ_ERR_NOT_JWT)
		return;
	for (size_t i = 0; i < sizeof(client_limits) / sizeof(client_limits[0]); i++)
		if (ans->last_len == client_limits[i].len)
			pj_logf(log, LOG_NOTICE,
			        "answer %u is exactly %zu bytes: probably cut off %s; send the token in "
			        "parts that end "
			        "in '\\' (%s)",
			        ans->parts, client_limits[i].len, client_limits[i].cause,
			        client_limits[i].fix);
}

/* ---- after verification ---- */

/* The module line's rules (require_*= arguments). */
static pj_status authorize_line(const struct module_args *args, const struct pj_identity *id,
                                struct pj_error *err)
{
	struct pj_authz line;
	pj_status r;

	memset(&line, 0, sizeof(line));
	if ((r = authz_add_args(&line, args->require_issuer, args->require_groups, args->require_claim,
	                        err)) != PJ_OK) {
		char reason[PJ_REASON_MAX];

		snprintf(reason, sizeof(reason), "%s", err->reason);
		r = pj_fail(err, r == PJ_ERR_NOMEM ? r : PJ_ERR_CONFIG, "module arguments: %.400s", reason);
		goto out;
	}
	r = authz_check(&line, "module arguments", id, err);
out:
	authz_free(&line);
	return r;
}

/* The PAM service whose rules apply (and whose name a DPoP proof's htu carries): service= (which must name
 * a section), else PAM_SERVICE (which need not have one); NULL when there is neither. */
static const char *rules_service(pam_handle_t *pamh, const struct module_args *args)
{
	const void *item = NULL;

	if (args->service != NULL)
		return args->service;
	if (pam_get_item(pamh, PAM_SERVICE, &item) == PAM_SUCCESS)
		return item;
	return NULL;
}

/* The [service NAME] section's rules (rules_service), then the module line's. */
static pj_status authorize(pam_handle_t *pamh, const struct module_args *args, const struct pj_config *cfg,
                           const struct pj_identity *id, struct pj_error *err)
{
	pj_status r;

	if ((r = authz_check_service(cfg, rules_service(pamh, args), args->service != NULL, id, err)) !=
	    PJ_OK)
		return r;
	return authorize_line(args, id, err);
}

static void free_session_id(struct session_id *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < N_ENV; i++)
		free(s->value[i]);
	/* gcc 12's analyzer does not follow the loop above that frees every value and calls them leaked */
	PJ_ANALYZER_IGNORE("-Wanalyzer-malloc-leak")
	free(s);
	PJ_ANALYZER_END()
}

static void cleanup_session_id(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free_session_id(data);
}

/* Control characters and bytes >= 0x80 become \xNN: an environment value is one line of text. */
static char *env_value(const char *s)
{
	size_t n = strlen(s), cap = 4 * n + 1;
	char *out = malloc(cap);

	return out != NULL ? pj_escape(out, cap, s, n) : NULL;
}

/* One group of the list: as env_value, and a comma (the separator) as \x2c, so that a group named "x,admins"
 * cannot read as a group "admins". */
static char *group_value(const char *group)
{
	char *e = env_value(group), *out, *o;

	if (e == NULL || strchr(e, ',') == NULL)
		return e;
	if ((out = malloc(4 * strlen(e) + 1)) != NULL) {
		o = out;
		for (const char *p = e; *p != '\0'; p++) {
			if (*p == ',')
				o = stpcpy(o, "\\x2c");
			else
				*o++ = *p;
		}
		*o = '\0';
	}
	free(e);
	return out;
}

/* Comma-separated, cut at a whole group before ENV_GROUPS_MAX bytes. */
static char *groups_value(const struct pj_identity *id)
{
	char *out = calloc(1, ENV_GROUPS_MAX + 1), *g;
	size_t used = 0, n;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; id->groups != NULL && id->groups[i] != NULL; i++) {
		if ((g = group_value(id->groups[i])) == NULL) {
			free(out);
			return NULL;
		}
		n = strlen(g);
		if (used + n + (used > 0) > ENV_GROUPS_MAX) {
			free(g);
			break;
		}
		if (used > 0)
			out[used++] = ',';
		memcpy(out + used, g, n + 1);
		used += n;
		free(g);
	}
	return out;
}

static struct session_id *make_session_id(const struct pj_identity *id)
{
	struct session_id *s = calloc(1, sizeof(*s));
	char exp[32];

	if (s == NULL)
		return NULL;
	snprintf(exp, sizeof(exp), "%" PRId64, id->exp);
	s->value[0] = env_value(id->iss ? id->iss : "");
	s->value[1] = env_value(id->sub ? id->sub : "");
	s->value[2] = env_value(id->username ? id->username : "");
	s->value[3] = groups_value(id);
	s->value[4] = strdup(exp);
	for (size_t i = 0; i < N_ENV; i++)
		if (s->value[i] == NULL) {
			free_session_id(s);
			return NULL;
		}
	return s;
}

static void clear_env(pam_handle_t *pamh)
{
	for (size_t i = 0; i < N_ENV; i++)
		if (pam_getenv(pamh, env_names[i]) != NULL)
			pam_putenv(pamh, env_names[i]);
}

static int put_env(pam_handle_t *pamh, const struct session_id *s)
{
	int rc = PAM_SUCCESS;

	for (size_t i = 0; i < N_ENV && rc == PAM_SUCCESS; i++) {
		char *kv = NULL;

		if (asprintf(&kv, "%s=%s", env_names[i], s->value[i]) < 0)
			return PAM_BUF_ERR;
		rc = pam_putenv(pamh, kv);
		free(kv);
	}
	return rc;
}

/* The verified identity goes to the PAM environment now (sshd runs keyboard-interactive authentication in
 * a child process and carries only the PAM environment over to the session) and to pam_set_data for
 * pam_sm_open_session in this process. */
static int remember_identity(pam_handle_t *pamh, const struct pj_identity *id)
{
	struct session_id *s = make_session_id(id);
	int rc;

	if (s == NULL)
		return PAM_BUF_ERR;
	if ((rc = put_env(pamh, s)) != PAM_SUCCESS) {
		free_session_id(s);
		return rc;
	}
	if ((rc = pam_set_data(pamh, DATA_NAME, s, cleanup_session_id)) != PAM_SUCCESS)
		free_session_id(s);
	return rc;
}

/* rules_service, "-" when there is none: for the DPoP prompt and htu. */
static const char *service_name(pam_handle_t *pamh, const struct module_args *args)
{
	const char *name = rules_service(pamh, args);

	return name != NULL ? name : "-";
}

/* With DPoP offered (dpop.h), the prompt carries this conversation's nonce. */
static int offer_dpop(pam_handle_t *pamh, struct module_args *args, const struct pj_config *cfg,
                      struct pam_dpop *dpop)
{
	struct pj_error err;
	pj_status status;

	if ((status = pam_dpop_begin(cfg, service_name(pamh, args), dpop, &args->prompt, &err)) != PJ_OK) {
		pam_syslog(pamh, LOG_ERR, "%s", err.reason);
		return pam_code(status, args);
	}
	return PAM_SUCCESS;
}

/* A pasted answer: the token, and the DPoP proof after a '~' when there is one. */
static pj_status verify_answer(pam_handle_t *pamh, const struct module_args *args,
                               const struct pj_config *cfg, const struct pj_log *log,
                               const struct pam_dpop *dpop, char *token, const char *user,
                               struct pj_identity *id, struct pj_error *err)
{
	char *proof = NULL;
	pj_status status;

	if (jws_looks_like_jwt(token, strlen(token)))
		dpop_split_answer(token, &proof);
	status = pj_verify(cfg, log, token, strlen(token), user, time(NULL), id, err);
	if (status == PJ_OK)
		status = pam_dpop_check(cfg, service_name(pamh, args), dpop, id, token, proof, err);
	return status;
}

/* Everything after the signature: the service's rules, then the user store. */
static pj_status admit(pam_handle_t *pamh, const struct module_args *args, const struct pj_config *cfg,
                       const struct pj_log *log, const struct pj_identity *id, struct pj_error *err)
{
	pj_status r;

	if ((r = authorize(pamh, args, cfg, id, err)) != PJ_OK)
		return r;
	/* Last before the store: only a token that would be accepted uses up its jti. */
	if ((r = replay_check(cfg, id, time(NULL), PJ_REPLAY_RECORD, err)) != PJ_OK)
		return r;
	return mapping_record_login(cfg, id, time(NULL), log, err);
}

/* The kernel's FIPS mode (/proc/sys/crypto/fips_enabled), read once per process: it is fixed at boot
 * (fips=1 on the kernel command line), and a screen locker or sshd's monitor authenticating many times
 * need not open it each time. */
static pthread_once_t kernel_fips_once = PTHREAD_ONCE_INIT;
static bool kernel_fips;

static void read_kernel_fips(void)
{
	char c = '0';
	FILE *f;

	if ((f = fopen("/proc/sys/crypto/fips_enabled", "re")) != NULL) {
		if (fread(&c, 1, 1, f) != 1)
			c = '0';
		fclose(f);
	}
	kernel_fips = c == '1';
}

/* Whether this host runs OpenSSL in FIPS mode: the kernel says so, or the environment names an OpenSSL
 * configuration (OPENSSL_CONF) that may activate the FIPS provider. */
static bool fips_host(void)
{
	if (secure_getenv("OPENSSL_CONF") != NULL)
		return true;
	pthread_once(&kernel_fips_once, read_kernel_fips);
	return kernel_fips;
}

/* OpenSSL reads the system's openssl.cnf at its first use unless told not to: about 0.3 ms of a cold login
 * in a process that has not used OpenSSL yet (sudo, su) for settings a signature check does not use
 * (pam_jwt's TLS settings for a key fetch are its own: https.c). On a FIPS host the configuration is what
 * activates the FIPS provider, so there it is loaded as OpenSSL would. A process that initialised OpenSSL
 * before (sshd) keeps what it loaded: the first initialisation wins. */
static void crypto_init(void)
{
	OPENSSL_init_crypto(fips_host() ? OPENSSL_INIT_LOAD_CONFIG : OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module_args args;
	struct pj_log log;
	struct pj_config *cfg = NULL;
	struct pj_identity id;
	struct pj_error err;
	struct answers ans = {0, 0};
	enum pam_jwt_mode mode = PAM_JWT_MODE_TOKEN;
	const char *user = NULL;
	struct pam_dpop dpop;
	char *token = NULL;
	pj_status status = PJ_ERR_SYSTEM;
	int rc;

	(void)flags;
	crypto_init();
	memset(&id, 0, sizeof(id));
	memset(&dpop, 0, sizeof(dpop));
	/* Nothing from an earlier attempt (or from anywhere else) may pass for this one's identity. */
	clear_env(pamh);
	pam_set_data(pamh, DATA_NAME, NULL, NULL);
	if ((rc = begin(pamh, argc, argv, &args, &log, &cfg, &user)) != PAM_SUCCESS)
		goto out;
	if (!pam_device_mode(args.mode, &mode)) {
		pam_syslog(pamh, LOG_ERR, "bad module argument mode=%s (token, device or auto)", args.mode);
		rc = PAM_SERVICE_ERR;
		goto out;
	}
	args.prompt = pam_device_prompt(mode, args.prompt, PJ_CONT_DEFAULT_PROMPT);
	if (mode != PAM_JWT_MODE_DEVICE &&
	    ((rc = offer_dpop(pamh, &args, cfg, &dpop)) != PAM_SUCCESS ||
	     (rc = get_token(pamh, &args, cfg, &log, &token, &ans)) != PAM_SUCCESS))
		goto out;
	/* mode=device, or Enter under mode=auto: the device flow, its token verified as a pasted one (with no
	 * proof: a DPoP-bound one, or require_dpop, refuses it) */
	if (mode == PAM_JWT_MODE_DEVICE || (mode == PAM_JWT_MODE_AUTO && token[0] == '\0')) {
		status = pam_device_login(pamh, cfg, &log, user, &id, &err);
		if (status == PJ_OK)
			status = pam_dpop_check(cfg, service_name(pamh, &args), &dpop, &id, "", NULL, &err);
	} else {
		status = verify_answer(pamh, &args, cfg, &log, &dpop, token, user, &id, &err);
	}
	if (status == PJ_OK)
		status = admit(pamh, &args, cfg, &log, &id, &err);
	pj_log_outcome(&log, &id, status, &err, user);
	hint_truncation(&log, status, &ans);
	rc = pam_code(status, &args);
	if (rc == PAM_SUCCESS && (rc = remember_identity(pamh, &id)) != PAM_SUCCESS) {
		/* the log said "accepted" a moment ago: say why the login fails after all */
		pj_logf(&log, LOG_ERR,
		        "login of %s refused after all: cannot keep its identity for the session: %s", user,
		        pam_strerror(pamh, rc));
		clear_env(pamh);
	}
out:
	pj_free_secret(token);
	pam_dpop_end(&dpop);
	pj_identity_free(&id);
	config_free(cfg);
	/* Fail closed: nothing but an accepted token (or a documented PAM_IGNORE) may come out as success. */
	if (rc == PAM_SUCCESS && status != PJ_OK)
		rc = PAM_AUTH_ERR;
	return rc;
}

/* libpam unloads the module at pam_end: free the keys kept for this process, or a long-running caller (a
 * screen locker, a web application) leaks them at every pam_start. At process exit OpenSSL may already be
 * torn down (its atexit handler runs before destructors); it then refuses to initialise again, and the keys
 * are left to the exiting process. */
__attribute__((destructor)) static void pam_jwt_unload(void)
{
	mapping_unload(); /* the store view kept between logins (libc only: safe at exit too) */
	if (OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, NULL) == 1)
		keystore_flush();
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/* The service's rules (its [service] section, else [service default], and this line's require_*=) for a
 * token user's login whatever the method (an ssh key, a password another module checked), against what the
 * last token login recorded (login_record.h): a user the IdP moved out of a group loses the services that
 * want it at the next token login anywhere, and account_max_age bounds the time without one. */
static int account_rules(pam_handle_t *pamh, const struct module_args *args, const struct pj_config *cfg,
                         const struct pj_log *log, const char *user)
{
	const struct pj_service *svc = authz_service_section(cfg, rules_service(pamh, args));
	struct pj_identity id;
	struct pj_error err;
	pj_status r;

	/* service= always has rules to check: its section must exist (authorize refuses it otherwise) */
	if ((svc == NULL || authz_is_empty(&svc->authz)) && args->service == NULL &&
	    args->require_issuer == NULL && args->require_groups == NULL && args->require_claim == NULL)
		return PAM_SUCCESS; /* no rule to check */
	if ((r = login_record_get(cfg, user, &id, &err)) == PJ_OK)
		r = authorize(pamh, args, cfg, &id, &err);
	pj_identity_free(&id);
	if (r == PJ_OK)
		return PAM_SUCCESS;
	pj_logf(log, LOG_NOTICE, "account %s refused: %s (the service's rules, against the last token login)",
	        user, err.reason);
	return r == PJ_ERR_CONFIG ? PAM_SERVICE_ERR : r == PJ_ERR_NOMEM ? PAM_BUF_ERR : PAM_PERM_DENIED;
}

/* Token users whose last token login is older than account_max_age are expired, and the service's rules
 * apply to them whatever the login method; users not in the store are left to the other modules. */
PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct module_args args;
	struct pj_log log;
	struct pj_config *cfg = NULL;
	struct pj_error err;
	enum pj_acct result = PJ_ACCT_NOT_OURS;
	const char *user = NULL;
	int rc;

	(void)flags;
	if ((rc = begin(pamh, argc, argv, &args, &log, &cfg, &user)) != PAM_SUCCESS)
		goto out;
	/* A store that cannot be read is logged and leaves the decision to the other modules: the NSS module
	 * cannot resolve its users then either, and local accounts must still work. */
	if (mapping_acct_check(cfg, user, time(NULL), &result, &err) != PJ_OK)
		pj_logf(&log, LOG_ERR, "account check for %s: %s", user, err.reason);
	switch (result) {
	case PJ_ACCT_OK: rc = account_rules(pamh, &args, cfg, &log, user); break;
	case PJ_ACCT_EXPIRED:
		pj_logf(&log, LOG_NOTICE, "account %s expired: no token login within account_max_age (%lds)",
		        user, cfg->account_max_age);
		rc = PAM_ACCT_EXPIRED;
		break;
	case PJ_ACCT_NOT_OURS: rc = PAM_IGNORE; break;
	case PJ_ACCT_UID_MISMATCH:
		pj_logf(
		    &log, LOG_WARNING,
		    "account %s refused: NSS gives this process another uid for %s than the user store (a "
		    "pre-authentication answer from before the store changed, or another NSS source)",
		    user, user);
		rc = PAM_PERM_DENIED;
		break;
	}
out:
	config_free(cfg);
	return rc;
}

/* A login made with an opkssh certificate (pam_opkssh.h): verified again and recorded; anything else: left
 * alone (PAM_SUCCESS) without reading the configuration. */
static int session_opkssh(pam_handle_t *pamh, int argc, const char **argv)
{
	const char *info = pam_getenv(pamh, "SSH_AUTH_INFO_0"), *user = NULL;
	struct module_args args;
	struct pj_log log;
	struct pj_config *cfg = NULL;
	struct pj_identity id;
	bool handled = false;
	int rc;

	if (info == NULL || strstr(info, "-cert-v01@openssh.com ") == NULL)
		return PAM_SUCCESS;
	if ((rc = begin(pamh, argc, argv, &args, &log, &cfg, &user)) != PAM_SUCCESS)
		return rc;
	memset(&id, 0, sizeof(id));
	rc = pam_opkssh_session(pamh, cfg, &log, user, service_name(pamh, &args), &handled, &id);
	/* the certificate's identity in the session's PAM_JWT_* environment, as after a token login */
	if (rc == PAM_SUCCESS && handled && (rc = remember_identity(pamh, &id)) != PAM_SUCCESS)
		rc = PAM_SESSION_ERR;
	pj_identity_free(&id);
	config_free(cfg);
	return rc;
}

/* Exports the verified identity: from this process's authentication when there was one; else what the
 * authentication put in the PAM environment (sshd's keyboard-interactive child) is kept only when it names
 * the session's user, and removed otherwise. */
PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const void *data = NULL;
	const char *user = NULL, *env_user;
	int rc;

	(void)flags;
	if ((rc = session_opkssh(pamh, argc, argv)) != PAM_SUCCESS)
		return rc;
	if (pam_get_data(pamh, DATA_NAME, &data) == PAM_SUCCESS && data != NULL) {
		if ((rc = put_env(pamh, data)) != PAM_SUCCESS)
			clear_env(pamh);
		return rc == PAM_SUCCESS ? PAM_SUCCESS : PAM_SESSION_ERR;
	}
	env_user = pam_getenv(pamh, "PAM_JWT_USER");
	if (env_user == NULL || pam_get_item(pamh, PAM_USER, (const void **)&user) != PAM_SUCCESS ||
	    user == NULL || strcmp(env_user, user) != 0)
		clear_env(pamh);
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
