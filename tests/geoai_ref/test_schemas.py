import json

import pytest

from geoai_ref.schemas import AblationStudy, ModelResult, Phase4AMetrics, read_json, write_json


def result(name: str = "S2", accuracy: float = 0.8) -> ModelResult:
    return ModelResult(name=name, bands=["B2"], accuracy=accuracy, macro_f1=0.7, evaluation={"per_class": {}},
                       collapse={"verdict": "healthy"}, training={"epochs_run": 1})


def test_ablation_round_trip(tmp_path):
    study = AblationStudy(phase="4C", model="SimpleCNN", configurations=[result("S2"), result("Full", 0.9)],
                          best_configuration="Full", split={"method": "x"})
    back = read_json(write_json(tmp_path / "a.json", study), AblationStudy)
    assert back == study and back.result("Full").accuracy == 0.9
    with pytest.raises(KeyError, match="no configuration 'S1'"):
        back.result("S1")


def test_phase4a_round_trip(tmp_path):
    metrics = Phase4AMetrics(phase="4A", model="ResNet-50", recipe={}, pretrained=False, weights_source=None,
                             freeze={}, result=result(), week3_baseline={"val_accuracy": 0.8667}, split={})
    assert read_json(write_json(tmp_path / "m.json", metrics), Phase4AMetrics) == metrics


def test_missing_keys_are_named(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"phase": "4A", "model": "x"}))
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['recipe', 'pretrained'"):
        read_json(path, Phase4AMetrics)
    path.write_text(json.dumps({"phase": "4C", "model": "x", "configurations": [{"name": "S2"}],
                                "best_configuration": "S2", "split": {}}))
    with pytest.raises(ValueError, match=r"configurations\[0\] lacks the key\(s\) \['bands'"):
        read_json(path, AblationStudy)


def test_invalid_json(tmp_path):
    path = tmp_path / "m.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_json(path, AblationStudy)
    path.write_text("[]")
    with pytest.raises(ValueError, match="JSON object"):
        read_json(path, AblationStudy)
