"""One model everywhere (issue 15, item 4): the model in use is published in the database, and
every process (on this machine or another: here, a second copy of the project) serves it.

Uses the tiny synthetic project, which trains in seconds; no test waits for a timer (the
watch's sleep is a SteppedSleep)."""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from pathlib import Path

import pytest

from bot.core.model.inuse import load_published, local_compat, publish
from bot.core.model.store import ModelPaths, StaleModelError, read_saved
from bot.core.storage.modelshelf import KEEP_PER_COMPAT, ModelShelf
from bot.core.storage.store import Store
from bot.modelwatch import ModelWatch
from bot.settings import Settings
from bot.wiring import build_core, retrain
from tests.support import SteppedSleep, copy_trained, run_bot

CORRECTED = "the widget parcel is held at the ledger desk"


def settings_for(root: Path, data: Path, url: str = "", stale: str = "refuse") -> Settings:
    env = {"SYNCMEDIC_ROOT": str(root), "SYNCMEDIC_DATA_DIR": str(data), "MODEL_STALE": stale}
    return Settings.from_env({**env, "DATABASE_URL": url} if url else env)


@pytest.fixture
def machines(tiny_trained, tmp_path) -> list[tuple[Path, Path]]:
    """Two machines: each its own copy of the project and of its model folder."""
    return [copy_trained(tiny_trained, tmp_path / name) for name in ("a", "b")]


def publish_another(store: Store, core, threshold: float) -> str:
    """Publish the model `core` serves with another threshold (other bytes, other answers), as
    a retrain elsewhere would, without spending seconds training: its fingerprint."""
    model = pickle.loads(pickle.dumps(core.engine.model))
    model.threshold = threshold
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {**core.model_meta, "threshold": threshold, "fingerprint": hashlib.sha256(data).hexdigest()}
    return publish(ModelShelf(store.engine), data, meta).fingerprint


def a_correction(store: Store) -> None:
    """A user said "Not this": CORRECTED is really ledger_locked."""
    case = store.open_case(platform="slack", workspace="T1", channel="C1", thread="", message="1.0", user="U1",
                           intent="gadget_lost", confidence=0.4, entities={}, question=CORRECTED)
    assert store.reclassify(case.id, "ledger_locked", "U1", "1.1").changed


def test_a_retrain_on_one_machine_is_served_by_every_other_process(machines, store, tmp_path):
    (a_root, a_data), (b_root, b_data) = machines
    a = build_core(settings_for(a_root, a_data), store=store)
    b = build_core(settings_for(b_root, b_data), store=store)
    first = a.model_meta["fingerprint"]
    assert b.model_meta["fingerprint"] == first  # the first start published its model; the second serves it
    before = b.engine.diagnose(CORRECTED).confidence

    a_correction(store)
    meta = retrain(settings_for(a_root, a_data), a, store)  # the App Home button, on machine a

    assert a.model_meta["fingerprint"] == meta["fingerprint"] != first
    assert ModelWatch(b, ModelShelf(store.engine), 30.0).refresh() is True
    assert b.model_meta["fingerprint"] == meta["fingerprint"]
    assert b.engine.diagnose(CORRECTED).confidence == a.engine.diagnose(CORRECTED).confidence != before
    # A third machine, with no model folder at all and MODEL_STALE=refuse, serves it without training.
    c_root, _ = copy_trained((a_root, a_data), tmp_path / "c")
    c = build_core(settings_for(c_root, tmp_path / "c-data"), store=store)
    assert c.model_meta["fingerprint"] == meta["fingerprint"]
    assert not (tmp_path / "c-data" / "model").exists()


def test_without_a_published_model_a_process_refuses_as_before(tiny_root, tmp_path, store):
    with pytest.raises(StaleModelError):
        build_core(settings_for(tiny_root, tmp_path / "none"), store=store)


async def test_a_running_process_swaps_in_a_newer_model_within_its_check_interval(machines, store):
    (b_root, b_data), _ = machines
    b = build_core(settings_for(b_root, b_data), store=store)
    served = b.engine.model
    sleep = SteppedSleep()
    watch = ModelWatch(b, ModelShelf(store.engine), 20.0, sleep=sleep)
    task = asyncio.ensure_future(watch.run())
    try:
        await sleep.asleep(20.0)
        newer = publish_another(store, b, 0.97)
        assert b.engine.model is served  # nothing happens before the next look
        await sleep.step()
        assert b.model_meta["fingerprint"] == newer and b.engine.model is not served
        assert b.engine.model.threshold == 0.97
    finally:
        task.cancel()


