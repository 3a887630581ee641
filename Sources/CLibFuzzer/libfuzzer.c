// Declarations only (include/libfuzzer.h); the definitions come from libFuzzer at link time.
#include "libfuzzer.h"
