/* cli.c: the pam-jwt program: verify a token exactly as the module does, check the config, manage state. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/prctl.h>

#include <json-c/json.h>

#include "pam_jwt/authz.h"
#include "cli_common.h"
#include "cli_identity.h"
#include "cli_authkeys.h"
#include "cli_jwks.h"
#include "cli_login.h"
#include "cli_dpop.h"
#include "cli_user.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/jws_alg.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/jws.h"
#include "pam_jwt/log.h"
#include "pam_jwt/replay.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/verify.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: pam-jwt COMMAND [OPTIONS]\n"
	    "\n"
	    "Commands:\n"
	    "  verify [--config FILE] [--user NAME] [--service NAME] [--json] [--dpop PROOF [--nonce N]]\n"
	    "        Read a token on standard input and verify it exactly as pam_jwt.so does;\n"
	    "        --service applies that [service NAME] section's rules too; --dpop checks a DPoP\n"
	    "        proof for it (htu pam://HOST/SERVICE, the nonce only with --nonce).\n"
	    "        Exit 0 accepted, 1 refused, 2 usage or configuration error.\n"
	    "  authorized-keys [--config FILE] [--service NAME] [--explain] USER KEY TYPE\n"
	    "        sshd's AuthorizedKeysCommand (%%u %%k %%t): an opkssh certificate, checked by\n"
	    "        pam_jwt's rules, prints one cert-authority line (--explain: why, on stderr).\n"
	    "  check-config [--config FILE]\n"
	    "        Parse the configuration and show the issuers it defines.\n"
	    "  jwks status [--config FILE] [--issuer NAME]\n"
	    "        Show each issuer's key source, keys, fetch times and last error (no network).\n"
	    "  jwks refresh [--config FILE] [--issuer NAME] [--expiring SECONDS]\n"
	    "        Fetch the issuers' keys now and update the cache; with --expiring only those\n"
	    "        never fetched or fresh for less than SECONDS more (pam-jwt-refresh.timer).\n"
	    "  user list|show NAME|add NAME [--uid N] [--gecos TEXT]|del NAME|unbind NAME|init\n"
	    "        Manage the user store that libnss_jwt.so.2 serves (init: create an empty one).\n"
	    "  login [--config FILE] [--issuer NAME] [--user NAME] [--token-file PATH]\n"
	    "        Sign in with the device flow (a browser or phone), verify the token as a login\n"
	    "        would and show the identity; optionally keep the token for pam-jwt-askpass.\n"
	    "  dpop keygen|jkt|proof --key FILE ...\n"
	    "        The client's DPoP key pair (0600) and proofs (see pam-jwt dpop).\n"
	    "\n"
	    "Options:\n"
	    "  --config FILE   configuration file (default %s)\n"
	    "  --help          this text\n"
	    "  --version       the version\n",
	    PJ_DEFAULT_CONFIG);
}

static void emit_stderr(void *arg, int priority, const char *message)
{
	if (priority <= LOG_WARNING || priority == LOG_DEBUG)
		fprintf(stderr, "pam-jwt: %s\n", message);
}

/* Reads the token from stdin: at most limit bytes, one trailing newline dropped. */
static int read_token(size_t limit, char **out, size_t *len)
{
	size_t cap = limit + 2, n = 0;
	char *buf = malloc(cap + 1);

	if (buf == NULL)
		return -1;
	while (n < cap) {
		size_t got = fread(buf + n, 1, cap - n, stdin);
		if (got == 0)
			break;
		n += got;
	}
	if (ferror(stdin)) {
		free(buf);
		return -1;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static int load_config(const char *path, struct pj_config **cfg)
{
	struct pj_error err;

	if (config_load(path, cfg, &err) != PJ_OK) {
		fprintf(stderr, "pam-jwt: %s\n", err.reason);
		return -1;
	}
	return 0;
}

static void print_json_result(const struct pj_identity *id, pj_status status, const struct pj_error *err)
{
	json_object *o = json_object_new_object(), *groups;

	json_object_object_add(o, "result", json_object_new_string(status == PJ_OK ? "accepted" : "refused"));
	if (status != PJ_OK) {
		json_object_object_add(o, "status", json_object_new_string(pj_status_name(status)));
		json_object_object_add(o, "reason", json_object_new_string(err->reason));
	}
	if (id->issuer != NULL)
		json_object_object_add(o, "issuer", json_object_new_string(id->issuer->name));
	if (id->iss != NULL)
		json_object_object_add(o, "iss", json_object_new_string(id->iss));
	if (id->kid != NULL)
		json_object_object_add(o, "kid", json_object_new_string(id->kid));
	if (id->alg[0] != '\0')
		json_object_object_add(o, "alg", json_object_new_string(id->alg));
	if (id->sub != NULL)
		json_object_object_add(o, "subject", json_object_new_string(id->sub));
	if (status == PJ_OK) {
		json_object_object_add(o, "username", json_object_new_string(id->username));
		groups = json_object_new_array();
		for (size_t i = 0; i < id->n_groups; i++)
			json_object_array_add(groups, json_object_new_string(id->groups[i]));
		json_object_object_add(o, "groups", groups);
		json_object_object_add(o, "exp", json_object_new_int64(id->exp));
	}
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text_result(const struct pj_identity *id, pj_status status, const struct pj_error *err)
{
	char esc[1024];

	if (status != PJ_OK) {
		printf("refused: %s\n", pj_escape(esc, sizeof(esc), err->reason, strlen(err->reason)));
		printf("status:   %s\n", pj_status_name(status));
		if (id->issuer != NULL)
			printf("issuer:   %s\n", id->issuer->name);
		if (id->alg[0] != '\0')
			printf("alg:      %s\n", id->alg);
		if (id->kid != NULL)
			printf("kid:      %s\n", pj_escape(esc, sizeof(esc), id->kid, strlen(id->kid)));
		return;
	}
	cli_print_identity(id);
}

/* The module's DPoP step, by hand: the proof's htu must name --service (else "sshd"); without --nonce
 * the proof's nonce is not compared (the module always compares it with the one it issued). */
static pj_status check_dpop(const struct pj_config *cfg, const char *service, const char *nonce,
                            const struct pj_identity *id, const char *token, size_t len, const char *proof,
                            struct pj_error *err)
{
	struct pj_dpop_expect x = {
	    .service = service != NULL ? service : "sshd",
	    .nonce = nonce,
	    .nonce_issued = time(NULL),
	    .now = time(NULL),
	    .by_hand = true,
	};

	if (proof != NULL && nonce == NULL)
		fprintf(stderr, "pam-jwt: the proof's nonce is not checked (no --nonce)\n");
	return dpop_check_login(cfg, authz_service_section(cfg, x.service), id, token, len, proof, &x, err);
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTION_CONFIG,
	                                     {"user", required_argument, NULL, 'u'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"service", required_argument, NULL, 's'},
	                                     {"dpop", required_argument, NULL, 'd'},
	                                     {"nonce", required_argument, NULL, 'n'},
	                                     {NULL, 0, NULL, 0}};
	const char *config = PJ_DEFAULT_CONFIG, *user = NULL, *service = NULL, *nonce = NULL;
	char *proof = NULL;
	struct pj_log log = {.emit = emit_stderr};
	struct pj_config *cfg = NULL;
	struct pj_identity id;
	struct pj_error err;
	bool json = false;
	char *token = NULL;
	size_t len = 0;
	pj_status status;
	int c, rc = CLI_EXIT_USAGE;

	memset(&id, 0, sizeof(id));
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'u': user = optarg; break;
		case 'j': json = true; break;
		case 's': service = optarg; break;
		case 'd': proof = optarg; break;
		case 'n': nonce = optarg; break;
		default: usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (load_config(config, &cfg) != 0)
		goto out;
	if (read_token(cfg->max_token_size, &token, &len) != 0) {
		fprintf(stderr, "pam-jwt: cannot read the token from standard input\n");
		goto out;
	}
	/* "TOKEN~PROOF", as pam-jwt-askpass answers, is taken apart as the module does */
	if (proof == NULL && jws_looks_like_jwt(token, len)) {
		dpop_split_answer(token, &proof);
		len = strlen(token);
	}
	status = pj_verify(cfg, &log, token, len, user, time(NULL), &id, &err);
	if (status == PJ_OK && service != NULL)
		status = authz_check_service(cfg, service, true, &id, &err);
	if (status == PJ_OK)
		status = check_dpop(cfg, service, nonce, &id, token, len, proof, &err);
	/* Whether the module would refuse it as replayed; verifying by hand never uses the token up. */
	if (status == PJ_OK)
		status = replay_check(cfg, &id, time(NULL), PJ_REPLAY_PEEK, &err);
	/* The account checks the module's login makes, read-only: a local or system account, another NSS
	 * source's, a name bound to another identity (mapping.h) -- so that verify's answer is the module's.
	 */
	if (status == PJ_OK)
		status = mapping_check_login(cfg, &id, false, &log, NULL, &err);
	if (json)
		print_json_result(&id, status, &err);
	else
		print_text_result(&id, status, &err);
	if (status == PJ_ERR_CONFIG)
		rc = CLI_EXIT_USAGE;
	else
		rc = status == PJ_OK ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
out:
	if (token != NULL) {
		explicit_bzero(token, len);
		free(token);
	}
	pj_identity_free(&id);
	config_free(cfg);
	return rc;
}

/* The defences against a stolen token that an issuer has (README "Stolen tokens"). */
static void print_stolen_token_rules(const struct pj_issuer *is)
{
	if (is->replay_jti)
		printf("  replay_protection: jti (each token once on this host)\n");
	if (is->max_token_age > 0)
		printf("  max_token_age: %lds\n", is->max_token_age);
	if (is->require_dpop)
		printf("  require_dpop: yes\n");
}

static int cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTION_CONFIG, {NULL, 0, NULL, 0}};
	const char *config = PJ_DEFAULT_CONFIG;
	struct pj_config *cfg = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'c') {
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
		config = optarg;
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (load_config(config, &cfg) != 0)
		return CLI_EXIT_USAGE;
	printf("%s: OK, %zu issuer(s)\n", cfg->path ? cfg->path : config, cfg->n_issuers);
	for (size_t i = 0; i < cfg->n_issuers; i++) {
		const struct pj_issuer *is = &cfg->issuers[i];
		printf("[issuer %s] %s\n  audience:", is->name, is->issuer);
		for (size_t j = 0; j < is->n_audiences; j++)
			printf(" %s", is->audiences[j]);
		printf("\n  algorithms:");
		for (int a = 0; a < JWS_ALG_COUNT; a++)
			if (is->algorithms & JWS_ALG_BIT(a))
				printf(" %s", jws_alg_by_id((enum jws_alg_id)a)->name);
		printf("\n  keys: %s\n", is->jwks_file  ? is->jwks_file
		                         : is->jwks_uri ? is->jwks_uri
		                                        : "OIDC discovery");
		print_stolen_token_rules(is);
	}
	for (size_t i = 0; i < cfg->n_services; i++) {
		const struct pj_authz *a = &cfg->services[i].authz;
		printf("[service %s]", cfg->services[i].name);
		for (size_t j = 0; j < a->n_issuers; j++)
			printf("%s%s", j ? " " : "\n  require_issuer: ", a->issuers[j]);
		for (size_t j = 0; j < a->n_groups; j++)
			printf("%s%s", j ? " " : "\n  require_groups: ", a->groups[j]);
		for (size_t j = 0; j < a->n_claims; j++)
			printf("%s%s=%s", j ? " " : "\n  require_claim: ", a->claims[j].path,
			       a->claims[j].value);
		if (cfg->services[i].require_dpop)
			printf("\n  require_dpop: yes");
		printf("\n");
	}
	if (config_find_service(cfg, PJ_SERVICE_DEFAULT) != NULL)
		printf("PAM services without a [service] section of their own: [service default] applies\n");
	else
		printf("PAM services without a [service] section of their own (su, login, polkit-1...): no "
		       "rules; "
		       "add [service default] to set some\n");
	if (cfg->dpop_offered)
		printf("DPoP: the prompt offers a nonce; proofs must name this host (%%h, %%H%s) and the "
		       "service\n",
		       cfg->n_dpop_host_names > 0 ? ", dpop_host_names" : "");
	config_free(cfg);
	return CLI_EXIT_OK;
}

