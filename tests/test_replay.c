/* test_replay.c: the jti seen-set (replay.c): once per host, shared by processes, full table, crashes. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pam_jwt/replay.h"
#include "tap.h"
#include "testkit.h"

#define ISS   "https://idp.example.com"
#define NOW   1700000000
#define SMALL PJ_REPLAY_WINDOW /* a table that is one window: fills up after PJ_REPLAY_WINDOW tokens */

static char dir[] = "/tmp/pj_replay_XXXXXX";

static pj_status seen(const char *sub, const char *jti, int64_t until, time_t now, enum pj_replay_mode m,
                      struct pj_error *err)
{
	char *d = tk_strf("%s/%s", dir, sub);
	pj_status r = replay_check_token(d, strcmp(sub, "small") == 0 ? SMALL : PJ_REPLAY_SLOTS, ISS,
	                                 strlen(ISS), jti, strlen(jti), until, now, m, err);

	free(d);
	return r;
}

static pj_status record(const char *sub, const char *jti, struct pj_error *err)
{
	return seen(sub, jti, NOW + 600, NOW, PJ_REPLAY_RECORD, err);
}

static void test_once(void)
{
	struct pj_error err;
	struct stat st;
	char *path = tk_strf("%s/main/%s", dir, PJ_REPLAY_FILE);

	ok(seen("main", "j1", NOW + 600, NOW, PJ_REPLAY_PEEK, &err) == PJ_OK,
	   "peek without a table: not seen");
	ok(stat(path, &st) != 0, "peek creates no table");
	ok(record("main", "j1", &err) == PJ_OK, "a new jti is accepted");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600 && st.st_uid == 0,
	   "the table is root's, 0600");
	ok(record("main", "j1", &err) == PJ_ERR_TOKEN && strstr(err.reason, "already used") != NULL,
	   "the same jti again is refused: %s", err.reason);
	ok(seen("main", "j1", NOW + 600, NOW + 100, PJ_REPLAY_PEEK, &err) == PJ_ERR_TOKEN,
	   "peek sees it as used");
	ok(seen("main", "j2", NOW + 600, NOW, PJ_REPLAY_PEEK, &err) == PJ_OK &&
	       record("main", "j2", &err) == PJ_OK,
	   "peek does not record: j2 is still new afterwards");
	ok(replay_check_token(tk_path(dir, "main"), PJ_REPLAY_SLOTS, "https://other", 13, "j1", 2, NOW + 600,
	                      NOW, PJ_REPLAY_RECORD, &err) == PJ_OK,
	   "the same jti from another issuer is another token");
	ok(seen("main", "j1", NOW + 600, NOW + 601, PJ_REPLAY_RECORD, &err) == PJ_OK,
	   "after its time has passed the slot is free again (the token itself is expired by then)");
	free(path);
}

static void test_full(void)
{
	struct pj_error err;
	char jti[32];
	int good = 0;

	for (unsigned i = 0; i < SMALL; i++) {
		snprintf(jti, sizeof(jti), "full-%u", i);
		good += seen("small", jti, NOW + 600 + i, NOW, PJ_REPLAY_RECORD, &err) == PJ_OK;
	}
	ok(good == SMALL, "%u tokens fill a table of %u slots", good, SMALL);
	ok(seen("small", "one-more", NOW + 600, NOW, PJ_REPLAY_RECORD, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "replay table full") != NULL,
	   "a full table refuses a new token rather than forget one: %s", err.reason);
	ok(seen("small", "full-0", NOW + 600, NOW, PJ_REPLAY_RECORD, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "already used") != NULL,
	   "a full table still refuses a seen token as used");
	ok(seen("small", "one-more", NOW + 900, NOW + 600, PJ_REPLAY_RECORD, &err) == PJ_OK,
	   "once a token's time has passed, its slot takes a new one");
	ok(seen("small", "another", NOW + 900, NOW + 600, PJ_REPLAY_RECORD, &err) == PJ_ERR_TOKEN,
	   "only as many as expired");
}

