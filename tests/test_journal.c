/* test_journal.c: the user store's journal: appends, folds, torn tails, killed writers, a full disk, races.
 */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pam_jwt/userstore.h"
#include "store/store_journal.h"
#include "store/store_read.h"
#include "tap.h"
#include "testkit.h"

static char tmpdir[] = "/tmp/test_journal.XXXXXX";

static char *path_in(const char *name)
{
	return tk_path(tmpdir, name);
}

/* Adds user name (uid, in managed group group when not NULL, created if new) and commits: through the
 * journal (view) or as a fold (loaded). Returns the commit's status. */
static pj_status add_user(const char *dir, bool view, const char *name, uint32_t uid, const char *group,
                          uint32_t gid)
{
	struct pj_error err;
	struct userstore *us;
	struct us_user *u;
	pj_status r;

	r = view ? userstore_open_view(dir, NULL, &us, &err) : userstore_open(dir, true, &us, &err);
	if (r != PJ_OK)
		return r;
	if ((r = userstore_add_user(us, name, uid, "", "/home/j", "/bin/sh", "https://idp", name, 1, &u,
	                            &err)) == PJ_OK &&
	    group != NULL) {
		if (userstore_group(us, group) == NULL)
			r = userstore_add_group(us, group, gid, &err);
		if (r == PJ_OK && (u = userstore_user(us, name)) != NULL)
			r = userstore_set_gids(u, &gid, 1, &err);
	}
	if (r == PJ_OK)
		r = userstore_commit(us, 2, &err);
	userstore_close(us);
	return r;
}

static bool has_user(const char *dir, const char *name)
{
	struct pj_user_ref ref;
	struct pj_view v;
	bool found;

	if (view_open(dir, &v) != 0)
		return false;
	found = view_user_by_name(&v, name, &ref) && strcmp(store_str(ref.st, ref.u->name), name) == 0;
	view_close(&v);
	return found;
}

/* Users the view enumerates, or -1 when it does not open. Each name must come once. */
static long count_users(const char *dir)
{
	struct pj_user_ref ref;
	struct pj_view v;
	uint64_t cursor = 0;
	long n = 0;

	if (view_open(dir, &v) != 0)
		return -1;
	while (view_user_next(&v, &cursor, &ref))
		n++;
	view_close(&v);
	return n;
}

static off_t file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static ino_t file_ino(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? sb.st_ino : 0;
}

static const char *members_of(const struct pj_view *v, const char *group)
{
	static char buf[1024];
	struct pj_group_ref g;
	uint64_t cursor = 0;
	const char *name;

	buf[0] = '\0';
	if (!view_group_by_name(v, group, &g))
		return "(none)";
	while (view_group_member(v, &g, &cursor, &name)) {
		if (buf[0] != '\0')
			strcat(buf, ",");
		strncat(buf, name, sizeof(buf) - strlen(buf) - 2);
	}
	return buf;
}

