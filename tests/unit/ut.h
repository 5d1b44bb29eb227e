/* ut: a minimal unit-test harness.  Each test binary ends by printing
 * "NAME: N passed, N failed" and exits non-zero on any failure. */
#ifndef UT_H
#define UT_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ut_pass, ut_fail;
static const char *ut_test = "";

#define UT_CHECK(cond) ut_check((cond), #cond, __FILE__, __LINE__)
#define UT_EQ_INT(a, b) ut_eq_int((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
#define UT_EQ_STR(a, b) ut_eq_str((a), (b), #a, #b, __FILE__, __LINE__)
#define UT_NEAR(a, b, tol) ut_near((double)(a), (double)(b), (double)(tol), #a, #b, __FILE__, __LINE__)
#define UT_RUN(fn) do { ut_test = #fn; fn(); } while (0)

static inline int ut_check(int ok, const char *what, const char *file, int line)
{
	if (ok) { ut_pass++; return 1; }
	ut_fail++;
	fprintf(stderr, "FAIL %s (%s:%d): %s\n", ut_test, file, line, what);
	return 0;
}

static inline int ut_eq_int(long long a, long long b, const char *sa, const char *sb,
			    const char *file, int line)
{
	if (a == b) { ut_pass++; return 1; }
	ut_fail++;
	fprintf(stderr, "FAIL %s (%s:%d): %s == %s (%lld != %lld)\n",
		ut_test, file, line, sa, sb, a, b);
	return 0;
}

static inline int ut_eq_str(const char *a, const char *b, const char *sa, const char *sb,
			    const char *file, int line)
{
	if (a && b && strcmp(a, b) == 0) { ut_pass++; return 1; }
	ut_fail++;
	fprintf(stderr, "FAIL %s (%s:%d): %s == %s (\"%s\" != \"%s\")\n",
		ut_test, file, line, sa, sb, a ? a : "(null)", b ? b : "(null)");
	return 0;
}

static inline int ut_near(double a, double b, double tol, const char *sa, const char *sb,
			  const char *file, int line)
{
	if (fabs(a - b) <= tol) { ut_pass++; return 1; }
	ut_fail++;
	fprintf(stderr, "FAIL %s (%s:%d): %s ~ %s (%.9g vs %.9g, tol %g)\n",
		ut_test, file, line, sa, sb, a, b, tol);
	return 0;
}

static inline int ut_done(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, ut_pass, ut_fail);
	return ut_fail ? 1 : 0;
}

#endif
