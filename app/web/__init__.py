"""Blueprints: thin routes that parse input, call the engine or the domain, and render."""
from flask import current_app

from app.engine.service import EngineService


def engine() -> EngineService:
    return current_app.extensions["engine"]
