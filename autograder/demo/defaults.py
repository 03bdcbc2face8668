"""The sample class demo's settings (kept import-light for the command line's defaults)."""

#: Epochs of the worked solutions the sample class is built from.
SAMPLE_EPOCHS = 5
#: Two workers, and a cell timeout that a busy machine's 4B ablation cell fits in (the never-ending cell of
#: the sample class costs this much).
DEMO_WORKERS = 2
DEMO_CELL_TIMEOUT = 240
