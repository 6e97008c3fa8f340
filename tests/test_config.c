/* test_config.c: config_parse/config_load: every key, defaults, [global] inheritance and each refusal. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pam_jwt/authz.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/jws_alg.h"
#include "tap.h"

#define PATH "/etc/pam_jwt.conf"

/* A valid issuer section of four lines, to append after the lines under test. */
#define ISS_A "[issuer a]\nissuer = https://a.example.com\naudience = pam\njwks_file = /etc/pam_jwt/a.jwks\n"

static int streq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static struct pj_config *parse_ok(const char *text, const char *desc)
{
	struct pj_config *cfg = NULL;
	struct pj_error err;
	pj_status r;

	r = config_parse(PATH, text, strlen(text), &cfg, &err);
	ok(r == PJ_OK && cfg != NULL, "%s: accepted%s%s", desc, r == PJ_OK ? "" : ": ",
	   r == PJ_OK ? "" : err.reason);
	return cfg;
}

/* Expects a refusal whose reason names the file, the line (when line > 0) and what. */
static void bad_n(const char *text, size_t len, int line, const char *what, const char *desc)
{
	struct pj_config *cfg = (struct pj_config *)&cfg;
	struct pj_error err;
	char tag[32];
	pj_status r;
	int good;

	snprintf(tag, sizeof(tag), PATH ":%d: ", line);
	r = config_parse(PATH, text, len, &cfg, &err);
	good = r == PJ_ERR_CONFIG && err.status == PJ_ERR_CONFIG && cfg == NULL &&
	       strncmp(err.reason, PATH, strlen(PATH)) == 0 && strstr(err.reason, what) != NULL &&
	       (line == 0 || strncmp(err.reason, tag, strlen(tag)) == 0);
	ok(good, "%s: refused: %s", desc, r == PJ_OK ? "(accepted)" : err.reason);
	if (r == PJ_OK)
		config_free(cfg);
}

static void bad(const char *text, int line, const char *what, const char *desc)
{
	bad_n(text, strlen(text), line, what, desc);
}

static void test_full(void)
{
	static const char text[] = "# pam_jwt test configuration\n"
	                           "[global]\n"
	                           "max_token_size = 32K\n"
	                           "cache_dir = /var/cache/x\n"
	                           "state_dir = /var/lib/x\n"
	                           "uid_min = 300000\n"
	                           "uid_max = 400000\n"
	                           "home_template = /srv/home/%u\n"
	                           "default_shell = /bin/sh\n"
	                           "account_max_age = 30d\n"
	                           "nss_preauth = yes\n"
	                           "\n"
	                           "[issuer corp]\n"
	                           "issuer = https://login.example.com/realms/corp\n"
	                           "audience = pam-hosts  ssh\n"
	                           "jwks_uri = https://login.example.com/realms/corp/certs\n"
	                           "tls_ca_file = /etc/ssl/corp.pem\n"
	                           "proxy = http://proxy.example.com:3128\n"
	                           "http_connect_timeout = 3\n"
	                           "http_timeout = 10\n"
	                           "http_max_body = 512K\n"
	                           "jwks_min_ttl = 10m\n"
	                           "jwks_max_ttl = 2h\n"
	                           "jwks_refresh_interval = 30s\n"
	                           "jwks_max_stale = 2d\n"
	                           "algorithms = RS256 ES256 EdDSA\n"
	                           "leeway = 30\n"
	                           "username_claim = email\n"
	                           "username_transform = lowercase strip_domain\n"
	                           "username_domains = example.com corp.example.com\n"
	                           "groups_claim = realm_access.roles\n"
	                           "uid_claim = uid_number\n"
	                           "group_prefix = idp-\n"
	                           "groups_allow = admins dev-*\n"
	                           "group_map = admins:sudo,  urn:x:ops:adm\n"
	                           "\n"
	                           "[issuer test.local-1]\n"
	                           "\tissuer\t=\thttp://127.0.0.1:8080/\t\n"
	                           "audience=x\n"
	                           "insecure_allow_http_loopback = true\n"
	                           "jwks_uri = http://[::1]:8080/jwks\n";
	struct pj_config *cfg = parse_ok(text, "full configuration");
	const struct pj_issuer *a, *b;

	if (cfg == NULL)
		return;
	ok(streq(cfg->path, PATH), "path kept");
	ok(cfg->max_token_size == 32768, "max_token_size 32K = 32768");
	ok(streq(cfg->cache_dir, "/var/cache/x") && streq(cfg->state_dir, "/var/lib/x"),
	   "cache_dir, state_dir");
	ok(cfg->uid_min == 300000 && cfg->uid_max == 400000, "uid_min, uid_max");
	ok(streq(cfg->home_template, "/srv/home/%u") && streq(cfg->default_shell, "/bin/sh"),
	   "home_template, default_shell");
	ok(cfg->account_max_age == 30 * 86400, "account_max_age 30d");
	ok(cfg->nss_preauth, "nss_preauth yes");
	ok(cfg->n_issuers == 2, "two issuers");
	a = &cfg->issuers[0];
	b = &cfg->issuers[1];
	ok(streq(a->name, "corp") && a->line == 13, "name and header line of the first issuer");
	ok(streq(a->issuer, "https://login.example.com/realms/corp"), "issuer");
	ok(a->n_audiences == 2 && streq(a->audiences[0], "pam-hosts") && streq(a->audiences[1], "ssh") &&
	       a->audiences[2] == NULL,
	   "audience list, NULL-terminated");
	ok(streq(a->jwks_uri, "https://login.example.com/realms/corp/certs") && a->jwks_file == NULL,
	   "jwks_uri");
	ok(streq(a->tls_ca_file, "/etc/ssl/corp.pem") && streq(a->proxy, "http://proxy.example.com:3128"),
	   "tls_ca_file, proxy");
	ok(a->http_connect_timeout == 3 && a->http_timeout == 10 && a->http_max_body == 512 * 1024,
	   "http timeouts and max body");
	ok(a->jwks_min_ttl == 600 && a->jwks_max_ttl == 7200 && a->jwks_refresh_interval == 30 &&
	       a->jwks_max_stale == 2 * 86400,
	   "jwks durations with suffixes");
	ok(a->algorithms == (JWS_ALG_BIT(JWS_RS256) | JWS_ALG_BIT(JWS_ES256) | JWS_ALG_BIT(JWS_EDDSA)),
	   "algorithms mask");
	ok(a->leeway == 30, "leeway");
	ok(streq(a->username_claim, "email") && a->username_lowercase && a->username_strip_domain,
	   "username_claim and transform");
	ok(a->n_username_domains == 2 && streq(a->username_domains[0], "example.com") &&
	       streq(a->username_domains[1], "corp.example.com"),
	   "username_domains");
	ok(streq(a->groups_claim, "realm_access.roles") && streq(a->uid_claim, "uid_number") &&
	       streq(a->group_prefix, "idp-"),
	   "groups_claim, uid_claim, group_prefix");
	ok(a->n_groups_allow == 2 && streq(a->groups_allow[0], "admins") &&
	       streq(a->groups_allow[1], "dev-*"),
	   "groups_allow");
	ok(a->n_group_map == 2 && streq(a->group_map[0].idp_group, "admins") &&
	       streq(a->group_map[0].local_group, "sudo") && streq(a->group_map[1].idp_group, "urn:x:ops") &&
	       streq(a->group_map[1].local_group, "adm"),
	   "group_map pairs (split at the last ':')");
	ok(!a->insecure_allow_http_loopback, "insecure_allow_http_loopback off by default");
	ok(streq(b->name, "test.local-1") && streq(b->issuer, "http://127.0.0.1:8080/") &&
	       b->n_audiences == 1 && streq(b->audiences[0], "x"),
	   "second issuer: tabs around '=' and at line ends trimmed");
	ok(b->insecure_allow_http_loopback && streq(b->jwks_uri, "http://[::1]:8080/jwks"),
	   "loopback http allowed with insecure_allow_http_loopback");

	ok(config_find_issuer(cfg, "https://login.example.com/realms/corpXX", 37) == a,
	   "config_find_issuer compares exactly len bytes");
	ok(config_find_issuer(cfg, "https://login.example.com/realms/cor", 36) == NULL,
	   "a prefix does not match");
	ok(config_find_issuer(cfg, "https://login.example.com/realms/corp/", 38) == NULL,
	   "a longer value does not match");
	ok(config_find_issuer(cfg, "https://login.example.com/realms/CORP", 37) == NULL, "case matters");
	ok(config_find_issuer(cfg, "http://127.0.0.1:8080/", 22) == b, "second issuer found");
	ok(config_find_issuer_by_name(cfg, "test.local-1") == b &&
	       config_find_issuer_by_name(cfg, "corp") == a,
	   "config_find_issuer_by_name");
	ok(config_find_issuer_by_name(cfg, "Corp") == NULL && config_find_issuer_by_name(cfg, "nope") == NULL,
	   "unknown names not found");
	config_free(cfg);
}

