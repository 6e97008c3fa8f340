#!/bin/sh
# test_symbols.sh: (being written)
echo "1..0 # SKIP not written"
