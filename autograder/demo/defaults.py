"""The sample class demo's settings (kept import-light for the command line's defaults)."""

#: Epochs of the worked solutions the sample class is built from.
SAMPLE_EPOCHS = 5
#: Two workers, and a cell timeout that a slow machine's 4B ablation cell fits in (the never-ending cell of
#: the sample class costs this much). Measured 2026-11-29 on a 2-core machine about 2.8 times slower than
#: usual (`import tensorflow` 8.4 s instead of 3 s): each of the ablation's four 1-epoch ResNet-50s took
#: 86-105 s with two workers sharing the cores, so the cell needs about 400 s; at 240 s every 4B submission was
#: stopped there and flagged `cell-timeout`.
DEMO_WORKERS = 2
DEMO_CELL_TIMEOUT = 600
