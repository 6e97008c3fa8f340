/* nss-tool.c: test helper for test_nss.sh: records logins, runs pam-jwt user, calls libnss_jwt directly. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli_user.h"
#include "pam_jwt/config_file.h"
#include "pam_jwt/identity.h"
#include "pam_jwt/mapping.h"
#include "store/idmap.h"
#include "store/store_format.h"

typedef enum nss_status (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*pwuid_fn)(uid_t, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grnam_fn)(const char *, struct group *, char *, size_t, int *);
typedef enum nss_status (*grgid_fn)(gid_t, struct group *, char *, size_t, int *);
typedef enum nss_status (*set_fn)(int);
typedef enum nss_status (*end_fn)(void);
typedef enum nss_status (*pwent_fn)(struct passwd *, char *, size_t, int *);
typedef enum nss_status (*grent_fn)(struct group *, char *, size_t, int *);
typedef enum nss_status (*initgroups_fn)(const char *, gid_t, long int *, long int *, gid_t **, long int,
                                         int *);

static struct {
	pwnam_fn getpwnam;
	pwuid_fn getpwuid;
	grnam_fn getgrnam;
	grgid_fn getgrgid;
	set_fn setpwent, setgrent;
	end_fn endpwent, endgrent;
	pwent_fn getpwent;
	grent_fn getgrent;
	initgroups_fn initgroups;
} nss;

static int usage(void)
{
	fprintf(stderr, "usage: nss-tool login CONF ISS CLAIMS | cli CONF user ACTION... |\n"
	                "       call MODULE FUNC ARG [ARG2] [BUFLEN] | fuzz MODULE DIR N SEED USER GROUP |\n"
	                "       threads MODULE DIR NAME | tamper MODULE DIR NAME | collide CONF PREFIX | "
	                "promise CONF NAME UID |\n"
	                "       hash CONF NAME\n");
	return 2;
}

static struct pj_config *load_config(const char *path)
{
	char text[65536];
	struct pj_config *cfg;
	struct pj_error err;
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	if (config_parse(path, text, n, &cfg, &err) != PJ_OK) {
		fprintf(stderr, "nss-tool: %s\n", err.reason);
		return NULL;
	}
	return cfg;
}

static void to_stderr(void *arg, int priority, const char *message)
{
	(void)arg;
	(void)priority;
	fprintf(stderr, "nss-tool: log: %s\n", message);
}

/* A login as the PAM module records it after pj_verify: username from preferred_username. */
static int cmd_login(const char *conf, const char *iss, const char *claims)
{
	struct pj_log log = {.emit = to_stderr};
	struct pj_config *cfg = load_config(conf);
	struct pj_identity id = {.verified = true};
	struct pj_error err;
	json_object *v;
	int rc = 1;

	if (cfg == NULL || (id.claims = json_tokener_parse(claims)) == NULL)
		return 2;
	id.issuer = config_find_issuer(cfg, iss, strlen(iss));
	id.iss = strdup(iss);
	if (json_object_object_get_ex(id.claims, "sub", &v))
		id.sub = strdup(json_object_get_string(v));
	if (json_object_object_get_ex(id.claims, "preferred_username", &v))
		id.username = strdup(json_object_get_string(v));
	if (id.issuer == NULL)
		fprintf(stderr, "nss-tool: no issuer %s\n", iss);
	else if (identity_groups(id.claims, id.issuer, &id.groups, &id.n_groups, &err) != PJ_OK ||
	         mapping_record_login(cfg, &id, time(NULL), &log, &err) != PJ_OK)
		fprintf(stderr, "nss-tool: login refused: %s\n", err.reason);
	else
		rc = 0;
	free(id.iss);
	free(id.sub);
	free(id.username);
	identity_groups_free(id.groups);
	json_object_put(id.claims);
	config_free(cfg);
	return rc;
}

