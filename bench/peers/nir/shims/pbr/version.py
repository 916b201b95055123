"""Stub: sinabs only calls VersionInfo("sinabs").release_string()."""


class VersionInfo:
    def __init__(self, package):
        self.package = package

    def release_string(self):
        return "0.0.0+peers-stub"

    version_string = release_string
