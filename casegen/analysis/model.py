"""The base of the analysis layer's typed figures (teardown, segments, cache, cheap wins): pydantic
models that refuse keys they do not declare, so summary.json carries nothing undocumented."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FigureModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
