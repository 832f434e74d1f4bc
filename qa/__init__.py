"""Question answering over an index: retrieval, sentence selection, cited answers, the CLI."""
