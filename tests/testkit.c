/* testkit.c: (being written) */
