/* test_trusted_file.c: trusted_file_read, trusted_dir_check and atomic_write_file against real files (as
 * root). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "pam_jwt/trusted_file.h"

static char dir[] = "/tmp/test_trusted_file.XXXXXX";

/* dir/name in a static buffer (one at a time is enough here). */
static const char *p(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

static void make_file(const char *path, const char *content, mode_t mode, uid_t uid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t)strlen(content) || close(fd) != 0 ||
	    chmod(path, mode) != 0 || chown(path, uid, 0) != 0) {
		printf("Bail out! cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void make_dir(const char *path, mode_t mode, uid_t uid)
{
	if (mkdir(path, 0700) != 0 || chmod(path, mode) != 0 || chown(path, uid, 0) != 0) {
		printf("Bail out! cannot create %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* Reads path, expecting a refusal with status and a reason containing path and what. */
static void refused(const char *path, size_t max, pj_status status, const char *what, const char *desc)
{
	struct pj_error err;
	char *data = (char *)"untouched";
	size_t len = 99;
	pj_status r;

	pj_error_clear(&err);
	r = trusted_file_read(path, max, &data, &len, &err);
	ok(r == status && err.status == status, "%s: refused (status %d)", desc, r);
	ok(strstr(err.reason, path) != NULL && strstr(err.reason, what) != NULL, "%s: reason \"%s\"", desc,
	   err.reason);
	ok(data == NULL && len == 0, "%s: no data returned", desc);
}

static void dir_refused(const char *path, const char *what, const char *desc)
{
	struct pj_error err;

	pj_error_clear(&err);
	ok(trusted_dir_check(path, &err) == PJ_ERR_CONFIG, "%s: refused", desc);
	ok(strstr(err.reason, path) != NULL && strstr(err.reason, what) != NULL, "%s: reason \"%s\"", desc,
	   err.reason);
}

/* Counts entries of d whose name contains ".tmp.". */
static int count_temps(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	int n = 0;

	if (dh == NULL)
		return -1;
	while ((de = readdir(dh)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(dh);
	return n;
}

static void test_read(void)
{
	struct pj_error err;
	char *data = NULL, big[2049];
	size_t len = 0;

	make_file(p("good"), "hello\n", 0644, 0);
	pj_error_clear(&err);
	ok(trusted_file_read(p("good"), 1024, &data, &len, &err) == PJ_OK, "root-owned 0644 file is read");
	ok(data != NULL && len == 6 && memcmp(data, "hello\n", 6) == 0 && data[6] == '\0',
	   "content and length right, NUL-terminated");
	free(data);

	make_file(p("ro"), "x", 0400, 0);
	ok(trusted_file_read(p("ro"), 1024, &data, &len, &err) == PJ_OK, "root-owned 0400 file is read");
	free(data);

	make_file(p("empty"), "", 0644, 0);
	ok(trusted_file_read(p("empty"), 1024, &data, &len, &err) == PJ_OK && len == 0 && data[0] == '\0',
	   "empty file is read as empty");
	free(data);

	make_file(p("exact"), "0123456789", 0644, 0);
	ok(trusted_file_read(p("exact"), 10, &data, &len, &err) == PJ_OK && len == 10,
	   "file of exactly max_size is read");
	free(data);
	refused(p("exact"), 9, PJ_ERR_CONFIG, "larger than 9 bytes", "file one byte over max_size");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	make_file(p("big"), big, 0644, 0);
	refused(p("big"), 1024, PJ_ERR_CONFIG, "larger than 1024 bytes", "oversize file");

	make_file(p("gw"), "x", 0664, 0);
	refused(p("gw"), 1024, PJ_ERR_CONFIG, "writable by group or others (mode 0664)",
	        "group-writable 0664");
	make_file(p("ow"), "x", 0646, 0);
	refused(p("ow"), 1024, PJ_ERR_CONFIG, "writable by group or others (mode 0646)",
	        "other-writable 0646");
	make_file(p("user"), "x", 0644, 1000);
	refused(p("user"), 1024, PJ_ERR_CONFIG, "not owned by root (uid 1000)", "owned by uid 1000");

	if (symlink(p("good"), p("link")) != 0)
		printf("Bail out! symlink: %s\n", strerror(errno));
	refused(p("link"), 1024, PJ_ERR_CONFIG, "is a symbolic link", "symlink to a good file");

	make_dir(p("adir"), 0755, 0);
	refused(p("adir"), 1024, PJ_ERR_CONFIG, "is not a regular file", "directory");

	if (mkfifo(p("fifo"), 0644) != 0)
		printf("Bail out! mkfifo: %s\n", strerror(errno));
	/* Without O_NONBLOCK at open this would hang (the alarm in main turns that into a failure). */
	refused(p("fifo"), 1024, PJ_ERR_CONFIG, "is not a regular file", "fifo, without blocking");

	refused(p("missing"), 1024, PJ_ERR_CONFIG, "cannot be opened: No such file or directory",
	        "missing file");

	ok(trusted_file_check_fd(-1, "bad-fd", &err) == PJ_ERR_SYSTEM, "check_fd on a bad descriptor fails");
}

static void test_dir(void)
{
	struct pj_error err;

	make_dir(p("d_ok"), 0755, 0);
	pj_error_clear(&err);
	ok(trusted_dir_check(p("d_ok"), &err) == PJ_OK, "root-owned 0755 directory is trusted");
	make_dir(p("d_700"), 0700, 0);
	ok(trusted_dir_check(p("d_700"), &err) == PJ_OK, "root-owned 0700 directory is trusted");
	make_dir(p("d_gw"), 0775, 0);
	dir_refused(p("d_gw"), "writable by group or others (mode 0775)", "group-writable directory");
	make_dir(p("d_ow"), 0757, 0);
	dir_refused(p("d_ow"), "writable by group or others (mode 0757)", "other-writable directory");
	make_dir(p("d_tmp"), 01777, 0);
	dir_refused(p("d_tmp"), "writable by group or others (mode 1777)", "sticky world-writable directory");
	make_dir(p("d_user"), 0755, 1000);
	dir_refused(p("d_user"), "not owned by root (uid 1000)", "directory owned by uid 1000");
	if (symlink(p("d_ok"), p("d_link")) != 0)
		printf("Bail out! symlink: %s\n", strerror(errno));
	dir_refused(p("d_link"), "is a symbolic link", "symlink to a good directory");
	dir_refused(p("good"), "is not a directory", "regular file");
	dir_refused(p("fifo"), "is not a directory", "fifo, without blocking");
	dir_refused(p("d_missing"), "cannot be opened: No such file or directory", "missing directory");
}

static void test_dir_make(void)
{
	struct pj_error err;
	struct stat st;
	mode_t old_mask = umask(077);

	pj_error_clear(&err);
	ok(trusted_dir_make(p("m_new"), &err) == PJ_OK && stat(p("m_new"), &st) == 0 && S_ISDIR(st.st_mode) &&
	       (st.st_mode & 07777) == 0755,
	   "trusted_dir_make creates a 0755 directory despite umask 077");
	umask(old_mask);
	ok(trusted_dir_make(p("m_new"), &err) == PJ_OK, "and takes it as it is the next time");
	make_dir(p("m_700"), 0700, 0);
	ok(trusted_dir_make(p("m_700"), &err) == PJ_OK && stat(p("m_700"), &st) == 0 &&
	       (st.st_mode & 07777) == 0700,
	   "an existing directory's mode is left alone");
	make_dir(p("m_gw"), 0775, 0);
	ok(trusted_dir_make(p("m_gw"), &err) == PJ_ERR_CONFIG &&
	       strstr(err.reason, "writable by group or others") != NULL,
	   "an existing group-writable directory is refused: %s", err.reason);
	ok(trusted_dir_make(p("m_none/sub"), &err) == PJ_ERR_SYSTEM &&
	       strstr(err.reason, "cannot create") != NULL && access(p("m_none"), F_OK) != 0,
	   "a missing parent is an error, and is not created");
}

static void test_atomic_write(void)
{
	struct pj_error err;
	struct stat st;
	char *data = NULL;
	size_t len = 0;

	make_dir(p("w"), 0755, 0);
	umask(077);
	pj_error_clear(&err);
	ok(atomic_write_file(p("w/f"), "first", 5, 0644, &err) == PJ_OK, "atomic_write_file creates a file");
	ok(stat(p("w/f"), &st) == 0 && (st.st_mode & 07777) == 0644 && S_ISREG(st.st_mode),
	   "file has the requested mode 0644 despite umask 077");
	ok(trusted_file_read(p("w/f"), 100, &data, &len, &err) == PJ_OK && len == 5 &&
	       memcmp(data, "first", 5) == 0,
	   "content written and trusted");
	free(data);

	ok(atomic_write_file(p("w/f"), "second!", 7, 0600, &err) == PJ_OK,
	   "atomic_write_file replaces a file");
	ok(trusted_file_read(p("w/f"), 100, &data, &len, &err) == PJ_OK && len == 7 &&
	       memcmp(data, "second!", 7) == 0,
	   "old content fully replaced");
	free(data);
	ok(stat(p("w/f"), &st) == 0 && (st.st_mode & 07777) == 0600, "replacement has the new mode 0600");

	ok(atomic_write_file(p("w/empty"), "", 0, 0644, &err) == PJ_OK && stat(p("w/empty"), &st) == 0 &&
	       st.st_size == 0,
	   "empty content writes an empty file");
	ok(count_temps(p("w")) == 0, "no temp file left after successful writes");

	pj_error_clear(&err);
	ok(atomic_write_file(p("nodir/f"), "x", 1, 0644, &err) == PJ_ERR_SYSTEM,
	   "refused when the target directory does not exist");
	ok(strstr(err.reason, p("nodir/f")) != NULL, "reason names the path: \"%s\"", err.reason);
	ok(access(p("nodir"), F_OK) != 0, "directory not created");

	/* rename over a non-empty directory fails after the temp file was written: it must be removed. */
	make_dir(p("w/sub"), 0755, 0);
	make_file(p("w/sub/keep"), "x", 0644, 0);
	pj_error_clear(&err);
	ok(atomic_write_file(p("w/sub"), "x", 1, 0644, &err) == PJ_ERR_SYSTEM, "rename failure is reported");
	ok(count_temps(p("w")) == 0, "temp file removed after a failed rename");

	/* A symlink at the target is replaced, not followed. */
	make_file(p("victim"), "victim", 0644, 0);
	if (symlink(p("victim"), p("w/ln")) != 0)
		printf("Bail out! symlink: %s\n", strerror(errno));
	ok(atomic_write_file(p("w/ln"), "new", 3, 0644, &err) == PJ_OK && lstat(p("w/ln"), &st) == 0 &&
	       S_ISREG(st.st_mode),
	   "a symlink at the target is replaced by a regular file");
	ok(trusted_file_read(p("victim"), 100, &data, &len, &err) == PJ_OK && len == 6,
	   "symlink target untouched");
	free(data);
	umask(022);
}

int main(void)
{
	char cmd[600];

	if (geteuid() != 0)
		tap_skip_all("needs root (chown and root-owned files)");
	/* A guard against a hang (FIFO), not a timed assertion. */
	alarm(120);
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_read();
	test_dir();
	test_dir_make();
	test_atomic_write();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done();
}
