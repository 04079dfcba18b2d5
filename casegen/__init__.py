"""casegen: before-and-after case studies for LLM inference optimizations.

Data flows one way: read runs (:mod:`casegen.runs`) → compute
(:mod:`casegen.analysis.metrics`, :mod:`casegen.analysis.cost`) → render (:mod:`casegen.render.html`).
Every CLI command is a thin wrapper over a function in this package.
"""

__version__ = "0.2.0"
