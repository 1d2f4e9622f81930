"""Vector quantizers: one factorized VQ layer, the residual stack built from it, a content stream
(TrfENC + VQ), and the split quantizer that owns all three token streams."""

from .rvq import ResidualVQ
from .split import SplitQuantizer
from .stream import TokenStream
from .vq import FactorizedVQ, VQOutput

__all__ = ["FactorizedVQ", "ResidualVQ", "SplitQuantizer", "TokenStream", "VQOutput"]