static void test_append(void)
{
	const char *dir = path_in("basic");
	struct pj_user_ref u;
	struct pj_group_ref g;
	struct pj_view v;
	ino_t base;

	mkdir(dir, 0755);
	ok(add_user(dir, true, "anna", 300001, "devs", 310001) == PJ_OK,
	   "the first write of a store: a new base");
	base = file_ino(path_in("basic/users.db"));
	ok(file_size(path_in("basic/users.journal")) == (off_t)sizeof(struct pj_journal_header),
	   "with an empty journal");
	ok(add_user(dir, true, "bert", 300002, "devs", 310001) == PJ_OK &&
	       file_ino(path_in("basic/users.db")) == base &&
	       file_size(path_in("basic/users.journal")) > (off_t)sizeof(struct pj_journal_header),
	   "a new user: one journal record, the base untouched");
	ok(add_user(dir, true, "carl", 300003, "ops", 310002) == PJ_OK, "a new user in a new group");
	ok(view_open(dir, &v) == 0 && v.n_deltas == 2, "the view: base and 2 deltas");
	ok(view_user_by_name(&v, "anna", &u) && u.level == 0 && view_user_by_name(&v, "carl", &u) &&
	       u.level == 2 && view_user_by_uid(&v, 300002, &u) &&
	       strcmp(store_str(u.st, u.u->name), "bert") == 0,
	   "users by name (base and delta) and by uid");
	ok(strcmp(members_of(&v, "devs"), "anna,bert") == 0, "devs: its base member and the delta's (%s)",
	   members_of(&v, "devs"));
	ok(view_group_by_gid(&v, 310002, &g) && strcmp(store_str(g.st, g.g->name), "ops") == 0 &&
	       strcmp(members_of(&v, "ops"), "carl") == 0,
	   "a group made in the journal, by gid, with its member");
	ok(view_group_by_name(&v, "carl", &g) && (g.g->flags & PJ_STORE_G_PRIVATE) &&
	       view_id_taken(&v, 300003) && !view_id_taken(&v, 300004),
	   "private groups and ids of delta users");
	view_close(&v);

	/* anna moves from devs to ops in the journal: the base entry is shadowed */
	ok(add_user(dir, true, "anna", 300001, "ops", 310002) == PJ_OK && view_open(dir, &v) == 0,
	   "anna changed in the journal");
	ok(view_user_by_name(&v, "anna", &u) && u.level == 3 && strcmp(members_of(&v, "devs"), "bert") == 0 &&
	       strcmp(members_of(&v, "ops"), "carl,anna") == 0,
	   "the newest entry wins: anna leaves devs, joins ops");
	view_close(&v);
	ok(count_users(dir) == 3, "enumeration: each user once (%ld)", count_users(dir));
}

