# lib.sh: shared helpers for the shell tests