static void test_trust(void)
{
	struct pj_error err;
	char *path = tk_strf("%s/main/%s", dir, PJ_REPLAY_FILE);
	char *link_dir = tk_strf("%s/link", dir), *link_path = tk_strf("%s/link/%s", dir, PJ_REPLAY_FILE);
	char *open_dir = tk_strf("%s/open", dir);
	int fd;

	chmod(path, 0644);
	ok(record("main", "t1", &err) == PJ_ERR_CONFIG && strstr(err.reason, "0600") != NULL,
	   "a table readable by others is refused: %s", err.reason);
	chmod(path, 0600);
	fd = open(path, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 0) == 1, "damage the header");
	close(fd);
	ok(record("main", "t1", &err) == PJ_ERR_CONFIG && strstr(err.reason, "not a replay table") != NULL,
	   "a damaged table is refused, not rebuilt: %s", err.reason);
	ok(record("open", "t1", &err) == PJ_OK, "a table in a directory of its own");
	chmod(open_dir, 0775);
	ok(record("open", "t2", &err) == PJ_ERR_CONFIG && strstr(err.reason, open_dir) != NULL,
	   "once its directory is writable by its group, the table is refused: %s", err.reason);
	chmod(open_dir, 0755);
	ok(record("open", "t1", &err) == PJ_ERR_TOKEN, "and used again when it is not");
	mkdir(link_dir, 0755);
	ok(symlink(path, link_path) == 0, "a symlink in place of the table");
	ok(record("link", "t1", &err) == PJ_ERR_CONFIG, "a symlinked table is refused: %s", err.reason);
	free(path);
	free(link_dir);
	free(link_path);
	free(open_dir);
}

/* N processes record the same jti at once: exactly one gets it. */
static void test_parallel(void)
{
	enum { N = 32 };
	pid_t pids[N];
	int wins = 0, fails = 0, status;

	for (int i = 0; i < N; i++) {
		if ((pids[i] = fork()) == 0) {
			struct pj_error err;
			_exit(record("par", "shared", &err) == PJ_OK ? 0 : 1);
		}
	}
	for (int i = 0; i < N; i++) {
		if (waitpid(pids[i], &status, 0) != pids[i] || !WIFEXITED(status))
			fails++;
		else if (WEXITSTATUS(status) == 0)
			wins++;
	}
	ok(wins == 1 && fails == 0, "%d processes, one token: %d accepted (want 1)", N, wins);
}

/* A process killed while it holds the lock leaves no lock behind; one killed after recording leaves the
 * token used (it may not come through twice). */
static void test_crash(void)
{
	struct pj_error err;
	int pipefd[2], status;
	char *path = tk_strf("%s/crash/%s", dir, PJ_REPLAY_FILE);
	pid_t pid;
	char c;

	ok(record("crash", "first", &err) == PJ_OK, "table made");
	if (pipe(pipefd) != 0)
		exit(1);
	if ((pid = fork()) == 0) {
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
		int fd = open(path, O_RDWR);

		/* the whole file, as a login in the middle of its write holds part of it */
		if (fd < 0 || fcntl(fd, F_OFD_SETLKW, &fl) != 0)
			_exit(1);
		if (write(pipefd[1], "L", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pipefd[1]);
	ok(read(pipefd[0], &c, 1) == 1, "a child holds the table's lock");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	ok(WIFSIGNALED(status) && record("crash", "after-kill", &err) == PJ_OK,
	   "after SIGKILL of the lock holder a login goes through");
	if ((pid = fork()) == 0) {
		struct pj_error e;
		if (record("crash", "killed-login", &e) == PJ_OK)
			raise(SIGKILL); /* dies between recording and answering PAM */
		_exit(1);
	}
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	   "a login killed right after recording its jti");
	ok(record("crash", "killed-login", &err) == PJ_ERR_TOKEN, "its token cannot come through afterwards");
	free(path);
}

int main(void)
{
	char cmd[128];

	if (geteuid() != 0) {
		printf("1..0 # SKIP needs root (the table must be root-owned)\n");
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	chmod(dir, 0755);
	test_once();
	test_full();
	test_trust();
	test_parallel();
	test_crash();
	printf("1..%d\n", tap_count);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_failures ? 1 : 0;
}
