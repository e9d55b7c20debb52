"""Builds the FastAPI app: settings, lifespan (engine, workers), routers, errors.

uvicorn starts it from the factory: ``uvicorn --factory service.main:app_from_environment``;
importing this module loads nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import cv2
from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError

from service import __version__
from service.api.deps import require_api_key
from service.api.errors import install_error_handlers
from service.api.middleware import CatchUnexpected, LimitAndCount
from service.api.routes import classify, health, metrics, model_info, page, predict, stream
from service.config import Settings, get_settings
from service.engine import Engine
from service.metrics import ServiceMetrics
from service.sessions import ModelLoadError
from service.state import AppState
from service.workers import WorkerPool

logger = logging.getLogger("service")


def _warm_up(state: AppState) -> None:
    state.model.warm_up(state.settings.warmup_runs)
    state.ready = True
    logger.info("model %s warmed up; ready", state.model.name)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Load the engine (unless the factory did), warm up in the background, clean up at
    shutdown."""
    settings: Settings = app.state.settings
    cv2.setNumThreads(settings.opencv_threads)
    engine: Engine | None = app.state.engine
    if engine is None:
        try:
            engine = Engine.from_settings(settings)
        except ModelLoadError as exc:
            logger.error("start-up failed: %s", exc)
            raise
    state = AppState(
        engine=engine,
        pool=WorkerPool(settings.worker_threads, settings.queue_size),
        metrics=app.state.metrics,
    )
    app.state.fer = state
    model = engine.model
    logger.info("loaded model %s %s from %s", model.name, model.version, settings.classifier_file())
    warm = asyncio.get_running_loop().run_in_executor(None, _warm_up, state)
    try:
        yield
    finally:
        await asyncio.gather(warm, return_exceptions=True)
        state.pool.shutdown()


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The application, configured from ``settings`` (default: the environment); its lifespan
    loads the engine, unless ``engine`` (built from the same settings) is given."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper())
    # /docs and /redoc serve Swagger UI and ReDoc from the package's own files: no CDN.
    app = FastAPIOffline(
        title="FER service",
        version=__version__,
        summary="Facial emotion recognition: faces and their emotions from images and streams.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.metrics = ServiceMetrics()
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )

    app.add_middleware(
        LimitAndCount, max_upload_bytes=settings.max_upload_bytes, metrics=app.state.metrics
    )
    app.add_middleware(CatchUnexpected)  # outside LimitAndCount, which counts the 500

    protected = [Depends(require_api_key)]
    app.include_router(predict.router, dependencies=protected)
    app.include_router(classify.router, dependencies=protected)
    app.include_router(model_info.router, dependencies=protected)
    app.include_router(stream.router)  # checks the key itself, to close with a reason
    for router in (health.router, metrics.router, page.router):
        app.include_router(router)
    return app


def app_from_environment() -> FastAPI:
    """The app uvicorn serves (``--factory``): settings from the environment and the engine
    loaded here, so a bad setting or an unloadable model file ends the process with one line
    instead of a traceback from the lifespan."""
    try:
        settings = get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"FER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(f"invalid configuration: {problems}") from None
    try:
        engine = Engine.from_settings(settings)
    except ModelLoadError as exc:
        raise SystemExit(f"start-up failed: {exc}") from None
    return create_app(settings, engine)
