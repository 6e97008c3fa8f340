/* cli_identity.c: the accepted identity as pam-jwt prints it (see cli_identity.h). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_identity.h"
#include "pam_jwt/log.h"

void cli_print_identity(const struct pj_identity *id)
{
	char esc[1024], when[64] = "?";
	time_t exp = (time_t)id->exp;
	struct tm tm;

	if (gmtime_r(&exp, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	printf("accepted\n");
	printf("issuer:   %s (%s)\n", id->issuer->name,
	       pj_escape(esc, sizeof(esc), id->iss, strlen(id->iss)));
	printf("subject:  %s\n", pj_escape(esc, sizeof(esc), id->sub, strlen(id->sub)));
	printf("username: %s\n", id->username);
	printf("groups:  ");
	for (size_t i = 0; i < id->n_groups; i++)
		printf(" %s", pj_escape(esc, sizeof(esc), id->groups[i], strlen(id->groups[i])));
	printf("\nalg:      %s\n", id->alg);
	printf("expires:  %lld (%s)\n", (long long)id->exp, when);
}
