"""Reading a pasted snippet or attached text file from Slack.

Files are fetched with the bot token, so the token must only ever be sent to Slack's own
file host (or the configured API host, for GovSlack and tests), and only text of bounded
size is read: a 2 GB upload must not fill memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlparse

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = {"files.slack.com", "files.slack-gov.com"}
TEXT_FILETYPES = {"text", "csv", "tsv", "log", "json", "xml", "yaml", "markdown", "html", "javascript", "python",
                  "sql", "shell", "diff", "post", "space"}


@dataclass(frozen=True)
class FileText:
    name: str
    text: str = ""
    problem: str = ""   # "size", "type" or "fetch" when the file could not be read


def allowed_hosts(api_base_url: str) -> set[str]:
    host = urlparse(api_base_url).hostname or ""
    return SLACK_FILE_HOSTS | ({host} if host and host != "slack.com" else set())


async def read_file(client: AsyncWebClient, file_id: str, token: str, max_bytes: int, hosts: set[str],
                    session: aiohttp.ClientSession) -> FileText:
    try:
        info = (await client.files_info(file=file_id))["file"]
    except Exception:  # noqa: BLE001 - any failure means "could not read"; never crash the reply
        log.warning("files.info failed for a shared file", exc_info=True)
        return FileText(file_id, problem="fetch")
    name = str(info.get("name") or info.get("title") or file_id)
    mimetype = str(info.get("mimetype") or "")
    if not (mimetype.startswith("text/") or info.get("filetype") in TEXT_FILETYPES or info.get("mode") == "snippet"):
        return FileText(name, problem="type")
    if int(info.get("size") or 0) > max_bytes:
        return FileText(name, problem="size")
    url = info.get("url_private_download") or info.get("url_private") or ""
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or parsed.hostname not in hosts or (
            parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost")):
        log.warning("refusing to send the bot token to file host %s", parsed.hostname)
        return FileText(name, problem="fetch")
    try:
        # Within the session's deadline (OUTBOUND_DEADLINE: SlackEdge.http).
        async with session.get(url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False) as resp:
            if resp.status != 200:
                return FileText(name, problem="fetch")
            data = await resp.content.read(max_bytes + 1)
    except (aiohttp.ClientError, TimeoutError):
        log.warning("downloading a shared file failed", exc_info=True)
        return FileText(name, problem="fetch")
    if len(data) > max_bytes:
        return FileText(name, problem="size")
    return FileText(name, data.decode("utf-8", "replace"))
