/* idmap.h: deterministic uids and gids from names, name rules and local-account checks (libc only: the NSS
 * module uses it too, so that a host computes the same ids the PAM side writes to the store). */
/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef PAM_JWT_IDMAP_H
#define PAM_JWT_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDMAP_NAME_MAX  32   /* user and group names: at most 32 bytes */
#define IDMAP_PROBE_MAX 4096 /* steps (a candidate or a taken run) before giving up on a name */
#define IDMAP_HOME_MAX  4096 /* an expanded home directory, NUL included */
/* The defaults of uid_min, uid_max, home_template and default_shell: the configuration table quotes them
 * (PJ_QUOTE), the store writer falls back to them, so they are written only here.
 * The default id range, 146 million ids that the usual other sources of ids leave alone: above SSSD's AD
 * id mapping (ldap_idmap_range_min..max, 200000..2000200000) and FreeIPA's ranges (a random multiple of
 * 200000 up to 2000200000), above systemd's dynamic users (61184..65519), homed (60001..60513) and
 * nspawn/container ranges (524288..1879048191), above the subordinate ranges useradd hands out (100000 +
 * 65536 n, up to 600100000), below systemd's foreign range (2147352576..2147418111) and below 2^31, since
 * some programs still keep uids in a signed int. */
#define IDMAP_DEFAULT_UID_MIN 2001000000
#define IDMAP_DEFAULT_UID_MAX 2147000000
#define IDMAP_DEFAULT_HOME    "/home/%u"
#define IDMAP_DEFAULT_SHELL   "/bin/bash"
#define IDMAP_PASSWD_PATH     "/etc/passwd"
#define IDMAP_GROUP_PATH      "/etc/group"

#define IDMAP_SALT_MIN 16  /* id_salt: at least this many characters... */
#define IDMAP_SALT_MAX 256 /* ...and at most this many */

/* FNV-1a, 64 bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3): fixed forever, since every host
 * and every version must compute the same ids. Not cryptographic. */
uint64_t idmap_fnv1a64(const void *data, size_t len);

/* idmap_fnv1a64 of len bytes at data as if the 8 bytes at offset at were zero: the checksum of a file that
 * holds it at at (at + 8 <= len), computed over the file as read, without a copy. */
uint64_t idmap_fnv1a64_zeroed(const void *data, size_t len, size_t at);

/* The hash of name that ids start from. Without a salt (NULL or ""): FNV-1a-64(name), as before id_salt
 * existed. With one: FNV-1a-64(salt NUL name NUL salt), so that whoever does not know the fleet's id_salt
 * cannot pick a name that lands on a chosen id (an aimed collision). FNV-1a is no PRF: the salt makes aiming
 * depend on a secret, and the pre-authentication rules (store_preauth, mapping.c) make a collision refuse a
 * login rather than hand out another user's uid. */
uint64_t idmap_hash(const char *salt, const char *name);

/* The probe-th candidate id for name in [min, max]: min + ((idmap_hash(salt, name) mod R) + probe) mod R
 * with R = max - min + 1.
 * Probe 0 is the plain hash; collisions move on linearly, so the sequence is the same everywhere.
 * Requires 1 <= min <= max. User ids and group ids share this one space (a user's private group has
 * gid = uid), so a user and a group with the same name hash to the same id. */
uint32_t idmap_candidate(const char *salt, const char *name, uint32_t min, uint32_t max, uint32_t probe);

/* Whether salt is usable as id_salt: IDMAP_SALT_MIN..IDMAP_SALT_MAX printable ASCII characters, no space
 * or ':'. */
bool idmap_salt_ok(const char *salt);

/* Whether an id can ever be handed out: not 0, within [min, max], not 65534/65535 (nobody, 16-bit -1)
 * and not (uint32_t)-1. */
bool idmap_id_allowed(uint32_t id, uint32_t min, uint32_t max);

/* How many consecutive ids from id on are already used (by the store or by a local account): 0 when id is
 * free, else at least 1. A longer run (a subordinate id range) is stepped over at once. IDMAP_TAKEN_FINAL:
 * taken, and no probing past it (see idmap_assign). */
typedef uint32_t (*idmap_taken_fn)(void *ctx, uint32_t id);
#define IDMAP_TAKEN_FINAL UINT32_MAX