/* Garbage after the last record (a writer that died in its write) counts for nobody and is written over. */
static void test_torn_tail(void)
{
	const char *dir = path_in("basic"), *jpath = path_in("basic/users.journal");
	struct pj_view v;
	uint32_t n;
	int fd;

	ok(view_open(dir, &v) == 0, "view before");
	n = v.n_deltas;
	view_close(&v);
	fd = open(jpath, O_WRONLY | O_APPEND);
	ok(fd >= 0 && write(fd, "\x40\x00\x00\x00\x01\x00\x00\x00garbage-garbage-garbage", 31) == 31,
	   "a torn record appended");
	close(fd);
	ok(view_open(dir, &v) == 0 && v.n_deltas == n && count_users(dir) == 3, "readers ignore it");
	view_close(&v);
	ok(add_user(dir, true, "dora", 300004, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       v.n_deltas == n + 1 && has_user(dir, "dora"),
	   "the next writer writes its record over it");
	view_close(&v);
}

/* Past PJ_JOURNAL_MAX_RECORDS records the next writer folds: a new base of the next generation. */
static void test_fold(void)
{
	const char *dir = path_in("fold");
	struct pj_view v;
	uint32_t gen;
	int bad = 0;
	char name[32];

	mkdir(dir, 0755);
	for (uint32_t i = 0; i <= PJ_JOURNAL_MAX_RECORDS; i++) {
		snprintf(name, sizeof(name), "f%04u", i);
		bad += add_user(dir, true, name, 320000 + i, "team", 330000) != PJ_OK;
	}
	ok(bad == 0 && view_open(dir, &v) == 0 && v.n_deltas == PJ_JOURNAL_MAX_RECORDS,
	   "%u records: the journal is full", PJ_JOURNAL_MAX_RECORDS);
	gen = v.base.hdr->generation;
	view_close(&v);
	ok(add_user(dir, true, "fnext", 329999, "team", 330000) == PJ_OK && view_open(dir, &v) == 0 &&
	       v.n_deltas == 0 && v.base.hdr->generation == gen + 1 &&
	       v.base.hdr->n_users == PJ_JOURNAL_MAX_RECORDS + 2,
	   "the next change folds: generation %u, every user in the base, an empty journal", gen + 1);
	ok(strlen(members_of(&v, "team")) == (PJ_JOURNAL_MAX_RECORDS + 2) * 6 - 1, "team has every member");
	view_close(&v);

	/* a journal left from the previous generation (a writer killed between base and journal) is ignored
	 */
	ok(add_user(dir, true, "fstale", 329998, NULL, 0) == PJ_OK, "one record in the new journal");
	{
		char *old = NULL;
		size_t len = 0;
		FILE *f = fopen(path_in("fold/users.journal"), "r");
		if (f != NULL) {
			old = malloc(1 << 20);
			len = fread(old, 1, 1 << 20, f);
			fclose(f);
		}
		ok(old != NULL && add_user(dir, false, "ffold", 329997, NULL, 0) == PJ_OK,
		   "a fold (pam-jwt user)");
		f = fopen(path_in("fold/users.journal"), "w");
		if (f != NULL) {
			fwrite(old, 1, len, f);
			fclose(f);
		}
		free(old);
	}
	ok(view_open(dir, &v) == 0 && v.n_deltas == 0 && has_user(dir, "fstale") && has_user(dir, "ffold"),
	   "the old generation's journal is ignored (its record is in the base)");
	view_close(&v);
	ok(add_user(dir, true, "fafter", 329996, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       v.n_deltas == 1 && has_user(dir, "fafter"),
	   "and the next writer starts a journal for the new base");
	view_close(&v);
}

/* A child that adds users forever, each through the journal (or each as a fold), writing every committed
 * name to fd. */
static void __attribute__((noreturn)) writer(const char *dir, int fd, int round, bool fold)
{
	char name[40];

	for (uint32_t i = 0;; i++) {
		snprintf(name, sizeof(name), "k%c%02dx%05u", fold ? 'f' : 'j', round, i);
		if (add_user(dir, !fold, name, 400000 + (uint32_t)round * 10000 + i + (fold ? 500000 : 0),
		             i % 3 == 0 ? "killers" : NULL, 390000) != PJ_OK)
			_exit(1);
		dprintf(fd, "%s\n", name);
	}
}

/* Kills a writer at many points; after each kill, every name it reported is there, the store opens, and
 * the next writer goes on. */
static void kill_rounds(const char *dir, bool fold, int rounds)
{
	int lost = 0, unopenable = 0, committed = 0, next_bad = 0;
	unsigned seed = 12345;

	for (int round = 0; round < rounds; round++) {
		char buf[65536];
		int fds[2];
		ssize_t n;
		size_t len = 0;
		pid_t pid;

		if (pipe(fds) != 0)
			abort();
		if ((pid = fork()) == 0) {
			close(fds[0]);
			writer(dir, fds[1], round, fold);
		}
		close(fds[1]);
		usleep((useconds_t)(200 + rand_r(&seed) % (fold ? 150000 : 20000)));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
			len += (size_t)n;
		close(fds[0]);
		buf[len] = '\0';
		if (count_users(dir) < 0)
			unopenable++;
		for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
			committed++;
			lost += !has_user(dir, line);
		}
	}
	ok(unopenable == 0 && lost == 0,
	   "%d writers SIGKILLed in %s: the store always opens, all %d committed users are there (%d lost)",
	   rounds, fold ? "folds" : "journal appends", committed, lost);
	next_bad = add_user(dir, true, fold ? "after-folds" : "after-appends", fold ? 499998 : 499999, NULL,
	                    0) != PJ_OK;
	ok(!next_bad && has_user(dir, fold ? "after-folds" : "after-appends"), "the next writer continues");
}

static void test_kill(void)
{
	const char *dir = path_in("kill");
	char name[32];
	int bad = 0;

	mkdir(dir, 0755);
	for (uint32_t i = 0; i < 2000; i += 500) { /* a base of 2000 users: folds take a while */
		struct pj_error err;
		struct userstore *us;
		if (userstore_open(dir, true, &us, &err) != PJ_OK)
			abort();
		for (uint32_t k = i; k < i + 500; k++) {
			snprintf(name, sizeof(name), "base%05u", k);
			bad += userstore_add_user(us, name, 380000 + k, "", "/home/b", "/bin/sh", "", "", 0,
			                          NULL, &err) != PJ_OK;
		}
		bad += userstore_commit(us, 1, &err) != PJ_OK;
		userstore_close(us);
	}
	ok(bad == 0 && count_users(dir) == 2000, "a store of 2000 users");
	kill_rounds(dir, false, 30);
	kill_rounds(dir, true, 20);
	ok(count_users(dir) > 2000, "the store grew to %ld users", count_users(dir));
}

/* A full file system during appends and folds: the change fails, nothing committed is lost, readers see
 * the old state, and once there is room the next writer goes on. Runs in a child with a private mount
 * namespace and a 256 KiB tmpfs; returns a bit per broken promise, 77 when it cannot set that up. */
static int full_fs_child(void)
{
	const char *dir = path_in("full");
	struct statvfs vfs;
	char name[32], filler[600];
	int bad = 0, committed = 0, failed = 0, fd;
	long before;

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mkdir(dir, 0755) != 0 || mount("tmpfs", dir, "tmpfs", 0, "size=256k,mode=0755") != 0)
		return 77;
	for (uint32_t i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "full%03u", i);
		bad |= add_user(dir, i == 0 ? false : true, name, 340000 + i, NULL, 0) != PJ_OK;
	}
	if (bad)
		return 1;
	/* leave a little room only */
	snprintf(filler, sizeof(filler), "%s/filler", dir);
	fd = open(filler, O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || statvfs(dir, &vfs) != 0)
		return 1;
	{
		static char zeros[4096];
		long room = (long)(vfs.f_bavail * vfs.f_bsize) - 12 * 1024;
		while (room > 0 && write(fd, zeros, room > 4096 ? 4096 : (size_t)room) > 0)
			room -= 4096;
	}
	close(fd);
	for (uint32_t i = 100; i < 400 && failed == 0; i++) {
		snprintf(name, sizeof(name), "full%03u", i);
		if (add_user(dir, true, name, 340000 + i, NULL, 0) == PJ_OK)
			committed++;
		else
			failed = 1;
	}
	if (!failed)
		bad |= 2; /* the disk never filled */
	before = count_users(dir);
	if (before != 100 + committed)
		bad |= 4; /* lost or garbled */
	if (add_user(dir, false, "fullfold", 349999, NULL, 0) == PJ_OK)
		bad |= 8; /* a fold of the whole store cannot fit */
	if (count_users(dir) != before || has_user(dir, "fullfold"))
		bad |= 16; /* a failed fold changed what readers see */
	unlink(filler);
	if (add_user(dir, true, "fullroom", 349998, NULL, 0) != PJ_OK ||
	    add_user(dir, false, "fullfold", 349999, NULL, 0) != PJ_OK || count_users(dir) != before + 2)
		bad |= 32; /* the next writer does not go on */
	return bad;
}

