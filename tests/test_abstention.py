from __future__ import annotations

from qa.reading.heuristic.abstention import FEATURES, AbstentionModel, AbstentionSignal, calibrated_model


def signal(margin: float, coverage: float = 0.5, same_script: bool = True) -> AbstentionSignal:
    return AbstentionSignal(margin, coverage, 0.85, coverage, 0.0, 1.0, same_script)


def test_gate_refuses_off_topic_questions_in_any_script():
    model = AbstentionModel.uncalibrated()
    assert not model.answerable(signal(-0.01)) and not model.answerable(signal(-0.01, same_script=False))
    assert model.answerable(signal(0.02)) and model.answerable(signal(0.02, same_script=False))


def test_model_decides_same_script_questions_and_skips_cross_script_ones():
    # a model that only looks at sentence coverage
    weights = tuple(1.0 if name == "sentence_coverage" else 0.0 for name in FEATURES)
    model = AbstentionModel(weights, 0.0, tuple(0.5 for _ in FEATURES), tuple(0.1 for _ in FEATURES), 0.5, 0.0)
    assert model.answerable(signal(0.05, coverage=0.9))
    assert not model.answerable(signal(0.05, coverage=0.1))
    assert model.answerable(signal(0.05, coverage=0.1, same_script=False))  # zero overlap is no reason


def test_default_model_is_calibrated_and_unknown_models_use_the_gate():
    fitted = calibrated_model("intfloat/multilingual-e5-small")
    assert not fitted.margin_only and len(fitted.weights) == len(FEATURES) and 0 < fitted.threshold < 1
    assert calibrated_model("someone/else").margin_only
