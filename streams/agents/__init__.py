"""faust agents: thin loops that feed records to the stage of the same name in streams/stages/
and send what comes back. Each module's `register(app)` adds its agents and timers to an app
built by `streams.app.create_app` (docs/architecture.md)."""
