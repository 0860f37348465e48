"""tensor: a small lazy tensor library whose kernels amdrt compiles and runs."""
