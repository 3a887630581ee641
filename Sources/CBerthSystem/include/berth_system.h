#ifndef BERTH_SYSTEM_H
#define BERTH_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

// The filter kernels (in the module through the include directory too: named here so a build
// directory's module cache from before the header existed is rebuilt).
#include "berth_kernels.h"

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE): both names exist
/// throughout. Returns 0, or -1 with errno set (ENOSYS or EINVAL where unsupported).
int berth_exchange_paths(const char *a, const char *b);

/// Writes the executable's GNU build ID as lowercase hex (NUL-terminated) into `out`; returns 1,
/// or 0 when there is none (not Linux, linked without one) or `capacity` is too small.
int berth_build_id(char *out, size_t capacity);

/// Nanoseconds one fixed reference job takes now (CLOCK_MONOTONIC): integer filter-and-score
/// passes over 1 MiB of columns and one pass over 8 MiB, about 1.5 ms on a current core. In C
/// so the job stays the same while Berth's Swift code and its compiler change: benchmarks time
/// it beside every run to measure how fast the machine is at that moment (docs/suites.md).
unsigned long long berth_reference_probe(void);

/// Instruction counting under callgrind (`berth bench run --instructions`, docs/suites.md).
/// Whether this build carries callgrind's client requests (valgrind's header was found).
int berth_instruction_counting_built(void);
/// Non-zero when the process runs under valgrind.
int berth_running_under_valgrind(void);
/// Zeroes callgrind's event counts.
void berth_instructions_zero(void);
/// Starts counting (instrumentation on) / stops it; counts accumulate across pauses.
void berth_instructions_resume(void);
void berth_instructions_pause(void);
/// Writes the counts so far to a callgrind dump labelled `label` and zeroes them.
void berth_instructions_dump(const char *label);

/// 1 when the code is compiled for a CPU with AVX-512DQ (a vector int64 -> double conversion),
/// else 0: constant per build (the Swift compiler's target CPU reaches its C importer), so the
/// kernels that convert columns pick their form at compile time.
static inline int berth_target_converts_int64_vectors(void) {
#if defined(__AVX512DQ__)
  return 1;
#else
  return 0;
#endif
}

/// 1 when the code is compiled for a CPU with fused multiply-add (x86 FMA3, or any 64-bit Arm),
/// else 0: constant per build, so exact quotients take the multiply-add form only where it is
/// an instruction (elsewhere `fma` is a library call per element).
static inline int berth_target_fuses_multiply_add(void) {
#if defined(__FMA__) || defined(__aarch64__)
  return 1;
#else
  return 0;
#endif
}

/// Asks the CPU to fetch the cache line holding `address` for reading (a hint: no fault, no
/// effect on results). For loops over rows scattered through large columns.
static inline void berth_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Tells the CPU the thread is spinning on a flag (x86 `pause`, Arm `yield`): fewer wasted
/// cycles and no memory-order mis-speculation when the flag changes.
static inline void berth_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// The word at `word`, read as a relaxed atomic: a plain load on x86-64 and Arm, but a word
/// another thread may set bits of at the same time is then read without a data race.
static inline uint64_t berth_load_word(const uint64_t *word) {
  return __atomic_load_n(word, __ATOMIC_RELAXED);
}

/// Sets the bits `mask` of the word at `word` atomically (relaxed): for a word two threads may
/// update at once.
static inline void berth_set_bits(uint64_t *word, uint64_t mask) {
  __atomic_fetch_or(word, mask, __ATOMIC_RELAXED);
}

#endif
