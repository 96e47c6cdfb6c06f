"""Write a large, realistic replica training log of a chosen size.

Every training step logs a gradient block and a progress-bar frame (the
frames of an epoch share one physical line, separated by carriage returns,
as a piped Lightning bar does); every epoch adds the epoch line, Lightning's
early-stopping line and the DataLoader warnings; every fold has its header,
activation check and summary; the run ends with the aggregate, test set and
per-dimension tables. Folds repeat (as appended runs of 4 folds) until the
size is reached. Numbers are drawn from a seeded RNG around a plausible
Round 5 run.

    python bench/make_log.py 1G /tmp/big.log
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import synth  # noqa: E402  (the same writer the tests and examples use)

UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    if text and text[-1] in UNITS:
        return int(float(text[:-1]) * UNITS[text[-1]])
    return int(text)


def write_fold(handle, rng: random.Random, fold: int, epochs: int, steps_per_epoch: int, step0: int) -> tuple[int, int]:
    """One fold, written epoch by epoch: the synth writer's fold with a gradient block and a bar frame
    at every step. Returns (bytes written, next step)."""
    out: list[str] = []
    written = 0
    scenario = synth.SCENARIOS["round5-plateau"]
    writer = synth.Writer(scenario)
    writer.rng = rng
    writer.fold_results = []
    writer.fold_header(fold)
    writer.activation(fold)
    out.extend(writer.out)
    step = step0
    best = -1.0
    for epoch in range(epochs):
        frames = []
        for batch in range(steps_per_epoch):
            total = rng.uniform(0.12, 0.24)
            out.append(f"\n  [GRAD] Step {step}: total={total:.3f}, loss={rng.uniform(0.008, 0.03):.6f}\n"
                       f"    han={total * 0.2:.3f}, contractor={total * 0.4:.3f}, attn={total * 0.01:.4f}, head={total * 0.4:.3f}\n"
                       f"    Balance (head/encoder): 0.7x [OK]")
            pct = (batch + 1) * 100 // steps_per_epoch
            frames.append(f"Epoch {epoch}: {pct:3d}%|{'#' * (pct // 10):<10}| {batch + 1}/{steps_per_epoch} "
                          f"[00:{batch % 60:02d}<00:30, 2.9{batch % 10}it/s, v_num=0, train/loss=0.01{batch % 90:02d}]")
            step += 1
            if batch % 25 == 24:
                out.append("\r" + "\r".join(frames))
                frames = []
        r2 = 0.03 - 0.14 * 0.75 ** epoch + rng.gauss(0, 0.006)
        is_best = r2 > best
        best = max(best, r2)
        out.append("\r" + "\r".join(frames) + f"  [Fold {fold}] Epoch {epoch:3d} | train_loss: {0.012 + rng.uniform(0, 0.004):.4f} | "
                   f"val_loss: {0.0125 * (1 - r2):.4f} | val_r2: {r2:+.4f} | lr: 5.00e-05 | time: {rng.uniform(29, 33):.1f}s"
                   + (" *best*" if is_best else ""))
        out.append(synth.WORKER_WARNING.format(line=437))
        out.append(synth.PIN_WARNING)
        text = "\n".join(out) + "\n"
        handle.write(text)
        written += len(text)
        out = []
    out.append(f"`Trainer.fit` stopped: `max_epochs={epochs}` reached.")
    writer.out = []
    writer.summary(fold, [0.0] * epochs, best, epochs - 1)
    out.extend(writer.out)
    text = "\n".join(out) + "\n"
    handle.write(text)
    return written + len(text), step


FOLDS = (1, 2, 3, 0)
EPOCHS = 200
BYTES_PER_STEP = 234  # a gradient block and its share of a progress-bar line, measured


def write(size: int, path: Path, seed: int = 0) -> int:
    """One run of 4 folds x 200 epochs; the steps per epoch grow with `size`."""
    rng = random.Random(seed)
    steps_per_epoch = max(5, size // (len(FOLDS) * EPOCHS * BYTES_PER_STEP))
    writer = synth.Writer(synth.SCENARIOS["round5-plateau"])
    writer.rng = rng
    writer.fold_results = []
    writer.preamble()
    written = 0
    with open(path, "w", encoding="utf-8") as handle:
        text = "\n".join(writer.out) + "\n"
        handle.write(text)
        written += len(text)
        step = 0
        for fold in FOLDS:
            size_written, step = write_fold(handle, rng, fold, epochs=EPOCHS, steps_per_epoch=steps_per_epoch, step0=0)
            written += size_written
            writer.fold_results.append((fold, rng.uniform(0.02, 0.05), EPOCHS + 1, writer.dims_for(0.03)))
        writer.out = []
        writer.aggregate()
        text = "\n".join(writer.out) + "\n"
        handle.write(text)
        written += len(text)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python bench/make_log.py SIZE PATH   (SIZE like 50M or 1G)")
        return 2
    size = write(parse_size(argv[0]), Path(argv[1]))
    print(f"wrote {size / 1e6:.1f} MB to {argv[1]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
