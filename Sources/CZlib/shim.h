#ifndef PORTHOLE_CZLIB_SHIM_H
#define PORTHOLE_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2 is a macro (it passes the library version and the stream's size): Swift cannot
// call it directly.
static inline int porthole_deflateInit2(z_streamp stream, int level, int windowBits, int memLevel) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}

#endif
