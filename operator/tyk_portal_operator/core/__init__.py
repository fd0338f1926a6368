"""The pure core: data in, data out. No I/O, no clock reads, no randomness, no kopf/httpx/kubernetes."""
