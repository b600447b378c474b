"""Understanding a file a user brings: its dialect, its number conventions, its columns, a registry entry for it."""