static void test_defaults(void)
{
	struct pj_config *cfg = parse_ok(ISS_A, "minimal configuration");
	const struct pj_issuer *a;

	if (cfg == NULL)
		return;
	ok(cfg->max_token_size == PJ_DEFAULT_MAX_TOKEN_SIZE, "default max_token_size 16384");
	ok(streq(cfg->cache_dir, PJ_DEFAULT_CACHE_DIR) && streq(cfg->state_dir, PJ_DEFAULT_STATE_DIR),
	   "default cache_dir and state_dir");
	ok(cfg->uid_min == 2001000000u && cfg->uid_max == 2147000000u,
	   "default uid range: clear of SSSD/IPA, systemd and subordinate id ranges");
	ok(streq(cfg->home_template, "/home/%u") && streq(cfg->default_shell, "/bin/bash"),
	   "default home_template and shell");
	ok(cfg->account_max_age == 30 * 86400 && !cfg->nss_preauth,
	   "default account_max_age 30 days (finite: access ends without token logins), nss_preauth no");
	a = &cfg->issuers[0];
	ok(a->algorithms == JWS_ALG_BIT(JWS_RS256), "default algorithms RS256 only");
	ok(a->leeway == PJ_DEFAULT_LEEWAY, "default leeway 60");
	ok(a->http_connect_timeout == 2 && a->http_timeout == 5 && a->http_max_body == 1024 * 1024,
	   "default http timeouts 2/5 and body 1 MiB");
	ok(a->jwks_min_ttl == 300 && a->jwks_max_ttl == 86400 && a->jwks_refresh_interval == 60 &&
	       a->jwks_max_stale == 604800,
	   "default jwks timings");
	ok(streq(a->username_claim, "preferred_username") && !a->username_lowercase &&
	       !a->username_strip_domain,
	   "default username_claim, no transform");
	ok(a->jwks_uri == NULL && a->tls_ca_file == NULL && a->proxy == NULL && a->groups_claim == NULL &&
	       a->uid_claim == NULL && a->group_prefix == NULL && !a->insecure_allow_http_loopback,
	   "optional strings unset");
	ok(a->username_domains == NULL && a->n_username_domains == 0 && a->groups_allow == NULL &&
	       a->n_groups_allow == 0 && a->group_map == NULL && a->n_group_map == 0,
	   "optional lists empty");
	config_free(cfg);
}

