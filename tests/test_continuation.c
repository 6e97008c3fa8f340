/* test_continuation.c: the continuation protocol (continuation.h) and pam-jwt-askpass, which speaks it. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "pam_jwt/config_file.h"
#include "pam_jwt/continuation.h"
#include "pam_jwt/dpop.h"
#include "pam_jwt/dpop_client.h"
#include "pam_jwt/jws_sign.h"
#include "tap.h"
#include "testkit.h"

/* mode=auto's prompt (PAM_JWT_AUTO_PROMPT in pam_device.h) */
#define AUTO_PROMPT "JWT (or press Enter to sign in with a browser): "

static char dir[] = "/tmp/pj_cont_XXXXXX";
static char *askpass;
static uid_t run_uid;            /* run_askpass runs askpass as this user (and group), 0: as is */
static bool run_sigchld_ignored; /* run_askpass starts askpass with SIGCHLD ignored (inherited by exec) */
static long run_fsize_max; /* > 0: askpass runs with RLIMIT_FSIZE at this many bytes (writes beyond fail) */

static char *fake_token(size_t len)
{
	char *t = malloc(len + 1);

	memcpy(t, "eyJ", 3);
	for (size_t i = 3; i < len; i++)
		t[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."[(i * 7) % 65];
	t[len] = '\0';
	return t;
}

/* ---- the protocol ---- */

static void test_add(void)
{
	struct pj_cont c;
	struct pj_error err;

	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "hunter2", 7, &err) == PJ_OK && !c.more && strcmp(c.buf, "hunter2") == 0,
	   "a plain answer is taken whole");
	pj_cont_free(&c);
	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "hunter2\\", 8, &err) == PJ_OK && !c.more && strcmp(c.buf, "hunter2\\") == 0,
	   "a password ending in '\\' is taken whole, marker included");
	pj_cont_free(&c);
	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "eyJ a\\", 6, &err) == PJ_OK && !c.more,
	   "a first answer with a space is not a first part");
	pj_cont_free(&c);
	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "eyJhb\\", 6, &err) == PJ_OK && c.more && strcmp(c.buf, "eyJhb") == 0 &&
	       pj_cont_add(&c, "Gci.x\\", 6, &err) == PJ_OK && c.more &&
	       pj_cont_add(&c, "y.z", 3, &err) == PJ_OK && !c.more && strcmp(c.buf, "eyJhbGci.xy.z") == 0 &&
	       c.parts == 3,
	   "three parts are joined without their markers");
	ok(pj_cont_add(&c, "more", 4, &err) == PJ_ERR_TOKEN, "a part that was not asked for is refused");
	pj_cont_free(&c);
	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "eyJhb\\", 6, &err) == PJ_OK && pj_cont_add(&c, "", 0, &err) == PJ_OK && !c.more &&
	       strcmp(c.buf, "eyJhb") == 0,
	   "an empty last part ends the token");
	pj_cont_free(&c);
	pj_cont_init(&c, 100);
	ok(pj_cont_add(&c, "eyJhb\\", 6, &err) == PJ_OK && pj_cont_add(&c, "a\\b", 3, &err) == PJ_ERR_TOKEN &&
	       strstr(err.reason, "part 2") != NULL,
	   "a marker inside a part is refused");
	pj_cont_free(&c);
	pj_cont_init(&c, 10);
	ok(pj_cont_add(&c, "eyJ012345\\", 10, &err) == PJ_OK && pj_cont_add(&c, "6\\", 2, &err) == PJ_OK &&
	       c.len == 10 && pj_cont_add(&c, "7", 1, &err) == PJ_ERR_TOKEN && strstr(err.reason, "part 3"),
	   "max_len exactly is fine, one byte more is refused");
	pj_cont_free(&c);
	pj_cont_init(&c, 10);
	ok(pj_cont_add(&c, "eyJ01234567\\", 12, &err) == PJ_ERR_TOKEN,
	   "a first part longer than max_len is refused");
	pj_cont_free(&c);
	ok(pj_cont_is_first_part("eyJ\\", 4) && !pj_cont_is_first_part("ey\\", 3) &&
	       !pj_cont_is_first_part("eyJab", 5) && !pj_cont_is_first_part("xyJab\\", 6),
	   "first part: eyJ, token characters, and the marker");
}

