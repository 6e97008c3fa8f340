#!/bin/sh
# test_man.sh: the manual pages in man/ are mandoc -Tlint clean and pam_jwt.conf(5) and pam_jwt(8) document
# exactly the configuration keys of pam_jwt/config_file.c and the module arguments of pam/pam_module.c.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

command -v mandoc >/dev/null 2>&1 || skip_all "mandoc not found (Debian package mandoc; tests/install-deps.sh)"
make_scratch
PAGES="pam_jwt.8 pam_jwt.conf.5 nss-jwt.8 pam-jwt.1 pam-jwt-askpass.1"

# Every message down to style level counts, except the two that depend on which other pages this machine
# has installed (a cross reference to a page not installed here, a stale mandoc.db).
for page in $PAGES; do
	mandoc -Tlint -Wstyle "$TOP_SRCDIR/man/$page" >"$SCRATCH/lint" 2>&1
	grep -v -e 'referenced manual not found' -e 'mandoc\.db' "$SCRATCH/lint" >"$SCRATCH/lint.left"
	[ ! -s "$SCRATCH/lint.left" ]
	ok $? "mandoc -Tlint: $page is clean"
	sed 's/^/# /' "$SCRATCH/lint.left"
done

# words SET: one word a line, sorted, unique.
words() { tr ' ' '\n' | sed '/^$/d' | sort -u; }

# compare WHAT CODE_LIST PAGE_LIST: the page documents exactly what the code has.
compare() {
	missing=$(comm -23 "$2" "$3" | tr '\n' ' ')
	extra=$(comm -13 "$2" "$3" | tr '\n' ' ')
	[ -s "$2" ]
	ok $? "$1: the code's list is not empty ($(wc -l <"$2") entries)"
	[ -z "$missing" ]
	ok $? "$1: every one is documented (missing: $missing)"
	[ -z "$extra" ]
	ok $? "$1: the page names none that does not exist (extra: $extra)"
}

# The config keys: the first string of each row of the cf_keys table ("GKEY("name", ..." or "{ "name", ...").
sed -n '/^static const struct cf_key cf_keys\[\] = {/,/^};/p' "$TOP_SRCDIR/pam_jwt/config_file.c" |
	sed -n 's/^[[:space:]]*\([A-Z_]*(\|{\)[[:space:]]*"\([a-z0-9_]*\)".*/\2/p' | words >"$SCRATCH/keys.code"
# The page: each key is an ".It Cm KEY" item.
sed -n 's/^\.It Cm \([a-z0-9_]*\)$/\1/p' "$TOP_SRCDIR/man/pam_jwt.conf.5" | words >"$SCRATCH/keys.page"
compare "pam_jwt.conf(5) keys" "$SCRATCH/keys.code" "$SCRATCH/keys.page"

# The module arguments: the rows of arg_table; the page: ".It Cm NAME" or ".It Cm NAME= Ns ...".
sed -n '/^} arg_table\[\] = {/,/^};/p' "$TOP_SRCDIR/pam/pam_module.c" |
	sed -n 's/^[[:space:]]*{"\([a-z_]*\)".*/\1/p' | words >"$SCRATCH/args.code"
sed -n '/^\.Sh OPTIONS/,/^\.Sh /p' "$TOP_SRCDIR/man/pam_jwt.8" |
	sed -n 's/^\.It Cm \([a-z_]*\).*/\1/p' | words >"$SCRATCH/args.page"
compare "pam_jwt(8) module arguments" "$SCRATCH/args.code" "$SCRATCH/args.page"

# The programs' long options: every getopt_long table row in cli/ (and --config, which CLI_OPTION_CONFIG
# spells) against the page's "Fl -NAME"; pam-jwt-askpass has its own page.
options_of() { # FILE... -> option names
	grep -ho '{"[a-z][a-z-]*", *\(required\|no\|optional\)_argument' "$@" | sed 's/^{"\([^"]*\)".*/\1/'
	grep -l 'CLI_OPTION_CONFIG' "$@" >/dev/null && echo config
}
options_of $(ls "$TOP_SRCDIR"/cli/*.c | grep -v '/askpass\.c$') | words >"$SCRATCH/opts.code"
grep -o 'Fl -[a-z][a-z-]*' "$TOP_SRCDIR/man/pam-jwt.1" | sed 's/^Fl -//' | words >"$SCRATCH/opts.page"
compare "pam-jwt(1) options" "$SCRATCH/opts.code" "$SCRATCH/opts.page"
options_of "$TOP_SRCDIR/cli/askpass.c" | words >"$SCRATCH/aopts.code"
grep -o 'Fl -[a-z][a-z-]*' "$TOP_SRCDIR/man/pam-jwt-askpass.1" | sed 's/^Fl -//' | words >"$SCRATCH/aopts.page"
compare "pam-jwt-askpass(1) options" "$SCRATCH/aopts.code" "$SCRATCH/aopts.page"

# Every page is installed (Makefile.am) and shipped by the packages (Debian .manpages, the RPM spec).
for page in $PAGES; do
	grep -q "man/$page" "$TOP_SRCDIR/Makefile.am"
	ok $? "Makefile.am installs man/$page"
	sec=${page##*.}
	cat "$TOP_SRCDIR"/packaging/debian/*.install | grep -qx "usr/share/man/man$sec/$page"
	ok $? "a Debian package ships $page (debian/*.install)"
	grep -q "%{_mandir}/man$sec/${page%.*}\.$sec" "$TOP_SRCDIR/packaging/rpm/pam_jwt.spec"
	ok $? "the RPM spec ships ${page%.*}.$sec"
done

done_testing
