/* config_file.h: /etc/pam_jwt.conf (INI): [global], one [issuer NAME] per issuer, [service NAME] rules. */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_CONFIG_FILE_H
#define PAM_JWT_CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PJ_DEFAULT_MAX_TOKEN_SIZE 16384
#define PJ_DEFAULT_LEEWAY         60
#define PJ_CONFIG_MAX_SIZE        (1024 * 1024)
#define PJ_DEFAULT_CACHE_DIR      "/var/cache/pam_jwt"
/* The user store directory is compiled into the NSS module, which cannot read this file: one Makefile
 * variable (make PJ_STATE_DIR=...) gives it to the module and to this default alike. */
#ifndef PJ_STATE_DIR
#error "PJ_STATE_DIR must be defined (Makefile.am passes it to every compilation)"
#endif
#define PJ_SERVICE_DEFAULT   "default" /* [service default]: for services without a section */
#define PJ_DEFAULT_STATE_DIR PJ_STATE_DIR

/* group_map entry: members of IdP group idp_group are added to the existing local group local_group. */
struct pj_group_map {
	char *idp_group;
	char *local_group;
};

/* One [issuer NAME] section. Every issuer key except "issuer" may also stand in [global], where it sets the
 * default for all issuers that do not set it themselves. Lists are NULL-terminated arrays with a count.
 * Syntax: "key = value" lines, full-line "#" comments, [global] (at most once; keys before any header
 * belong to it), [issuer NAME] and [service NAME] (NAME: [A-Za-z0-9_.-]+). Durations: seconds with an
 * optional suffix s, m, h or d; sizes: bytes with an optional suffix K or M (KiB, MiB). Lines at most 4096
 * bytes, UTF-8. */
struct pj_issuer {
	char *name; /* from [issuer NAME] */
	int line;   /* line of the section header, for messages */

	/* identity of the IdP: required */
	char *issuer;     /* issuer: the "iss" value, compared byte for byte; [issuer] only */
	char **audiences; /* audience: one or more, space-separated */
	size_t n_audiences;

	/* where keys come from: jwks_file, else jwks_uri, else OIDC discovery from issuer */
	char *jwks_file;            /* jwks_file: local JWKS (offline / air-gapped hosts) */
	char *jwks_uri;             /* jwks_uri: https URL (issuer too when it is used for discovery) */
	char *tls_ca_file;          /* tls_ca_file: PEM bundle to trust instead of the system store */
	char *proxy;                /* proxy: URL; none unless set */
	long http_connect_timeout;  /* http_connect_timeout: seconds, default 2, 1..60 */
	long http_timeout;          /* http_timeout: seconds, default 5, 1..300 */
	size_t http_max_body;       /* http_max_body: bytes, default 1 MiB, 1 KiB..16 MiB */
	long jwks_min_ttl;          /* jwks_min_ttl: seconds, default 300, 0..30d (<= jwks_max_ttl) */
	long jwks_max_ttl;          /* jwks_max_ttl: seconds, default 86400, 0..30d */
	long jwks_refresh_interval; /* jwks_refresh_interval: seconds, default 60, 0..1d */
	long jwks_max_stale;        /* jwks_max_stale: seconds, default 604800 (7 days), 0..365d */
	bool insecure_allow_http_loopback; /* insecure_allow_http_loopback: tests only, default no */

	/* token policy */
	unsigned algorithms; /* algorithms: space-separated names -> JWS_ALG_BIT() mask; default RS256 */
	long leeway;         /* leeway: seconds, default 60, 0..3600 */
	long max_token_age;  /* max_token_age: seconds; a token whose iat is older is refused (iat then
	                        required); 0 = no limit (default), up to 365d */
	bool require_dpop;   /* require_dpop: tokens must be DPoP-bound (cnf.jkt) and come with a proof */
	bool replay_jti;     /* replay_protection: "none" (default) or "jti": each jti accepted once per host
	                        (replay.h); a token without jti is refused */

	/* identity mapping */
	char *username_claim;       /* username_claim: default "preferred_username" */
	bool username_lowercase;    /* username_transform contains "lowercase" */
	bool username_strip_domain; /* username_transform contains "strip_domain" ("none": neither) */
	char **username_domains;    /* username_domains: allowed domains for strip_domain; NULL = any */
	size_t n_username_domains;
	char *groups_claim;    /* groups_claim: dotted path to an array of strings; NULL = no groups */
	char groups_separator; /* groups_separator: splits a string-valued groups claim ("devs,ops"); ' ' =
	                          runs of spaces and tabs; 0 (default) = such a string is refused */
	char *uid_claim;       /* uid_claim: claim holding a POSIX uid (a JSON number); NULL = hash */
	char *group_prefix;    /* group_prefix: prepended to managed group names; default "" (NULL) */
	char **groups_allow;   /* groups_allow: fnmatch patterns (space-separated); NULL = all */
	size_t n_groups_allow;
	struct pj_group_map *group_map; /* group_map: "idp:local, idp2:local2" */
	size_t n_group_map;

	/* device authorization grant (RFC 8628): pam-jwt login, module argument mode=device|auto. Without
	 * device_resource and device_audience the ID token is the credential, so "audience" must list
	 * device_client_id and device_scopes must hold "openid"; with either, the access token is. */
	char *device_client_id;          /* device_client_id: NULL = no device flow for this issuer */
	char *device_client_secret_file; /* device_client_secret_file: root-only (0600/0400) file; NULL =
	                                    public */
	char **device_scopes;            /* device_scopes: default "openid profile" */
	size_t n_device_scopes;
	char *device_resource; /* device_resource: RFC 8707 resource URI sent with the request */
	char *device_audience; /* device_audience: "audience" parameter sent with the request */
	long device_timeout;   /* device_timeout: seconds, default 110, 10..1800 */
	/* opkssh certificates (pam-jwt authorized-keys, pktoken.h): the ID token inside a PK Token has aud =
	 * the opkssh client's id, which is not an "audience" of token logins. */
	char *opkssh_client_id; /* opkssh_client_id: NULL = this issuer's PK Tokens are refused */
	long opkssh_max_age;    /* opkssh_expiration: 12h, 24h (default), 48h or 1week after iat, in seconds;
	                           oidc (0): until exp */
};

