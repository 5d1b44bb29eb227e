/* nn_gemm.h: the register-tiled GEMM kernels of nn.c, written once and
 * included once per instruction set (a C template; only nn.c includes it).
 * Before each inclusion nn.c defines
 *   GEMM_ISA      the kernels' name suffix: avx512, avx2, sse
 *   GEMM_TARGET   their function attributes (a target, or nothing)
 *   GEMM_VBYTES   the vector size in bytes: 64, 32, 16
 *   GEMM_MR       output rows per register tile
 * A register tile is GEMM_MR rows by two vectors of columns, as many as the
 * instruction set's registers hold.  Every output element is summed in the
 * same order whatever these are (nn.c, "One summation order on every
 * CPU"), so the three instantiations give the same bits. */

#define GEMM_CAT2(a, b) a##_##b
#define GEMM_CAT(a, b) GEMM_CAT2(a, b)
#define GEMM_VT GEMM_CAT(vec, GEMM_ISA)       /* the vector type */
#define GEMM_VL (GEMM_VBYTES / 4)             /* floats per vector */
#define GEMM_NR (2 * GEMM_VL)                 /* columns per register tile */
/* (memcpy, not a function: a vector passed by value draws GCC's ABI note) */
#define GEMM_LOAD(v, p) memcpy(&(v), (p), sizeof(GEMM_VT))
#define GEMM_STORE(p, v) memcpy((p), &(v), sizeof(GEMM_VT))

typedef float GEMM_VT __attribute__((vector_size(GEMM_VBYTES)));

/* C (M x N, row stride ldc) = [C +] [bias +] A (M x K, stride lda) . Bp,
 * Bp (K x Np) row-major with Np a multiple of NR (32, a multiple of every
 * GEMM_NR), zero beyond N; bias_p (Np) zero-padded or NULL. */
GEMM_TARGET static void GEMM_CAT(gemm_ab, GEMM_ISA)(float *C, size_t ldc, int add_c,
						    const float *bias_p, const float *A,
						    size_t lda, const float *Bp, size_t Np,
						    size_t M, size_t K, size_t N)
{
	for (size_t m = 0; m < M; m += GEMM_MR) {
		size_t mr = M - m < GEMM_MR ? M - m : GEMM_MR;
		const float *a = A + m * lda;
		for (size_t n0 = 0; n0 < N; n0 += GEMM_NR) {
			size_t nr = N - n0 < GEMM_NR ? N - n0 : GEMM_NR;
			GEMM_VT acc[GEMM_MR][2], z0 = { 0 }, z1 = { 0 };
			if (bias_p) {
				GEMM_LOAD(z0, bias_p + n0);
				GEMM_LOAD(z1, bias_p + n0 + GEMM_VL);
			}
			#pragma GCC unroll 8
			for (int r = 0; r < GEMM_MR; r++) {
				acc[r][0] = z0;
				acc[r][1] = z1;
			}
			const float *bp = Bp + n0;
			if (mr == GEMM_MR) {
				for (size_t k = 0; k < K; k++) {
					GEMM_VT b0, b1;
					GEMM_LOAD(b0, bp + k * Np);
					GEMM_LOAD(b1, bp + k * Np + GEMM_VL);
					#pragma GCC unroll 8
					for (int r = 0; r < GEMM_MR; r++) {
						float s = a[(size_t)r * lda + k];
						acc[r][0] += s * b0;
						acc[r][1] += s * b1;
					}
				}
			} else {
				for (size_t k = 0; k < K; k++) {
					GEMM_VT b0, b1;
					GEMM_LOAD(b0, bp + k * Np);
					GEMM_LOAD(b1, bp + k * Np + GEMM_VL);
					for (size_t r = 0; r < mr; r++) {
						float s = a[r * lda + k];
						acc[r][0] += s * b0;
						acc[r][1] += s * b1;
					}
				}
			}
			for (size_t r = 0; r < mr; r++) {
				float *c = C + (m + r) * ldc + n0;
				if (nr == GEMM_NR) {
					if (add_c) {
						GEMM_VT c0, c1;
						GEMM_LOAD(c0, c);
						GEMM_LOAD(c1, c + GEMM_VL);
						acc[r][0] += c0;
						acc[r][1] += c1;
					}
					GEMM_STORE(c, acc[r][0]);
					GEMM_STORE(c + GEMM_VL, acc[r][1]);
				} else {
					float t[GEMM_NR];
					GEMM_STORE(t, acc[r][0]);
					GEMM_STORE(t + GEMM_VL, acc[r][1]);
					for (size_t j = 0; j < nr; j++)
						c[j] = add_c ? c[j] + t[j] : t[j];
				}
			}
		}
	}
}

