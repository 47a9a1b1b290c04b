"""The error a bad or mismatched save file raises."""


class SaveFileError(ValueError):
    """A file cannot be loaded into the model: it names the file, and where it applies the
    layer, the weight and the shapes. Nothing was assigned when it is raised."""
