/* config_file.c: parses /etc/pam_jwt.conf strictly into struct pj_config, driven by one table row per key. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_file.h"
#include "https_url.h"
#include "json_strict.h"
#include "hostname.h"
#include "jws_alg.h"
#include "log.h"
#include "store/idmap.h"
#include "store/store_read.h"
#include "trusted_file.h"

#define CF_LINE_MAX     4096         /* bytes in one line, without the newline */
#define CF_MAX_ISSUERS  64           /* [issuer] sections in one file */
#define CF_MAX_SERVICES 64           /* [service] sections in one file */
#define CF_NAME_MAX     64           /* bytes in a section name */
#define CF_LIST_MAX     64           /* items in one list value */
#define CF_SHOW         96           /* bytes of file text quoted (escaped) in a message */
#define CF_UID_LIMIT    4294967294LL /* (uid_t)-1 is never a uid */

/* A number macro as file text, so a default written as a number elsewhere is written only once. */
#define PJ_QUOTE_(x) #x
#define PJ_QUOTE(x)  PJ_QUOTE_(x)

/* Where a key may stand: [global] only, [issuer NAME] (with [global] giving the default), only in
 * [issuer], or only in [service NAME]. */
enum cf_scope { CF_GLOBAL, CF_ISSUER, CF_ISSUER_ONLY, CF_SERVICE };

/* The kinds of section; each has its own struct (pj_config, pj_issuer, pj_service) as the keys' base. */
enum cf_kind { CF_KIND_GLOBAL, CF_KIND_ISSUER, CF_KIND_SERVICE };

/* How a parsed value is stored, so that config_free can walk the same table. */
enum cf_store { CF_PLAIN, CF_STRING, CF_LIST, CF_GROUP_MAP, CF_CLAIMS };

struct cf_ctx {
	const char *path;
	struct pj_error *err;
};

struct cf_key;

/* Parses value into the struct at base (struct pj_config for [global] keys, struct pj_issuer otherwise). */
typedef pj_status (*cf_parse_fn)(const struct cf_key *k, const char *value, void *base,
                                 const struct cf_ctx *c, int line);

/* A value type: how to parse it and how it is stored. */
struct cf_type {
	cf_parse_fn parse;
	enum cf_store store;
};

struct cf_key {
	const char *name;
	enum cf_scope scope;
	size_t off;       /* the field in base */
	size_t count_off; /* lists: the count field in base */
	const struct cf_type *type;
	long long min, max; /* numbers: inclusive range, in seconds or bytes after the suffix is applied */
	const char *dflt;   /* default, parsed like a value from the file; NULL: left unset */
	int required;
};

