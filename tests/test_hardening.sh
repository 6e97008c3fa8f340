#!/bin/sh
# test_hardening.sh: every installed ELF file carries the hardening configure.ac asks for (readelf, objdump).
# SPDX-License-Identifier: BSD-3-Clause
# relro + bind now, no executable stack, PIE programs, stack protector, _FORTIFY_SOURCE (its _chk calls),
# -fcf-protection (endbr64 at global function entries) and -fstack-clash-protection (every compilation unit's
# DW_AT_producer names it, as it names -fcf-protection and -fstack-protector-strong).
. "$(dirname "$0")/lib.sh"

command -v readelf >/dev/null 2>&1 && command -v objdump >/dev/null 2>&1 || skip_all "no readelf/objdump (binutils)"
san_skip_all "ASan replaces _FORTIFY_SOURCE there (configure.ac); the plain build checks the hardening"
umask 022
make_scratch
dest="$SCRATCH/root"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$TOP_BUILDDIR" install DESTDIR="$dest" >"$SCRATCH/install.log" 2>&1
ok $? "make install DESTDIR=... succeeds"

# the installed ELF files (not the symlinks): the PAM module, the NSS module, the two programs
elves=$(find "$dest" -type f | while read -r f; do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && echo "$f"
done)
[ "$(echo "$elves" | wc -w)" -eq 4 ]
ok $? "four ELF files installed ($(echo "$elves" | sed "s|$dest||g" | tr '\n' ' '))"

for f in $elves; do
	name=${f#"$dest"}
	readelf -lW "$f" >"$SCRATCH/phdr" && readelf -dW "$f" >"$SCRATCH/dyn" && readelf -hW "$f" >"$SCRATCH/hdr" &&
		readelf -sW --dyn-syms "$f" >"$SCRATCH/dynsym" || { ok 1 "$name: readelf reads it"; continue; }
	grep -q GNU_RELRO "$SCRATCH/phdr"
	ok $? "$name: relro (GNU_RELRO segment)"
	grep -qE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' "$SCRATCH/dyn"
	ok $? "$name: bind now (-z now)"
	grep GNU_STACK "$SCRATCH/phdr" | grep -qE ' RW  '
	ok $? "$name: no executable stack (GNU_STACK is RW)"
	grep -q 'Type: *DYN' "$SCRATCH/hdr"
	ok $? "$name: position independent (ELF type DYN)"
	case $name in */bin/*)
		grep -qE '\(FLAGS_1\).*PIE' "$SCRATCH/dyn"
		ok $? "$name: a PIE program (FLAGS_1 PIE)"
		;;
	esac
	grep -q ' UND __stack_chk_fail' "$SCRATCH/dynsym"
	ok $? "$name: stack protector (calls __stack_chk_fail)"
	grep -E ' UND __[a-z0-9_]+_chk(@| |$)' "$SCRATCH/dynsym" | grep -qv __stack_chk_fail
	ok $? "$name: _FORTIFY_SOURCE (calls checked _chk functions: $(grep -oE '__[a-z0-9_]+_chk' "$SCRATCH/dynsym" |
		grep -v __stack_chk_fail | sort -u | head -3 | tr '\n' ' '))"
	# the first instruction of every global function (not static ones whose address is never taken,
	# which need no landing pad; not libc's start files) is endbr64
	nm -g --defined-only "$f" | awk '$2 == "T" && $3 !~ /^_(init|fini|start)$/ { print $3 }' | sort -u >"$SCRATCH/globals"
	objdump -d --no-show-raw-insn "$f" | awk -v list="$SCRATCH/globals" '
		BEGIN { while ((getline g < list) > 0) want[g] = 1 }
		/^[0-9a-f]+ <[^>]+>:$/ { fn = substr($2, 2, length($2) - 3); first = (fn in want); next }
		first && /^ *[0-9a-f]+:/ { first = 0; n++; if ($2 != "endbr64") { bad++; if (bad < 4) print fn } }
		END { printf "%d %d\n", n, bad }' >"$SCRATCH/cet"
	total=$(tail -1 "$SCRATCH/cet" | cut -d' ' -f1) bad=$(tail -1 "$SCRATCH/cet" | cut -d' ' -f2)
	[ "$total" -gt 0 ] && [ "$total" -eq "$(wc -l <"$SCRATCH/globals")" ] && [ "$bad" -eq 0 ]
	ok $? "$name: -fcf-protection: all $total global functions start with endbr64 ($bad do not: $(head -n -1 "$SCRATCH/cet" | tr '\n' ' '))"
	# every compilation unit of ours was compiled with the flags (the crt files of libc are not ours)
	readelf --debug-dump=info "$f" 2>/dev/null | grep 'DW_AT_producer' | grep -v 'GNU AS' >"$SCRATCH/producers"
	units=$(wc -l <"$SCRATCH/producers")
	for flag in -fstack-clash-protection -fcf-protection -fstack-protector-strong; do
		missing=$(grep -cv -- "$flag" "$SCRATCH/producers")
		[ "$units" -gt 0 ] && [ "$missing" -eq 0 ]
		ok $? "$name: $flag in all $units compilation units ($missing without)"
	done
done
done_testing
