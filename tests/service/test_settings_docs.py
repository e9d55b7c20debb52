"""README's configuration table and the Settings class name the same variables."""

from __future__ import annotations

import re

from service.config import Settings
from tests.helpers.paths import ROOT


def test_readme_documents_every_setting_and_no_other() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `(FER_[A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))
    declared = {f"FER_{name.upper()}" for name in Settings.model_fields}
    assert documented == declared, {
        "missing from README": sorted(declared - documented),
        "not a setting": sorted(documented - declared),
    }
