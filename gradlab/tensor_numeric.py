"""The engine's numbers for vectors and matrices: one engine for every graph, :mod:`gradlab.numeric`
(re-exported here under its former name)."""

from .finite_diff import FDEstimate, finite_difference_estimates, finite_differences
from .numeric import Evaluation, backward, evaluate, forward, input_value, point_values

__all__ = ["forward", "backward", "evaluate", "Evaluation", "point_values", "input_value",
           "finite_difference_estimates", "finite_differences", "FDEstimate"]
