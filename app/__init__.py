"""The approval system. `create_app` (app.factory) builds the Flask application; importing the engine or
the domain alone does not load Flask."""


def create_app(config: dict | None = None):
    from app.factory import create_app as build

    return build(config)
