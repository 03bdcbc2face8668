"""The sample class demo's settings (kept import-light for the command line's defaults)."""

#: Epochs of the worked solutions the sample class is built from.
SAMPLE_EPOCHS = 5
#: Two workers, and a cell timeout that a slow machine's 4B ablation cell fits in with room to spare (the
#: never-ending cell of the sample class costs this much, once). Within the grading budget (one batch per
#: epoch, run eagerly) each of the ablation's four ResNet-50s builds, trains and predicts in about 5 s on 2 cores
#: beside another worker (the cell took 20 s in the demo, 2026-11-30); a machine 2.8 times slower (measured
#: 2026-11-29) needs about a minute for it.
DEMO_WORKERS = 2
DEMO_CELL_TIMEOUT = 120
