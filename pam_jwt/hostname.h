/* hostname.h: this host's names (%h short, %H fully qualified) and their expansion in configured values. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_HOSTNAME_H
#define PAM_JWT_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PJ_HOST_MAX 256 /* bytes of a host name, with its NUL */

struct pj_host_names {
	char shortname[PJ_HOST_MAX]; /* %h: gethostname() up to its first '.' */
	char fqdn[PJ_HOST_MAX];      /* %H: gethostname() when it holds a '.', else its canonical name from
	                                the resolver (/etc/hosts first on most hosts), else gethostname() */
	bool resolved;               /* fqdn is final: pj_host_names_resolve ran (or had nothing to do) */
};

/* This host's names, lowercased (DNS names are case-insensitive; IdPs mint them lowercase). */
pj_status pj_host_names_get(struct pj_host_names *out, struct pj_error *err);

/* The same without the resolver: fqdn is gethostname() as it is. pj_host_names_resolve then does the
 * lookup (only when the name has no dot, and once), so a caller that can decide without it never waits on
 * DNS. */
pj_status pj_host_names_local(struct pj_host_names *out, struct pj_error *err);
void pj_host_names_resolve(struct pj_host_names *names);

/* Whether value's '%' escapes are all %h, %H or %% (the config check). */
bool pj_host_escapes_valid(const char *value);

/* value with %h, %H and %% replaced, into out (outlen bytes). names is looked up on first need when
 * *names_known is false, and the resolver asked only for a %H (a %h never waits on DNS). Refusals:
 * PJ_ERR_CONFIG (bad escape, too long), PJ_ERR_SYSTEM (no host name). */
pj_status pj_host_expand(const char *value, struct pj_host_names *names, bool *names_known, char *out,
                         size_t outlen, struct pj_error *err);

#endif
