/* test_store.c: ids (idmap), the store format, its reader's validation, and the locked atomic writer. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/idmap.h"
#include "store/store_read.h"
#include "tap.h"
#include "testkit.h"
#include "pam_jwt/trusted_file.h"
#include "pam_jwt/userstore.h"

static char tmpdir[] = "/tmp/test_store.XXXXXX";

static char *path_in(const char *name)
{
	return tk_path(tmpdir, name);
}

static void test_fnv(void)
{
	/* The published FNV-1a 64 vectors, and pinned ids: the mapping name -> id is an ABI between hosts
	 * and versions; changing it would give existing users new uids. */
	ok(idmap_fnv1a64("", 0) == 0xcbf29ce484222325ULL, "fnv1a64(\"\") is the offset basis");
	ok(idmap_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a64(\"a\")");
	ok(idmap_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL, "fnv1a64(\"foobar\")");
	ok(idmap_fnv1a64_zeroed("foobar\1\2\3\4\5\6\7\10baz", 17, 6) ==
	       idmap_fnv1a64("foobar\0\0\0\0\0\0\0\0baz", 17),
	   "fnv1a64 with a checksum field taken as zero");
	ok(idmap_candidate(NULL, "alice", 200000, 2000200000, 0) == 247576420,
	   "alice -> 247576420 in the default range");
	ok(idmap_candidate(NULL, "bob", 200000, 2000200000, 0) == 1684536869,
	   "bob -> 1684536869 in the default range");
	ok(idmap_candidate(NULL, "alice", 200000, 2000200000, 1) == 247576421, "probe 1 is the next id");
	ok(idmap_candidate(NULL, "alice", 200000, 200000, 5) == 200000, "a range of one id");
	for (uint32_t p = 0; p < 20; p++) {
		uint32_t c = idmap_candidate(NULL, "x", 1000, 1009, p);
		if (c < 1000 || c > 1009) {
			ok(0, "candidate %u out of range", c);
			return;
		}
	}
	ok(1, "probes wrap around inside the range");
}

