"""The Slack edge: answering messages through the platform-free Desk (button clicks are
bot/slack/buttons.py, wired by bot/slack/handlers.py).

Delivery guarantees live here. An incoming message is recorded in the database (unique per
workspace, channel and ts) *before* Slack gets its acknowledgement; the answer is worked
out afterwards in a background task. A retry, or the same message arriving as both
`app_mention` and `message`, hits the unique key and is dropped. If the process dies after
acknowledging, the recorded event is still "received" and `recover()` answers it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Coroutine

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.nlu.answers import Answer
from ..core.desk import Desk
from ..core.outcomes import Where
from ..delivery.groupcommit import GroupCommit
from ..delivery.leases import Leases
from ..delivery.tasks import TaskTracker
from ..delivery.timers import Sleep, wait_at_most
from ..core.replies.render import Phrases, Renderer, Safe
from ..core.storage.sqlite import WriterBusy, no_wait
from ..core.storage.store import Store
from . import translate as tr
from .format import slack_escape
from .clients import ClientProvider
from .files import allowed_hosts, read_file

log = logging.getLogger(__name__)

# Errors that mean "the message is too big or malformed for Slack": worth one plain-text try.
SIZE_ERRORS = {"msg_too_long", "invalid_blocks", "invalid_blocks_format", "too_many_blocks", "msg_blocks_too_long",
               "invalid_arguments"}
# Errors that will not go away by retrying.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth",
                    "token_revoked", "no_permission", "missing_scope"}
PLAIN_TEXT_LIMIT = 3900
ANSWER_CHUNK = 6               # messages diagnosed and answered together (see answer_batch)
INLINE_DIAGNOSIS_CHARS = 2000  # longer texts are diagnosed on the CPU thread (see _diagnose)
MAX_BATCH = 64
STRAGGLER_S = 1.0              # a reply not back this long after its batch's last went out is written alone
CASE_WRITE_WAIT_S = 30.0       # the longest a click waits for its case to be written here (see written())
CASE_ELSEWHERE_WAIT_S = 3.0    # ...and for one another process is writing
CASE_POLL_S = 0.1


def _not_delivered(result: Any) -> bool:
    """True when the reply surely never reached anyone: Slack refused it, or no connection was
    ever made. A timeout may have been posted after all, so its case is kept."""
    return isinstance(result, (SlackApiError, aiohttp.ClientConnectorError)) or (
        isinstance(result, BaseException) and not isinstance(result, (aiohttp.ClientError, asyncio.TimeoutError)))


class _BatchOutcomes:
    """What came of a batch's replies, collected to be written in one transaction."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, str, int | None, Any]] = []
        self.open = True
        self.all_back = asyncio.Event()
        self.written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._expected: int | None = None

    def add(self, outcome: tuple[Any, str, int | None, Any]) -> None:
        self.items.append(outcome)
        self._check()

    def expect(self, count: int) -> None:
        self._expected = count
        self._check()

    def _check(self) -> None:
        if self._expected is not None and len(self.items) >= self._expected:
            self.all_back.set()


