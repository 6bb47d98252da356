#ifndef SHEQU_CLZ4_SHIM_H
#define SHEQU_CLZ4_SHIM_H
// The LZ4 frame API (lz4frame.h) from Debian's liblz4-dev: standard LZ4 frames that the `lz4` tool decodes.
#include <lz4frame.h>
#endif
