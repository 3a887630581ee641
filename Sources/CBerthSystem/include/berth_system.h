#ifndef BERTH_SYSTEM_H
#define BERTH_SYSTEM_H

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE): both names exist
/// throughout. Returns 0, or -1 with errno set (ENOSYS or EINVAL where unsupported).
int berth_exchange_paths(const char *a, const char *b);

/// Nanoseconds one fixed reference job takes now (CLOCK_MONOTONIC): integer filter-and-score
/// passes over 1 MiB of columns and one pass over 8 MiB, about 1.5 ms on a current core. In C
/// so the job stays the same while Berth's Swift code and its compiler change: benchmarks time
/// it beside every run to measure how fast the machine is at that moment (docs/suites.md).
unsigned long long berth_reference_probe(void);

#endif
