"""Activation check: `ACTIVATION CHECK - Batch N`, printed once per fold.

Both dialects: the trainer's (values printed, health lines carry the value)
and the seed task text's (values rounded or given as ranges, health lines
carry only the target range). Every line is kept, including the trainer's
own [OK]/[WARN]/[FAIL] tags, which rules treat as evidence, not verdicts.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from percediag.model import ActivationCheck, TrainerTag
from percediag.parsers.block import Block, Feed
from percediag.parsers.grammar import Kind
from percediag.parsers.numbers import NUM, to_float, to_int

if TYPE_CHECKING:
    from percediag.parsers.builder import Builder

MARKER = r"ACTIVATION CHECK"

_HEADER = re.compile(r"ACTIVATION CHECK(?:\s*-\s*Batch\s+(\d{1,9}))?")
_RULE = re.compile(r"^\s*={10,}\s*$")
_PARAMS = re.compile(r"Model parameters:\s*(\S+)")
_HEAD = re.compile(r"Prediction head:\s*(.*)")
_LR = re.compile(r"Learning rate:\s*(" + NUM + r")")
_STATS = re.compile(r"(Targets|Predictions|Logits):\s*(.*)")
_PAIR = re.compile(r"(\w{1,40})=(\[[^\]]{0,200}\]|[^,\s]{1,60})")
_TAG = re.compile(r"\[(OK|WARN|FAIL)\]\s*(.*)")
_HEALTH = re.compile(r"Health Check:")
_LAYER = re.compile(r"\d{1,9}(?:\s*->\s*\d{1,9})+")
_NUMBER = re.compile(r"^" + NUM + r"$")
_RANGE = re.compile(r"\[\s*(" + NUM + r")\s*,\s*(" + NUM + r")\s*\]")

_RATIO = re.compile(r"ratio\s*=\s*(" + NUM + r")x")
_COLLAPSED = re.compile(r"(\d{1,4})/(\d{1,4}) dimensions collapsed(?:\s*\(std\s*<\s*(" + NUM + r")\))?")
_HEALTHY_DIMS = re.compile(r"All (\d{1,4}) dimensions have healthy variance")
_STD_VALUE = re.compile(r"std\s*=\s*(" + NUM + r")")

# The model's own forward(diagnose=True) lines inside the check (Round 13 on): a
# `[Baseline+Beat DIAGNOSE]` header, `name: mean=..., std=...` lines, the beat
# attention entropy, the contractor's branch weights, the final attention's softmax.
_DIAGNOSE = re.compile(r"\[([\w+ ]{1,40}?) DIAGNOSE\]")
_DIAG_PAIRS = re.compile(r"^\s{0,12}([A-Za-z_][\w ]{0,30}?):\s{0,12}(\w{1,20}=" + NUM + r"(?:,\s{0,4}\w{1,20}=" + NUM + r"){0,3})\s*$")
_DIAG_ENTROPY = re.compile(r"(\w{1,40}) entropy:\s*(" + NUM + r")")
_DIAG_CONTRACTOR = re.compile(r"contractor weights - LSTM:\s*(" + NUM + r"),\s*Beat:\s*(" + NUM + r")")

_STAT_FIELDS = {
    "Targets": ("target_mean", "target_std"),
    "Predictions": ("pred_mean", "pred_std"),
    "Logits": ("logit_mean", "logit_std"),
}


def parse_head(text: str) -> list[list[int]] | None:
    """`512->128, 128->19` or `512->128->19` -> [[512, 128], [128, 19]]."""
    layers: list[list[int]] = []
    for chain in _LAYER.findall(text):
        sizes = [int(part) for part in re.split(r"\s*->\s*", chain)]
        layers.extend([a, b] for a, b in zip(sizes, sizes[1:]))
    return layers or None


def tag_subject(text: str) -> str | None:
    """Which measurement a health line is about."""
    lowered = text.lower()
    if "prediction head" in lowered:
        return "prediction_head"
    if "logit" in lowered:
        return "logit_std"
    if "pred/target" in lowered or "ratio" in lowered:
        return "std_ratio"
    if "dimension" in lowered:
        return "collapsed_dims"
    if "context vector" in lowered:
        return "context_vectors"
    if "predict" in lowered:
        return "pred_std"
    return None


class ActivationBlock(Block):
    kind = "activation check"

    def __init__(self, lineno: int, text: str) -> None:
        super().__init__(lineno)
        match = _HEADER.search(text)
        batch = int(match.group(1)) if match and match.group(1) else None
        self.record = ActivationCheck(line=lineno, batch=batch)
        self.content = False
        self.placeholders: list[int] = []

    def _set(self, field: str, value, lineno: int) -> None:
        if value is None:
            return
        setattr(self.record, field, value)
        self.record.lines[field] = lineno

    def _value(self, raw: str, lineno: int) -> float | None:
        """A measured value, or None when the text is a range or placeholder."""
        if _NUMBER.match(raw):
            return to_float(raw)
        self.placeholders.append(lineno)
        return None

    def take(self, lineno: int, text: str) -> Feed | None:
        if _RULE.match(text):
            # The first rule underlines the title; the next one closes the block.
            return Feed.DONE if self.content else Feed.TAKEN
        stripped = text.strip()
        if not stripped or _HEALTH.search(text):
            return Feed.TAKEN
        self.content = True
        if match := _TAG.search(text):
            return self._take_tag(lineno, match.group(1), match.group(2).strip())
        if match := _PARAMS.search(text):
            count = to_int(match.group(1))
            if count is None:
                self.placeholders.append(lineno)
            self._set("param_count", count, lineno)
            return Feed.TAKEN
        if match := _HEAD.search(text):
            self._set("prediction_head", parse_head(match.group(1)), lineno)
            return Feed.TAKEN
        if match := _LR.search(text):
            self._set("learning_rate", to_float(match.group(1)), lineno)
            return Feed.TAKEN
        if match := _STATS.search(text):
            mean_field, std_field = _STAT_FIELDS[match.group(1)]
            pairs = dict(_PAIR.findall(match.group(2)))
            if "mean" in pairs:
                self._set(mean_field, self._value(pairs["mean"], lineno), lineno)
            if "std" in pairs:
                self._set(std_field, self._value(pairs["std"], lineno), lineno)
            if match.group(1) == "Predictions" and "range" in pairs:
                bounds = _RANGE.match(pairs["range"])
                if bounds:
                    self._set("pred_min", to_float(bounds.group(1)), lineno)
                    self._set("pred_max", to_float(bounds.group(2)), lineno)
            return Feed.TAKEN
        return self._take_diagnose(lineno, text)

    def _take_diagnose(self, lineno: int, text: str) -> Feed | None:
        """A line of the model's own diagnose output; its values keyed `NAME_FIELD` (lstm_out_std)."""
        rec = self.record
        if match := _DIAGNOSE.search(text):
            if rec.diagnose_model is None:
                rec.diagnose_model = match.group(1)
            return Feed.TAKEN
        if match := _DIAG_CONTRACTOR.search(text):
            for key, value in (("contractor_lstm", match.group(1)), ("contractor_beat", match.group(2))):
                rec.diagnose[key] = to_float(value)
                rec.lines[f"diagnose.{key}"] = lineno
            return Feed.TAKEN
        if match := _DIAG_ENTROPY.search(text):
            key = f"{match.group(1).lower()}_entropy"
            rec.diagnose[key] = to_float(match.group(2))
            rec.lines[f"diagnose.{key}"] = lineno
            return Feed.TAKEN
        if match := _DIAG_PAIRS.match(text):
            name = "_".join(match.group(1).lower().split())
            for field, value in _PAIR.findall(match.group(2)):
                key = f"{name}_{field}"
                if key not in rec.diagnose:  # the first print of a name is the diagnose pass's
                    rec.diagnose[key] = to_float(value)
                    rec.lines[f"diagnose.{key}"] = lineno
            return Feed.TAKEN
        return None

    def _take_tag(self, lineno: int, tag: str, message: str) -> Feed:
        rec = self.record
        subject = tag_subject(message)
        rec.tags.append(TrainerTag(tag=tag, text=message, line=lineno, subject=subject))
        if subject == "std_ratio" and (m := _RATIO.search(message)):
            self._set("std_ratio", to_float(m.group(1)), lineno)
        elif subject == "collapsed_dims":
            if m := _COLLAPSED.search(message):
                self._set("collapsed_dims", int(m.group(1)), lineno)
                self._set("total_dims", int(m.group(2)), lineno)
                self._set("collapse_threshold", to_float(m.group(3)), lineno)
            elif m := _HEALTHY_DIMS.search(message):
                self._set("collapsed_dims", 0, lineno)
                self._set("total_dims", int(m.group(1)), lineno)
        elif subject == "context_vectors":
            lowered = message.lower()
            present = not ("no context" in lowered or "missing" in lowered or "not found" in lowered)
            self._set("context_vectors", present, lineno)
        elif subject in ("logit_std", "pred_std") and getattr(rec, subject) is None:
            # Older trainers print the value only in the health line.
            if m := _STD_VALUE.search(message):
                self._set(subject, to_float(m.group(1)), lineno)
        return Feed.TAKEN

    def finish(self, builder: Builder) -> None:
        rec = self.record
        rec.end_line = self.last_line
        value_tags = [t for t in rec.tags if t.subject in ("logit_std", "pred_std", "std_ratio")]
        if value_tags and all(not _STD_VALUE.search(t.text) and not _RATIO.search(t.text) for t in value_tags):
            rec.dialect = "seed"
        if self.placeholders:
            rec.dialect = "seed"
            builder.warn(
                self.placeholders[0],
                "activation check: placeholder or range where a value belongs; treated as not reported",
            )
        if not self.closed_cleanly:
            builder.warn(rec.line, "activation check block ended without its closing rule (truncated?)")
        builder.add_activation(rec)


KIND = Kind(name="activation", marker=MARKER, scan=(rb"CTIVATION CHECK",), block=ActivationBlock)