class SlackEdge:
    def __init__(self, desk: Desk, renderer: Renderer, phrases: Phrases, store: Store, clients: ClientProvider,
                 *, api_base_url: str, file_max_bytes: int, retry_after_seconds: float) -> None:
        self.desk = desk
        self.renderer = renderer
        self.phrases = phrases
        self.store = store
        self.clients = clients
        self.file_hosts = allowed_hosts(api_base_url)
        self.file_max_bytes = file_max_bytes
        self.retry_after_seconds = retry_after_seconds
        self.tasks = TaskTracker()   # clicks and App Home updates, handled after their ack
        self._http: aiohttp.ClientSession | None = None
        self._queue: asyncio.Queue | None = None
        self._write_in_place = store.engine.dialect.name == "sqlite"  # see write()
        # Group commit: the deliveries of a burst share transactions.
        self._record = GroupCommit(partial(self.write, self.store.record_events))
        self._outcomes = GroupCommit(partial(self.write, self._write_outcomes))  # replies back late
        self._worker: asyncio.Future | None = None
        # One thread for the store: SQLite writes never wait on each other's locks in-process.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncmedic-db")
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncmedic-cpu")
        # Cases whose replies are out (or going out) but which are not written yet, each with
        # its batch's write: a click that arrives first waits for it (see written()).
        self._unwritten: dict[str, asyncio.Future[None]] = {}
        # The recorded messages this process will answer, kept from recoveries (bot/delivery/leases.py).
        self.leases = Leases(partial(self.write, self.store.renew_events), retry_after_seconds)
        # Tests inject a failure here to prove a crash after the acknowledgement is recovered.
        self.before_answer: Any = None
        # The pauses below (STRAGGLER_S, CASE_*); tests inject one they drive (bot/delivery/timers.py).
        self.sleep: Sleep = asyncio.sleep

    def say(self, key: str, **values: Any) -> str:
        return self.phrases(key, "slack", **values)

    # -- background work -----------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "handling a Slack action") -> None:
        self.tasks.spawn(coro, what)

    async def drain(self) -> None:
        """Wait until every queued message is answered and every background task is done."""
        while True:
            if self._queue is not None:
                await self._queue.join()
            if not self.tasks.pending:  # checked right after the join: nothing can have queued more
                return
            await self.tasks.wait()

    async def close(self) -> None:
        await self.drain()
        await self.leases.close()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._http is not None:
            await self._http.close()
        self._db.shutdown(wait=True)
        self._cpu.shutdown(wait=True)

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    # -- messages ----------------------------------------------------------------------
    #
    # accept() records the message (group commit: a burst's deliveries share transactions) and
    # queues it; a worker takes everything queued so far as one batch and answers it a chunk of
    # ANSWER_CHUNK at a time (one model call per chunk, replies posted concurrently); once the
    # batch's replies are back, one transaction writes their cases and marks them answered (see
    # _answer_batch). Under a burst, batches grow by themselves.

    async def db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a store call on the edge's single database thread (no lock contention)."""
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args, **kwargs))

    async def write(self, fn: Any, *args: Any) -> Any:
        """A store write of the burst path: `fn` is one short transaction. On SQLite, when no other
        writer holds the database, it runs right here: it takes a fraction of a millisecond, less
        than handing it to the database thread, which must wait for the loop to let go of the
        GIL, several times per transaction. Otherwise (another writer, or PostgreSQL, which is
        over the network) it goes to the database thread."""
        if self._write_in_place:
            try:
                with no_wait():
                    return fn(*args)
            except WriterBusy:
                pass
        return await self.db(fn, *args)

    async def accept(self, work: tr.Work, event_id: str = "") -> bool:
        """Record the message (before the ack) and answer it in the background; False if a duplicate."""
        key = work.ts if work.kind == "message" else f"{work.kind}:{work.ts}"
        row = await self._record(dict(platform="slack", workspace=work.team, channel=work.channel, message=key,
                                      event_id=event_id, kind=work.kind, payload=work.to_json()))
        if row is None:
            log.info("duplicate delivery of %s %s/%s ignored", work.kind, work.channel, work.ts)
            return False
        self.leases.hold(row, 0)
        self.enqueue(row, work, 0)
        return True

    def enqueue(self, row: int, work: tr.Work, attempts: int) -> None:
        if self._queue is None:
            self._queue = asyncio.Queue()
        self._queue.put_nowait((row, work, attempts))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._work_loop())

    async def _work_loop(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < MAX_BATCH:
                batch.append(self._queue.get_nowait())
            try:
                # A message whose hold was lost is being answered by a recovery.
                await self.answer_batch([item for item in batch if self.leases.holds(item[0], item[2])])
            except Exception:  # noqa: BLE001 - one bad batch must not stop the worker
                log.exception("answering a batch of %d failed; recovery will retry what was not answered", len(batch))
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def answer_batch(self, batch: list[tuple[int, tr.Work, int]]) -> None:
        """Answer (row, work, attempts it was taken at) for each message of `batch`."""
        try:
            await self._answer_batch(batch)
        finally:
            for row, _, attempts in batch:  # answered, failed, or left for recover(): no longer held
                self.leases.release(row, attempts)

    async def _answer_batch(self, batch: list[tuple[int, tr.Work, int]]) -> None:
        taken = {row: attempts for row, _, attempts in batch}
        ready: list[tuple[int, tr.Work, str, list[str]]] = []
        for row, work, _ in batch:
            try:
                if self.before_answer is not None:
                    await self.before_answer(work)
                text, notes = await self._with_files(work)
            except Exception:  # noqa: BLE001 - left "received": recover() retries it later
                log.exception("answering %s/%s failed; it will be retried", work.channel, work.ts)
                continue
            ready.append((row, work, text, notes))
        if not ready:
            return
        # A few messages at a time: diagnosed (one model call), rendered and posted, then the
        # next few, so the first answers of a burst do not wait for the last one's diagnosis.
        # What came of each reply (its case, if the reply was or may have been seen, with the
        # reply's ts and first check-in; the event done) is written once the batch's replies are
        # back: one transaction, after the burst's replies rather than between them. A reply
        # still not back STRAGGLER_S after the last one went out (Slack throttling it) does not
        # hold the others: it is written on its own when it returns. An answer nobody saw
        # leaves no case behind.
        outcomes = _BatchOutcomes()
        posts = []
        for start in range(0, len(ready), ANSWER_CHUNK):
            # A message a recovery took meanwhile (this batch ran long) is left to it.
            chunk = [item for item in ready[start: start + ANSWER_CHUNK] if self.leases.holds(item[0], taken[item[0]])]
            for row, work, diagnosed, notes in await self._diagnose_and_plan(chunk):
                try:
                    payload = self._render(diagnosed, notes)
                except Exception:  # noqa: BLE001 - left "received": recover() retries it later
                    log.exception("rendering the answer to %s/%s failed; it will be retried", work.channel, work.ts)
                    continue
                if diagnosed.case is not None:
                    self._unwritten[diagnosed.case.id] = asyncio.get_running_loop().create_future()
                posts.append(asyncio.ensure_future(self._answer_one(row, work, diagnosed, payload, outcomes)))
                await asyncio.sleep(0)  # that reply goes out, and acknowledgements waiting on the loop run
        outcomes.expect(len(posts))
        await wait_at_most(outcomes.all_back.wait(), STRAGGLER_S, self.sleep)
        outcomes.open = False
        try:
            if outcomes.items:
                await self.write(self._write_outcomes, outcomes.items)
        except Exception:  # noqa: BLE001 - unmarked events are answered again by recover()
            log.exception("recording the outcome of %d answers failed", len(outcomes.items))
        finally:
            outcomes.written.set_result(None)
        await asyncio.gather(*posts, return_exceptions=True)

    async def _answer_one(self, row: int, work: tr.Work, diagnosed: Any, payload: dict[str, Any],
                          outcomes: "_BatchOutcomes") -> None:
        """Post one reply, then have what came of it written (with its batch's, or alone)."""
        case = diagnosed.case
        try:
            try:
                result: Any = await self._deliver(row, work, diagnosed, payload)
            except Exception as exc:  # noqa: BLE001 - judged below
                result = exc
            failed = isinstance(result, BaseException)
            seen = case is not None and not _not_delivered(result)
            if isinstance(result, SlackApiError):
                error = result.response.get("error", "")
                log.warning("Slack refused the answer to %s/%s: %s", work.channel, work.ts, error)
                if error in PERMANENT_ERRORS:
                    await self.write(self.store.finish_event, row, "failed")
            elif failed:
                log.error("answering %s/%s failed; it will be retried", work.channel, work.ts, exc_info=result)
            outcome = (case if seen else None, "" if failed else result, None if failed else row,
                       diagnosed.asked if seen or not failed else None)
            if outcomes.open:
                outcomes.add(outcome)
                await asyncio.shield(outcomes.written)
            elif seen or not failed:
                await self._outcomes(outcome)
        except Exception:  # noqa: BLE001 - an unmarked event is answered again by recover()
            log.exception("recording the outcome of the answer to %s/%s failed", work.channel, work.ts)
        finally:
            if case is not None and (written := self._unwritten.pop(case.id, None)) is not None:
                written.set_result(None)

    def _write_outcomes(self, items: list[tuple[Any, str, int | None, Any]]) -> list[None]:
        """Store.answered for outcomes (case or None, reply ts, event row or None, the message's
        record or None) posted together."""
        self.store.answered([(case, ref) for case, ref, *_ in items if case is not None],
                            [row for _, _, row, _ in items if row is not None], self.desk.followup_due(),
                            [asked for *_, asked in items if asked is not None])
        return [None] * len(items)

    async def written(self, case_id: str) -> None:
        """Return once the case `case_id` is written, if its reply is out but the case not yet.
        A click comes seconds after its reply; this covers a faster one, here or (the reply
        posted by another process) by looking in the database for a moment."""
        if not case_id:
            return
        pending = self._unwritten.get(case_id)
        if pending is not None:
            await wait_at_most(asyncio.shield(pending), CASE_WRITE_WAIT_S, self.sleep)
            return
        for _ in range(round(CASE_ELSEWHERE_WAIT_S / CASE_POLL_S)):
            if await self.db(self.store.get_case, case_id) is not None:
                return
            await self.sleep(CASE_POLL_S)

    async def _diagnose_and_plan(self, items: list[tuple[int, tr.Work, str, list[str]]]) -> list[tuple]:
        """Diagnose `items` and plan the cases they open (written by answer_batch once their
        replies are posted): (row, work, diagnosed, notes) for each item understood. One that
        fails is left "received", for recover() to retry later."""
        answers = await self._diagnose([text for _, _, text, _ in items])
        understood = []
        for item, answer in zip(items, answers):
            if isinstance(answer, BaseException):
                log.error("answering %s/%s failed; it will be retried", item[1].channel, item[1].ts, exc_info=answer)
            else:
                understood.append((item, answer))
        asked = [(text, Where("slack", work.team, work.channel, work.reply_thread, work.ts, work.user))
                 for (_, work, text, _), _ in understood]
        planned = self.desk.plan_cases(asked, [answer for _, answer in understood])
        return [(row, work, diagnosed, notes) for ((row, work, _, notes), _), diagnosed in zip(understood, planned)]

    async def _diagnose(self, texts: list[str]) -> list[Any]:
        """What each message is: an Answer, or the exception diagnosing it raised. Usual
        messages are diagnosed together, right here on the loop (one model call, well under a
        millisecond each: less than handing them to a thread); each long paste goes to the CPU
        thread on its own, so acknowledgements never wait on it."""
        results: list[Any] = [None] * len(texts)
        short = [i for i, text in enumerate(texts) if len(text) <= INLINE_DIAGNOSIS_CHARS]
        try:
            for i, answer in zip(short, self.desk.answer_many([texts[i] for i in short])):
                results[i] = answer
        except Exception:  # noqa: BLE001 - one at a time, so one bad message fails alone
            for i in short:
                try:
                    results[i] = self.desk.answer_many([texts[i]])[0]
                except Exception as exc:  # noqa: BLE001
                    results[i] = exc
        loop = asyncio.get_running_loop()
        for i, text in enumerate(texts):
            if results[i] is None:
                try:
                    results[i] = (await loop.run_in_executor(self._cpu, self.desk.answer_many, [text]))[0]
                except Exception as exc:  # noqa: BLE001
                    results[i] = exc
        return results

    def _render(self, diagnosed: Any, notes: list[str]) -> dict[str, Any]:
        payload = self.renderer.slack(diagnosed.answer, diagnosed.case.id if diagnosed.case else None)
        if notes:
            payload["blocks"].insert(0, {"type": "context", "elements": [{"type": "mrkdwn", "text": n} for n in notes]})
        return payload

    async def _with_files(self, work: tr.Work) -> tuple[str, list[str]]:
        """The message text plus any attached text files; notes for files that could not be read."""
        text, notes = work.text, []
        if not work.files:
            return text, notes
        client, token = await self.clients.for_team(work.team)
        for file_id in work.files:
            got = await read_file(client, file_id, token, self.file_max_bytes, self.file_hosts, self.http())
            if got.problem:
                reason = self.say(f"slack_file_reason_{got.problem}", limit=f"{self.file_max_bytes // 1000} KB")
                notes.append(self.say("slack_file_skipped", name=got.name, reason=Safe(reason)))
            else:
                text = f"{text}\n{got.text}" if text else got.text
        return text, notes

    async def _deliver(self, row: int, work: tr.Work, diagnosed: Any, payload: dict[str, Any]) -> str:
        client, _ = await self.clients.for_team(work.team)
        case_id = diagnosed.case.id if diagnosed.case else None
        if work.kind == "command":
            return await self._post_command_reply(client, work, payload, diagnosed.answer, case_id)
        return await self.post(client, work.channel, work.reply_thread, payload, diagnosed.answer, case_id)

    async def post(self, client: AsyncWebClient, channel: str, thread: str, payload: dict[str, Any],
                   answer: Answer | None, case_id: str | None) -> str:
        """chat.postMessage with our metadata; a size rejection falls back to plain text once."""
        args: dict[str, Any] = {"channel": channel, "text": payload.get("text", ""), "unfurl_links": False,
                                "unfurl_media": False}
        if payload.get("blocks"):
            args["blocks"] = payload["blocks"]
        if thread:
            args["thread_ts"] = thread
        if answer is not None:
            args["metadata"] = tr.metadata(case_id, answer)
        # api_call with the JSON body chat_postMessage would build: the same request, without the
        # SDK's per-call argument checks (a tenth of a millisecond, on every reply of a burst).
        try:
            resp = await client.api_call("chat.postMessage", json=args)
        except SlackApiError as exc:
            if exc.response.get("error") not in SIZE_ERRORS or answer is None:
                raise
            log.warning("Slack rejected a reply as too large (%s); sending plain text", exc.response.get("error"))
            plain = self.say("slack_plain_fallback") + "\n" + slack_escape(self.renderer.text(answer, case_id))
            args.pop("blocks", None)
            args["text"] = plain[:PLAIN_TEXT_LIMIT]
            resp = await client.api_call("chat.postMessage", json=args)
        return str(resp.get("ts") or "")

    async def _post_command_reply(self, client: AsyncWebClient, work: tr.Work, payload: dict[str, Any],
                                  answer: Answer, case_id: str | None) -> str:
        try:
            return await self.post(client, work.channel, "", payload, answer, case_id)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("not_in_channel", "channel_not_found") or not work.response_url:
                raise
        # Not a member of the channel: answer the person privately through the command's response_url.
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": self.say("slack_not_in_channel")}]}]
        await AsyncWebhookClient(work.response_url).send(
            text=payload.get("text", ""), blocks=blocks + payload.get("blocks", []), response_type="ephemeral")
        return ""

    async def recover(self) -> int:
        """Answer messages that were acknowledged but never answered (the process died)."""
        claimed = await self.db(self.store.claim_unfinished_events, timedelta(seconds=self.retry_after_seconds))
        batch = []
        for row, payload, attempts in claimed:
            try:
                work = tr.Work.from_json(payload)
            except TypeError:
                await self.db(self.store.finish_event, row, "failed")
                continue
            log.info("recovering unanswered %s %s/%s", work.kind, work.channel, work.ts)
            self.leases.hold(row, attempts)
            batch.append((row, work, attempts))
        if batch:
            await self.answer_batch(batch)
        return len(claimed)
