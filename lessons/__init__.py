"""lessons: a lessons-learned knowledge base with a command-line interface."""

__version__ = "0.1.0"
