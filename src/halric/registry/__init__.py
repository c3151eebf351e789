"""The registry: organisations, infrastructures, instruments, techniques (PaNET + extension) and experts."""