static void test_full_fs(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(full_fs_child());
	waitpid(pid, &status, 0);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
		tap_skip(1, "no private mount namespace with a tmpfs here");
		return;
	}
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	   "a full file system: appends and a fold fail, nothing committed is lost, readers see the old "
	   "state, "
	   "then the next writer goes on (failures %#x)",
	   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Readers during the race below: bert is always there, with his uid. */
struct reader {
	const char *dir;
	volatile int *stop;
	long lookups, bad;
};

static void *reader_thread(void *arg)
{
	struct reader *r = arg;
	struct pj_view v;
	struct pj_user_ref u;

	memset(&v, 0, sizeof(v));
	while (!*r->stop) {
		if (view_refresh(r->dir, &v) != 0 || !view_user_by_name(&v, "bert", &u) || u.u->uid != 300002)
			r->bad++;
		r->lookups++;
	}
	view_close(&v);
	return NULL;
}

/* 32 writers and 8 reader threads across a fold: every update is kept, readers never miss. */
static void test_race(void)
{
	const char *dir = path_in("basic");
	struct reader readers[8];
	pthread_t th[8];
	volatile int stop = 0;
	struct pj_view v;
	int failed = 0, status, lost = 0, go[2];
	long lookups = 0, bad = 0;
	char name[32];

	/* fill the journal to two records short of its bound: the race crosses a fold */
	ok(view_open(dir, &v) == 0, "the store of test_append");
	for (uint32_t i = v.n_deltas; i + 2 < PJ_JOURNAL_MAX_RECORDS; i++) {
		snprintf(name, sizeof(name), "pre%04u", i);
		failed += add_user(dir, true, name, 350000 + i, NULL, 0) != PJ_OK;
	}
	view_close(&v);
	/* The writers are forked before the reader threads start and wait for the go (the pipe's end): a
	 * child forked while threads run may find a lock one of them held copied locked, and hang on it
	 * (ASan's allocator has no fork handler: this test hung in the sanitizer build). */
	if (pipe(go) != 0) {
		ok(0, "a pipe for the writers' start");
		return;
	}
	for (int i = 0; i < 32; i++) {
		if (fork() == 0) {
			char c;

			close(go[1]);
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			snprintf(name, sizeof(name), "racer%02d", i);
			_exit(add_user(dir, true, name, 360000 + (uint32_t)i, "racers", 369999) == PJ_OK ? 0
			                                                                                 : 1);
		}
	}
	close(go[0]);
	for (int i = 0; i < 8; i++) {
		readers[i] = (struct reader){.dir = dir, .stop = &stop};
		pthread_create(&th[i], NULL, reader_thread, &readers[i]);
	}
	close(go[1]); /* go: every writer's read returns at once */
	for (int i = 0; i < 32; i++) {
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed++;
	}
	stop = 1;
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		lookups += readers[i].lookups;
		bad += readers[i].bad;
	}
	for (int i = 0; i < 32; i++) {
		snprintf(name, sizeof(name), "racer%02d", i);
		lost += !has_user(dir, name);
	}
	ok(failed == 0 && lost == 0, "32 concurrent writers across a fold: 0 failed, %d lost", lost);
	ok(view_open(dir, &v) == 0 && v.base.hdr->generation > 1 &&
	       strlen(members_of(&v, "racers")) == 32 * 8 - 1,
	   "the fold happened, and racers has all 32 members");
	view_close(&v);
	ok(bad == 0 && lookups > 0, "8 reader threads: %ld lookups, %ld wrong or failed", lookups, bad);
}