def test_python_m_bot_train_publishes_the_model_it_builds(machines, tmp_path):
    (root, data), _ = machines
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = Store.from_url(url)
    try:
        served = build_core(settings_for(root, data), store=store)  # a running bot (published its model)
        a_correction(store)
        result = run_bot(["train", "--quiet"], env={"SYNCMEDIC_ROOT": str(root), "SYNCMEDIC_DATA_DIR": str(data),
                                                    "DATABASE_URL": url})
        assert result.returncode == 0, result.stderr.decode()
        trained = hashlib.sha256(ModelPaths(data / "model").model.read_bytes()).hexdigest()
        newest = ModelShelf(store.engine).newest(served.model_compat)
        assert newest is not None and newest.fingerprint == trained != served.model_meta["fingerprint"]
        assert ModelWatch(served, ModelShelf(store.engine), 30.0).refresh()
        assert served.model_meta["fingerprint"] == trained
    finally:
        store.engine.dispose()


def test_the_same_model_published_again_is_the_newest_again_and_old_ones_are_pruned(machines, store):
    (root, data), _ = machines
    shelf = ModelShelf(store.engine)
    saved = read_saved(data / "model")
    assert saved is not None
    bytes_, meta = saved
    compat = local_compat(root / "intents", root / "training")
    first = publish(shelf, bytes_, meta)

    def another(n: int):  # another model of the same kind (a byte apart, for the test)
        data_n = bytes_ + bytes([n])
        return publish(shelf, data_n, {**meta, "fingerprint": hashlib.sha256(data_n).hexdigest()})

    latest = another(0)
    assert shelf.newest(compat) == latest
    again = publish(shelf, bytes_, meta)  # trained again from the same inputs: the same bytes
    assert again.id == first.id and shelf.newest(compat).fingerprint == meta["fingerprint"]
    model, loaded = load_published(shelf, again)
    assert loaded["fingerprint"] == meta["fingerprint"] and model.classes
    for n in range(1, KEEP_PER_COMPAT + 2):
        latest = another(n)
    assert shelf.newest(compat) == latest
    with store.engine.connect() as conn:
        kept = conn.exec_driver_sql("SELECT COUNT(*) FROM models").scalar_one()
    assert kept == KEEP_PER_COMPAT


async def test_the_app_serves_the_newest_model_from_its_start_and_reports_it_in_healthz(machines, tmp_path):
    """What a web worker forked from a parent holding an older model does: it looks before it
    serves, then every MODEL_CHECK_INTERVAL; /healthz says which model it serves."""
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import SERVICES_KEY, create_app

    (b_root, b_data), _ = machines
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    store = Store.from_url(url)
    parent = build_core(settings_for(b_root, b_data), store=store)  # the parent, before a retrain elsewhere
    retrained = publish_another(store, parent, 0.96)
    assert parent.model_meta["fingerprint"] != retrained

    settings = Settings.from_env({"SYNCMEDIC_ROOT": str(b_root), "SYNCMEDIC_DATA_DIR": str(b_data),
                                  "MODEL_STALE": "refuse", "DATABASE_URL": url, "SCHEDULER": "off",
                                  "TEAMS": "off", "MODEL_CHECK_INTERVAL": "20s"})
    app = create_app(settings, parent, store)
    sleep = SteppedSleep()
    app[SERVICES_KEY].model_watch.sleep = sleep
    async with TestClient(TestServer(app)) as client:
        health = await (await client.get("/healthz")).json()
        assert health["model"]["fingerprint"] == retrained  # before its first request
        assert health["model"]["built_at"] == parent.model_meta["built_at"]

        again = publish_another(store, parent, 0.95)
        await sleep.asleep(20.0)
        await sleep.step()
        health = await (await client.get("/healthz")).json()
        assert health["model"]["fingerprint"] == again != retrained
    store.engine.dispose()


def test_a_published_model_that_cannot_be_loaded_is_skipped_once_and_the_served_one_kept(machines, store, caplog):
    (root, data), _ = machines
    served = build_core(settings_for(root, data), store=store)
    model = served.engine.model
    broken = b"not a pickle at all"
    publish(ModelShelf(store.engine), broken, {**served.model_meta, "fingerprint": hashlib.sha256(broken).hexdigest()})
    watch = ModelWatch(served, ModelShelf(store.engine), 30.0)
    assert watch.refresh() is False and watch.refresh() is False
    assert served.engine.model is model
    assert len([r for r in caplog.records if "cannot be served here" in r.getMessage()]) == 1
    # A process starting now serves its own folder's model, and publishes it again.
    restarted = build_core(settings_for(root, data), store=store)
    assert restarted.model_meta["fingerprint"] == served.model_meta["fingerprint"]
    assert ModelShelf(store.engine).newest(served.model_compat).fingerprint == served.model_meta["fingerprint"]
