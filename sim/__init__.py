"""bleedsim: Monte-Carlo attack outcomes for Heartbleed-class memory-disclosure bugs."""

import os

# The engines multiply many tiny matrices (3x3 chains); BLAS threads only add start-up cost
# there (measured: a 3x3 ``expm`` took 12 ms with OpenBLAS threads, 30 us without).
# Parallelism comes from replication processes instead. Set before numpy is imported.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
