"""A generic BPM runtime on SpiffWorkflow: definitions and versions, start / claim / complete,
persistence, the tasks projection, timers and schedules, the audit chain, the sandbox, validation.

It knows no customer, branch or form class: the application plugs those in (app.engine.plugins) and
holds the engine as one object (app.engine.runtime.Engine)."""
