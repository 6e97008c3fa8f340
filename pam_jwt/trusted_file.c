/* trusted_file.c: (being written) */