static void test_inheritance(void)
{
	/* Keys before any header belong to [global]; [global] itself may come after the issuers. */
	static const char text[] = "leeway = 120\n"
	                           "[issuer a]\n"
	                           "issuer = https://a.example.com\n"
	                           "jwks_file = /etc/a.jwks\n"
	                           "[issuer b]\n"
	                           "issuer = https://b.example.com\n"
	                           "jwks_file = /etc/b.jwks\n"
	                           "audience = b-aud\n"
	                           "leeway = 5\n"
	                           "algorithms = PS256\n"
	                           "username_transform = none\n"
	                           "groups_allow = x\n"
	                           "[global]\n"
	                           "audience = common other\n"
	                           "algorithms = ES256 ES384\n"
	                           "username_transform = lowercase\n"
	                           "groups_allow = staff-*\n"
	                           "group_map = g:adm\n"
	                           "uid_max = 2100000000\n";
	struct pj_config *cfg = parse_ok(text, "[global] defaults");
	const struct pj_issuer *a, *b;

	if (cfg == NULL)
		return;
	a = config_find_issuer_by_name(cfg, "a");
	b = config_find_issuer_by_name(cfg, "b");
	ok(a != NULL && b != NULL && cfg->uid_max == 2100000000,
	   "both issuers, global key after the issuers applied");
	if (a == NULL || b == NULL)
		goto out;
	ok(a->leeway == 120, "leeway before any header is a [global] default");
	ok(a->n_audiences == 2 && streq(a->audiences[0], "common") && streq(a->audiences[1], "other"),
	   "required audience inherited from [global]");
	ok(a->algorithms == (JWS_ALG_BIT(JWS_ES256) | JWS_ALG_BIT(JWS_ES384)), "algorithms inherited");
	ok(a->username_lowercase && !a->username_strip_domain, "username_transform inherited");
	ok(a->n_groups_allow == 1 && streq(a->groups_allow[0], "staff-*"), "groups_allow inherited");
	ok(a->n_group_map == 1 && streq(a->group_map[0].local_group, "adm"), "group_map inherited");
	ok(b->leeway == 5, "leeway overridden");
	ok(b->n_audiences == 1 && streq(b->audiences[0], "b-aud"), "audience overridden");
	ok(b->algorithms == JWS_ALG_BIT(JWS_PS256), "algorithms overridden");
	ok(!b->username_lowercase && !b->username_strip_domain, "username_transform = none overrides");
	ok(b->n_groups_allow == 1 && streq(b->groups_allow[0], "x"), "groups_allow overridden");
	ok(b->n_group_map == 1 && streq(b->group_map[0].idp_group, "g") && b->group_map != a->group_map,
	   "group_map inherited as its own copy");
	ok(a->http_timeout == 5 && b->http_timeout == 5, "unset everywhere: built-in default");
out:
	config_free(cfg);
}

static void test_accepted_forms(void)
{
	struct pj_config *cfg;

	cfg = parse_ok("[global]\r\nleeway = 1m\r\n# comment\r\n\r\n" ISS_A, "CRLF line endings");
	ok(cfg != NULL && cfg->issuers[0].leeway == 60, "leeway 1m = 60 seconds");
	config_free(cfg);
	cfg = parse_ok("# café ünïcode in a comment\n   # indented comment\n" ISS_A "leeway = 3600\n"
	               "jwks_max_stale = 365d\nhttp_max_body = 16M\n",
	               "UTF-8 comment, maxima of ranges");
	ok(cfg != NULL && cfg->issuers[0].leeway == 3600 && cfg->issuers[0].jwks_max_stale == 365 * 86400 &&
	       cfg->issuers[0].http_max_body == 16 * 1024 * 1024,
	   "leeway 3600, jwks_max_stale 365d, http_max_body 16M");
	config_free(cfg);
	cfg = parse_ok("nss_preauth = 0\n" ISS_A "leeway = 0\nhttp_max_body = 1024\n", "minima of ranges");
	config_free(cfg);
	cfg =
	    parse_ok("[global]\nnss_preauth = true\nuid_min = 1000\nuid_max = 1001\n" ISS_A, "uid_min 1000");
	ok(cfg != NULL && cfg->nss_preauth && cfg->uid_min == 1000, "nss_preauth true, uid_min 1000");
	config_free(cfg);
	cfg = parse_ok("[global]\nnss_preauth = 1\n" ISS_A "jwks_min_ttl = 1h\njwks_max_ttl = 3600\n",
	               "jwks_min_ttl equal to jwks_max_ttl");
	ok(cfg != NULL && cfg->nss_preauth, "nss_preauth 1");
	config_free(cfg);
	cfg = parse_ok("[issuer d]\nissuer = https://d.example.com\naudience = a\n",
	               "discovery from an https issuer");
	config_free(cfg);
	cfg = parse_ok(
	    "[issuer d]\nissuer = http://127.0.0.1\naudience = a\ninsecure_allow_http_loopback = yes\n",
	    "discovery from loopback http with insecure_allow_http_loopback");
	config_free(cfg);
}

/* Lines of exactly 4096 and 4097 bytes. */
static void test_long_lines(void)
{
	char *text = malloc(8192);
	struct pj_config *cfg;

	memset(text, 'x', 4096);
	text[0] = '#';
	strcpy(text + 4096, "\n" ISS_A);
	cfg = parse_ok(text, "a 4096-byte line");
	config_free(cfg);
	memset(text, 'x', 4097);
	text[0] = '#';
	strcpy(text + 4097, "\n" ISS_A);
	bad(text, 1, "line longer than 4096", "a 4097-byte line");
	memset(text, 'x', 4098);
	text[0] = '\n';
	text[1] = '#';
	text[4098] = '\0';
	bad(text, 2, "line longer than 4096", "an overlong last line without newline");
	free(text);
}

