#ifndef HERMES_CSNAPPY_SHIM_H
#define HERMES_CSNAPPY_SHIM_H
/* Snappy's C interface (Debian's libsnappy-dev): the block format Prometheus remote write uses,
   not the framed one. */
#include <snappy-c.h>
#endif
