// libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM gives an executable its own
// entry point, so the fuzz binary calls the driver rather than linking libFuzzer's `main`.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
