#ifndef BERTH_MALLOC_COUNTER_H
#define BERTH_MALLOC_COUNTER_H
/// Calls to malloc, calloc, realloc and posix_memalign so far in this process.
long berth_malloc_count(void);
#endif