/* C (N1 x N2, row stride ldc) += A^T . B over M rows: A (M x N1, stride
 * lda), B (M x N2, stride ldb).  Rows are taken ATB_CHUNK at a time, each
 * chunk's sums added to C, so that the A and B rows of a pass stay in cache
 * while every tile of C goes over them. */
GEMM_TARGET static void GEMM_CAT(gemm_atb, GEMM_ISA)(float *C, size_t ldc, const float *A,
						     size_t lda, const float *B, size_t ldb,
						     size_t M, size_t N1, size_t N2)
{
	for (size_t m0 = 0; m0 < M; m0 += ATB_CHUNK) {
		size_t m1 = M - m0 < ATB_CHUNK ? M : m0 + ATB_CHUNK;
		for (size_t i0 = 0; i0 < N1; i0 += GEMM_MR) {
			size_t ir = N1 - i0 < GEMM_MR ? N1 - i0 : GEMM_MR;
			for (size_t j0 = 0; j0 < N2; j0 += GEMM_NR) {
				size_t jr = N2 - j0 < GEMM_NR ? N2 - j0 : GEMM_NR;
				GEMM_VT acc[GEMM_MR][2];
				#pragma GCC unroll 8
				for (int r = 0; r < GEMM_MR; r++)
					acc[r][0] = acc[r][1] = (GEMM_VT){ 0 };
				if (ir == GEMM_MR && jr == GEMM_NR) {
					for (size_t m = m0; m < m1; m++) {
						const float *b = B + m * ldb + j0, *a = A + m * lda + i0;
						GEMM_VT b0, b1;
						GEMM_LOAD(b0, b);
						GEMM_LOAD(b1, b + GEMM_VL);
						#pragma GCC unroll 8
						for (int r = 0; r < GEMM_MR; r++) {
							acc[r][0] += a[r] * b0;
							acc[r][1] += a[r] * b1;
						}
					}
				} else {   /* an edge tile: the same sums, element by element */
					float e[GEMM_MR][GEMM_NR] = { { 0 } };
					for (size_t m = m0; m < m1; m++) {
						const float *b = B + m * ldb + j0, *a = A + m * lda + i0;
						for (size_t r = 0; r < ir; r++) {
							float ar = a[r];
							for (size_t j = 0; j < jr; j++)
								e[r][j] += ar * b[j];
						}
					}
					for (size_t r = 0; r < ir; r++) {
						float *c = C + (i0 + r) * ldc + j0;
						for (size_t j = 0; j < jr; j++)
							c[j] += e[r][j];
					}
					continue;
				}
				for (size_t r = 0; r < ir; r++) {
					float t[GEMM_NR];
					GEMM_STORE(t, acc[r][0]);
					GEMM_STORE(t + GEMM_VL, acc[r][1]);
					float *c = C + (i0 + r) * ldc + j0;
					for (size_t j = 0; j < jr; j++)
						c[j] += t[j];
				}
			}
		}
	}
}

#undef GEMM_VT
#undef GEMM_VL
#undef GEMM_NR
#undef GEMM_LOAD
#undef GEMM_STORE
#undef GEMM_ISA
#undef GEMM_TARGET
#undef GEMM_VBYTES
#undef GEMM_MR
