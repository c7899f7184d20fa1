"""RL Toolbox backend: pure PyTorch/NumPy functions behind the Streamlit lessons.

Nothing in this package imports streamlit; every function a page shows is importable and
unit-tested on its own.
"""

__version__ = "0.1.0"
