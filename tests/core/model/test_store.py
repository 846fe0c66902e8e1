"""The stored model and its record of what built it: stale models are rebuilt or refused,
never silently served. Uses the tiny synthetic project (tests.support), which trains fast."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.nlu.catalog import load_catalog
from bot.core.model.store import (
    ModelPaths, StaleModelError, inputs_fingerprint, library_versions, load_model, stale_reason,
)
from bot.settings import Settings
from bot.wiring import build_core
from tests.support import PROJECT_ROOT, copy_trained


def read_meta(data: Path) -> dict:
    return json.loads(ModelPaths(data / "model").meta.read_text(encoding="utf-8"))


def reason(root: Path, data: Path) -> str | None:
    return stale_reason(read_meta(data), root / "intents", root / "training")


def load(root: Path, data: Path, rebuild: bool, progress=lambda _m: None):
    catalog = load_catalog(root / "intents")
    return load_model(catalog, root / "intents", root / "training", data / "model", rebuild=rebuild, progress=progress)


@pytest.fixture
def project(tiny_trained, tmp_path) -> tuple[Path, Path]:
    """A private copy of the trained tiny project: (root, data_dir)."""
    return copy_trained(tiny_trained, tmp_path)


# -- a fresh model ---------------------------------------------------------------------------

def test_a_fresh_model_is_current_and_describes_itself(tiny_trained):
    root, data = tiny_trained
    meta = read_meta(data)
    assert reason(root, data) is None
    assert meta["libraries"] == library_versions()
    assert meta["inputs_sha256"] == inputs_fingerprint(root / "intents", root / "training")
    assert set(meta["classes"]) == {"widget_stuck", "gadget_lost", "ledger_locked", "out_of_scope"}
    assert meta["examples"] == 40
    assert 0.0 <= meta["cv_accuracy"] <= 1.0
    assert 0.0 < meta["threshold"] < 1.0


def test_a_current_model_is_loaded_not_rebuilt(project):
    root, data = project
    before = ModelPaths(data / "model").model.stat().st_mtime_ns
    messages: list[str] = []
    model, meta = load(root, data, rebuild=False, progress=messages.append)
    assert meta == read_meta(data)
    assert messages == []
    assert ModelPaths(data / "model").model.stat().st_mtime_ns == before
    assert set(model.classes) == set(meta["classes"])


def test_the_tiny_model_answers(tiny_trained):
    root, data = tiny_trained
    core = build_core(Settings.from_env({"SYNCMEDIC_ROOT": str(root), "SYNCMEDIC_DATA_DIR": str(data),
                                         "MODEL_STALE": "refuse"}))
    answer = core.engine.diagnose('Widget "W-42" is stuck in the queue')
    assert (answer.intent, answer.entities["product"], answer.primary.source) == ("widget_stuck", "W-42", "signature")
    assert core.engine.diagnose("the courier lost our gadget parcel").intent == "gadget_lost"


def test_the_fingerprint_does_not_depend_on_where_the_project_lives(tiny_trained, tmp_path):
    root, _ = tiny_trained
    copy_root, _ = copy_trained(tiny_trained, tmp_path)
    assert inputs_fingerprint(root / "intents", root / "training") == \
        inputs_fingerprint(copy_root / "intents", copy_root / "training")


# -- changed inputs --------------------------------------------------------------------------

def edit_training_example(root: Path) -> None:
    path = root / "training" / "examples" / "gadget_lost.yaml"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["examples"].append("the gadget box never turned up")
    path.write_text(json.dumps(doc), encoding="utf-8")


def edit_intent(root: Path) -> None:
    path = root / "intents" / "ledger_locked.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Post the entry again.", "Post the entry once more."),
                    encoding="utf-8")


def add_correction(root: Path) -> None:
    doc = {"intent": "widget_stuck", "examples": ["my widget froze in line"]}
    (root / "training" / "corrections" / "widget_stuck.yaml").write_text(json.dumps(doc), encoding="utf-8")


def add_intent_file(root: Path) -> None:
    text = (root / "intents" / "gadget_lost.yaml").read_text(encoding="utf-8")
    (root / "intents" / "gadget_late.yaml").write_text(text.replace("id: gadget_lost", "id: gadget_late"),
                                                       encoding="utf-8")


@pytest.mark.parametrize("change", [edit_training_example, edit_intent, add_correction, add_intent_file])
def test_changed_inputs_make_the_model_stale(project, change):
    root, data = project
    assert reason(root, data) is None
    change(root)
    assert reason(root, data) == "intents/ or training/ changed since it was built"
    with pytest.raises(StaleModelError) as caught:
        load(root, data, rebuild=False)
    message = str(caught.value)
    assert str(data / "model") in message
    assert "changed" in message
    assert "python -m bot train" in message


def test_the_heldout_set_is_not_a_model_input(project):
    root, data = project
    path = root / "training" / "heldout" / "gadget_lost.yaml"
    path.write_text(json.dumps({"intent": "gadget_lost", "examples": ["a brand new held-out message"]}), encoding="utf-8")
    assert reason(root, data) is None


@pytest.mark.parametrize("key,value,expected", [
    ("libraries", {**library_versions(), "numpy": "0.0.1"}, "library versions"),
    ("libraries", {**library_versions(), "python": "2.7.18"}, "library versions"),
    ("format", 999, "another version of SyncMedic"),
    ("inputs_sha256", "0" * 64, "changed"),
])
def test_a_tampered_description_makes_the_model_stale(project, key, value, expected):
    root, data = project
    meta = read_meta(data)
    meta[key] = value
    ModelPaths(data / "model").meta.write_text(json.dumps(meta), encoding="utf-8")
    assert expected in reason(root, data)
    with pytest.raises(StaleModelError, match=expected):
        load(root, data, rebuild=False)


def test_missing_library_entry_makes_the_model_stale(project):
    root, data = project
    meta = read_meta(data)
    meta["libraries"].pop(sorted(meta["libraries"])[0])
    ModelPaths(data / "model").meta.write_text(json.dumps(meta), encoding="utf-8")
    assert "library versions" in reason(root, data)


def test_an_unreadable_description_is_refused(project):
    root, data = project
    ModelPaths(data / "model").meta.write_text("{not json", encoding="utf-8")
    with pytest.raises(StaleModelError, match="unreadable"):
        load(root, data, rebuild=False)


def test_a_missing_model_file_is_refused(project):
    root, data = project
    ModelPaths(data / "model").model.unlink()
    with pytest.raises(StaleModelError, match="no model"):
        load(root, data, rebuild=False)


def test_no_model_at_all_is_refused(tiny_root, tmp_path):
    with pytest.raises(StaleModelError, match="no model has been built"):
        load(tiny_root, tmp_path / "empty", rebuild=False)


def test_build_core_refuses_a_stale_model_when_told_to(project):
    root, data = project
    edit_intent(root)
    env = {"SYNCMEDIC_ROOT": str(root), "SYNCMEDIC_DATA_DIR": str(data), "MODEL_STALE": "refuse"}
    with pytest.raises(StaleModelError):
        build_core(Settings.from_env(env))


# -- rebuilding ------------------------------------------------------------------------------

def test_a_stale_model_is_rebuilt_when_allowed(project):
    root, data = project
    add_correction(root)
    old = read_meta(data)
    messages: list[str] = []
    model, meta = load(root, data, rebuild=True, progress=messages.append)
    assert any(m.startswith("rebuilding the model: intents/ or training/ changed") for m in messages)
    assert reason(root, data) is None
    assert json.loads(json.dumps(meta, default=str)) == read_meta(data)
    assert meta["examples"] == old["examples"] + 1  # the correction is trained on
    assert meta["inputs_sha256"] != old["inputs_sha256"]
    # and the rebuilt model now loads without another rebuild
    messages.clear()
    load(root, data, rebuild=False, progress=messages.append)
    assert messages == []


# -- settings ----------------------------------------------------------------------------------

def test_settings_take_root_and_data_dir_from_the_environment(tmp_path):
    s = Settings.from_env({"SYNCMEDIC_ROOT": str(tmp_path / "r"), "SYNCMEDIC_DATA_DIR": str(tmp_path / "d")})
    assert s.intents_dir == (tmp_path / "r" / "intents").resolve()
    assert s.training_dir == (tmp_path / "r" / "training").resolve()
    assert s.responses_dir == (tmp_path / "r" / "responses").resolve()
    assert s.model_dir == (tmp_path / "d" / "model").resolve()
    default = Settings.from_env({})
    assert default.root == PROJECT_ROOT
    assert default.model_dir == PROJECT_ROOT / "var" / "model"
    assert default.stale_model == "rebuild"


def test_a_model_without_out_of_scope_examples_still_answers(tiny_root, tmp_path):
    (tiny_root / "training" / "examples" / "out_of_scope.yaml").unlink()
    core = build_core(Settings.from_env({"SYNCMEDIC_ROOT": str(tiny_root), "SYNCMEDIC_DATA_DIR": str(tmp_path / "d")}))
    assert "out_of_scope" not in core.model_meta["classes"]
    answer = core.engine.diagnose("xylophone")
    assert answer.kind == "out_of_scope"
