"""The Teams app package: manifest with the bot's id, icons of the sizes Teams requires."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from bot.settings import Settings, SettingsError
from bot.teams.package import build_package, png_size
from tests.support import PROJECT_ROOT

APP_ID = "5a6b7c8d-1111-4e2f-8a9b-0123456789ab"


def settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"SYNCMEDIC_ROOT": str(PROJECT_ROOT), "SYNCMEDIC_DATA_DIR": str(tmp_path), **env})


def test_package_holds_the_manifest_with_the_bot_id_and_both_icons(tmp_path):
    path = build_package(settings(tmp_path, MICROSOFT_APP_ID=APP_ID))

    assert path == tmp_path / "syncmedic-teams.zip"
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]  # flat, as Teams wants
        manifest = json.loads(zf.read("manifest.json"))
        assert png_size(zf.read("color.png")) == (192, 192)
        assert png_size(zf.read("outline.png")) == (32, 32)
    assert "{{" not in json.dumps(manifest)
    assert float(manifest["manifestVersion"]) >= 1.17
    assert manifest["$schema"].endswith(f"/v{manifest['manifestVersion']}/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert {"personal", "team"} <= set(bot["scopes"])
    assert manifest["icons"] == {"outline": "outline.png", "color": "color.png"}
    assert len(manifest["name"]["short"]) <= 30 and len(manifest["description"]["short"]) <= 80
    for command in bot["commandLists"][0]["commands"]:
        assert len(command["title"]) <= 32 and len(command["description"]) <= 128
    for url in manifest["developer"].values():
        assert url == manifest["developer"]["name"] or url.startswith("https://")


def test_package_needs_the_app_id(tmp_path):
    with pytest.raises(SettingsError, match="MICROSOFT_APP_ID"):
        build_package(settings(tmp_path))
    with pytest.raises(SettingsError, match="GUID"):
        build_package(settings(tmp_path, MICROSOFT_APP_ID="my-bot"))


def test_outline_icon_is_white_on_transparent():
    import zlib

    data = (PROJECT_ROOT / "teams" / "outline.png").read_bytes()
    assert data[25] == 6  # colour type RGBA
    # One IDAT chunk (what teams/make_icons.py writes): check every pixel.
    length = int.from_bytes(data[33:37], "big")
    raw = zlib.decompress(data[41:41 + length])
    width = 32
    for row in range(32):
        line = raw[row * (width * 4 + 1) + 1:(row + 1) * (width * 4 + 1)]
        for i in range(0, len(line), 4):
            r, g, b, a = line[i:i + 4]
            assert a == 0 or (r, g, b) == (255, 255, 255)


def test_make_teams_package_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SYNCMEDIC_", "MICROSOFT_"))}
    env.update({"SYNCMEDIC_DATA_DIR": str(tmp_path), "MICROSOFT_APP_ID": APP_ID})
    done = subprocess.run([sys.executable, "-m", "bot.teams.package"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "syncmedic-teams.zip").is_file()
    env.pop("MICROSOFT_APP_ID")
    done = subprocess.run([sys.executable, "-m", "bot.teams.package"], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "MICROSOFT_APP_ID" in done.stderr