static void test_syntax_errors(void)
{
	static const char nul[] = "[global]\nleeway = 1\0\n" ISS_A;
	struct pj_config *cfg;

	bad("[global]\nleeway 60\n" ISS_A, 2, "expected \"key = value\"", "line without '='");
	bad("[global]\n= 60\n" ISS_A, 2, "no key before '='", "line with no key");
	bad_n(nul, sizeof(nul) - 1, 2, "NUL byte", "NUL byte");
	bad("[global]\n\nleeway = \xff\n" ISS_A, 3, "invalid UTF-8", "invalid UTF-8 byte 0xff");
	bad("# \xc0\xaf\n" ISS_A, 1, "invalid UTF-8", "overlong UTF-8 in a comment");
	bad("# \xed\xa0\x80\n" ISS_A, 1, "invalid UTF-8", "UTF-8 surrogate");
	bad("# \xf4\x90\x80\x80\n" ISS_A, 1, "invalid UTF-8", "UTF-8 above U+10FFFF");
	bad(ISS_A "# \xe2\x82", 5, "invalid UTF-8", "truncated UTF-8 at the end of the file");
	bad("[global]\nleeway = 1\x1b[0m\n" ISS_A, 2, "control character", "control character");
	bad("[global]\nleeway =\n" ISS_A, 2, "leeway: empty value", "empty value");
	bad("[global]\nleeway = 5 # five\n" ISS_A, 2, "comments must be on a line of their own",
	    "trailing comment");
	bad("[global]\nleeway = 5\t#five\n" ISS_A, 2, "comments must be on a line of their own",
	    "trailing comment after a tab");
	cfg = parse_ok(ISS_A "groups_allow = #wheel\n", "'#' inside a value is not a comment");
	ok(cfg != NULL && streq(cfg->issuers[0].groups_allow[0], "#wheel"), "value \"#wheel\" kept");
	config_free(cfg);
	bad("; ini comment\n" ISS_A, 1, "expected \"key = value\"", "';' is not a comment");
	bad("[global\n" ISS_A, 1, "does not end with ']'", "unterminated section header");
	bad("[globals]\n" ISS_A, 1, "unknown section [globals]", "unknown section");
	bad("[services x]\n" ISS_A, 1, "expected [global], [issuer NAME] or [service NAME]", "[services x]");
	bad("[issuer]\n" ISS_A, 1, "[issuer] needs a name", "issuer section without a name");
	bad("[issuer a b]\n" ISS_A, 1, "bad issuer name \"a b\"", "issuer name with a space");
	bad("[issuer a/b]\n" ISS_A, 1, "bad issuer name", "issuer name with a slash");
	bad("[issuerx]\n" ISS_A, 1, "unknown section", "[issuerx]");
	bad("", 0, "no [issuer NAME] section", "empty file");
	bad("[global]\nleeway = 5\n", 0, "no [issuer NAME] section", "no [issuer] at all");
}

static void test_section_errors(void)
{
	bad("[global]\n[global]\n" ISS_A, 2, "duplicate section [global] (first at line 1)",
	    "duplicate [global]");
	bad(ISS_A "[issuer a]\n", 5, "duplicate section [issuer a] (first at line 1)",
	    "duplicate [issuer a]");
	bad(ISS_A "[issuer b]\nissuer = https://a.example.com\naudience = x\n", 6,
	    "issuer \"https://a.example.com\" is already used by [issuer a]", "duplicate issuer value");
	bad("[global]\nleeway = 5\nfoo = 1\n" ISS_A, 3, "unknown key \"foo\"", "unknown key in [global]");
	bad(ISS_A "Leeway = 5\n", 5, "unknown key \"Leeway\"", "keys are case-sensitive");
	bad(ISS_A "cache_dir = /x\n", 5, "cache_dir is a [global] key", "[global] key in an issuer");
	bad(ISS_A "uid_min = 5000\n", 5, "uid_min is a [global] key", "uid_min in an issuer");
	bad("[global]\nissuer = https://x.example.com\n" ISS_A, 2, "issuer is an [issuer NAME] key",
	    "issuer in [global]");
	bad(ISS_A "leeway = 5\nleeway = 6\n", 6, "duplicate key leeway (first set at line 5)",
	    "duplicate key in an issuer");
	bad("leeway = 5\n[global]\nleeway = 6\n" ISS_A, 3, "duplicate key leeway (first set at line 1)",
	    "duplicate key: before the header and in [global]");
	bad("[global]\n\n[issuer a]\nissuer = https://a.example.com\njwks_file = /etc/a.jwks\n", 3,
	    "[issuer a]: missing required key audience", "missing audience");
	bad("[issuer a]\naudience = x\njwks_file = /etc/a.jwks\n", 1,
	    "[issuer a]: missing required key issuer", "missing issuer");
}

