#!/usr/bin/python3
"""The paper's method as its authors run it, in PyTorch: the reference column of `npm run bench`.

Avant & Morgansen's local bound (docs: /work/shared/docs/method.md §2-§3) on a benchmark model, the way
their code (uwaa-ndcl/local_lipschitz, network_bound.py and utils.get_RAD) computes it: float32
operators, every norm from 100 power iterations on D Aᵀ R² A D from a uniform random start (so every
norm is an underestimate, not certified), A applied as conv2d / linear and Aᵀ as the conv's input
gradient (torch.nn.grad.conv2d_input, the map their conv_transpose2d applies, but faster here) / the
transposed weight, y0, ybar and r in float64. One departure, in the reference's favour: the row
norms ‖a_iᵀ D‖ come from one convolution with the squared kernel (as our engine does) instead of the
authors' batches of transposed convolutions of output basis vectors, which alone made their VGG-16 run
take an hour. The conservative product Π‖A_k‖ (their global_bound) is computed too, since our engine
reports both.

    /usr/bin/python3 bench/pytorchReference.py MODEL.torch.json EPSILON

MODEL.torch.json and the .bin beside it are written by bench/models.ts (ensureTorchReference): the
layer list, x0 and the seeded weights as raw float32, so no onnx package is needed. Threads: the
BENCH_THREADS environment variable (default 2). Prints one JSON object on stdout.
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

IMPORT_STARTED = time.perf_counter()
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - IMPORT_STARTED

POWER_ITERATIONS = 100


class Affine:
    """A conv or fc layer as the operators the method needs: A x + b, A x, Aᵀ y and the row norms."""

    def __init__(self, layer, weight, bias, input_shape):
        self.kind = layer['kind']
        self.weight = weight
        self.bias = bias
        self.input_shape = input_shape  # without the batch axis
        self.squared = weight * weight
        if self.kind == 'conv':
            self.stride = layer.get('stride', 1)
            self.pad = layer.get('pad', 0)
            _, height, width = input_shape
            kernel = layer['kernel']
            out_h = (height + 2 * self.pad - kernel) // self.stride + 1
            out_w = (width + 2 * self.pad - kernel) // self.stride + 1
            self.output_shape = (layer['out'], out_h, out_w)
        else:
            self.output_shape = (layer['out'],)

    def forward(self, x):
        if self.kind == 'conv':
            return F.conv2d(x.view(1, *self.input_shape), self.weight, self.bias, self.stride, self.pad).flatten()
        return F.linear(x.flatten(), self.weight, self.bias)

    def apply(self, v):
        if self.kind == 'conv':
            return F.conv2d(v.view(1, *self.input_shape), self.weight, None, self.stride, self.pad)
        return F.linear(v, self.weight)

    def apply_transpose(self, y):
        if self.kind == 'conv':
            # The conv's input gradient, as autograd computes it: the same map as conv_transpose2d with
            # the output_padding that restores the input size, at about a third of its CPU time in
            # Debian's torch 1.13.
            return torch.nn.grad.conv2d_input((1, *self.input_shape), self.weight, y, self.stride, self.pad).flatten()
        return F.linear(y, self.weight.t())

    def row_norms(self, d):
        """‖a_iᵀ D‖ for every output i: (A∘A) applied to the mask, then a square root."""
        mask = torch.ones(self.input_shape).flatten() if d is None else d.to(torch.float32)
        if self.kind == 'conv':
            squares = F.conv2d(mask.view(1, *self.input_shape), self.squared, None, self.stride, self.pad).flatten()
        else:
            squares = F.linear(mask, self.squared)
        return torch.sqrt(squares)

    def norm(self, d=None, r_squared=None):
        """‖R A D‖ by 100 power iterations on D Aᵀ R² A D from torch.rand, as utils.get_RAD does."""
        size = math.prod(self.input_shape)
        v = torch.rand(size)
        off = None if d is None else torch.logical_not(d)
        if off is not None:
            v[off] = 0
        for _ in range(POWER_ITERATIONS):
            product = self.apply(v)
            if r_squared is not None:
                product = (product.flatten() * r_squared).view(product.shape)
            c = self.apply_transpose(product)
            if off is not None:
                c[off] = 0
            v = F.normalize(c, dim=0)
        return math.sqrt(torch.linalg.vector_norm(c).item())


def pool_constant(layer):
    """utils.max_pool_lip: sqrt of the most windows one input can fall in, ceil(k/s) per axis."""
    return math.sqrt(math.ceil(layer['kernel'] / layer['stride']) ** 2)


def main(description_path, epsilon):
    threads = int(os.environ.get('BENCH_THREADS', '2'))
    torch.set_num_threads(threads)
    torch.manual_seed(0)

    loading = time.perf_counter()
    with open(description_path) as file:
        description = json.load(file)
    with open(os.path.join(os.path.dirname(description_path), description['weightsFile']), 'rb') as file:
        values = torch.frombuffer(bytearray(file.read()), dtype=torch.float32)

    def tensor(at, dims):
        # A copy: tensors of their own (aligned) storage, as a loaded nn.Module's parameters are, run the
        # convolutions several times faster than views into the file's buffer.
        return values[at['offset']:at['offset'] + at['count']].view(dims).clone()

    shape = tuple(description['inputShape'])
    x0 = tensor(description['input'], shape).flatten()
    parameters = [
        (tensor(layer['weight'], layer['weight']['dims']), tensor(layer['bias'], [layer['bias']['count']])) if 'weight' in layer else None
        for layer in description['layers']
    ]
    del values  # the file's buffer: the copies are all that is used from here on
    load_seconds = time.perf_counter() - loading

    with torch.no_grad():
        # The nominal forward pass, building each layer's operators on the way.
        forwarding = time.perf_counter()
        steps = []  # (layer, its Affine or None, its nominal input, its input shape)
        x = x0
        for layer, weights in zip(description['layers'], parameters):
            affine = Affine(layer, *weights, shape) if weights is not None else None
            steps.append((layer, affine, x, shape))
            if affine is not None:
                y = affine.forward(x)
                x = F.relu(y) if layer.get('relu') else y
                shape = affine.output_shape
            elif layer['kind'] == 'maxPool':
                x = F.max_pool2d(x.view(1, *shape), layer['kernel'], layer['stride']).flatten()
                shape = (shape[0], *[(size - layer['kernel']) // layer['stride'] + 1 for size in shape[1:]])
            else:
                shape = (math.prod(shape),)
        forward_seconds = time.perf_counter() - forwarding

        # network_bound.local_bound: layer by layer, ε_{k+1} = L_k ε_k, D from the previous ybar > 0.
        local_started = time.perf_counter()
        layers = []
        d = None
        eps = epsilon
        local_bound = 1.0
        for layer, affine, x, in_shape in steps:
            started = time.perf_counter()
            counts = None
            if affine is not None and layer.get('relu'):
                y0 = affine.forward(x).double()
                ybar = eps * affine.row_norms(d).double() + y0
                r = (F.relu(ybar) - F.relu(y0)) / (ybar - y0)
                r[ybar == y0] = 0
                bound = affine.norm(d, (r * r).float())
                counts = {'on': int(((y0 >= 0) & (ybar > y0)).sum()), 'unstable': int(((y0 < 0) & (ybar > 0)).sum())}
                counts['off'] = r.numel() - counts['on'] - counts['unstable']
                d = ybar > 0
            elif affine is not None:
                bound = affine.norm(d)
                d = None
            elif layer['kind'] == 'maxPool':
                bound = pool_constant(layer)
                if d is not None:
                    # An output can move when any input of its window can (the authors' pooled mask).
                    d = F.max_pool2d(d.float().view(1, *in_shape), layer['kernel'], layer['stride']).flatten() > 0
            else:
                bound = 1.0
            layers.append({'kind': layer['kind'], 'epsilonIn': eps, 'localBound': bound, 'neurons': counts, 'localSeconds': time.perf_counter() - started})
            eps *= bound
            local_bound *= bound
        local_seconds = time.perf_counter() - local_started

        # network_bound.global_bound: ‖A_k‖ of every affine layer (D = R = I), the pool constants, 1 else.
        spectral_started = time.perf_counter()
        spectral_bound = 1.0
        for entry, (layer, affine, _, _) in zip(layers, steps):
            started = time.perf_counter()
            norm = affine.norm() if affine is not None else pool_constant(layer) if layer['kind'] == 'maxPool' else 1.0
            entry['spectralNorm'] = norm
            entry['spectralSeconds'] = time.perf_counter() - started
            spectral_bound *= norm
        spectral_seconds = time.perf_counter() - spectral_started

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        'model': description['model'],
        'epsilon': epsilon,
        'threads': torch.get_num_threads(),
        'torchVersion': torch.__version__,
        'powerIterations': POWER_ITERATIONS,
        'importSeconds': IMPORT_SECONDS,
        'loadSeconds': load_seconds,
        'forwardSeconds': forward_seconds,
        'localSeconds': local_seconds,
        'spectralSeconds': spectral_seconds,
        'totalSeconds': time.perf_counter() - STARTED,
        # The whole process so far, every thread: on a loaded machine a steadier measure than wall time.
        'cpuSeconds': usage.ru_utime + usage.ru_stime,
        'maxRssMiB': usage.ru_maxrss / 1024,
        'localBound': local_bound,
        'spectralBound': spectral_bound,
        'layers': layers,
    }


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.stderr.write('usage: /usr/bin/python3 bench/pytorchReference.py MODEL.torch.json EPSILON\n')
        sys.exit(2)
    print(json.dumps(main(sys.argv[1], float(sys.argv[2]))))
