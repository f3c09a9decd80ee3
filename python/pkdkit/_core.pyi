"""Type stubs for the Rust extension module ``pkdkit._core``."""

__version__: str
