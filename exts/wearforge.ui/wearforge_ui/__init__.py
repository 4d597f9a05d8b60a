from .extension import WearforgeUiExtension  # noqa: F401
