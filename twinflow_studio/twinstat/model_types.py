"""What TwinStat accepts in a model file it did not write itself.

skops trusts by default the builtins, numpy arrays and dtypes, and every public scikit-learn
estimator class. A fitted model also holds helper objects skops leaves to the caller; this is
the explicit list of the ones TwinStat accepts from an untrusted producer (a container, a
Batch job, a data source's file). Each is a plain data holder whose state skops restores
without running code named by the file. Deliberately left out, with skops: the
histogram-gradient-boosting ``TreePredictor`` (its node arrays are indexed without bounds
checks), and anything callable (functions, ``PairwiseKernel`` with a metric function).
"""

from __future__ import annotations

_KERNELS = "sklearn.gaussian_process.kernels."

ALLOWED_TYPES: frozenset[str] = frozenset(
    {
        # Decision trees and the forests and boosted ensembles built from them.
        "sklearn.tree._tree.Tree",
        # Gaussian-process kernels (the surrogate node's GP uses the first three and Sum and
        # Product to combine them).
        *(
            _KERNELS + name
            for name in (
                "ConstantKernel",
                "RBF",
                "WhiteKernel",
                "Sum",
                "Product",
                "Exponentiation",
                "Matern",
                "RationalQuadratic",
                "ExpSineSquared",
                "DotProduct",
            )
        ),
    }
)

_PRODUCERS = {
    "docker": "a container (docker target)",
    "batch": "an AWS Batch job",
    "external": "a data source (a file TwinFlow did not write)",
    "": "an unknown producer (stored before producers were recorded; run the node that "
    "makes it again, e.g. with --no-cache)",
}


def describe_producer(producer: str) -> str:
    """How a message names what wrote a file."""
    return _PRODUCERS.get(producer, f"the {producer!r} target")