static void test_value_errors(void)
{
	/* Line 5 is the first line after ISS_A. */
	bad(ISS_A "leeway = 3601\n", 5, "leeway: 3601 is out of range (0..3600)", "leeway out of range");
	bad(ISS_A "leeway = 2h\n", 5, "leeway: 2h is out of range", "leeway suffix pushes out of range");
	bad(ISS_A "leeway = abc\n", 5, "leeway: \"abc\" is not a number of seconds", "leeway not a number");
	bad(ISS_A "leeway = -1\n", 5, "leeway: \"-1\" is not a number", "negative number");
	bad(ISS_A "leeway = +1\n", 5, "leeway: \"+1\" is not a number", "number with a sign");
	bad(ISS_A "leeway = 1.5\n", 5, "leeway: \"1.5\" is not a number", "fraction");
	bad(ISS_A "leeway = 10 s\n", 5, "leeway: \"10 s\" is not a number", "space before the suffix");
	bad(ISS_A "leeway = 10ms\n", 5, "leeway: \"10ms\" is not a number", "two-letter suffix");
	bad(ISS_A "leeway = 10w\n", 5, "leeway: \"10w\" is not a number", "unknown duration suffix");
	bad(ISS_A "leeway = 99999999999999999999999\n", 5, "leeway: 99999999999999999999999 is out of range",
	    "huge number");
	bad(ISS_A "jwks_max_stale = 9223372036854775807d\n", 5,
	    "jwks_max_stale: 9223372036854775807d is out of range", "suffix multiplication overflow");
	bad(ISS_A "http_timeout = 0\n", 5, "http_timeout: 0 is out of range (1..300)", "http_timeout 0");
	bad(ISS_A "http_timeout = 5s\n", 5, "http_timeout: \"5s\" is not an integer",
	    "no suffix on http_timeout");
	bad(ISS_A "http_connect_timeout = 61\n", 5, "http_connect_timeout: 61 is out of range (1..60)",
	    "http_connect_timeout 61");
	bad(ISS_A "http_max_body = 17M\n", 5, "http_max_body: 17M is out of range (1024..16777216)",
	    "http_max_body 17M");
	bad(ISS_A "http_max_body = 1023\n", 5, "http_max_body: 1023 is out of range",
	    "http_max_body below 1 KiB");
	bad(ISS_A "http_max_body = 1k\n", 5, "http_max_body: \"1k\" is not a number of bytes", "lowercase k");
	bad(ISS_A "http_max_body = 1G\n", 5, "http_max_body: \"1G\" is not a number of bytes", "G suffix");
	bad("max_token_size = 65537\n" ISS_A, 1, "max_token_size: 65537 is out of range (1024..65536)",
	    "max_token_size too large");
	bad("max_token_size = 1000\n" ISS_A, 1, "max_token_size: 1000 is out of range",
	    "max_token_size too small");
	bad(ISS_A "jwks_min_ttl = 2h\njwks_max_ttl = 1h\n", 6,
	    "jwks_min_ttl (7200) is larger than jwks_max_ttl (3600)", "jwks_min_ttl > jwks_max_ttl");
	bad("jwks_max_ttl = 100\n" ISS_A, 1, "jwks_min_ttl (300) is larger than jwks_max_ttl (100)",
	    "jwks_max_ttl in [global] below the default jwks_min_ttl");
	bad(ISS_A "jwks_max_ttl = 31d\n", 5, "jwks_max_ttl: 31d is out of range", "jwks_max_ttl above 30d");
	bad("account_max_age = 3651d\n" ISS_A, 1, "account_max_age: 3651d is out of range",
	    "account_max_age");
	bad("[global]\nuid_min = 999\n" ISS_A, 2, "uid_min: 999 is out of range (1000..",
	    "uid_min below 1000");
	bad("[global]\nuid_min = 5000\nuid_max = 5000\n" ISS_A, 3,
	    "uid_min (5000) must be below uid_max (5000)", "uid_min equal to uid_max");
	bad("[global]\nuid_min = 2147000000\n" ISS_A, 2,
	    "uid_min (2147000000) must be below uid_max (2147000000)",
	    "uid_min equal to the default uid_max");
	bad("[global]\nuid_max = 4294967295\n" ISS_A, 2, "uid_max: 4294967295 is out of range",
	    "uid_max (uid_t)-1");
	bad("[global]\nnss_preauth = maybe\n" ISS_A, 2, "nss_preauth: \"maybe\" is not a boolean",
	    "bad bool");
	bad("[global]\nnss_preauth = Yes\n" ISS_A, 2, "nss_preauth: \"Yes\" is not a boolean",
	    "bool is lowercase");
	bad(ISS_A "insecure_allow_http_loopback = on\n", 5,
	    "insecure_allow_http_loopback: \"on\" is not a boolean", "bool on");
	bad("[global]\ncache_dir = var/cache\n" ISS_A, 2, "cache_dir: \"var/cache\" is not an absolute path",
	    "relative cache_dir");
	bad(ISS_A "jwks_file = a.jwks\n", 5, "duplicate key jwks_file (first set at line 4)",
	    "jwks_file set twice");
	bad("jwks_file = a.jwks\n" ISS_A, 1, "jwks_file: \"a.jwks\" is not an absolute path",
	    "relative jwks_file default in [global] (checked although overridden)");
	bad("[global]\ndefault_shell = /bin/my shell\n" ISS_A, 2,
	    "default_shell: \"/bin/my shell\" is not an absolute", "path with a space");
	bad(ISS_A "username_claim = given name\n", 5, "username_claim: \"given name\" must be a single word",
	    "claim with a space");
	bad(ISS_A "groups_claim = realm..roles\n", 5,
	    "groups_claim: \"realm..roles\" is not a dotted claim path",
	    "groups_claim with an empty component");
	bad(ISS_A "groups_claim = .roles\n", 5, "is not a dotted claim path",
	    "groups_claim with a leading dot");
	bad(ISS_A "group_prefix = idp:\n", 5, "group_prefix: \"idp:\" has characters not allowed",
	    "group_prefix with ':'");
	bad(ISS_A "username_domains = example.com bad_domain\n", 5,
	    "username_domains: \"bad_domain\" is not a domain name", "bad domain");
	bad(ISS_A "username_domains = .example.com\n", 5, "is not a domain name",
	    "domain with a leading dot");
}

static void test_algorithm_errors(void)
{
	bad(ISS_A "algorithms = RS256 RS257\n", 5, "algorithms: unknown algorithm \"RS257\"",
	    "unknown algorithm");
	bad(ISS_A "algorithms = rs256\n", 5, "algorithms: unknown algorithm \"rs256\"",
	    "algorithm names are exact");
	bad(ISS_A "algorithms = none\n", 5, "algorithms: \"none\" is never supported", "none");
	bad(ISS_A "algorithms = RS256 None\n", 5, "\"None\" is never supported", "None");
	bad(ISS_A "algorithms = HS256\n", 5, "algorithms: \"HS256\" is never supported: HMAC", "HS256");
	bad(ISS_A "algorithms = ES256 HS384\n", 5, "\"HS384\" is never supported: HMAC", "HS384");
	bad(ISS_A "algorithms = HS512\n", 5, "\"HS512\" is never supported: HMAC", "HS512");
	bad("algorithms = HS256\n" ISS_A "algorithms = RS256\n", 1, "\"HS256\" is never supported",
	    "HS256 in [global] refused even when overridden");
}

static void test_mapping_errors(void)
{
	bad(ISS_A "username_transform = upper\n", 5, "username_transform: unknown word \"upper\"",
	    "unknown username_transform word");
	bad(ISS_A "username_transform = lowercase none\n", 5, "username_transform: unknown word \"none\"",
	    "none combined with another word");
	bad(ISS_A "group_map = admins\n", 5, "group_map: malformed entry \"admins\"",
	    "group_map without ':'");
	bad(ISS_A "group_map = admins:\n", 5, "group_map: malformed entry \"admins:\"",
	    "group_map empty local");
	bad(ISS_A "group_map = :sudo\n", 5, "group_map: malformed entry \":sudo\"",
	    "group_map empty idp group");
	bad(ISS_A "group_map = a:b,,c:d\n", 5, "group_map: malformed entry \"\"", "group_map empty entry");
	bad(ISS_A "group_map = a:b,\n", 5, "group_map: malformed entry \"\"", "group_map trailing comma");
	bad(ISS_A "group_map = my admins:sudo\n", 5, "group_map: malformed entry \"my admins:sudo\"",
	    "group_map space inside a name");
	bad(ISS_A "group_map = admins : sudo\n", 5, "group_map: malformed entry",
	    "group_map spaces around ':'");
	bad(ISS_A "group_map = a:su/do\n", 5, "group_map: malformed entry \"a:su/do\"",
	    "group_map bad local name");
}

