"""The `qa` command: the one module that sits above both the core (`qa`, `index`) and the
chat UI (`tui`), so that neither imports the other upward."""
