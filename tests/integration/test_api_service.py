"""Settings, migrations and the service commands: serve's helpers, import (all or nothing), keys, train."""

from __future__ import annotations

import asyncio
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api.db.engine import create_engine
from api.db.migrate import upgrade
from api.db.models import ApiKey, Base, ModelVersion, Startup
from api.settings import DEVELOPMENT_SECRET, Settings, default_database_url
from matcher.errors import InvalidInputError
from matcher.io import write_data_dir
from roadshow.cli import app
from tests.factories import service_world
from tests.integration.conftest import BACKENDS, _admin

runner = CliRunner()


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = Settings.from_env({"ROADSHOW_DATA_DIR": str(tmp_path)})
    assert settings.database_url == default_database_url(tmp_path)
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'roadshow.db'}"
    assert settings.model_dir == tmp_path / "models" and settings.env == "development"
    custom = Settings.from_env({"DATABASE_URL": "postgresql+asyncpg://u@h/db", "ROADSHOW_MODEL_DIR": "/m"})
    assert custom.database_url == "postgresql+asyncpg://u@h/db" and custom.model_dir == Path("/m")
    assert settings.retrain_niceness == 10 and settings.retrain_on_outcomes
    retrain = Settings.from_env({"ROADSHOW_RETRAIN_NICENESS": "0", "ROADSHOW_RETRAIN_ON_OUTCOMES": "0"})
    assert retrain.retrain_niceness == 0 and not retrain.retrain_on_outcomes
    for bad in ("20", "-1", "low"):
        with pytest.raises(InvalidInputError) as caught:
            Settings.from_env({"ROADSHOW_RETRAIN_NICENESS": bad})
        assert caught.value.field == "ROADSHOW_RETRAIN_NICENESS"


@pytest.mark.parametrize(
    ("environ", "field"),
    [
        ({"ROADSHOW_ENV": "production"}, "ROADSHOW_SECRET"),
        ({"ROADSHOW_ENV": "production", "ROADSHOW_SECRET": DEVELOPMENT_SECRET}, "ROADSHOW_SECRET"),
        ({"ROADSHOW_ENV": "production", "ROADSHOW_SECRET": "short"}, "ROADSHOW_SECRET"),
        ({"ROADSHOW_ENV": "staging"}, "ROADSHOW_ENV"),
    ],
)
def test_unsafe_settings_are_refused_outside_development(environ: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        Settings.from_env(environ)
    assert caught.value.field == field


def test_production_accepts_a_real_secret() -> None:
    settings = Settings.from_env({"ROADSHOW_ENV": "production", "ROADSHOW_SECRET": "x" * 40})
    assert settings.env == "production"


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    name = f"roadshow_migrate_{secrets.token_hex(4)}"
    asyncio.run(_admin(base, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_migrations_build_exactly_the_models_schema(empty_database: str) -> None:
    url = empty_database
    upgrade(url)
    upgrade(url)  # idempotent

    async def diff() -> list[object]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
                )
        finally:
            await engine.dispose()

    assert asyncio.run(diff()) == []


def _count(url: str, model: type[Base]) -> int:
    async def count() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(model))).scalar_one())
        finally:
            await engine.dispose()

    return asyncio.run(count())


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {"ROADSHOW_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": "", "ROADSHOW_ENV": "development"}


def test_import_is_validated_first_and_all_or_nothing(tmp_path: Path, cli_env: dict[str, str]) -> None:
    good = tmp_path / "good"
    write_data_dir(service_world(), good)
    url = default_database_url(tmp_path / "var")

    broken = tmp_path / "broken"
    shutil.copytree(good, broken)
    with (broken / "interactions.csv").open("a", encoding="utf-8") as fh:
        fh.write("S_ghost,I_robot,2025-01-01,invested,,,\n")
    result = runner.invoke(app, ["import", str(broken)], env=cli_env)
    assert result.exit_code == 1
    assert "interactions.csv" in result.output and "S_ghost" in result.output
    assert _count(url, Startup) == 0

    result = runner.invoke(app, ["import", str(good)], env=cli_env)
    assert result.exit_code == 0, result.output
    assert _count(url, Startup) == 33

    # Valid files whose ids are already in the database: refused, nothing added.
    result = runner.invoke(app, ["import", str(good)], env=cli_env)
    assert result.exit_code == 1 and "already in the database" in result.output
    assert _count(url, Startup) == 33

    # Valid files that break a database constraint midway (one USCC on two startups): rolled back.
    clash = tmp_path / "clash"
    data = service_world()
    import polars as pl

    startups = data.startups.with_columns(
        pl.lit("91110000802100433B").alias("uscc"), ("X" + pl.col("startup_id")).alias("startup_id")
    ).head(2)
    write_data_dir(type(data)(startups=startups), clash)
    result = runner.invoke(app, ["import", str(clash)], env=cli_env)
    assert result.exit_code == 1 and "conflicts" in result.output
    assert _count(url, Startup) == 33


def test_keys_and_train_commands(tmp_path: Path, cli_env: dict[str, str]) -> None:
    good = tmp_path / "good"
    write_data_dir(service_world(), good)
    url = default_database_url(tmp_path / "var")
    assert runner.invoke(app, ["import", str(good)], env=cli_env).exit_code == 0

    created = runner.invoke(
        app, ["keys", "create", "--role", "bank", "--name", "湘江银行", "--bank-id", "I_bank"], env=cli_env
    )
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("rsk_")
    assert _count(url, ApiKey) == 1

    missing = runner.invoke(app, ["keys", "create", "--role", "bank", "--name", "x"], env=cli_env)
    assert missing.exit_code == 1 and "--bank-id" in missing.output
    wrong = runner.invoke(app, ["keys", "create", "--role", "boss", "--name", "x"], env=cli_env)
    assert wrong.exit_code == 1 and "--role: 'boss' is not one of" in wrong.output

    async def key_id() -> str:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return str((await conn.execute(select(ApiKey.key_id))).scalar_one())
        finally:
            await engine.dispose()

    kid = asyncio.run(key_id())
    assert runner.invoke(app, ["keys", "revoke", kid], env=cli_env).exit_code == 0
    again = runner.invoke(app, ["keys", "revoke", kid], env=cli_env)
    assert again.exit_code == 1 and "already revoked" in again.output

    investor = runner.invoke(
        app, ["keys", "create", "--role", "investor", "--name", "机器人基金", "--investor-id", "I_robot"], env=cli_env
    )
    assert investor.exit_code == 0, investor.output
    assert investor.stdout.strip().splitlines()[-1].startswith("rsk_") and _count(url, ApiKey) == 2
    unbound = runner.invoke(app, ["keys", "create", "--role", "investor", "--name", "x"], env=cli_env)
    assert unbound.exit_code == 1 and "--investor-id" in unbound.output
    unknown = runner.invoke(
        app, ["keys", "create", "--role", "investor", "--name", "x", "--investor-id", "I_nobody"], env=cli_env
    )
    assert unknown.exit_code == 1 and "I_nobody" in unknown.output

    trained = runner.invoke(app, ["train", "--model", "declared", "--as-of", "2026-01-01"], env=cli_env)
    assert trained.exit_code == 0, trained.output
    assert "model version 1" in trained.output
    assert _count(url, ModelVersion) == 1
    bad = runner.invoke(app, ["train", "--model", "oracle"], env=cli_env)
    assert bad.exit_code == 1 and "--model: 'oracle' is not one of" in bad.output