static void test_prompts(void)
{
	char buf[64];

	for (unsigned n = 2; n <= PJ_CONT_MAX_PARTS; n++) {
		snprintf(buf, sizeof(buf), PJ_CONT_PROMPT_FMT, n);
		if (pj_cont_prompt_part(buf) != n)
			break;
		if (n == PJ_CONT_MAX_PARTS)
			ok(1, "every continuation prompt 2..64 gives its part number back");
	}
	ok(pj_cont_prompt_part("(alice@127.0.0.1) JWT (continued, part 7): ") == 7,
	   "OpenSSH's (user@host) prefix is allowed");
	ok(pj_cont_prompt_part("JWT: ") == 0 && pj_cont_prompt_part("") == 0,
	   "the first prompt is not a continuation");
	ok(pj_cont_prompt_part("JWT (continued, part 1): ") == 0, "part 1 is never a continuation");
	ok(pj_cont_prompt_part("JWT (continued, part 65): ") == 0, "part 65 is past the bound");
	ok(pj_cont_prompt_part("JWT (continued, part 02): ") == 0, "a leading zero is not a part number");
	ok(pj_cont_prompt_part("JWT (continued, part 99999999999999999999): ") == 0, "a huge number");
	ok(pj_cont_prompt_part("JWT (continued, part 3): x") == 0 &&
	       pj_cont_prompt_part("JWT (continued, part 3):") == 0,
	   "nothing may follow the prompt, and its end is exact");
	ok(pj_cont_prompt_part("JWT (continued, part 3): JWT (continued, part 4): ") == 4,
	   "the last occurrence counts");
}

/* ---- pam-jwt-askpass ---- */

struct run {
	int status; /* exit status, or -1 */
	char out[70000];
	char err[2048];
};

