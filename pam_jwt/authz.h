/* authz.h: per-service authorization: the issuers, IdP groups and claim values a token must bring. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_AUTHZ_H
#define PAM_JWT_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct pj_identity;
struct pj_config;

#define PJ_AUTHZ_LIST_MAX 64 /* entries in one rule list */

/* require_claim entry "path=value": the claim at the dotted path must equal value (a string claim, or
 * true/false, or an integer written in decimal) or, for an array, hold it as an element. */
struct pj_claim_rule {
	char *path;
	char *value;
};

/* The rules of one [service NAME] section or of one module line. Empty lists set no rule. */
struct pj_authz {
	char **issuers; /* names of [issuer] sections whose tokens may be used */
	size_t n_issuers;
	char **groups; /* the token's groups claim must hold one of these (exact match) */
	size_t n_groups;
	struct pj_claim_rule *claims; /* every one must hold */
	size_t n_claims;
};

/* Parses "path=value" (len bytes): the path is a dotted claim path with no empty component, the value is
 * non-empty and holds no space, tab or comma. Refusals: PJ_ERR_CONFIG. */
pj_status authz_parse_claim_rule(const char *text, size_t len, struct pj_claim_rule *out,
                                 struct pj_error *err);

/* Adds comma-separated entries (module arguments: require_groups=a,b require_claim=acr=x,amr=mfa) to a.
 * groups_csv and claims_csv may be NULL. Empty entries and more than PJ_AUTHZ_LIST_MAX are refused. */
pj_status authz_add_args(struct pj_authz *a, const char *issuers_csv, const char *groups_csv,
                         const char *claims_csv, struct pj_error *err);

/* Whether a verified identity meets the rules; what names the rule set in the reason ("[service sshd]",
 * "module arguments"). Refusals: PJ_ERR_USER. */
pj_status authz_check(const struct pj_authz *a, const char *what, const struct pj_identity *id,
                      struct pj_error *err);

/* The rules of the [service NAME] section, for the PAM module and `pam-jwt verify --service` alike. A name
 * without a section sets no rule, unless must_exist (service= / --service named it): then PJ_ERR_CONFIG.
 * name may be NULL (no rule). */
pj_status authz_check_service(const struct pj_config *cfg, const char *name, bool must_exist,
                              const struct pj_identity *id, struct pj_error *err);

bool authz_is_empty(const struct pj_authz *a);

void authz_free(struct pj_authz *a);

#endif
