/* askpass.c: pam-jwt-askpass, an SSH_ASKPASS / SUDO_ASKPASS that answers pam_jwt's prompts part by part. */
/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <termios.h>
#include <unistd.h>

#include "askpass_dpop.h"
#include "cli_common.h"
#include "pam_jwt/continuation.h"

#define TOKEN_MAX            65536              /* the largest max_token_size */
#define PART_DEFAULT         PJ_CONT_SUDO_LIMIT /* fits sudo (511) and therefore the OpenSSH client (1023) */
#define PART_MIN             64
#define PART_MAX             PJ_CONT_SSH_LIMIT
#define TTY_ANSWER_MAX       1023
#define PJ_DPOP_ANSWER_EXTRA 8200 /* '~' and a proof */

/* pam_jwt's first prompts: the default, and mode=auto's (pam_device.h). OpenSSH puts "(user@host) " in
 * front of keyboard-interactive prompts, so a prompt is recognised by how it ends. */
static const char *const first_prompts[] = {
    PJ_CONT_DEFAULT_PROMPT,
    "JWT (or press Enter to sign in with a browser): ",
};

/* What the OpenSSH client asks for the password method ("user@host's password: "). */
#define SSH_PASSWORD_SUFFIX "'s password: "

static const char usage[] =
    "usage: pam-jwt-askpass PROMPT\n"
    "\n"
    "An askpass program for OpenSSH (SSH_ASKPASS) and sudo (SUDO_ASKPASS) that answers pam_jwt's token\n"
    "prompts with a JSON Web Token, in parts where clients cut answers short (sudo at 511 bytes, the\n"
    "OpenSSH client at 1023).\n"
    "\n"
    "The token comes from the first of:\n"
    "  PAM_JWT_TOKEN           the token itself\n"
    "  PAM_JWT_TOKEN_FILE      a file holding it (mode 0600 or stricter)\n"
    "  PAM_JWT_TOKEN_COMMAND   a shell command printing it (run once per prompt: it must print the same\n"
    "                          token each time, e.g. from its own cache)\n"
    "  $XDG_CONFIG_HOME/pam_jwt/token, else ~/.config/pam_jwt/token (mode 0600 or stricter)\n"
    "Whitespace around the token is ignored.\n"
    "\n"
    "Hosts: the token goes to a program on this machine (sudo, su), and to a remote host only when the\n"
    "\"(user@host)\" OpenSSH puts in front of the prompt names a host matching one of the patterns in\n"
    "PAM_JWT_HOSTS (space-separated, shell wildcards, case-insensitive) or, without it, in\n"
    "~/.config/pam_jwt/hosts (one per line); any other host is refused with a message.\n"
    "\n"
    "DPoP: when the prompt carries \"[DPoP nonce=N service=S]\" and a key lies beside the token\n"
    "(PAM_JWT_DPOP_KEY, else the token file's path + \".key\", as pam-jwt login --dpop writes it), the\n"
    "answer is the token, '~' and a fresh proof for pam://HOST/S with that nonce, made by\n"
    "\"pam-jwt dpop proof\" (PAM_JWT_PROGRAM, else the installed pam-jwt). Its parts are kept in\n"
    "$XDG_RUNTIME_DIR/pam_jwt (or ~/.cache/pam_jwt) until the last is sent.\n"
    "\n"
    "Prompts:\n"
    "  \"JWT: \" (or PAM_JWT_PROMPT, when pam_jwt has prompt=...)   part 1\n"
    "  \"JWT (continued, part N): \"                               part N\n"
    "  \"user@host's password: \" (OpenSSH's password method)      the whole token, only with\n"
    "                                                            PAM_JWT_ANSWER_PASSWORD=yes\n"
    "  anything else: PAM_JWT_FALLBACK_ASKPASS (e.g. /usr/bin/ssh-askpass) if set, else /dev/tty\n"
    "\n"
    "The continuation protocol: a token longer than one answer is sent in parts of at most\n"
    "PAM_JWT_PART_SIZE bytes (default 511, at most 1023), every part but the last ending in '\\'. The\n"
    "part number comes from the prompt, so each run of this program answers one prompt and keeps no\n"
    "state. A person can do the same by hand: paste a part, type '\\', press Enter, and go on at the\n"
    "\"continued\" prompt; the part without '\\' ends the token.\n";

