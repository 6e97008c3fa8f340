/* config_file.c: (being written) */
