// The kernels compiled for one instruction set (see kernelsImpl.h).
#define KERNEL_NS avx512
#include "kernelsImpl.h"
