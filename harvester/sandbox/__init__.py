"""Local servers that speak the real REST protocols of each source; they power `brag demo` and the tests."""
