"""Reference data (with sources, see reference/SOURCES.md) and the demo generator."""
