/* askpass_dpop.c: pam-jwt-askpass's host guard and DPoP answers (signing is left to `pam-jwt dpop proof`). */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <signal.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "askpass_dpop.h"
#include "cli_common.h"

#define PATTERNS_MAX 8192
#define PROOF_MAX    8192

void askpass_die(const char *fmt, ...)
{
	va_list ap;

	fputs("pam-jwt-askpass: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(CLI_EXIT_REFUSED);
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

bool askpass_peer(const char *prompt, struct askpass_peer *peer)
{
	const char *at, *end;

	memset(peer, 0, sizeof(*peer));
	if (prompt[0] != '(') {
		if (gethostname(peer->host, sizeof(peer->host)) != 0)
			snprintf(peer->host, sizeof(peer->host), "localhost");
		peer->host[sizeof(peer->host) - 1] = '\0';
		return true;
	}
	/* OpenSSH's own prefix comes first: "(" user "@" host ") ". What the server wrote follows it. */
	if ((end = strstr(prompt, ") ")) == NULL)
		return false;
	for (at = end; at > prompt && *at != '@'; at--)
		;
	if (*at != '@' || end - at - 1 <= 0 || (size_t)(end - at - 1) >= sizeof(peer->host))
		return false;
	for (const char *c = at + 1; c < end; c++)
		if (!host_char(*c))
			return false;
	peer->remote = true;
	memcpy(peer->host, at + 1, (size_t)(end - at - 1));
	return true;
}

/* The user's patterns: PAM_JWT_HOSTS, else the hosts file (one per line). Into buf, space-separated. */
static void host_patterns(char *buf, size_t len)
{
	const char *v = getenv("PAM_JWT_HOSTS"), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	char path[4096], line[1024];
	struct passwd *pw;
	size_t used = 0;
	FILE *f;

	buf[0] = '\0';
	if (v != NULL) {
		snprintf(buf, len, "%s", v);
		return;
	}
	if (home == NULL && (pw = getpwuid(getuid())) != NULL)
		home = pw->pw_dir;
	if (xdg != NULL && xdg[0] == '/')
		snprintf(path, sizeof(path), "%s/pam_jwt/hosts", xdg);
	else if (home != NULL)
		snprintf(path, sizeof(path), "%s/.config/pam_jwt/hosts", home);
	else
		return;
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "#\r\n")] = '\0';
		used += (size_t)snprintf(buf + used, len - used, " %s", line);
		if (used >= len)
			break;
	}
	fclose(f);
}