static void test_names(void)
{
	static const char *good[] = {"alice", "_svc", "a", "a.b-c_d9", "abcdefghijklmnopqrstuvwxyz012345"};
	static const char *bad[] = {"",
	                            "root",
	                            "Alice",
	                            "9lives",
	                            "12345",
	                            "-x",
	                            ".x",
	                            "a b",
	                            "a:b",
	                            "a\nb",
	                            "abcdefghijklmnopqrstuvwxyz0123456",
	                            "al/ice",
	                            "al\\ice",
	                            "é"};
	char home[64];

	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		ok(idmap_username_ok(good[i]), "username %s accepted", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		ok(!idmap_username_ok(bad[i]), "username #%zu refused", i);
	ok(idmap_groupname_ok("Domain-Admins"), "group names may have capitals");
	ok(!idmap_groupname_ok("/devs") && !idmap_groupname_ok("a b") && !idmap_groupname_ok("x:y") &&
	       !idmap_groupname_ok("root") && !idmap_groupname_ok("123") && !idmap_groupname_ok(""),
	   "bad group names refused");
	ok(idmap_home_template_ok("/home/%u") && idmap_home_template_ok("/srv/100%%/%u"), "home templates");
	ok(!idmap_home_template_ok("home/%u") && !idmap_home_template_ok("/home/%s") &&
	       !idmap_home_template_ok("/home/%") && !idmap_home_template_ok("/ho:me/%u") &&
	       !idmap_home_template_ok("/home/%u x") && !idmap_home_template_ok("/home/\n"),
	   "bad home templates refused");
	ok(idmap_home("/home/%u", "alice", home, sizeof(home)) == 0 && strcmp(home, "/home/alice") == 0,
	   "home expands %%u");
	ok(idmap_home("/x/%%/%u/%u", "al", home, sizeof(home)) == 0 && strcmp(home, "/x/%/al/al") == 0,
	   "home expands %%%% and several %%u");
	ok(idmap_home("/home/%u", "alice", home, 11) == -1, "home does not overflow a short buffer");
	ok(idmap_shell_ok("/bin/bash") && !idmap_shell_ok("bash") && !idmap_shell_ok("/bin/sh:x"), "shells");
	ok(!idmap_id_allowed(0, 0, 10) && !idmap_id_allowed(999, 1000, 2000) &&
	       !idmap_id_allowed(2001, 1000, 2000) && !idmap_id_allowed(65534, 1000, 70000) &&
	       !idmap_id_allowed(65535, 1000, 70000) && idmap_id_allowed(1000, 1000, 2000),
	   "ids: never 0, below min, above max, nobody or 16-bit -1");
}

static uint32_t taken_until;
static uint32_t taken_below(void *ctx, uint32_t id)
{
	(void)ctx;
	return id < taken_until;
}

static uint32_t taken_all(void *ctx, uint32_t id)
{
	(void)ctx;
	(void)id;
	return true;
}

static void test_assign(void)
{
	uint32_t c0 = idmap_candidate(NULL, "alice", 200000, 2000200000, 0), id = 0, probes = 9;

	taken_until = 0;
	ok(idmap_assign(NULL, "alice", 200000, 2000200000, taken_below, NULL, &id, &probes) == 0 &&
	       id == c0 && probes == 0,
	   "no collision: the hash");
	taken_until = c0 + 3;
	ok(idmap_assign(NULL, "alice", 200000, 2000200000, taken_below, NULL, &id, &probes) == 0 &&
	       id == c0 + 3 && probes == 3,
	   "collisions: linear probe, counted");
	ok(idmap_assign(NULL, "alice", 1000, 1009, taken_all, NULL, &id, &probes) == -1,
	   "a full range fails");
	ok(idmap_assign(NULL, "alice", 0, 10, taken_below, NULL, &id, &probes) == -1, "min 0 is refused");
	taken_until = 0;
	ok(idmap_assign(NULL, "alice", 65534, 65535, taken_below, NULL, &id, &probes) == -1,
	   "nobody and 65535 are never handed out");
}

static struct idmap_local *subids;
static uint32_t taken_local(void *ctx, uint32_t id)
{
	(void)ctx;
	return idmap_local_run(subids, id);
}

/* Subordinate id ranges (subuid beside passwd, subgid beside group) count as taken, stepped over at once. */
static void test_subids(void)
{
	struct idmap_local l;
	uint32_t id = 0, probes = 0, c = 0;
	char name[16];
	int r;

	tk_write_text(path_in("subuid"), "# podman\nalice:200000:65536\nbad line\n1001:300000:10\n"
	                                 "neg:-5:10\nzero:280000:0\nbig:270000:99999999999\n");
	tk_write_text(path_in("subgid"), "bob:190000:20000\n");
	ok(idmap_local_load(path_in("passwd"), path_in("group"), 200000, 300005, &l) == 0 && l.n_ranges == 3,
	   "subordinate ranges loaded, malformed lines skipped");
	ok(idmap_local_run(&l, 200000) == 65536 && idmap_local_run(&l, 265535) == 1 &&
	       idmap_local_run(&l, 265536) == 0 && idmap_local_run(&l, 300000) == 6 &&
	       idmap_local_run(&l, 209999) == 55537 && idmap_local_run(&l, 199999) == 0 &&
	       idmap_local_has_id(&l, 250000),
	   "runs: to the end of the range, clipped to max");
	ok(idmap_local_run(&l, 280000) == 0 && idmap_local_run(&l, 270000) == 0,
	   "empty and huge ranges: none");
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "sub%d", i);
		if ((c = idmap_candidate(NULL, name, 200000, 300005, 0)) < 265000)
			break;
	}
	subids = &l;
	r = idmap_assign(NULL, name, 200000, 300005, taken_local, NULL, &id, &probes);
	ok(r == 0 && id == 265536 && probes == 265536 - c,
	   "%s hashes into the range (%u): gets the first id past it (%u after %u)", name, c, id, probes);
	idmap_local_free(&l);
	unlink(path_in("subuid"));
	unlink(path_in("subgid"));
}

static void test_local(void)
{
	uint32_t gid = 1;
	struct idmap_local l;

	tk_write_text(path_in("passwd"), "root:x:0:0:root:/root:/bin/bash\n"
	                                 "carol:x:250000:250000::/home/carol:/bin/bash\n"
	                                 "low:x:1000:1000::/home/low:/bin/sh\n");
	tk_write_text(path_in("group"),
	              "root:x:0:\nwheel:x:0:\nstaff:x:50:\ncarol:x:250000:\nbig:x:260000:carol\n");
	ok(idmap_local_load(path_in("passwd"), path_in("group"), 200000, 300000, &l) == 0 && l.n == 3 &&
	       idmap_local_has_id(&l, 250000) && idmap_local_has_id(&l, 260000) &&
	       !idmap_local_has_id(&l, 1000),
	   "local ids: only those in range, from passwd and group");
	idmap_local_free(&l);
	ok(idmap_local_name(path_in("passwd"), path_in("group"), "carol") == 1, "local user name found");
	ok(idmap_local_name(path_in("passwd"), path_in("group"), "big") == 1, "local group name found");
	ok(idmap_local_name(path_in("passwd"), path_in("group"), "dave") == 0, "unknown name free");
	/* sudo matches sudoers group names ignoring case by default (case_insensitive_group): "Staff" must
	 * count as the local group staff, or an IdP group named so would pass for it */
	ok(idmap_local_name(path_in("passwd"), path_in("group"), "Staff") == 1 &&
	       idmap_local_name(path_in("passwd"), path_in("group"), "CAROL") == 1 &&
	       idmap_local_name(path_in("passwd"), path_in("group"), "ROOT") == 1,
	   "local names match ignoring case");
	ok(idmap_local_group(path_in("group"), "staff", &gid) == 1 && gid == 50, "local group gid");
	ok(idmap_local_group(path_in("group"), "wheel", &gid) == 1 && gid == 0,
	   "gid 0 group is reported as such");
	ok(idmap_local_group(path_in("group"), "nope", &gid) == 0, "missing local group");
	ok(idmap_local_name(path_in("nofile"), path_in("group"), "x") == -ENOENT,
	   "missing passwd file is an error");
	ok(idmap_local_load(path_in("passwd"), path_in("nofile"), 1, 10, &l) == -ENOENT,
	   "missing group file is an error");
	test_subids();
}