static int load_module(const char *path)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL) {
		fprintf(stderr, "nss-tool: %s\n", dlerror());
		return -1;
	}
	nss.getpwnam = (pwnam_fn)dlsym(h, "_nss_jwt_getpwnam_r");
	nss.getpwuid = (pwuid_fn)dlsym(h, "_nss_jwt_getpwuid_r");
	nss.getgrnam = (grnam_fn)dlsym(h, "_nss_jwt_getgrnam_r");
	nss.getgrgid = (grgid_fn)dlsym(h, "_nss_jwt_getgrgid_r");
	nss.setpwent = (set_fn)dlsym(h, "_nss_jwt_setpwent");
	nss.setgrent = (set_fn)dlsym(h, "_nss_jwt_setgrent");
	nss.endpwent = (end_fn)dlsym(h, "_nss_jwt_endpwent");
	nss.endgrent = (end_fn)dlsym(h, "_nss_jwt_endgrent");
	nss.getpwent = (pwent_fn)dlsym(h, "_nss_jwt_getpwent_r");
	nss.getgrent = (grent_fn)dlsym(h, "_nss_jwt_getgrent_r");
	nss.initgroups = (initgroups_fn)dlsym(h, "_nss_jwt_initgroups_dyn");
	if (!nss.getpwnam || !nss.getpwuid || !nss.getgrnam || !nss.getgrgid || !nss.setpwent ||
	    !nss.setgrent || !nss.endpwent || !nss.endgrent || !nss.getpwent || !nss.getgrent ||
	    !nss.initgroups) {
		fprintf(stderr, "nss-tool: a _nss_jwt_ function is missing\n");
		return -1;
	}
	return 0;
}

static const char *status_name(enum nss_status s)
{
	switch (s) {
	case NSS_STATUS_SUCCESS: return "SUCCESS";
	case NSS_STATUS_NOTFOUND: return "NOTFOUND";
	case NSS_STATUS_UNAVAIL: return "UNAVAIL";
	case NSS_STATUS_TRYAGAIN: return "TRYAGAIN";
	default: return "OTHER";
	}
}

static const char *errno_name(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOENT: return "ENOENT";
	case ERANGE: return "ERANGE";
	case EPERM: return "EPERM";
	case EINVAL: return "EINVAL";
	default: return "E?";
	}
}

static void print_pw(enum nss_status s, int e, const struct passwd *pw)
{
	printf("%s %s", status_name(s), s == NSS_STATUS_SUCCESS ? "0" : errno_name(e));
	if (s == NSS_STATUS_SUCCESS)
		printf(" %s:%s:%u:%u:%s:%s:%s", pw->pw_name, pw->pw_passwd, pw->pw_uid, pw->pw_gid,
		       pw->pw_gecos, pw->pw_dir, pw->pw_shell);
	printf("\n");
}

static void print_gr(enum nss_status s, int e, const struct group *gr)
{
	printf("%s %s", status_name(s), s == NSS_STATUS_SUCCESS ? "0" : errno_name(e));
	if (s == NSS_STATUS_SUCCESS) {
		printf(" %s:%s:%u:", gr->gr_name, gr->gr_passwd, gr->gr_gid);
		for (char **m = gr->gr_mem; *m != NULL; m++)
			printf("%s%s", m == gr->gr_mem ? "" : ",", *m);
	}
	printf("\n");
}