bool askpass_host_allowed(const struct askpass_peer *peer)
{
	char patterns[PATTERNS_MAX], *save = NULL, *p;

	if (!peer->remote)
		return true;
	host_patterns(patterns, sizeof(patterns));
	for (p = strtok_r(patterns, " \t", &save); p != NULL; p = strtok_r(NULL, " \t", &save))
		if (fnmatch(p, peer->host, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

/* Copies the run of allowed characters at s (up to stop) into out; false when empty or too long. */
static bool take_word(const char *s, char stop, const char *allowed_extra, char *out, size_t outlen)
{
	size_t n = 0;

	for (; s[n] != stop; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr(allowed_extra, c) != NULL) ||
		    c == '\0' || n + 1 >= outlen)
			return false;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return n > 0;
}

bool askpass_dpop_prompt(const char *prompt, char *nonce, size_t nlen, char *service, size_t slen)
{
	const char *p = NULL, *s, *sv;

	for (s = prompt; (s = strstr(s, "[DPoP nonce=")) != NULL; s++)
		p = s;
	if (p == NULL)
		return false;
	p += strlen("[DPoP nonce=");
	if ((sv = strstr(p, " service=")) == NULL)
		return false;
	return take_word(p, ' ', "-_", nonce, nlen) &&
	       take_word(sv + strlen(" service="), ']', "-_.", service, slen);
}

void askpass_default_token_file(char *path, size_t len)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (xdg != NULL && xdg[0] == '/') {
		snprintf(path, len, "%s/pam_jwt/token", xdg);
		return;
	}
	if (home == NULL || home[0] != '/') {
		if ((pw = getpwuid(getuid())) == NULL)
			askpass_die("%s", "no HOME and no passwd entry: set PAM_JWT_TOKEN_FILE");
		home = pw->pw_dir;
	}
	snprintf(path, len, "%s/.config/pam_jwt/token", home);
}

bool askpass_dpop_key(const char *token_file, char *path, size_t len)
{
	const char *v = getenv("PAM_JWT_DPOP_KEY");
	char def[4096];
	struct stat st;

	if (v != NULL && v[0] != '\0') {
		snprintf(path, len, "%s", v);
	} else {
		if (token_file == NULL) {
			askpass_default_token_file(def, sizeof(def));
			token_file = def;
		}
		snprintf(path, len, "%s.key", token_file);
	}
	return stat(path, &st) == 0;
}

/* Runs `pam-jwt dpop proof` with the token on its stdin; the proof comes back on its stdout. */
static size_t sign_proof(const char *token, size_t len, const char *key, const char *htu, const char *nonce,
                         char *out, size_t outlen)
{
	const char *prog = getenv("PAM_JWT_PROGRAM");
	int in[2], res[2], status;
	size_t got = 0;
	ssize_t n;
	pid_t pid, waited;

	if (prog == NULL || prog[0] == '\0')
		prog = PJ_BINDIR "/pam-jwt";
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(res, O_CLOEXEC) != 0)
		askpass_die("%s", "cannot make pipes");
	/* a caller that ignores SIGCHLD (kept across exec) would have the signer reaped unseen: its status
	 * decides */
	signal(SIGCHLD, SIG_DFL);
	if ((pid = fork()) < 0)
		askpass_die("%s", "cannot fork");
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(res[1], 1) < 0)
			_exit(127);
		execl(prog, prog, "dpop", "proof", "--key", key, "--htu", htu, "--nonce", nonce,
		      (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(res[1]);
	/* a signer that stops early (a refused key) must not kill this process: its exit status says why */
	signal(SIGPIPE, SIG_IGN);
	for (size_t off = 0; off < len; off += (size_t)n)
		if ((n = write(in[1], token + off, len - off)) <= 0 && errno != EINTR)
			askpass_die("%s", "cannot hand the token to pam-jwt dpop proof");
		else if (n < 0)
			n = 0;
	close(in[1]);
	while (got < outlen - 1 &&
	       ((n = read(res[0], out + got, outlen - 1 - got)) > 0 || (n < 0 && errno == EINTR)))
		if (n > 0)
			got += (size_t)n;
	close(res[0]);
	while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (waited != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		askpass_die("%s dpop proof failed (key %s)", prog, key);
	while (got > 0 && (out[got - 1] == '\n' || out[got - 1] == '\r'))
		got--;
	out[got] = '\0';
	if (got == 0 || got >= outlen - 1)
		askpass_die("%s", "pam-jwt dpop proof gave no usable proof");
	return got;
}

size_t askpass_dpop_answer(const char *token, size_t len, const char *key, const struct askpass_peer *peer,
                           const char *nonce, const char *service, char *out, size_t outlen)
{
	char htu[ASKPASS_HOST_MAX + 128], proof[PROOF_MAX];
	size_t plen;

	snprintf(htu, sizeof(htu), "pam://%s/%s", peer->host, service);
	plen = sign_proof(token, len, key, htu, nonce, proof, sizeof(proof));
	if (len + 1 + plen >= outlen)
		askpass_die("%s", "token and proof are too long together");
	memcpy(out, token, len);
	out[len] = '~';
	memcpy(out + len + 1, proof, plen + 1);
	explicit_bzero(proof, sizeof(proof));
	return len + 1 + plen;
}

/* ---- the answer between runs ---- */

static bool cache_path(char *path, size_t len, bool create)
{
	const char *run = getenv("XDG_RUNTIME_DIR"), *home = getenv("HOME");
	char dir[4096];
	struct passwd *pw;
	struct stat st;

	if (run != NULL && run[0] == '/') {
		snprintf(dir, sizeof(dir), "%s/pam_jwt", run);
	} else {
		if ((home == NULL || home[0] != '/') && (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL)
			return false;
		snprintf(dir, sizeof(dir), "%s/.cache", home);
		if (create)
			mkdir(dir, 0700);
		snprintf(dir, sizeof(dir), "%s/.cache/pam_jwt", home);
	}
	if (create)
		mkdir(dir, 0700);
	/* a directory of ours that no one else may enter */
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return false;
	snprintf(path, len, "%s/answer.%ld", dir, (long)getppid());
	return true;
}

/* Answers left in dir (path's directory) by runs whose ssh is gone, a login given up between parts: they
 * hold a token, so they are removed before a new answer is kept. */
static void cache_sweep(const char *path)
{
	char dir[4200], *slash, *end;
	struct dirent *e;
	long pid;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "answer.", 7) != 0)
			continue;
		errno = 0;
		pid = strtol(e->d_name + 7, &end, 10);
		if (errno != 0 || *end != '\0' || pid <= 0 || pid > INT_MAX || pid == (long)getppid())
			continue;
		if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}

void askpass_cache_put(const char *answer, size_t len)
{
	char path[4200];
	bool written;
	int fd;

	if (!cache_path(path, sizeof(path), true))
		askpass_die("%s",
		            "no private directory to keep the answer's parts in ($XDG_RUNTIME_DIR/pam_jwt or "
		            "~/.cache/pam_jwt, mode 0700)");
	cache_sweep(path);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		askpass_die("cannot create %s", path);
	written = write(fd, answer, len) == (ssize_t)len;
	if (close(fd) != 0 || !written) {
		unlink(path); /* no part of the token stays behind */
		askpass_die("cannot write %s", path);
	}
}

bool askpass_cache_get(char *out, size_t outlen, size_t *len)
{
	char path[4200];
	ssize_t n;
	int fd;

	if (!cache_path(path, sizeof(path), false) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, out, outlen - 1);
	close(fd);
	if (n <= 0)
		return false;
	out[n] = '\0';
	*len = (size_t)n;
	return true;
}

void askpass_cache_drop(void)
{
	char path[4200];

	if (cache_path(path, sizeof(path), false))
		unlink(path);
}