static void drain(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1 && (n = read(fd, buf + len, size - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

/* Runs askpass with prompt and the environment in env ("NAME=value", NULL-terminated) and no terminal. */
static void run_askpass(const char *prompt, char *const env[], struct run *r)
{
	int out[2], err[2], status;
	pid_t pid;

	if (pipe(out) != 0 || pipe(err) != 0)
		exit(1);
	if ((pid = fork()) == 0) {
		setsid(); /* no controlling terminal: /dev/tty cannot be opened */
		if (run_uid != 0 && (setgroups(0, NULL) != 0 || setgid(run_uid) != 0 || setuid(run_uid) != 0))
			_exit(126);
		if (run_sigchld_ignored)
			signal(SIGCHLD, SIG_IGN);
		if (run_fsize_max > 0) {
			struct rlimit fsize = {(rlim_t)run_fsize_max, (rlim_t)run_fsize_max};

			signal(SIGXFSZ, SIG_IGN); /* a write past the limit then fails instead of killing */
			if (setrlimit(RLIMIT_FSIZE, &fsize) != 0)
				_exit(126);
		}
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execle(askpass, askpass, prompt, (char *)NULL, env);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	drain(out[0], r->out, sizeof(r->out));
	drain(err[0], r->err, sizeof(r->err));
	close(out[0]);
	close(err[0]);
	waitpid(pid, &status, 0);
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Answers the module's prompts with askpass the way ssh does (one run per prompt) and joins the answers the
 * way the module does. Returns the number of prompts, 0 on a failure; *longest: the longest answer. */
static int round_trip_from(const char *first, char *const env[], size_t max_len, char **joined,
                           size_t *longest)
{
	static struct run r;
	struct pj_cont c;
	struct pj_error err;
	char prompt[256];
	int prompts = 0;

	*longest = 0;
	*joined = NULL;
	pj_cont_init(&c, max_len);
	do {
		if (c.parts == 0)
			snprintf(prompt, sizeof(prompt), "%s", first);
		else
			snprintf(prompt, sizeof(prompt), "%.*s" PJ_CONT_PROMPT_FMT,
			         (int)strcspn(first, ")") + 2, first, c.parts + 1);
		run_askpass(prompt, env, &r);
		prompts++;
		if (r.status != 0 || strchr(r.out, '\n') != r.out + strlen(r.out) - 1) {
			pj_cont_free(&c);
			return 0;
		}
		r.out[strlen(r.out) - 1] = '\0';
		if (strlen(r.out) > *longest)
			*longest = strlen(r.out);
		if (pj_cont_add(&c, r.out, strlen(r.out), &err) != PJ_OK) {
			pj_cont_free(&c);
			return 0;
		}
	} while (c.more);
	*joined = strdup(c.buf);
	pj_cont_free(&c);
	return prompts;
}

static int round_trip(char *const env[], size_t max_len, char **joined, size_t *longest)
{
	return round_trip_from("(alice@127.0.0.1) JWT: ", env, max_len, joined, longest);
}

static void test_askpass_sizes(void)
{
	static const size_t sizes[] = {100, 511, 512, 1023, 1024, 4096, 16384};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *t = fake_token(sizes[i]), *tok = NULL, *joined = NULL;
		size_t longest;
		int n;

		tok = malloc(sizes[i] + 16);
		sprintf(tok, "PAM_JWT_TOKEN=%s", t);
		{
			char *env[] = {tok, "PAM_JWT_HOSTS=127.0.0.1", NULL};
			size_t want = sizes[i] <= 511 ? 1 : (sizes[i] + 509) / 510;

			n = round_trip(env, 16384, &joined, &longest);
			ok(n == (int)want && joined != NULL && strcmp(joined, t) == 0 && longest <= 511,
			   "%zu bytes: %d answers of at most 511 bytes (longest %zu) join to the token",
			   sizes[i], n, longest);
			free(joined);
		}
		{
			char *env[] = {tok, "PAM_JWT_PART_SIZE=1023", "PAM_JWT_HOSTS=127.0.0.1", NULL};
			size_t want = sizes[i] <= 1023 ? 1 : (sizes[i] + 1021) / 1022;

			n = round_trip(env, 16384, &joined, &longest);
			ok(n == (int)want && joined != NULL && strcmp(joined, t) == 0 && longest <= 1023,
			   "%zu bytes with PAM_JWT_PART_SIZE=1023: %d answers (longest %zu)", sizes[i], n,
			   longest);
			free(joined);
		}
		free(tok);
		free(t);
	}
	{
		char *t = fake_token(16385), *tok = malloc(16400), *joined;
		size_t longest;

		sprintf(tok, "PAM_JWT_TOKEN=%s", t);
		char *env[] = {tok, "PAM_JWT_HOSTS=127.0.0.1", NULL};
		ok(round_trip(env, 16384, &joined, &longest) == 0,
		   "16385 bytes: refused once past max_token_size");
		free(tok);
		free(t);
	}
}

static void test_askpass_sources(void)
{
	static struct run r;
	char file[256], cmd[300], home[256], xdg[256], e1[300], e2[300], e3[300];
	char *t = fake_token(600), *expect_1 = malloc(600);

	snprintf(expect_1, 600, "%.510s\\\n", t);
	snprintf(file, sizeof(file), "%s/token", dir);
	tk_write_file(file, t, 0600);
	/* a trailing newline in a file is whitespace */
	{
		char *withnl = malloc(700);
		sprintf(withnl, "  %s\n\n", t);
		tk_write_file(file, withnl, 0600);
		free(withnl);
	}
	snprintf(e1, sizeof(e1), "PAM_JWT_TOKEN_FILE=%s", file);
	{
		char *env[] = {e1, NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, expect_1) == 0,
		   "PAM_JWT_TOKEN_FILE: part 1, whitespace trimmed");
	}
	chmod(file, 0640);
	{
		char *env[] = {e1, NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "chmod 600") != NULL,
		   "a token file others may read is refused");
	}
	chmod(file, 0600);
	snprintf(cmd, sizeof(cmd), "PAM_JWT_TOKEN_COMMAND=cat '%s'", file);
	{
		char *env[] = {cmd, "PATH=/usr/bin:/bin", NULL};
		run_askpass("JWT (continued, part 2): ", env, &r);
		ok(r.status == 0 && strncmp(r.out, t + 510, 90) == 0 && strlen(r.out) == 91,
		   "PAM_JWT_TOKEN_COMMAND: part 2, the last, without marker");
	}
	{
		char *env[] = {"PAM_JWT_TOKEN_COMMAND=exit 3", "PATH=/usr/bin:/bin", NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0', "a failing PAM_JWT_TOKEN_COMMAND answers nothing");
	}
	/* The default location: $HOME/.config/pam_jwt/token, or $XDG_CONFIG_HOME/pam_jwt/token. */
	snprintf(home, sizeof(home), "%s/home", dir);
	mkdir(home, 0700);
	snprintf(xdg, sizeof(xdg), "%s/home/.config", dir);
	mkdir(xdg, 0700);
	snprintf(file, sizeof(file), "%s/home/.config/pam_jwt", dir);
	mkdir(file, 0700);
	strcat(file, "/token");
	tk_write_file(file, "eyJdefault.a.b", 0600);
	snprintf(e2, sizeof(e2), "HOME=%s", home);
	{
		char *env[] = {e2, NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJdefault.a.b\n") == 0,
		   "default: ~/.config/pam_jwt/token");
	}
	snprintf(e3, sizeof(e3), "XDG_CONFIG_HOME=%s/nowhere", dir);
	{
		char *env[] = {e2, e3, NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1, "XDG_CONFIG_HOME is used when set (no token there)");
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJenv.a.b", e1, NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJenv.a.b\n") == 0,
		   "PAM_JWT_TOKEN comes before PAM_JWT_TOKEN_FILE");
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJ bad", NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0', "a token with characters no JWT has is not sent");
	}
	free(expect_1);
	free(t);
}

/* Runs askpass on a new terminal with env, types typed once the prompt shows, and returns everything the
 * terminal showed (prompt, echo if any, the answer askpass printed) in out. */
static int askpass_on_tty(const char *prompt, char *const env[], bool echo_on, const char *typed, char *out,
                          size_t size)
{
	size_t len = 0;
	ssize_t n;
	int master, status;
	bool sent = false;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	if (pid == 0) {
		execle(askpass, askpass, prompt, (char *)NULL, env);
		_exit(127);
	}
	if (pid < 0)
		return -1;
	while (len < size - 1 && (n = read(master, out + len, size - 1 - len)) > 0) {
		len += (size_t)n;
		out[len] = '\0';
		if (!sent && strstr(out, prompt) != NULL) {
			/* Type once askpass has turned echo off (it flushes pending input as it does), or at
			 * once when it keeps echo on (SSH_ASKPASS_PROMPT=confirm). */
			struct termios t;

			for (int i = 0;
			     i < 200 && !echo_on && tcgetattr(master, &t) == 0 && (t.c_lflag & ECHO); i++)
				usleep(10000);
			sent = write(master, typed, strlen(typed)) == (ssize_t)strlen(typed);
		}
	}
	out[len] = '\0';
	close(master);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Prompts that are not pam_jwt's go to the person, on the terminal, with echo off (on for ssh's yes/no). */
static void test_askpass_tty(void)
{
	char out[4096];
	char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", NULL};
	char *confirm[] = {"SSH_ASKPASS_PROMPT=confirm", NULL};

	ok(askpass_on_tty("Verification code: ", env, false, "s3cr3t\n", out, sizeof(out)) == 0 &&
	       count(out, "Verification code: ") == 1 && count(out, "s3cr3t") == 1,
	   "another prompt is asked on the terminal with echo off; the answer is printed once");
	ok(askpass_on_tty("Continue connecting (yes/no)? ", confirm, true, "yes\n", out, sizeof(out)) == 0 &&
	       count(out, "yes") == 3,
	   "ssh's yes/no question (SSH_ASKPASS_PROMPT=confirm) is echoed");
	ok(askpass_on_tty("JWT: ", env, false, "typed\n", out, sizeof(out)) == 0 &&
	       count(out, "eyJshort.a.b") == 1 && count(out, "JWT: ") == 0,
	   "the token prompt is answered without asking the terminal");
}

static void test_askpass_prompts(void)
{
	static struct run r;
	char *env_tok[] = {"PAM_JWT_TOKEN=eyJshort.a.b", NULL};

	run_askpass(AUTO_PROMPT, env_tok, &r);
	ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0, "mode=auto's prompt is a token prompt");
	run_askpass("[sudo] JWT: ", env_tok, &r);
	ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0, "text before \"JWT: \" is allowed");
	run_askpass("JWT (continued, part 2): ", env_tok, &r);
	ok(r.status == 1 && r.out[0] == '\0', "part 2 of a token that fits in one answer: nothing sent");
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_PROMPT=Token: ", "PAM_JWT_HOSTS=b",
		               NULL};
		run_askpass("(a@b) Token: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "PAM_JWT_PROMPT: the module's prompt=");
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0', "and then \"JWT: \" is not the token prompt");
	}
	run_askpass("alice@host's password: ", env_tok, &r);
	ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "no terminal") != NULL,
	   "a password prompt is not answered with the token by default (falls through: no terminal here)");
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_ANSWER_PASSWORD=yes",
		               "PAM_JWT_HOSTS=host", NULL};
		run_askpass("alice@host's password: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "PAM_JWT_ANSWER_PASSWORD=yes: OpenSSH's password prompt gets the whole token");
		run_askpass("[sudo] password for alice: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0', "but never sudo's password prompt");
	}
	{
		char *t = fake_token(1024), *tok = malloc(1100);
		sprintf(tok, "PAM_JWT_TOKEN=%s", t);
		char *env[] = {tok, "PAM_JWT_ANSWER_PASSWORD=yes", "PAM_JWT_HOSTS=host", NULL};
		run_askpass("alice@host's password: ", env, &r);
		ok(r.status == 1 && strstr(r.err, "keyboard-interactive") != NULL,
		   "a token over 1023 bytes is not sent as a password (it would be cut)");
		free(tok);
		free(t);
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_FALLBACK_ASKPASS=/bin/echo", NULL};
		run_askpass("Verification code: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "Verification code: \n") == 0,
		   "another prompt goes to PAM_JWT_FALLBACK_ASKPASS with the prompt as its argument");
		run_askpass("JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "while token prompts are still answered");
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_PART_SIZE=10", NULL};
		run_askpass("JWT: ", env, &r);
		ok(r.status == 1 && strstr(r.err, "PAM_JWT_PART_SIZE") != NULL,
		   "PAM_JWT_PART_SIZE below 64 is refused");
	}
	{
		char *env[] = {NULL};
		run_askpass("--help", env, &r);
		ok(r.status == 0 && strstr(r.out, "continued, part N") != NULL &&
		       strstr(r.out, "PAM_JWT_TOKEN_FILE"),
		   "--help documents the prompts, the sources and the protocol");
	}
}

/* What askpass leaves to the processes it starts and to anyone who would read its memory. */
static void test_askpass_exposure(void)
{
	static struct run r;
	char script[256], fallback[300];

	snprintf(script, sizeof(script), "%s/fallback.sh", dir);
	tk_write_file(script, "#!/bin/sh\necho \"token:${PAM_JWT_TOKEN-unset}\"\n", 0755);
	snprintf(fallback, sizeof(fallback), "PAM_JWT_FALLBACK_ASKPASS=%s", script);
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", fallback, NULL};
		run_askpass("Verification code: ", env, &r);
		if (!ok(r.status == 0 && strcmp(r.out, "token:unset\n") == 0,
		        "PAM_JWT_FALLBACK_ASKPASS, which answers other prompts, does not get PAM_JWT_TOKEN"))
			tap_diag("it printed: %s", r.out);
	}
	if (geteuid() != 0) {
		tap_diag("not root: the core dump check runs askpass as nobody and is skipped");
		return;
	}
	/* /proc/PID/status belongs to root while a process is not dumpable; the command's parent is askpass.
	 */
	{
		char *env[] = {"PATH=/usr/bin:/bin",
		               "PAM_JWT_TOKEN_COMMAND=[ \"$(stat -c %u /proc/$PPID/status)\" = 0 ] && "
		               "echo eyJprotected.a.b || echo eyJdumpable.a.b",
		               NULL};
		/* nobody may not reach the build tree (a clone under /root, mode 0700): run a copy from a
		 * world-readable directory of our own. */
		char *built = askpass, *copy = tk_strf("%s/pam-jwt-askpass", dir);

		if (chmod(dir, 0755) != 0)
			exit(1);
		tk_copy_file(built, copy, 0755);
		askpass = copy;
		run_uid = 65534;
		run_askpass("JWT: ", env, &r);
		run_uid = 0;
		askpass = built;
		free(copy);
		if (!ok(r.status == 0 && strcmp(r.out, "eyJprotected.a.b\n") == 0,
		        "askpass, run by nobody, is not dumpable: no core file or ptrace of the token"))
			tap_diag("answered: %s", r.out);
	}
}

