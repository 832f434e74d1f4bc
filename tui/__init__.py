"""The chat terminal UI (Textual). Started by `qa chat`, which hands it a loader: the UI
builds no settings, encoders or indexes itself."""
