/* pocketml broadcasting: how a binary kernel (ADD, SUB, MUL, MAXIMUM, MINIMUM, PRELU) walks two
 * operands of different shapes (the C twin of pocketml/ops/broadcast.py).
 *
 * The output's per-sample shape, padded on the left to 4 axes, is `dims`; operand k's element at
 * output position (i0, i1, i2, i3) is at  i0*stride_k[0] + i1*stride_k[1] + i2*stride_k[2] + i3*stride_k[3],
 * with stride 0 on every axis where the operand has size 1 (numpy's rule, right-aligned).
 */
#ifndef POCKETML_BROADCAST_H
#define POCKETML_BROADCAST_H

#include <stdint.h>

typedef struct {
  int32_t dims[4];
  int32_t stride1[4];
  int32_t stride2[4];
} pocketml_broadcast;

static inline int32_t pocketml_broadcast_offset(const int32_t stride[4], int32_t i0, int32_t i1, int32_t i2,
                                                int32_t i3) {
  return i0 * stride[0] + i1 * stride[1] + i2 * stride[2] + i3 * stride[3];
}

#endif /* POCKETML_BROADCAST_H */