/* Issue #13: the token goes only to hosts the user allowed. */
static void test_askpass_hosts(void)
{
	static struct run r;
	char home[300], hosts[1000], dirs[400];

	snprintf(home, sizeof(home), "HOME=%s/guard", dir);
	snprintf(dirs, sizeof(dirs), "%s/guard/.config/pam_jwt", dir);
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", home, NULL};
		run_askpass("(alice@evil.example) JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0' &&
		       strstr(r.err, "not sending the token to evil.example"),
		   "no host list: a remote host gets nothing, and a message says why: %s", r.err);
		run_askpass("[sudo] JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "a prompt of a program on this machine (sudo: no (user@host)) is answered");
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_HOSTS=bastion *.Example.COM", home,
		               NULL};
		run_askpass("(alice@db1.example.com) JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "PAM_JWT_HOSTS: a host matching a pattern (ignoring case) is answered");
		run_askpass("(alice@db1.example.org) JWT: ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0', "one matching none is not");
		run_askpass("(alice@evil) (alice@bastion) JWT: ", env, &r);
		ok(r.status == 1 && strstr(r.err, "to evil"),
		   "a server that writes a (user@host) of its own into its prompt gains nothing");
	}
	{
		char *t = fake_token(2000), *tok = malloc(2100);
		sprintf(tok, "PAM_JWT_TOKEN=%s", t);
		char *env[] = {tok, home, NULL};
		run_askpass("(alice@evil) JWT (continued, part 2): ", env, &r);
		ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "not sending the token to evil"),
		   "nor any part of a long token to a host that asks for part 2 straight away");
		free(tok);
		free(t);
	}
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", "PAM_JWT_ANSWER_PASSWORD=yes", home, NULL};
		run_askpass("alice@evil's password: ", env, &r);
		ok(r.status == 1 && strstr(r.err, "not sending the token to evil"),
		   "the password method's prompt is held to the list too");
	}
	snprintf(hosts, sizeof(hosts), "mkdir -p '%s'", dirs);
	if (system(hosts) != 0)
		exit(1);
	snprintf(hosts, sizeof(hosts), "%s/hosts", dirs);
	tk_write_file(hosts, "# my hosts\ndb?.example.com\n\nbastion\n", 0644);
	{
		char *env[] = {"PAM_JWT_TOKEN=eyJshort.a.b", home, NULL};
		run_askpass("(alice@db2.example.com) JWT: ", env, &r);
		ok(r.status == 0 && strcmp(r.out, "eyJshort.a.b\n") == 0,
		   "~/.config/pam_jwt/hosts: a listed host");
		run_askpass("(alice@db10.example.com) JWT: ", env, &r);
		ok(r.status == 1, "and not an unlisted one");
	}
}

