// The kernels compiled for one instruction set (see kernelsImpl.h).
#define KERNEL_NS generic
#include "kernelsImpl.h"
