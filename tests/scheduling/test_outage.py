"""A PostgreSQL outage, with a real `python -m bot run` (issue 15, item 9).

The database stops taking connections (ALTER DATABASE ... ALLOW_CONNECTIONS false, and its
sessions ended: what a restart or a failover looks like to the bot) while Slack keeps sending.
The log used to get a traceback for every event and every scheduler round (80 in 20 s); now it
says so in a line or two, /healthz answers 503 meanwhile, and once the database is back the
bot says so and answers Slack's redelivery."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import sqlalchemy as sa

from tests.postgres import free_port
from tests.scheduling.processes import bot_env, wait_for
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, SIGNING_SECRET, event_request, fresh_ts, mention_event
from tests.support import served_in_thread

BILL = 'Bill "B-1042" has not been exported to QuickBooks'
OUTAGE_S = 3.0


def status_of(request: urllib.request.Request | str) -> int:
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:  # not listening (yet)
        return 0


def deliver(port: int, signed) -> int:
    return status_of(urllib.request.Request(f"http://127.0.0.1:{port}/slack/events", data=signed.body.encode(),
                                            method="POST", headers=signed.headers))


def test_a_postgresql_outage_is_logged_in_a_line_or_two_and_nothing_is_lost(tmp_path, data_dir, procs,
                                                                            fresh_postgres, postgres_url):
    name = fresh_postgres.rsplit("/", 1)[1]
    admin = sa.create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")

    def connections(allowed: bool) -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}')
            if not allowed:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")

    try:
        with served_in_thread(SlackWebApi()) as standin:
            port = free_port()
            env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                          SLACK_API_BASE_URL=standin.api_url, PORT=str(port), HOST="127.0.0.1",
                          DATABASE_URL=fresh_postgres, SCHEDULER_INTERVAL="1s")
            bot = procs(["run"], env, tmp_path / "run.log")
            wait_for(lambda: status_of(f"http://127.0.0.1:{port}/healthz") == 200, 60, "the bot", bot)
            started_log = len(bot.log.read_text(errors="replace").splitlines())

            connections(False)
            lost = event_request(mention_event(BILL, ts=fresh_ts()))
            statuses, healths = [], []
            deadline = time.monotonic() + OUTAGE_S
            while time.monotonic() < deadline:
                statuses.append(deliver(port, lost))  # Slack delivers it again and again
                healths.append(status_of(f"http://127.0.0.1:{port}/healthz"))
                time.sleep(0.1)
            assert set(healths) == {503}
            assert 200 not in statuses  # not acknowledged: Slack keeps it

            connections(True)
            wait_for(lambda: status_of(f"http://127.0.0.1:{port}/healthz") == 200, 20, "the bot to recover", bot)
            assert deliver(port, lost) == 200  # Slack's next redelivery
            wait_for(lambda: standin.diagnoses(), 20, "the answer", bot)
            wait_for(lambda: "usable again" in bot.output(), 20, "the bot to say the database is back", bot)

            lines = bot.log.read_text(errors="replace").splitlines()[started_log:]
            errors = [line for line in lines if " ERROR " in line]
            assert "Traceback" not in "\n".join(lines), "\n".join(lines)
            assert 1 <= len(errors) <= 2, "\n".join(errors)  # the health check's line, and the errors' summary
            assert len(statuses) > 10
            assert len(standin.diagnoses()) == 1
    finally:
        connections(True)
        admin.dispose()