static void test_url_errors(void)
{
	static const char head[] = "[issuer a]\nissuer = https://a.example.com\naudience = pam\n";
	char buf[512];

#define URL_BAD(extra, line, what, desc)                                                                     \
	do {                                                                                                 \
		snprintf(buf, sizeof(buf), "%s%s", head, extra);                                             \
		bad(buf, line, what, desc);                                                                  \
	} while (0)

	URL_BAD("jwks_uri = http://a.example.com/jwks\n", 4,
	        "jwks_uri \"http://a.example.com/jwks\" must be an https://", "jwks_uri over http");
	URL_BAD("jwks_uri = http://127.0.0.1/jwks\n", 4,
	        "jwks_uri \"http://127.0.0.1/jwks\" must be an https://",
	        "loopback http without insecure_allow_http_loopback");
	URL_BAD("insecure_allow_http_loopback = yes\njwks_uri = http://127.0.0.1.evil.com/jwks\n", 5,
	        "must be an https://", "loopback lookalike host");
	URL_BAD("insecure_allow_http_loopback = yes\njwks_uri = http://127.0.0.1@evil.com/jwks\n", 5,
	        "must be an https://", "loopback as userinfo");
	URL_BAD("insecure_allow_http_loopback = yes\njwks_uri = http://localhost/jwks\n", 5,
	        "must be an https://", "localhost is not accepted");
	URL_BAD("insecure_allow_http_loopback = yes\njwks_uri = http://127.0.0.1:/jwks\n", 5,
	        "must be an https://", "empty port");
	URL_BAD("jwks_uri = ftp://a.example.com/jwks\n", 4, "must be an https://", "ftp");
	URL_BAD("jwks_uri = HTTPS://a.example.com/jwks\n", 4, "is not a URL", "uppercase scheme");
	URL_BAD("jwks_uri = a.example.com/jwks\n", 4, "jwks_uri: \"a.example.com/jwks\" is not a URL",
	        "no scheme");
	URL_BAD("jwks_uri = https:///jwks\n", 4, "is not a URL", "no host");
	URL_BAD("proxy = proxy:3128\n", 4, "proxy: \"proxy:3128\" is not a URL", "proxy without scheme");
	bad("[issuer a]\nissuer = http://a.example.com\naudience = pam\n", 2,
	    "issuer (used for discovery: no jwks_file or jwks_uri) \"http://a.example.com\" must be an "
	    "https://",
	    "http issuer used for discovery");
	bad("insecure_allow_http_loopback = yes\n[issuer a]\nissuer = http://10.0.0.1\naudience = pam\n", 3,
	    "must be an https://", "non-loopback http issuer with the flag");
	bad("jwks_uri = http://127.0.0.1/jwks\n[issuer a]\nissuer = https://a.example.com\naudience = pam\n"
	    "insecure_allow_http_loopback = no\n",
	    1, "[issuer a]: jwks_uri",
	    "inherited jwks_uri checked with the issuer's flag, reported at its line");
#undef URL_BAD
}

static void test_load(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", path[256], cmd[300];
	struct pj_config *cfg = NULL;
	struct pj_error err;
	int fd;

	if (geteuid() != 0) {
		tap_skip(4, "config_load needs root-owned files");
		return;
	}
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/pam_jwt.conf", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, ISS_A, strlen(ISS_A)) != (ssize_t)strlen(ISS_A) || close(fd) != 0 ||
	    chmod(path, 0644) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	ok(config_load(path, &cfg, &err) == PJ_OK && cfg != NULL && streq(cfg->path, path) &&
	       cfg->n_issuers == 1,
	   "config_load reads a root-owned 0644 file");
	config_free(cfg);
	cfg = NULL;
	chmod(path, 0666);
	ok(config_load(path, &cfg, &err) == PJ_ERR_CONFIG && cfg == NULL &&
	       strstr(err.reason, "writable by group or others (mode 0666)") != NULL,
	   "config_load refuses a 0666 file: %s", err.reason);
	unlink(path);
	ok(config_load(path, &cfg, &err) == PJ_ERR_CONFIG && cfg == NULL &&
	       strstr(err.reason, path) != NULL && strstr(err.reason, "No such file") != NULL,
	   "config_load of a missing file: %s", err.reason);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0 || write(fd, "[issuer a]\nfoo = 1\n", 19) != 19 || close(fd) != 0) {
		printf("Bail out! cannot write %s\n", path);
		exit(1);
	}
	snprintf(cmd, sizeof(cmd), "%s:2: unknown key \"foo\"", path);
	ok(config_load(path, &cfg, &err) == PJ_ERR_CONFIG && cfg == NULL && strcmp(err.reason, cmd) == 0,
	   "config_load reports the file path and line: %s", err.reason);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
}

/* An issuer for the device flow: discovery at an https issuer URL, the client id among the audiences. */
#define ISS_D "[issuer d]\nissuer = https://d.example.com\naudience = pam cli-1\n"

