/* json_strict.c: (being written) */
