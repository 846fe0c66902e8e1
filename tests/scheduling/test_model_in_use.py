"""One model everywhere, with real processes (issue 15, item 4): `python -m bot run` with
WEB_CONCURRENCY=2, a model published meanwhile (as `python -m bot train` or the retrain button
on another machine would), and a worker killed: its replacement, forked from the parent that
loaded the old model, serves the new one from its first request.

MODEL_CHECK_INTERVAL is long here, so the surviving worker shows what the replacement would
have served without its look at start-up (the periodic look is tested in
tests/core/model/test_inuse.py, without waiting)."""

from __future__ import annotations

import hashlib
import os
import pickle
import signal

from bot.core.model.inuse import publish
from bot.core.model.store import base_fingerprint, read_saved
from bot.core.storage.modelshelf import ModelShelf
from bot.core.storage.store import Store

from tests.postgres import free_port
from tests.scheduling.processes import bot_env, health, wait_for
from tests.scheduling.test_web_workers import alive, worker_pids
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, SIGNING_SECRET
from tests.support import PROJECT_ROOT, served_in_thread


def another_model(data_dir) -> tuple[bytes, dict]:
    """The session's model with another threshold: other bytes, other answers."""
    saved = read_saved(data_dir / "model")
    assert saved is not None
    data, meta = saved
    model = pickle.loads(data)
    model.threshold = 0.9999
    data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    base = base_fingerprint(PROJECT_ROOT / "intents", PROJECT_ROOT / "training")  # a model.json from before it was kept
    return data, {"base_sha256": base, **meta, "threshold": model.threshold, "built_at": "2099-01-01T00:00:00Z",
                  "fingerprint": hashlib.sha256(data).hexdigest()}


def test_a_replaced_worker_starts_on_the_model_published_meanwhile(tmp_path, data_dir, procs):
    url = f"sqlite:///{tmp_path / 'workers.db'}"
    with served_in_thread(SlackWebApi()) as standin:
        port = free_port()
        env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                      SLACK_API_BASE_URL=standin.api_url, PORT=str(port), HOST="127.0.0.1", DATABASE_URL=url,
                      WEB_CONCURRENCY="2", SCHEDULER="off", MODEL_CHECK_INTERVAL="600s")
        bot = procs(["run"], env, tmp_path / "run.log")
        wait_for(lambda: "2 worker processes" in bot.output(), 60, "both workers to be serving", bot)
        pids = worker_pids(port)
        assert len(pids) == 2
        first = health(port)["model"]["fingerprint"]
        assert first and first == hashlib.sha256((data_dir / "model" / "model.pickle").read_bytes()).hexdigest()

        store = Store.from_url(url, migrate=False)
        try:
            newer = publish(ModelShelf(store.engine), *another_model(data_dir))
        finally:
            store.engine.dispose()

        victim, survivor = sorted(pids)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not alive(victim), 10, "the kill", bot)

        def replacement() -> dict | None:
            try:
                found = {h["pid"]: h for h in (health(port) for _ in range(10))}
            except OSError:
                return None
            return next((h for pid, h in found.items() if pid not in pids), None)

        wait_for(lambda: replacement() is not None, 60, "a new worker in place of the killed one", bot)
        fresh = replacement()
        assert fresh is not None
        assert fresh["model"] == {**fresh["model"], "fingerprint": newer.fingerprint,
                                  "built_at": "2099-01-01T00:00:00Z"}
        # The survivor has not looked yet (MODEL_CHECK_INTERVAL=600s): what the parent loaded.
        assert {h["pid"]: h["model"]["fingerprint"] for h in (health(port) for _ in range(20))}.get(survivor,
                                                                                                   first) == first
        assert "Traceback" not in bot.output(), bot.output()
