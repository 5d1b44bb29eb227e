/* ut_files: file-system helpers shared by the unit tests of the modules
 * that write or read files (csv, outfile, model, truth). */
#ifndef UT_FILES_H
#define UT_FILES_H
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "stream.h"

/* How many entries of dir have ".tmp" in their name: the temporary files
 * an atomic write leaves behind, or must not. */
static inline int ut_tmp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return n;
}

/* Write a stream file at path: a header, the n records (taken: freed), and
 * the end record unless truncate. */
static inline void ut_write_stream(const char *path, record_t **recs, size_t n, int truncate)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(EX_IO, "%s: cannot create", path);
	swriter_t *sw = sw_open_fd(fd, path);
	record_t *h = header_new();
	sw_write(sw, h);
	rec_free(h);
	for (size_t i = 0; i < n; i++) {
		sw_write(sw, recs[i]);
		rec_free(recs[i]);
	}
	if (!truncate)
		sw_end(sw);
	sw_close(sw);
}
#endif