/* A store in memory with a few users and groups. */
static struct userstore *sample(const char *dir, bool lock, int n_extra)
{
	struct pj_error err;
	struct userstore *us;
	struct us_user *u;
	uint32_t gids[2] = {500001, 27};
	char name[32];

	if (userstore_open(dir, lock, &us, &err) != PJ_OK) {
		fprintf(stderr, "# %s\n", err.reason);
		abort();
	}
	if (userstore_add_group(us, "devs", 500001, &err) != PJ_OK ||
	    userstore_add_group(us, "ops", 500002, &err) ||
	    userstore_add_user(us, "bob", 400002, "Bob", "/home/bob", "/bin/sh", "https://idp", "b-1", 10, &u,
	                       &err) != PJ_OK ||
	    userstore_set_gids(u, gids, 2, &err) != PJ_OK ||
	    userstore_add_user(us, "alice", 400001, "Alice", "/home/alice", "/bin/bash", "https://idp", "a-1",
	                       11, &u, &err) != PJ_OK ||
	    userstore_set_gids(u, gids, 1, &err) != PJ_OK)
		abort();
	u->last_login = 1234;
	for (int i = 0; i < n_extra; i++) {
		snprintf(name, sizeof(name), "user%05d", i);
		if (userstore_add_user(us, name, 600000 + (uint32_t)i, "", "/home/x", "/bin/bash", "", "", 0,
		                       NULL, &err) != PJ_OK)
			abort();
	}
	return us;
}

static const char *member_names(const struct pj_store *st, const struct pj_store_group *g, char *buf,
                                size_t len)
{
	buf[0] = '\0';
	for (uint32_t i = 0; i < g->n_members; i++) {
		if (i > 0)
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, store_str(st, store_group_member(st, g, i)->name), len - strlen(buf) - 1);
	}
	return buf;
}

static void check_sample(const struct pj_store *st, const char *how)
{
	const struct pj_store_user *a = store_user_by_name(st, "alice"), *b = store_user_by_uid(st, 400002);
	const struct pj_store_group *g = store_group_by_name(st, "devs"), *p = store_group_by_gid(st, 400001);
	char buf[256];
	size_t n;
	const uint32_t *gids;

	ok(st->hdr->n_users == 2 && st->hdr->n_groups == 4, "%s: 2 users, 2 private + 2 managed groups", how);
	ok(a != NULL && a->uid == 400001 && strcmp(store_str(st, a->home), "/home/alice") == 0 &&
	       strcmp(store_str(st, a->gecos), "Alice") == 0 && strcmp(store_str(st, a->sub), "a-1") == 0 &&
	       a->last_login == 1234 && a->created == 11,
	   "%s: alice by name", how);
	ok(b != NULL && strcmp(store_str(st, b->name), "bob") == 0 &&
	       strcmp(store_str(st, b->shell), "/bin/sh") == 0,
	   "%s: bob by uid", how);
	ok(store_user_by_name(st, "carol") == NULL && store_user_by_uid(st, 400003) == NULL,
	   "%s: unknown user", how);
	ok(g != NULL && g->gid == 500001 && strcmp(member_names(st, g, buf, sizeof(buf)), "alice,bob") == 0,
	   "%s: devs has alice and bob (%s)", how, g ? buf : "-");
	g = store_group_by_gid(st, 500002);
	ok(g != NULL && g->n_members == 0, "%s: ops by gid, no members", how);
	ok(p != NULL && (p->flags & PJ_STORE_G_PRIVATE) && strcmp(store_str(st, p->name), "alice") == 0 &&
	       p->n_members == 0,
	   "%s: alice's private group by gid", how);
	gids = b ? store_user_gids(st, b, &n) : NULL;
	ok(gids != NULL && n == 2 && gids[0] == 27 && gids[1] == 500001, "%s: bob's gids sorted", how);
	ok(store_id_taken(st, 400001) && store_id_taken(st, 500002) && !store_id_taken(st, 27),
	   "%s: ids taken", how);
}

