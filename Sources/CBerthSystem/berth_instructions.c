#include "berth_system.h"

// Callgrind's client requests are a few no-op instructions when the program runs natively, so
// they cost nothing outside valgrind. Built without the header (valgrind not installed), every
// function here does nothing and `berth_instruction_counting_built` says so.
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BERTH_HAVE_CALLGRIND 1
#endif
#endif

int berth_instruction_counting_built(void) {
#ifdef BERTH_HAVE_CALLGRIND
  return 1;
#else
  return 0;
#endif
}

int berth_running_under_valgrind(void) {
#ifdef BERTH_HAVE_CALLGRIND
  return (int)RUNNING_ON_VALGRIND;
#else
  return 0;
#endif
}

void berth_instructions_zero(void) {
#ifdef BERTH_HAVE_CALLGRIND
  CALLGRIND_ZERO_STATS;
#endif
}

void berth_instructions_resume(void) {
#ifdef BERTH_HAVE_CALLGRIND
  CALLGRIND_START_INSTRUMENTATION;
#endif
}

void berth_instructions_pause(void) {
#ifdef BERTH_HAVE_CALLGRIND
  CALLGRIND_STOP_INSTRUMENTATION;
#endif
}

void berth_instructions_dump(const char *label) {
#ifdef BERTH_HAVE_CALLGRIND
  CALLGRIND_DUMP_STATS_AT(label);
#else
  (void)label;
#endif
}
