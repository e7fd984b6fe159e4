"""The service's routes: one APIRouter per resource."""

from __future__ import annotations

from fastapi import APIRouter

from . import approvals, decisions, health, inbox, models, policies, proofs, webhooks

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    decisions.router,
    proofs.router,
    approvals.router,
    models.router,
    policies.router,
    webhooks.router,
    inbox.router,
)