#define PJ_AUTHZ_LIST_MAX 64 /* entries in one rule list */

/* require_claim entry "path=value": the claim at the dotted path must equal value (a string claim, or
 * true/false, or an integer written in decimal) or, for an array, hold it as an element. */
struct pj_claim_rule {
	char *path;
	char *value;
};

/* The rules of one [service NAME] section or of one module line (authz.h checks a token against them).
 * Empty lists set no rule; issuers and groups are NULL-terminated, like every list of the configuration. */
struct pj_authz {
	char **issuers; /* names of [issuer] sections whose tokens may be used */
	size_t n_issuers;
	char **groups; /* the token's groups claim must hold one of these (exact match) */
	size_t n_groups;
	struct pj_claim_rule *claims; /* every one must hold */
	size_t n_claims;
};

/* One [service NAME] section: rules a token must also meet for the PAM service NAME (the module's service=
 * argument, else PAM_SERVICE), so that one file can admit devs over sshd and only admins through sudo.
 * Keys (space-separated lists, all optional): require_issuer (names of [issuer] sections), require_groups
 * (the token's groups claim holds at least one, exact match), require_claim (claim=value entries that all
 * hold: see struct pj_claim_rule). */
struct pj_service {
	char *name;
	int line;
	struct pj_authz authz;
	bool require_dpop; /* require_dpop: this service takes only DPoP-bound tokens with a proof (dpop.h) */
};

struct pj_config {
	char *path;
	/* [global] only */
	size_t max_token_size; /* max_token_size: bytes, default 16384, 1024..65536 */
	char *cache_dir;       /* cache_dir: default /var/cache/pam_jwt */
	char *state_dir;       /* state_dir: user store directory, default /var/lib/pam_jwt */
	uint32_t uid_min;      /* uid_min: default 2001000000 (>= 1000, < uid_max) */
	uint32_t uid_max;      /* uid_max: default 2147000000 */
	char *home_template;   /* home_template: default "/home/%u" */
	char *default_shell;   /* default_shell: default "/bin/bash" */
	long account_max_age;  /* account_max_age: seconds, default 30d, 0 = no limit, up to 3650d */
	bool nss_preauth;      /* nss_preauth: default no */
	char *id_salt;         /* id_salt: keys the id hash (fleet-wide secret); NULL = unkeyed FNV-1a */
	char **nss_preauth_programs; /* nss_preauth_programs: programs given pre-auth entries, by their
	                                /proc/self/comm; default "sshd sshd-session" */
	size_t n_nss_preauth_programs;
	/* DPoP (RFC 9449, dpop.h): the module offers a nonce in its prompt when dpop = yes or any issuer or
	 * service has require_dpop = yes (dpop_offered) */
	bool dpop;                /* dpop: default no */
	bool dpop_offered;        /* computed: dpop or any require_dpop */
	long dpop_nonce_lifetime; /* dpop_nonce_lifetime: seconds a nonce stays good, default 120, 1..3600 */
	long dpop_proof_max_age; /* dpop_proof_max_age: the proof's iat within this of now, default 60, 1..600
	                          */
	char **dpop_host_names;  /* dpop_host_names: names the htu may give this host besides %h and %H */
	size_t n_dpop_host_names;
	/* issuers in file order */
	struct pj_issuer *issuers;
	size_t n_issuers;
	/* [service NAME] sections in file order */
	struct pj_service *services;
	size_t n_services;
};

/* Reads and parses path (a trusted file: see trusted_file.h). Errors (PJ_ERR_CONFIG) name the file and
 * line: unknown keys, duplicate keys, duplicate sections or issuer values, missing required keys (issuer,
 * audience), bad values, an unknown algorithm name (none and HS* are refused by name), no issuer at all. */
pj_status config_load(const char *path, struct pj_config **out, struct pj_error *err);

/* Parses text already in memory (used by config_load and the tests); path is only used in messages. */
pj_status config_parse(const char *path, const char *text, size_t len, struct pj_config **out,
                       struct pj_error *err);

void config_free(struct pj_config *cfg);

/* Parses "path=value" (len bytes): the path is a dotted claim path (no empty component, no space, tab, NUL
 * or comma), the value is non-empty and holds no space, tab or comma. Refusals: PJ_ERR_CONFIG. Used for
 * require_claim in [service] sections and in module arguments alike. */
pj_status config_parse_claim_rule(const char *text, size_t len, struct pj_claim_rule *out,
                                  struct pj_error *err);

/* Frees a NULL-terminated list of strings (every list of the configuration). NULL is fine. */
void config_list_free(char **list);

/* Frees n claim rules and the array. NULL is fine. */
void config_claim_rules_free(struct pj_claim_rule *rules, size_t n);

/* The issuer section whose "issuer" equals iss (iss_len bytes, byte for byte), or NULL. */
const struct pj_issuer *config_find_issuer(const struct pj_config *cfg, const char *iss, size_t iss_len);

/* The [service NAME] section for name, or NULL. */
const struct pj_service *config_find_service(const struct pj_config *cfg, const char *name);

/* The issuer section named name, or NULL. */
const struct pj_issuer *config_find_issuer_by_name(const struct pj_config *cfg, const char *name);

#endif
