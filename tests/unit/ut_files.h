/* ut_files: file-system helpers shared by the unit tests of the modules
 * that write files (csv, outfile). */
#ifndef UT_FILES_H
#define UT_FILES_H
#include <dirent.h>
#include <string.h>

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
#endif
