"""WEB_CONCURRENCY: `python -m bot run` as several web processes sharing one port.

A real parent process forks real workers; the Slack stand-in runs in a thread of this process.
What must hold with several processes: each message is answered once whichever worker gets
each delivery, a worker that dies is replaced, and SIGTERM stops them all cleanly.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from bot.serving import ServeError, serve, workers_for
from bot.settings import Settings, SettingsError

from tests.postgres import free_port
from tests.scheduling.helpers import BILL_TEXT
from tests.standins.slack import SlackWebApi
from tests.standins.slack_payloads import BOT_TOKEN, SIGNING_SECRET
from tests.support import served_in_thread
from tests.scheduling.processes import bot_env, health, healthy, send_mention, wait_for


def worker_pids(port: int, tries: int = 40) -> set[int]:
    """The processes answering on `port`: each request is a new connection, which the kernel
    hands to one of the listening workers."""
    return {health(port)["pid"] for _ in range(tries)}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start_two_workers(procs, tmp_path, data_dir, standin, port: int):
    """`python -m bot run` with WEB_CONCURRENCY=2, once both workers are serving."""
    env = bot_env(data_dir, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
                  SLACK_API_BASE_URL=standin.api_url, PORT=str(port), HOST="127.0.0.1",
                  DATABASE_URL=f"sqlite:///{tmp_path / 'workers.db'}", WEB_CONCURRENCY="2", SCHEDULER="off")
    bot = procs(["run"], env, tmp_path / "run.log")
    wait_for(lambda: "2 worker processes" in bot.output(), 60, "both workers to be serving", bot)
    return bot


def test_two_workers_answer_each_message_once_and_replace_a_killed_one(tmp_path, data_dir, procs):
    with served_in_thread(SlackWebApi()) as standin:
        port = free_port()
        bot = start_two_workers(procs, tmp_path, data_dir, standin, port)
        pids = worker_pids(port)
        assert len(pids) == 2 and bot.popen.pid not in pids, pids

        # The same message, delivered eight times at once on eight connections (retries, and the
        # app_mention/message pair): whichever workers take them, one answer.
        ts = "1772000100.000100"
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                send_mention(port, BILL_TEXT, ts)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        senders = [threading.Thread(target=deliver) for _ in range(8)]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(timeout=30)
        assert not errors, errors
        wait_for(lambda: standin.diagnoses(), 15, "the answer", bot)
        time.sleep(1.0)   # time for a second answer, were there one
        answers = [d for d in standin.diagnoses() if d.get("thread_ts") == ts]
        assert len(answers) == 1, answers

        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: not alive(victim) or "exited with signal SIGKILL" in bot.output(), 10, "the kill", bot)
        wait_for(lambda: "starting a new one" in bot.output(), 15, "the parent to notice", bot)

        def replaced() -> bool:
            try:
                now = worker_pids(port, tries=20)
            except OSError:
                return False
            return len(now) == 2 and victim not in now

        wait_for(replaced, 60, "a new worker in place of the killed one", bot)
        send_mention(port, "The account period has closed and the account books cannot be updated",
                     "1772000100.000200")
        wait_for(lambda: any(d.get("thread_ts") == "1772000100.000200" for d in standin.diagnoses()), 15,
                 "an answer after the restart", bot)

        # A service manager (or Ctrl-C in a terminal) signals every process, and the parent
        # passes the stop on as well: each worker stops once, cleanly.
        final = worker_pids(port)
        for pid in final:
            os.kill(pid, signal.SIGTERM)
        bot.popen.terminate()
        assert bot.popen.wait(timeout=30) == 0, bot.output()
        assert not any(alive(pid) for pid in final), "a worker outlived its parent"
        assert not healthy(port)
        assert "Traceback" not in bot.output(), bot.output()


def test_workers_stop_when_their_parent_is_killed(tmp_path, data_dir, procs):
    with served_in_thread(SlackWebApi()) as standin:
        port = free_port()
        bot = start_two_workers(procs, tmp_path, data_dir, standin, port)
        pids = worker_pids(port)
        bot.kill9()
        wait_for(lambda: not any(alive(pid) for pid in pids), 20, "the orphaned workers to stop")
        assert not healthy(port)


def test_web_concurrency_is_read_and_checked():
    assert Settings.from_env({}).web_concurrency == 1
    assert Settings.from_env({"WEB_CONCURRENCY": "3"}).web_concurrency == 3
    for bad in ("0", "two", "-1", "65"):
        with pytest.raises(SettingsError, match="WEB_CONCURRENCY"):
            Settings.from_env({"WEB_CONCURRENCY": bad})


def test_modes_that_live_in_one_process_run_one_worker():
    http = Settings.from_env({"WEB_CONCURRENCY": "4", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert workers_for(http, sandbox=False) == (4, "")
    count, why = workers_for(http, sandbox=True)
    assert count == 1 and "sandbox" in why
    socket_mode = Settings.from_env({"WEB_CONCURRENCY": "4", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    count, why = workers_for(socket_mode, sandbox=False)
    assert count == 1 and "Socket Mode" in why


@pytest.mark.parametrize("other_shares_the_port", [True, False])
def test_a_second_instance_on_a_port_in_use_refuses_to_start(other_shares_the_port):
    """Another server already listens there (even one that allows SO_REUSEPORT, as our own
    workers do): starting several workers on that port must fail, not split its traffic."""
    import socket

    port = free_port()
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if other_shares_the_port:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", port))
    other.listen()
    try:
        settings = Settings.from_env({"HOST": "127.0.0.1", "PORT": str(port)})
        with pytest.raises(ServeError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(settings, lambda *_: pytest.fail("no app may be built"), 2, lambda _s: pytest.fail("not ready"))
    finally:
        other.close()