static pj_status parse_word(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_path(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_url(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_claim_path(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_group_prefix(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_bool(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_long(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_duration(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_size(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_uid(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_list(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_domains(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_algorithms(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_transform(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_group_map(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_claims(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_replay(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_separator(const struct cf_key *, const char *, void *, const struct cf_ctx *, int);
static pj_status parse_opkssh_expiration(const struct cf_key *, const char *, void *, const struct cf_ctx *,
                                         int);

/* clang-format off */
static const struct cf_type t_word = { parse_word, CF_STRING };           /* one word, no spaces */
static const struct cf_type t_path = { parse_path, CF_STRING };           /* absolute path */
static const struct cf_type t_url = { parse_url, CF_STRING };             /* scheme://host... */
static const struct cf_type t_claim = { parse_claim_path, CF_STRING };    /* a.b.c */
static const struct cf_type t_prefix = { parse_group_prefix, CF_STRING }; /* group name characters */
static const struct cf_type t_bool = { parse_bool, CF_PLAIN };            /* yes/no/true/false/1/0 */
static const struct cf_type t_int = { parse_long, CF_PLAIN };             /* plain integer */
static const struct cf_type t_secs = { parse_duration, CF_PLAIN };        /* seconds, suffix s/m/h/d */
static const struct cf_type t_size = { parse_size, CF_PLAIN };            /* bytes, suffix K/M */
static const struct cf_type t_uid = { parse_uid, CF_PLAIN };              /* uint32_t */
static const struct cf_type t_list = { parse_list, CF_LIST };             /* space-separated words */
static const struct cf_type t_domains = { parse_domains, CF_LIST };       /* space-separated domains */
static const struct cf_type t_algs = { parse_algorithms, CF_PLAIN };      /* JWS_ALG_BIT mask */
static const struct cf_type t_xform = { parse_transform, CF_PLAIN };      /* two bools */
static const struct cf_type t_gmap = { parse_group_map, CF_GROUP_MAP };   /* idp:local, ... */
static const struct cf_type t_claims = { parse_claims, CF_CLAIMS };       /* claim=value ... */
static const struct cf_type t_replay = { parse_replay, CF_PLAIN };        /* none or jti */
static const struct cf_type t_sep = { parse_separator, CF_PLAIN };        /* one character or "space" */
static const struct cf_type t_opkexp = { parse_opkssh_expiration, CF_PLAIN }; /* 12h 24h 48h 1week oidc */

#define CF_DAY 86400LL
#define CF_MIB (1024LL * 1024)
#define GKEY(n, f, t, lo, hi, d) { n, CF_GLOBAL, offsetof(struct pj_config, f), 0, t, lo, hi, d, 0 }
#define IKEY(n, f, t, lo, hi, d) { n, CF_ISSUER, offsetof(struct pj_issuer, f), 0, t, lo, hi, d, 0 }
#define GLIST(n, f, t) \
	{ n, CF_GLOBAL, offsetof(struct pj_config, f), offsetof(struct pj_config, n_##f), t, 0, 0, NULL, 0 }
#define ILIST(n, f, t, req) \
	{ n, CF_ISSUER, offsetof(struct pj_issuer, f), offsetof(struct pj_issuer, n_##f), t, 0, 0, NULL, req }
#define SLIST(n, f, t) \
	{ n, CF_SERVICE, offsetof(struct pj_service, authz.f), offsetof(struct pj_service, authz.n_##f), t, 0, 0, \
	  NULL, 0 }

/* Every key, its place and its rules (documented in config_file.h), as in Linux-PAM's argument tables.
 * Defaults are written as file text and parsed like it. */
static const struct cf_key cf_keys[] = {
	/* [global] only: name         field              type      min   max            default */
	GKEY("max_token_size",         max_token_size,    &t_size,  1024, 65536,         "16384"),
	GKEY("cache_dir",              cache_dir,         &t_path,  0,    0,             PJ_DEFAULT_CACHE_DIR),
	GKEY("state_dir",              state_dir,         &t_path,  0,    0,             PJ_DEFAULT_STATE_DIR),
	GKEY("uid_min",                uid_min,           &t_uid,   1000, CF_UID_LIMIT,  PJ_QUOTE(IDMAP_DEFAULT_UID_MIN)),
	GKEY("uid_max",                uid_max,           &t_uid,   1000, CF_UID_LIMIT,  PJ_QUOTE(IDMAP_DEFAULT_UID_MAX)),
	GKEY("home_template",          home_template,     &t_path,  0,    0,             IDMAP_DEFAULT_HOME),
	GKEY("default_shell",          default_shell,     &t_path,  0,    0,             IDMAP_DEFAULT_SHELL),
	GKEY("account_max_age",        account_max_age,   &t_secs,  0,    3650 * CF_DAY, "30d"),
	GKEY("nss_preauth",            nss_preauth,       &t_bool,  0,    0,             "no"),
	GKEY("id_salt",                id_salt,           &t_word,  0,    0,             NULL),
	{ "nss_preauth_programs", CF_GLOBAL, offsetof(struct pj_config, nss_preauth_programs),
	  offsetof(struct pj_config, n_nss_preauth_programs), &t_list, 0, 0, PJ_STORE_PREAUTH_PROGRAMS, 0 },
	GKEY("dpop",                   dpop,              &t_bool,  0,    0,             "no"),
	GKEY("dpop_nonce_lifetime",    dpop_nonce_lifetime, &t_secs, 1,   3600,          "120"),
	GKEY("dpop_proof_max_age",     dpop_proof_max_age, &t_secs, 1,    600,           "60"),
	GLIST("dpop_host_names",       dpop_host_names,   &t_domains),
	/* [issuer NAME] only, required */
	{ "issuer", CF_ISSUER_ONLY, offsetof(struct pj_issuer, issuer), 0, &t_word, 0, 0, NULL, 1 },
	/* [issuer NAME], defaults from [global] */
	ILIST("audience",              audiences,         &t_list,  1),
	IKEY("jwks_file",              jwks_file,         &t_path,  0,    0,             NULL),
	IKEY("jwks_uri",               jwks_uri,          &t_url,   0,    0,             NULL),
	IKEY("tls_ca_file",            tls_ca_file,       &t_path,  0,    0,             NULL),
	IKEY("proxy",                  proxy,             &t_url,   0,    0,             NULL),
	IKEY("http_connect_timeout",   http_connect_timeout, &t_int, 1,   60,            "2"),
	IKEY("http_timeout",           http_timeout,      &t_int,   1,    300,           "5"),
	IKEY("http_max_body",          http_max_body,     &t_size,  1024, 16 * CF_MIB,   "1M"),
	IKEY("jwks_min_ttl",           jwks_min_ttl,      &t_secs,  0,    30 * CF_DAY,   "300"),
	IKEY("jwks_max_ttl",           jwks_max_ttl,      &t_secs,  0,    30 * CF_DAY,   "86400"),
	IKEY("jwks_refresh_interval",  jwks_refresh_interval, &t_secs, 0, CF_DAY,        "60"),
	IKEY("jwks_max_stale",         jwks_max_stale,    &t_secs,  0,    365 * CF_DAY,  "604800"),
	IKEY("insecure_allow_http_loopback", insecure_allow_http_loopback, &t_bool, 0, 0, "no"),
	IKEY("algorithms",             algorithms,        &t_algs,  0,    0,             "RS256"),
	IKEY("leeway",                 leeway,            &t_secs,  0,    3600,          "60"),
	IKEY("max_token_age",          max_token_age,     &t_secs,  0,    365 * CF_DAY,  "0"),
	IKEY("require_dpop",           require_dpop,      &t_bool,  0,    0,             "no"),
	IKEY("replay_protection",      replay_jti,        &t_replay, 0,   0,             "none"),
	IKEY("username_claim",         username_claim,    &t_word,  0,    0,             "preferred_username"),
	IKEY("username_transform",     username_lowercase, &t_xform, 0,   0,             NULL),
	ILIST("username_domains",      username_domains,  &t_domains, 0),
	IKEY("groups_claim",           groups_claim,      &t_claim, 0,    0,             NULL),
	IKEY("groups_separator",       groups_separator,  &t_sep,   0,    0,             NULL),
	IKEY("uid_claim",              uid_claim,         &t_word,  0,    0,             NULL),
	IKEY("group_prefix",           group_prefix,      &t_prefix, 0,   0,             NULL),
	ILIST("groups_allow",          groups_allow,      &t_list,  0),
	ILIST("group_map",             group_map,         &t_gmap,  0),
	/* device flow: client id and secret belong to one issuer, never a [global] default */
	{ "device_client_id", CF_ISSUER_ONLY, offsetof(struct pj_issuer, device_client_id), 0, &t_word, 0, 0, NULL, 0 },
	{ "device_client_secret_file", CF_ISSUER_ONLY, offsetof(struct pj_issuer, device_client_secret_file), 0,
	  &t_path, 0, 0, NULL, 0 },
	{ "device_scopes", CF_ISSUER, offsetof(struct pj_issuer, device_scopes),
	  offsetof(struct pj_issuer, n_device_scopes), &t_list, 0, 0, "openid profile", 0 },
	IKEY("device_resource",        device_resource,   &t_url,   0,    0,             NULL),
	IKEY("device_audience",        device_audience,   &t_word,  0,    0,             NULL),
	IKEY("device_timeout",         device_timeout,    &t_secs,  10,   1800,          "110"),
	/* opkssh certificates (pam-jwt authorized-keys): the client id belongs to one issuer */
	{ "opkssh_client_id", CF_ISSUER_ONLY, offsetof(struct pj_issuer, opkssh_client_id), 0, &t_word, 0, 0, NULL, 0 },
	IKEY("opkssh_expiration",      opkssh_max_age,    &t_opkexp, 0,   0,             "24h"),
	/* [service NAME] only */
	SLIST("require_issuer",        issuers,           &t_list),
	SLIST("require_groups",        groups,            &t_list),
	SLIST("require_claim",         claims,            &t_claims),
	/* the same name as the issuer key: key_index_in picks the row by the section it stands in */
	{ "require_dpop", CF_SERVICE, offsetof(struct pj_service, require_dpop), 0, &t_bool, 0, 0, "no", 0 },
};
/* clang-format on */

#define CF_NKEYS (sizeof(cf_keys) / sizeof(cf_keys[0]))

/* One key = value line as found in the file; value NULL: not set in this section. */
struct cf_entry {
	const char *value;
	int line;
};

struct cf_section {
	enum cf_kind kind;
	const char *name; /* NULL for [global] */
	int line;         /* header line; 0 for keys before any header */
	struct cf_entry e[CF_NKEYS];
};

/* The file split into sections; values point into buf. */
struct cf_doc {
	char *buf;
	struct cf_section global;
	int global_header_line;
	struct cf_section *issuers;
	size_t n_issuers;
	struct cf_section *services;
	size_t n_services;
};

/* ---- messages ---- */

__attribute__((format(printf, 3, 4))) static pj_status cf_fail(const struct cf_ctx *c, int line,
                                                               const char *fmt, ...)
{
	char msg[PJ_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return pj_fail(c->err, PJ_ERR_CONFIG, "%s:%d: %s", c->path, line, msg);
	return pj_fail(c->err, PJ_ERR_CONFIG, "%s: %s", c->path, msg);
}

static pj_status cf_nomem(const struct cf_ctx *c)
{
	return pj_fail(c->err, PJ_ERR_NOMEM, "%s: out of memory", c->path);
}

/* File text is quoted escaped and shortened: it goes to logs. */
static const char *show(char *buf, const char *s)
{
	return pj_escape(buf, CF_SHOW, s, strlen(s));
}

/* ---- small text helpers ---- */

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static int is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int is_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || is_digit(ch) || ch == '_' ||
	       ch == '.' || ch == '-';
}

/* Trims spaces, tabs and CRs at both ends, in place. */
static char *trim(char *s)
{
	char *e;

	while (is_space(*s))
		s++;
	e = s + strlen(s);
	while (e > s && is_space(e[-1]))
		e--;
	*e = '\0';
	return s;
}

static int has_space(const char *s)
{
	return strpbrk(s, " \t") != NULL;
}

/* Whether the n bytes at s hold a NUL or any byte of set. */
static int has_byte_of(const char *s, size_t n, const char *set)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) != NULL)
			return 1;
	return 0;
}

/* Control characters other than tab (UTF-8 above 0x7f is fine). */
static int has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 1;
	return 0;
}

/* ---- value parsers ---- */

static void *field(const struct cf_key *k, void *base)
{
	return (char *)base + k->off;
}

static pj_status set_string(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c)
{
	char **f = field(k, base), *s;

	if ((s = strdup(value)) == NULL)
		return cf_nomem(c);
	free(*f);
	*f = s;
	return PJ_OK;
}

static pj_status parse_word(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	char q[CF_SHOW];

	if (has_space(value))
		return cf_fail(c, line, "%s: \"%s\" must be a single word", k->name, show(q, value));
	return set_string(k, value, base, c);
}

static pj_status parse_path(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	char q[CF_SHOW];

	if (value[0] != '/' || has_space(value))
		return cf_fail(c, line, "%s: \"%s\" is not an absolute path (without spaces)", k->name,
		               show(q, value));
	return set_string(k, value, base, c);
}

/* scheme://host...: the https-only rule for fetching is checked per issuer (check_fetch_url). */
static pj_status parse_url(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                           int line)
{
	const char *s = value;
	char q[CF_SHOW];

	if ((*s >= 'a' && *s <= 'z'))
		while ((*s >= 'a' && *s <= 'z') || is_digit(*s) || *s == '+' || *s == '.' || *s == '-')
			s++;
	if (s == value || strncmp(s, "://", 3) != 0 || s[3] == '\0' || s[3] == '/' || has_space(value))
		return cf_fail(c, line, "%s: \"%s\" is not a URL", k->name, show(q, value));
	return set_string(k, value, base, c);
}

/* A dotted path to a claim ("realm_access.roles", n bytes): no empty component, no space, tab or NUL. */
static bool config_claim_path_ok(const char *path, size_t n)
{
	if (n == 0 || path[0] == '.' || path[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (path[i] == ' ' || path[i] == '\t' || path[i] == '\0' ||
		    (i > 0 && path[i] == '.' && path[i - 1] == '.'))
			return false;
	return true;
}

static pj_status parse_claim_path(const struct cf_key *k, const char *value, void *base,
                                  const struct cf_ctx *c, int line)
{
	char q[CF_SHOW];

	if (!config_claim_path_ok(value, strlen(value)))
		return cf_fail(c, line, "%s: \"%s\" is not a dotted claim path", k->name, show(q, value));
	return set_string(k, value, base, c);
}

/* Local group names are made from these characters, so a prefix must be too. */
static int is_group_name(const char *s)
{
	if (*s == '\0' || *s == '-')
		return 0;
	for (; *s != '\0'; s++)
		if (!is_name_char(*s))
			return 0;
	return 1;
}

/* groups_separator: "space" (runs of spaces and tabs), or one ASCII punctuation character such as "," or
 * ";" (not "#", which would read as a comment, nor "=" or a quote). */
static pj_status parse_separator(const struct cf_key *k, const char *value, void *base,
                                 const struct cf_ctx *c, int line)
{
	char *f = field(k, base), q[CF_SHOW];

	if (strcmp(value, "space") == 0) {
		*f = ' ';
		return PJ_OK;
	}
	if (value[0] != '\0' && value[1] == '\0' && strchr(",;:|/+&", value[0]) != NULL) {
		*f = value[0];
		return PJ_OK;
	}
	return cf_fail(c, line, "%s: \"%s\" must be \"space\" or one of , ; : | / + &", k->name,
	               show(q, value));
}

static pj_status parse_group_prefix(const struct cf_key *k, const char *value, void *base,
                                    const struct cf_ctx *c, int line)
{
	char q[CF_SHOW];

	if (!is_group_name(value))
		return cf_fail(c, line, "%s: \"%s\" has characters not allowed in a group name", k->name,
		               show(q, value));
	return set_string(k, value, base, c);
}

static pj_status parse_bool(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	bool *f = field(k, base);
	char q[CF_SHOW];

	if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
		*f = true;
	else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
		*f = false;
	else
		return cf_fail(c, line, "%s: \"%s\" is not a boolean (yes, no, true, false, 1 or 0)", k->name,
		               show(q, value));
	return PJ_OK;
}

/* Number syntax: decimal digits, then optionally one unit suffix. */
struct cf_units {
	const char *what;
	const char *suffixes;
	long long mult[4];
};

static const struct cf_units units_none = {"an integer", "", {0}};
static const struct cf_units units_time = {
    "a number of seconds (optional suffix s, m, h or d)", "smhd", {1, 60, 3600, CF_DAY}};
static const struct cf_units units_size = {
    "a number of bytes (optional suffix K or M)", "KM", {1024, 1024 * 1024}};

static pj_status parse_number(const struct cf_key *k, const char *value, const struct cf_units *u,
                              const struct cf_ctx *c, int line, long long *out)
{
	const char *s = value, *suffix;
	long long v = 0, mult = 1;
	char q[CF_SHOW];

	*out = 0;
	if (!is_digit(*s))
		return cf_fail(c, line, "%s: \"%s\" is not %s", k->name, show(q, value), u->what);
	for (; is_digit(*s); s++) {
		if (v > (LLONG_MAX - 9) / 10)
			return cf_fail(c, line, "%s: %s is out of range (%lld..%lld)", k->name,
			               show(q, value), k->min, k->max);
		v = v * 10 + (*s - '0');
	}
	if (*s != '\0') {
		if (s[1] != '\0' || (suffix = strchr(u->suffixes, *s)) == NULL)
			return cf_fail(c, line, "%s: \"%s\" is not %s", k->name, show(q, value), u->what);
		mult = u->mult[suffix - u->suffixes];
	}
	if (v > LLONG_MAX / mult || v * mult < k->min || v * mult > k->max)
		return cf_fail(c, line, "%s: %s is out of range (%lld..%lld)", k->name, show(q, value),
		               k->min, k->max);
	*out = v * mult;
	return PJ_OK;
}

static pj_status parse_long(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	long long v;
	pj_status r;

	if ((r = parse_number(k, value, &units_none, c, line, &v)) == PJ_OK)
		*(long *)field(k, base) = (long)v;
	return r;
}

static pj_status parse_duration(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                                int line)
{
	long long v;
	pj_status r;

	if ((r = parse_number(k, value, &units_time, c, line, &v)) == PJ_OK)
		*(long *)field(k, base) = (long)v;
	return r;
}

static pj_status parse_size(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	long long v;
	pj_status r;

	if ((r = parse_number(k, value, &units_size, c, line, &v)) == PJ_OK)
		*(size_t *)field(k, base) = (size_t)v;
	return r;
}

static pj_status parse_uid(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                           int line)
{
	long long v;
	pj_status r;

	if ((r = parse_number(k, value, &units_none, c, line, &v)) == PJ_OK)
		*(uint32_t *)field(k, base) = (uint32_t)v;
	return r;
}

void config_list_free(char **list)
{
	if (list == NULL)
		return;
	for (char **p = list; *p != NULL; p++)
		free(*p);
	free(list);
}

/* Splits a space-separated value into a NULL-terminated array stored in the key's field and count. */
static pj_status parse_list(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                            int line)
{
	char **list, ***f = field(k, base);
	size_t n = 0, wlen;

	if ((list = calloc(CF_LIST_MAX + 1, sizeof(*list))) == NULL)
		return cf_nomem(c);
	for (const char *s = value; *s != '\0'; s += wlen) {
		s += strspn(s, " \t");
		if ((wlen = strcspn(s, " \t")) == 0)
			break;
		if (n == CF_LIST_MAX) {
			config_list_free(list);
			return cf_fail(c, line, "%s: more than %d entries", k->name, CF_LIST_MAX);
		}
		if ((list[n++] = strndup(s, wlen)) == NULL) {
			config_list_free(list);
			return cf_nomem(c);
		}
	}
	config_list_free(*f);
	*f = list;
	*(size_t *)((char *)base + k->count_off) = n;
	return PJ_OK;
}

static int is_domain(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || strstr(s, "..") != NULL)
		return 0;
	for (; *s != '\0'; s++)
		if (!is_name_char(*s) || *s == '_')
			return 0;
	return 1;
}

static pj_status parse_domains(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                               int line)
{
	char **list, q[CF_SHOW];
	pj_status r;

	if ((r = parse_list(k, value, base, c, line)) != PJ_OK)
		return r;
	list = *(char ***)field(k, base);
	for (size_t i = 0; list[i] != NULL; i++)
		if (!is_domain(list[i]))
			return cf_fail(c, line, "%s: \"%s\" is not a domain name", k->name, show(q, list[i]));
	return PJ_OK;
}

/* Calls fn for each space-separated word of value (at most CF_LIST_MAX), stopping at the first error. */
static pj_status
each_word(const struct cf_key *k, const char *value, const struct cf_ctx *c, int line,
          pj_status (*fn)(const struct cf_key *, const char *, void *, const struct cf_ctx *, int), void *arg)
{
	char word[CF_LINE_MAX + 1];
	size_t wlen, n = 0;
	pj_status r;

	for (const char *s = value; *s != '\0'; s += wlen) {
		s += strspn(s, " \t");
		if ((wlen = strcspn(s, " \t")) == 0)
			break;
		if (++n > CF_LIST_MAX)
			return cf_fail(c, line, "%s: more than %d entries", k->name, CF_LIST_MAX);
		memcpy(word, s, wlen);
		word[wlen] = '\0';
		if ((r = fn(k, word, arg, c, line)) != PJ_OK)
			return r;
	}
	return PJ_OK;
}

static pj_status add_algorithm(const struct cf_key *k, const char *name, void *arg, const struct cf_ctx *c,
                               int line)
{
	const struct jws_alg *alg = jws_alg_by_name(name);
	unsigned *mask = arg;
	char q[CF_SHOW];

	if (alg != NULL) {
		*mask |= JWS_ALG_BIT(alg->id);
		return PJ_OK;
	}
	if (strcasecmp(name, "none") == 0)
		return cf_fail(c, line, "%s: \"%s\" is never supported: tokens must be signed", k->name,
		               show(q, name));
	if (strncasecmp(name, "HS", 2) == 0)
		return cf_fail(c, line,
		               "%s: \"%s\" is never supported: HMAC (shared secret) algorithms are refused",
		               k->name, show(q, name));
	return cf_fail(c, line, "%s: unknown algorithm \"%s\"", k->name, show(q, name));
}

static pj_status parse_algorithms(const struct cf_key *k, const char *value, void *base,
                                  const struct cf_ctx *c, int line)
{
	unsigned mask = 0;
	pj_status r;

	if ((r = each_word(k, value, c, line, add_algorithm, &mask)) != PJ_OK)
		return r;
	*(unsigned *)field(k, base) = mask;
	return PJ_OK;
}

static pj_status add_transform(const struct cf_key *k, const char *word, void *arg, const struct cf_ctx *c,
                               int line)
{
	struct pj_issuer *iss = arg;
	char q[CF_SHOW];

	if (strcmp(word, "lowercase") == 0)
		iss->username_lowercase = true;
	else if (strcmp(word, "strip_domain") == 0)
		iss->username_strip_domain = true;
	else
		return cf_fail(c, line, "%s: unknown word \"%s\" (lowercase, strip_domain or none)", k->name,
		               show(q, word));
	return PJ_OK;
}

/* "none" stands alone: it lets an issuer turn off a transform set in [global]. */
static pj_status parse_transform(const struct cf_key *k, const char *value, void *base,
                                 const struct cf_ctx *c, int line)
{
	struct pj_issuer *iss = base;

	iss->username_lowercase = false;
	iss->username_strip_domain = false;
	if (strcmp(value, "none") == 0)
		return PJ_OK;
	return each_word(k, value, c, line, add_transform, iss);
}

static void free_group_map(struct pj_group_map *map, size_t n)
{
	if (map == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(map[i].idp_group);
		free(map[i].local_group);
	}
	free(map);
}

/* One "idp:local" entry (already trimmed). The last ':' splits, since IdP group names may hold colons. */
static pj_status group_map_entry(const struct cf_key *k, const char *entry, struct pj_group_map *m,
                                 const struct cf_ctx *c, int line)
{
	const char *colon = strrchr(entry, ':');
	char q[CF_SHOW];

	if (colon == NULL || colon == entry || has_space(entry) || !is_group_name(colon + 1))
		return cf_fail(c, line, "%s: malformed entry \"%s\" (expected idp_group:local_group)",
		               k->name, show(q, entry));
	if ((m->idp_group = strndup(entry, (size_t)(colon - entry))) == NULL ||
	    (m->local_group = strdup(colon + 1)) == NULL)
		return cf_nomem(c);
	return PJ_OK;
}

static pj_status parse_group_map(const struct cf_key *k, const char *value, void *base,
                                 const struct cf_ctx *c, int line)
{
	struct pj_issuer *iss = base;
	struct pj_group_map *map;
	char entry[CF_LINE_MAX + 1];
	const char *s = value;
	size_t n = 0, elen;
	pj_status r = PJ_OK;

	if ((map = calloc(CF_LIST_MAX, sizeof(*map))) == NULL)
		return cf_nomem(c);
	for (;;) {
		elen = strcspn(s, ",");
		memcpy(entry, s, elen);
		entry[elen] = '\0';
		if (n == CF_LIST_MAX) {
			r = cf_fail(c, line, "%s: more than %d entries", k->name, CF_LIST_MAX);
			break;
		}
		if ((r = group_map_entry(k, trim(entry), &map[n++], c, line)) != PJ_OK || s[elen] == '\0')
			break;
		s += elen + 1;
	}
	if (r != PJ_OK) {
		free_group_map(map, n);
		return r;
	}
	free_group_map(iss->group_map, iss->n_group_map);
	iss->group_map = map;
	iss->n_group_map = n;
	return PJ_OK;
}

void config_claim_rules_free(struct pj_claim_rule *rules, size_t n)
{
	if (rules == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(rules[i].path);
		free(rules[i].value);
	}
	free(rules);
}

pj_status config_parse_claim_rule(const char *text, size_t len, struct pj_claim_rule *out,
                                  struct pj_error *err)
{
	const char *eq = memchr(text, '=', len);
	size_t plen, vlen;
	char q[CF_SHOW];

	memset(out, 0, sizeof(*out));
	if (eq == NULL)
		goto bad;
	plen = (size_t)(eq - text);
	vlen = len - plen - 1;
	/* The comma separates entries in module arguments, so neither side may hold one. */
	if (!config_claim_path_ok(text, plen) || memchr(text, ',', plen) != NULL || vlen == 0 ||
	    has_byte_of(eq + 1, vlen, " \t,"))
		goto bad;
	if ((out->path = strndup(text, plen)) == NULL || (out->value = strndup(eq + 1, vlen)) == NULL) {
		free(out->path);
		out->path = NULL;
		return pj_fail(err, PJ_ERR_NOMEM, "out of memory");
	}
	return PJ_OK;
bad : {
	char *copy = strndup(text, len);
	pj_fail(err, PJ_ERR_CONFIG,
	        "require_claim: \"%s\" is not claim=value (a dotted claim path, a value "
	        "without spaces or commas)",
	        copy != NULL ? show(q, copy) : "?");
	free(copy);
}
	return PJ_ERR_CONFIG;
}

struct claims_acc {
	struct pj_claim_rule *rules;
	size_t n;
};

static pj_status add_claim(const struct cf_key *k, const char *word, void *arg, const struct cf_ctx *c,
                           int line)
{
	struct claims_acc *acc = arg;
	struct pj_error e;
	pj_status r;

	(void)k;
	if ((r = config_parse_claim_rule(word, strlen(word), &acc->rules[acc->n], &e)) == PJ_ERR_NOMEM)
		return cf_nomem(c);
	if (r != PJ_OK)
		return cf_fail(c, line, "%s", e.reason);
	acc->n++;
	return PJ_OK;
}

/* require_claim: space-separated claim=value entries (config_parse_claim_rule). */
static pj_status parse_claims(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                              int line)
{
	struct pj_claim_rule **f = field(k, base);
	size_t *count = (size_t *)((char *)base + k->count_off);
	struct claims_acc acc = {NULL, 0};
	pj_status r;

	if ((acc.rules = calloc(CF_LIST_MAX, sizeof(*acc.rules))) == NULL)
		return cf_nomem(c);
	if ((r = each_word(k, value, c, line, add_claim, &acc)) != PJ_OK) {
		config_claim_rules_free(acc.rules, acc.n);
		return r;
	}
	config_claim_rules_free(*f, *count);
	*f = acc.rules;
	*count = acc.n;
	return PJ_OK;
}

/* replay_protection: "none", or "jti" (each token id accepted once per host: replay.h). */
static pj_status parse_replay(const struct cf_key *k, const char *value, void *base, const struct cf_ctx *c,
                              int line)
{
	char q[CF_SHOW];

	if (strcmp(value, "jti") != 0 && strcmp(value, "none") != 0)
		return cf_fail(c, line, "%s: \"%s\" is neither none nor jti", k->name, show(q, value));
	*(bool *)field(k, base) = strcmp(value, "jti") == 0;
	return PJ_OK;
}

/* opkssh_expiration: opkssh's policies. 12h, 24h, 48h, 1week: the PK Token is good for that long after the
 * ID token's iat (stored as seconds); oidc: until the ID token's exp (stored as 0). */
static pj_status parse_opkssh_expiration(const struct cf_key *k, const char *value, void *base,
                                         const struct cf_ctx *c, int line)
{
	static const struct {
		const char *name;
		long secs;
	} policies[] = {
	    {"12h", 12 * 3600}, {"24h", 24 * 3600}, {"48h", 48 * 3600}, {"1week", 7 * 86400}, {"oidc", 0}};
	char q[CF_SHOW];

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		if (strcmp(value, policies[i].name) == 0) {
			*(long *)field(k, base) = policies[i].secs;
			return PJ_OK;
		}
	}
	return cf_fail(c, line, "%s: \"%s\" is none of 12h, 24h, 48h, 1week, oidc", k->name, show(q, value));
}

/* ---- the file: lines and sections ---- */

static int key_index(const char *name)
{
	for (size_t i = 0; i < CF_NKEYS; i++)
		if (strcmp(cf_keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The row for key name in a section of kind: a name may have one row for issuers and one for services
 * (require_dpop); else the only row, whose scope check_scope then refuses or accepts. */
static int key_index_in(enum cf_kind kind, const char *name)
{
	int any = -1;

	for (size_t i = 0; i < CF_NKEYS; i++) {
		if (strcmp(cf_keys[i].name, name) != 0)
			continue;
		if ((kind == CF_KIND_SERVICE) == (cf_keys[i].scope == CF_SERVICE))
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

/* [issuer NAME] or [service NAME]: label is "issuer" or "service", rest what follows the label. */
static pj_status named_section(struct cf_doc *d, struct cf_section **cur, enum cf_kind kind,
                               const char *label, char *rest, int line, const struct cf_ctx *c)
{
	struct cf_section **list = kind == CF_KIND_ISSUER ? &d->issuers : &d->services, *ns;
	size_t *n = kind == CF_KIND_ISSUER ? &d->n_issuers : &d->n_services;
	size_t max = kind == CF_KIND_ISSUER ? CF_MAX_ISSUERS : CF_MAX_SERVICES;
	char *name = trim(rest), q[CF_SHOW];

	if (*name == '\0')
		return cf_fail(c, line, "[%s] needs a name: [%s NAME]", label, label);
	for (const char *p = name; *p != '\0'; p++)
		if (!is_name_char(*p))
			return cf_fail(c, line, "bad %s name \"%s\" (letters, digits, '_', '.' and '-' only)",
			               label, show(q, name));
	if (strlen(name) > CF_NAME_MAX)
		return cf_fail(c, line, "%s name longer than %d bytes", label, CF_NAME_MAX);
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i].name, name) == 0)
			return cf_fail(c, line, "duplicate section [%s %s] (first at line %d)", label, name,
			               (*list)[i].line);
	if (*n == max)
		return cf_fail(c, line, "more than %zu [%s] sections", max, label);
	if ((ns = realloc(*list, (*n + 1) * sizeof(*ns))) == NULL)
		return cf_nomem(c);
	*list = ns;
	ns = &ns[(*n)++];
	memset(ns, 0, sizeof(*ns));
	ns->kind = kind;
	ns->name = name;
	ns->line = line;
	*cur = ns;
	return PJ_OK;
}

/* Whether inner is label alone or label, blanks and a name. */
static int has_label(const char *inner, const char *label)
{
	size_t n = strlen(label);

	return strncmp(inner, label, n) == 0 && (inner[n] == '\0' || inner[n] == ' ' || inner[n] == '\t');
}

static pj_status section_header(struct cf_doc *d, struct cf_section **cur, char *s, int line,
                                const struct cf_ctx *c)
{
	char *inner, q[CF_SHOW];
	size_t len = strlen(s);

	if (s[len - 1] != ']')
		return cf_fail(c, line, "section header \"%s\" does not end with ']'", show(q, s));
	s[len - 1] = '\0';
	inner = trim(s + 1);
	if (strcmp(inner, "global") == 0) {
		if (d->global_header_line != 0)
			return cf_fail(c, line, "duplicate section [global] (first at line %d)",
			               d->global_header_line);
		d->global_header_line = line;
		*cur = &d->global;
		return PJ_OK;
	}
	if (has_label(inner, "issuer"))
		return named_section(d, cur, CF_KIND_ISSUER, "issuer", inner + 6, line, c);
	if (has_label(inner, "service"))
		return named_section(d, cur, CF_KIND_SERVICE, "service", inner + 7, line, c);
	return cf_fail(c, line, "unknown section [%s] (expected [global], [issuer NAME] or [service NAME])",
	               show(q, inner));
}

/* Whether key k may stand in section cur. */
static pj_status check_scope(const struct cf_section *cur, const struct cf_key *k, int line,
                             const struct cf_ctx *c)
{
	switch (cur->kind) {
	case CF_KIND_GLOBAL:
		if (k->scope == CF_ISSUER_ONLY)
			return cf_fail(c, line, "%s is an [issuer NAME] key, it cannot stand in [global]",
			               k->name);
		if (k->scope == CF_SERVICE)
			return cf_fail(c, line, "%s is a [service NAME] key, it cannot stand in [global]",
			               k->name);
		return PJ_OK;
	case CF_KIND_ISSUER:
		if (k->scope == CF_GLOBAL)
			return cf_fail(c, line, "%s is a [global] key, not allowed in [issuer %s]", k->name,
			               cur->name);
		if (k->scope == CF_SERVICE)
			return cf_fail(c, line, "%s is a [service NAME] key, not allowed in [issuer %s]",
			               k->name, cur->name);
		return PJ_OK;
	case CF_KIND_SERVICE:
		if (k->scope != CF_SERVICE)
			return cf_fail(c, line,
			               "%s is not allowed in [service %s] (require_issuer, require_groups, "
			               "require_claim and require_dpop are)",
			               k->name, cur->name);
		return PJ_OK;
	}
	return cf_fail(c, line, "internal error: unknown section kind");
}

static pj_status key_value(struct cf_section *cur, char *s, int line, const struct cf_ctx *c)
{
	char *eq = strchr(s, '='), *key, *value, q[CF_SHOW];
	const struct cf_key *k;
	pj_status r;
	int i;

	if (eq == NULL)
		return cf_fail(c, line, "expected \"key = value\", a [section] or a # comment: \"%s\"",
		               show(q, s));
	*eq = '\0';
	key = trim(s);
	value = trim(eq + 1);
	if (*key == '\0')
		return cf_fail(c, line, "no key before '='");
	if ((i = key_index_in(cur->kind, key)) < 0)
		return cf_fail(c, line, "unknown key \"%s\"", show(q, key));
	k = &cf_keys[i];
	if ((r = check_scope(cur, k, line, c)) != PJ_OK)
		return r;
	if (cur->e[i].value != NULL)
		return cf_fail(c, line, "duplicate key %s (first set at line %d)", k->name, cur->e[i].line);
	if (*value == '\0')
		return cf_fail(c, line, "%s: empty value", k->name);
	/* Only full-line comments exist; a trailing one would silently become part of the value. */
	if (strstr(value, " #") != NULL || strstr(value, "\t#") != NULL)
		return cf_fail(c, line, "%s: comments must be on a line of their own", k->name);
	cur->e[i].value = value;
	cur->e[i].line = line;
	return PJ_OK;
}

/* One line, already NUL-terminated in place. */
static pj_status parse_line(struct cf_doc *d, struct cf_section **cur, char *raw, int line,
                            const struct cf_ctx *c)
{
	char *s = trim(raw);

	if (*s == '\0' || *s == '#')
		return PJ_OK;
	if (has_control(s))
		return cf_fail(c, line, "control character in line");
	if (*s == '[')
		return section_header(d, cur, s, line, c);
	return key_value(*cur, s, line, c);
}

/* Splits buf (len bytes plus a spare byte) into lines and sections. */
static pj_status split_file(struct cf_doc *d, size_t len, const struct cf_ctx *c)
{
	struct cf_section *cur = &d->global;
	char *p = d->buf, *end = d->buf + len, *nl;
	size_t n;
	pj_status r;
	int line = 0;

	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > CF_LINE_MAX)
			return cf_fail(c, line, "line longer than %d bytes", CF_LINE_MAX);
		if (memchr(p, '\0', n) != NULL)
			return cf_fail(c, line, "NUL byte in line");
		if (json_strict_utf8_check(p, n) != n)
			return cf_fail(c, line, "invalid UTF-8");
		p[n] = '\0';
		if ((r = parse_line(d, &cur, p, line, c)) != PJ_OK)
			return r;
		p += n + 1;
	}
	return PJ_OK;
}

/* ---- from sections to struct pj_config ---- */

/* The kind of section whose struct holds key k's field. */
static enum cf_kind key_kind(const struct cf_key *k)
{
	switch (k->scope) {
	case CF_GLOBAL: return CF_KIND_GLOBAL;
	case CF_SERVICE: return CF_KIND_SERVICE;
	case CF_ISSUER:
	case CF_ISSUER_ONLY: break;
	}
	return CF_KIND_ISSUER;
}

/* Frees what the table says base holds for keys of the given kind of section. */
static void free_fields(void *base, enum cf_kind kind)
{
	for (size_t i = 0; i < CF_NKEYS; i++) {
		const struct cf_key *k = &cf_keys[i];
		void *f;
		size_t n;

		if (key_kind(k) != kind)
			continue;
		f = field(k, base);
		n = k->count_off ? *(size_t *)((char *)base + k->count_off) : 0;
		switch (k->type->store) {
		case CF_STRING: free(*(char **)f); break;
		case CF_LIST: config_list_free(*(char ***)f); break;
		case CF_GROUP_MAP: free_group_map(*(struct pj_group_map **)f, n); break;
		case CF_CLAIMS: config_claim_rules_free(*(struct pj_claim_rule **)f, n); break;
		case CF_PLAIN: break;
		}
	}
}

/* The entry that gives key i its value in section s: its own, else the one in [global]; NULL if none. */
static const struct cf_entry *source(const struct cf_doc *d, const struct cf_section *s, size_t i)
{
	if (s->e[i].value != NULL)
		return &s->e[i];
	if (d->global.e[i].value != NULL)
		return &d->global.e[i];
	return NULL;
}

/* The line that set key i for section s, 0 when it has its built-in default. */
static int source_line(const struct cf_doc *d, const struct cf_section *s, size_t i)
{
	const struct cf_entry *e = source(d, s, i);

	return e != NULL ? e->line : 0;
}

static pj_status apply_key(size_t i, const struct cf_entry *e, void *base, const struct cf_ctx *c)
{
	const struct cf_key *k = &cf_keys[i];

	if (e != NULL)
		return k->type->parse(k, e->value, base, c, e->line);
	if (k->dflt != NULL)
		return k->type->parse(k, k->dflt, base, c, 0);
	return PJ_OK;
}

static pj_status build_global(const struct cf_doc *d, struct pj_config *cfg, const struct cf_ctx *c)
{
	const struct cf_entry *e;
	struct pj_issuer scratch;
	pj_status r = PJ_OK;
	int line;

	for (size_t i = 0; i < CF_NKEYS && r == PJ_OK; i++) {
		e = d->global.e[i].value != NULL ? &d->global.e[i] : NULL;
		if (cf_keys[i].scope == CF_GLOBAL)
			r = apply_key(i, e, cfg, c);
	}
	if (r != PJ_OK)
		return r;
	if (cfg->uid_min >= cfg->uid_max) {
		line = d->global.e[key_index("uid_max")].line;
		if (line == 0)
			line = d->global.e[key_index("uid_min")].line;
		return cf_fail(c, line, "uid_min (%lu) must be below uid_max (%lu)",
		               (unsigned long)cfg->uid_min, (unsigned long)cfg->uid_max);
	}
	if (cfg->n_nss_preauth_programs > PJ_STORE_PROGRAMS_MAX)
		return cf_fail(c, d->global.e[key_index("nss_preauth_programs")].line,
		               "nss_preauth_programs: at most %d programs", PJ_STORE_PROGRAMS_MAX);
	for (size_t i = 0; i < cfg->n_nss_preauth_programs; i++) {
		if (!store_programs_ok(cfg->nss_preauth_programs[i]))
			return cf_fail(
			    c, d->global.e[key_index("nss_preauth_programs")].line,
			    "nss_preauth_programs: %.64s is not a program name as /proc/PID/comm has "
			    "it (at most %d bytes, no '/' or ':')",
			    cfg->nss_preauth_programs[i], PJ_STORE_PROGRAM_LEN);
	}
	if (cfg->id_salt != NULL && !idmap_salt_ok(cfg->id_salt))
		return cf_fail(
		    c, d->global.e[key_index("id_salt")].line,
		    "id_salt: want %d to %d printable ASCII characters without ':' (e.g. openssl rand "
		    "-hex 16), the same on every host",
		    IDMAP_SALT_MIN, IDMAP_SALT_MAX);
	/* Issuer defaults in [global] are checked on their own too, so a bad one is reported even when
	 * every issuer overrides it. */
	memset(&scratch, 0, sizeof(scratch));
	for (size_t i = 0; i < CF_NKEYS && r == PJ_OK; i++)
		if (key_kind(&cf_keys[i]) == CF_KIND_ISSUER && d->global.e[i].value != NULL)
			r = apply_key(i, &d->global.e[i], &scratch, c);
	free_fields(&scratch, CF_KIND_ISSUER);
	return r;
}

/* URLs we fetch from: the one rule of https_url.h, said here with the issuer, key and line. */
static pj_status check_fetch_url(const struct pj_issuer *iss, const char *url, const char *what,
                                 const struct cf_ctx *c, int line)
{
	char q[CF_SHOW];

	if (https_url_allowed(url, iss->insecure_allow_http_loopback))
		return PJ_OK;
	return cf_fail(
	    c, line,
	    "[issuer %s]: %s \"%s\" must be an https:// URL (plain http only to 127.0.0.1 or [::1] "
	    "with insecure_allow_http_loopback)",
	    iss->name, what, show(q, url));
}

static int in_list(char **list, const char *word)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, word) == 0)
			return 1;
	return 0;
}

/* The device flow (RFC 8628) finds its endpoints by discovery at the issuer URL. Without device_resource
 * and device_audience its credential is the ID token, whose aud is the client id and which needs the
 * "openid" scope: said here rather than found out at the first login. */
static pj_status check_device(const struct cf_doc *d, const struct cf_section *s, const struct pj_issuer *iss,
                              const struct cf_ctx *c)
{
	static const char *const needs_id[] = {"device_client_secret_file", "device_scopes",
	                                       "device_resource", "device_audience", "device_timeout"};
	int line = source_line(d, s, key_index("device_client_id"));
	char q[CF_SHOW];
	pj_status r;

	if (iss->device_client_id == NULL) {
		for (size_t i = 0; i < sizeof(needs_id) / sizeof(needs_id[0]); i++)
			if (s->e[key_index(needs_id[i])].value != NULL)
				return cf_fail(c, s->e[key_index(needs_id[i])].line,
				               "[issuer %s]: %s needs device_client_id", iss->name,
				               needs_id[i]);
		return PJ_OK;
	}
	if ((r = check_fetch_url(iss, iss->issuer, "issuer (used for discovery by the device flow)", c,
	                         source_line(d, s, key_index("issuer")))) != PJ_OK)
		return r;
	if (iss->device_resource != NULL || iss->device_audience != NULL)
		return PJ_OK;
	if (!in_list(iss->audiences, iss->device_client_id))
		return cf_fail(
		    c, line,
		    "[issuer %s]: the device flow's ID token has aud = device_client_id, so audience "
		    "must list \"%s\" (or set device_resource / device_audience to use the access "
		    "token)",
		    iss->name, show(q, iss->device_client_id));
	if (!in_list(iss->device_scopes, "openid"))
		return cf_fail(c, source_line(d, s, key_index("device_scopes")),
		               "[issuer %s]: device_scopes must contain \"openid\" to get an ID token",
		               iss->name);
	return PJ_OK;
}

/* A value that may name this host (audience, device_resource, device_audience): '%' starts %h, %H or %%
 * only; a refusal names the key's line. NULL is fine. */
static pj_status check_host_escapes(const struct cf_doc *d, const struct cf_section *s,
                                    const struct pj_issuer *iss, const char *key, const char *value,
                                    const struct cf_ctx *c)
{
	char q[CF_SHOW];

	if (value == NULL || pj_host_escapes_valid(value))
		return PJ_OK;
	return cf_fail(c, source_line(d, s, key_index(key)),
	               "[issuer %s]: %s \"%s\": '%%' starts %%h (short host name), %%H (fully qualified) or "
	               "%%%% only",
	               iss->name, key, show(q, value));
}

/* Rules between keys of one issuer, and against the issuers before it. */
static pj_status check_issuer(const struct cf_doc *d, const struct cf_section *s, const struct pj_config *cfg,
                              const struct pj_issuer *iss, const struct cf_ctx *c)
{
	int min_line = source_line(d, s, key_index("jwks_min_ttl"));
	int max_line = source_line(d, s, key_index("jwks_max_ttl"));
	char q[CF_SHOW];
	pj_status r;

	if (iss->jwks_min_ttl > iss->jwks_max_ttl)
		return cf_fail(c,
		               min_line > max_line ? min_line
		               : max_line > 0      ? max_line
		                                   : s->line,
		               "[issuer %s]: jwks_min_ttl (%ld) is larger than jwks_max_ttl (%ld)", iss->name,
		               iss->jwks_min_ttl, iss->jwks_max_ttl);
	if (iss->jwks_uri != NULL && (r = check_fetch_url(iss, iss->jwks_uri, "jwks_uri", c,
	                                                  source_line(d, s, key_index("jwks_uri")))) != PJ_OK)
		return r;
	/* Without jwks_file or jwks_uri, keys come from OIDC discovery at the issuer URL itself. */
	if (iss->jwks_file == NULL && iss->jwks_uri == NULL &&
	    (r = check_fetch_url(iss, iss->issuer, "issuer (used for discovery: no jwks_file or jwks_uri)", c,
	                         source_line(d, s, key_index("issuer")))) != PJ_OK)
		return r;
	for (size_t i = 0; i < iss->n_audiences; i++)
		if ((r = check_host_escapes(d, s, iss, "audience", iss->audiences[i], c)) != PJ_OK)
			return r;
	if ((r = check_host_escapes(d, s, iss, "device_resource", iss->device_resource, c)) != PJ_OK ||
	    (r = check_host_escapes(d, s, iss, "device_audience", iss->device_audience, c)) != PJ_OK)
		return r;
	for (const struct pj_issuer *o = cfg->issuers; o < iss; o++)
		if (strcmp(o->issuer, iss->issuer) == 0)
			return cf_fail(c, source_line(d, s, key_index("issuer")),
			               "issuer \"%s\" is already used by [issuer %s] (line %d)",
			               show(q, iss->issuer), o->name, o->line);
	return check_device(d, s, iss, c);
}

static pj_status build_issuer(const struct cf_doc *d, const struct cf_section *s, struct pj_config *cfg,
                              struct pj_issuer *iss, const struct cf_ctx *c)
{
	const struct cf_entry *e;
	pj_status r;

	if ((iss->name = strdup(s->name)) == NULL)
		return cf_nomem(c);
	iss->line = s->line;
	for (size_t i = 0; i < CF_NKEYS; i++) {
		if (key_kind(&cf_keys[i]) != CF_KIND_ISSUER)
			continue;
		e = source(d, s, i);
		if (e == NULL && cf_keys[i].required)
			return cf_fail(c, s->line, "[issuer %s]: missing required key %s", s->name,
			               cf_keys[i].name);
		if ((r = apply_key(i, e, iss, c)) != PJ_OK)
			return r;
	}
	if (iss->n_audiences == 0)
		return cf_fail(c, source_line(d, s, key_index("audience")), "[issuer %s]: audience is empty",
		               s->name);
	return check_issuer(d, s, cfg, iss, c);
}

/* A [service NAME] section: its own keys only (nothing is inherited from [global]); the issuers it names
 * must exist. */
static pj_status build_service(const struct cf_section *s, const struct pj_config *cfg,
                               struct pj_service *svc, const struct cf_ctx *c)
{
	const struct cf_entry *e;
	char q[CF_SHOW];
	pj_status r;

	if ((svc->name = strdup(s->name)) == NULL)
		return cf_nomem(c);
	svc->line = s->line;
	for (size_t i = 0; i < CF_NKEYS; i++) {
		if (key_kind(&cf_keys[i]) != CF_KIND_SERVICE)
			continue;
		e = s->e[i].value != NULL ? &s->e[i] : NULL;
		if ((r = apply_key(i, e, svc, c)) != PJ_OK)
			return r;
	}
	for (size_t i = 0; i < svc->authz.n_issuers; i++)
		if (config_find_issuer_by_name(cfg, svc->authz.issuers[i]) == NULL)
			return cf_fail(c, s->e[key_index("require_issuer")].line,
			               "[service %s]: require_issuer: no [issuer %s] section", s->name,
			               show(q, svc->authz.issuers[i]));
	return PJ_OK;
}

static pj_status build_config(const struct cf_doc *d, struct pj_config *cfg, const struct cf_ctx *c)
{
	pj_status r;

	if ((r = build_global(d, cfg, c)) != PJ_OK)
		return r;
	if (d->n_issuers == 0)
		return cf_fail(c, 0, "no [issuer NAME] section");
	if ((cfg->issuers = calloc(d->n_issuers, sizeof(*cfg->issuers))) == NULL)
		return cf_nomem(c);
	for (size_t i = 0; i < d->n_issuers; i++) {
		cfg->n_issuers++;
		if ((r = build_issuer(d, &d->issuers[i], cfg, &cfg->issuers[i], c)) != PJ_OK)
			return r;
	}
	if (d->n_services > 0 && (cfg->services = calloc(d->n_services, sizeof(*cfg->services))) == NULL)
		return cf_nomem(c);
	for (size_t i = 0; i < d->n_services; i++) {
		cfg->n_services++;
		if ((r = build_service(&d->services[i], cfg, &cfg->services[i], c)) != PJ_OK)
			return r;
	}
	/* A nonce is offered whenever some token may need a proof. */
	cfg->dpop_offered = cfg->dpop;
	for (size_t i = 0; i < cfg->n_issuers; i++)
		cfg->dpop_offered |= cfg->issuers[i].require_dpop;
	for (size_t i = 0; i < cfg->n_services; i++)
		cfg->dpop_offered |= cfg->services[i].require_dpop;
	return PJ_OK;
}

pj_status config_parse(const char *path, const char *text, size_t len, struct pj_config **out,
                       struct pj_error *err)
{
	struct cf_ctx c = {path != NULL ? path : "(config)", err};
	struct pj_config *cfg = NULL;
	struct cf_doc d;
	pj_status r;

	*out = NULL;
	pj_error_clear(err);
	memset(&d, 0, sizeof(d));
	if (len > PJ_CONFIG_MAX_SIZE)
		return cf_fail(&c, 0, "larger than %d bytes", PJ_CONFIG_MAX_SIZE);
	if ((d.buf = malloc(len + 1)) == NULL || (cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(c.path)) == NULL) {
		r = cf_nomem(&c);
		goto out;
	}
	memcpy(d.buf, text, len);
	d.buf[len] = '\0';
	if ((r = split_file(&d, len, &c)) != PJ_OK || (r = build_config(&d, cfg, &c)) != PJ_OK)
		goto out;
	*out = cfg;
	cfg = NULL;
out:
	config_free(cfg);
	free(d.issuers);
	free(d.services);
	free(d.buf);
	return r;
}

pj_status config_load(const char *path, struct pj_config **out, struct pj_error *err)
{
	char *text = NULL;
	size_t len = 0;
	pj_status r;

	*out = NULL;
	if ((r = trusted_file_read(path, PJ_CONFIG_MAX_SIZE, &text, &len, err)) != PJ_OK)
		return r;
	r = config_parse(path, text, len, out, err);
	free(text);
	return r;
}

void config_free(struct pj_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_issuers; i++) {
		free(cfg->issuers[i].name);
		free_fields(&cfg->issuers[i], CF_KIND_ISSUER);
	}
	free(cfg->issuers);
	for (size_t i = 0; i < cfg->n_services; i++) {
		free(cfg->services[i].name);
		free_fields(&cfg->services[i], CF_KIND_SERVICE);
	}
	free(cfg->services);
	free_fields(cfg, CF_KIND_GLOBAL);
	free(cfg->path);
	free(cfg);
}

const struct pj_issuer *config_find_issuer(const struct pj_config *cfg, const char *iss, size_t iss_len)
{
	if (cfg == NULL || iss == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_issuers; i++) {
		const char *v = cfg->issuers[i].issuer;

		if (v != NULL && strlen(v) == iss_len && memcmp(v, iss, iss_len) == 0)
			return &cfg->issuers[i];
	}
	return NULL;
}

const struct pj_service *config_find_service(const struct pj_config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_services; i++)
		if (strcmp(cfg->services[i].name, name) == 0)
			return &cfg->services[i];
	return NULL;
}

const struct pj_issuer *config_find_issuer_by_name(const struct pj_config *cfg, const char *name)
{
	if (cfg == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_issuers; i++)
		if (strcmp(cfg->issuers[i].name, name) == 0)
			return &cfg->issuers[i];
	return NULL;
}