static void test_roundtrip(void)
{
	mode_t old_mask;
	unsigned char *data;
	struct pj_store st;
	struct pj_error err;
	struct userstore *us;
	struct stat sb;
	size_t len;
	int r;

	mkdir(path_in("rt"), 0755);
	us = sample(path_in("rt"), true, 0);
	ok(userstore_serialize(us, 99, &data, &len, &err) == PJ_OK, "serialize");
	ok(store_check_buffer(data, len, &st) == 0, "the serialized store validates");
	check_sample(&st, "buffer");
	free(data);
	ok(userstore_commit(us, 99, &err) == PJ_OK, "commit");
	userstore_close(us);
	r = store_open(path_in("rt"), &st);
	ok(r == 0, "store_open after commit (%d)", r);
	if (r == 0) {
		check_sample(&st, "file");
		ok(st.hdr->uid_min == IDMAP_DEFAULT_UID_MIN && st.hdr->uid_max == IDMAP_DEFAULT_UID_MAX &&
		       strcmp(store_str(&st, st.hdr->home_template), "/home/%u") == 0 &&
		       strcmp(store_str(&st, st.hdr->shell), "/bin/bash") == 0 && st.hdr->written == 99,
		   "default parameters in the header");
		store_close(&st);
	}
	ok(stat(path_in("rt/users.db"), &sb) == 0 && (sb.st_mode & 07777) == 0644,
	   "users.db is 0644 (passwd data is public; NSS runs in every process)");
	ok(stat(path_in("rt/users.lock"), &sb) == 0 && (sb.st_mode & 07777) == 0600, "users.lock is 0600");

	/* reload through the writer: nothing lost */
	ok(userstore_open(path_in("rt"), false, &us, &err) == PJ_OK && us->n_users == 2 &&
	       us->n_groups == 2 && userstore_user(us, "bob") != NULL &&
	       userstore_user(us, "bob")->n_gids == 2 &&
	       strcmp(userstore_user(us, "alice")->iss, "https://idp") == 0,
	   "reloaded by the writer");
	ok(userstore_del_user(us, "bob") && !userstore_del_user(us, "bob") && us->n_users == 1, "del user");
	ok(userstore_commit(us, 100, &err) == PJ_ERR_SYSTEM, "commit without the lock is refused");
	userstore_close(us);

	ok(userstore_open(path_in("new/sub"), true, &us, &err) == PJ_ERR_SYSTEM, "missing parent dir: error");
	ok(userstore_open(path_in("fresh"), true, &us, &err) == PJ_OK && us->n_users == 0,
	   "missing store = empty");
	ok(stat(path_in("fresh"), &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 022) == 0,
	   "state dir created");
	ok(userstore_commit(us, 1, &err) == PJ_OK && store_open(path_in("fresh"), &st) == 0 &&
	       st.hdr->n_users == 0,
	   "an empty store is written and valid");
	store_close(&st);
	userstore_close(us);

	/* NSS runs in every process, most of them not root: a restrictive umask (027, 077) of whoever first
	 * writes the store must not leave its directory closed to them */
	old_mask = umask(077);
	ok(userstore_open(path_in("masked"), true, &us, &err) == PJ_OK &&
	       userstore_commit(us, 1, &err) == PJ_OK,
	   "a store written under umask 077");
	umask(old_mask);
	userstore_close(us);
	if (stat(path_in("masked"), &sb) != 0)
		sb.st_mode = 0;
	ok((sb.st_mode & 07777) == 0755, "its directory is 0755 all the same (%04o)",
	   (unsigned)(sb.st_mode & 07777));
	ok(stat(path_in("masked/users.db"), &sb) == 0 && (sb.st_mode & 07777) == 0644, "and users.db 0644");
}

