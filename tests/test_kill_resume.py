"""A harvest killed with SIGKILL part-way resumes without duplicates or gaps, and every item gets grouped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from connectors.github.sandbox import DEFAULT_TOKEN, GitHubSandbox
from harvester.sandbox.scenario import Scenario
from harvester.store.models import ActivityRow, SyncCursor

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")


def brag(config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    return subprocess.Popen(
        [sys.executable, "-m", "harvester", "--config", str(config), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_kill_minus_9_then_resume(tmp_path: Path) -> None:
    end = datetime.now(UTC) - timedelta(hours=2)
    start = end - timedelta(days=30)
    with GitHubSandbox(Scenario.bulk(3000, start, end)) as server:
        server.delay = 0.15
        db = tmp_path / "brag.db"
        config = tmp_path / "brag.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{db}"\n[user]\ntimezone = "UTC"\n'
            f'[github]\ntoken = "{DEFAULT_TOKEN}"\nbase_url = "{server.base_url}"\nreviews = false\n'
        )
        engine = create_engine(f"sqlite:///{db}")
        process = brag(config, "harvest", "--since", start.strftime("%Y-%m-%dT%H:%M:%S"))
        deadline = time.monotonic() + 60
        cursor = None
        while time.monotonic() < deadline and process.poll() is None:
            if db.exists():
                try:
                    with engine.connect() as connection:
                        cursor = connection.scalar(select(SyncCursor.harvested_until))
                except Exception:  # the schema may not exist yet
                    cursor = None
                if cursor is not None:
                    break
            time.sleep(0.05)
        assert process.poll() is None, "harvest finished before it could be killed"
        time.sleep(0.4)  # let it store a few more pages past the checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait()
        with engine.connect() as connection:
            stored_before = connection.scalar(select(func.count()).select_from(ActivityRow))
        assert 0 < stored_before < 3000

        server.delay = 0
        resumed = brag(config, "harvest")
        _out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err.decode()
        with engine.connect() as connection:
            ids = list(connection.scalars(select(ActivityRow.external_id)))
        engine.dispose()
        assert len(ids) == len(set(ids)) == 3000
        # items stored before the kill were never clustered by the killed run; none stays out of a candidate
        listed = brag(config, "candidates", "--format", "json")
        out, err = listed.communicate(timeout=120)
        assert listed.returncode == 0, err.decode()
        grouped = [i for c in json.loads(out)["candidates"] for i in c["activity_ids"]]
        assert sorted(grouped) == sorted(ids)
