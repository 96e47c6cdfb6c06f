"""Builders of log snippets in the trainer's exact format, and CLI runners."""

from __future__ import annotations

import io
import math
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from percediag.model import Run
from percediag.parsers import parse_lines
from percediag.sources import LogSource

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "logs"
REAL = Path(__file__).resolve().parent / "fixtures" / "real-logs"
RULE = "=" * 60


def activation_block(
    *,
    params: str | None = "13,758,227",
    head: str | None = "512->128, 128->19",
    lr: str | None = "5.00e-05",
    target_std: float | None = 0.106,
    pred_std: float | None = 0.120,
    logit_std: float | None = 0.600,
    ratio: float | None = None,
    collapsed: int | None = 0,
    context: bool | None = True,
    tags: dict[str, str] | None = None,
) -> str:
    """An activation check in the trainer's dialect; None leaves a line out."""
    tags = tags or {}
    lines = ["", RULE, "  ACTIVATION CHECK - Batch 0", RULE]
    if params is not None:
        lines.append(f"  Model parameters: {params}")
    if head is not None:
        lines += [f"  Prediction head: {head}", "    [OK] Prediction head architecture correct (Round 5)"]
    if lr is not None:
        lines.append(f"  Learning rate: {lr}")
    if target_std is not None:
        lines.append(f"  Targets:     mean=0.553, std={target_std:.3f}")
    if pred_std is not None:
        lines.append(f"  Predictions: mean=0.497, std={pred_std:.3f}, range=[0.300, 0.700]")
    if logit_std is not None:
        lines.append(f"  Logits:      mean=-0.012, std={logit_std:.3f}")
    lines += ["", "  Health Check:"]
    if logit_std is not None:
        lines.append(f"    [{tags.get('logit', 'OK')}] Logits std={logit_std:.3f} in good range")
    if ratio is not None:
        lines.append(f"    [{tags.get('ratio', 'OK')}] Pred/target std ratio={ratio:.2f}x (target: 0.8-1.5x)")
    if collapsed is not None:
        if collapsed:
            lines.append(f"    [WARN] {collapsed}/19 dimensions collapsed (std < 0.03)")
        else:
            lines.append("    [OK] All 19 dimensions have healthy variance")
    if context is True:
        lines.append("    [OK] Context vectors present (Round 3 fix active)")
    elif context is False:
        lines.append("    [WARN] No context vectors found - check final_attention type")
    lines += [RULE, ""]
    return "\n".join(lines)


def grad_block(step: int, total: float | str = 0.9, balance: float | str = 0.5, context: str | None = "0.0003 [OK: learning]",
               loss: str = "0.015321", flag: str = "OK") -> str:
    lines = ["", f"  [GRAD] Step {step}: total={total}, loss={loss}",
             "    han=0.412, contractor=0.803, attn=0.0311, head=0.377"]
    if context is not None:
        lines.append(f"    context_vectors={context}")
    lines.append(f"    Balance (head/encoder): {balance}x [{flag}]")
    return "\n".join(lines)


def epoch_line(fold: int, epoch: int, r2: float | str, train_loss: float | str = 0.0141, best: bool = False) -> str:
    r2_text = r2 if isinstance(r2, str) else f"{r2:+.4f}"
    loss_text = train_loss if isinstance(train_loss, str) else f"{train_loss:.4f}"
    return (f"  [Fold {fold}] Epoch {epoch:3d} | train_loss: {loss_text} | val_loss: 0.0152 | val_r2: {r2_text} | "
            f"lr: 5.00e-05 | time: 31.4s" + (" *best*" if best else ""))


def fold_header(fold: int, last: int = 3, params: str | None = None) -> str:
    lines = ["", "=" * 70, f"FOLD {fold}/{last}", "=" * 70, "  Train samples: 712 | Val samples: 236",
             "  Batch size: 8 | Max epochs: 200 | Early stop patience: 20", "=" * 70]
    if params:
        lines.append(f"  Model parameters: {params}")
    return "\n".join(lines)


def curve_lines(fold: int, values: list[float], losses: list[float] | None = None) -> str:
    best = float("-inf")
    out = []
    for epoch, value in enumerate(values):
        loss = losses[epoch] if losses else 0.02 * 0.97**epoch
        out.append(epoch_line(fold, epoch, value, loss, best=value > best))
        best = max(best, value)
    return "\n".join(out)


def parse_text(text: str) -> Run:
    log = parse_lines(LogSource.from_text(text).lines())
    return log.runs[-1]


def run_cli(args: list[str], stdin: bytes | None = None, monkeypatch=None) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from percediag import cli

    out, err = io.StringIO(), io.StringIO()
    old_argv, old_stdin = sys.argv, sys.stdin
    sys.argv = ["percediag", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv, sys.stdin = old_argv, old_stdin
    return code, out.getvalue(), err.getvalue()


def rounded(value):
    """Floats to 9 significant digits, so two sums of one series in different orders compare equal."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        # Batch (Chan) and sequential (Welford) variance differ in the last bits.
        return 0.0 if abs(value) < 1e-12 else float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value