/* Every failure: a message on stderr, exit 1 (askpass_dpop.c). */
#define die askpass_die

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return m > 0 && n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- where the token comes from ---- */

/* Reads at most TOKEN_MAX + 1 bytes of fd into buf (TOKEN_MAX + 2 bytes). */
static size_t read_all(int fd, char *buf, const char *what)
{
	size_t len = 0;
	ssize_t n;

	while (len < TOKEN_MAX + 1) {
		n = read(fd, buf + len, TOKEN_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read the token from %s", what);
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return len;
}

/* A token file holds a credential: like ssh with a private key, refuse one others may read or change. */
static void read_file(const char *path, char *buf)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		die("cannot open the token file %s", path);
	if (fstat(fd, &st) != 0)
		die("cannot stat %s", path);
	if (S_ISREG(st.st_mode)) {
		if ((st.st_mode & 077) != 0)
			die("%s may be read or changed by others: chmod 600 it", path);
		if (st.st_uid != geteuid() && st.st_uid != 0)
			die("%s belongs to another user", path);
	}
	read_all(fd, buf, path);
	close(fd);
}

static void run_command(const char *cmd, char *buf)
{
	FILE *f = popen(cmd, "r");
	int status;

	if (f == NULL)
		die("cannot run PAM_JWT_TOKEN_COMMAND %s", cmd);
	read_all(fileno(f), buf, "PAM_JWT_TOKEN_COMMAND");
	status = pclose(f);
	if (status != 0)
		die("PAM_JWT_TOKEN_COMMAND failed: %s", cmd);
}

/* The token file read (NULL: the token came from PAM_JWT_TOKEN or PAM_JWT_TOKEN_COMMAND): its DPoP key
 * lies beside it. */
static const char *token_file;

/* Loads the token into buf (TOKEN_MAX + 2 bytes), trimmed, and checks it holds only token characters. */
static size_t load_token(char *buf)
{
	const char *v;
	static char path[4096];
	size_t start, end;

	if ((v = getenv("PAM_JWT_TOKEN")) != NULL && v[0] != '\0') {
		if (strlen(v) > TOKEN_MAX)
			die("%s", "PAM_JWT_TOKEN is longer than 65536 bytes");
		strcpy(buf, v);
	} else if ((v = getenv("PAM_JWT_TOKEN_FILE")) != NULL && v[0] != '\0') {
		read_file(v, buf);
		token_file = v;
	} else if ((v = getenv("PAM_JWT_TOKEN_COMMAND")) != NULL && v[0] != '\0') {
		run_command(v, buf);
	} else {
		askpass_default_token_file(path, sizeof(path));
		read_file(path, buf);
		token_file = path;
	}
	end = strlen(buf);
	if (end > TOKEN_MAX)
		die("%s", "the token is longer than 65536 bytes");
	for (start = 0; start < end && strchr(" \t\r\n", buf[start]) != NULL; start++)
		;
	while (end > start && strchr(" \t\r\n", buf[end - 1]) != NULL)
		end--;
	memmove(buf, buf + start, end - start);
	buf[end - start] = '\0';
	if (end == start)
		die("%s", "the token is empty");
	if (!pj_cont_token_chars(buf, end - start))
		die("%s",
		    "the token holds characters no JWT has (it should be three base64url parts with dots)");
	return end - start;
}

/* ---- answers ---- */

static size_t part_size(void)
{
	const char *v = getenv("PAM_JWT_PART_SIZE");
	char *end;
	long n;

	if (v == NULL || v[0] == '\0')
		return PART_DEFAULT;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < PART_MIN || n > PART_MAX)
		die("PAM_JWT_PART_SIZE=%s is not a number from 64 to 1023", v);
	return (size_t)n;
}

/* Prints part `part` of text (see continuation.h): the whole text when it fits in one answer, else chunks
 * of size - 1 bytes, each but the last followed by the marker. *last says whether it was the last part. */