static void test_device_keys(void)
{
	struct pj_config *cfg;
	const struct pj_issuer *a;

	cfg = parse_ok(ISS_A, "no device keys");
	a = cfg ? &cfg->issuers[0] : NULL;
	ok(a != NULL && a->device_client_id == NULL && a->device_client_secret_file == NULL &&
	       a->device_resource == NULL && a->device_audience == NULL && a->device_timeout == 110 &&
	       a->n_device_scopes == 2 && streq(a->device_scopes[0], "openid") &&
	       streq(a->device_scopes[1], "profile") && a->device_scopes[2] == NULL,
	   "device defaults: no client, scopes \"openid profile\", timeout 110 s");
	config_free(cfg);
	cfg = parse_ok(ISS_D "device_client_id = cli-1\ndevice_client_secret_file = /etc/pam_jwt/d.secret\n"
	                     "device_scopes = openid email groups\ndevice_timeout = 1m\n",
	               "device flow with the ID token");
	a = cfg ? &cfg->issuers[0] : NULL;
	ok(a != NULL && streq(a->device_client_id, "cli-1") &&
	       streq(a->device_client_secret_file, "/etc/pam_jwt/d.secret") && a->n_device_scopes == 3 &&
	       streq(a->device_scopes[2], "groups") && a->device_timeout == 60,
	   "device_client_id, device_client_secret_file, device_scopes, device_timeout 1m");
	config_free(cfg);
	cfg = parse_ok(
	    "[global]\ndevice_timeout = 30\n" ISS_D "device_client_id = c2\n"
	    "device_resource = https://api.example.com/\ndevice_audience = pam\ndevice_scopes = login\n",
	    "device flow with the access token");
	a = cfg ? &cfg->issuers[0] : NULL;
	ok(a != NULL && streq(a->device_resource, "https://api.example.com/") &&
	       streq(a->device_audience, "pam") && a->device_timeout == 30 && a->n_device_scopes == 1,
	   "device_resource, device_audience; device_timeout from [global]; no openid needed");
	config_free(cfg);
	bad(ISS_D "device_client_id = other\n", 4, "audience must list \"other\"",
	    "ID token as the credential: audience must list the client id");
	bad(ISS_D "device_client_id = cli-1\ndevice_scopes = profile email\n", 5, "must contain \"openid\"",
	    "ID token as the credential: the openid scope is needed");
	bad(ISS_D "device_client_secret_file = /etc/x\n", 4,
	    "device_client_secret_file needs device_client_id",
	    "device_client_secret_file without device_client_id");
	bad(ISS_D "device_audience = x\n", 4, "device_audience needs device_client_id",
	    "device_audience without device_client_id");
	bad(ISS_D "device_client_id = cli-1\ndevice_client_secret_file = secret.txt\n", 5,
	    "not an absolute path", "device_client_secret_file must be a path (never the secret inline)");
	bad(ISS_D "device_client_id = cli-1\ndevice_timeout = 9\n", 5, "out of range (10..1800)",
	    "device_timeout below 10 s");
	bad(ISS_D "device_client_id = cli-1\ndevice_timeout = 31m\n", 5, "out of range (10..1800)",
	    "device_timeout above 30 min");
	bad(ISS_D "device_client_id = a b\n", 4, "must be a single word", "device_client_id is one word");
	bad(ISS_D "device_client_id = cli-1\ndevice_resource = api\n", 5, "is not a URL",
	    "device_resource is a URL");
	bad(ISS_D "device_client_id = cli-1\ndevice_resource = https://%x.example.com/\n", 5,
	    "device_resource \"https://%x.example.com/\": '%' starts %h (short host name), %H",
	    "device_resource: an unknown '%' escape, on its line");
	bad(ISS_D "device_client_id = cli-1\n\ndevice_audience = api-%u\n", 6,
	    "device_audience \"api-%u\": '%' starts %h",
	    "device_audience: an unknown '%' escape, on its line");
	bad("[issuer d]\nissuer = http://d.example.com\naudience = cli-1\njwks_file = /k\ndevice_client_id = "
	    "cli-1\n",
	    2, "used for discovery by the device flow",
	    "the device flow needs an https issuer for discovery");
	bad("[global]\ndevice_client_id = x\n" ISS_A, 2, "device_client_id is an [issuer NAME] key",
	    "device_client_id is per issuer");
}

/* [service NAME]: per-service rules, looked up by name, never inherited. */
static void test_services(void)
{
	static const char text[] = ISS_A "[issuer b]\nissuer = https://b.example.com\naudience = pam\n"
	                                 "jwks_file = /etc/pam_jwt/b.jwks\n"
	                                 "[service sshd]\n"
	                                 "require_groups = devs  admins\n"
	                                 "[service sudo]\n"
	                                 "require_issuer = a\n"
	                                 "require_groups = admins\n"
	                                 "require_claim = acr=urn:mfa amr=otp realm.level=3\n"
	                                 "[service login]\n";
	struct pj_config *cfg = parse_ok(text, "three [service] sections");
	const struct pj_service *s;

	if (cfg == NULL)
		return;
	ok(cfg->n_services == 3, "three services");
	s = config_find_service(cfg, "sshd");
	ok(s != NULL && s->line == 9 && s->authz.n_groups == 2 && streq(s->authz.groups[0], "devs") &&
	       streq(s->authz.groups[1], "admins") && s->authz.n_issuers == 0 && s->authz.n_claims == 0,
	   "[service sshd]: require_groups devs admins, nothing else");
	s = config_find_service(cfg, "sudo");
	ok(s != NULL && s->authz.n_issuers == 1 && streq(s->authz.issuers[0], "a") &&
	       s->authz.n_groups == 1 && s->authz.n_claims == 3 && streq(s->authz.claims[0].path, "acr") &&
	       streq(s->authz.claims[0].value, "urn:mfa") && streq(s->authz.claims[2].path, "realm.level") &&
	       streq(s->authz.claims[2].value, "3"),
	   "[service sudo]: issuer, group and three claim rules (the value may hold ':')");
	s = config_find_service(cfg, "login");
	ok(s != NULL && authz_is_empty(&s->authz), "an empty [service] section: no rules");
	ok(config_find_service(cfg, "su") == NULL && config_find_service(cfg, "SSHD") == NULL,
	   "no section for su; names are case-sensitive");
	ok(config_find_service(NULL, "sshd") == NULL, "config_find_service on NULL config");
	config_free(cfg);

	bad(ISS_A "[service]\n", 5, "[service] needs a name", "service section without a name");
	bad(ISS_A "[service a b]\n", 5, "bad service name \"a b\"", "service name with a space");
	bad(ISS_A "[service sshd]\n[service sshd]\n", 6, "duplicate section [service sshd] (first at line 5)",
	    "duplicate [service sshd]");
	bad(ISS_A "[service sshd]\nleeway = 5\n", 6, "leeway is not allowed in [service sshd]",
	    "an issuer key in a service");
	bad(ISS_A "[service sshd]\nmax_token_size = 4K\n", 6,
	    "max_token_size is not allowed in [service sshd]", "a [global] key in a service");
	bad("[global]\nrequire_groups = admins\n" ISS_A, 2, "require_groups is a [service NAME] key",
	    "require_groups in [global] (services inherit nothing)");
	bad(ISS_A "require_groups = admins\n", 5, "require_groups is a [service NAME] key",
	    "require_groups in an issuer");
	bad(ISS_A "[service sudo]\nrequire_issuer = a nosuch\n", 6,
	    "require_issuer: no [issuer nosuch] section", "require_issuer naming a missing issuer");
	bad(ISS_A "[service sudo]\nrequire_claim = acr\n", 6, "\"acr\" is not claim=value",
	    "a claim without =");
	bad(ISS_A "[service sudo]\nrequire_claim = acr=\n", 6, "is not claim=value",
	    "a claim without a value");
	bad(ISS_A "[service sudo]\nrequire_claim = =x\n", 6, "is not claim=value", "a claim without a path");
	bad(ISS_A "[service sudo]\nrequire_claim = a..b=x\n", 6, "is not claim=value",
	    "an empty path component");
	bad(ISS_A "[service sudo]\nrequire_claim = a=1,2\n", 6, "is not claim=value", "a comma in a value");
	bad(ISS_A "[service sudo]\nrequire_groups = g\nrequire_groups = h\n", 7,
	    "duplicate key require_groups (first set at line 6)", "duplicate key in a service");
	{
		char text2[8192];
		size_t n = (size_t)snprintf(text2, sizeof(text2), "%s", ISS_A);

		for (int i = 0; i < 65; i++)
			n += (size_t)snprintf(text2 + n, sizeof(text2) - n, "[service s%d]\n", i);
		bad(text2, 69, "more than 64 [service] sections", "65 [service] sections");
	}
}

