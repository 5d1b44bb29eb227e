/* inflate: time one raw DEFLATE stream inflated by zlib, ISA-L or libdeflate,
 * CRC-32 of the output included; for bench/npz2mp.sh.
 * usage: inflate zlib|isal|libdeflate FILE USIZE CRC   (prints best-of-3 seconds)
 * zlib and ISA-L stream into a 4 MiB buffer; libdeflate (no streaming API)
 * inflates into one USIZE buffer.  Exit 1 when the output size or CRC is wrong. */
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>
#include <zlib.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OUT (4u << 20)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int run_zlib(const unsigned char *in, size_t n, unsigned char *out, size_t *total, uint32_t *crc)
{
	z_stream zs;
	int ret;
	memset(&zs, 0, sizeof zs);
	if (inflateInit2(&zs, -MAX_WBITS) != Z_OK)
		return -1;
	zs.next_in = (unsigned char *)in;
	zs.avail_in = (uInt)n;  /* the bench member is < 4 GiB compressed */
	*total = 0;
	*crc = (uint32_t)crc32(0, Z_NULL, 0);
	do {
		zs.next_out = out;
		zs.avail_out = OUT;
		ret = inflate(&zs, Z_NO_FLUSH);
		if (ret != Z_OK && ret != Z_STREAM_END)
			return -1;
		*crc = (uint32_t)crc32(*crc, out, OUT - zs.avail_out);
		*total += OUT - zs.avail_out;
	} while (ret != Z_STREAM_END);
	inflateEnd(&zs);
	return 0;
}

static int run_isal(const unsigned char *in, size_t n, unsigned char *out, size_t *total, uint32_t *crc)
{
	struct inflate_state *st = malloc(sizeof *st);
	isal_inflate_init(st);
	st->next_in = (uint8_t *)in;
	st->avail_in = (uint32_t)n;
	*total = 0;
	*crc = 0;
	while (st->block_state != ISAL_BLOCK_FINISH) {
		int ret;
		st->next_out = out;
		st->avail_out = OUT;
		ret = isal_inflate(st);
		if (ret < 0) {
			free(st);
			return -1;
		}
		*crc = crc32_gzip_refl(*crc, out, OUT - st->avail_out);
		*total += OUT - st->avail_out;
		if (st->avail_out == OUT && st->block_state != ISAL_BLOCK_FINISH) {
			free(st);
			return -1;  /* no progress: truncated */
		}
	}
	free(st);
	return 0;
}

static int run_libdeflate(const unsigned char *in, size_t n, unsigned char *out, size_t usize, size_t *total, uint32_t *crc)
{
	struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
	int ret = libdeflate_deflate_decompress(d, in, n, out, usize, total);
	libdeflate_free_decompressor(d);
	if (ret != LIBDEFLATE_SUCCESS)
		return -1;
	*crc = libdeflate_crc32(0, out, *total);
	return 0;
}

int main(int argc, char **argv)
{
	FILE *f;
	unsigned char *in, *out;
	size_t n, usize, total = 0;
	uint32_t want, crc = 0;
	double best = 1e30;
	long sz;
	if (argc != 5) {
		fprintf(stderr, "usage: inflate zlib|isal|libdeflate FILE USIZE CRC\n");
		return 2;
	}
	usize = strtoull(argv[3], NULL, 10);
	want = (uint32_t)strtoul(argv[4], NULL, 10);
	f = fopen(argv[2], "rb");
	if (!f || fseek(f, 0, SEEK_END) || (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		perror(argv[2]);
		return 3;
	}
	n = (size_t)sz;
	in = malloc(n);
	if (!in || fread(in, 1, n, f) != n) {
		perror(argv[2]);
		return 3;
	}
	fclose(f);
	out = malloc(strcmp(argv[1], "libdeflate") == 0 ? usize : OUT);
	if (!out)
		return 3;
	for (int rep = 0; rep < 3; rep++) {
		double t0 = now(), t;
		int rc = !strcmp(argv[1], "zlib") ? run_zlib(in, n, out, &total, &crc)
		       : !strcmp(argv[1], "isal") ? run_isal(in, n, out, &total, &crc)
		       : run_libdeflate(in, n, out, usize, &total, &crc);
		t = now() - t0;
		if (rc || total != usize || crc != want) {
			fprintf(stderr, "inflate: %s: bad output (%zu bytes, crc %08x, want %zu, %08x)\n",
				argv[1], total, crc, usize, want);
			return 1;
		}
		if (t < best)
			best = t;
	}
	printf("%.3f\n", best);
	free(in);
	free(out);
	return 0;
}
