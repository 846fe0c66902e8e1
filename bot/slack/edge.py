"""The Slack edge: answering messages through the platform-free Desk (button clicks are
bot/slack/buttons.py, wired by bot/slack/handlers.py).

A message's way, step by step:
1. Recorded before Slack gets its acknowledgement, unique per workspace, channel and ts: a
   retry, or the same message as both `app_mention` and `message`, hits the unique key and is
   dropped, in any process.
2. Queued in its conversation's lane (bot/delivery/lanes.py): a slow, hung or throttled
   conversation delays only itself. Every Web API call has a deadline (OUTBOUND_DEADLINE).
3. In the lane: attached files read, the text diagnosed, and the case and its first check-in
   written, before anything is posted: a reply's buttons always point at a case that exists.
4. The reply posted, carrying its identity in message metadata (`delivery`). A message tried
   again (a recovery, or a post that failed in a way that may have reached Slack) is first
   looked for in its thread (bot/slack/lookup.py) and adopted when found.
5. The event marked done, with the reply's ts on its case.
A message whose process died is answered by any process after EVENT_RETRY_AFTER; while a
process holds a message (queued, or its post slow) it renews it, so no recovery takes it
(bot/delivery/leases.py). After MAX_EVENT_ATTEMPTS tries it is finished as failed, with one
log line.

Optimisations, each measured side by side with `python -m benchmarks` (see README, "Measured"):
- group commit: the records of a burst share transactions, and so do steps 3 and 5 of the
  messages in flight;
- one model call for the short messages diagnosed together;
- on SQLite, those transactions run on the loop when no other writer holds the database (a
  fraction of a millisecond, less than the hand-over to the database thread), else on the
  thread: never waiting for a lock on the loop (_write_steps). Reply median 53-65 ms -> 46-51 ms;
- at most DIAGNOSIS_BATCH messages prepared at once (diagnosis to the case written), so a
  burst's first replies go out before its last messages are diagnosed instead of all of them
  advancing together: reply median a further 3-5 ms lower.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any, Coroutine

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from ..core.desk import Desk, Diagnosed
from ..core.nlu.answers import Answer
from ..core.outcomes import Where
from ..core.replies.render import Phrases, Renderer, Safe
from ..core.storage.sqlite import WriterBusy, no_wait
from ..core.storage.store import MAX_EVENT_ATTEMPTS, Store
from ..core.storage.tables import Asked
from ..delivery.groupcommit import GroupCommit
from ..delivery.lanes import Lanes
from ..delivery.leases import Leases
from ..delivery.tasks import TaskTracker
from ..delivery.timers import Sleep, wait_at_most
from . import translate as tr
from .clients import DEFAULT_DEADLINE_S, ClientProvider
from .files import allowed_hosts, read_file
from .format import slack_escape
from .lookup import find_post, stamp

log = logging.getLogger(__name__)

# Errors that mean "the message is too big or malformed for Slack": worth one plain-text try.
SIZE_ERRORS = {"msg_too_long", "invalid_blocks", "invalid_blocks_format", "too_many_blocks", "msg_blocks_too_long",
               "invalid_arguments"}
# Errors that will not go away by retrying.
PERMANENT_ERRORS = {"channel_not_found", "not_in_channel", "is_archived", "account_inactive", "invalid_auth",
                    "token_revoked", "no_permission", "missing_scope"}
PLAIN_TEXT_LIMIT = 3900
DIAGNOSIS_BATCH = 6            # short messages diagnosed with one model call (see _diagnose)
INLINE_DIAGNOSIS_CHARS = 2000  # longer texts are diagnosed on the CPU thread, alone


@dataclass(frozen=True)
class Job:
    """One recorded message to answer, as this process holds it."""

    row: int                   # its event row
    work: tr.Work
    attempts: int = 0          # 0: first try; n: the n-th recovery
    case_id: str = ""          # the id of the case its answer opens, decided when it was recorded
    at: float = 0.0            # when it was received (epoch seconds): where to start looking for a reply

    @property
    def key(self) -> str:
        """The message's identity (its unique key in the events table), carried by its reply."""
        return self.work.ts if self.work.kind == "message" else f"{self.work.kind}:{self.work.ts}"

    @property
    def where(self) -> str:
        return f"{self.work.kind} {self.work.channel}/{self.work.ts}"


def _maybe_posted(exc: BaseException) -> bool:
    """Whether a failed post may still have reached Slack: a timeout, a connection lost after
    the request went out, a server error. A refusal (ok: false below 500, 429) or a connection
    never made is certain."""
    if isinstance(exc, SlackApiError):
        return getattr(exc.response, "status_code", 200) >= 500
    return not isinstance(exc, aiohttp.ClientConnectorError)


