import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from umbrella import config

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "umbrella"


def test_docs_list_every_setting_with_its_default():
    docs = (ROOT / "docs" / "settings.md").read_text()
    for setting in config.SETTINGS:
        assert f"`{setting.name}`" in docs, f"docs/settings.md does not document {setting.name}"


def test_every_environment_variable_the_code_reads_is_a_documented_setting():
    mentioned = set()
    for path in SOURCE.rglob("*.py"):
        mentioned |= set(re.findall(r"\b(UMBRELLA_[A-Z_]+)\b", path.read_text()))
    undocumented = mentioned - set(config.SETTINGS_BY_NAME)
    assert not undocumented, f"read but not declared in umbrella.config: {sorted(undocumented)}"


@pytest.mark.parametrize("key", ["short", "a" * 60, "django-insecure-" + "x1y2z3w4" * 8])
def test_a_weak_secret_key_is_refused_outside_debug(monkeypatch, tmp_path, key):
    monkeypatch.setenv("UMBRELLA_SECRET_KEY", key)
    with pytest.raises(config.ConfigurationError, match="too weak"):
        config.secret_key(tmp_path, debug=False)
    assert config.secret_key(tmp_path, debug=True) == key


def test_a_missing_secret_key_is_generated_once_and_kept_private(monkeypatch, tmp_path):
    monkeypatch.delenv("UMBRELLA_SECRET_KEY", raising=False)
    first = config.secret_key(tmp_path, debug=False)
    assert not config.is_weak_secret(first)
    assert config.secret_key(tmp_path, debug=False) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_the_command_refuses_to_start_with_a_weak_key(tmp_path):
    env = {**os.environ, "UMBRELLA_DATA_DIR": str(tmp_path), "UMBRELLA_SECRET_KEY": "weak", "UMBRELLA_DEBUG": "false"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run([sys.executable, "-m", "umbrella", "check"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "UMBRELLA_SECRET_KEY is too weak" in result.stderr


def test_a_malformed_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("UMBRELLA_DEBUG", "perhaps")
    with pytest.raises(config.ConfigurationError, match="not a boolean"):
        config.flag("UMBRELLA_DEBUG", default=False)


def test_passwords_are_hashed_with_argon2_in_production_settings():
    import umbrella.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_docs_list_every_import_column():
    from umbrella.core import imports

    docs = (ROOT / "docs" / "import-export.md").read_text()
    for kind, importer in imports.REGISTRY.items():
        section = docs.split(f"### `{kind}`")[1].split("###")[0]
        for column in importer.columns:
            marker = f"`{column.name}`*" if column.required else f"`{column.name}`"
            assert marker in section, f"docs/import-export.md: {kind} lacks {marker}"


def test_a_command_whose_reader_stops_reading_ends_quietly(tmp_path):
    """`umbrella … | head`: the command ends with the status of a pipe closed under it, without a traceback."""
    env = {**os.environ, "UMBRELLA_DATA_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("UMBRELLA_DATABASE_URL", None)
    command = [sys.executable, "-m", "umbrella", "shell", "-c", "for _ in range(100_000): print('line of output')"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert b"line of output\n" in iter(process.stdout.readline, b"")  # after whatever the start-up printed
    process.stdout.close()
    _, error = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGPIPE
    assert b"Traceback" not in error and b"BrokenPipeError" not in error
