/* nk_target.h - compiler attributes for the hot loops.
 *
 * NK_MULTIVERSION compiles a function for AVX-512, AVX2 and the baseline
 * and picks one at load time (GNU ifunc; GCC on x86-64 Linux), so the small
 * fixed-size loops of the integrator and the lane kernels use the widest
 * registers the CPU has.  No FMA is used in any version (-ffp-contract=off)
 * and vectorised loops do the same IEEE operations per element, so every
 * version gives bit-identical results.  NK_FLATTEN inlines all callees into
 * such a function (so they get its instruction set too).
 */
#ifndef NK_TARGET_H
#define NK_TARGET_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define NK_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NK_MULTIVERSION
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NK_INLINE static inline __attribute__((always_inline))
#define NK_FLATTEN __attribute__((flatten))
#else
#define NK_INLINE static inline
#define NK_FLATTEN
#endif

#endif