/* The lock file's bytes (the durable mark), saved and put back: the state a reader meets while a writer
 * that appended has not finished its fdatasync (group commit), or after a crash lost the mark. */
static size_t lock_bytes(const char *dir, unsigned char *buf, size_t cap)
{
	int fd = open(tk_path(dir, "users.lock"), O_RDONLY);
	ssize_t n = fd >= 0 ? pread(fd, buf, cap, 0) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? (size_t)n : 0;
}

static void lock_put_bytes(const char *dir, const unsigned char *buf, size_t len)
{
	int fd = open(tk_path(dir, "users.lock"), O_WRONLY | O_TRUNC);

	if (fd >= 0) {
		if (write(fd, buf, len) != (ssize_t)len)
			fprintf(stderr, "# cannot write users.lock\n");
		close(fd);
	}
}

/* Group commit: a record is synced after the store lock is released, so a reader may see a record whose
 * writer has not synced it yet. A returning login must not succeed on such an entry (userstore_durable):
 * the durable mark tells it which records are known durable, and it syncs for itself when the mark does
 * not cover its entry. */
static void test_durable(void)
{
	const char *dir = path_in("durable");
	unsigned char after_a[64], flipped[64];
	size_t n_a, n;
	struct pj_error err;
	struct pj_user_ref ua, ub;
	struct pj_view v;

	ok(add_user(dir, false, "base1", 340001, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "reca", 340002, NULL, 0) == PJ_OK,
	   "a base and one journal record");
	n_a = lock_bytes(dir, after_a, sizeof(after_a));
	ok(add_user(dir, true, "recb", 340003, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       view_user_by_name(&v, "reca", &ua) && view_user_by_name(&v, "recb", &ub) && ua.level == 1 &&
	       ub.level == 2,
	   "a second record");
	ok(userstore_known_durable(dir, &v, 0) && userstore_known_durable(dir, &v, ua.level) &&
	       userstore_known_durable(dir, &v, ub.level),
	   "after their commits the mark covers the base and both records");
	/* the mark as it was before recb's writer synced: recb is visible but not known durable */
	lock_put_bytes(dir, after_a, n_a);
	ok(n_a > 0 && userstore_known_durable(dir, &v, ua.level) &&
	       !userstore_known_durable(dir, &v, ub.level),
	   "a record appended but not yet synced by its writer is not known durable; the one before it is");
	ok(userstore_durable(dir, &v, ub.level, &err) == PJ_OK && userstore_known_durable(dir, &v, ub.level),
	   "a reader relying on it syncs the journal itself, and marks it");
	/* a mark lost (a crash before its page reached the disk) or torn: nothing is known durable */
	lock_put_bytes(dir, (const unsigned char *)"", 0);
	ok(!userstore_known_durable(dir, &v, 0) && !userstore_known_durable(dir, &v, ua.level),
	   "no mark: nothing known durable");
	ok(userstore_durable(dir, &v, 0, &err) == PJ_OK, "an entry of the base: the directory is synced");
	n = lock_bytes(dir, flipped, sizeof(flipped));
	ok(n > 0 && userstore_known_durable(dir, &v, ub.level), "the reader's sync wrote the mark again");
	flipped[n - 1] ^= 1;
	lock_put_bytes(dir, flipped, n);
	ok(!userstore_known_durable(dir, &v, ub.level), "a torn mark counts as none");
	/* a fold: the old view's records are in the new base, which the folder synced */
	ok(add_user(dir, false, "fold1", 340004, NULL, 0) == PJ_OK && userstore_known_durable(dir, &v, 0) &&
	       userstore_known_durable(dir, &v, ub.level),
	   "after a fold the mark's newer generation covers every record of the old view");
	view_close(&v);
	ok(add_user(dir, true, "recc", 340005, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       view_user_by_name(&v, "recc", &ua) && ua.level == 1 && userstore_known_durable(dir, &v, 1),
	   "the first record of the new journal is marked");
	view_close(&v);
}

/* The mark names the journal's inode: a journal made again for the same base (the old one's header damaged,
 * so the next writer starts a new one, renamed over it) begins again at its header, and a mark of the old one
 * covers nothing of it, however far it reaches. */
static void test_durable_new_journal(void)
{
	const char *dir = path_in("durable2");
	unsigned char old_mark[64];
	struct pj_user_ref u;
	struct pj_view v;
	size_t n_old;
	int fd;

	ok(add_user(dir, false, "nbase", 341001, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "nrec1", 341002, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "nrec2", 341003, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "nrec3", 341004, NULL, 0) == PJ_OK,
	   "a base and three journal records");
	n_old = lock_bytes(dir, old_mark, sizeof(old_mark));
	fd = open(path_in("durable2/users.journal"), O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 0) == 1 && close(fd) == 0 &&
	       add_user(dir, true, "nrec4", 341005, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "nrec5", 341006, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       view_user_by_name(&v, "nrec5", &u) && u.level == 2 &&
	       userstore_known_durable(dir, &v, u.level),
	   "the journal's header damaged: the next writers start a new one for the same base, marked");
	lock_put_bytes(dir, old_mark, n_old);
	ok(n_old > 0 && !userstore_known_durable(dir, &v, u.level),
	   "the old journal's mark, which reaches further, covers nothing of the new one");
	view_close(&v);
}

/* A record names its journal's generation again: one of another generation (never written so by a writer)
 * ends the valid records, as a torn one does. */
static void test_record_generation(void)
{
	const char *dir = path_in("recgen");
	const off_t first = sizeof(struct pj_journal_header);
	struct pj_journal_record rec = {0};
	struct pj_view v;
	off_t second;
	bool patched;
	int fd;

	ok(add_user(dir, false, "gbase", 342001, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "grec1", 342002, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "grec2", 342003, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       v.n_deltas == 2,
	   "a base and two journal records");
	view_close(&v);
	fd = open(path_in("recgen/users.journal"), O_RDWR);
	patched = fd >= 0 && pread(fd, &rec, sizeof(rec), first) == (ssize_t)sizeof(rec);
	second = first + (off_t)sizeof(rec) + rec.size;
	patched = patched && pread(fd, &rec, sizeof(rec), second) == (ssize_t)sizeof(rec);
	rec.generation++;
	patched = patched && pwrite(fd, &rec, sizeof(rec), second) == (ssize_t)sizeof(rec);
	if (fd >= 0)
		close(fd);
	ok(patched && view_open(dir, &v) == 0 && v.n_deltas == 1 && has_user(dir, "grec1") &&
	       !has_user(dir, "grec2"),
	   "a record of another generation: readers stop before it");
	view_close(&v);
}

/* A journal newer than its base (a reader that opened the base just before a fold, then the fold's new
 * journal) is never read against the old base, nor ignored (its records would be missing from the answers):
 * the view is opened again, and a base that stays older fails to open. */
static void test_newer_journal(void)
{
	const char *dir = path_in("newgen");
	struct pj_view v;

	ok(add_user(dir, false, "ng1", 343001, NULL, 0) == PJ_OK, "a base of generation 1");
	tk_copy_file(path_in("newgen/users.db"), path_in("newgen/users.db.gen1"), 0644);
	ok(add_user(dir, false, "ng2", 343002, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "ng3", 343003, NULL, 0) == PJ_OK,
	   "a fold (generation 2) and a record in its journal");
	ok(rename(path_in("newgen/users.db.gen1"), path_in("newgen/users.db")) == 0 &&
	       view_open(dir, &v) == -EAGAIN,
	   "the generation 1 base put back under that journal: the view does not open");
}

/* A store started afresh (users.db moved away, as the refusal of a damaged store advises) counts its
 * generations on past the old store's mark and journal: the old mark covers none of the new journal's
 * records, and the old journal never passes for one newer than the new base. */
static void test_fresh_store(void)
{
	const char *dir = path_in("fresh");
	unsigned char old_mark[64];
	struct pj_user_ref u = {0};
	struct pj_view v;
	uint32_t old_gen = 0, gen = 0;
	size_t n_old;

	ok(add_user(dir, false, "fr1", 344001, NULL, 0) == PJ_OK &&
	       add_user(dir, false, "fr2", 344002, NULL, 0) == PJ_OK &&
	       add_user(dir, true, "fr3", 344003, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       (old_gen = v.base.hdr->generation) == 2 && v.n_deltas == 1,
	   "a store of generation 2 with a journal record");
	view_close(&v);
	n_old = lock_bytes(dir, old_mark, sizeof(old_mark));
	if (rename(path_in("fresh/users.db"), path_in("fresh/users.db.moved")) == 0 &&
	    add_user(dir, true, "fr4", 344004, NULL, 0) == PJ_OK && view_open(dir, &v) == 0) {
		gen = v.n_deltas == 0 && has_user(dir, "fr4") && !has_user(dir, "fr3")
		          ? v.base.hdr->generation
		          : 0;
		view_close(&v);
	}
	ok(gen > old_gen,
	   "users.db moved away: the new store's first base is of generation %u, past the old %u", gen,
	   old_gen);
	ok(add_user(dir, true, "fr5", 344005, NULL, 0) == PJ_OK && view_open(dir, &v) == 0 &&
	       view_user_by_name(&v, "fr5", &u) && u.level == 1,
	   "a record in the new store's journal");
	lock_put_bytes(dir, old_mark, n_old);
	ok(n_old > 0 && !userstore_known_durable(dir, &v, u.level),
	   "the old store's mark covers nothing of it");
	view_close(&v);
}

int main(void)
{
	if (geteuid() != 0)
		tap_skip_all("the store must be root-owned: run as root");
	if (mkdtemp(tmpdir) == NULL)
		tap_skip_all("mkdtemp failed");
	test_append();
	test_torn_tail();
	test_fold();
	test_durable();
	test_durable_new_journal();
	test_record_generation();
	test_newer_journal();
	test_fresh_store();
	test_race();
	test_kill();
	test_full_fs();
	return tap_done();
}
