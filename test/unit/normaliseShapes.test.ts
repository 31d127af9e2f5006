// Shape inference helpers (src/engine/shapes.ts), case by case as the ONNX operator specification
// defines each operator's output shape; the expected shapes are worked out by hand from those rules.
// Whole models are checked against onnxruntime's shapes in forwardOrt.test.ts.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  broadcastShapes,
  ceilModeExtraPad,
  concatShape,
  convShape,
  everyWindowHasValidTap,
  flattenShape,
  gatherShape,
  gemmShape,
  reshapeShape,
  squeezeShape,
  unsqueezeShape,
} from '../../src/engine/shapes';

describe('shape inference', () => {
  test('Reshape: 0 copies, -1 infers, mismatches are reasons', () => {
    assert.deepEqual(reshapeShape([1, 16, 4, 4], [1, -1], false), [1, 256]);
    assert.deepEqual(reshapeShape([1, 16, 4, 4], [0, 0, -1], false), [1, 16, 16]);
    assert.deepEqual(reshapeShape([1, 0, 4], [0, 4], true), [0, 4]);
    assert.match(reshapeShape([1, 16], [3, -1], false) as string, /cannot reshape \[1,16\]/);
    assert.match(reshapeShape([1, 16], [-1, -1], false) as string, /more than one -1/);
  });

  test('Flatten, Squeeze, Unsqueeze, Concat, Gather', () => {
    assert.deepEqual(flattenShape([1, 3, 4, 5], 1), [1, 60]);
    assert.deepEqual(flattenShape([1, 3, 4, 5], -2), [3, 20]);
    assert.deepEqual(flattenShape([1, 3, 4, 5], 0), [1, 60]);
    assert.deepEqual(squeezeShape([1, 8, 1, 1], [2, -1]), [1, 8]);
    assert.deepEqual(squeezeShape([1, 8, 1, 1], undefined), [8]);
    assert.match(squeezeShape([1, 8], [1]) as string, /extent 8, not 1/);
    assert.deepEqual(unsqueezeShape([1, 8], [2, -1]), [1, 8, 1, 1]);
    assert.deepEqual(concatShape([[1, 3, 4, 4], [1, 5, 4, 4]], 1), [1, 8, 4, 4]);
    assert.match(concatShape([[1, 3, 4, 4], [1, 5, 4, 2]], 1) as string, /differ outside axis 1/);
    assert.deepEqual(gatherShape([4], [], 0), []);
    assert.deepEqual(gatherShape([2, 3, 4], [5], 1), [2, 5, 4]);
  });

  test('broadcasting, Gemm, Conv channel checks', () => {
    assert.deepEqual(broadcastShapes([1, 8, 4, 4], [8, 1, 1]), [1, 8, 4, 4]);
    assert.match(broadcastShapes([1, 8, 4, 4], [3, 1, 1]) as string, /do not broadcast/);
    assert.deepEqual(gemmShape([1, 6], [5, 6], false, true), [1, 5]);
    assert.match(gemmShape([1, 6], [5, 6], false, false) as string, /6 columns but B \[5,6\] has 5 rows/);
    assert.deepEqual(convShape({ input: [1, 4, 9, 8], weight: [6, 2, 3, 3], group: 2, spatialOutput: [4, 7] }), [1, 6, 4, 7]);
    assert.match(convShape({ input: [1, 4, 9, 8], weight: [6, 2, 3, 3], group: 1, spatialOutput: [4, 7] }) as string, /expects 2 input channels/);
    assert.match(convShape({ input: [1, 4, 9, 8], weight: [6, 1, 3, 3], group: 4, spatialOutput: [4, 7] }) as string, /not divisible by group 4/);
  });

  test('ceil_mode as extra end padding; windows that hold an input tap', () => {
    // extent 8, k 3, s 2, ceil: 4 windows; the last spans 6..8, one past the end.
    assert.equal(ceilModeExtraPad(8, 3, 2, 1, 0, 0, 4), 1);
    // extent 9: floor and ceil agree (3 + 1 = 4 windows), nothing to add.
    assert.equal(ceilModeExtraPad(9, 3, 2, 1, 0, 0, 4), 0);
    assert.equal(everyWindowHasValidTap(8, 3, 2, 1, 0, 4), true);
    // pads of 3 before a 2-wide window: the first window covers −3..−2 only.
    assert.equal(everyWindowHasValidTap(4, 2, 1, 1, 3, 6), false);
  });

  test('the window check is closed-form: it agrees with a tap-by-tap scan and answers for 2^40 windows at once', () => {
    const scan = (extent: number, kernel: number, stride: number, dilation: number, padBegin: number, outputs: number) => {
      for (let o = 0; o < outputs; o++) {
        let found = false;
        for (let t = 0; t < kernel; t++) {
          const pos = o * stride - padBegin + t * dilation;
          if (pos >= 0 && pos < extent) found = true;
        }
        if (!found) return false;
      }
      return true;
    };
    let cases = 0;
    for (let extent = 1; extent <= 6; extent++) {
      for (let kernel = 1; kernel <= 4; kernel++) {
        for (let stride = 1; stride <= 3; stride++) {
          for (let dilation = 1; dilation <= 4; dilation++) {
            for (let padBegin = 0; padBegin <= 7; padBegin++) {
              for (let outputs = 1; outputs <= 9; outputs++) {
                const expected = scan(extent, kernel, stride, dilation, padBegin, outputs);
                assert.equal(everyWindowHasValidTap(extent, kernel, stride, dilation, padBegin, outputs), expected, `${[extent, kernel, stride, dilation, padBegin, outputs]}`);
                cases++;
              }
            }
          }
        }
      }
    }
    assert.equal(cases, 6 * 4 * 3 * 4 * 8 * 9);
    // Dilation wider than the input: only some windows before the input reach it (−5+4·1 = −1 misses, −4+4 = 0 hits).
    assert.equal(everyWindowHasValidTap(1, 2, 1, 4, 5, 3), false);
    // 2^40 windows over an input of 2^40 + 2: every window holds taps, answered without visiting them.
    assert.equal(everyWindowHasValidTap(2 ** 40 + 2, 3, 1, 1, 0, 2 ** 40), true);
    // The same with stride 2 and one window too many: the last (from 2^41 on) lies past the input.
    assert.equal(everyWindowHasValidTap(2 ** 40 + 2, 3, 2, 1, 0, 2 ** 39 + 2), false);
  });
});