/* Issue #13: max_token_age and replay_protection, per issuer with a [global] default. */
static void test_replay_keys(void)
{
	static const char text[] = "[global]\nmax_token_age = 1h\n" ISS_A "replay_protection = jti\n"
	                           "[issuer b]\nissuer = https://b.example.com\naudience = pam\n"
	                           "jwks_file = /etc/pam_jwt/b.jwks\nmax_token_age = 0\n";
	struct pj_config *cfg = parse_ok(text, "max_token_age and replay_protection");
	const struct pj_issuer *a, *b;

	if (cfg != NULL) {
		a = config_find_issuer_by_name(cfg, "a");
		b = config_find_issuer_by_name(cfg, "b");
		ok(a->max_token_age == 3600 && a->replay_jti,
		   "[issuer a]: max_token_age from [global], jti on");
		ok(b->max_token_age == 0 && !b->replay_jti,
		   "[issuer b]: max_token_age 0, replay_protection none");
		config_free(cfg);
	}
	bad(ISS_A "replay_protection = nonce\n", 5, "\"nonce\" is neither none nor jti",
	    "replay_protection other than none or jti");
	bad(ISS_A "max_token_age = 400d\n", 5, "max_token_age: 400d is out of range",
	    "max_token_age too large");
}

/* Issue #14: opkssh_expiration takes opkssh's policy names only. */
static void test_opkssh_keys(void)
{
	static const char text[] = "[global]\nopkssh_expiration = 1week\n" ISS_A
	                           "[issuer b]\nissuer = https://b.example.com\naudience = pam\n"
	                           "jwks_file = /etc/pam_jwt/b.jwks\nopkssh_expiration = oidc\n";
	struct pj_config *cfg = parse_ok(text, "opkssh_expiration");

	if (cfg != NULL) {
		ok(config_find_issuer_by_name(cfg, "a")->opkssh_max_age == 7 * 86400 &&
		       config_find_issuer_by_name(cfg, "b")->opkssh_max_age == 0,
		   "opkssh_expiration: 1week from [global] is 7 days, oidc is 0 (the ID token's exp)");
		config_free(cfg);
	}
	bad(ISS_A "opkssh_expiration = 2h\n", 5, "\"2h\" is none of 12h, 24h, 48h, 1week, oidc",
	    "opkssh_expiration other than opkssh's policies");
}

/* Issue #14: id_salt and nss_preauth_programs are held to what the user store can carry. */
static void test_store_keys(void)
{
	bad("[global]\nid_salt = short\n" ISS_A, 2, "id_salt: want 16 to 256 printable ASCII characters",
	    "an id_salt shorter than 16 characters");
	bad("[global]\nid_salt = 0123456789abcdef:0\n" ISS_A, 2, "id_salt: want 16 to 256",
	    "an id_salt holding ':'");
	bad("[global]\nnss_preauth_programs = sshd a/b\n" ISS_A, 2,
	    "nss_preauth_programs: a/b is not a program name", "a program name holding '/'");
	bad("[global]\nnss_preauth_programs = sshd sixteen-bytes-xx\n" ISS_A, 2,
	    "nss_preauth_programs: sixteen-bytes-xx is not a program name",
	    "a program name longer than /proc/PID/comm holds");
	bad("[global]\nnss_preauth_programs = a b c d e f g h i j k l m n o p q\n" ISS_A, 2,
	    "nss_preauth_programs: at most 16 programs", "17 programs");
}

int main(void)
{
	test_full();
	test_defaults();
	test_inheritance();
	test_accepted_forms();
	test_long_lines();
	test_syntax_errors();
	test_section_errors();
	test_value_errors();
	test_algorithm_errors();
	test_mapping_errors();
	test_url_errors();
	test_load();
	test_device_keys();
	test_services();
	test_replay_keys();
	test_opkssh_keys();
	test_store_keys();
	config_free(NULL);
	ok(config_find_issuer(NULL, "x", 1) == NULL && config_find_issuer_by_name(NULL, "x") == NULL,
	   "lookups on NULL config");
	return tap_done();
}
