/* test_progress: the status line's delay and throttle on a fake clock, what
 * it writes (\r, blanks over a longer line, the clear), off means not one
 * byte, and the number formats. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "progress.h"
#include "ut.h"

static double fake_now;
static double fake_clock(void) { return fake_now; }

static char tmpl[] = "/tmp/test_progress.XXXXXX";

/* everything written to fd so far, from the start */
static const char *written(int fd)
{
	static char buf[4096];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static int fresh(void)
{
	int fd = mkstemp(tmpl);
	if (fd < 0) {
		perror("mkstemp");
		exit(1);
	}
	unlink(tmpl);
	memcpy(tmpl + strlen(tmpl) - 6, "XXXXXX", 6);
	return fd;
}

static void test_delay_and_throttle(void)
{
	progress_t p;
	int fd = fresh();
	fake_now = 100;   /* any start: only differences count */
	progress_init_with(&p, fd, 1.5, fake_clock);
	UT_CHECK(!progress_due(&p));
	fake_now = 101.49;   /* still inside the delay */
	UT_CHECK(!progress_due(&p));
	fake_now = 101.5;
	UT_CHECK(progress_due(&p));
	progress_show(&p, "a");
	fake_now = 101.5 + PROGRESS_EVERY / 2;   /* too soon after a line */
	UT_CHECK(!progress_due(&p));
	fake_now = 101.5 + PROGRESS_EVERY;
	UT_CHECK(progress_due(&p));
	progress_show(&p, "b");
	progress_clear(&p);   /* after a clear, the next tick redraws at once */
	UT_CHECK(progress_due(&p));
	UT_NEAR(progress_elapsed(&p), 1.5 + PROGRESS_EVERY, 1e-9);
	close(fd);
}

static void test_zero_delay(void)
{
	progress_t p;
	int fd = fresh();
	fake_now = 0;
	progress_init_with(&p, fd, 0, fake_clock);   /* TPU_PROGRESS_DELAY=0 */
	UT_CHECK(progress_due(&p));
	close(fd);
}

static void test_bytes_written(void)
{
	progress_t p;
	int fd = fresh();
	fake_now = 0;
	progress_init_with(&p, fd, 0, fake_clock);
	progress_clear(&p);   /* nothing on screen: nothing to clear */
	UT_EQ_STR(written(fd), "");
	progress_show(&p, "npz2mp: 10/20");
	UT_EQ_STR(written(fd), "\rnpz2mp: 10/20");
	progress_show(&p, "npz2mp: 9");   /* shorter: blanks over the rest */
	UT_EQ_STR(written(fd), "\rnpz2mp: 10/20\rnpz2mp: 9    ");
	progress_end(&p);
	UT_EQ_STR(written(fd), "\rnpz2mp: 10/20\rnpz2mp: 9    \r         \r");
	progress_show(&p, "after the end");   /* off now */
	UT_CHECK(!progress_due(&p));
	UT_EQ_STR(written(fd), "\rnpz2mp: 10/20\rnpz2mp: 9    \r         \r");
	close(fd);
}

static void test_cut_to_width(void)
{
	progress_t p;
	int fd = fresh();
	fake_now = 0;
	progress_init_with(&p, fd, 0, fake_clock);
	p.cols = 5;   /* a narrow terminal: a wrapped line could not be rewritten */
	progress_show(&p, "abcdefgh");
	UT_EQ_STR(written(fd), "\rabcde");
	close(fd);
}

static void test_clear_active(void)
{
	progress_t p;
	int fd = fresh();
	fake_now = 0;
	progress_init_with(&p, fd, 0, fake_clock);
	progress_show(&p, "xyz");
	progress_clear_active();   /* what warnx/die call before their message */
	UT_EQ_STR(written(fd), "\rxyz\r   \r");
	progress_clear_active();   /* nothing shown any more: no bytes */
	UT_EQ_STR(written(fd), "\rxyz\r   \r");
	close(fd);
}

static void test_off_when_not_a_terminal(void)
{
	progress_t p;
	int fd = fresh();   /* a regular file, as stderr to a log */
	setenv("TPU_PROGRESS_DELAY", "0", 1);
	progress_init(&p, fd, 0);
	UT_CHECK(!progress_due(&p));
	progress_show(&p, "never");
	progress_end(&p);
	UT_EQ_STR(written(fd), "");
	close(fd);
}

static void test_formats(void)
{
	char b[64];
	UT_EQ_STR(progress_bytes(b, sizeof b, 17), "17 B");
	UT_EQ_STR(progress_bytes(b, sizeof b, 999), "999 B");
	UT_EQ_STR(progress_bytes(b, sizeof b, 1000), "1.0 kB");
	UT_EQ_STR(progress_bytes(b, sizeof b, 950e3), "950 kB");
	UT_EQ_STR(progress_bytes(b, sizeof b, 2.1e9), "2.1 GB");
	UT_EQ_STR(progress_bytes(b, sizeof b, 12.4e9), "12 GB");
	UT_EQ_STR(progress_secs(b, sizeof b, 0), "0 s");
	UT_EQ_STR(progress_secs(b, sizeof b, 35.2), "35 s");
	UT_EQ_STR(progress_secs(b, sizeof b, 245), "4 min 05 s");
	UT_EQ_STR(progress_secs(b, sizeof b, 7380), "2 h 03 min");
	UT_EQ_STR(progress_secs(b, sizeof b, -3), "0 s");     /* a clock that stepped */
	UT_EQ_STR(progress_secs(b, sizeof b, 1e300), "0 s");  /* ETA from nothing done */
	UT_EQ_STR(progress_count(b, sizeof b, 0), "0");
	UT_EQ_STR(progress_count(b, sizeof b, 999), "999");
	UT_EQ_STR(progress_count(b, sizeof b, 1000), "1,000");
	UT_EQ_STR(progress_count(b, sizeof b, 120000), "120,000");
	UT_EQ_STR(progress_count(b, sizeof b, 1234567), "1,234,567");
	UT_EQ_STR(progress_count(b, 4, 1234567), "1,2");   /* cut, still terminated */
}

int main(void)
{
	UT_RUN(test_delay_and_throttle);
	UT_RUN(test_zero_delay);
	UT_RUN(test_bytes_written);
	UT_RUN(test_cut_to_width);
	UT_RUN(test_clear_active);
	UT_RUN(test_off_when_not_a_terminal);
	UT_RUN(test_formats);
	return ut_done("test_progress");
}
