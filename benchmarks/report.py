"""One measured figure with its target, and the two ways of showing a run: table or JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Sequence

UNITS = {
    # unit: (format for display, suffix)
    "ratio": (lambda v: f"{v * 100:.1f}", "%"),
    "ms": (lambda v: f"{v:.3f}" if v < 10 else f"{v:.1f}", "ms"),
    "s": (lambda v: f"{v:.2f}", "s"),
    "MB": (lambda v: f"{v:.1f}", "MB"),
    "count": (lambda v: f"{v:,.0f}", ""),
}


@dataclass
class Figure:
    key: str                    # stable id for --json consumers, e.g. "accuracy.overall"
    section: str
    label: str
    value: float | None         # None when it could not be measured (counts as a failure if gated)
    unit: str                   # one of UNITS
    target: float | None = None
    op: str = "<="              # how value must compare with target: "<=", ">=" or "=="
    gate: bool = True           # False: shown with its target but does not decide the exit status
    detail: str = ""
    error: str = ""             # the stage crashed: shown as ERROR, always counts as a failure

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        if self.target is None:
            return "info"
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "FAIL"
        ok = {"<=": self.value <= self.target, ">=": self.value >= self.target,
              "==": self.value == self.target}[self.op]
        return "PASS" if ok else "FAIL"

    @property
    def failed(self) -> bool:
        return self.status == "ERROR" or (self.gate and self.status == "FAIL")

    def shown(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        fmt, suffix = UNITS[self.unit]
        return f"{fmt(value)} {suffix}".rstrip()

    def to_json(self) -> dict:
        out = asdict(self)
        out["status"] = self.status
        if isinstance(self.value, float):
            out["value"] = round(self.value, 6)
        return out


def table(figures: Sequence[Figure]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    section = None
    for f in figures:
        if f.section != section:
            section = f.section
            rows.append((section, "", "", "", ""))
        target = f"{f.op} {f.shown(f.target)}" if f.target is not None else ""
        status = f.status if f.gate or f.status == "info" else f"{f.status.lower()} (not gated)"
        measured = "error" if f.error else f.shown(f.value)
        rows.append((f"  {f.label}", measured, target, status, f.error or f.detail))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    widths = [max(w, len(h)) for w, h in zip(widths, ("figure", "measured", "target", "result"))]
    lines = [
        f"{'figure':<{widths[0]}}  {'measured':>{widths[1]}}  {'target':>{widths[2]}}  {'result':<{widths[3]}}  notes",
        "  ".join("-" * w for w in widths) + "  " + "-" * 5,
    ]
    for label, value, target, status, detail in rows:
        if not value and not target and not status:
            lines.append(label)
            continue
        lines.append(f"{label:<{widths[0]}}  {value:>{widths[1]}}  {target:>{widths[2]}}  {status:<{widths[3]}}  {detail}".rstrip())
    return "\n".join(lines)


def as_json(figures: Sequence[Figure], context: dict) -> str:
    failed = [f.key for f in figures if f.failed]
    return json.dumps({**context, "passed": not failed, "failed": failed,
                       "figures": [f.to_json() for f in figures]}, indent=2)
