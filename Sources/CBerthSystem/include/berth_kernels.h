#ifndef BERTH_KERNELS_H
#define BERTH_KERNELS_H

#include <stdint.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

// Filter kernels whose vector form the compiler does not find on its own. A filter's verdict
// per row is a 64-bit compare mask, and its status is a byte: the compiler narrows every mask
// through packs and shuffles, all on one execution port of x86 cores. Here the masks become
// bits first — AVX2's movemask, or AVX-512's mask registers — and sixteen bits become sixteen
// status bytes at once.
//
// Each vector form carries its target attribute, so the tests run every form the CPU has
// whatever the build targets; `berth_fit_filter` picks one at compile time for the target CPU
// Swift passes to its C importer, so a `-target-cpu haswell` build stays AVX2.

/// A row's status after a filter (Swift's `markFailure`): `code` where the row was still
/// feasible (0) and failed, unchanged otherwise.
static inline uint8_t berth_mark_failure(uint8_t status, int failed, uint8_t code) {
  uint8_t f = (uint8_t)((failed != 0) & (status == 0));
  return status | (uint8_t)(code & (uint8_t)(0 - f));
}

/// NodeResourcesFit's filter over the node table's exact doubles, rows `lo..<hi`: a row fails
/// when it has no free pod slot (`slots < 1`) or the pod's CPU or memory request exceeds the
/// row's free amount. An unchecked request is −∞. One row at a time: the reference the vector
/// forms are tested against, and the form for other CPUs.
static inline void berth_fit_filter_rows(
    const double *slots, const double *free_cpu, const double *free_memory, double cpu,
    double memory, uint8_t *status, intptr_t lo, intptr_t hi, uint8_t code) {
  for (intptr_t i = lo; i < hi; i++) {
    int failed = (slots[i] < 1) | (cpu > free_cpu[i]) | (memory > free_memory[i]);
    status[i] = berth_mark_failure(status[i], failed, code);
  }
}

#if defined(__x86_64__)

/// Whether the CPU and the operating system run AVX2 (1), and AVX-512 F, BW and VL (2).
static inline int berth_cpu_vector_level(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX)) return 0;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 0x6) != 0x6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & bit_AVX2)) return 0;
  int avx512 = (b & bit_AVX512F) && (b & bit_AVX512BW) && (b & bit_AVX512VL) && (lo & 0xE0) == 0xE0;
  return avx512 ? 2 : 1;
}

/// `berth_fit_filter_rows` in AVX2: sixteen rows' compare masks to a 16-bit mask (movemask),
/// spread to sixteen bytes by one shuffle and a bit test.
__attribute__((target("avx2"))) static inline void berth_fit_filter_avx2(
    const double *slots, const double *free_cpu, const double *free_memory, double cpu,
    double memory, uint8_t *status, intptr_t lo, intptr_t hi, uint8_t code) {
  const __m256d one = _mm256_set1_pd(1), c = _mm256_set1_pd(cpu), m = _mm256_set1_pd(memory);
  // Byte k takes bit k % 8 of mask byte k / 8.
  const __m128i spread = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  const __m128i bits = _mm_setr_epi8(
      1, 2, 4, 8, 16, 32, 64, (char)128, 1, 2, 4, 8, 16, 32, 64, (char)128);
  const __m128i codes = _mm_set1_epi8((char)code), zero = _mm_setzero_si128();
  intptr_t i = lo;
  for (; i + 16 <= hi; i += 16) {
    unsigned failed = 0;
    for (int j = 0; j < 4; j++) {
      const intptr_t r = i + 4 * j;
      __m256d f = _mm256_or_pd(
          _mm256_or_pd(
              _mm256_cmp_pd(_mm256_loadu_pd(slots + r), one, _CMP_LT_OQ),
              _mm256_cmp_pd(c, _mm256_loadu_pd(free_cpu + r), _CMP_GT_OQ)),
          _mm256_cmp_pd(m, _mm256_loadu_pd(free_memory + r), _CMP_GT_OQ));
      failed |= (unsigned)_mm256_movemask_pd(f) << (4 * j);
    }
    __m128i b = _mm_shuffle_epi8(_mm_cvtsi32_si128((int)failed), spread);
    __m128i fail = _mm_cmpeq_epi8(_mm_and_si128(b, bits), bits);
    __m128i s = _mm_loadu_si128((const __m128i *)(status + i));
    __m128i take = _mm_and_si128(_mm_cmpeq_epi8(s, zero), fail);
    _mm_storeu_si128((__m128i *)(status + i), _mm_or_si128(s, _mm_and_si128(take, codes)));
  }
  berth_fit_filter_rows(slots, free_cpu, free_memory, cpu, memory, status, i, hi, code);
}

/// `berth_fit_filter_rows` in AVX-512: eight rows compare into a mask register, sixteen rows'
/// masks select the status bytes to set.
__attribute__((target("avx512f,avx512bw,avx512vl"))) static inline void berth_fit_filter_avx512(
    const double *slots, const double *free_cpu, const double *free_memory, double cpu,
    double memory, uint8_t *status, intptr_t lo, intptr_t hi, uint8_t code) {
  const __m512d one = _mm512_set1_pd(1), c = _mm512_set1_pd(cpu), m = _mm512_set1_pd(memory);
  const __m128i codes = _mm_set1_epi8((char)code), zero = _mm_setzero_si128();
  intptr_t i = lo;
  for (; i + 16 <= hi; i += 16) {
    __mmask16 failed = 0;
    for (int j = 0; j < 2; j++) {
      const intptr_t r = i + 8 * j;
      __mmask8 f = _mm512_cmp_pd_mask(_mm512_loadu_pd(slots + r), one, _CMP_LT_OQ)
                   | _mm512_cmp_pd_mask(c, _mm512_loadu_pd(free_cpu + r), _CMP_GT_OQ)
                   | _mm512_cmp_pd_mask(m, _mm512_loadu_pd(free_memory + r), _CMP_GT_OQ);
      failed |= (__mmask16)((unsigned)f << (8 * j));
    }
    __m128i s = _mm_loadu_si128((const __m128i *)(status + i));
    __mmask16 take = _mm_mask_cmpeq_epi8_mask(failed, s, zero);
    _mm_storeu_si128((__m128i *)(status + i), _mm_mask_mov_epi8(s, take, codes));
  }
  berth_fit_filter_rows(slots, free_cpu, free_memory, cpu, memory, status, i, hi, code);
}

#endif

/// `berth_fit_filter_rows` in the widest form the build's target CPU has.
static inline void berth_fit_filter(
    const double *slots, const double *free_cpu, const double *free_memory, double cpu,
    double memory, uint8_t *status, intptr_t lo, intptr_t hi, uint8_t code) {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  berth_fit_filter_avx512(slots, free_cpu, free_memory, cpu, memory, status, lo, hi, code);
#elif defined(__AVX2__)
  berth_fit_filter_avx2(slots, free_cpu, free_memory, cpu, memory, status, lo, hi, code);
#else
  berth_fit_filter_rows(slots, free_cpu, free_memory, cpu, memory, status, lo, hi, code);
#endif
}

#endif
