"""The Gumbel-Softmax lesson: its prose, scenes and the downloadable estimator script.

The mathematics is in :mod:`toolbox.gumbel`.
"""

from toolbox.lessons.gumbel.script import estimator_script
from toolbox.provenance import qualified_name

__all__ = ["estimator_script", "qualified_name"]
