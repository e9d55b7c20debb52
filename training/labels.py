"""The seven FER-2013 emotions in model output order, and the names they go by."""

# Output order of every model this package builds: the original fer2013.csv codes 0..6.
EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

CROP_SIZE = 48  # FER-2013 faces are 48x48 grayscale.
