"""Vector quantizers: a factorized single VQ layer and the residual stack built from it."""

from .rvq import ResidualVQ
from .vq import FactorizedVQ, VQOutput

__all__ = ["FactorizedVQ", "ResidualVQ", "VQOutput"]
