"""casegen: before-and-after case studies for LLM inference optimizations.

Data flows one way: read runs (:mod:`casegen.runs`) → compute
(:mod:`casegen.metrics`, :mod:`casegen.cost`) → render (:mod:`casegen.render`).
Every CLI command is a thin wrapper over a function in this package.
"""

__version__ = "0.1.0"
