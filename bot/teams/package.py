"""The Teams app package: teams/manifest.json with the bot's app id filled in, and the two
icons, zipped flat (as Teams wants it) into var/syncmedic-teams.zip. `make teams-package`.

    MICROSOFT_APP_ID=... python -m bot.teams.package
"""

from __future__ import annotations

import json
import re
import struct
import sys
import zipfile
from pathlib import Path

from ..settings import Settings, SettingsError

PLACEHOLDER = "{{MICROSOFT_APP_ID}}"
ICONS = {"color.png": (192, 192), "outline.png": (32, 32)}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return struct.unpack(">II", data[16:24])


def manifest(source: Path, app_id: str) -> dict:
    if not _GUID.match(app_id):
        raise SettingsError(f"MICROSOFT_APP_ID={app_id!r}: use the bot's Microsoft app (client) id, a GUID")
    text = source.read_text(encoding="utf-8").replace(PLACEHOLDER, app_id)
    return json.loads(text)


def build_package(settings: Settings, out: Path | None = None) -> Path:
    """Write the zip and return its path."""
    if not settings.microsoft_app_id:
        raise SettingsError("MICROSOFT_APP_ID is not set: the package names the bot by its app id")
    folder = settings.root / "teams"
    data = manifest(folder / "manifest.json", settings.microsoft_app_id)
    icons = {}
    for name, size in ICONS.items():
        icons[name] = (folder / name).read_bytes()
        if png_size(icons[name]) != size:
            raise ValueError(f"teams/{name} must be {size[0]}x{size[1]} pixels")
    out = out or settings.data_dir / "syncmedic-teams.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(data, indent=2, ensure_ascii=False))
        for name, content in icons.items():
            zf.writestr(name, content)
    return out


def main() -> int:
    try:
        path = build_package(Settings.from_env())
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Teams app package: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
