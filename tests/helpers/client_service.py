"""What the client tests' service and media are: the API key it wants, the clip's length."""

API_KEY = "client-tests-key"
CLIP_FRAMES = 45  # 1.5 s at 30 fps