/* The --config of a subcommand's command line, read with that subcommand's own option table (getopt_long,
 * quietly: the subcommand reports usage errors when it parses the same argv). */
static const char *config_arg(int argc, char **argv, const struct option *opts)
{
	const char *config = PJ_DEFAULT_CONFIG;
	int c, saved = opterr;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if (c == 'c')
			config = optarg;
	opterr = saved;
	return config;
}

/* Runs a subcommand main that takes the loaded configuration, loaded here from its --config. */
static int with_config(int (*sub)(const struct pj_config *, int, char **), const struct option *opts,
                       int argc, char **argv)
{
	struct pj_config *cfg = NULL;
	int rc;

	if (load_config(config_arg(argc, argv, opts), &cfg) != 0)
		return CLI_EXIT_USAGE;
	rc = sub(cfg, argc, argv);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *cmd;
	int c;

	/* Tokens, DPoP private keys and device codes pass through this process: no core file may keep them,
	 * and no other process of the same user may ptrace it to read them (as pam-jwt-askpass). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "pam-jwt: cannot make the process non-dumpable: %s\n", strerror(errno));
		return CLI_EXIT_REFUSED;
	}
	/* "+": options before the command only; what follows it belongs to the subcommand */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return CLI_EXIT_OK;
		case 'V': printf("pam-jwt %s\n", PACKAGE_VERSION); return CLI_EXIT_OK;
		default: usage(stderr); return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc, argv);
	if (strcmp(cmd, "check-config") == 0)
		return cmd_check_config(argc, argv);
	if (strcmp(cmd, "jwks") == 0)
		return with_config(cli_jwks_main, cli_jwks_options, argc, argv);
	if (strcmp(cmd, "user") == 0)
		return with_config(cli_user_main, cli_user_options, argc, argv);
	if (strcmp(cmd, "authorized-keys") == 0)
		return cli_authkeys_main(argc, argv);
	if (strcmp(cmd, "login") == 0)
		return with_config(cli_login_main, cli_login_options, argc, argv);
	if (strcmp(cmd, "dpop") == 0)
		return cli_dpop_main(argc, argv);
	fprintf(stderr, "pam-jwt: unknown command %s\n", cmd);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
