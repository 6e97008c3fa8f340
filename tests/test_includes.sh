#!/bin/sh
# test_includes.sh: no include cycle among modules (foo.c + foo.h), and store/ and nss/ include only libc.
# SPDX-License-Identifier: BSD-3-Clause
. "$(dirname "$0")/lib.sh"

# A module is a folder's foo.c and foo.h together. An edge A -> B is an #include "B.h" in A.c or A.h,
# resolved the way the compiler does: next to the including file first, else from the top of the tree
# ("store/store_read.h"). "config.h" is configure's output, not a module.
cd "$TOP_SRCDIR" || exit 1
SRC_DIRS="pam_jwt store nss pam cli"
make_scratch

# include_edges: "FROM TO" per quoted include, modules named folder/stem.
include_edges() {
	for f in $(for d in $SRC_DIRS; do ls "$d"/*.[ch]; done); do
		dir=${f%/*}
		from=${f%.[ch]}
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r inc; do
			[ "$inc" = config.h ] && continue
			if [ -f "$dir/$inc" ]; then
				to="$dir/${inc%.h}"
			elif [ -f "$inc" ]; then
				to=${inc%.h}
			else
				echo "$from UNRESOLVED:$inc"
				continue
			fi
			[ "$to" = "$from" ] || echo "$from $to"
		done
	done | sort -u
}

include_edges >"$SCRATCH/edges"
diag "$(wc -l <"$SCRATCH/edges") include edges between modules"
grep -q UNRESOLVED "$SCRATCH/edges"
[ $? -ne 0 ]
ok $? "every quoted include names a header of the tree ($(grep UNRESOLVED "$SCRATCH/edges" | tr '\n' ' '))"

# tsort orders the modules and names every loop it meets ("tsort: -: input contains a loop:").
tsort "$SCRATCH/edges" >/dev/null 2>"$SCRATCH/loops"
loops=$(grep -v 'input contains a loop' "$SCRATCH/loops" | sed 's/^tsort: //' | tr '\n' ' ')
[ ! -s "$SCRATCH/loops" ]
ok $? "no include cycle among modules (modules in a loop: $loops)"

# The check has teeth: one back edge makes tsort report a loop.
{
	cat "$SCRATCH/edges"
	echo "pam_jwt/error pam_jwt/verify"
} | tsort >/dev/null 2>&1
[ $? -ne 0 ]
ok $? "a made-up back edge error -> verify is found as a cycle (control)"

# store/ and nss/ run inside every process on the host (through NSS): libc and store/ only, so no
# OpenSSL, json-c, curl, PAM or token library header. The C and POSIX headers a libc provides:
LIBC_HEADERS=" assert.h ctype.h dirent.h errno.h fcntl.h fnmatch.h grp.h inttypes.h limits.h locale.h
	nss.h poll.h pthread.h pwd.h sched.h shadow.h signal.h stdalign.h stdarg.h stdatomic.h stdbool.h
	stddef.h stdint.h stdio.h stdlib.h stdnoreturn.h string.h strings.h syslog.h time.h unistd.h
	endian.h byteswap.h
	sys/file.h sys/mman.h sys/random.h sys/stat.h sys/syscall.h sys/time.h sys/types.h sys/uio.h
	sys/wait.h "

# libc_only DIR ALLOWED_QUOTED_PREFIX: prints each include in DIR that is neither libc nor allowed.
libc_only() {
	for f in "$1"/*.[ch]; do
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$f" | while read -r h; do
			case " $(echo $LIBC_HEADERS) " in *" $h "*) ;; *) echo "$f:<$h>" ;; esac
		done
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" | while read -r h; do
			[ "$h" = config.h ] && continue
			[ -f "$1/$h" ] && continue
			case "$h" in "$2"*) ;; *) echo "$f:\"$h\"" ;; esac
		done
	done
}

bad=$(libc_only store store/ | tr '\n' ' ')
[ -z "$bad" ]
ok $? "store/ includes only libc and store/ headers (found: $bad)"
bad=$(libc_only nss store/ | tr '\n' ' ')
[ -z "$bad" ]
ok $? "nss/ includes only libc and store/ headers, nothing of pam_jwt/ (found: $bad)"

# libcurl and libqrencode come only through the loader (pam_jwt/lazy_lib.c): no other dlopen, no direct
# call of a curl_* or QRcode_* function (the callers go through its tables), and their headers only in
# pam_jwt/ (for the types). test_lazy_libs.sh checks the built artifacts (NEEDED, what a login loads).
bad=$(grep -n 'dlopen *(' $(for d in $SRC_DIRS; do ls "$d"/*.[ch]; done) | grep -v '^pam_jwt/lazy_lib\.c:' | tr '\n' ' ')
[ -z "$bad" ]
ok $? "dlopen only in pam_jwt/lazy_lib.c (found: $bad)"
bad=$(grep -nE '(^|[^"a-zA-Z_>.])(curl_[a-z_]+|QRcode_[A-Za-z0-9_]+) *\(' \
	$(for d in $SRC_DIRS; do ls "$d"/*.[ch]; done) | grep -v '^pam_jwt/lazy_lib\.c:[0-9]*:static bool curl_init' |
	tr '\n' ' ')
[ -z "$bad" ]
ok $? "no direct call of a libcurl or libqrencode function (found: $bad)"
bad=$(grep -lE '#[[:space:]]*include[[:space:]]*<(curl/|qrencode\.h)' $(for d in store nss pam cli; do ls "$d"/*.[ch]; done) |
	tr '\n' ' ')
[ -z "$bad" ]
ok $? "libcurl and libqrencode headers only in pam_jwt/ (found: $bad)"

# The check has teeth: a file of store/ that includes OpenSSL or the token library is found.
mkdir -p "$SCRATCH/teeth/store"
printf '#include <openssl/evp.h>\n#include "pam_jwt/error.h"\n#include <string.h>\n' \
	>"$SCRATCH/teeth/store/bad.c"
bad=$(cd "$SCRATCH/teeth" && libc_only store store/ | tr '\n' ' ')
[ "$bad" = 'store/bad.c:<openssl/evp.h> store/bad.c:"pam_jwt/error.h" ' ]
ok $? "a store/ file including <openssl/evp.h> and \"pam_jwt/error.h\" is refused (control: $bad)"
done_testing
