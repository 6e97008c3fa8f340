/* device-pam.c: a PAM application for the device flow tests. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* Authenticates USER through SERVICE in CONFDIR, shows every message on stderr, answers prompts with lines
 * from stdin, and keeps what libpam sends to syslog in LOGFILE (so the tests can read the module's log lines
 * without a syslog daemon). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_appl.h>

static FILE *logfile;

static void log_line(int priority, const char *fmt, va_list ap)
{
	if (logfile == NULL)
		return;
	fprintf(logfile, "<%d> ", priority & LOG_PRIMASK);
	vfprintf(logfile, fmt, ap);
	fputc('\n', logfile);
	fflush(logfile);
}

/* libpam logs through __syslog_chk (fortified) or syslog; defining them here takes its log lines. */
void __syslog_chk(int priority, int flag, const char *fmt, ...);
void __syslog_chk(int priority, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	log_line(priority, fmt, ap);
	va_end(ap);
}

void syslog(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(priority, fmt, ap);
	va_end(ap);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));
	char line[65536];

	(void)data;
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		int style = msg[i]->msg_style;

		fprintf(stderr, "%s%s", msg[i]->msg,
		        style == PAM_PROMPT_ECHO_ON || style == PAM_PROMPT_ECHO_OFF ? "" : "\n");
		fflush(stderr);
		if (style != PAM_PROMPT_ECHO_ON && style != PAM_PROMPT_ECHO_OFF)
			continue;
		if (fgets(line, sizeof(line), stdin) == NULL) {
			fprintf(stderr, "\n[no answer: conversation error]\n");
			for (int j = 0; j < i; j++)
				free(r[j].resp);
			free(r);
			return PAM_CONV_ERR;
		}
		line[strcspn(line, "\n")] = '\0';
		fprintf(stderr, "\n");
		if ((r[i].resp = strdup(line)) == NULL) {
			free(r);
			return PAM_BUF_ERR;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

int main(int argc, char **argv)
{
	struct pam_conv pc = {conv, NULL};
	pam_handle_t *pamh = NULL;
	int rc;

	if (argc != 5) {
		fprintf(stderr, "usage: device-pam CONFDIR SERVICE USER LOGFILE\n");
		return 2;
	}
	if ((logfile = fopen(argv[4], "a")) == NULL) {
		perror(argv[4]);
		return 2;
	}
#ifdef HAVE_PAM_START_CONFDIR
	rc = pam_start_confdir(argv[2], argv[3], &pc, argv[1], &pamh);
#else
	rc = PAM_SYSTEM_ERR;
#endif
	if (rc != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", rc);
		return 2;
	}
	rc = pam_authenticate(pamh, 0);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, 0);
	printf("result: %s\n", pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : 1;
}
