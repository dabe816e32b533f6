"""The console's widgets: each reads the runtime in `sync()`, called once a frame, and repaints what changed."""
