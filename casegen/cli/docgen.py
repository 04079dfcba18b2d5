"""Generate docs/case-yaml.md from the case.yaml models (the models are the source of truth).

Run ``python -m casegen.cli.docgen > docs/case-yaml.md``; a test fails when the file is stale.
"""

from __future__ import annotations

import typing
from typing import Any, Callable

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from casegen.case import model as c

SECTIONS: list[tuple[str, type[BaseModel]]] = [
    ("top level", c.Case),
    ("system", c.System),
    ("workload", c.Workload),
    ("slos[]", c.SLO),
    ("runs", c.Runs),
    ("runs.baseline / runs.optimized", c.RunSpec),
    ("cost", c.Cost),
    ("cost.baseline / cost.optimized", c.SidePricing),
    ("….self_hosted", c.SelfHostedPricing),
    ("….api", c.ApiPricing),
    ("cost.revenue", c.Revenue),
    ("tradeoffs[]", c.TradeOff),
    ("tradeoffs[].quality", c.Quality),
    ("capacity", c.CapacitySettings),
    ("analysis", c.Analysis),
    ("analysis.warmup / analysis.cooldown", c.Trim),
    ("report", c.ReportSettings),
    ("reproduce", c.Reproduce),
    ("reproduce.baseline / reproduce.optimized", c.ReproduceSide),
]


# fields whose allowed values come from a registry rather than a Literal in the model
DYNAMIC_CHOICES: dict[tuple[type[BaseModel], str], Callable[[], list[str]]] = {(c.RunSpec, "format"): c.format_choices}


def _type_name(t: Any) -> str:
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if t is type(None):
        return "null"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "mapping"
    if isinstance(t, type) and issubclass(t, BaseModel):
        return "mapping"
    return {str: "text", int: "integer", float: "number", bool: "true/false"}.get(t, getattr(t, "__name__", str(t)))


def _constraints(info: Any) -> str:
    parts = []
    for m in info.metadata:
        for attr, sym in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            v = getattr(m, attr, None)
            if v is not None:
                parts.append(f"{sym} {v}")
    return ", ".join(parts)


def case_yaml_reference() -> str:
    lines = [
        "# `case.yaml` reference",
        "",
        "Generated from the pydantic models in `casegen/case/model.py` by `python -m casegen.cli.docgen`;",
        "the same models validate files and produce the JSON Schema (`casegen schema`).",
        "Unknown keys are errors. `casegen new DIR` writes a commented example.",
        "",
    ]
    for title, model in SECTIONS:
        lines += [f"## {title}", ""]
        if model.__doc__:
            lines += [" ".join(model.__doc__.split()), ""]
        lines += ["| key | type | required | default | description |", "|---|---|---|---|---|"]
        for name, info in model.model_fields.items():
            choices = DYNAMIC_CHOICES.get((model, name))
            t = " \\| ".join(f"`{v}`" for v in choices()) if choices else _type_name(info.annotation)
            cons = _constraints(info)
            if cons:
                t += f" ({cons})"
            required = "yes" if info.is_required() else ""
            default = ""
            if not info.is_required():
                if info.default is not PydanticUndefined and info.default is not None and not isinstance(info.default, BaseModel):
                    default = f"`{info.default}`"
            desc = (info.description or "").replace("|", "\\|")
            lines.append(f"| `{name}` | {t} | {required} | {default} | {desc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(case_yaml_reference(), end="")
