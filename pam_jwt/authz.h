/* authz.h: checks a verified identity against a rule set (struct pj_authz): issuers, groups, claims. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_AUTHZ_H
#define PAM_JWT_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "config_file.h"
#include "error.h"
#include "identity.h"

/* Adds comma-separated entries (module arguments: require_groups=a,b require_claim=acr=x,amr=mfa) to a.
 * groups_csv and claims_csv may be NULL. Empty entries and more than PJ_AUTHZ_LIST_MAX are refused. */
pj_status authz_add_args(struct pj_authz *a, const char *issuers_csv, const char *groups_csv,
                         const char *claims_csv, struct pj_error *err);

/* Whether a verified identity meets the rules; what names the rule set in the reason ("[service sshd]",
 * "module arguments"). Refusals: PJ_ERR_USER. */
pj_status authz_check(const struct pj_authz *a, const char *what, const struct pj_identity *id,
                      struct pj_error *err);

/* The rules of the [service NAME] section, for the PAM module and `pam-jwt verify --service` alike. A name
 * without a section (or NULL) gets the rules of [service default] when the file has one, else none; unless
 * must_exist (service= / --service named it): then PJ_ERR_CONFIG. */
pj_status authz_check_service(const struct pj_config *cfg, const char *name, bool must_exist,
                              const struct pj_identity *id, struct pj_error *err);

/* The section whose rules apply to service name: its own [service NAME], else [service default], else NULL
 * (name NULL: [service default]). The DPoP rule (require_dpop, dpop.h) takes the same section. */
struct pj_service;
const struct pj_service *authz_service_section(const struct pj_config *cfg, const char *name);

bool authz_is_empty(const struct pj_authz *a);

void authz_free(struct pj_authz *a);

#endif
