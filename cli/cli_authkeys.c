/* cli_authkeys.c: `pam-jwt authorized-keys %u %k %t`: an opkssh certificate checked by pam_jwt's rules. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Why this is enough for a login, and what it cannot do: sshd runs it as AuthorizedKeysCommandUser, an
 * unprivileged account, so it verifies and decides but writes nothing. The line it prints makes sshd
 * check the certificate's signature and the client's possession of the key. sshd must already have
 * resolved the user (a never-seen user through nss_preauth); the user store learns the user, uid and
 * groups in pam_jwt's session step, which runs as root inside sshd after this command accepted the key:
 * it reads the certificate sshd used from SSH_AUTH_INFO_0, verifies it again (the same opkssh_check) and
 * records the login (pam/pam_opkssh.c, mapping_record_login, whose checks this command makes read-only). */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cli_authkeys.h"
#include "cli_common.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/log.h"
#include "pam_jwt/mapping.h"
#include "pam_jwt/opkssh.h"
#include "pam_jwt/verify.h"

struct sink {
	bool explain;
};

/* Everything goes to syslog (sshd drops the command's stderr); with --explain to stderr as well. */
static void emit(void *arg, int priority, const char *message)
{
	const struct sink *s = arg;

	syslog(priority, "%s", message);
	if (s->explain)
		fprintf(stderr, "pam-jwt: %s\n", message);
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: pam-jwt authorized-keys [--config FILE] [--service NAME] [--explain] USER KEY TYPE\n"
	        "  (in sshd_config: AuthorizedKeysCommand /usr/bin/pam-jwt authorized-keys %%u %%k %%t)\n");
}

static bool is_certificate_type(const char *type)
{
	const char *suffix = "-cert-v01@openssh.com";
	size_t n = strlen(type), m = strlen(suffix);

	return n > m && strcmp(type + n - m, suffix) == 0;
}

static void explain_identity(const struct opkssh_login *l)
{
	char esc[512];

	fprintf(stderr, "issuer:    %s\n", l->id.issuer->name);
	fprintf(stderr, "subject:   %s\n", pj_escape(esc, sizeof(esc), l->id.sub, strlen(l->id.sub)));
	fprintf(stderr, "username:  %s\n", l->id.username);
	fprintf(stderr, "groups:   ");
	for (size_t i = 0; i < l->id.n_groups; i++)
		fprintf(stderr, " %s", pj_escape(esc, sizeof(esc), l->id.groups[i], strlen(l->id.groups[i])));
	fprintf(stderr, "\ngood until: %lld\n", (long long)l->id.exp);
}

int cli_authkeys_main(int argc, char **argv)
{
	static const struct option opts[] = {CLI_OPTION_CONFIG,
	                                     {"service", required_argument, NULL, 's'},
	                                     {"explain", no_argument, NULL, 'e'},
	                                     {NULL, 0, NULL, 0}};
	const char *config = PJ_DEFAULT_CONFIG, *service = "sshd", *user, *key, *type;
	struct sink sink = {false};
	struct pj_log log = {.emit = emit, .arg = &sink};
	struct pj_config *cfg = NULL;
	struct opkssh_login login;
	struct pj_error err;
	char *line = NULL;
	pj_status status;
	bool bad_usage = false;
	int c, rc = CLI_EXIT_USAGE;

	memset(&login, 0, sizeof(login));
	openlog("pam-jwt", LOG_PID, LOG_AUTHPRIV);
	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 's': service = optarg; break;
		case 'e': sink.explain = true; break;
		default: bad_usage = true; break;
		}
	}
	/* A wrong AuthorizedKeysCommand line: as for every refusal, status 0 under sshd (see below) */
	if (bad_usage || argc - optind != 3) {
		usage();
		pj_logf(&log, LOG_ERR, "authorized-keys: usage error (the AuthorizedKeysCommand line?)");
		rc = sink.explain ? CLI_EXIT_USAGE : CLI_EXIT_OK;
		goto out;
	}
	user = argv[optind];
	key = argv[optind + 1];
	type = argv[optind + 2];
	/* A plain key is not ours to judge: nothing printed, and nothing logged for every key a client tries.
	 */
	if (!is_certificate_type(type)) {
		if (sink.explain)
			fprintf(stderr, "pam-jwt: %.64s is not a certificate type: not an opkssh key\n",
			        type);
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (config_load(config, &cfg, &err) != PJ_OK) {
		pj_logf(&log, LOG_ERR, "%s", err.reason);
		/* under sshd a failing status would log the certificate with the command line (see below) */
		rc = sink.explain ? CLI_EXIT_USAGE : CLI_EXIT_OK;
		goto out;
	}
	status = opkssh_check(cfg, &log, type, key, user, service, time(NULL), &login, &err);
	/* The account rules of a token login, read-only (this user cannot write the store): a local account,
	 * another NSS source's, a name bound to another identity. The session step would refuse them too
	 * late: sshd runs the command of a session whose PAM step failed. */
	if (status == PJ_OK)
		status = mapping_check_login(cfg, &login.id, false, &log, NULL, &err);
	if (status == PJ_OK && (line = opkssh_authorized_keys_line(&login)) == NULL)
		status = pj_fail(&err, PJ_ERR_NOMEM, "out of memory");
	pj_logf(&log, status == PJ_OK ? LOG_INFO : LOG_NOTICE, "opkssh certificate for %s: %s", user,
	        status == PJ_OK ? "accepted" : "refused");
	pj_log_outcome(&log, &login.id, status, &err, user);
	if (status == PJ_OK) {
		if (sink.explain)
			explain_identity(&login);
		printf("%s\n", line);
		rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_REFUSED;
	} else if (sink.explain) {
		rc = status == PJ_ERR_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_REFUSED;
	} else {
		/* Under sshd a refusal is an empty answer with status 0: sshd logs a failing command with its
		 * whole command line, %k included, which would put the PK Token into syslog. */
		rc = CLI_EXIT_OK;
	}
out:
	free(line);
	opkssh_login_free(&login);
	config_free(cfg);
	closelog();
	return rc;
}
