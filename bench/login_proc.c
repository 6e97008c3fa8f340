/* login_proc.c: one cold login as an sshd child makes it, timed. */
/* SPDX-License-Identifier: BSD-3-Clause */
/* The user looked up (sshd does that before PAM, so the NSS modules are loaded by then), then pam_start,
 * pam_authenticate, pam_end, and exit.
 * Usage: login_proc CONFDIR SERVICE USER TOKENFILE. Links libpam only; the service's modules bring the rest.
 * Prints the microseconds spent from pam_start to pam_end and exits with the pam_authenticate result.
 * login_proc --dlopen MODULE: prints the microseconds libpam's dlopen(MODULE, RTLD_NOW) takes here. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define TOKEN_MAX 16384

static char token[TOKEN_MAX + 1];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++)
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF && (r[i].resp = strdup(token)) == NULL)
			return PAM_BUF_ERR;
	*resp = r;
	return PAM_SUCCESS;
}

static double usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(int argc, char **argv)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *pamh = NULL;
	ssize_t n = 0;
	double t0;
	int fd, rc;

	if (argc == 3 && strcmp(argv[1], "--dlopen") == 0) {
		t0 = usec();
		if (dlopen(argv[2], RTLD_NOW) == NULL)
			return 103;
		printf("%.1f\n", usec() - t0);
		return 0;
	}
	if (argc != 5)
		return 100;
	if ((fd = open(argv[4], O_RDONLY | O_CLOEXEC)) < 0 || (n = read(fd, token, TOKEN_MAX)) < 0)
		return 101;
	close(fd);
	while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'))
		n--;
	token[n] = '\0';
	(void)getpwnam(argv[3]);
	t0 = usec();
	if ((rc = pam_start_confdir(argv[2], argv[3], &c, argv[1], &pamh)) != PAM_SUCCESS)
		return 102;
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	printf("%.1f\n", usec() - t0);
	return rc;
}
