"""What the tests, the benchmarks and the scripts share, so neither bench/ nor scripts/ imports
tests/: the service under uvicorn on a free port (``server``), real photos (``photos``),
FER-2013-layout folders (``fer_folders``), video clips and photo folders (``media``)."""