class SlackEdge:
    def __init__(self, desk: Desk, renderer: Renderer, phrases: Phrases, store: Store, clients: ClientProvider,
                 *, api_base_url: str, file_max_bytes: int, retry_after_seconds: float,
                 deadline_seconds: float = DEFAULT_DEADLINE_S) -> None:
        self.desk = desk
        self.renderer = renderer
        self.phrases = phrases
        self.store = store
        self.clients = clients
        self.file_hosts = allowed_hosts(api_base_url)
        self.file_max_bytes = file_max_bytes
        self.retry_after_seconds = retry_after_seconds
        self.deadline_seconds = deadline_seconds
        self.tasks = TaskTracker()   # clicks and App Home updates, handled after their ack
        self.lanes: Lanes[tuple[str, str], Job] = Lanes(self._answer, "answering a Slack message")
        self._http: aiohttp.ClientSession | None = None
        # One thread for the store: SQLite writes never wait on each other's locks in-process.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncmedic-db")
        self._cpu = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syncmedic-cpu")
        # Group commit: whatever is to be written while a write runs shares the next
        # transaction: the records of a burst, and the writes before and after the posts of the
        # messages in flight.
        self._write_in_place = store.engine.dialect.name == "sqlite"  # see _write_steps
        self._write = GroupCommit(self._write_steps)
        self._diagnosis = GroupCommit(self._diagnose, max_batch=DIAGNOSIS_BATCH)
        # The recorded messages this process will answer, kept from recoveries (bot/delivery/leases.py).
        self.leases = Leases(partial(self.db, self.store.renew_events), retry_after_seconds)
        # Tests inject a failure here to prove a crash after the acknowledgement is recovered.
        self.before_answer: Any = None
        self.sleep: Sleep = asyncio.sleep
        # Preparing is CPU and database work: a few messages at a time finish sooner (docstring).
        self._preparing = asyncio.Semaphore(DIAGNOSIS_BATCH)

    def say(self, key: str, **values: Any) -> str:
        return self.phrases(key, "slack", **values)

    # -- background work -----------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], what: str = "handling a Slack action") -> None:
        self.tasks.spawn(coro, what)

    async def drain(self) -> None:
        """Wait until every queued message is answered and every background task is done."""
        while True:
            await self.lanes.join()
            if not self.tasks.pending and not len(self.lanes):
                return
            await self.tasks.wait()

    async def close(self) -> None:
        """Shutting down: what is in hand gets OUTBOUND_DEADLINE to finish (a post in flight, a
        short queue), then is stopped: a hung conversation must not hold the shutdown; what was
        not answered is recorded, and a recovery (here after a restart, or in another process)
        answers it."""
        if not await wait_at_most(self.drain(), self.deadline_seconds, self.sleep):
            log.warning("stopping with %d message(s) still being answered; a recovery will answer them",
                        len(self.lanes))
        await self.lanes.close()
        await self.tasks.cancel()
        await self.leases.close()
        if self._http is not None:
            await self._http.close()
        self._db.shutdown(wait=True)
        self._cpu.shutdown(wait=True)

    def http(self) -> aiohttp.ClientSession:
        """The session file downloads share, each within OUTBOUND_DEADLINE."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.deadline_seconds))
        return self._http

    async def db(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a store call on the edge's single database thread (no lock contention)."""
        return await asyncio.get_running_loop().run_in_executor(self._db, partial(fn, *args, **kwargs))

    # -- messages ----------------------------------------------------------------------

    async def accept(self, work: tr.Work, event_id: str = "") -> bool:
        """Record the message (before the ack) and answer it in its lane; False if a duplicate."""
        job = Job(0, work, case_id=str(uuid.uuid4()), at=time.time())
        row = await self._write(("record", dict(platform="slack", workspace=work.team, channel=work.channel,
                                                message=job.key, event_id=event_id, kind=work.kind,
                                                payload={**work.to_json(), "at": job.at, "case_id": job.case_id})))
        if row is None:
            log.info("duplicate delivery of %s %s/%s ignored", work.kind, work.channel, work.ts)
            return False
        self._queue(replace(job, row=row))
        return True

    def _queue(self, job: Job) -> None:
        self.leases.hold(job.row, job.attempts)
        self.lanes.put((job.work.team, job.work.channel), job)

    async def _answer(self, job: Job) -> None:
        """One message, in its conversation's lane."""
        if not self.leases.holds(job.row, job.attempts):
            return  # a recovery (here or in another process) took it meanwhile: it is the recovery's
        try:
            prepared = await self._prepare(job)
            if prepared is not None:
                await self._deliver(job, *prepared)
        finally:
            self.leases.release(job.row, job.attempts)

    async def _prepare(self, job: Job) -> tuple[Answer, str | None, dict[str, Any], Asked | None] | None:
        """Diagnose, render, and write the case the reply opens (before it is posted; its id
        was decided when the message was recorded, so every try opens the same one): the
        answer, its case id, the reply and the message's record for the admin's report (written
        with the answered step). None when this try failed (left for a recovery)."""
        work = job.work
        try:
            if self.before_answer is not None:
                await self.before_answer(work)
            text, notes = await self._with_files(work)
            async with self._preparing:
                answer = await self._answer_to(text)
                diagnosed = self._plan(work, text, answer).with_case_id(job.case_id)
                case = diagnosed.case
                case_id = case.id if case is not None else None
                payload = self._render(answer, case_id, notes)
                if case is not None:   # written once, whichever try gets here first
                    await self._progress(("opened", case))
        except Exception:  # noqa: BLE001 - left "received": a recovery tries again later
            log.exception("answering %s failed; it will be retried", job.where)
            return None
        return answer, case_id, payload, diagnosed.asked

    def _plan(self, work: tr.Work, text: str, answer: Answer) -> Diagnosed:
        where = Where("slack", work.team, work.channel, work.reply_thread, work.ts, work.user)
        return self.desk.plan_cases([(text, where)], [answer])[0]

    async def _deliver(self, job: Job, answer: Answer, case_id: str | None, payload: dict[str, Any],
                       asked: Asked | None) -> None:
        """Post the reply (or adopt the one an earlier try posted), then mark the event done."""
        client: AsyncWebClient | None = None
        try:
            client, _ = await self.clients.for_team(job.work.team)
            ref = await self._find(client, job) if job.attempts else None
            if ref is None:
                ref = await self._post_reply(client, job, payload, answer, case_id)
        except Exception as exc:  # noqa: BLE001 - judged in _not_delivered
            await self._not_delivered(job, case_id, exc, client, asked)
            return
        await self._progress(("answered", job.row, case_id, ref, asked))

    async def _not_delivered(self, job: Job, case_id: str | None, exc: Exception,
                             client: AsyncWebClient | None, asked: Asked | None = None) -> None:
        """A try that did not post. Refused for good, or the last try: the event fails (the
        case goes with it, unless the reply may be out there). Maybe posted: look, and adopt
        what is found. Otherwise a recovery tries again after EVENT_RETRY_AFTER."""
        error = exc.response.get("error", "") if isinstance(exc, SlackApiError) else type(exc).__name__
        if isinstance(exc, SlackApiError) and error in PERMANENT_ERRORS:
            log.warning("Slack refused the answer to %s for good (%s)", job.where, error)
            await self._progress(("failed", job.row, case_id))
            return
        unseen = True
        if client is not None and _maybe_posted(exc):
            try:
                ref = await self._find(client, job)
            except Exception as look:  # noqa: BLE001 - cannot tell: never post blindly
                log.warning("looking for the answer to %s failed (%s)", job.where, type(look).__name__)
                unseen = False
            else:
                if ref is not None:
                    log.info("the answer to %s reached Slack after all (%s); adopted", job.where, error)
                    await self._progress(("answered", job.row, case_id, ref, asked))
                    return
        if job.attempts >= MAX_EVENT_ATTEMPTS:
            log.error("gave up answering %s after %d tries: %s", job.where, job.attempts + 1, error)
            await self._progress(("failed", job.row, case_id if unseen else None))
            return
        log.warning("answering %s failed (%s); a recovery will try again", job.where, error,
                    exc_info=None if isinstance(exc, (SlackApiError, aiohttp.ClientError, TimeoutError)) else exc)

    async def _find(self, client: AsyncWebClient, job: Job) -> str | None:
        """The reply an earlier try posted, if Slack has it (bot/slack/lookup.py)."""
        work = job.work
        # The reply comes after the message it answers (a command's trigger id is no time: from
        # shortly before the command was received).
        oldest = work.ts if work.kind != "command" else (f"{job.at - 60:.6f}" if job.at else "")
        return await find_post(client, work.channel, tr.METADATA_EVENT, job.key, thread=work.reply_thread,
                               oldest=oldest)

    async def _progress(self, item: tuple) -> None:
        await self._write(item)

    async def _write_steps(self, items: list[tuple]) -> list[int | None]:
        """The steps of several messages in one transaction (_write_batch). On SQLite, when no
        other writer holds the database, it runs right here: a fraction of a millisecond, less
        than handing it to the database thread, which then competes with the loop for the GIL.
        Otherwise (another writer holds the lock, or PostgreSQL, over the network) it goes to
        the database thread: the loop never waits for a lock."""
        if self._write_in_place:
            try:
                with no_wait():
                    return self._write_batch(items)
            except WriterBusy:
                pass
        return await self.db(self._write_batch, items)

    def _write_batch(self, items: list[tuple]) -> list[int | None]:
        """Store.progress for the steps of several messages, in one transaction: each item's
        result (a record's row; None for the rest)."""
        rows = iter(self.store.progress(records=[item[1] for item in items if item[0] == "record"],
                                        opened=[item[1] for item in items if item[0] == "opened"],
                                        answered=[item[1:4] for item in items if item[0] == "answered"],
                                        asked=[item[4] for item in items if item[0] == "answered" and item[4]],
                                        failed=[item[1:] for item in items if item[0] == "failed"],
                                        followup_due=self.desk.followup_due()))
        return [next(rows) if item[0] == "record" else None for item in items]

    async def _answer_to(self, text: str) -> Answer:
        """What the message is. A long paste is diagnosed alone on the CPU thread, so nothing
        waits on it; short ones share a model call with those of other lanes (group commit)."""
        if len(text) > INLINE_DIAGNOSIS_CHARS:
            loop = asyncio.get_running_loop()
            return (await loop.run_in_executor(self._cpu, self.desk.answer_many, [text]))[0]
        answer = await self._diagnosis(text)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def _diagnose(self, texts: list[str]) -> list[Any]:
        """An Answer (or the exception diagnosing it raised) for each text: one model call, right
        here on the loop (well under a millisecond each: less than handing them to a thread)."""
        try:
            return list(self.desk.answer_many(texts))
        except Exception:  # noqa: BLE001 - one at a time, so one bad message fails alone
            results: list[Any] = []
            for text in texts:
                try:
                    results.append(self.desk.answer_many([text])[0])
                except Exception as exc:  # noqa: BLE001
                    results.append(exc)
            return results

    def _render(self, answer: Answer, case_id: str | None, notes: list[str]) -> dict[str, Any]:
        payload = self.renderer.slack(answer, case_id)
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

    async def _post_reply(self, client: AsyncWebClient, job: Job, payload: dict[str, Any], answer: Answer,
                          case_id: str | None) -> str:
        work = job.work
        if work.kind == "command":
            return await self._post_command_reply(client, job, payload, answer, case_id)
        return await self.post(client, work.channel, work.reply_thread, payload, answer, case_id, delivery=job.key)

    async def post(self, client: AsyncWebClient, channel: str, thread: str, payload: dict[str, Any],
                   answer: Answer | None, case_id: str | None, *, delivery: str = "") -> str:
        """chat.postMessage with our metadata (and the identity of the work it answers, when it
        answers one); a size rejection falls back to plain text once."""
        args: dict[str, Any] = {"channel": channel, "text": payload.get("text", ""), "unfurl_links": False,
                                "unfurl_media": False}
        if payload.get("blocks"):
            args["blocks"] = payload["blocks"]
        if thread:
            args["thread_ts"] = thread
        if answer is not None:
            metadata = tr.metadata(case_id, answer)
            args["metadata"] = stamp(metadata, delivery) if delivery else metadata
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

    async def _post_command_reply(self, client: AsyncWebClient, job: Job, payload: dict[str, Any],
                                  answer: Answer, case_id: str | None) -> str:
        work = job.work
        try:
            return await self.post(client, work.channel, "", payload, answer, case_id, delivery=job.key)
        except SlackApiError as exc:
            if exc.response.get("error") not in ("not_in_channel", "channel_not_found") or not work.response_url:
                raise
        # Not a member of the channel: answer the person privately through the command's response_url.
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": self.say("slack_not_in_channel")}]}]
        await AsyncWebhookClient(work.response_url, timeout=int(self.deadline_seconds)).send(
            text=payload.get("text", ""), blocks=blocks + payload.get("blocks", []), response_type="ephemeral")
        return ""

    async def recover(self) -> int:
        """Queue the messages that were acknowledged but not answered and that no live process
        holds (their process died); finish those tried too often. Returns how many it queued."""
        older = timedelta(seconds=self.retry_after_seconds)
        for _row, payload, attempts in await self.db(self.store.give_up_events, older):
            log.error("gave up answering %s %s/%s after %d tries (the last one's process stopped)",
                      payload.get("kind", "message"), payload.get("channel", "?"), payload.get("ts", "?"),
                      attempts + 1)
        claimed = await self.db(self.store.claim_unfinished_events, older)
        for row, payload, attempts in claimed:
            try:
                work = tr.Work.from_json(payload)
            except TypeError:
                await self.db(self.store.finish_event, row, "failed")
                continue
            log.info("recovering unanswered %s %s/%s", work.kind, work.channel, work.ts)
            self._queue(Job(row, work, attempts, str(payload.get("case_id") or ""), float(payload.get("at") or 0)))
        return len(claimed)
