#!/bin/sh
# test_pamtester.sh: (being written)
echo "1..0 # SKIP not written"