/* call FUNC ARG [ARG2] [BUFLEN]: one module call, printed as "STATUS ERRNO [entry]". */
static int cmd_call(const char *func, int argc, char **argv)
{
	size_t buflen = 4096;
	struct passwd pw;
	struct group gr;
	char *buf;
	int e = 0;
	enum nss_status s;

	if (argc >= 2 && strcmp(func, "initgroups") != 0)
		buflen = strtoul(argv[1], NULL, 10);
	else if (argc >= 3)
		buflen = strtoul(argv[2], NULL, 10);
	if ((buf = malloc(buflen + 1)) == NULL)
		return 1;
	if (strcmp(func, "getpwnam") == 0 && argc >= 1) {
		s = nss.getpwnam(argv[0], &pw, buf, buflen, &e);
		print_pw(s, e, &pw);
	} else if (strcmp(func, "getpwuid") == 0 && argc >= 1) {
		s = nss.getpwuid((uid_t)strtoul(argv[0], NULL, 10), &pw, buf, buflen, &e);
		print_pw(s, e, &pw);
	} else if (strcmp(func, "getgrnam") == 0 && argc >= 1) {
		s = nss.getgrnam(argv[0], &gr, buf, buflen, &e);
		print_gr(s, e, &gr);
	} else if (strcmp(func, "getgrgid") == 0 && argc >= 1) {
		s = nss.getgrgid((gid_t)strtoul(argv[0], NULL, 10), &gr, buf, buflen, &e);
		print_gr(s, e, &gr);
	} else if (strcmp(func, "getpwent") == 0) {
		/* argv[0]: buffer size for the first entry; then the walk goes on with a big buffer */
		buflen = argc >= 1 ? strtoul(argv[0], NULL, 10) : 4096;
		free(buf);
		buf = malloc(65536);
		nss.setpwent(0);
		s = nss.getpwent(&pw, buf, buflen, &e);
		if (s == NSS_STATUS_TRYAGAIN)
			print_pw(s, e, &pw);
		while (s == NSS_STATUS_SUCCESS || s == NSS_STATUS_TRYAGAIN) {
			if (s == NSS_STATUS_SUCCESS)
				print_pw(s, e, &pw);
			s = nss.getpwent(&pw, buf, 65536, &e);
		}
		print_pw(s, e, &pw);
		nss.endpwent();
	} else if (strcmp(func, "getgrent") == 0) {
		nss.setgrent(0);
		while ((s = nss.getgrent(&gr, buf, buflen, &e)) == NSS_STATUS_SUCCESS)
			print_gr(s, e, &gr);
		print_gr(s, e, &gr);
		nss.endgrent();
	} else if (strcmp(func, "initgroups") == 0 && argc >= 2) {
		/* argv[2] (optional) is the limit */
		long int start = 1, size = 1, limit = argc >= 3 ? strtol(argv[2], NULL, 10) : -1;
		gid_t *groups = malloc(sizeof(gid_t));
		groups[0] = (gid_t)strtoul(argv[1], NULL, 10);
		s = nss.initgroups(argv[0], groups[0], &start, &size, &groups, limit, &e);
		printf("%s %s", status_name(s), s == NSS_STATUS_SUCCESS ? "0" : errno_name(e));
		for (long int i = 0; i < start; i++)
			printf(" %u", groups[i]);
		printf("\n");
		free(groups);
	} else {
		free(buf);
		return usage();
	}
	free(buf);
	return 0;
}

static unsigned char *read_all(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *data;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) != 0 || (data = malloc((size_t)sb.st_size + 1)) == NULL ||
	    read(fd, data, (size_t)sb.st_size) != sb.st_size) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	*len = (size_t)sb.st_size;
	return data;
}

