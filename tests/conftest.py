"""Shared fixtures: the real core (real intents/, training/, responses/) on a private data dir,
and a tiny synthetic project for tests that need to train or break a model quickly.

Training the real model takes tens of seconds, so the session trains it at most once: it
copies a stored model that `stale_reason` says is current (the project's var/model, or the
copy pytest's cache kept from an earlier run) and only otherwise builds one in the temp dir.
Nothing here writes to var/, intents/ or training/.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from filelock import FileLock

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from bot.settings import Settings  # noqa: E402
from bot.wiring import Core, build_core  # noqa: E402
from tests.support import current_model_dir, make_tiny_root, migrated_sqlite  # noqa: E402

MODEL_CACHE_KEY = "syncmedic-model"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A private data dir whose model/ is current for the real intents/ and training/. Test
    workers (pytest-xdist) take turns here, so only the first builds a model the others copy."""
    data = tmp_path_factory.mktemp("data")
    cache = getattr(request.config, "cache", None)
    cache_dir = Path(cache.mkdir(MODEL_CACHE_KEY)) if cache is not None else None
    with FileLock(str((cache_dir or tmp_path_factory.getbasetemp()).parent / "syncmedic-model.lock")):
        for source in (PROJECT_ROOT / "var" / "model", cache_dir):
            if source is not None and current_model_dir(source, PROJECT_ROOT):
                shutil.copytree(source, data / "model")
                break
        copied = (data / "model").exists()
        # Loads a current model as is; builds one into data/model otherwise.
        build_core(Settings.from_env({"SYNCMEDIC_DATA_DIR": str(data)}))
        assert current_model_dir(data / "model", PROJECT_ROOT)
        if not copied and cache_dir is not None:  # keep it for the next run (git-ignored cache)
            shutil.rmtree(cache_dir, ignore_errors=True)
            shutil.copytree(data / "model", cache_dir)
    return data


@pytest.fixture(scope="session")
def settings(data_dir: Path) -> Settings:
    return Settings.from_env({"SYNCMEDIC_DATA_DIR": str(data_dir), "MODEL_STALE": "refuse"})


@pytest.fixture(scope="session")
def core(settings: Settings) -> Core:
    """The real core; MODEL_STALE=refuse, because data_dir has already made the model current."""
    return build_core(settings)


@pytest.fixture(scope="session")
def catalog(core: Core):
    return core.catalog


@pytest.fixture(scope="session")
def cli_env(data_dir: Path) -> dict[str, str]:
    """Environment for `python -m bot` subprocesses: real root, the session's current model,
    and MODEL_STALE=refuse so a subprocess can never quietly spend time retraining."""
    return {"SYNCMEDIC_ROOT": str(PROJECT_ROOT), "SYNCMEDIC_DATA_DIR": str(data_dir), "MODEL_STALE": "refuse"}


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """The tiny synthetic project, untrained."""
    return make_tiny_root(tmp_path / "project")


@pytest.fixture(scope="session")
def tiny_trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(root, data_dir): the tiny synthetic project with a model built once per session.
    Tests must not edit it; use tests.support.copy_trained for a private copy."""
    base = tmp_path_factory.mktemp("tiny")
    root = make_tiny_root(base / "project")
    data = base / "data"
    build_core(Settings.from_env({"SYNCMEDIC_ROOT": str(root), "SYNCMEDIC_DATA_DIR": str(data)}))
    return root, data


# -- databases: SQLite and a throwaway PostgreSQL server (one per test session) ----------------

@pytest.fixture(scope="session")
def postgres_url():
    from tests.postgres import throwaway_cluster

    yield from throwaway_cluster()


@pytest.fixture
def fresh_postgres(postgres_url):
    """A new, empty database on the session's server."""
    from tests.postgres import new_database

    return new_database(postgres_url)


SQLITE_TEST_DB = "test.db"  # the file both database_url and migrated_url name in a test's tmp_path


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """An empty database on each engine (for the tests of migrations and of processes that
    migrate at start-up)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / SQLITE_TEST_DB}"
    return request.getfixturevalue("fresh_postgres")


# Migrating a new database costs 0.1-0.4 s, and some 600 tests open a store: they start from a
# copy of one database each worker migrated once (SQLite: the file; PostgreSQL: a TEMPLATE).

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from bot.core.storage.store import Store

    path = tmp_path_factory.mktemp("template") / "migrated.db"
    Store.from_url(f"sqlite:///{path}").engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_url) -> str:
    from bot.core.storage.store import Store
    from tests.postgres import new_database

    url = new_database(postgres_url)
    Store.from_url(url).engine.dispose()  # nobody may be connected to a template while it is copied
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", "postgres"])
def migrated_url(request, tmp_path):
    """A migrated database on each engine, whose file (SQLite) is the one `database_url` names."""
    if request.param == "sqlite":
        return migrated_sqlite(tmp_path / SQLITE_TEST_DB, request.getfixturevalue("sqlite_template"))
    from tests.postgres import new_database

    return new_database(request.getfixturevalue("postgres_url"), template=request.getfixturevalue("postgres_template"))


@pytest.fixture
def store(migrated_url):
    """A migrated Store on each database (folders with their own clocked store override it)."""
    from bot.core.storage.store import Store

    s = Store.from_url(migrated_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def sqlite_store(tmp_path, sqlite_template):
    from bot.core.storage.store import Store

    s = Store.from_url(migrated_sqlite(tmp_path / "store.db", sqlite_template))
    yield s
    s.engine.dispose()


# -- running on every core (pytest-xdist; `make test` runs `-n auto`) ----------------------------

# The tests of real processes (kill -9, two schedulers, web workers, outages) mostly wait on
# their timers. They are handed out first, all to one worker, and there is one worker more than
# cores: the cores stay busy with the other tests while that worker waits.
_WAITING = ("tests/scheduling/test_faults.py", "tests/scheduling/test_real_process.py",
            "tests/scheduling/test_monthly.py", "tests/scheduling/test_web_workers.py",
            "tests/scheduling/test_outage.py", "tests/scheduling/test_model_in_use.py")


def pytest_collection_modifyitems(config, items):
    items[:] = [i for i in items if i.nodeid.startswith(_WAITING)] + \
        [i for i in items if not i.nodeid.startswith(_WAITING)]


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook: the suite also runs without it
def pytest_xdist_auto_num_workers(config) -> int:
    return (os.cpu_count() or 1) + 1


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist load` (the default of -n), except that the waiting tests go to one worker. (Its
    loadgroup mode would do this with markers, but it renames test ids in a way pytest 9.2
    ignores.)"""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class WaitingTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "waiting on processes" if nodeid.startswith(_WAITING) else nodeid

    return WaitingTogether(config, log)
