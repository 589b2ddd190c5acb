"""A live server for the browser tests and the screenshots: the app under uvicorn in a thread on a free
127.0.0.1 port, with the sample world imported into a temporary SQLite database and a model trained."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import uvicorn

from api.app import create_app
from api.db.migrate import upgrade
from api.services import frames, keys, startups, training
from api.services.keys import Principal, Role
from api.settings import Settings
from matcher.io import read_data_dir

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
BANK_ID = "B005"
CONSENTING = ("S00001", "S00002", "S00003")


@dataclass(frozen=True)
class LiveServer:
    url: str
    organiser_key: str
    bank_key: str
    consenting: tuple[str, ...]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _consenting() -> tuple[str, ...]:
    """The startups consenting to the bank once prepared: the sample's consents in force (consents.csv,
    not revoked) and the three added below."""
    import polars as pl

    sample = read_data_dir(SAMPLE).consents.filter(
        (pl.col("bank_id") == BANK_ID) & pl.col("revoked_on").is_null() & (pl.col("granted_on") <= date.today()))
    return tuple(sorted({*CONSENTING, *sample["startup_id"].to_list()}))


async def _prepare(settings: Settings) -> tuple[str, str]:
    """Import the sample, train, let three more startups consent to one bank, and make the two keys."""
    from api.db.engine import create_engine, session_factory

    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    try:
        async with sessions() as session:
            await frames.import_dataset(session, read_data_dir(SAMPLE))
        async with sessions() as session:
            await training.train(session, model_dir=settings.model_dir, ranking_model="learned")
        staff = Principal(key_id="setup", role=Role.ADMIN)
        for startup_id in CONSENTING:
            async with sessions() as session:
                await startups.put_consents(session, principal=staff, startup_id=startup_id, bank_ids=[BANK_ID])
        async with sessions() as session:
            organiser = await keys.create_key(session, role=Role.ORGANISER, name="组委会", secret=settings.secret)
        async with sessions() as session:
            bank = await keys.create_key(session, role=Role.BANK, name="湖南银行", secret=settings.secret,
                                         bank_id=BANK_ID)
    finally:
        await engine.dispose()
    return organiser.api_key, bank.api_key


@contextmanager
def live_server(tmp: Path) -> Iterator[LiveServer]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp / 'live.db'}", data_dir=tmp,
                        model_dir=tmp / "models", model_refresh_seconds=0.5)
    upgrade(settings.database_url)
    organiser_key, bank_key = asyncio.run(_prepare(settings))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", organiser_key, bank_key, _consenting())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
