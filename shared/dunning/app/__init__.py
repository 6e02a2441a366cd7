"""The application layer: one module per use case. Handlers, the CLI and the demo call these."""