/* Replaces dir/users.db atomically (as the writer does) with len bytes of data. */
static int replace_store(const char *dir, const unsigned char *data, size_t len)
{
	char tmp[4096], path[4096];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.fuzz.tmp", dir);
	snprintf(path, sizeof(path), "%s/users.db", dir);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
	    write(fd, data, len) != (ssize_t)len || close(fd) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

/* Every lookup once on a damaged store: counts answers that are not UNAVAIL. */
static int probe_all(const char *name, uid_t uid, const char *group, gid_t gid)
{
	char buf[4096];
	struct passwd pw;
	struct group gr;
	long int start = 1, size = 1;
	gid_t *groups = malloc(sizeof(gid_t));
	int e, bad = 0;

	groups[0] = gid;
	bad += nss.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	bad += nss.getpwnam("preauth-candidate", &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	bad += nss.getpwuid(uid, &pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	bad += nss.getgrnam(group, &gr, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	bad += nss.getgrgid(gid, &gr, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	bad += nss.initgroups(name, gid, &start, &size, &groups, -1, &e) != NSS_STATUS_UNAVAIL;
	nss.setpwent(0);
	bad += nss.getpwent(&pw, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	nss.endpwent();
	nss.setgrent(0);
	bad += nss.getgrent(&gr, buf, sizeof(buf), &e) != NSS_STATUS_UNAVAIL;
	nss.endgrent();
	free(groups);
	return bad;
}

/* fuzz DIR N SEED: N damaged copies of DIR/users.db (byte flips or truncation), each put in place
 * atomically; every lookup must answer UNAVAIL. The original is put back at the end. */
static int cmd_fuzz(const char *dir, int n, unsigned seed, const char *name, const char *group)
{
	char path[4096], buf[4096];
	unsigned char *orig, *copy;
	struct passwd pw;
	struct group gr;
	size_t len;
	int e, bad = 0, flips = 0, truncs = 0;
	uid_t uid;
	gid_t gid;

	snprintf(path, sizeof(path), "%s/users.db", dir);
	if ((orig = read_all(path, &len)) == NULL || (copy = malloc(len)) == NULL)
		return 2;
	if (nss.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
	    nss.getgrnam(group, &gr, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS) {
		fprintf(stderr, "nss-tool: %s or %s not found before fuzzing\n", name, group);
		return 2;
	}
	uid = pw.pw_uid;
	gid = gr.gr_gid;
	srand(seed);
	for (int i = 0; i < n; i++) {
		size_t l = len;
		memcpy(copy, orig, len);
		if (rand() % 4 == 0) {
			l = (size_t)rand() % len;
			truncs++;
		} else {
			for (int k = 0; k < 1 + rand() % 4; k++)
				copy[(size_t)rand() % len] ^= (unsigned char)(1 + rand() % 255);
			flips++;
		}
		if (replace_store(dir, copy, l) != 0)
			return 2;
		bad += probe_all(name, uid, group, gid);
	}
	free(copy);
	if (replace_store(dir, orig, len) != 0)
		return 2;
	free(orig);
	printf("fuzz: %d damaged stores (%d flipped, %d truncated), %d answers other than UNAVAIL\n", n,
	       flips, truncs, bad);
	return bad == 0 ? 0 : 1;
}

/* threads DIR NAME: 8 threads look NAME up while the main thread replaces the store 200 times. */
struct thread_arg {
	const char *name;
	uid_t uid;
	volatile int *stop;
	long lookups, bad;
};

static void *lookup_loop(void *p)
{
	struct thread_arg *a = p;
	char buf[1024];
	struct passwd pw;
	struct group gr;
	int e;

	while (!*a->stop) {
		if (nss.getpwnam(a->name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
		    pw.pw_uid != a->uid || strcmp(pw.pw_name, a->name) != 0)
			a->bad++;
		if (nss.getgrgid(a->uid, &gr, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS ||
		    strcmp(gr.gr_name, a->name) != 0)
			a->bad++;
		__atomic_add_fetch(&a->lookups, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* The lookups of the threads so far. */
static long lookups_done(const struct thread_arg *args, int n)
{
	long sum = 0;

	for (int i = 0; i < n; i++)
		sum += __atomic_load_n(&args[i].lookups, __ATOMIC_RELAXED);
	return sum;
}

/* ASan's allocator (GCC 12) has no fork handler: a child forked while a thread refills its cache finds the
 * allocator's lock held and hangs in its first malloc, whatever the module does (test_journal hung so).
 * The sanitizer build leaves the forks to the plain build. */
#ifdef __SANITIZE_ADDRESS__
#define FORK_UNDER_THREADS 0
#else
#define FORK_UNDER_THREADS 1
#endif

/* A child forked while the lookup threads run (one may hold the module's lock at that moment) must still
 * be able to look up: 1 when it cannot (it would hang; SIGALRM ends it). */
static int fork_lookup(const char *name)
{
	char buf[1024];
	struct passwd pw;
	int e, status;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(60);
		_exit(nss.getpwnam(name, &pw, buf, sizeof(buf), &e) == NSS_STATUS_SUCCESS ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 1;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static int cmd_threads(const char *dir, const char *name)
{
	struct thread_arg args[8];
	pthread_t th[8];
	volatile int stop = 0;
	char path[4096], buf[1024];
	unsigned char *orig;
	struct passwd pw;
	long lookups = 0, bad = 0;
	int e, forks_bad = 0;
	size_t len;

	snprintf(path, sizeof(path), "%s/users.db", dir);
	if ((orig = read_all(path, &len)) == NULL ||
	    nss.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 2;
	for (int i = 0; i < 8; i++) {
		args[i] = (struct thread_arg){.name = name, .uid = pw.pw_uid, .stop = &stop};
		pthread_create(&th[i], NULL, lookup_loop, &args[i]);
	}
	for (int i = 0; i < 200; i++) {
		/* each replacement waits for a lookup after the one before: lookups and replacements
		 * interleave however the threads are scheduled (without it, a sanitizer build once ran all
		 * 200 first) */
		for (long seen = lookups_done(args, 8); lookups_done(args, 8) == seen;)
			sched_yield();
		if (replace_store(dir, orig, len) != 0)
			return 2;
		if (i % 4 == 0 && forks_bad == 0 && FORK_UNDER_THREADS) /* a hung child costs the alarm */
			forks_bad += fork_lookup(name);
	}
	stop = 1;
	free(orig);
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		lookups += args[i].lookups;
		bad += args[i].bad;
	}
	printf("threads: %ld lookups during 200 replacements, %ld wrong; %s\n", lookups, bad,
	       FORK_UNDER_THREADS
	           ? (forks_bad ? "a forked child failed" : "50 forked children looked up")
	           : "no forks (sanitizer build: ASan's allocator hangs a child forked under threads)");
	return bad == 0 && lookups > 0 && forks_bad == 0 ? 0 : 1;
}

/* Offset in data of the uid of the stored user called name, or 0 when there is none. */
static size_t uid_offset(const unsigned char *data, size_t len, const char *name)
{
	const struct pj_store_header *h = (const void *)data;

	if (len < sizeof(*h))
		return 0;
	for (uint32_t i = 0; i < h->n_users; i++) {
		size_t at = h->users_off + (size_t)i * sizeof(struct pj_store_user);
		const struct pj_store_user *u = (const void *)(data + at);
		if (strcmp((const char *)data + h->strings_off + u->name, name) == 0)
			return at + offsetof(struct pj_store_user, uid);
	}
	return 0;
}

/* tamper DIR NAME: a process that has looked NAME up keeps its mapping while the file is unchanged, so a
 * store made world-writable, or written in place (NAME's uid set to 0, the times put back as they were),
 * must be seen at the next lookup: answered UNAVAIL, never with the old trust or the new uid. Prints one
 * line per step; the original store is put back. */
static int cmd_tamper(const char *dir, const char *name)
{
	char path[4096], buf[4096];
	struct timespec times[2];
	unsigned char *orig;
	struct passwd pw;
	struct stat sb;
	uint32_t zero = 0;
	size_t len, at;
	int e, fd, bad = 0;
	enum nss_status s;

	snprintf(path, sizeof(path), "%s/users.db", dir);
	if ((orig = read_all(path, &len)) == NULL || (at = uid_offset(orig, len, name)) == 0 ||
	    nss.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 2;
	chmod(path, 0646);
	s = nss.getpwnam(name, &pw, buf, sizeof(buf), &e);
	printf("world-writable: %s\n", status_name(s));
	bad += s != NSS_STATUS_UNAVAIL;
	chmod(path, 0644);
	/* an enumeration holds its own mapping from setpwent on */
	nss.setpwent(0);
	if (nss.getpwent(&pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS)
		return 2;
	chmod(path, 0646);
	s = nss.getpwent(&pw, buf, sizeof(buf), &e);
	printf("world-writable during getpwent: %s\n", status_name(s));
	bad += s != NSS_STATUS_UNAVAIL;
	nss.endpwent();
	chmod(path, 0644);
	if (nss.getpwnam(name, &pw, buf, sizeof(buf), &e) != NSS_STATUS_SUCCESS || stat(path, &sb) != 0 ||
	    (fd = open(path, O_WRONLY)) < 0)
		return 2;
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	if (pwrite(fd, &zero, sizeof(zero), (off_t)at) != sizeof(zero) || futimens(fd, times) != 0)
		return 2;
	close(fd);
	s = nss.getpwnam(name, &pw, buf, sizeof(buf), &e);
	printf("written in place: %s%s\n", status_name(s),
	       s == NSS_STATUS_SUCCESS && pw.pw_uid == 0 ? " uid 0" : "");
	bad += s != NSS_STATUS_UNAVAIL;
	if (replace_store(dir, orig, len) != 0)
		return 2;
	free(orig);
	s = nss.getpwnam(name, &pw, buf, sizeof(buf), &e);
	printf("put back: %s\n", status_name(s));
	bad += s != NSS_STATUS_SUCCESS;
	return bad == 0 ? 0 : 1;
}

/* As sshd's monitor: resolves NAME under the process name sshd (a pre-auth answer), then pam-jwt user add
 * NAME --uid UID changes the store, then the account check runs in this same process. Prints the two uids
 * and the account result. */
static int cmd_promise(const char *conf, const char *name, const char *uid)
{
	char *add[] = {"user", "add", (char *)name, "--uid", (char *)uid, NULL};
	static const char *const results[] = {"OK", "EXPIRED", "NOT_OURS", "UID_MISMATCH"};
	struct pj_config *cfg = load_config(conf);
	enum pj_acct a = PJ_ACCT_NOT_OURS;
	struct pj_error err;
	struct passwd *pw;
	unsigned before;

	if (cfg == NULL || prctl(PR_SET_NAME, "sshd", 0, 0, 0) != 0 || (pw = getpwnam(name)) == NULL)
		return 2;
	before = pw->pw_uid;
	if (cli_user_main(cfg, 5, add) != 0 || mapping_acct_check(cfg, name, time(NULL), &a, &err) != PJ_OK)
		return 2;
	printf("%u %s\n", before, results[a]);
	config_free(cfg);
	return 0;
}

/* Two names PREFIXi and PREFIXk whose first candidate uid under CONF's range and id_salt is the same, as an
 * attacker who knows the salt would pick them (a birthday search): prints "NAME1 NAME2 UID". */
#define COLLIDE_SLOTS (1u << 21)
static int cmd_collide(const char *conf, const char *prefix)
{
	struct pj_config *cfg = load_config(conf);
	uint32_t *seen;
	int rc = 1;

	if (cfg == NULL || (seen = calloc(COLLIDE_SLOTS, sizeof(*seen))) == NULL)
		return 2;
	for (uint32_t i = 1; i < COLLIDE_SLOTS / 2; i++) { /* seen[] holds i + 1 of the name at its slot */
		char name[64];
		snprintf(name, sizeof(name), "%s%u", prefix, i);
		uint32_t c = idmap_candidate(cfg->id_salt, name, cfg->uid_min, cfg->uid_max, 0), slot;
		for (slot = (c * 2654435761u) % COLLIDE_SLOTS; seen[slot] != 0;
		     slot = (slot + 1) % COLLIDE_SLOTS) {
			char other[64];
			snprintf(other, sizeof(other), "%s%u", prefix, seen[slot] - 1);
			if (idmap_candidate(cfg->id_salt, other, cfg->uid_min, cfg->uid_max, 0) == c) {
				printf("%s %s %u\n", other, name, c);
				rc = 0;
				goto out;
			}
		}
		seen[slot] = i + 1;
	}
out:
	free(seen);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct pj_config *cfg;
	int rc;

	if (argc >= 5 && strcmp(argv[1], "login") == 0)
		return cmd_login(argv[2], argv[3], argv[4]);
	if (argc >= 4 && strcmp(argv[1], "cli") == 0) {
		if ((cfg = load_config(argv[2])) == NULL)
			return 2;
		rc = cli_user_main(cfg, argc - 3, argv + 3);
		config_free(cfg);
		return rc;
	}
	if (argc == 5 && strcmp(argv[1], "promise") == 0)
		return cmd_promise(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "collide") == 0)
		return cmd_collide(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "hash") == 0) { /* NAME's first candidate id under CONF */
		if ((cfg = load_config(argv[2])) == NULL)
			return 2;
		printf("%u\n", idmap_candidate(cfg->id_salt, argv[3], cfg->uid_min, cfg->uid_max, 0));
		config_free(cfg);
		return 0;
	}
	if (argc >= 4 && load_module(argv[2]) != 0)
		return 2;
	if (argc >= 4 && strcmp(argv[1], "call") == 0)
		return cmd_call(argv[3], argc - 4, argv + 4);
	if (argc == 8 && strcmp(argv[1], "fuzz") == 0)
		return cmd_fuzz(argv[3], atoi(argv[4]), (unsigned)atoi(argv[5]), argv[6], argv[7]);
	if (argc == 5 && strcmp(argv[1], "threads") == 0)
		return cmd_threads(argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "tamper") == 0)
		return cmd_tamper(argv[3], argv[4]);
	return usage();
}
