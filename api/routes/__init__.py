"""The API's routers, one module per area; `create_app` includes them in this order."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import admin, consents, firms, health, models, scenarios, scores, uploads

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    scores.router,
    uploads.router,
    consents.router,
    firms.router,
    scenarios.router,
    models.router,
    admin.router,
)
