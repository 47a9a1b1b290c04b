from cython cimport floating
from libc.stdint cimport int64_t

# The convolution kernel of compiler/ops/conv.py (channels last, 1 to 3 spatial axes padded
# to 3). f: mode (0 conv, 1 input gradient, 2 kernel gradient), geometry table address
# (int64, see conv_geometry), A, B, OUT, scratch (im2col columns of one chunk of samples),
# mode 0 only: bias (0: none) and activation (ACT_*) applied to each chunk's output.
# mode 0: A = x, B = w, OUT = y; 1: A = g, B = w, OUT = dx; 2: A = x, B = g, OUT = dw.
# Parts of the batch and chunks of samples depend on the batch size only, each part runs on
# one thread, and kernel-gradient partials are summed in part order: results do not depend
# on the thread count.
cdef void conv_exec(floating* tag, const int64_t* f, Py_ssize_t n) noexcept nogil
