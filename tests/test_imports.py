"""What the one-shot `classify` path loads: its cold start is a `make bench` target (1.5 s), and
importing the database layer (SQLAlchemy) alone costs it about half a second."""

from __future__ import annotations

import subprocess
import sys

from tests.support import PROJECT_ROOT


def test_answering_and_rendering_do_not_import_the_database_layer():
    code = ("import sys, bot.wiring, bot.core.replies.render, bot.core.nlu.engine; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy')[:3])")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
