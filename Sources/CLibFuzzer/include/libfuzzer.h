#ifndef BERTH_LIBFUZZER_H
#define BERTH_LIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver (compiler-rt), present when linked with -sanitize=fuzzer: berth-fuzz
/// calls it from its own entry point, since SwiftPM names an executable's entry point itself.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
