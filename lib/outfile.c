/* outfile: see outfile.h */
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"

/* Temporary files not yet committed, removed at exit (die() included). */
static char *pending[16];

static void cleanup(void)
{
	for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
		if (pending[i])
			unlink(pending[i]);
}

static void track(char *tmp, int on)
{
	static int registered;
	if (!registered) {
		atexit(cleanup);
		registered = 1;
	}
	for (size_t i = 0; i < sizeof pending / sizeof *pending; i++)
		if (on ? !pending[i] : pending[i] == tmp) {
			pending[i] = on ? tmp : NULL;
			return;
		}
	if (on)
		die(EX_IO, "%s: too many output files open at once", tmp);
}

/* PATH.tmpXXXXXX beside path, created; returns the fd or -1 (errno). */
static int mktemp_beside(const char *path, char **tmp)
{
	*tmp = xmalloc(strlen(path) + 16);
	strcpy(*tmp, path);
	strcat(*tmp, ".tmpXXXXXX");
	return mkstemp(*tmp);
}

outfile_t *of_open(const char *path)
{
	outfile_t *o = xcalloc(1, sizeof *o);
	struct stat st;

	/* a reader gone from a pipe or fifo is EPIPE, which edie ends quietly
	 * after the exit handlers removed our temporary files */
	signal(SIGPIPE, SIG_IGN);
	o->path = xstrdup(path);
	if (strcmp(path, "-") == 0) {
		o->fd = 1;
		o->kind = OF_STDOUT;
		return o;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/* a link, a device, a fifo: written through, never replaced */
		if (S_ISDIR(st.st_mode))
			die(EX_IO, "%s: is a directory", path);
		o->fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (o->fd < 0)
			edie(EX_IO, "%s", path);
		o->kind = OF_THROUGH;
		return o;
	}
	o->fd = mktemp_beside(path, &o->tmp);
	if (o->fd < 0)
		edie(EX_IO, "%s: cannot create a temporary file beside it", path);
	mode_t um = umask(0);  /* mkstemp makes 0600: give the usual mode */
	umask(um);
	(void)fchmod(o->fd, 0666 & ~um);
	o->kind = OF_ATOMIC;
	track(o->tmp, 1);
	return o;
}

FILE *of_stdio(outfile_t *o)
{
	if (!o->fp) {
		o->fp = o->kind == OF_STDOUT ? stdout : fdopen(o->fd, "w");
		if (!o->fp)
			edie(EX_IO, "%s", o->path);
	}
	return o->fp;
}

static void of_free(outfile_t *o)
{
	free(o->path);
	free(o->tmp);
	free(o);
}

void of_commit(outfile_t *o)
{
	if (o->fp && (fflush(o->fp) != 0 || ferror(o->fp)))
		edie(EX_IO, "%s: write error", o->path);
	if (o->kind == OF_STDOUT) {
		of_free(o);
		return;
	}
	/* fsync so that the rename never shows an empty file after a crash
	 * (EINVAL: a device or fifo written through has nothing to sync) */
	if (fsync(o->fd) != 0 && errno != EINVAL)
		edie(EX_IO, "%s: fsync", o->path);
	if ((o->fp ? fclose(o->fp) : close(o->fd)) != 0)
		edie(EX_IO, "%s: close error", o->path);
	if (o->kind == OF_ATOMIC) {
		if (rename(o->tmp, o->path) != 0)
			edie(EX_IO, "%s: cannot rename %s over it", o->path, o->tmp);
		track(o->tmp, 0);
	}
	of_free(o);
}

void of_abort(outfile_t *o)
{
	if (!o)
		return;
	if (o->kind == OF_STDOUT) {
		if (o->fp)
			fflush(o->fp);
		of_free(o);
		return;
	}
	if (o->fp)
		fclose(o->fp);
	else
		close(o->fd);
	if (o->kind == OF_ATOMIC) {
		unlink(o->tmp);
		track(o->tmp, 0);
	}
	of_free(o);
}

int of_check(const char *path, char *why, size_t whylen)
{
	struct stat st;
	char *tmp;
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	if (*path == '\0') {
		snprintf(why, whylen, "an empty file name");
		return -1;
	}
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode) || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
			snprintf(why, whylen, "is a directory");
			return -1;
		}
		if (access(path, W_OK) != 0) {
			snprintf(why, whylen, "cannot write to it: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	fd = mktemp_beside(path, &tmp);
	if (fd < 0) {
		snprintf(why, whylen, "cannot create a file there: %s", strerror(errno));
		free(tmp);
		return -1;
	}
	close(fd);
	unlink(tmp);
	free(tmp);
	return 0;
}
