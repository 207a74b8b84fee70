#ifndef HERMES_CZLIB_SHIM_H
#define HERMES_CZLIB_SHIM_H
#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros that Swift cannot import. windowBits 15 + 16 selects
   the gzip wrapper (RFC 1952) rather than zlib's own. */
static inline int hermes_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

static inline int hermes_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
