"""kfd: the Linux KFD interface (ioctl ABI, topology) with real and simulated drivers."""