static void test_serialize_refuses(void)
{
	unsigned char *data;
	struct pj_error err;
	struct userstore *us;
	struct us_user *u;
	size_t len;

	us = sample(path_in("void"), false, 0);
	userstore_add_group(us, "alice", 500003, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM,
	   "a group named like a user: refused (%s)", err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_group(us, "qa", 400001, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM,
	   "a group gid equal to a uid: refused (%s)", err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_user(us, "sys", 999, "", "/home/sys", "/bin/sh", "", "", 0, NULL, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM, "a uid below 1000: refused (%s)",
	   err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_user(us, "eve", 400005, "x:0:0", "/home/eve", "/bin/sh", "", "", 0, NULL, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM, "a gecos with ':': refused (%s)",
	   err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_user(us, "eve", 400005, "", "/home/eve\n", "/bin/sh", "", "", 0, &u, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM,
	   "a home with a newline: refused (%s)", err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_user(us, "Eve", 400005, "", "/home/eve", "/bin/sh", "", "", 0, &u, &err);
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM, "a bad username: refused (%s)",
	   err.reason);
	userstore_close(us);

	us = sample(path_in("void"), false, 0);
	userstore_add_user(us, "eve", 400006, "", "/home/eve", "/bin/sh", "", "", 0, &u, &err);
	u->gids = calloc(1, sizeof(uint32_t));
	u->n_gids = 1;
	ok(userstore_serialize(us, 1, &data, &len, &err) == PJ_ERR_SYSTEM,
	   "a supplementary gid 0: refused (%s)", err.reason);
	userstore_close(us);
}

static void fix_checksum(unsigned char *buf, size_t len)
{
	struct pj_store_header *h = (struct pj_store_header *)buf;

	h->checksum = 0;
	h->checksum = idmap_fnv1a64(buf, len);
}

/* Exercises every lookup on a store that validated: must not crash whatever the contents. */
static void walk(const struct pj_store *st)
{
	volatile size_t sink = 0;

	for (uint32_t i = 0; i < st->hdr->n_users; i++) {
		const struct pj_store_user *u = &st->users[i];
		size_t n;
		const uint32_t *g = store_user_gids(st, u, &n);
		sink += strlen(store_str(st, u->name)) + strlen(store_str(st, u->home)) + (n ? g[n - 1] : 0);
		sink += store_user_by_name(st, store_str(st, u->name)) != NULL;
		sink += store_user_by_uid(st, u->uid) != NULL;
	}
	for (uint32_t i = 0; i < st->hdr->n_groups; i++) {
		const struct pj_store_group *g = &st->groups[i];
		for (uint32_t k = 0; k < g->n_members; k++)
			sink += strlen(store_str(st, store_group_member(st, g, k)->name));
		sink += store_group_by_name(st, store_str(st, g->name)) != NULL;
		sink += store_group_by_gid(st, g->gid) != NULL;
	}
	(void)sink;
}

static void test_fuzz(void)
{
	struct pj_error err;
	struct userstore *us = sample(path_in("void"), false, 20);
	unsigned char *data, *copy;
	struct pj_store st;
	size_t len;
	int refused = 0, valid = 0, trunc_refused = 0, n_flips = 300;

	if (userstore_serialize(us, 1, &data, &len, &err) != PJ_OK)
		abort();
	userstore_close(us);
	copy = malloc(len);
	srand(4242);
	/* random flips: the checksum catches every one */
	for (int i = 0; i < n_flips; i++) {
		memcpy(copy, data, len);
		for (int k = 0; k < 1 + rand() % 4; k++)
			copy[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
		if (memcmp(copy, data, len) == 0)
			copy[0] ^= 1;
		refused += store_check_buffer(copy, len, &st) == -EINVAL;
	}
	ok(refused == n_flips, "%d random byte flips: all refused (%d)", n_flips, refused);
	for (int i = 0; i < 100; i++) {
		size_t cut = (size_t)rand() % len;
		memcpy(copy, data, cut);
		trunc_refused += store_check_buffer(copy, cut, &st) == -EINVAL;
	}
	ok(trunc_refused == 100, "100 truncations: all refused");
	/* flips with a recomputed checksum: only the structural checks stand; whatever passes must be safe */
	refused = 0;
	for (int i = 0; i < 500; i++) {
		memcpy(copy, data, len);
		for (int k = 0; k < 1 + rand() % 3; k++)
			copy[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
		fix_checksum(copy, len);
		if (store_check_buffer(copy, len, &st) == 0) {
			walk(&st);
			valid++;
		} else {
			refused++;
		}
	}
	ok(refused + valid == 500, "500 flips past the checksum: %d refused, %d harmless, no crash", refused,
	   valid);
	ok(refused > 0, "the structural checks refuse some of them");
	free(copy);
	free(data);
}

/* Structural rules, each broken on its own with a valid checksum. */
static void test_structure(void)
{
	struct pj_error err;
	struct userstore *us = sample(path_in("void"), false, 0);
	unsigned char *data, *c;
	struct pj_store_header *h;
	struct pj_store_user *users;
	struct pj_store_group *groups;
	struct pj_store st;
	uint32_t *uidx, *ids;
	size_t len;

	if (userstore_serialize(us, 1, &data, &len, &err) != PJ_OK)
		abort();
	userstore_close(us);
	c = malloc(len);
#define BREAK(desc, stmt)                                                                                    \
	do {                                                                                                 \
		memcpy(c, data, len);                                                                        \
		h = (struct pj_store_header *)c;                                                             \
		users = (struct pj_store_user *)(c + h->users_off);                                          \
		groups = (struct pj_store_group *)(c + h->groups_off);                                       \
		uidx = (uint32_t *)(c + h->uidx_off);                                                        \
		ids = (uint32_t *)(c + h->ids_off);                                                          \
		(void)users, (void)groups, (void)uidx, (void)ids;                                            \
		stmt;                                                                                        \
		fix_checksum(c, len);                                                                        \
		ok(store_check_buffer(c, len, &st) == -EINVAL, "refused: %s", desc);                         \
	} while (0)
	memcpy(c, data, len);
	ok(store_check_buffer(c, len, &st) == 0, "the unbroken copy validates");
	BREAK("bad magic", h->magic[0] = 'X');
	BREAK("other version", h->version = 4);
	BREAK("an id_salt too short", h->id_salt = h->shell);
	BREAK("version 1 with a next_slot", h->version = 1);
	BREAK("other byte order", h->endian = 0x04030201);
	BREAK("file_size differs", h->file_size = len + 8);
	BREAK("reserved not zero", h->reserved[1] = 1);
	BREAK("preauth_programs not a list", h->preauth_programs = h->home_template);
	BREAK("users section beyond the file", h->users_off = (uint32_t)len);
	BREAK("unaligned section", h->groups_off += 4);
	BREAK("section overlapping the header", h->ids_off = 8);
	BREAK("n_users too large", h->n_users = 0x7fffffff);
	BREAK("n_ids beyond the file", h->n_ids = (uint32_t)len);
	BREAK("strings area without final NUL", c[h->strings_off + h->strings_len - 1] = 'x');
	BREAK("string offset outside the area", users[0].home = h->strings_len);
	BREAK("uid 0", users[0].uid = 0);
	BREAK("uid below 1000", users[1].uid = 999);
	BREAK("names out of order", {
		uint32_t t = users[0].name;
		users[0].name = users[1].name;
		users[1].name = t;
	});
	BREAK("uid index out of range", uidx[0] = 7);
	BREAK("uid index out of order", {
		uint32_t t = uidx[0];
		uidx[0] = uidx[1];
		uidx[1] = t;
	});
	BREAK("gid slice beyond ids", users[0].gids_first = h->n_ids);
	BREAK("member index beyond users", {
		for (uint32_t i = 0; i < h->n_groups; i++)
			if (groups[i].n_members > 0)
				ids[groups[i].members_first] = 5;
	});
	BREAK("supplementary gid 0", ids[users[0].gids_first] = 0);
	BREAK("group gid 0", groups[0].gid = 0);
	BREAK("unknown group flag", groups[0].flags = 4);
	BREAK("user slot past next_slot", users[0].slot = h->next_slot);
	BREAK("name with ':'", memcpy(c + h->strings_off + users[0].name, "a:", 2));
	BREAK("gecos with ','", memcpy(c + h->strings_off + users[0].gecos, "A,", 2));
	BREAK("home with a newline", c[h->strings_off + users[0].home + 1] = '\n');
	BREAK("header uid_min below 1000", h->uid_min = 10);
	BREAK("bad home template", c[h->strings_off + h->home_template] = 'x');
#undef BREAK
	ok(store_check_buffer(data + 8, len - 8, &st) == -EINVAL, "a misaligned buffer is refused");
	free(c);
	free(data);
}

/* A mapping stays in use while store_same_file says the file is unchanged (the NSS module asks before every
 * lookup): a file that became writable by others, or was written in place with its mtime put back, must not
 * count as the one that was validated. */
static void test_same_file(void)
{
	struct pj_store st;
	struct stat sb;
	struct timespec times[2];
	char *db = path_in("rt/users.db");
	unsigned char byte;
	int fd;

	if (store_open(path_in("rt"), &st) != 0)
		abort();
	ok(stat(db, &sb) == 0 && store_same_file(&st, &sb), "unchanged: the same file");
	chmod(db, 0646);
	ok(stat(db, &sb) == 0 && !store_same_file(&st, &sb), "made world-writable: no longer the same file");
	chmod(db, 0644);
	store_close(&st);

	if (store_open(path_in("rt"), &st) != 0)
		abort();
	if (stat(db, &sb) != 0 || (fd = open(db, O_RDWR)) < 0)
		abort();
	/* rewrite one byte in place with the same value, then put the times back as they were */
	if (pread(fd, &byte, 1, 200) != 1 || pwrite(fd, &byte, 1, 200) != 1)
		abort();
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	if (futimens(fd, times) != 0)
		abort();
	close(fd);
	ok(stat(db, &sb) == 0 && !store_same_file(&st, &sb),
	   "written in place with size and mtime put back: no longer the same file");
	store_close(&st);
}

/* Writes dir/users.checked recording dir/users.db as validated whole, whatever it holds (the library only
 * ever writes it after store_open validated that very file: mapping.c's mark_checked). */
static void write_checked(const char *dir, uint64_t store_checksum_delta)
{
	struct pj_store fake = {0};
	struct pj_store_header h;
	struct pj_store_checked rec;
	struct pj_error err;
	struct stat sb;
	char *db = tk_strf("%s/users.db", dir), *mark = tk_strf("%s/users.checked", dir);
	int fd = open(db, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) != 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		abort();
	close(fd);
	h.checksum += store_checksum_delta;
	fake.hdr = &h;
	fake.file = store_file_id_of(&sb);
	store_checked_record(&fake, &rec);
	if (atomic_write_file(mark, &rec, sizeof(rec), 0644, &err) != PJ_OK)
		abort();
	free(db);
	free(mark);
}

/* users.checked: a fresh process opens a version of the store that a root process validated whole in O(1);
 * any change of the file, or a marker that is not trusted, damaged or for another file, means the whole
 * validation again. Lookups stay inside the file even on a store opened that way. */
static void test_checked(void)
{
	struct pj_error err;
	struct pj_store st;
	struct pj_store_header *h;
	struct userstore *us;
	unsigned char *data;
	size_t len;
	char *dir = path_in("chk"), *db = path_in("chk/users.db"), *mark = path_in("chk/users.checked");
	int fd;

	mkdir(dir, 0755);
	us = sample(dir, true, 3);
	ok(userstore_commit(us, 1, &err) == PJ_OK, "a store to mark (%s)", err.reason);
	userstore_close(us);
	ok(store_open(dir, &st) == 0 && st.checked_whole, "no users.checked: validated whole");
	store_close(&st);
	write_checked(dir, 0);
	ok(store_open(dir, &st) == 0 && !st.checked_whole && store_user_by_name(&st, "alice") != NULL,
	   "users.checked for this very file: opened without the whole validation, lookups answer");
	store_close(&st);

	/* the marker is trusted as the store is: shown on a damaged file it names (never written so by us) */
	if ((fd = open(db, O_RDONLY)) < 0 || (len = (size_t)lseek(fd, 0, SEEK_END)) == 0 ||
	    (data = malloc(len)) == NULL || pread(fd, data, len, 0) != (ssize_t)len)
		abort();
	close(fd);
	h = (struct pj_store_header *)data;
	((struct pj_store_user *)(data + h->users_off))[0].name = 0xfffffff0u; /* outside the string table */
	((struct pj_store_group *)(data + h->groups_off))[0].members_first = 0xfffffff0u;
	((struct pj_store_group *)(data + h->groups_off))[0].n_members = 1;
	if (atomic_write_file(db, data, len, 0644, &err) != PJ_OK)
		abort();
	free(data);
	ok(store_open(dir, &st) == -EINVAL, "a damaged store, the marker of the old file: refused");
	write_checked(dir, 0);
	ok(store_open(dir, &st) == 0 && !st.checked_whole, "a marker naming the damaged file: opened");
	ok(strcmp(store_str(&st, st.users[0].name), "") == 0 &&
	       store_group_member(&st, &st.groups[0], 0) == NULL,
	   "a string offset and a member index outside the store: answered empty, never read");
	ok(store_user_by_name(&st, "bob") != NULL && store_user_by_uid(&st, 400002) != NULL &&
	       store_group_by_gid(&st, 500001) != NULL,
	   "the other lookups still answer");
	store_close(&st);
	chmod(db, 0644); /* the same mode: only the ctime moves */
	ok(store_open(dir, &st) == -EINVAL,
	   "the file's ctime moved since the marker: validated whole, refused");

	write_checked(dir, 0);
	ok(chown(mark, 65534, 65534) == 0 && store_open(dir, &st) == -EINVAL,
	   "users.checked not owned by root: ignored");
	ok(chown(mark, 0, 0) == 0 && chmod(mark, 0666) == 0 && store_open(dir, &st) == -EINVAL,
	   "users.checked writable by others: ignored");
	chmod(mark, 0644);
	ok(store_open(dir, &st) == 0, "(control) the same marker trusted again: opened");
	store_close(&st);
	write_checked(dir, 1);
	ok(store_open(dir, &st) == -EINVAL, "a marker for another checksum: ignored");
	write_checked(dir, 0);
	if ((fd = open(mark, O_RDWR)) < 0 ||
	    pwrite(fd, "\x01", 1, offsetof(struct pj_store_checked, file.ino)) != 1)
		abort();
	close(fd);
	ok(store_open(dir, &st) == -EINVAL, "a damaged marker: ignored");
}

static void test_trust(void)
{
	struct pj_error err;
	struct userstore *us;
	struct pj_store st;
	char *db = path_in("rt/users.db");

	ok(store_open(path_in("nothere"), &st) == -ENOENT, "no directory: ENOENT");
	ok(store_open(path_in("fresh"), &st) == 0, "trusted store opens");
	store_close(&st);
	chmod(db, 0664);
	ok(store_open(path_in("rt"), &st) == -EPERM, "group-writable store: EPERM");
	ok(userstore_open(path_in("rt"), true, &us, &err) == PJ_ERR_CONFIG, "the writer refuses it too");
	chmod(db, 0646);
	ok(store_open(path_in("rt"), &st) == -EPERM, "world-writable store: EPERM");
	chmod(db, 0644);
	if (chown(db, 65534, 65534) != 0)
		abort();
	ok(store_open(path_in("rt"), &st) == -EPERM, "store not owned by root: EPERM");
	if (chown(db, 0, 0) != 0)
		abort();
	chmod(path_in("rt"), 0777);
	ok(store_open(path_in("rt"), &st) == -EPERM, "world-writable directory: EPERM");
	chmod(path_in("rt"), 0755);
	mkdir(path_in("link"), 0755);
	if (symlink(db, path_in("link/users.db")) != 0)
		abort();
	ok(store_open(path_in("link"), &st) == -EPERM, "symlinked store: refused");
	ok(store_open(path_in("rt"), &st) == 0, "back to trusted: opens");
	store_close(&st);

	/* a damaged store is never overwritten by the writer: its bindings would be lost */
	mkdir(path_in("dmg"), 0755);
	tk_write_text(path_in("dmg/users.db"),
	              "garbage that is not a store, long enough to pass the size check......"
	              "......................................................................");
	ok(store_open(path_in("dmg"), &st) == -EINVAL, "damaged store: EINVAL");
	ok(userstore_open(path_in("dmg"), true, &us, &err) == PJ_ERR_SYSTEM && strstr(err.reason, "damaged"),
	   "the writer refuses a damaged store: %s", err.reason);
}

/* 32 processes each add their own user under the lock: none is lost. */
static void test_race(void)
{
	struct pj_store st;
	int n = 32, failed = 0, status, r;

	mkdir(path_in("race"), 0755);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct pj_error err;
			struct userstore *us;
			char name[32];
			snprintf(name, sizeof(name), "racer%02d", i);
			if (userstore_open(path_in("race"), true, &us, &err) != PJ_OK ||
			    userstore_add_user(us, name, 300000 + (uint32_t)i, "", "/home/r", "/bin/sh", "",
			                       "", 0, NULL, &err) != PJ_OK ||
			    userstore_commit(us, 1, &err) != PJ_OK)
				_exit(1);
			userstore_close(us);
			_exit(0);
		}
	}
	for (int i = 0; i < n; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	ok(failed == 0, "32 concurrent writers succeeded");
	r = store_open(path_in("race"), &st);
	ok(r == 0 && st.hdr->n_users == 32, "32 users in the store (%u)", r == 0 ? st.hdr->n_users : 0);
	store_close(&st);
}

static int count_temps(const char *dir)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "users.db.tmp.", 13) == 0;
	if (d != NULL)
		closedir(d);
	return n;
}

/* A writer killed with SIGKILL at arbitrary points: the store always opens, with old or new data. */
static void test_kill(void)
{
	struct pj_error err;
	struct userstore *us;
	struct pj_store st;
	uint32_t before, after = 0;
	int bad = 0, grew = 0;

	mkdir(path_in("kill"), 0755);
	us = sample(path_in("kill"), true, 20000); /* a store of about 2 MB: writes take a while */
	if (userstore_commit(us, 1, &err) != PJ_OK)
		abort();
	userstore_close(us);
	before = 20002;
	for (int round = 0; round < 20; round++) {
		pid_t pid = fork();
		if (pid == 0) {
			for (int i = 0;; i++) { /* add users forever */
				char name[32];
				snprintf(name, sizeof(name), "k%02dx%05d", round, i);
				if (userstore_open(path_in("kill"), true, &us, &err) != PJ_OK ||
				    userstore_add_user(
				        us, name, 700000 + (uint32_t)round * 10000 + (uint32_t)i, "",
				        "/home/k", "/bin/sh", "", "", 0, NULL, &err) != PJ_OK ||
				    userstore_commit(us, 1, &err) != PJ_OK)
					_exit(1);
				userstore_close(us);
			}
		}
		usleep((useconds_t)(1000 + round * 3000));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (store_open(path_in("kill"), &st) != 0) {
			bad++;
			continue;
		}
		after = st.hdr->n_users;
		grew += after > before;
		if (after < before)
			bad++;
		before = after;
		store_close(&st);
	}
	ok(bad == 0, "20 SIGKILLed writers: the store always opens, never shrinks (%u users now)", after);
	tap_diag("%d of 20 killed writers had committed something", grew);
	ok(userstore_open(path_in("kill"), true, &us, &err) == PJ_OK &&
	       userstore_commit(us, 2, &err) == PJ_OK,
	   "the next writer commits");
	userstore_close(us);
	ok(count_temps(path_in("kill")) == 0, "and removes the temp files the killed writers left");
}

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("the store must be root-owned: run as root");
	if (mkdtemp(tmpdir) == NULL)
		tap_skip_all("mkdtemp failed");
	test_fnv();
	test_names();
	test_assign();
	test_local();
	test_roundtrip();
	test_serialize_refuses();
	test_fuzz();
	test_structure();
	test_trust();
	test_same_file();
	test_checked();
	test_race();
	test_kill();
	return tap_done();
}
