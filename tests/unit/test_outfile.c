/* test_outfile: which paths are written atomically, which through; links,
 * fifos and devices keep being what they were; of_check's reasons. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"
#include "ut.h"
#include "ut_files.h"

static char dir[] = "/tmp/test_outfile.XXXXXX";

static const char *at(const char *name)
{
	static char buf[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static int tmp_files(void)
{
	return ut_tmp_files(dir);
}

static void put(const char *path, const char *text)
{
	outfile_t *o = of_open(path);
	fputs(text, of_stdio(o));
	of_commit(o);
}

static int has(const char *path, const char *text)
{
	char buf[256] = {0};
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
	if (fp)
		fclose(fp);
	return n == strlen(text) && memcmp(buf, text, n) == 0;
}

static void test_regular(void)
{
	struct stat st;
	outfile_t *o = of_open(at("new"));  /* does not exist yet: atomic */
	UT_EQ_INT(o->kind, OF_ATOMIC);
	fputs("one\n", of_stdio(o));
	UT_CHECK(access(at("new"), F_OK) != 0);  /* nothing before the commit */
	UT_EQ_INT(tmp_files(), 1);
	of_commit(o);
	UT_EQ_INT(tmp_files(), 0);
	UT_CHECK(has(at("new"), "one\n"));
	put(at("new"), "two\n");     /* a regular file: replaced atomically */
	UT_CHECK(has(at("new"), "two\n"));
	UT_CHECK(stat(at("new"), &st) == 0 && S_ISREG(st.st_mode));
	o = of_open(at("new"));
	fputs("three\n", of_stdio(o));
	of_abort(o);                 /* the old file stays, no temporary */
	UT_CHECK(has(at("new"), "two\n"));
	UT_EQ_INT(tmp_files(), 0);
}

static void test_through(void)
{
	struct stat st;
	outfile_t *o;
	/* a link to a regular file: the link stays, its target is rewritten */
	put(at("target"), "old\n");
	UT_CHECK(symlink("target", at("link")) == 0);
	o = of_open(at("link"));
	UT_EQ_INT(o->kind, OF_THROUGH);
	fputs("new\n", of_stdio(o));
	of_commit(o);
	UT_CHECK(lstat(at("link"), &st) == 0 && S_ISLNK(st.st_mode));
	UT_CHECK(has(at("target"), "new\n"));
	/* a device (and a link to one) is written to, never replaced */
	UT_CHECK(symlink("/dev/null", at("null")) == 0);
	put(at("null"), "gone\n");
	UT_CHECK(lstat(at("null"), &st) == 0 && S_ISLNK(st.st_mode));
	UT_CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	o = of_open("/dev/null");
	UT_EQ_INT(o->kind, OF_THROUGH);
	of_abort(o);
	UT_CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	UT_EQ_INT(tmp_files(), 0);
	o = of_open("-");
	UT_EQ_INT(o->kind, OF_STDOUT);
	UT_CHECK(of_stdio(o) == stdout);
	of_commit(o);
}

static void test_check(void)
{
	char why[256];
	UT_EQ_INT(of_check("-", why, sizeof why), 0);
	UT_EQ_INT(of_check(at("fresh"), why, sizeof why), 0);
	UT_CHECK(access(at("fresh"), F_OK) != 0);  /* the probe left nothing */
	UT_EQ_INT(tmp_files(), 0);
	UT_EQ_INT(of_check(at("new"), why, sizeof why), 0);
	UT_EQ_INT(of_check(at("null"), why, sizeof why), 0);
	UT_EQ_INT(of_check(at("missing/m.mp"), why, sizeof why), -1);
	UT_CHECK(strstr(why, "cannot create a file there") != NULL);
	UT_EQ_INT(of_check(at("new/m.mp"), why, sizeof why), -1);  /* under a file */
	UT_EQ_INT(of_check(dir, why, sizeof why), -1);
	UT_EQ_STR(why, "is a directory");
	UT_EQ_INT(of_check("", why, sizeof why), -1);
}

int main(void)
{
	const char *names[] = {"new", "target", "link", "null"};
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	UT_RUN(test_regular);
	UT_RUN(test_through);
	UT_RUN(test_check);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		unlink(at(names[i]));
	rmdir(dir);
	return ut_done("test_outfile");
}