/* Issue #13: DPoP answers: token~proof for the nonce in the prompt, signed by pam-jwt dpop proof. */
static void test_askpass_dpop(void)
{
	static struct run r;
	const char *top = getenv("TOP_BUILDDIR") ? getenv("TOP_BUILDDIR") : ".";
	char tokpath[300], keypath[320], e_tok[320], e_prog[400], e_run[320], run[300], *joined = NULL,
	                                                                                *proof;
	char jkt[64], *members, *text, *conf;
	struct pj_config *cfg = NULL;
	struct pj_error err;
	EVP_PKEY *key = NULL;
	json_object *o;
	size_t longest;
	int n;

	snprintf(tokpath, sizeof(tokpath), "%s/dpop.token", dir);
	snprintf(keypath, sizeof(keypath), "%s.key", tokpath);
	snprintf(run, sizeof(run), "%s/run", dir);
	mkdir(run, 0700);
	tk_write_file(tokpath, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl\n", 0600);
	if (dpop_key_generate("ES256", &key, &err) != PJ_OK || dpop_key_save(keypath, key, &err) != PJ_OK)
		exit(1);
	snprintf(e_tok, sizeof(e_tok), "PAM_JWT_TOKEN_FILE=%s", tokpath);
	snprintf(e_prog, sizeof(e_prog), "PAM_JWT_PROGRAM=%s/pam-jwt", top);
	snprintf(e_run, sizeof(e_run), "XDG_RUNTIME_DIR=%s", run);
	char *env[] = {e_tok, e_prog, e_run, "PAM_JWT_HOSTS=db1.example.com", NULL};
	/* what a login given up between parts leaves (its ssh gone), and one of a live process (pid 1) */
	char stale[400], live[400];
	pid_t gone = fork();

	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	snprintf(stale, sizeof(stale), "%s/pam_jwt", run);
	mkdir(stale, 0700);
	snprintf(stale, sizeof(stale), "%s/pam_jwt/answer.%ld", run, (long)gone);
	snprintf(live, sizeof(live), "%s/pam_jwt/answer.1", run);
	tk_write_file(stale, "eyJstale~proof", 0600);
	tk_write_file(live, "eyJlive~proof", 0600);
	n = round_trip_from("(alice@db1.example.com) [DPoP nonce=N0nce_1-x service=sshd] JWT: ", env, 16384,
	                    &joined, &longest);
	ok(n == 2 && joined != NULL && longest <= 511 &&
	       strncmp(joined, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl~eyJ", 52) == 0,
	   "a DPoP prompt: token~proof in %d parts of at most 511 bytes", n);
	members = jwk_public_members(key);
	text = tk_strf("{%s}", members);
	o = json_tokener_parse(text);
	dpop_jwk_thumbprint(o, jkt, sizeof(jkt), &err);
	conf = tk_strf(
	    "[global]\ndpop = yes\ndpop_host_names = db1.example.com\n[issuer t]\nissuer = https://i\n"
	    "audience = a\njwks_file = /nonexistent\n");
	if (config_parse("t.conf", conf, strlen(conf), &cfg, &err) != PJ_OK)
		exit(1);
	{
		struct pj_dpop_expect x = {
		    .service = "sshd", .nonce = "N0nce_1-x", .nonce_issued = time(NULL), .now = time(NULL)};
		proof = joined != NULL ? strchr(joined, '~') : NULL;
		if (proof != NULL)
			*proof++ = '\0';
		ok(proof != NULL && dpop_check_proof(cfg, proof, strlen(proof), jkt, joined, strlen(joined),
		                                     &x, &err) == PJ_OK,
		   "the proof names pam://db1.example.com/sshd, the nonce, the token's hash, and the key "
		   "beside the "
		   "token: %s",
		   proof != NULL ? err.reason : "no proof");
	}
	{
		char cache[400];
		snprintf(cache, sizeof(cache), "%s/pam_jwt/answer.%ld", run, (long)getpid());
		ok(access(cache, F_OK) != 0, "the parts' cache is gone after the last part");
	}
	ok(access(stale, F_OK) != 0 && access(live, F_OK) == 0,
	   "an answer left by a run whose ssh is gone was removed; a live process's was kept");
	unlink(live);
	/* a caller that ignores SIGCHLD (kept across exec): the signer is still waited for, its status read
	 */
	free(joined);
	run_sigchld_ignored = true;
	n = round_trip_from("(alice@db1.example.com) [DPoP nonce=N0nce_2-x service=sshd] JWT: ", env, 16384,
	                    &joined, &longest);
	run_sigchld_ignored = false;
	ok(n == 2 && joined != NULL && strstr(joined, "~eyJ") != NULL,
	   "started with SIGCHLD ignored, askpass still answers token~proof (%d parts)", n);
	free(joined);
	joined = NULL;
	chmod(keypath, 0644);
	run_sigchld_ignored = true;
	run_askpass("(alice@db1.example.com) [DPoP nonce=abc service=sshd] JWT: ", env, &r);
	run_sigchld_ignored = false;
	ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "dpop proof failed"),
	   "and a signer that fails (a key others may read) is still a failure: no answer");
	chmod(keypath, 0600);
	/* the answer cannot be kept whole (a full disk): nothing of it stays behind */
	run_fsize_max = 100;
	run_askpass("(alice@db1.example.com) [DPoP nonce=N0nce_3-x service=sshd] JWT: ", env, &r);
	run_fsize_max = 0;
	{
		char cache[400];
		snprintf(cache, sizeof(cache), "%s/pam_jwt/answer.%ld", run, (long)getpid());
		ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "cannot write") &&
		       access(cache, F_OK) != 0,
		   "an answer that cannot be written whole: no answer, and no part of it left in the cache");
	}
	run_askpass("(alice@db1.example.com) JWT: ", env, &r);
	ok(r.status == 0 && strcmp(r.out, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl\n") == 0,
	   "a prompt without a nonce gets the token alone");
	chmod(keypath, 0644);
	run_askpass("(alice@db1.example.com) [DPoP nonce=abc service=sshd] JWT: ", env, &r);
	ok(r.status == 1 && r.out[0] == '\0' && strstr(r.err, "mode 0600"),
	   "a key others may read: no answer, and pam-jwt says why");
	json_object_put(o);
	config_free(cfg);
	EVP_PKEY_free(key);
	free(members);
	free(text);
	free(conf);
	free(joined);
}

int main(void)
{
	const char *top = getenv("TOP_BUILDDIR") ? getenv("TOP_BUILDDIR") : ".";
	char cmd[128];

	if (mkdtemp(dir) == NULL)
		return 1;
	alarm(120); /* a stuck child (a terminal that never answers) must not hang make check */
	askpass = malloc(strlen(top) + 32);
	sprintf(askpass, "%s/pam-jwt-askpass", top);
	test_add();
	test_prompts();
	if (access(askpass, X_OK) != 0) {
		tap_diag("%s is not built", askpass);
		ok(0, "pam-jwt-askpass is built");
	} else {
		test_askpass_sizes();
		test_askpass_sources();
		test_askpass_prompts();
		test_askpass_tty();
		test_askpass_exposure();
		test_askpass_hosts();
		test_askpass_dpop();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	free(askpass);
	return tap_done();
}
