// The kernels compiled for one instruction set (see kernelsImpl.h).
#define KERNEL_NS avx2
#include "kernelsImpl.h"
