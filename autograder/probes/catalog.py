"""Which hidden checks are judged from probes, per phase: the calls each makes and the check that judges them.

The check functions are the hidden checks of :mod:`autograder.checks` (tested there with plain functions); the
probe makes exactly the calls they make (their ``*_inputs`` / ``*_calls`` functions) and replays the answers to
them.
"""

from __future__ import annotations

from autograder.checks import phase4a, phase4b, phase4c
from autograder.probes.run import Probe
from geoai_ref.phase import Phase


def _calls(function: str, inputs) -> callable:
    return lambda: [(function, args) for args in inputs()]


PROBES: dict[Phase, tuple[Probe, ...]] = {
    Phase.A: (
        Probe("4a_normalise", _calls("normalise_per_band", phase4a.normalise_inputs),
              lambda f: phase4a.check_normalise(f["normalise_per_band"])),
        Probe("4a_inflate_conv1", _calls("inflate_conv1_kernel", phase4a.inflate_inputs),
              lambda f: phase4a.check_inflate(f["inflate_conv1_kernel"])),
        Probe("4a_build_model", phase4a.build_model_calls,
              lambda f: phase4a.check_build_model(f["build_transfer_model"])),
        Probe("4a_freeze", phase4a.freeze_calls,
              lambda f: phase4a.check_freeze(f["freeze_by_ratio"], f["frozen_fraction"])),
        Probe("4a_callbacks", phase4a.callbacks_calls, lambda f: phase4a.check_callbacks(f["make_callbacks"])),
        Probe("4a_metrics", _calls("evaluate_predictions", phase4a.metrics_inputs),
              lambda f: phase4a.check_metrics(f["evaluate_predictions"])),
        Probe("4a_collapse", _calls("detect_collapse", phase4a.collapse_inputs),
              lambda f: phase4a.check_collapse(f["detect_collapse"])),
    ),
    Phase.B: (
        Probe("4b_align", phase4b.align_calls, lambda f: phase4b.check_align(f["align_to_s2"])),
        Probe("4b_stack", phase4b.stack_calls, lambda f: phase4b.check_stack(f["stack_fused"])),
        Probe("4b_patches", phase4b.patches_calls, lambda f: phase4b.check_patches(f["extract_patches"])),
        Probe("4b_qc", phase4b.qc_calls, lambda f: phase4b.check_qc(f["quality_check"])),
        Probe("4b_split", phase4b.split_calls, lambda f: phase4b.check_split(f["stratified_group_split"])),
        Probe("4b_band_reduction", phase4b.band_reduction_calls,
              lambda f: phase4b.check_band_reduction(f["build_fusion_resnet"])),
        Probe("4b_select_bands", phase4b.select_bands_calls,
              lambda f: phase4b.check_select_bands(f["select_bands"])),
    ),
    Phase.C: (
        Probe("4c_subsets", phase4c.subsets_calls,
              lambda f: phase4c.check_subsets(f["band_subsets"], f["select_bands"])),
    ),
}