static int print_part(const char *text, size_t len, unsigned part, bool *last)
{
	size_t size = part_size(), chunk = size - 1, n_parts, off, take;

	if (len <= size) {
		if (part != 1)
			die("%s", "asked for a further part of a token that fits in one answer (did the "
			          "token change?)");
		printf("%s\n", text);
		*last = true;
		return fflush(stdout) == 0 ? 0 : 1;
	}
	n_parts = (len + chunk - 1) / chunk;
	if (part > n_parts)
		die("%s",
		    "asked for a part past the end of the token (did the token change between prompts?)");
	off = (part - 1) * chunk;
	take = len - off < chunk ? len - off : chunk;
	printf("%.*s%s\n", (int)take, text + off, part < n_parts ? "\\" : "");
	*last = part == n_parts;
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Only an allowed host gets the token or any part of it. */
static void guard(const char *prompt, struct askpass_peer *peer)
{
	if (!askpass_peer(prompt, peer))
		die("%s", "the prompt's (user@host) prefix is malformed: not answering");
	if (!askpass_host_allowed(peer))
		die("not sending the token to %s: the host is not in PAM_JWT_HOSTS or "
		    "~/.config/pam_jwt/hosts",
		    peer->host);
}

/* Part `part` of the answer: of a DPoP answer (token~proof) kept since part 1, else of the token. */
static int answer_part(const char *prompt, unsigned part)
{
	struct askpass_peer peer;
	static char text[TOKEN_MAX + PJ_DPOP_ANSWER_EXTRA];
	size_t len = 0;
	bool last = false;
	int rc;

	guard(prompt, &peer);
	if (part > 1 && askpass_cache_get(text, sizeof(text), &len)) {
		rc = print_part(text, len, part, &last);
		if (last)
			askpass_cache_drop();
	} else {
		len = load_token(text);
		rc = print_part(text, len, part, &last);
	}
	explicit_bzero(text, sizeof(text));
	return rc;
}

/* The first prompt: only to an allowed host; with a nonce in the prompt and a key beside the token, the
 * token and a fresh proof for this login. */
static int answer_first(const char *prompt)
{
	static char token[TOKEN_MAX + 2], text[TOKEN_MAX + PJ_DPOP_ANSWER_EXTRA];
	char nonce[128], service[128], key[4200];
	struct askpass_peer peer;
	size_t len;
	bool last = false;
	int rc;

	guard(prompt, &peer);
	askpass_cache_drop();
	len = load_token(token);
	if (!askpass_dpop_prompt(prompt, nonce, sizeof(nonce), service, sizeof(service)) ||
	    !askpass_dpop_key(token_file, key, sizeof(key))) {
		rc = print_part(token, len, 1, &last);
		explicit_bzero(token, sizeof(token));
		return rc;
	}
	len = askpass_dpop_answer(token, len, key, &peer, nonce, service, text, sizeof(text));
	explicit_bzero(token, sizeof(token));
	if (len > part_size())
		askpass_cache_put(text, len);
	rc = print_part(text, len, 1, &last);
	explicit_bzero(text, sizeof(text));
	return rc;
}

static int answer_password(const char *prompt)
{
	static char token[TOKEN_MAX + 2];
	struct askpass_peer peer = {.remote = true};
	const char *at = strrchr(prompt, '@'), *end = strstr(prompt, SSH_PASSWORD_SUFFIX);
	size_t len;

	/* "user@host's password: ": the host the OpenSSH client connects to */
	if (at == NULL || end == NULL || end <= at + 1 || (size_t)(end - at - 1) >= sizeof(peer.host))
		die("%s", "cannot tell which host asks for the password: not answering");
	memcpy(peer.host, at + 1, (size_t)(end - at - 1));
	if (!askpass_host_allowed(&peer))
		die("not sending the token to %s: the host is not in PAM_JWT_HOSTS or "
		    "~/.config/pam_jwt/hosts",
		    peer.host);
	len = load_token(token);

	if (len > PJ_CONT_SSH_LIMIT)
		die("%s", "the token is longer than 1023 bytes, which the password method cannot carry: use "
		          "keyboard-interactive (PreferredAuthentications keyboard-interactive)");
	printf("%s\n", token);
	explicit_bzero(token, sizeof(token));
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- any other prompt: the person answers ---- */

static int ask_tty(const char *prompt)
{
	const char *hint = getenv("SSH_ASKPASS_PROMPT");
	bool echo = hint != NULL && strcmp(hint, "confirm") == 0;
	struct termios saved, quiet;
	char line[TTY_ANSWER_MAX + 2];
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY), have_term;
	size_t len = 0;

	if (fd < 0)
		die("%s", "a prompt that is not pam_jwt's, and no terminal to ask on (set "
		          "PAM_JWT_FALLBACK_ASKPASS)");
	if (write(fd, prompt, strlen(prompt)) < 0)
		die("%s", "cannot write to /dev/tty");
	if (hint != NULL && strcmp(hint, "none") == 0) {
		(void)!write(fd, "\n", 1);
		return 0;
	}
	have_term = tcgetattr(fd, &saved) == 0;
	if (have_term && !echo) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	while (len < sizeof(line) - 1 && read(fd, line + len, 1) == 1 && line[len] != '\n')
		len++;
	if (have_term && !echo) {
		tcsetattr(fd, TCSAFLUSH, &saved);
		(void)!write(fd, "\n", 1);
	}
	close(fd);
	line[len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	printf("%s\n", line);
	explicit_bzero(line, sizeof(line));
	return fflush(stdout) == 0 ? 0 : 1;
}

static int fall_through(const char *prompt)
{
	const char *other = getenv("PAM_JWT_FALLBACK_ASKPASS");

	if (other != NULL && other[0] != '\0') {
		/* it answers prompts that are not pam_jwt's: the token is none of its business */
		unsetenv("PAM_JWT_TOKEN");
		execl(other, other, prompt, (char *)NULL);
		die("cannot run PAM_JWT_FALLBACK_ASKPASS %s", other);
	}
	return ask_tty(prompt);
}

static bool is_first_prompt(const char *prompt)
{
	const char *own = getenv("PAM_JWT_PROMPT");

	if (own != NULL && own[0] != '\0')
		return ends_with(prompt, own);
	for (size_t i = 0; i < sizeof(first_prompts) / sizeof(first_prompts[0]); i++)
		if (ends_with(prompt, first_prompts[i]))
			return true;
	return false;
}

static bool env_yes(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && (strcmp(v, "yes") == 0 || strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

/* getopt_long for --help, -h and --version, alone. Anything else that is one argument is the prompt, even
 * when it begins with '-': a client passes its prompt as it is. Returns 'h', 'V', '?' (usage) or 0. */
static int parse_args(int argc, char **argv, const char **prompt)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*prompt = argc == 2 ? argv[1] : "";
	if (argc > 2)
		return '?';
	opterr = 0;
	optind = 0;
	c = getopt_long(argc, argv, "+h", opts, NULL);
	return (c == 'h' || c == 'V') && optind == argc ? c : 0;
}

int main(int argc, char **argv)
{
	const char *prompt;
	unsigned part;

	/* The token is in this process's memory: no core file may keep it, and no other process of the user
	 * (a compromised program ptrace-attaching) may read it. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("%s", "cannot make the process non-dumpable");
	switch (parse_args(argc, argv, &prompt)) {
	case 'h': fputs(usage, stdout); return CLI_EXIT_OK;
	case 'V': puts("pam-jwt-askpass " PACKAGE_VERSION); return CLI_EXIT_OK;
	case '?': fputs(usage, stderr); return CLI_EXIT_USAGE;
	default: break;
	}
	if ((part = pj_cont_prompt_part(prompt)) > 0)
		return answer_part(prompt, part);
	if (is_first_prompt(prompt))
		return answer_first(prompt);
	if (env_yes("PAM_JWT_ANSWER_PASSWORD") && ends_with(prompt, SSH_PASSWORD_SUFFIX))
		return answer_password(prompt);
	return fall_through(prompt);
}
