"""Benchmark: a ResNet-50's first training epochs with and without ``build_step_state`` (the step traced once).

    .venv/bin/python bench/step_state.py [--repeats 3] [--epochs 2]

Each run is a fresh process (TensorFlow's tracing caches start empty), the two arms alternating: the kit's
ResNet-50 (``geoai_ref.models.resnet.build_resnet50``: random initialisation, 8 bands, 8x8 patches upsampled to
32x32) compiled with the exercise's recipe and fitted on 300 seeded random patches with 75 for validation, batch
32; once with its BatchNorm layers frozen (the kit's default, ``bn_inference``) and once with every layer
training (the exercise's recipe before its fixes: more variables for the optimizer). It prints each arm's seconds
for the first epoch (tracing included) and for the whole fit (medians over the repeats), and checks that both
arms end with the same weights.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

# One arm in a fresh process: prints a JSON line with its timings and a digest of the final weights.
CHILD = """
import hashlib, json, sys, time
import numpy as np
from geoai_ref.models import build_step_state, keras
from geoai_ref.models.resnet import build_resnet50

prebuilt, epochs, bn_inference = sys.argv[1] == "prebuilt", int(sys.argv[2]), sys.argv[3] == "frozen"
keras.utils.set_random_seed(7)
rng = np.random.default_rng(0)
x, y = rng.random((375, 8, 8, 8)).astype("float32"), rng.integers(0, 5, 375)
model = build_resnet50(8, x[:300], weights=None, bn_inference=bn_inference).model
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
if prebuilt:
    build_step_state(model, x[:300], y[:300])
epoch_ends = []
class Clock(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        epoch_ends.append(time.perf_counter() - start)
model.fit(x[:300], y[:300], validation_data=(x[300:], y[300:]), epochs=epochs, batch_size=32, shuffle=False,
          callbacks=[Clock()], verbose=0)
digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()[:16]
print(json.dumps({"first_epoch": epoch_ends[0], "fit": epoch_ends[-1], "weights": digest}))
"""


def run_arm(arm: str, epochs: int, batchnorm: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, arm, str(epochs), batchnorm], check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    for batchnorm in ("frozen", "training"):
        runs: dict[str, list[dict]] = {"plain": [], "prebuilt": []}
        for _ in range(args.repeats):
            for arm in runs:
                runs[arm].append(run_arm(arm, args.epochs, batchnorm))
        print(f"\nResNet-50, BatchNorm {batchnorm}")
        print(f"{'arm':10} {'first epoch s (median)':>23} {f'{args.epochs}-epoch fit s (median)':>24}   weights")
        for arm, rows in runs.items():
            first = statistics.median(r["first_epoch"] for r in rows)
            fit = statistics.median(r["fit"] for r in rows)
            print(f"{arm:10} {first:23.1f} {fit:24.1f}   {sorted({r['weights'] for r in rows})}")
        plain, prebuilt = (statistics.median(r["fit"] for r in runs[a]) for a in ("plain", "prebuilt"))
        same = {r["weights"] for r in runs["plain"]} == {r["weights"] for r in runs["prebuilt"]}
        print(f"saved per fit: {plain - prebuilt:.1f} s ({plain / prebuilt:.2f}x); same weights in both arms: {same}")


if __name__ == "__main__":
    main()
