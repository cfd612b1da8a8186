"""skrnn: scikit-learn compatible recurrent neural networks in NumPy and SciPy."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