/* The first allowed candidate for name that taken() does not claim. Returns 0 with *id and *probes (the
 * number of candidates skipped; > 0 means a collision was resolved), -1 when the range is exhausted
 * within IDMAP_PROBE_MAX steps (a step skips one candidate or one taken run) or min/max are unusable, or -2
 * with *id = the candidate when taken() answered IDMAP_TAKEN_FINAL for it. */
int idmap_assign(const char *salt, const char *name, uint32_t min, uint32_t max, idmap_taken_fn taken,
                 void *ctx, uint32_t *id, uint32_t *probes);

/* qsort/bsearch order of uint32_t ids (uids, gids), ascending. */
int idmap_cmp_id(const void *a, const void *b);

/* Usernames: idmap_username_syntax_ok and not "root". */
bool idmap_username_ok(const char *name);

/* The one username rule (the store, the NSS module and the token's username all use it): ASCII
 * ^[a-z_][a-z0-9_.-]*$, 1..IDMAP_NAME_MAX bytes, not all digits. "root" passes here; the login path refuses
 * it by name with its own reason. */
bool idmap_username_syntax_ok(const char *name);

/* Managed group names: ASCII [A-Za-z0-9_.-], 1..32 bytes, first byte a letter or '_', not all digits,
 * not "root". */
bool idmap_groupname_ok(const char *name);

/* A home template: absolute, printable ASCII without ':', at most 256 bytes, and only "%u" (the username)
 * or "%%" after a '%'. */
bool idmap_home_template_ok(const char *tmpl);

/* A login shell: absolute, printable ASCII without ':', at most 256 bytes. */
bool idmap_shell_ok(const char *shell);

/* Expands tmpl for user into out. Returns 0, or -1 when the template is invalid or out is too small. */
int idmap_home(const char *tmpl, const char *user, char *out, size_t outlen);

/* A range of subordinate ids, first..last inclusive. */
struct idmap_range {
	uint32_t first, last;
};

/* The ids of the local account files: every uid of passwd_path and every gid of group_path, sorted, and
 * the subordinate id ranges of the subuid and subgid files. Subordinate ids are local users' ids in their
 * user namespaces (podman, newuidmap): whoever got one would have their files open to that local user. */
struct idmap_local {
	uint32_t *ids;
	size_t n;
	struct idmap_range *ranges;
	size_t n_ranges;
};

/* Reads passwd_path and group_path directly (fgetpwent_r/fgetgrent_r, never through NSS, which would
 * recurse into this module), and "subuid" beside passwd_path and "subgid" beside group_path (lines
 * owner:first:count). NULL paths mean /etc/passwd and /etc/group (so /etc/subuid and /etc/subgid). Only
 * ids within [min, max] are kept, as only they can collide. Returns 0 or -errno (a missing passwd or
 * group file is an error, a missing subuid or subgid file is none). */
int idmap_local_load(const char *passwd_path, const char *group_path, uint32_t min, uint32_t max,
                     struct idmap_local *out);
bool idmap_local_has_id(const struct idmap_local *local, uint32_t id);
/* How many consecutive ids from id on the local files use, 0 when id is free (see idmap_taken_fn). */
uint32_t idmap_local_run(const struct idmap_local *local, uint32_t id);
void idmap_local_free(struct idmap_local *local);

/* Whether name is a user in passwd_path or a group in group_path (NULL: /etc/...), ignoring ASCII case
 * (sudo compares names that way by default). Returns 1 (taken), 0 (free) or -errno. */
int idmap_local_name(const char *passwd_path, const char *group_path, const char *name);

/* Calls each(ctx, name, id, is_group) for every entry of passwd_path, then of group_path (NULL: /etc/...),
 * read directly as idmap_local_load does. each returns 0 to go on, < 0 to stop with that error. Returns 0 or
 * -errno. */
typedef int (*idmap_each_fn)(void *ctx, const char *name, uint32_t id, bool is_group);
int idmap_local_each(const char *passwd_path, const char *group_path, idmap_each_fn each, void *ctx);

/* The gid of the group called name in group_path (NULL: /etc/group). Returns 1 and sets *gid, 0 when no
 * such group, or -errno. */
int idmap_local_group(const char *group_path, const char *name, uint32_t *gid);

#endif
